// The browser engine's crypto against public vectors (issue 24): the same files as
// tests/core/test_public_vectors.py, read from tests/core/vectors_public/ (origins and
// licences in its README), so the two languages check the same bytes.
//
// What is called: the functions of web/src/protocol.js where the engine wraps a primitive
// (aeadDecrypt, sealOpen, checkBoxPk, checkSignPk, verify), and libsodium directly only where
// protocol.js itself calls it directly (crypto_scalarmult, crypto_scalarmult_base,
// crypto_pwhash inside linkSecrets, whose costs are pinned). The engine never seals, signs nor
// uses ChaCha20-Poly1305 with a 96-bit nonce: those are checked on the bundled
// libsodium-wrappers-sumo, and say so. Plain BigInt arithmetic below (RFC 7748 §5,
// RFC 8032 §6, RFC 9106 §3) checks that each vector file says what it claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import _sodium from 'libsodium-wrappers-sumo';
import * as P from '../src/protocol.js';

await _sodium.ready;
const sodium = _sodium;
P.useSodium(sodium);

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tests/core/vectors_public');
const load = (name) => JSON.parse(readFileSync(path.join(VECTORS, name), 'utf8'));
const H = (s) => P.unhex(s);
const te = new TextEncoder();

/** Invalid tags, modified ciphertexts, truncations (as the Python test derives them). */
function tampered(sealed) {
  const out = [];
  const flip = (i, mask) => {
    const b = sealed.slice();
    b[i] ^= mask;
    return b;
  };
  for (let i = 1; i <= 16; i++) out.push([`tag byte -${i}`, flip(sealed.length - i, 1 << (i % 8))]);
  if (sealed.length > 16) {
    out.push(['first ciphertext byte', flip(0, 0x80)]);
    out.push(['last ciphertext byte', flip(sealed.length - 17, 0x80)]);
    out.push(['ciphertext dropped', sealed.slice(-16)]);
    out.push(['last ciphertext byte dropped', P.concat(sealed.slice(0, -17), sealed.slice(-16))]);
  }
  out.push(['tag zeroed', P.concat(sealed.slice(0, -16), new Uint8Array(16))]);
  out.push(['tag truncated', sealed.slice(0, -1)]);
  out.push(['byte appended', P.concat(sealed, new Uint8Array(1))]);
  return out;
}

const refused = (fn, what) => assert.throws(fn, P.IntegrityError, what);

// -- draft-irtf-cfrg-xchacha-03: XChaCha20-Poly1305, what the engine opens everything with ----

test('draft-irtf-cfrg-xchacha-03: XChaCha20-Poly1305 through P.aeadDecrypt, tampered forms refused', () => {
  const { aead } = load('xchacha20_poly1305_draft03.json');
  assert.deepEqual(aead.map((v) => v.name), ['appendix A.3.1']);
  for (const v of aead) {
    const [key, nonce, ad, pt] = [H(v.key), H(v.nonce), H(v.aad), H(v.plaintext)];
    const sealed = P.concat(H(v.ciphertext), H(v.tag));
    assert.deepEqual(P.aeadDecrypt(key, nonce, sealed, ad), pt, v.name);
    // the engine never seals; the libsodium it bundles seals the vector's bytes
    assert.deepEqual(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, ad, null, nonce, key), sealed, v.name);
    // the draft's intermediate value: the Poly1305 key is ChaCha20 block 0 under the subkey
    const subkey = sodium.crypto_core_hchacha20(nonce.slice(0, 16), key, null);
    const block0 = sodium.crypto_stream_chacha20_ietf_xor_ic(new Uint8Array(64), P.concat(new Uint8Array(4), nonce.slice(16)), 0, subkey);
    assert.deepEqual(block0.slice(0, 32), H(v.poly1305_key), `${v.name}: Poly1305 key`);

    const otherNonce = nonce.slice();
    otherNonce[23] ^= 1;
    const cases = tampered(sealed).map(([what, bad]) => [what, key, nonce, bad, ad]);
    cases.push(['other AD', key, nonce, sealed, ad.slice(0, -1)]);
    cases.push(['empty AD', key, nonce, sealed, new Uint8Array(0)]);
    cases.push(['other nonce', key, otherNonce, sealed, ad]);
    cases.push(['other key', new Uint8Array(32), nonce, sealed, ad]);
    cases.push(['short key', key.slice(0, 31), nonce, sealed, ad]);
    cases.push(['12-byte (IETF) nonce', key, nonce.slice(0, 12), sealed, ad]);
    cases.push(['shorter than a tag', key, nonce, sealed.slice(0, 15), ad]);
    for (const [what, k, n, bad, a] of cases) {
      refused(() => P.aeadDecrypt(k, n, bad, a), `${v.name}: ${what}`);
    }
  }
});

