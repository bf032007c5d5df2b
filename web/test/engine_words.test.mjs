// The fingerprint words of an authority in the browser (web/engine/words-fr.js) against
// protocol/vectors/trust_invitation.json (indices and words of every positive case) and the
// French list's SHA-256 the Python client checks (vault_client/words.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import _sodium from 'libsodium-wrappers-sumo';
import * as P from '../src/protocol.js';
import { FRENCH, FRENCH_LIST_SHA256, wordIndices, authorityWords } from '../engine/words-fr.js';

await _sodium.ready;
P.useSodium(_sodium);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the list is BIP-39 French, the one the Python client pins', () => {
  assert.equal(FRENCH.length, 2048);
  const py = readFileSync(path.join(ROOT, 'vault_client/words.py'), 'utf8');
  assert.ok(py.includes(FRENCH_LIST_SHA256), 'the same SHA-256 as vault_client/words.py');
  assert.equal(createHash('sha256').update(FRENCH.join('\n') + '\n').digest('hex'), FRENCH_LIST_SHA256);
});

test('six words per authority key, as the vectors give them', () => {
  const doc = JSON.parse(readFileSync(path.join(ROOT, 'protocol/vectors/trust_invitation.json'), 'utf8'));
  let n = 0;
  for (const c of doc.positive.filter((x) => x.op === 'trust_invitation')) {
    const pk = P.unhex(c.authority_pk);
    assert.deepEqual(wordIndices(pk), c.word_indices);
    assert.equal(authorityWords(pk), c.words);
    n++;
  }
  assert.ok(n > 0);
  assert.throws(() => wordIndices(new Uint8Array(31)), P.FormatError);
});
