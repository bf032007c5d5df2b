// The owner's engine for web access, second part (web/engine/seal.js, grants.js, requests.js,
// deposits.js) against protocol/vectors/*.json: sealing, grants, requests and their answers,
// deposits accepted into the vault. Positive cases are re-made byte for byte from their
// inputs (the keys the generator, protocol/vectors_gen/, derives from fixed labels are
// re-derived here with its det()); negative cases fail with the named error class. ENGINE
// lists the ops covered here, and a test fails if a vector file offers one of them in a case
// this file does not run. The record of an accepted deposit is also checked against
// vault_core itself (the Python client's own classes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import _sodium from 'libsodium-wrappers-sumo';
import * as P from '../src/protocol.js';
import * as A from '../engine/account.js';
import * as F from '../engine/files.js';
import * as L from '../engine/log.js';
import * as Seal from '../engine/seal.js';
import * as G from '../engine/grants.js';
import * as R from '../engine/requests.js';
import * as D from '../engine/deposits.js';

await _sodium.ready;
const sodium = _sodium;
A.useSodium(sodium);
F.useSodium(sodium);
Seal.useSodium(sodium);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const VECTORS = path.join(ROOT, 'protocol/vectors');
const DOCS = Object.fromEntries(
  readdirSync(VECTORS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(VECTORS, f), 'utf8'))]),
);
const H = (s) => P.unhex(s);
const te = new TextEncoder();
const td = new TextDecoder();
const ERRORS = { IntegrityError: P.IntegrityError, FormatError: P.FormatError };
const trustedOf = (keys) => new Map(keys.map((k) => [P.b64u(H(k)), 'authority']));

const cases = (file, kind, op) => DOCS[file][kind].filter((c) => c.op === op);
const ran = new Set();
function each(file, kind, op, fn) {
  const list = cases(file, kind, op);
  assert.ok(list.length > 0, `${file}: no ${kind} ${op} case`);
  for (const c of list) {
    fn(c);
    ran.add(`${file}/${kind}/${op}`);
  }
}
function throwsNamed(c, fn) {
  const cls = ERRORS[c.error];
  assert.ok(cls, `unknown error class ${c.error}`);
  assert.throws(fn, (e) => e instanceof cls && e.name === cls.name, `${c.name}: expected ${c.error}`);
}

/**
 * The ops this file runs, by file and kind. The grant file's negatives are the grantee's
 * (opening: web/test/vectors.test.mjs); request and request_answer are run whole here.
 */
const ENGINE = {
  seal: { positive: ['seal'], negative: ['seal'] },
  grant: { positive: ['link', 'open_payload', 'open_grant_key'], negative: [] },
  request: { positive: ['request'], negative: ['request'] },
  request_answer: { positive: ['request_answer'], negative: ['request_answer'] },
  deposit: { positive: ['deposit'], negative: ['deposit'] },
};

// -- the generator's fixed inputs (protocol/vectors_gen/common.py det) --------------------------

function det(label, size = 32) {
  const key = sodium.crypto_generichash(32, te.encode('vault.v1 test vectors\0' + label), null);
  const out = new Uint8Array(size);
  for (let i = 0, o = 0; o < size; i++) {
    const block = sodium.crypto_generichash(64, P.u64(i), key);
    out.set(block.subarray(0, Math.min(64, size - o)), o);
    o += 64;
  }
  return out;
}

const person = (handle) => {
  const c = DOCS.identity.positive.find((i) => i.handle === handle);
  const identity = A.signKeypair(H(c.sign_seed));
  assert.equal(P.hex(identity.pk), c.sign_pk);
  return { handle, identity, boxSk: H(c.box_sk), boxPk: H(c.box_pk) };
};
const JEAN = person('jean');
const BOUCHRA = person('bouchra');
const ISSUER = A.signKeypair(H(DOCS.issuer_cert.positive[0].issuer_seed));

test('det() is the generator\'s: it gives the vectors\' own grant id and keys', () => {
  const acc = DOCS.grant.positive.find((c) => c.op === 'open_payload' && c.name === 'account');
  assert.equal(P.hex(det('grant/account/id', 16)), acc.grant_id);
  assert.equal(P.hex(det('grant/account/key')), acc.grant_key);
  assert.equal(P.hex(det('grant/link/payload-nonce', 24)), DOCS.grant.positive.find((c) => c.name === 'link').nonce);
  const bundle = det('jean/bundle', 96);
  assert.deepEqual(bundle.subarray(0, 32), H(DOCS.identity.positive.find((i) => i.handle === 'jean').sign_seed));
});

// -- sealing --------------------------------------------------------------------------------------