test('draft-irtf-cfrg-xchacha-03: HChaCha20, and XChaCha20 as the IETF AEAD under its subkey', () => {
  const { hchacha20 } = load('xchacha20_poly1305_draft03.json');
  assert.deepEqual(hchacha20.map((v) => v.name), ['section 2.2.1']);
  for (const v of hchacha20) {
    const [key, input, subkey] = [H(v.key), H(v.input), H(v.subkey)];
    // libsodium's HChaCha20 (the engine reaches it only inside the XChaCha20 AEAD)
    assert.deepEqual(sodium.crypto_core_hchacha20(input, key, null), subkey, v.name);
    // with the vector's input as the first 16 nonce bytes, what the IETF AEAD seals under the
    // vector's subkey (nonce 0^4 || the last 8 bytes) the engine opens with the original key
    const tail = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const msg = te.encode('any message at all');
    const ad = te.encode('ad');
    const sealed = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(msg, ad, null, P.concat(new Uint8Array(4), tail), subkey);
    assert.deepEqual(P.aeadDecrypt(key, P.concat(input, tail), sealed, ad), msg, v.name);
    const other = input.slice();
    other[0] ^= 1;
    refused(() => P.aeadDecrypt(key, P.concat(other, tail), sealed, ad), `${v.name}: other HChaCha20 input`);
  }
});

// -- RFC 8439: ChaCha20-Poly1305 (96-bit nonce): not used by the engine; the bundled libsodium -----

test('RFC 8439: ChaCha20-Poly1305 IETF in the bundled libsodium (the engine does not use it)', () => {
  const { cases } = load('rfc8439_chacha20_poly1305.json');
  assert.deepEqual(cases.map((c) => c.name), ['section 2.8.2', 'appendix A.5']);
  for (const c of cases) {
    const [key, nonce, ad, pt] = [H(c.key), H(c.nonce), H(c.aad), H(c.plaintext)];
    const sealed = P.concat(H(c.ciphertext), H(c.tag));
    assert.deepEqual(sodium.crypto_aead_chacha20poly1305_ietf_encrypt(pt, ad, null, nonce, key), sealed, c.name);
    assert.deepEqual(sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key), pt, c.name);
    const otherNonce = nonce.slice();
    otherNonce[11] ^= 1;
    const bad = tampered(sealed).map(([what, s]) => [what, s, ad, nonce]);
    bad.push(['other AD', sealed, P.concat(ad, te.encode('x')), nonce]);
    bad.push(['other nonce', sealed, ad, otherNonce]);
    for (const [what, s, a, n] of bad) {
      assert.throws(() => sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, s, a, n, key), undefined, `${c.name}: ${what}`);
    }
  }
});

// -- RFC 7748: X25519 ---------------------------------------------------------------------------

