// The browser's protocol implementation (web/src/protocol.js) against protocol/vectors/*.json:
// every positive case of the formats the share page reads verifies, every negative case is
// rejected with the named error class. Formats the page never reads (owner-side: login,
// bundle, identity, device certificates, the log, recovery keys, requests, chunking) are listed
// in OUT_OF_SCOPE (those the owner's web engine implements are checked by engine_vectors.test.mjs and engine_grants.test.mjs), and the test fails if a vector file or op appears that is neither handled
// nor listed, so nothing is skipped silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import _sodium from 'libsodium-wrappers-sumo';
import * as P from '../src/protocol.js';

await _sodium.ready;
const sodium = _sodium;
P.useSodium(sodium);

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../protocol/vectors');
const DOCS = Object.fromEntries(
  readdirSync(VECTORS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(VECTORS, f), 'utf8'))]),
);

const H = (s) => P.unhex(s);
const te = new TextEncoder();
const trustedOf = (keys) => new Map(keys.map((k) => [P.b64u(H(k)), 'authority']));

/** Ops the share page never performs, by file: [op, reason]. */
const OUT_OF_SCOPE = {
  bundle: { unwrap_bundle: 'owner engine for web access: web/test/engine_vectors.test.mjs' },
  device_cert: {
    device_cert: 'owner engine for web access: web/test/engine_vectors.test.mjs',
    issue_device_cert: 'owner engine for web access: web/test/engine_vectors.test.mjs',
  },
  identity: { identity: 'owner engine for web access: web/test/engine_vectors.test.mjs' },
  log: { chain: 'owner engine for web access: web/test/engine_vectors.test.mjs', verify_chain: 'owner engine for web access: web/test/engine_vectors.test.mjs', check_head: 'owner engine for web access: web/test/engine_vectors.test.mjs' },
  login: { login_proof: 'owner engine for web access: web/test/engine_vectors.test.mjs', token_hash: 'server-side' },
  recovery: { recovery_text: 'owner-side', parse_recovery: 'owner-side' },
  request: { request: 'owner engine for web access: web/test/engine_grants.test.mjs (requests read, certified or not, in the owner\'s inbox)' },
  appointment: { appointment: 'issuer appointments (owner side, with the requests)' },
  request_answer: { request_answer: 'owner engine for web access: web/test/engine_grants.test.mjs (answers, item by item, built and read)' },
  ask: {
    ask: "citizens' asks (issuer account side, CLI)",
    ask_reply: "the issuer's reply to an ask (owner side, CLI)",
    ask_deposit_id: 'issuer-side: the deposit id of a fulfilment',
  },
  chunk: { cdc: 'a reader never recomputes chunk boundaries (SPEC §Chunks)' },
  kdf: {
    kdf_params: 'owner engine for web access: web/test/engine_vectors.test.mjs (a link password has fixed, pinned costs)',
    recovery: 'owner-side',
    vault_keys: 'owner engine for web access: web/test/engine_vectors.test.mjs',
  },
  seal: { seal: 'the page never seals; the owner engine does: web/test/engine_grants.test.mjs (sealing to a low-order key is a sender-side check)' },
  recovery_contacts: {
    recovery_approval: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    recovery_finish: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    recovery_ready_at: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    recovery_request: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    recovery_set: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    recovery_share: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    recovery_veto: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    check_approval: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    check_veto: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    contacts_keys: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    decode_request: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    open_reshare: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    open_set: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    open_share: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
    verify_finish: 'trusted-contact recovery runs in the owner\'s and the contacts\' clients (the link page has no account)',
  },
  mandate: {
    mandate_statement: 'the owner\'s web engine reads mandates in his log: web/test/engine_vectors.test.mjs',
    mandate_copy: "the helper's side and forwards run in the clients (the link page has no account; the web engine reads only the owner's log)",
    mandate_allows: 'the owner\'s web engine reads mandates in his log: web/test/engine_vectors.test.mjs',
    helper_entry: 'the owner\'s web engine reads mandates in his log: web/test/engine_vectors.test.mjs',
    mandate_forward: "the helper's side and forwards run in the clients (the link page has no account; the web engine reads only the owner's log)",
    helper_answer: "the helper's side and forwards run in the clients (the link page has no account; the web engine reads only the owner's log)",
  },
  trust_invitation: {
    trust_invitation: 'authorities are pinned by the owner\'s client (the link page trusts none)',
    trust_invitation_file: 'authorities are pinned by the owner\'s client',
    trust_invitation_uri: 'authorities are pinned by the owner\'s client',
  },
  release: {
    release: "the web access release manifest is checked by the CLI ('vault web check'), never by a page the server serves",
    asset_refs: "the web access release manifest is checked by the CLI ('vault web check'), never by a page the server serves",
  },
  shamir: {
    shamir_split: 'owner-side: the engine does not split; web/test/shamir.test.mjs checks these vectors against npm shamir-secret-sharing',
    shamir_combine: 'owner-side: the engine does not combine; web/test/shamir.test.mjs checks these vectors against npm shamir-secret-sharing',
  },
};