test('seal: re-made byte for byte from the ephemeral secret, opened by the reader; a low-order recipient refused', () => {
  each('seal', 'positive', 'seal', (c) => {
    const sealed = Seal.seal(H(c.recipient_pk), H(c.ephemeral_sk), H(c.message), H(c.ad));
    assert.equal(P.hex(sealed), c.sealed);
    assert.equal(P.hex(sealed.subarray(0, 32)), c.ephemeral_pk);
    assert.deepEqual(P.sealOpen(H(c.recipient_sk), sealed, H(c.ad)), H(c.message));
    assert.throws(() => P.sealOpen(H(c.recipient_sk), sealed, te.encode('another AD')), P.IntegrityError);
  });
  each('seal', 'negative', 'seal', (c) => {
    throwsNamed(c, () => Seal.seal(H(c.recipient_pk), H(c.ephemeral_sk), H(c.message), H(c.ad)));
  });
  // every low-order point of the public-key vectors, as a recipient
  const sealCase = DOCS.seal.positive[0];
  for (const c of DOCS.public_keys.negative.filter((n) => n.op === 'check_box_pk')) {
    assert.throws(() => Seal.seal(H(c.public_key), H(sealCase.ephemeral_sk), new Uint8Array(1), new Uint8Array(0)), P.IntegrityError, c.name);
  }
  assert.throws(() => Seal.seal(H(sealCase.recipient_pk), new Uint8Array(31), new Uint8Array(1), new Uint8Array(0)), P.FormatError);
});

test('envelopes: sealEnvelope opens with protocol.js openEnvelope, bound to its kind and id', () => {
  const meta = { hello: 'monde' };
  const env = Seal.sealEnvelope('request', 'ab'.repeat(16), JEAN.boxPk, meta, te.encode('corps'), det('t/key'), det('t/eph'), det('t/nonce', 24));
  const opened = P.openEnvelope('request', 'ab'.repeat(16), JEAN.boxSk, env);
  assert.deepEqual(opened.meta, meta);
  assert.equal(td.decode(opened.body), 'corps');
  assert.throws(() => P.openEnvelope('deposit', 'ab'.repeat(16), JEAN.boxSk, env), P.IntegrityError);
  assert.throws(() => P.openEnvelope('request', 'cd'.repeat(16), JEAN.boxSk, env), P.IntegrityError);
  assert.throws(() => P.openEnvelope('request', 'ab'.repeat(16), BOUCHRA.boxSk, env), P.IntegrityError);
  assert.throws(() => Seal.sealEnvelope('letter', 'ab'.repeat(16), JEAN.boxPk, meta, new Uint8Array(0), det('t/key'), det('t/eph'), det('t/nonce', 24)), P.FormatError);
  assert.throws(() => Seal.sealEnvelope('request', 'é', JEAN.boxPk, meta, new Uint8Array(0), det('t/key'), det('t/eph'), det('t/nonce', 24)), P.FormatError);
});

// -- grants ---------------------------------------------------------------------------------------

function recordOfItem(i) {
  return { kind: 'file', deleted: false, fileId: i.file, version: i.version, size: i.size, mtime: i.mtime, content: P.unb64u(i.content, 32), manifest: i.manifest, key: P.unb64u(i.key, 32), type: i.type, cert: i.cert };
}

test('grants: links, headers, payloads and sealed keys re-made byte for byte', () => {
  each('grant', 'positive', 'link', (c) => {
    const s = G.linkGrantSecrets(H(c.secret), c.password);
    assert.equal(P.hex(s.grantKey), c.grant_key);
    assert.equal(P.hex(s.accessToken), c.access_token);
    assert.equal(P.hex(s.accessHash), c.access_hash);
    assert.equal(G.formatLink(c.server, c.grant_id, H(c.secret)), c.link);
    assert.equal(G.formatLink(c.server + '/', c.grant_id, H(c.secret)), c.link);
    const pw = G.formatLink(c.server, c.grant_id, H(c.secret), true);
    assert.equal(pw, c.link.replace('#', '#pw.'));
    assert.deepEqual(P.parseShareLink(pw), { server: c.server, grantId: c.grant_id, secret: H(c.secret), hasPassword: true });
  });
  each('grant', 'positive', 'open_payload', (c) => {
    const h = JSON.parse(c.header_text);
    const header = G.grantHeader({
      grantId: h.grant,
      owner: h.owner,
      ownerSignPk: P.unb64u(h.owner_sign_pk, 32),
      kind: h.kind,
      to: h.to,
      toBoxPk: h.to_box_pk === null ? null : P.unb64u(h.to_box_pk, 32),
      expires: h.expires,
      maxUses: h.max_uses,
      password: h.password,
      created: h.created,
    });
    assert.deepEqual(header, te.encode(c.header_text), `${c.name}: header`);
    const p = JSON.parse(c.payload_text);
    const items = p.items.map((i) => G.grantItem(i.name, recordOfItem(i)));
    const payload = G.grantPayload(p.grant, p.rev, p.scope, items);
    assert.deepEqual(payload, te.encode(c.payload_text), `${c.name}: payload`);
    assert.equal(P.hex(JEAN.identity.pk), c.owner_sign_pk);
    const sealed = G.sealPayload(header, payload, H(c.grant_key), JEAN.identity.sk, H(c.nonce));
    assert.equal(P.hex(sealed), c.sealed, `${c.name}: sealed`);
    const pinned = c.pinned_owner_sign_pk ? H(c.pinned_owner_sign_pk) : null;
    assert.equal(P.openPayload(header, sealed, H(c.grant_key), c.grant_id, pinned).payload.items.length, items.length);
  });
  each('grant', 'positive', 'open_grant_key', (c) => {
    const sealed = G.sealGrantKey(H(c.recipient_pk), H(c.message), c.grant_id, H(c.ephemeral_sk));
    assert.equal(P.hex(sealed), c.sealed);
    assert.deepEqual(P.openGrantKey(H(c.recipient_sk), sealed, c.grant_id), H(c.message));
  });
});

