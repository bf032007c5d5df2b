// The owner's engine for web access (web/engine/) against protocol/vectors/*.json: the formats
// the share page never touches (login, bundle, Argon2id floor, identity, device certificates,
// the log) and the writer's side of chunks and manifests. Positive cases are re-made byte for
// byte from their inputs (the engine writes what the Python client writes); negative cases fail
// with the named error class. ENGINE lists the ops covered here, and a test fails if a vector
// file offers one of them in a case this file does not run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import _sodium from 'libsodium-wrappers-sumo';
import * as P from '../src/protocol.js';
import * as A from '../engine/account.js';
import * as L from '../engine/log.js';
import * as F from '../engine/files.js';
import * as M from '../engine/mandates.js';

await _sodium.ready;
const sodium = _sodium;
A.useSodium(sodium);
F.useSodium(sodium);

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../protocol/vectors');
const DOCS = Object.fromEntries(
  readdirSync(VECTORS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(VECTORS, f), 'utf8'))]),
);
const H = (s) => P.unhex(s);
const te = new TextEncoder();
const ERRORS = { IntegrityError: P.IntegrityError, FormatError: P.FormatError, WeakParameters: A.WeakParameters, RollbackError: L.RollbackError };

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
  assert.throws(fn, (e) => e instanceof cls, `${c.name}: expected ${c.error}`);
}

/** The ops this engine implements, by file (positive and negative). */
const ENGINE = {
  login: ['login_proof'],
  kdf: ['passphrase', 'vault_keys', 'kdf_params'],
  bundle: ['unwrap_bundle'],
  identity: ['identity'],
  device_cert: ['device_cert', 'issue_device_cert'],
  log: ['chain', 'verify_chain', 'check_head'],
  chunk: ['chunk'],
  manifest: ['open_manifest', 'open_manifest_inline'],
  mandate: ['mandate_statement', 'mandate_allows', 'helper_entry'],
};

test('login proofs: the message byte for byte, the signature, and every substitution refused', () => {
  each('login', 'positive', 'login_proof', (c) => {
    const msg = A.loginMessage(H(c.challenge), c.handle, c.host, c.purpose);
    assert.equal(P.hex(msg), c.message);
    assert.deepEqual(msg.subarray(21), te.encode(c.body_text));
    P.verify(H(c.public_key), msg, H(c.signature));
  });
  each('login', 'negative', 'login_proof', (c) => {
    throwsNamed(c, () => P.verify(H(c.public_key), A.loginMessage(H(c.challenge), c.handle, c.host, c.purpose), H(c.signature)));
  });
});

test('passphrase keys at the floor, vault subkeys, and the Argon2id floor refused before any work', () => {
  each('kdf', 'positive', 'passphrase', (c) => {
    const keys = A.passphraseKeys(c.passphrase_text, c.kdf);
    assert.equal(P.hex(keys.loginSeed), c.login_seed);
    assert.equal(P.hex(keys.kek), c.kek);
    assert.equal(P.hex(A.signKeypair(keys.loginSeed).pk), c.login_pk);
    // the same text in NFD gives the same keys
    assert.equal(P.hex(A.passphraseKeys(c.passphrase_text.normalize('NFD'), c.kdf).kek), c.kek);
  });
  each('kdf', 'positive', 'vault_keys', (c) => {
    const k = A.vaultKeys(H(c.vault_key));
    assert.equal(P.hex(k.recordKey), c.record_key);
    assert.equal(P.hex(k.chunkIdKey), c.chunk_id_key);
    assert.equal(P.hex(k.chunkKeyKey), c.chunk_key_key);
    assert.equal(P.hex(k.localKey), c.local_key);
    assert.equal(k.cdcSeed.toString(16).padStart(16, '0'), c.cdc_seed_u64);
  });
  each('kdf', 'negative', 'kdf_params', (c) => {
    throwsNamed(c, () => A.kdfParams(c.kdf));
    throwsNamed(c, () => A.passphraseKeys('any passphrase', c.kdf));
  });
});

test('bundles open under their KEK, handle and slot only', () => {
  each('bundle', 'positive', 'unwrap_bundle', (c) => {
    const b = A.unwrapBundle(H(c.wrapped), H(c.kek), c.handle, c.slot);
    assert.equal(P.hex(b.signSeed), c.bundle.sign_seed);
    assert.equal(P.hex(b.boxSk), c.bundle.box_sk);
    assert.equal(P.hex(b.vaultKey), c.bundle.vault_key);
    assert.equal(b.created, c.bundle.created);
    assert.throws(() => A.unwrapBundle(H(c.wrapped), H(c.kek), c.handle === 'jean' ? 'jeanne' : 'jean', c.slot), P.IntegrityError);
    assert.throws(() => A.unwrapBundle(H(c.wrapped), H(c.kek), c.handle, c.slot === 'recovery' ? 'passphrase' : 'recovery'), P.IntegrityError);
  });
  each('bundle', 'negative', 'unwrap_bundle', (c) => {
    throwsNamed(c, () => A.unwrapBundle(H(c.wrapped), H(c.kek), c.handle, c.slot));
  });
});