const P25519 = (1n << 255n) - 19n;
const mod = (a, m = P25519) => ((a % m) + m) % m;
const le = (b) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
const toLe = (n, size = 32) => Uint8Array.from({ length: size }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
function powmod(b, e, m = P25519) {
  let r = 1n;
  b = mod(b, m);
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

/** The RFC 7748 §5 ladder (reference arithmetic: checks the vector file, not the product). */
function refX25519(k, u) {
  const n = k.slice();
  n[0] &= 248;
  n[31] = (n[31] & 127) | 64;
  const s = le(n);
  const x1 = le(u.slice(0, 32)) & ((1n << 255n) - 1n);
  let [x2, z2, x3, z3, swap] = [1n, 0n, x1, 1n, 0n];
  for (let t = 254n; t >= 0n; t--) {
    const bit = (s >> t) & 1n;
    if (swap ^ bit) [x2, x3, z2, z3] = [x3, x2, z3, z2];
    swap = bit;
    const [a, b, c, d] = [x2 + z2, x2 - z2, x3 + z3, x3 - z3];
    const [aa, bb, da, cb] = [a * a, b * b, d * a, c * b];
    const e = aa - bb;
    [x3, z3] = [mod((da + cb) ** 2n), mod(x1 * (da - cb) ** 2n)];
    [x2, z2] = [mod(aa * bb), mod(e * (aa + 121665n * e))];
  }
  if (swap) [x2, z2] = [x3, z3];
  return toLe(mod(x2 * powmod(z2, P25519 - 2n)));
}

/** SPEC §Sealing, written out here: BLAKE2b-256(key = X25519 result, "vault.v1/seal" || epk || rpk). */
const sealKey = (shared, epk, rpk) => sodium.crypto_generichash(32, P.concat(te.encode('vault.v1/seal'), epk, rpk), shared);

/** A sealed box (SPEC §Sealing) whose X25519 result is `shared`, built without the engine. */
const sealedBox = (shared, epk, rpk, msg, ad) =>
  P.concat(epk, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad, null, new Uint8Array(24), sealKey(shared, epk, rpk)));

test('RFC 7748: X25519 through P.sealOpen and P.checkBoxPk, low-order points refused', () => {
  const v = load('rfc7748_x25519.json');
  const msg = te.encode('for bob');
  const ad = te.encode('ad');
  for (const c of v.scalarmult) {
    const [k, u, out] = [H(c.scalar), H(c.u), H(c.output)];
    assert.deepEqual(refX25519(k, u), out, `${c.name}: the file`);
    assert.deepEqual(sodium.crypto_scalarmult(k, u), out, c.name); // as protocol.js calls it
    // the engine's X25519 on an arbitrary point: it opens a box whose key comes from `out`
    P.checkBoxPk(u);
    const box = sealedBox(out, u, sodium.crypto_scalarmult_base(k), msg, ad);
    assert.deepEqual(P.sealOpen(k, box, ad), msg, c.name);
  }
  const it = v.iterated;
  let [k, u] = [H(it.start), H(it.start)];
  for (let i = 1; i <= 1000; i++) {
    [k, u] = [sodium.crypto_scalarmult(k, u), k];
    if (it.after[String(i)]) assert.deepEqual(k, H(it.after[String(i)]), `${it.name}: ${i}`);
  }
  const dh = v.diffie_hellman;
  const [aSk, bSk, aPk, bPk] = [H(dh.alice_private), H(dh.bob_private), H(dh.alice_public), H(dh.bob_public)];
  assert.deepEqual(sodium.crypto_scalarmult_base(aSk), aPk, dh.name); // as sealOpen derives rpk
  assert.deepEqual(sodium.crypto_scalarmult_base(bSk), bPk, dh.name);
  assert.deepEqual(sodium.crypto_scalarmult(aSk, bPk), H(dh.shared), dh.name);
  assert.deepEqual(sodium.crypto_scalarmult(bSk, aPk), H(dh.shared), dh.name);
  P.checkBoxPk(aPk);
  P.checkBoxPk(bPk);
  // Alice seals to Bob with her key as the ephemeral one: the key is the RFC's shared secret
  const box = sealedBox(H(dh.shared), aPk, bPk, msg, ad);
  assert.deepEqual(P.sealOpen(bSk, box, ad), msg, dh.name);
  refused(() => P.sealOpen(aSk, box, ad), `${dh.name}: opened by the wrong key`);

  // The low-order points. Six entries of the file (p - 1, p, p + 1, and their "bit 255 set"
  // twins) are 33 bytes long, the twins equal to the originals: refused for their length, they
  // do not test what they say. The 32-byte encodings they stand for are derived here.
  const points = v.low_order.points.map((p) => [H(p.u), `low order ${p.u} (${p.note ?? `order ${p.order}`})`]);
  assert.equal(points.length, 14);
  for (const [delta, name] of [[-1n, 'p - 1'], [0n, 'p'], [1n, 'p + 1']]) {
    const enc = toLe(P25519 + delta);
    points.push([enc, `${name} (derived)`]);
    const high = enc.slice();
    high[31] |= 0x80;
    points.push([high, `${name} with bit 255 set (derived)`]);
  }
  const k1 = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
  for (const [u, name] of points) {
    if (u.length === 32) {
      for (const k of [sodium.randombytes_buf(32), k1, aSk]) {
        assert.deepEqual(refX25519(k, u), new Uint8Array(32), `${name}: truly of low order`);
      }
    }
    refused(() => P.checkBoxPk(u), `${name}: P.checkBoxPk`);
    // a sealed box whose ephemeral key is that point: its "shared secret" is all zero
    refused(() => P.sealOpen(bSk, sealedBox(new Uint8Array(32), u, bPk, msg, ad), ad), `${name}: P.sealOpen`);
  }
});

// -- RFC 8032: Ed25519 --------------------------------------------------------------------------

const L25519 = (1n << 252n) + 27742317777372353535851937790883648493n;
const D = mod(-121665n * powmod(121666n, P25519 - 2n));
const SQRT_M1 = powmod(2n, (P25519 - 1n) / 4n);
const IDENTITY = [0n, 1n, 1n, 0n];

function add(a, b) {
  // RFC 8032 §6, extended coordinates (X, Y, Z, T)
  const aa = mod((a[1] - a[0]) * (b[1] - b[0]));
  const bb = mod((a[1] + a[0]) * (b[1] + b[0]));
  const cc = mod(2n * a[3] * b[3] * D);
  const dd = mod(2n * a[2] * b[2]);
  const [e, f, g, h] = [bb - aa, dd - cc, dd + cc, bb + aa];
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}
function mul(s, pt) {
  let q = IDENTITY;
  for (; s > 0n; s >>= 1n, pt = add(pt, pt)) if (s & 1n) q = add(q, pt);
  return q;
}
const same = (a, b) => mod(a[0] * b[2] - b[0] * a[2]) === 0n && mod(a[1] * b[2] - b[1] * a[2]) === 0n;

/** RFC 8032 §5.1.3 decoding, except that y is taken mod p (non-canonical accepted). */
function decodeLenient(bytes) {
  const n = le(bytes);
  const sign = n >> 255n;
  const y = mod(n & ((1n << 255n) - 1n));
  const x2 = mod((y * y - 1n) * powmod(D * y * y + 1n, P25519 - 2n));
  if (x2 === 0n) return sign ? null : [0n, y, 1n, 0n];
  let x = powmod(x2, (P25519 + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return null;
  if ((x & 1n) !== sign) x = P25519 - x;
  return [x, y, 1n, mod(x * y)];
}
const BASE = decodeLenient(toLe(mod(4n * powmod(5n, P25519 - 2n))));
const IDENTITY_ENCODING = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));

test('RFC 8032: Ed25519 through P.verify and P.checkSignPk, malleable signatures and small-order keys refused', () => {
  const v = load('rfc8032_ed25519.json');
  assert.deepEqual(v.valid.map((c) => c.name), [1, 2, 3].map((i) => `section 7.1, TEST ${i}`));
  for (const [i, c] of v.valid.entries()) {
    const [pk, msg, sig] = [H(c.public_key), H(c.message), H(c.signature)];
    // the file: the public key is the secret key's (the engine never signs)
    assert.deepEqual(sodium.crypto_sign_seed_keypair(H(c.secret_key)).publicKey, pk, `${c.name}: the file`);
    P.checkSignPk(pk);
    P.verify(pk, msg, sig);
    for (const at of [0, 31, 32, 63]) {
      const bad = sig.slice();
      bad[at] ^= 0x04;
      refused(() => P.verify(pk, msg, bad), `${c.name}: signature byte ${at} flipped`);
    }
    refused(() => P.verify(pk, P.concat(msg, te.encode('x')), sig), `${c.name}: other message`);
    refused(() => P.verify(H(v.valid[(i + 1) % 3].public_key), msg, sig), `${c.name}: other key`);
    refused(() => P.verify(pk, msg, sig.slice(0, 63)), `${c.name}: short signature`);
  }

  const t1 = v.valid[0];
  const [pk1, sig1] = [H(t1.public_key), H(t1.signature)];
  const A = decodeLenient(pk1);
  assert.ok(A && BASE);
  assert.equal(v.malleable.length, 3);
  for (const c of v.malleable) {
    const [pk, msg, bad] = [H(c.public_key), H(c.message), H(c.signature)];
    const r = bad.slice(0, 32);
    const s = le(bad.slice(32));
    const hram = mod(le(sodium.crypto_hash_sha512(P.concat(r, pk, msg))), L25519);
    if (c.name.startsWith('S + L')) {
      // TEST 1's signature once S is reduced: a verifier that reduces S would take it
      assert.deepEqual(r, sig1.slice(0, 32), `${c.name}: the file`);
      assert.ok(s >= L25519 && s % L25519 === le(sig1.slice(32)), `${c.name}: the file`);
    } else {
      // R is the identity under a lax decoding, and S.B = R + h.A holds
      assert.notDeepEqual(r, IDENTITY_ENCODING, `${c.name}: the file`);
      assert.ok(s < L25519, `${c.name}: the file`);
      const laxR = decodeLenient(r);
      assert.ok(laxR === null || same(laxR, IDENTITY), `${c.name}: the file`);
      assert.ok(same(mul(s, BASE), add(IDENTITY, mul(hram, A))), `${c.name}: the file`);
    }
    refused(() => P.verify(pk, msg, bad), `${c.name}: P.verify`);
    assert.equal(sodium.crypto_sign_verify_detached(bad, msg, pk), false, `${c.name}: libsodium`);
  }

  const points = v.small_order_public_keys.points;
  assert.ok(points.length >= 8);
  for (const p of points) {
    const enc = H(p.public_key);
    const name = `small-order key ${p.public_key} (${p.note})`;
    const q = decodeLenient(enc);
    assert.ok(q !== null && same(mul(8n, q), IDENTITY), `${name}: truly of small order`);
    refused(() => P.checkSignPk(enc), `${name}: P.checkSignPk`);
    refused(() => P.verify(enc, new Uint8Array(0), P.concat(IDENTITY_ENCODING, new Uint8Array(32))), `${name}: P.verify`);
  }
});

// -- RFC 9106: Argon2id -------------------------------------------------------------------------

/**
 * Argon2id of RFC 9106 §3, written from the RFC (BLAKE2b from libsodium): any lanes, secret and
 * associated data, which libsodium's crypto_pwhash cannot take. Checked below against the
 * file, then compared with crypto_pwhash where both can compute (one lane, no secret, no AD).
 */
function refArgon2id({ password, salt, secret = new Uint8Array(0), ad = new Uint8Array(0), passes, memoryKib, lanes, tagLength }) {
  const M64 = (1n << 64n) - 1n;
  const M32 = 0xffffffffn;
  const le32 = (n) => toLe(BigInt(n), 4);
  const b2b = (n, data) => sodium.crypto_generichash(n, data, null);
  function hPrime(t, x) {
    const input = P.concat(le32(t), x);
    if (t <= 64) return b2b(t, input);
    const out = [];
    let v = b2b(64, input);
    const r = Math.ceil(t / 32) - 2;
    for (let i = 1; i < r; i++) {
      out.push(v.slice(0, 32));
      v = b2b(64, v);
    }
    out.push(v.slice(0, 32));
    out.push(b2b(t - 32 * r, v));
    return P.concat(...out);
  }
  const rotr = (x, n) => ((x >> n) | (x << (64n - n))) & M64;
  const fBlaMka = (a, b) => (a + b + 2n * (a & M32) * (b & M32)) & M64;
  function gb(v, a, b, c, d) {
    v[a] = fBlaMka(v[a], v[b]);
    v[d] = rotr(v[d] ^ v[a], 32n);
    v[c] = fBlaMka(v[c], v[d]);
    v[b] = rotr(v[b] ^ v[c], 24n);
    v[a] = fBlaMka(v[a], v[b]);
    v[d] = rotr(v[d] ^ v[a], 16n);
    v[c] = fBlaMka(v[c], v[d]);
    v[b] = rotr(v[b] ^ v[c], 63n);
  }
  function permute(v, idx) {
    const [i0, i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14, i15] = idx;
    gb(v, i0, i4, i8, i12);
    gb(v, i1, i5, i9, i13);
    gb(v, i2, i6, i10, i14);
    gb(v, i3, i7, i11, i15);
    gb(v, i0, i5, i10, i15);
    gb(v, i1, i6, i11, i12);
    gb(v, i2, i7, i8, i13);
    gb(v, i3, i4, i9, i14);
  }
  function compress(x, y) {
    const r = new BigUint64Array(128);
    for (let i = 0; i < 128; i++) r[i] = x[i] ^ y[i];
    const z = r.slice();
    for (let i = 0; i < 8; i++) permute(z, Array.from({ length: 16 }, (_, j) => 16 * i + j));
    for (let i = 0; i < 8; i++) permute(z, Array.from({ length: 16 }, (_, j) => 2 * i + (j & 1) + 16 * (j >> 1)));
    for (let i = 0; i < 128; i++) z[i] ^= r[i];
    return z;
  }
  const words = (bytes) => new BigUint64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 1024));
  const bytesOf = (block) => new Uint8Array(block.buffer.slice(0));

  const h0 = b2b(
    64,
    P.concat(le32(lanes), le32(tagLength), le32(memoryKib), le32(passes), le32(0x13), le32(2),
      le32(password.length), password, le32(salt.length), salt, le32(secret.length), secret, le32(ad.length), ad),
  );
  const q = 4 * Math.floor(memoryKib / (4 * lanes));
  const seg = q / 4;
  const B = Array.from({ length: lanes }, () => new Array(q));
  for (let l = 0; l < lanes; l++) {
    B[l][0] = words(hPrime(1024, P.concat(h0, le32(0), le32(l))));
    B[l][1] = words(hPrime(1024, P.concat(h0, le32(1), le32(l))));
  }
  const zero = new BigUint64Array(128);
  for (let pass = 0; pass < passes; pass++) {
    for (let slice = 0; slice < 4; slice++) {
      for (let l = 0; l < lanes; l++) {
        const independent = pass === 0 && slice < 2; // Argon2id: Argon2i addressing first
        const input = new BigUint64Array(128);
        let addresses = null;
        if (independent) input.set([BigInt(pass), BigInt(l), BigInt(slice), BigInt(4 * seg * lanes), BigInt(passes), 2n]);
        const start = pass === 0 && slice === 0 ? 2 : 0;
        for (let index = start; index < seg; index++) {
          const col = slice * seg + index;
          const prev = B[l][col === 0 ? q - 1 : col - 1];
          let rand;
          if (independent) {
            if (addresses === null || index % 128 === 0) {
              input[6] += 1n;
              addresses = compress(zero, compress(zero, input));
            }
            rand = addresses[index % 128];
          } else {
            rand = prev[0];
          }
          const j1 = rand & M32;
          const j2 = rand >> 32n;
          const refLane = pass === 0 && slice === 0 ? l : Number(j2 % BigInt(lanes));
          const sameLane = refLane === l;
          let area;
          if (pass === 0) area = slice * seg + (sameLane ? index - 1 : index === 0 ? -1 : 0);
          else area = q - seg + (sameLane ? index - 1 : index === 0 ? -1 : 0);
          const x = (j1 * j1) >> 32n;
          const rel = BigInt(area) - 1n - ((BigInt(area) * x) >> 32n);
          const startPos = pass === 0 || slice === 3 ? 0 : (slice + 1) * seg;
          const refCol = Number((BigInt(startPos) + rel) % BigInt(q));
          const next = compress(prev, B[refLane][refCol]);
          if (pass > 0) for (let w = 0; w < 128; w++) next[w] ^= B[l][col][w];
          B[l][col] = next;
        }
      }
    }
  }
  const c = B[0][q - 1].slice();
  for (let l = 1; l < lanes; l++) for (let w = 0; w < 128; w++) c[w] ^= B[l][q - 1][w];
  return hPrime(tagLength, bytesOf(c));
}