const file = (n, extra = {}) => ({
  kind: 'file',
  deleted: false,
  fileId: P.hex(det(`f/${n}/id`, 16)),
  version: 1,
  path: n,
  size: 10,
  mtime: 1767225600000,
  content: det(`f/${n}/content`),
  manifest: P.hex(det(`f/${n}/manifest`)),
  key: det(`f/${n}/key`),
  type: null,
  cert: null,
  ...extra,
});

test('what a scope covers and under which names (shares.covered_records)', () => {
  const heads = new Map(
    ['Papiers/Acte de naissance.pdf', 'Papiers/Impôts/avis 2026.pdf', 'Papiers-vieux/x.pdf', 'Photos/été.jpg', 'Papiers/effacé.pdf'].map((p) => [p, file(p, p.includes('effacé') ? { deleted: true } : {})]),
  );
  const names = (scope) => G.coveredItems(heads, scope).map((c) => [c.name, c.record.path]);
  assert.deepEqual(names(['Papiers']), [
    ['Papiers/Acte de naissance.pdf', 'Papiers/Acte de naissance.pdf'],
    ['Papiers/Impôts/avis 2026.pdf', 'Papiers/Impôts/avis 2026.pdf'],
  ]);
  assert.deepEqual(names(['Papiers/Impôts/avis 2026.pdf']), [['avis 2026.pdf', 'Papiers/Impôts/avis 2026.pdf']]);
  assert.deepEqual(names(['Papiers/Impôts']), [['Impôts/avis 2026.pdf', 'Papiers/Impôts/avis 2026.pdf']]);
  assert.deepEqual(names(['']).map(([n]) => n), ['Papiers-vieux/x.pdf', 'Papiers/Acte de naissance.pdf', 'Papiers/Impôts/avis 2026.pdf', 'Photos/été.jpg']);
  assert.deepEqual(names(['Nulle part']), []);
  assert.deepEqual(G.uncoveredPaths(heads, ['Papiers', 'Nulle part', 'Papiers/effacé.pdf']), ['Nulle part', 'Papiers/effacé.pdf']);
  // names sort by code point, as Python does (an astral character after U+FFFD)
  const astral = new Map([['\u{1F4C4}.pdf', file('a')], ['\uFFFD.pdf', file('b')]]);
  assert.deepEqual(G.coveredItems(astral, ['']).map((c) => c.name), ['\uFFFD.pdf', '\u{1F4C4}.pdf']);
  assert.deepEqual(G.grantBlobs([{ manifest: 'bb', chunks: [{ id: 'cc' }, { id: 'aa' }] }, { manifest: 'aa', chunks: [] }]), ['aa', 'bb', 'cc']);
});

const SHARE = () => {
  const heads = new Map([['Papiers/Acte.pdf', file('Papiers/Acte.pdf', { type: 'birth-certificate' })], ['Papiers/Bail.pdf', file('Papiers/Bail.pdf')]]);
  const covered = G.coveredItems(heads, ['Papiers']);
  return {
    heads,
    base: {
      server: 'https://vault.example.org/',
      owner: 'jean',
      ownerSignPk: JEAN.identity.pk,
      ownerSignSk: JEAN.identity.sk,
      grantId: P.hex(det('share/id', 16)),
      expires: 1767225600 + 7 * 86400,
      created: 1767225600123,
      scope: ['Papiers'],
      covered,
      blobs: G.grantBlobs(covered.map(({ record }) => ({ manifest: record.manifest, chunks: [] }))),
      nonce: det('share/nonce', 24),
    },
  };
};

test('a link share: the body the server takes, the link, and the grantee page opens what it names', () => {
  const { base } = SHARE();
  const secret = det('share/secret');
  const made = G.makeShare({ ...base, secret, maxUses: 3 });
  assert.equal(made.link, `https://vault.example.org/s/${base.grantId}#${P.b64u(secret)}`);
  const b = made.body;
  assert.deepEqual(Object.keys(b).sort(), ['access_hash', 'blobs', 'expires_at', 'header', 'id', 'kind', 'max_uses', 'password', 'payload']);
  assert.equal(b.kind, 'link');
  assert.equal(b.password, false);
  assert.equal(b.max_uses, 3);
  assert.equal(b.expires_at, base.expires);
  const parsed = P.parseShareLink(made.link);
  const s = P.linkSecrets(parsed.secret);
  assert.equal(b.access_hash, P.b64u(P.accessHash(s.accessToken)));
  const { header, payload } = P.openPayload(P.unb64u(b.header), P.unb64u(b.payload), s.grantKey, parsed.grantId);
  assert.equal(header.maxUses, 3);
  assert.equal(header.created, base.created);
  assert.deepEqual(payload.items.map((i) => [i.name, i.type]), [['Papiers/Acte.pdf', 'birth-certificate'], ['Papiers/Bail.pdf', null]]);
  assert.deepEqual(payload.items[0].key, base.covered[0].record.key);
  assert.deepEqual(payload.scope, ['Papiers']);
  assert.equal(made.kept.rev, 1);
  assert.deepEqual(Object.values(made.kept.names).sort(), ['Papiers/Acte.pdf', 'Papiers/Bail.pdf']);
});