test('public identities: self-signature and fingerprint, substitutions refused', () => {
  each('identity', 'positive', 'identity', (c) => {
    const kp = A.signKeypair(H(c.sign_seed));
    assert.equal(P.hex(kp.pk), c.sign_pk);
    const bundle = { handle: c.handle, identity: kp, boxPk: sodium.crypto_scalarmult_base(H(c.box_sk)) };
    const id = A.identityOf(bundle);
    assert.deepEqual(P.canonicalJson(id), te.encode(c.json_text));
    const v = A.verifyIdentity(id);
    assert.equal(A.fingerprint(v.handle, v.signPk, v.boxPk), c.fingerprint);
  });
  each('identity', 'negative', 'identity', (c) => {
    throwsNamed(c, () => A.verifyIdentity(c.identity));
  });
});

test('device certificates: issued byte for byte, forgeries refused', () => {
  each('device_cert', 'positive', 'device_cert', (c) => {
    const dev = A.signKeypair(H(c.device_seed));
    assert.equal(P.hex(dev.pk), c.device_sign_pk);
    const identitySeedCase = DOCS.identity.positive.find((i) => i.sign_pk === c.identity_sign_pk);
    const bundle = { handle: c.handle, identity: A.signKeypair(H(identitySeedCase.sign_seed)) };
    const cert = A.issueDeviceCert(bundle, c.device_id, c.name, dev.pk, c.created);
    assert.deepEqual(cert, te.encode(c.cert_text));
    const v = A.verifyDeviceCert(cert, H(c.identity_sign_pk));
    assert.equal(v.deviceId, c.device_id);
    assert.equal(v.name, c.name);
  });
  each('device_cert', 'negative', 'device_cert', (c) => {
    throwsNamed(c, () => A.verifyDeviceCert(te.encode(c.cert_text), H(c.identity_sign_pk)));
  });
  each('device_cert', 'negative', 'issue_device_cert', (c) => {
    const bundle = { handle: 'jean', identity: A.signKeypair(new Uint8Array(32).fill(7)) };
    throwsNamed(c, () => A.issueDeviceCert(bundle, '750b6e95ab613c1945bac15e77b608c2', 'x', H(c.device_sign_pk), 1));
  });
});

function deviceSeeds() {
  return new Map(DOCS.device_cert.positive.map((c) => [c.device_id, H(c.device_seed)]));
}

test('the log: every entry re-made byte for byte by the writer, replayed to the final state', () => {
  const ctx = DOCS.log.context;
  const seeds = deviceSeeds();
  each('log', 'positive', 'chain', (c) => {
    const v = new L.LogVerifier(ctx.handle, H(ctx.identity_sign_pk), H(ctx.record_key));
    let prev = L.genesis(ctx.handle);
    assert.equal(P.hex(prev), ctx.genesis);
    for (const e of c.entries) {
      const record = L.parseRecord(JSON.parse(e.record_text));
      const made = L.makeEntry({
        handle: ctx.handle,
        recordKey: H(ctx.record_key),
        deviceId: e.device,
        deviceSk: A.signKeypair(seeds.get(e.device)).sk,
        seq: e.seq,
        prev,
        time: e.time,
        record,
        nonce: H(e.nonce),
      });
      assert.equal(P.hex(made.rec), e.rec, `${c.name} #${e.seq}: rec`);
      assert.deepEqual(made.encoded, te.encode(e.entry_text), `${c.name} #${e.seq}: entry`);
      assert.equal(P.hex(made.hash), e.hash);
      const { record: opened } = v.feed(te.encode(e.entry_text));
      assert.deepEqual(P.canonicalJson(L.recordJson(opened)), te.encode(e.record_text));
      prev = made.hash;
    }
    assert.deepEqual(v.state(), c.final_state);
  });
  each('log', 'negative', 'verify_chain', (c) => {
    const v = new L.LogVerifier(c.handle ?? ctx.handle, H(ctx.identity_sign_pk), H(ctx.record_key), c.start_state ?? null);
    const entries = c.entries.map((t) => te.encode(t));
    for (let i = 0; i < c.accepted; i++) v.feed(entries[i]);
    throwsNamed(c, () => {
      for (let i = c.accepted; i < entries.length; i++) v.feed(entries[i]);
    });
    const start = c.start_state ? c.start_state.seq : 0;
    assert.equal(v.seq, start + Number(c.accepted), `${c.name}: the refused entry changed nothing`);
  });
  each('log', 'positive', 'check_head', (c) => L.checkHead(Number(c.server_head), Number(c.seen_seq)));
  each('log', 'negative', 'check_head', (c) => throwsNamed(c, () => L.checkHead(Number(c.server_head), Number(c.seen_seq))));
});