/** What the engine's crypto_pwhash (in P.linkSecrets) can compute: one lane, no secret, no AD. */
function pwhashCannot(c) {
  const why = [];
  if (c.lanes !== 1) why.push(`${c.lanes} lanes (crypto_pwhash has exactly 1)`);
  if (c.secret) why.push('a secret (crypto_pwhash takes none)');
  if (c.associated_data) why.push('associated data (crypto_pwhash takes none)');
  if (c.salt.length !== 2 * sodium.crypto_pwhash_SALTBYTES) why.push('a salt not of 16 bytes');
  if (c.tag_length < 16) why.push('a tag under 16 bytes');
  if (c.memory_kib * 1024 < sodium.crypto_pwhash_MEMLIMIT_MIN) why.push('under 8 KiB of memory');
  return why;
}

const pwhash = (c) =>
  sodium.crypto_pwhash(c.tag_length, H(c.password), H(c.salt), c.passes, c.memory_kib * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13);

test('RFC 9106: Argon2id, the vectors by a reference written from the RFC, crypto_pwhash against it', (t) => {
  const v = load('rfc9106_argon2id.json');
  const cases = [...v.rfc9106, ...v.without_secret.cases];
  assert.equal(cases.length, 3);
  for (const c of cases) {
    assert.equal(c.version ?? 19, 19, c.name);
    const got = refArgon2id({
      password: H(c.password),
      salt: H(c.salt),
      secret: H(c.secret ?? ''),
      ad: H(c.associated_data ?? ''),
      passes: c.passes,
      memoryKib: c.memory_kib,
      lanes: c.lanes,
      tagLength: c.tag_length,
    });
    assert.deepEqual(P.hex(got), c.tag, `${c.name}: reference Argon2id`);
    const cannot = pwhashCannot(c);
    if (cannot.length === 0) assert.deepEqual(P.hex(pwhash(c)), c.tag, `${c.name}: crypto_pwhash`);
    else t.diagnostic(`${c.name}: not computable by crypto_pwhash: ${cannot.join(', ')}`);
  }
  // the engine's primitive (crypto_pwhash, one lane) agrees with the reference just checked
  // against the RFC, on the file's password and salt with one lane, and with other costs
  const base = v.without_secret.cases[0];
  for (const [passes, memoryKib, password] of [[3, 32, base.password], [1, 8, base.password], [2, 64, ''], [4, 16, '70617373776f7264']]) {
    const c = { ...base, passes, memory_kib: memoryKib, lanes: 1, password };
    const ref = refArgon2id({ password: H(password), salt: H(c.salt), passes, memoryKib, lanes: 1, tagLength: c.tag_length });
    assert.deepEqual(pwhash(c), ref, `one lane, t=${passes}, m=${memoryKib} KiB, password ${password || '(empty)'}`);
  }
  // and a one-byte change of the password, the salt or a cost changes the engine's tag
  const tags = new Set(
    [
      { ...base, lanes: 1 },
      { ...base, lanes: 1, password: base.password.slice(0, -2) + '00' },
      { ...base, lanes: 1, salt: base.salt.slice(0, -2) + '00' },
      { ...base, lanes: 1, memory_kib: 40 },
      { ...base, lanes: 1, passes: 4 },
    ].map((c) => P.hex(pwhash(c))),
  );
  assert.equal(tags.size, 5);
  assert.ok(!tags.has(base.tag));
});
