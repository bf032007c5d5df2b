// The owner's account in the browser (protocol/SPEC.md §Key hierarchy, §Passphrases and the
// Argon2id floor, §Login proof, §Bundle, §Public identity, §Device certificates), written from
// the spec and checked against protocol/vectors (web/test/engine_vectors.test.mjs).
//
// Pure like vault_core: no I/O, no clock, no randomness of its own (nonces, seeds and times are
// parameters). Failures are FormatError, WeakParameters or the opaque IntegrityError.
import * as P from '../src/protocol.js';

const { FormatError, IntegrityError, VaultError, ascii, concat, canonicalJson, parseCanonicalJson, b64u, unb64u } = P;

export class WeakParameters extends VaultError {
  constructor(message = 'key-derivation parameters below the floor') {
    super(message);
    this.name = 'WeakParameters';
  }
}

let S = null;
/** Give the module its libsodium instance (the same one protocol.js uses). */
export function useSodium(sodium) {
  S = sodium;
  P.useSodium(sodium);
}
function sodium() {
  if (S === null) throw new Error('libsodium not initialised: call useSodium() first');
  return S;
}

// -- Argon2id floor and passphrase keys -------------------------------------------------------

export const FLOOR = Object.freeze({ mKib: 65536, t: 3, maxMKib: 4194304, maxT: 64 });

function intField(o, k) {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FormatError(`kdf: ${k} must be an integer`);
  return v;
}

/** Parse and check account KDF parameters: {salt, mKib, t, p}. Refuses weak ones before any work. */
export function kdfParams(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || obj.alg !== 'argon2id') {
    throw new FormatError('kdf: unsupported algorithm');
  }
  for (const k of ['m_kib', 't', 'p', 'salt']) if (!Object.hasOwn(obj, k)) throw new FormatError(`kdf: missing ${k}`);
  const mKib = intField(obj, 'm_kib');
  const t = intField(obj, 't');
  const p = intField(obj, 'p');
  if (typeof obj.salt !== 'string') throw new FormatError('kdf: salt');
  const salt = unb64u(obj.salt, 16);
  if (salt.every((b) => b === 0)) throw new WeakParameters('key-derivation salt is all zero');
  if (mKib < FLOOR.mKib || t < FLOOR.t) throw new WeakParameters();
  if (mKib > FLOOR.maxMKib || t > FLOOR.maxT || p !== 1) throw new WeakParameters('key-derivation parameters out of range');
  return { salt, mKib, t, p };
}

/** Argon2id (one lane, as libsodium computes it). */
export function argon2id(password, salt, mKib, t, size = 32) {
  const s = sodium();
  return s.crypto_pwhash(size, password, salt, t, mKib * 1024, s.crypto_pwhash_ALG_ARGON2ID13);
}

/** NFC-normalised UTF-8 of a passphrase (the same text typed anywhere gives the same key). */
export function normalizeSecret(text) {
  return P.utf8(String(text).normalize('NFC'));
}

/** The passphrase's login seed and KEK; checks the floor first. */
export function passphraseKeys(passphrase, kdfJson) {
  const params = kdfParams(kdfJson);
  const root = argon2id(normalizeSecret(passphrase), params.salt, params.mKib, params.t);
  const keys = { loginSeed: P.kdf(root, 'vault.v1/login'), kek: P.kdf(root, 'vault.v1/kek') };
  sodium().memzero(root);
  return keys;
}

export function signKeypair(seed) {
  const kp = sodium().crypto_sign_seed_keypair(seed);
  return { pk: kp.publicKey, sk: kp.privateKey };
}

export function aeadEncrypt(key, nonce, plaintext, ad) {
  if (key.length !== 32 || nonce.length !== 24) throw new Error('aead: bad key or nonce size');
  return sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
}

export function sign(sk, message) {
  return sodium().crypto_sign_detached(message, sk);
}

// -- login proof ------------------------------------------------------------------------------

export function loginMessage(challenge, handle, host, purpose) {
  return concat(
    ascii('vault.v1/login-proof\0'),
    canonicalJson({ challenge: b64u(challenge), handle, host, purpose }),
  );
}

export function loginProof(sk, challenge, handle, host, purpose) {
  return sign(sk, loginMessage(challenge, handle, host, purpose));
}

// -- bundle -----------------------------------------------------------------------------------

function bundleAd(handle, slot) {
  return concat(ascii('vault.v1/bundle\0'), canonicalJson({ handle, slot, v: 1 }));
}

function key32(text) {
  const k = unb64u(text, 32);
  if (k.every((b) => b === 0)) throw new IntegrityError();
  return k;
}

/** The vault's subkeys (SPEC §Key hierarchy). */
export function vaultKeys(vaultKey) {
  const seed = P.kdf(vaultKey, 'vault.v1/cdc-seed', 16);
  let s = new DataView(seed.buffer, seed.byteOffset, 8).getBigUint64(0, false) | 1n;
  s &= (1n << 63n) - 1n;
  return {
    recordKey: P.kdf(vaultKey, 'vault.v1/record-key'),
    chunkIdKey: P.kdf(vaultKey, 'vault.v1/chunk-id-key'),
    chunkKeyKey: P.kdf(vaultKey, 'vault.v1/chunk-key-key'),
    cdcSeed: s,
    localKey: P.kdf(vaultKey, 'vault.v1/local-key'),
  };
}