// -- positive handlers --------------------------------------------------------------------------

const POSITIVE = {
  b64u(c) {
    assert.equal(P.b64u(H(c.bytes)), c.text);
    assert.deepEqual(P.unb64u(c.text), H(c.bytes));
  },
  canonical_json(c) {
    const canonical = te.encode(c.canonical_text);
    assert.deepEqual(P.canonicalJson(JSON.parse(c.input_text)), canonical);
    assert.deepEqual(P.canonicalJson(P.parseCanonicalJson(canonical)), canonical);
  },
  kdf(c) {
    assert.equal(P.hex(P.kdf(H(c.key), c.label, c.size)), c.output);
  },
  argon2id(c) {
    if (c.p !== 1) return 'libsodium computes one lane only (SPEC §Passphrases): p = ' + c.p;
    const out = sodium.crypto_pwhash(c.size, H(c.password), H(c.salt), c.t, c.m_kib * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13);
    assert.equal(P.hex(out), c.output);
    return null;
  },
  passphrase(c) {
    assert.deepEqual(te.encode(c.passphrase_text), H(c.passphrase_utf8));
    const salt = P.unb64u(c.kdf.salt, 16);
    const root = sodium.crypto_pwhash(32, te.encode(c.passphrase_text.normalize('NFC')), salt, c.kdf.t, c.kdf.m_kib * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13);
    assert.equal(P.hex(root), c.root);
    assert.equal(P.hex(P.kdf(root, 'vault.v1/login')), c.login_seed);
    assert.equal(P.hex(P.kdf(root, 'vault.v1/kek')), c.kek);
    assert.equal(P.hex(sodium.crypto_sign_seed_keypair(H(c.login_seed)).publicKey), c.login_pk);
  },
  check_box_pk(c) {
    P.checkBoxPk(H(c.public_key));
  },
  check_sign_pk(c) {
    P.checkSignPk(H(c.public_key));
  },
  chunk(c) {
    const plain = H(c.plaintext);
    assert.equal(P.hex(P.sha256(plain)), c.sha256);
    assert.equal(P.hex(sodium.crypto_auth_hmacsha256(H(c.sha256), H(c.chunk_id_key))), c.id);
    assert.equal(P.hex(sodium.crypto_auth_hmacsha256(H(c.sha256), H(c.chunk_key_key))), c.key);
    const ref = { id: c.id, key: H(c.key), hash: H(c.sha256), size: c.size };
    assert.deepEqual(P.openChunk(ref, H(c.blob)), plain);
    assert.equal(P.hex(P.concat(P.ascii('vault.v1/chunk\0'), H(c.id))), c.ad);
  },
  open_manifest(c) {
    const m = P.openManifest(H(c.blob), c.blob_id, H(c.file_key), H(c.file_id), c.version);
    assert.equal(m.size, c.size);
    assert.equal(P.hex(m.content), c.content_hash);
    assert.deepEqual(
      m.chunks.map((r) => [r.id, P.hex(r.key), P.hex(r.hash), r.size]),
      c.chunks.map((r) => [r.id, r.key, r.hash, r.size]),
    );
    assert.equal(P.hex(P.contentHash(c.size, c.chunks.map((r) => H(r.hash)))), c.content_hash);
  },
  open_manifest_inline(c) {
    const m = P.openManifest(H(c.blob), c.blob_id, H(c.file_key), H(c.file_id), c.version);
    assert.equal(m.size, c.size);
    assert.equal(P.hex(m.content), c.content_hash);
    assert.deepEqual(m.chunks, []);
    assert.deepEqual(m.data, H(c.data));
    assert.equal(P.hex(P.contentHash(c.size, [P.sha256(H(c.data))])), c.content_hash);
  },
  check_path(c) {
    assert.equal(P.checkPath(c.path), c.path);
  },
  seal(c) {
    assert.deepEqual(P.sealOpen(H(c.recipient_sk), H(c.sealed), H(c.ad)), H(c.message));
    assert.equal(P.hex(sodium.crypto_scalarmult_base(H(c.recipient_sk))), c.recipient_pk);
  },
  link(c) {
    const s = P.linkSecrets(H(c.secret), c.password);
    assert.equal(P.hex(s.grantKey), c.grant_key);
    assert.equal(P.hex(s.accessToken), c.access_token);
    assert.equal(P.hex(P.accessHash(s.accessToken)), c.access_hash);
    if (c.password !== null) {
      assert.equal(P.hex(P.kdf(H(c.secret), 'vault.v1/grant-pw-salt', 16)), c.pw_salt);
      assert.deepEqual(te.encode(c.password), H(c.password_utf8));
    }
    const parsed = P.parseLink(c.link);
    assert.equal(parsed.server, c.server);
    assert.equal(parsed.grantId, c.grant_id);
    assert.equal(P.hex(parsed.secret), c.secret);
    assert.equal(`${c.server}/s/${c.grant_id}#${P.b64u(H(c.secret))}`, c.link);
    // the CLI's password marker
    const hashAt = c.link.indexOf('#');
    const pw = P.parseShareLink(c.link.slice(0, hashAt + 1) + 'pw.' + c.link.slice(hashAt + 1));
    assert.equal(pw.hasPassword, true);
    assert.equal(P.hex(pw.secret), c.secret);
    assert.equal(P.parseShareLink(c.link).hasPassword, false);
  },
  open_payload(c) {
    const pinned = c.pinned_owner_sign_pk ? H(c.pinned_owner_sign_pk) : null;
    const header = te.encode(c.header_text);
    assert.equal(P.hex(P.sha256(header)), c.header_sha256);
    const { header: h, payload } = P.openPayload(header, H(c.sealed), H(c.grant_key), c.grant_id, pinned);
    assert.equal(h.grantId, c.grant_id);
    assert.equal(P.hex(h.ownerSignPk), c.owner_sign_pk);
    const plain = JSON.parse(c.payload_text);
    assert.equal(payload.rev, plain.rev);
    assert.deepEqual(payload.scope, plain.scope);
    assert.deepEqual(
      payload.items.map((i) => ({
        cert: i.cert,
        content: P.b64u(i.content),
        file: i.fileId,
        key: P.b64u(i.key),
        manifest: i.manifest,
        mtime: i.mtime,
        name: i.name,
        size: i.size,
        type: i.type,
        version: i.version,
      })),
      plain.items,
    );
    assert.deepEqual(P.unb64u(c.sealed_b64u), H(c.sealed));
    assert.equal(P.hex(P.concat(P.ascii('vault.v1/grant-payload\0'), H(c.header_sha256))), c.ad);
  },
  open_grant_key(c) {
    assert.deepEqual(P.openGrantKey(H(c.recipient_sk), H(c.sealed), c.grant_id), H(c.message));
  },
  issuer_cert(c) {
    const cert = P.issuerCertFromJson(JSON.parse(c.cert_text));
    P.verifyIssuerCert(cert, trustedOf(c.trusted), c.now, c.usage);
    assert.equal(cert.name, c.name);
    assert.equal(P.hex(cert.authorityPk), c.authority_pk);
  },
  deposit(c) {
    assert.equal(runDeposit(c), c.issuer_name);
    const { document } = P.openDeposit(c.id, H(c.recipient_box_sk), H(c.envelope));
    assert.deepEqual(document, H(c.body));
    // the grantee's view of the same proof, as it travels in a grant item's `cert`
    const v = c.verify;
    const proof = { proof: JSON.parse(c.proof_text), received: v.now };
    const cert = P.certification(proof, trustedOf(v.trusted), v.owner, H(v.owner_sign_pk), H(c.document_sha256), v.now);
    assert.deepEqual(cert, { state: 'certified', issuer: c.issuer_name, authority: 'authority' });
    assert.deepEqual(P.certification(proof, new Map(), v.owner, H(v.owner_sign_pk), null, v.now), { state: 'unverified' });
    const other = new Map([[P.b64u(new Uint8Array(32).fill(7)), 'x']]);
    assert.deepEqual(P.certification(proof, other, v.owner, H(v.owner_sign_pk), null, v.now), { state: 'invalid' });
    assert.deepEqual(P.certification(null, other, v.owner, H(v.owner_sign_pk)), { state: 'none' });
    const wrongDoc = P.certification(proof, trustedOf(v.trusted), v.owner, H(v.owner_sign_pk), new Uint8Array(32), v.now);
    assert.deepEqual(wrongDoc, { state: 'invalid' });
  },
};