test('mandates in the owner\'s log: statements, scopes, helper entries (SPEC §Mandates)', () => {
  each('mandate', 'positive', 'mandate_statement', (c) => {
    const m = M.openMandate(te.encode(c.statement_text), H(c.sig), H(c.owner_sign_pk));
    assert.equal(m.mandateId, JSON.parse(c.statement_text).mandate);
    assert.deepEqual(m.scopes, JSON.parse(c.statement_text).scopes);
  });
  each('mandate', 'negative', 'mandate_statement', (c) => {
    throwsNamed(c, () => M.openMandate(te.encode(c.statement_text), H(c.sig), H(c.owner_sign_pk)));
  });
  const scopesOf = (c) => c.scopes;
  each('mandate', 'positive', 'mandate_allows', (c) => {
    assert.equal(M.allows(scopesOf(c), c.action, c.path ?? null), c.allowed, c.name);
  });
  each('mandate', 'positive', 'helper_entry', (c) => {
    const v = new L.LogVerifier(c.handle, H(c.owner_sign_pk), H(c.record_key), c.state, H(c.owner_box_sk));
    const { record } = v.feed(te.encode(c.entry_text));
    assert.equal(record.kind, 'helper');
    assert.deepEqual(P.canonicalJson(L.recordJson(record)), te.encode(c.record_text));
    assert.deepEqual(v.state(), c.final_state);
  });
  each('mandate', 'negative', 'helper_entry', (c) => {
    const v = new L.LogVerifier(c.handle, H(c.owner_sign_pk), H(c.record_key), c.state, H(c.owner_box_sk));
    const before = JSON.stringify(v.state());
    throwsNamed(c, () => v.feed(te.encode(c.entry_text)));
    assert.equal(JSON.stringify(v.state()), before, `${c.name}: the refused entry changed nothing`);
  });
});

test('writer side of chunks and manifests: sealed byte for byte, opened by the reader', () => {
  each('chunk', 'positive', 'chunk', (c) => {
    const keys = { chunkIdKey: H(c.chunk_id_key), chunkKeyKey: H(c.chunk_key_key) };
    const ref = F.chunkRef(keys, H(c.plaintext));
    assert.equal(ref.id, c.id);
    assert.equal(P.hex(ref.key), c.key);
    assert.equal(ref.size, c.size);
    const blob = F.sealChunk(ref, H(c.plaintext), H(c.nonce));
    assert.equal(P.hex(blob), c.blob);
    assert.deepEqual(P.openChunk(ref, blob), H(c.plaintext));
  });
  each('manifest', 'positive', 'open_manifest', (c) => {
    const refs = c.chunks.map((r) => ({ id: r.id, key: H(r.key), hash: H(r.hash), size: r.size }));
    const m = F.encodeManifest(H(c.file_id), c.version, refs);
    assert.equal(P.hex(m.plain), c.plaintext);
    assert.equal(P.hex(m.content), c.content_hash);
    const sealed = F.sealManifest(H(c.file_id), c.version, m.plain, H(c.file_key), H(c.nonce));
    assert.equal(P.hex(sealed.blob), c.blob);
    assert.equal(sealed.id, c.blob_id);
  });
  each('manifest', 'positive', 'open_manifest_inline', (c) => {
    const m = F.encodeInlineManifest(H(c.file_id), c.version, H(c.data));
    assert.equal(P.hex(m.plain), c.plaintext);
    const sealed = F.sealManifest(H(c.file_id), c.version, m.plain, H(c.file_key), H(c.nonce));
    assert.equal(P.hex(sealed.blob), c.blob);
    assert.equal(sealed.id, c.blob_id);
    const opened = P.openManifest(sealed.blob, sealed.id, H(c.file_key), H(c.file_id), c.version);
    assert.deepEqual(opened.data, H(c.data));
  });
});

test('the file record writer round-trips through the strict parser, and refuses a bad path', () => {
  const r = F.fileRecord({ fileId: 'ab'.repeat(16), version: 1, path: 'Impôts/avis 2026.pdf', size: 3, mtime: 1767225600123, content: new Uint8Array(32).fill(1), manifest: 'cd'.repeat(32), key: new Uint8Array(32).fill(2), type: 'avis-imposition' });
  const again = L.parseRecord(P.parseCanonicalJson(P.canonicalJson(L.recordJson(r))));
  assert.deepEqual(L.recordJson(again), L.recordJson(r));
  assert.throws(() => F.fileRecord({ ...r, path: '../etc/passwd' }), P.FormatError);
});

test('every case of an op this engine claims was run', () => {
  for (const [file, ops] of Object.entries(ENGINE)) {
    for (const kind of ['positive', 'negative']) {
      for (const c of DOCS[file][kind] || []) {
        if (ops.includes(c.op) && !(file === 'manifest' && kind === 'negative')) {
          assert.ok(ran.has(`${file}/${kind}/${c.op}`), `${file}: ${kind} ${c.op} not run here`);
        }
      }
    }
  }
});
