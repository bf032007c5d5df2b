// Every text exists in French and in English, with the same placeholders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LANGS, t, setLang, formatSize } from '../src/i18n.js';

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('French and English have the same keys and placeholders', () => {
  assert.deepEqual(Object.keys(LANGS.en).sort(), Object.keys(LANGS.fr).sort());
  for (const k of Object.keys(LANGS.fr)) {
    assert.deepEqual(placeholders(LANGS.en[k]), placeholders(LANGS.fr[k]), k);
    assert.ok(LANGS.fr[k].trim() && LANGS.en[k].trim(), k);
  }
});

test('every key the page uses exists', () => {
  const src = ['app.js', 'index.html'].map((f) => readFileSync(new URL(`../src/${f}`, import.meta.url), 'utf8')).join('\n');
  const used = new Set([
    ...[...src.matchAll(/\bt\('([\w.-]+)'/g)].map((m) => m[1]),
    ...[...src.matchAll(/data-i18n="([\w.-]+)"/g)].map((m) => m[1]),
  ]);
  for (const k of used) assert.ok(Object.hasOwn(LANGS.fr, k), `missing text ${k}`);
  // texts built from a prefix
  for (const code of ['unavailable', 'wrong_secret', 'damaged', 'integrity', 'network', 'rate_limited', 'unsupported', 'server']) {
    assert.ok(Object.hasOwn(LANGS.fr, `problem.${code}.title`) && Object.hasOwn(LANGS.fr, `problem.${code}.text`), code);
  }
  for (const s of ['none', 'unverified', 'invalid', 'certified']) assert.ok(Object.hasOwn(LANGS.fr, `cert.${s}`), s);
  for (const f of ['integrity', 'unavailable', 'network', 'other']) assert.ok(Object.hasOwn(LANGS.fr, `docs.failed.${f}`), f);
});

test('placeholders are filled as text, sizes in the language', () => {
  setLang('fr');
  assert.equal(t('docs.download.label', { name: '<b>x</b>' }), 'Télécharger <b>x</b>');
  assert.equal(formatSize(1_234_567), '1,2\u00a0Mo');
  assert.equal(formatSize(999), '999\u00a0o');
  setLang('en');
  assert.equal(formatSize(1_234_567), '1.2\u00a0MB');
  assert.equal(t('docs.count.many', { n: 3 }), '3 documents');
  setLang('fr');
});