test('a link share with a password: #pw. in the link, and the password needed to open it', () => {
  const { base } = SHARE();
  const secret = det('share/pw-secret');
  const made = G.makeShare({ ...base, secret, password: 'sésame 42' });
  const parsed = P.parseShareLink(made.link);
  assert.equal(parsed.hasPassword, true);
  assert.equal(made.body.password, true);
  const header = P.unb64u(made.body.header);
  const sealed = P.unb64u(made.body.payload);
  const good = P.linkSecrets(parsed.secret, 'se\u0301same 42'); // NFD: the same password
  assert.equal(made.body.access_hash, P.b64u(P.accessHash(good.accessToken)));
  assert.equal(P.openPayload(header, sealed, good.grantKey, parsed.grantId).header.password, true);
  assert.throws(() => P.openPayload(header, sealed, P.linkSecrets(parsed.secret).grantKey, parsed.grantId), P.IntegrityError);
});

test('an account share: the grant key sealed to the grantee, the payload pinned to the owner key', () => {
  const { base } = SHARE();
  const made = G.makeShare({ ...base, to: 'bouchra', toBoxPk: BOUCHRA.boxPk, grantKey: det('share/key'), ephemeralSk: det('share/eph') });
  assert.equal(made.link, null);
  const b = made.body;
  assert.deepEqual(Object.keys(b).sort(), ['blobs', 'expires_at', 'header', 'id', 'kind', 'max_uses', 'password', 'payload', 'sealed_key', 'to']);
  assert.equal(b.kind, 'account');
  assert.equal(b.to, 'bouchra');
  const key = P.openGrantKey(BOUCHRA.boxSk, P.unb64u(b.sealed_key), base.grantId);
  assert.deepEqual(key, det('share/key'));
  assert.throws(() => P.openGrantKey(JEAN.boxSk, P.unb64u(b.sealed_key), base.grantId), P.IntegrityError);
  const header = P.unb64u(b.header);
  const sealed = P.unb64u(b.payload);
  const { header: h } = P.openPayload(header, sealed, key, base.grantId, JEAN.identity.pk);
  assert.equal(h.to, 'bouchra');
  assert.deepEqual(h.toBoxPk, BOUCHRA.boxPk);
  assert.throws(() => P.openPayload(header, sealed, key, base.grantId), P.IntegrityError); // unpinned
  assert.throws(() => P.openPayload(header, sealed, key, base.grantId, BOUCHRA.identity.pk), P.IntegrityError);
});

test('a live grant revised when its folder changes, never once ended or expired', () => {
  const { heads, base } = SHARE();
  const made = G.makeShare({ ...base, secret: det('share/secret') });
  const s = P.linkSecrets(det('share/secret'));
  const now = base.expires - 100;
  assert.equal(G.reviseShare(base.grantId, made.kept, base.covered, base.blobs, JEAN.identity.sk, det('n2', 24), now), null);
  heads.set('Papiers/Nouveau.pdf', file('Papiers/Nouveau.pdf'));
  const covered = G.coveredItems(heads, ['Papiers']);
  const next = G.reviseShare(base.grantId, made.kept, covered, ['x'], JEAN.identity.sk, det('n2', 24), now);
  assert.equal(next.kept.rev, 2);
  assert.deepEqual(next.body.blobs, ['x']);
  const { payload } = P.openPayload(P.unb64u(made.body.header), P.unb64u(next.body.payload), s.grantKey, base.grantId);
  assert.equal(payload.rev, 2);
  assert.deepEqual(payload.items.map((i) => i.name), ['Papiers/Acte.pdf', 'Papiers/Bail.pdf', 'Papiers/Nouveau.pdf']);
  assert.equal(G.reviseShare(base.grantId, next.kept, covered, [], JEAN.identity.sk, det('n3', 24), now), null);
  assert.equal(G.reviseShare(base.grantId, made.kept, covered, [], JEAN.identity.sk, det('n3', 24), base.expires), null);
  assert.equal(G.reviseShare(base.grantId, { ...made.kept, ended: true }, covered, [], JEAN.identity.sk, det('n3', 24), now), null);
  assert.equal(G.grantPath(base.grantId), `/v1/grants/${base.grantId}`);
  assert.throws(() => G.grantPath('../inbox'), P.FormatError);
});