/** Open a wrapped bundle: {handle, created, signSeed, boxSk, vaultKey, keys}; IntegrityError. */
export function unwrapBundle(wrapped, kek, handle, slot) {
  if (!(wrapped instanceof Uint8Array) || wrapped.length < 43) throw new IntegrityError();
  if (wrapped[0] !== 0x56 || wrapped[1] !== 0x42 || wrapped[2] !== 0x31) throw new IntegrityError(); // VB1
  const plain = P.aeadDecrypt(kek, wrapped.subarray(3, 27), wrapped.subarray(27), bundleAd(handle, slot));
  let o;
  try {
    o = parseCanonicalJson(plain);
  } catch {
    throw new IntegrityError();
  }
  try {
    if (o === null || typeof o !== 'object' || Array.isArray(o) || o.v !== 1 || typeof o.handle !== 'string') throw new IntegrityError();
    if (typeof o.created !== 'number' || !Number.isSafeInteger(o.created)) throw new IntegrityError();
    if (o.handle !== handle) throw new IntegrityError();
    const b = { handle: o.handle, created: o.created, signSeed: key32(o.sign_seed), boxSk: key32(o.box_sk), vaultKey: key32(o.vault_key) };
    b.keys = vaultKeys(b.vaultKey);
    b.identity = signKeypair(b.signSeed);
    b.boxPk = sodium().crypto_scalarmult_base(b.boxSk);
    return b;
  } catch {
    throw new IntegrityError();
  }
}

// -- public identity and fingerprint ----------------------------------------------------------

function identityMessage(handle, signPk, boxPk) {
  return concat(ascii('vault.v1/identity\0'), canonicalJson({ box_pk: b64u(boxPk), handle, sign_pk: b64u(signPk) }));
}

/** Verify a public identity {box_pk, handle, sig, sign_pk}: {handle, signPk, boxPk}. */
export function verifyIdentity(obj) {
  try {
    const signPk = unb64u(obj.sign_pk, 32);
    const boxPk = unb64u(obj.box_pk, 32);
    const sig = unb64u(obj.sig, 64);
    if (typeof obj.handle !== 'string') throw new IntegrityError();
    P.checkBoxPk(boxPk);
    P.verify(signPk, identityMessage(obj.handle, signPk, boxPk), sig);
    return { handle: obj.handle, signPk, boxPk };
  } catch {
    throw new IntegrityError();
  }
}

export function identityOf(bundle) {
  const msg = identityMessage(bundle.handle, bundle.identity.pk, bundle.boxPk);
  return {
    box_pk: b64u(bundle.boxPk),
    handle: bundle.handle,
    sig: b64u(sign(bundle.identity.sk, msg)),
    sign_pk: b64u(bundle.identity.pk),
  };
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The 40-character fingerprint in 8 groups of 5. */
export function fingerprint(handle, signPk, boxPk) {
  const d = P.sha256(concat(ascii('vault.v1/fingerprint\0'), P.utf8(handle), signPk, boxPk)).slice(0, 25);
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const byte of d) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out.match(/.{5}/g).join(' ');
}

// -- device certificates ----------------------------------------------------------------------

function certBody(handle, deviceId, name, signPk, created) {
  return { created, device: deviceId, handle, name, sign_pk: b64u(signPk) };
}

/** The identity key certifies a device key: the certificate's canonical bytes. */
export function issueDeviceCert(bundle, deviceId, name, signPk, created) {
  P.checkSignPk(signPk);
  const body = certBody(bundle.handle, deviceId, name, signPk, created);
  const sig = sign(bundle.identity.sk, concat(ascii('vault.v1/device-cert\0'), canonicalJson(body)));
  return canonicalJson({ ...body, sig: b64u(sig) });
}

/** Decode and verify a device certificate: {handle, deviceId, name, signPk, created}. */
export function verifyDeviceCert(certBytes, identitySignPk) {
  try {
    const o = parseCanonicalJson(certBytes);
    for (const k of ['created', 'device', 'handle', 'name', 'sig', 'sign_pk']) if (!Object.hasOwn(o, k)) throw new IntegrityError();
    if (typeof o.handle !== 'string' || typeof o.device !== 'string' || typeof o.name !== 'string') throw new IntegrityError();
    if (typeof o.created !== 'number' || !Number.isSafeInteger(o.created)) throw new IntegrityError();
    const signPk = unb64u(o.sign_pk, 32);
    const sig = unb64u(o.sig, 64);
    P.checkSignPk(signPk);
    const msg = concat(ascii('vault.v1/device-cert\0'), canonicalJson(certBody(o.handle, o.device, o.name, signPk, o.created)));
    P.verify(identitySignPk, msg, sig);
    return { handle: o.handle, deviceId: o.device, name: o.name, signPk, created: o.created };
  } catch {
    throw new IntegrityError();
  }
}