function runDeposit(c) {
  const { proof, document } = P.openDeposit(c.id, H(c.recipient_box_sk), H(c.envelope));
  const v = c.verify;
  return P.verifyDepositProof(proof, {
    trusted: trustedOf(v.trusted),
    now: v.now,
    owner: v.owner,
    ownerSignPk: H(v.owner_sign_pk),
    documentSha256: P.sha256(document),
  });
}

// -- negative handlers ----------------------------------------------------------------------------

const NEGATIVE = {
  unb64u: (c) => P.unb64u(c.text, c.size ?? null),
  parse_canonical_json: (c) => P.parseCanonicalJson(c.bytes !== undefined ? H(c.bytes) : te.encode(c.text)),
  check_box_pk: (c) => P.checkBoxPk(H(c.public_key)),
  check_sign_pk: (c) => P.checkSignPk(H(c.public_key)),
  open_chunk: (c) => P.openChunk({ id: c.ref.id, key: H(c.ref.key), hash: H(c.ref.hash), size: c.ref.size }, H(c.blob)),
  open_manifest: (c) => P.openManifest(H(c.blob), c.blob_id, H(c.file_key), H(c.file_id), c.version),
  check_path: (c) => P.checkPath(c.path),
  seal_open: (c) => P.sealOpen(H(c.recipient_sk), H(c.sealed), H(c.ad)),
  open_payload: (c) =>
    P.openPayload(te.encode(c.header_text), H(c.sealed), H(c.grant_key), c.grant_id, c.pinned_owner_sign_pk ? H(c.pinned_owner_sign_pk) : null),
  open_grant_key: (c) => P.openGrantKey(H(c.recipient_sk), H(c.sealed), c.grant_id),
  parse_link: (c) => P.parseLink(c.link),
  issuer_cert: (c) => P.verifyIssuerCert(P.issuerCertFromJson(JSON.parse(c.cert_text)), trustedOf(c.trusted), c.now, c.usage),
  deposit: (c) => runDeposit(c),
};