test('the writer refuses a grant the grantee would refuse (or one it should never make)', () => {
  const h = {
    grantId: 'ab'.repeat(16),
    owner: 'jean',
    ownerSignPk: JEAN.identity.pk,
    kind: 'link',
    to: null,
    toBoxPk: null,
    expires: 10,
    maxUses: null,
    password: false,
    created: 1,
  };
  G.grantHeader(h);
  assert.throws(() => G.grantHeader({ ...h, grantId: 'AB'.repeat(16) }), P.FormatError);
  assert.throws(() => G.grantHeader({ ...h, to: 'bouchra' }), P.FormatError);
  assert.throws(() => G.grantHeader({ ...h, kind: 'account', to: 'bouchra' }), P.FormatError);
  assert.throws(() => G.grantHeader({ ...h, kind: 'account', to: 'bouchra', toBoxPk: BOUCHRA.boxPk, password: true }), P.FormatError);
  assert.throws(() => G.grantHeader({ ...h, kind: 'account', to: 'bouchra', toBoxPk: H(DOCS.seal.negative.at(-1).recipient_pk) }), P.IntegrityError);
  assert.throws(() => G.grantHeader({ ...h, maxUses: 0 }), P.FormatError);
  assert.throws(() => G.grantHeader({ ...h, expires: 1.5 }), P.FormatError);
  assert.throws(() => G.grantItem('../x', file('x')), P.FormatError);
  assert.throws(() => G.grantItem('x', file('x', { deleted: true })), P.FormatError);
  assert.throws(() => G.sealGrantKey(H(DOCS.seal.negative.at(-1).recipient_pk), det('k'), 'ab'.repeat(16), det('e')), P.IntegrityError);
  assert.throws(() => G.formatLink('https://x', 'ab'.repeat(16), new Uint8Array(31)), P.FormatError);
});

// -- requests -------------------------------------------------------------------------------------

const verifyOf = (v) => ({ trusted: trustedOf(v.trusted), now: v.now, owner: v.owner, ownerSignPk: H(v.owner_sign_pk) });

test('requests: opened and certified, the envelope re-made byte for byte; every forgery refused', () => {
  each('request', 'positive', 'request', (c) => {
    const opened = R.openRequest(c.id, H(c.recipient_box_sk), H(c.envelope));
    assert.equal(R.verifyRequest(opened, verifyOf(c.verify)), DOCS.deposit.positive[0].issuer_name);
    assert.deepEqual(P.canonicalJson(R.requestBody(opened.statement)), te.encode(c.statement_text));
    const read = R.readRequest(c.id, H(c.recipient_box_sk), H(c.envelope), verifyOf(c.verify));
    assert.equal(read.certified, DOCS.deposit.positive[0].issuer_name);
    assert.equal(read.claimedIssuer, null);
    assert.equal(R.answerable(read), true);
    assert.deepEqual(read.statement.needs, ['proof-of-address', 'tax-notice']);
    // the issuer's side, re-made: the same signature and the same envelope
    const meta = JSON.parse(c.meta_text);
    assert.equal(P.hex(ISSUER.pk), P.hex(P.unb64u(meta.statement.issuer_pk, 32)));
    const env = Seal.sealSigned('request', c.id, meta.statement, ISSUER.sk, H(c.recipient_box_pk), H(c.key), H(c.seal.ephemeral_sk), H(c.nonce), meta.cert);
    assert.equal(P.hex(env), c.envelope);
    assert.equal(P.hex(Seal.signedMessage('request', meta.statement)), c.statement_message);
    // not pinned here: still readable, not certified, never answered
    const untrusted = R.readRequest(c.id, H(c.recipient_box_sk), H(c.envelope), { ...verifyOf(c.verify), trusted: new Map() });
    assert.equal(untrusted.certified, false);
    assert.equal(untrusted.claimedIssuer, DOCS.deposit.positive[0].issuer_name);
    assert.equal(R.answerable(untrusted), false);
  });
  // the trust checks leave a request readable ("not certified"); the others make it unreadable
  const trustOnly = new Set(['certificate not valid now', 'certificate from an authority not pinned', 'addressed to another person (re-sealed)']);
  each('request', 'negative', 'request', (c) => {
    throwsNamed(c, () => R.verifyRequest(R.openRequest(c.id, H(c.recipient_box_sk), H(c.envelope)), verifyOf(c.verify)));
    if (trustOnly.has(c.name)) {
      const read = R.readRequest(c.id, H(c.recipient_box_sk), H(c.envelope), verifyOf(c.verify));
      assert.equal(read.certified, false, c.name);
      assert.equal(R.answerable(read), false, c.name);
      assert.equal(read.addressedToMe, c.name !== 'addressed to another person (re-sealed)', c.name);
    } else {
      throwsNamed(c, () => R.readRequest(c.id, H(c.recipient_box_sk), H(c.envelope), verifyOf(c.verify)));
    }
  });
});

function signedRequest(changes) {
  const c = DOCS.request.positive[0];
  const meta = JSON.parse(c.meta_text);
  const st = { ...meta.statement, ...changes };
  return Seal.sealSigned('request', st.id, st, ISSUER.sk, JEAN.boxPk, det('r/key'), det('r/eph'), det('r/nonce', 24), meta.cert);
}

