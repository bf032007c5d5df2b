// Sealing and signed envelopes, the sender's side (protocol/SPEC.md §Primitives "Sealing",
// §Deposits "Envelope"): the counterpart of protocol.js sealOpen / openEnvelope, checked
// against protocol/vectors/seal.json, request.json and request_answer.json
// (web/test/engine_grants.test.mjs).
//
// Theory of operation. seal() encrypts to an X25519 key anonymously: a fresh ephemeral key,
// the shared secret with the recipient's key, a BLAKE2b key bound to both public keys, and
// the AEAD under the zero nonce (safe because the key is new for every ephemeral secret: a
// caller MUST draw a fresh one each time). An envelope seals a fresh 32-byte key K that way
// and encrypts `u32 len(meta) || meta || body` under K, both bound to the kind and the id.
// sealSigned() is the common envelope of requests, appointments, asks and answers: a
// statement signed under the label of its kind, with an empty body (vault_core.deposits
// seal_signed / open_signed).
//
// Pure: ephemeral secrets, keys and nonces are parameters; no clock, no I/O.
import * as P from '../src/protocol.js';
import { aeadEncrypt, sign } from './account.js';

const { FormatError, IntegrityError, ascii, concat, canonicalJson, b64u, unb64u } = P;

let S = null;
/** Give the module its libsodium instance (the same one protocol.js and account.js use). */
export function useSodium(sodium) {
  S = sodium;
}
function sodium() {
  if (S === null) throw new Error('libsodium not initialised: call useSodium() first');
  return S;
}

function bytes(v, n, what) {
  if (!(v instanceof Uint8Array) || (n !== null && v.length !== n)) throw new FormatError(`${what} must be ${n} bytes`);
  return v;
}

/**
 * seal(rpk, m, ad) of SPEC §Sealing with the ephemeral secret given: epk || AEAD(k, 0^24, m, ad).
 * IntegrityError for a malformed or low-order recipient key (refused before any work).
 */
export function seal(recipientPk, ephemeralSk, message, ad) {
  P.checkBoxPk(recipientPk);
  bytes(ephemeralSk, 32, 'ephemeral secret');
  bytes(message, null, 'message');
  bytes(ad, null, 'associated data');
  const s = sodium();
  const epk = s.crypto_scalarmult_base(ephemeralSk);
  let z;
  try {
    z = s.crypto_scalarmult(ephemeralSk, recipientPk);
  } catch {
    throw new IntegrityError();
  }
  if (z.every((b) => b === 0)) throw new IntegrityError();
  const key = s.crypto_generichash(32, concat(ascii('vault.v1/seal'), epk, recipientPk), z);
  s.memzero(z);
  const out = concat(epk, aeadEncrypt(key, new Uint8Array(24), message, ad));
  s.memzero(key);
  return out;
}

// -- envelopes (SPEC §Deposits) ---------------------------------------------------------------

/** The kinds of envelope the protocol names (vault_core.deposits.seal_envelope). */
export const ENVELOPE_KINDS = Object.freeze(['deposit', 'request', 'appointment', 'ask', 'ask-reply', 'request-answer']);

function asciiId(id) {
  if (typeof id !== 'string' || id === '' || !/^[\x20-\x7e]+$/.test(id)) throw new FormatError('an envelope id is ASCII');
  return ascii(id);
}

/** "vault.v1/<kind>-key" || 0x00 || ASCII(id): the AD of the sealed envelope key. */
export function envelopeKeyAd(kind, id) {
  return concat(ascii(`vault.v1/${kind}-key\0`), asciiId(id));
}

/** "vault.v1/<kind>" || 0x00 || ASCII(id): the AD of the envelope body. */
export function envelopeAd(kind, id) {
  return concat(ascii(`vault.v1/${kind}\0`), asciiId(id));
}

/**
 * "VD1" || u16 len(sealed K) || sealed K || nonce || AEAD(K, nonce, u32 len(meta) || meta || body, AD).
 * meta: a JSON object (written canonical); key: 32 fresh bytes; ephemeralSk: 32 fresh bytes;
 * nonce: 24 fresh bytes.
 */
export function sealEnvelope(kind, id, recipientBoxPk, meta, body, key, ephemeralSk, nonce) {
  if (!ENVELOPE_KINDS.includes(kind)) throw new FormatError('unknown envelope kind');
  bytes(key, 32, 'envelope key');
  bytes(nonce, 24, 'nonce');
  bytes(body, null, 'body');
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new FormatError('envelope meta is an object');
  const sealedKey = seal(recipientBoxPk, ephemeralSk, key, envelopeKeyAd(kind, id));
  const mj = canonicalJson(meta);
  const ct = aeadEncrypt(key, nonce, concat(P.u32(mj.length), mj, body), envelopeAd(kind, id));
  const len = new Uint8Array([sealedKey.length >> 8, sealedKey.length & 0xff]);
  return concat(ascii('VD1'), len, sealedKey, nonce, ct);
}

/** What a statement's signature covers: "vault.v1/" label 0x00 canonical(obj). */
export function signedMessage(label, obj) {
  return concat(ascii(`vault.v1/${label}\0`), canonicalJson(obj));
}

/**
 * A statement signed under the label `kind` (with the issuer's certificate JSON when given),
 * sealed to the recipient as an envelope of `kind` with an empty body.
 */
export function sealSigned(kind, id, statement, signerSk, recipientBoxPk, key, ephemeralSk, nonce, cert = null) {
  const meta = { sig: b64u(sign(signerSk, signedMessage(kind, statement))), statement };
  if (cert !== null) meta.cert = cert;
  return sealEnvelope(kind, id, recipientBoxPk, meta, new Uint8Array(0), key, ephemeralSk, nonce);
}

/**
 * An envelope of sealSigned opened: {meta, body, sig}, the signature decoded but not verified
 * (the caller knows whose key it must be). IntegrityError.
 */
export function openSigned(kind, id, recipientBoxSk, envelope) {
  const { meta, body } = P.openEnvelope(kind, id, recipientBoxSk, envelope);
  let sig;
  try {
    sig = unb64u(meta.sig, 64);
  } catch {
    throw new IntegrityError();
  }
  return { meta, body, sig };
}