const ERRORS = { IntegrityError: P.IntegrityError, FormatError: P.FormatError };

// -- the cases ------------------------------------------------------------------------------------

test('every vector file and op is handled or explicitly out of scope', () => {
  for (const [name, doc] of Object.entries(DOCS)) {
    for (const c of doc.positive) {
      const known = POSITIVE[c.op] || OUT_OF_SCOPE[name]?.[c.op];
      assert.ok(known, `${name}: positive op ${c.op} neither handled nor out of scope`);
    }
    for (const c of doc.negative) {
      const known = NEGATIVE[c.op] || OUT_OF_SCOPE[name]?.[c.op];
      assert.ok(known, `${name}: negative op ${c.op} neither handled nor out of scope`);
    }
  }
});

for (const [name, doc] of Object.entries(DOCS)) {
  doc.positive.forEach((c, i) => {
    const label = c.name || c.label || c.purpose || c.op;
    const fn = POSITIVE[c.op];
    const why = OUT_OF_SCOPE[name]?.[c.op];
    if (!fn) {
      test(`${name} +${i} ${label}`, { skip: why }, () => {});
      return;
    }
    test(`${name} +${i} ${label}`, (t) => {
      const skipped = fn(c, doc);
      if (typeof skipped === 'string') t.skip(skipped);
    });
  });
  doc.negative.forEach((c, i) => {
    const fn = NEGATIVE[c.op];
    const why = OUT_OF_SCOPE[name]?.[c.op];
    if (!fn) {
      test(`${name} -${i} ${c.name}`, { skip: why }, () => {});
      return;
    }
    test(`${name} -${i} ${c.name}: ${c.error}`, () => {
      const expected = ERRORS[c.error];
      assert.ok(expected, `unknown error class ${c.error}`);
      assert.throws(
        () => fn(c, doc),
        (e) => {
          assert.ok(e instanceof P.VaultError, `not a protocol error: ${e && e.stack}`);
          assert.equal(e.name, expected.name, `${e.name} instead of ${expected.name}`);
          return true;
        },
      );
    });
  });
}