test('a request out of bounds is refused even when its issuer signed it', () => {
  const c = DOCS.request.positive[0];
  const open = (env) => R.openRequest(c.id, JEAN.boxSk, env);
  assert.equal(open(signedRequest({ message: 'é'.repeat(4000) })).statement.message.length, 4000);
  assert.throws(() => open(signedRequest({ message: 'é'.repeat(4001) })), P.IntegrityError);
  const types = Array.from({ length: 33 }, (_, i) => `type-${i}`);
  assert.equal(open(signedRequest({ needs: types.slice(0, 32) })).statement.needs.length, 32);
  assert.throws(() => open(signedRequest({ needs: types })), P.IntegrityError);
  assert.throws(() => open(signedRequest({ needs: ['Avis d’imposition'] })), P.IntegrityError);
  assert.throws(() => open(signedRequest({ needs: [1] })), P.IntegrityError);
});

// -- answers --------------------------------------------------------------------------------------

test('answers: each copy read by its reader, the envelope re-made byte for byte; forgeries refused', () => {
  each('request_answer', 'positive', 'request_answer', (c) => {
    const st = R.openAnswer(c.id, c.reader, H(c.reader_box_sk), H(c.envelope), H(c.owner_sign_pk));
    assert.deepEqual(P.canonicalJson(R.answerBody(st)), te.encode(c.statement_text));
    assert.equal(P.hex(Seal.signedMessage(R.ANSWER_KIND, R.answerBody(st))), c.statement_message);
    assert.equal(R.openAnswer(c.id, c.reader, H(c.reader_box_sk), H(c.envelope), H(c.owner_sign_pk), st.grantId).grantId, st.grantId);
    assert.throws(() => R.openAnswer(c.id, c.reader, H(c.reader_box_sk), H(c.envelope), H(c.owner_sign_pk), 'ab'.repeat(16)), P.IntegrityError);
    // the owner's side, re-made with the generator's keys
    const s = JSON.parse(c.statement_text);
    const env = R.buildAnswer({
      statement: { requestId: s.request, owner: s.owner, ownerSignPk: JEAN.identity.pk, requester: s.requester, grantId: s.grant, items: s.items, answered: s.answered },
      ownerSignSk: JEAN.identity.sk,
      requesterBoxPk: BOUCHRA.boxPk,
      ownerBoxPk: JEAN.boxPk,
      keys: [det('request-answer/key-r'), det('request-answer/key-o')],
      ephemerals: [det('request-answer/eph-r'), det('request-answer/eph-o')],
      nonces: [det('request-answer/nonce-r', 24), det('request-answer/nonce-o', 24)],
    });
    assert.equal(P.hex(env), c.envelope);
  });
  each('request_answer', 'negative', 'request_answer', (c) => {
    throwsNamed(c, () => R.openAnswer(c.id, c.reader, H(c.reader_box_sk), H(c.envelope), H(c.owner_sign_pk)));
  });
});

test('an answer built here: sorted names, the request body, refusals of a malformed statement', () => {
  const rid = DOCS.request.positive[0].id;
  const statement = { requestId: rid, owner: 'jean', ownerSignPk: JEAN.identity.pk, requester: 'bouchra', grantId: 'cd'.repeat(16), items: { 'tax-notice': ['b.pdf', 'a.pdf'] }, answered: 1767398400 };
  const args = {
    statement,
    ownerSignSk: JEAN.identity.sk,
    requesterBoxPk: BOUCHRA.boxPk,
    ownerBoxPk: JEAN.boxPk,
    keys: [det('k1'), det('k2')],
    ephemerals: [det('e1'), det('e2')],
    nonces: [det('n1', 24), det('n2', 24)],
  };
  const env = R.buildAnswer(args);
  const mine = R.openAnswer(rid, 'owner', JEAN.boxSk, env, JEAN.identity.pk);
  assert.deepEqual(mine.items, { 'tax-notice': ['a.pdf', 'b.pdf'] });
  assert.deepEqual(R.openAnswer(rid, 'requester', BOUCHRA.boxSk, env, JEAN.identity.pk), mine);
  assert.throws(() => R.openAnswer(rid, 'requester', JEAN.boxSk, env, JEAN.identity.pk), P.IntegrityError);
  assert.throws(() => R.openAnswer(rid, 'issuer', JEAN.boxSk, env, JEAN.identity.pk), P.FormatError);
  const post = R.answerRequest(rid, statement.grantId, env);
  assert.equal(post.path, `/v1/requests/${rid}/answer`);
  assert.deepEqual(P.unb64u(post.body.envelope), env);
  assert.equal(post.body.grant_id, statement.grantId);
  assert.throws(() => R.answerRequest('../x', statement.grantId, env), P.FormatError);
  for (const items of [{}, { 'Tax notice': ['a'] }, { 'tax-notice': [] }, { 'tax-notice': [''] }, { 'tax-notice': ['x'.repeat(1025)] }, { 'tax-notice': Array(257).fill('a') }]) {
    assert.throws(() => R.buildAnswer({ ...args, statement: { ...statement, items } }), P.FormatError, JSON.stringify(items).slice(0, 40));
  }
});

test('item by item: which documents answer which item, and the state the owner sees', () => {
  const needs = ['proof-of-address', 'tax-notice'];
  const types = { 'impots/avis.pdf': 'tax-notice', 'photo.jpg': 'id-card' };
  let a = R.answerItems(needs, {}, ['impots/avis.pdf'], types);
  assert.deepEqual(a, { items: { 'tax-notice': ['impots/avis.pdf'] }, paths: ['impots/avis.pdf'] });
  assert.deepEqual(R.itemStates(needs, a), [{ type: 'proof-of-address', state: 'missing' }, { type: 'tax-notice', state: 'provided' }]);
  assert.equal(R.checklistState(needs, a, 100, 50), 'partial');
  assert.equal(R.checklistState(needs, a, 100, 101), 'overdue');
  // a document of no type the request needs answers what is still missing
  a = R.answerItems(needs, a.items, ['photo.jpg'], types);
  assert.deepEqual(a.items, { 'tax-notice': ['impots/avis.pdf'], 'proof-of-address': ['photo.jpg'] });
  assert.deepEqual(a.paths, ['impots/avis.pdf', 'photo.jpg']);
  assert.equal(R.checklistState(needs, a, 100, 101), 'answered');
  // nothing missing: it answers every item; --for names one
  assert.deepEqual(R.answerItems(needs, a.items, ['z.pdf'], types).items, { 'tax-notice': ['impots/avis.pdf', 'z.pdf'], 'proof-of-address': ['photo.jpg', 'z.pdf'] });
  assert.deepEqual(R.answerItems(needs, {}, ['photo.jpg'], new Map(Object.entries(types)), 'tax-notice').items, { 'tax-notice': ['photo.jpg'] });
  assert.deepEqual(R.answerItems(needs, {}, ['x.pdf'], {}).items, { 'proof-of-address': ['x.pdf'], 'tax-notice': ['x.pdf'] });
  assert.throws(() => R.answerItems(needs, {}, ['x.pdf'], {}, 'passport'), P.FormatError);
  assert.deepEqual(R.itemStates(needs, null), needs.map((t) => ({ type: t, state: 'missing' })));
});

// -- deposits -------------------------------------------------------------------------------------

test('deposits: the certificate block is the proof as signed, the accepted record as the Python client writes it', () => {
  each('deposit', 'positive', 'deposit', (c) => {
    const v = verifyOf(c.verify);
    const read = D.readDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), v);
    assert.equal(read.certified, c.issuer_name);
    assert.deepEqual(P.canonicalJson(D.proofJson(read.proof)), te.encode(c.proof_text));
    const acc = D.acceptDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), v);
    assert.equal(acc.issuer, c.issuer_name);
    assert.deepEqual(acc.document, H(c.body));
    assert.deepEqual(P.canonicalJson(acc.cert), te.encode(`{"proof":${c.proof_text},"received":${c.verify.now}}`));
    assert.equal(acc.mtime, read.statement.issued * 1000);
    assert.equal(acc.type, read.statement.docType);
    const path = D.depositPath({ depositId: c.id, filename: read.statement.filename, issuer: acc.issuer });
    assert.equal(path, `Courrier/Mairie de Villeurbanne _ État civil/${read.statement.filename}`);
    const rec = D.depositRecord({ fileId: P.hex(det('d/file', 16)), version: 1, path, size: acc.document.length, content: det('d/content'), manifest: P.hex(det('d/manifest')), key: det('d/key') }, acc);
    // what a device of the owner (and a grantee) says of the record later
    const later = P.certification(rec.cert, v.trusted, v.owner, v.ownerSignPk, P.sha256(acc.document), v.now + 400 * 86400);
    assert.deepEqual(later, { state: 'certified', issuer: c.issuer_name, authority: 'authority' });
    const item = G.grantItem(read.statement.filename, rec);
    assert.deepEqual(item.cert, rec.cert);
    assert.equal(item.type, 'birth-certificate');
    // not pinned here: readable, not certified, accepted under « non certifié »
    const untrusted = D.acceptDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), { ...v, trusted: new Map() });
    assert.equal(untrusted.issuer, null);
    assert.equal(D.depositPath({ depositId: c.id, filename: read.statement.filename, issuer: untrusted.issuer }), `Courrier/non certifié/${read.statement.filename}`);
    assert.equal(D.readDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), { ...v, trusted: new Map() }).claimedIssuer, c.issuer_name);
    // another person's handle or key: never accepted
    assert.throws(() => D.acceptDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), { ...v, owner: 'bouchra' }), P.IntegrityError);
    assert.throws(() => D.acceptDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), { ...v, ownerSignPk: BOUCHRA.identity.pk }), P.IntegrityError);
    crossCheckWithPython(c, rec);
  });
  // every forgery is either unreadable or "not certified": never under the issuer's name
  each('deposit', 'negative', 'deposit', (c) => {
    let read;
    try {
      read = D.readDeposit(c.id, H(c.recipient_box_sk), H(c.envelope), verifyOf(c.verify));
    } catch (e) {
      assert.ok(e instanceof ERRORS[c.error], `${c.name}: ${e}`);
      return;
    }
    assert.equal(read.certified, false, c.name);
  });
});

function python() {
  if (process.env.VAULT_PYTHON) return process.env.VAULT_PYTHON;
  const venv = path.join(ROOT, '.venv/bin/python');
  return existsSync(venv) ? venv : 'python3';
}

// vault_client/service/inbox.py accept: the record of the upload it makes (record_for with the
// meta record's type and certificate, the mtime the installed file got), and its folder name.
const PY_ACCEPT = `
import json, sys
from vault_core.deposits import open_deposit
from vault_core.encoding import canonical_json
from vault_core.log import FileRecord
from vault_client.service.inbox import _safe_component
i = json.load(sys.stdin)
proof, doc = open_deposit(i["id"], bytes.fromhex(i["box_sk"]), bytes.fromhex(i["envelope"]))
rec = FileRecord(file_id=i["file"], version=1, path=i["path"], deleted=False, size=len(doc),
    mtime=proof.statement.issued * 1000, content=bytes.fromhex(i["content"]), manifest=i["manifest"],
    key=bytes.fromhex(i["key"]), doc_type=proof.statement.doc_type,
    certificate={"proof": proof.to_json(), "received": i["received"]})
print(json.dumps({"record": canonical_json(rec.to_json()).decode(), "names": [_safe_component(n) for n in i["names"]]}))
`;

const NAMES = ['Mairie de Villeurbanne – État civil', '  .Caf du Rhône. ', 'CPAM/Lyon:7', '...', 'x'.repeat(100), 'Préfecture (69) – service d’état civil n°3', 'Ünïcödé 東京 ٣'];

function crossCheckWithPython(c, rec) {
  const input = {
    id: c.id,
    box_sk: c.recipient_box_sk,
    envelope: c.envelope,
    file: rec.fileId,
    path: rec.path,
    content: P.hex(rec.content),
    manifest: rec.manifest,
    key: P.hex(rec.key),
    received: rec.cert.received,
    names: NAMES,
  };
  const run = spawnSync(python(), ['-c', PY_ACCEPT], { input: JSON.stringify(input), cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, `the Python client (vault_core) must run for this cross-check: ${run.error || run.stderr}`);
  const out = JSON.parse(run.stdout);
  assert.equal(td.decode(P.canonicalJson(L.recordJson(rec))), out.record, 'the record of an accepted deposit');
  assert.deepEqual(NAMES.map(D.safeComponent), out.names, 'folder names of issuers');
}

test('where an accepted deposit goes: free, synced, beside a taken name', () => {
  const id = '71b39dbf9ae93d71cf00f25e848be5ef';
  const at = (o) => D.depositPath({ depositId: id, filename: 'acte.pdf', issuer: 'Mairie', ...o });
  assert.equal(at({}), 'Courrier/Mairie/acte.pdf');
  assert.equal(at({ paths: ['Courrier/Mairie/acte.pdf'] }), 'Courrier/Mairie/acte (71b39dbf).pdf');
  assert.equal(at({ to: 'Papiers/' }), 'Papiers/acte.pdf');
  assert.equal(at({ to: 'Papiers', paths: ['Papiers/autre.pdf'] }), 'Papiers/acte.pdf');
  assert.equal(at({ to: '/Papiers/mon acte.pdf' }), 'Papiers/mon acte.pdf');
  assert.equal(at({ to: 'acte.pdf', paths: ['acte.pdf'] }), 'acte (71b39dbf).pdf');
  assert.equal(D.depositPath({ depositId: id, filename: 'scan.tmp', issuer: 'Mairie' }), 'Courrier/Mairie/document 71b39dbf - scan.tmp.pdf');
  // as the Python client does: a second try, then the deposit id alone (still under the folder asked for)
  assert.equal(D.depositPath({ depositId: id, filename: 'x', issuer: null, to: '.vault/' }), `.vault/document ${id}`);
  assert.equal(D.ignoredPath('.vault/document x.pdf'), true);
  assert.equal(D.ignoredPath('a/~$lettre.docx'), true);
  assert.equal(D.ignoredPath('a/.~lock.lettre.odt#'), true);
  assert.equal(D.ignoredPath('a/lettre.odt'), false);
  assert.throws(() => at({ to: '../etc/' }), P.FormatError);
});

test('every case of an op this engine claims was run', () => {
  for (const [name, kinds] of Object.entries(ENGINE)) {
    for (const kind of ['positive', 'negative']) {
      for (const c of DOCS[name][kind]) {
        if (kinds[kind].includes(c.op)) assert.ok(ran.has(`${name}/${kind}/${c.op}`), `${name}: ${kind} ${c.op} not run here`);
      }
    }
  }
});
