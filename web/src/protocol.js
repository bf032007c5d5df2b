// The vault protocol, version 1, for the browser (protocol/SPEC.md): exactly what a share link
// needs, and the checks around it. Written from the spec and checked against
// protocol/vectors/*.json (web/test/vectors.test.mjs), positive and negative.
//
// Every function that fails throws FormatError (malformed input) or the single opaque
// IntegrityError (any failed cryptographic or consistency check); callers never branch on which
// check failed. Nothing here does I/O: the worker (worker.js) fetches, this module verifies.
//
// libsodium (libsodium-wrappers-sumo) is handed in once with useSodium().

export class VaultError extends Error {}
export class FormatError extends VaultError {
  constructor(message = 'malformed input') {
    super(message);
    this.name = 'FormatError';
  }
}
export class IntegrityError extends VaultError {
  constructor(message = 'integrity check failed') {
    super(message);
    this.name = 'IntegrityError';
  }
}

let S = null;

/** Give the module its libsodium instance (after `await sodium.ready`). */
export function useSodium(sodium) {
  S = sodium;
}

function sodium() {
  if (S === null) throw new Error('libsodium not initialised: call useSodium() first');
  return S;
}

// -- bytes ------------------------------------------------------------------------------------

const ENC = new TextEncoder();
const DEC = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text) {
  if (typeof text !== 'string' || !isWellFormed(text)) throw new FormatError('not valid Unicode');
  return ENC.encode(text);
}

export function ascii(text) {
  return ENC.encode(text);
}

export function isWellFormed(s) {
  // String.prototype.isWellFormed is recent; this regex finds lone surrogates everywhere.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time comparison of two byte strings (false when the lengths differ). */
export function equal(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) {
    return false;
  }
  if (a.length === 0) return true;
  return sodium().memcmp(a, b);
}

export function hex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function unhex(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new FormatError('not hex');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

export function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

export function u64(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
}

// -- base64url without padding (SPEC §Conventions) ---------------------------------------------

const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64U_INDEX = new Map([...B64U].map((c, i) => [c, i]));

export function b64u(bytes) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64U[n >> 18] + B64U[(n >> 12) & 63] + B64U[(n >> 6) & 63] + B64U[n & 63];
  }
  if (bytes.length - i === 1) {
    const n = bytes[i] << 16;
    out += B64U[n >> 18] + B64U[(n >> 12) & 63];
  } else if (bytes.length - i === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64U[n >> 18] + B64U[(n >> 12) & 63] + B64U[(n >> 6) & 63];
  }
  return out;
}

/** Strict decoder: no padding, no foreign character, canonical trailing bits, exact size. */
export function unb64u(text, size = null) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new FormatError('not base64url');
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    acc = (acc << 6) | B64U_INDEX.get(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (acc !== 0) throw new FormatError('non-canonical base64url');
  if (size !== null && out.length !== size) throw new FormatError(`must be ${size} bytes`);
  return out;
}

// -- canonical JSON (SPEC §Conventions) -------------------------------------------------------

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const MAX_JSON = 16 * 1024 * 1024;

function compareCodePoints(a, b) {
  // Object member names sort by Unicode code points, not UTF-16 code units.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0);
    const cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function encodeValue(value, depth) {
  if (depth > 16) throw new FormatError('JSON nested too deeply');
  if (value === null || value === true || value === false) return JSON.stringify(value);
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw new FormatError('lone surrogate');
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || Math.abs(value) > MAX_SAFE) {
      throw new FormatError('only integers in [-(2^53-1), 2^53-1]');
    }
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (Array.isArray(value)) {
    return '[' + value.map((v) => encodeValue(v, depth + 1)).join(',') + ']';
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).sort(compareCodePoints);
    const parts = keys.map((k) => {
      if (!isWellFormed(k)) throw new FormatError('lone surrogate');
      return JSON.stringify(k) + ':' + encodeValue(value[k], depth + 1);
    });
    return '{' + parts.join(',') + '}';
  }
  throw new FormatError('type not allowed in canonical JSON');
}

/** The canonical encoding of a JSON value, as UTF-8 bytes. */
export function canonicalJson(value) {
  return ENC.encode(encodeValue(value, 0));
}

/** Parse bytes that MUST be canonical JSON (re-encoded byte for byte); FormatError otherwise. */
export function parseCanonicalJson(data, maxSize = MAX_JSON) {
  if (!(data instanceof Uint8Array)) throw new FormatError('not bytes');
  if (data.length > maxSize) throw new FormatError('document too large');
  let value;
  try {
    const text = DEC.decode(data); // fatal on invalid UTF-8; a BOM stays and fails below
    value = JSON.parse(text);
  } catch {
    throw new FormatError('not valid JSON');
  }
  const again = canonicalJson(value); // rejects floats, big integers, lone surrogates, depth
  if (!bytesEqual(again, data)) throw new FormatError('JSON is not canonical');
  return value;
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// exact JSON types: true is not 1, "1" is not 1
function has(o, k) {
  return o !== null && typeof o === 'object' && !Array.isArray(o) && Object.hasOwn(o, k);
}
function field(o, k) {
  if (!has(o, k)) throw new FormatError(`missing ${k}`);
  return o[k];
}
function wantInt(v) {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FormatError('expected int');
  return v;
}
function wantStr(v) {
  if (typeof v !== 'string') throw new FormatError('expected str');
  return v;
}
function wantBool(v) {
  if (typeof v !== 'boolean') throw new FormatError('expected bool');
  return v;
}
function wantObj(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError('expected object');
  return v;
}

/** Run fn; any failure in it becomes the opaque IntegrityError. */
function integrity(fn) {
  try {
    return fn();
  } catch {
    throw new IntegrityError();
  }
}

// -- primitives (SPEC §Primitives) ------------------------------------------------------------

export function sha256(data) {
  return sodium().crypto_hash_sha256(data);
}

/** Incremental SHA-256: {update(bytes), digest()}. */
export function sha256Stream() {
  const s = sodium();
  const state = s.crypto_hash_sha256_init();
  return {
    update(bytes) {
      s.crypto_hash_sha256_update(state, bytes);
    },
    digest() {
      return s.crypto_hash_sha256_final(state);
    },
  };
}

/** kdf(key, label, n) = BLAKE2b(key = key, message = ASCII label, n bytes). */
export function kdf(key, label, size = 32) {
  if (!label.startsWith('vault.v1/')) throw new Error('KDF labels start with vault.v1/');
  if (!(key instanceof Uint8Array) || key.length < 16 || key.length > 64) {
    throw new FormatError('KDF key must be 16..64 bytes');
  }
  return sodium().crypto_generichash(size, ascii(label), key);
}

export function aeadDecrypt(key, nonce, ciphertext, ad) {
  if (key.length !== 32 || nonce.length !== 24 || ciphertext.length < 16) throw new IntegrityError();
  try {
    return sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch {
    throw new IntegrityError();
  }
}

/** Ed25519 public key: 32 bytes, not zero, canonical, prime order (SPEC §Primitives). */
export function checkSignPk(pk) {
  const s = sodium();
  if (!(pk instanceof Uint8Array) || pk.length !== 32 || pk.every((b) => b === 0)) {
    throw new IntegrityError();
  }
  try {
    s.crypto_sign_ed25519_pk_to_curve25519(pk);
  } catch {
    throw new IntegrityError();
  }
  if (!s.crypto_core_ed25519_is_valid_point(pk)) throw new IntegrityError();
}

/** X25519 public key: 32 bytes and not of low order. */
export function checkBoxPk(pk) {
  if (!(pk instanceof Uint8Array) || pk.length !== 32) throw new IntegrityError();
  const one = new Uint8Array(32);
  one[0] = 1;
  let z;
  try {
    z = sodium().crypto_scalarmult(one, pk);
  } catch {
    throw new IntegrityError();
  }
  if (z.every((b) => b === 0)) throw new IntegrityError();
}

/** Strict Ed25519 verification; IntegrityError on any failure. */
export function verify(pk, message, sig) {
  checkSignPk(pk);
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new IntegrityError();
  let ok = false;
  try {
    ok = sodium().crypto_sign_verify_detached(sig, message, pk);
  } catch {
    ok = false;
  }
  if (!ok) throw new IntegrityError();
}

function sealKey(secret, peer, epk, rpk) {
  let z;
  try {
    z = sodium().crypto_scalarmult(secret, peer);
  } catch {
    throw new IntegrityError();
  }
  if (z.every((b) => b === 0)) throw new IntegrityError();
  return sodium().crypto_generichash(32, concat(ascii('vault.v1/seal'), epk, rpk), z);
}

/** open(rsk, s, ad) of SPEC §Sealing. */
export function sealOpen(rsk, sealed, ad) {
  if (sealed.length < 48) throw new IntegrityError();
  const epk = sealed.slice(0, 32);
  checkBoxPk(epk);
  const rpk = sodium().crypto_scalarmult_base(rsk);
  const key = sealKey(rsk, epk, epk, rpk);
  return aeadDecrypt(key, new Uint8Array(24), sealed.slice(32), ad);
}

// -- paths (SPEC §File records) ---------------------------------------------------------------

const RESERVED = new Set(['CON', 'PRN', 'AUX', 'NUL']);
for (let i = 0; i < 10; i++) {
  RESERVED.add(`COM${i}`);
  RESERVED.add(`LPT${i}`);
}

/** A vault path that can never escape a folder on any platform; FormatError otherwise. */
export function checkPath(path) {
  if (typeof path !== 'string' || path === '' || !isWellFormed(path)) {
    throw new FormatError('bad path');
  }
  if (ENC.encode(path).length > 4096 || path.startsWith('/') || /[\\:\0]/.test(path)) {
    throw new FormatError('bad path');
  }
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new FormatError('bad path');
    const last = part[part.length - 1];
    if (last === '.' || last === ' ' || ENC.encode(part).length > 255) {
      throw new FormatError('bad path');
    }
    if (/[\u0000-\u001f]|\p{Cc}|\p{Cf}/u.test(part)) throw new FormatError('bad path');
    if (RESERVED.has(part.split('.')[0].toUpperCase().trimEnd())) throw new FormatError('bad path');
  }
  return path;
}

// -- links and grants (SPEC §Grants) ----------------------------------------------------------

export const PASSWORD_PREFIX = 'pw.';
const GRANT_ID = /^[0-9a-f]{32}$/;

/**
 * Parse `<server>/s/<grant id>#<b64u(S)>`: {server, grantId, secret}. FormatError when it is
 * not a link; IntegrityError ("damaged link") when the fragment is not 32 bytes of strict b64u.
 */
export function parseLink(link) {
  if (typeof link !== 'string' || !link.includes('#') || !link.includes('/s/')) {
    throw new FormatError('not a share link');
  }
  const hash = link.indexOf('#');
  const url = link.slice(0, hash);
  const fragment = link.slice(hash + 1);
  const cut = url.lastIndexOf('/s/');
  if (cut < 0) throw new FormatError('not a share link');
  const server = url.slice(0, cut);
  const grantId = url.slice(cut + 3);
  if (!GRANT_ID.test(grantId)) throw new FormatError('not a share link');
  let secret;
  try {
    secret = unb64u(fragment, 32);
  } catch {
    throw new IntegrityError("the link's secret is damaged");
  }
  return { server, grantId, secret };
}

/**
 * A link as the `vault` CLI prints it: the fragment may start with `pw.` when the link also
 * needs a password. Returns {server, grantId, secret, hasPassword}.
 */
export function parseShareLink(link) {
  if (typeof link !== 'string' || !link.includes('#')) throw new FormatError('not a share link');
  const hash = link.indexOf('#');
  let fragment = link.slice(hash + 1);
  const hasPassword = fragment.startsWith(PASSWORD_PREFIX);
  if (hasPassword) fragment = fragment.slice(PASSWORD_PREFIX.length);
  const parsed = parseLink(link.slice(0, hash) + '#' + fragment);
  return { ...parsed, hasPassword };
}

export const GRANT_PW = Object.freeze({ t: 3, mKib: 64 * 1024 });

/**
 * The grant key and access token of a link (with its password, if any). The password is
 * NFC-normalised UTF-8, as the reference client does (vault_core.keys.normalize_secret).
 */
export function linkSecrets(secret, password = null) {
  if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new IntegrityError();
  let base = secret;
  if (password !== null && password !== undefined) {
    const s = sodium();
    const salt = kdf(secret, 'vault.v1/grant-pw-salt', 16);
    const pwKey = s.crypto_pwhash(
      32,
      utf8(password.normalize('NFC')),
      salt,
      GRANT_PW.t,
      GRANT_PW.mKib * 1024,
      s.crypto_pwhash_ALG_ARGON2ID13,
    );
    base = kdf(concat(secret, pwKey), 'vault.v1/grant-password');
  }
  return {
    grantKey: kdf(base, 'vault.v1/grant-key'),
    accessToken: kdf(base, 'vault.v1/grant-access'),
  };
}

export function accessHash(accessToken) {
  return sha256(accessToken);
}

/** Decode and check a grant header; the parsed fields, or IntegrityError. */
export function decodeHeader(data) {
  return integrity(() => {
    const o = wantObj(parseCanonicalJson(data));
    if (!has(o, 'v') || o.v !== 1) throw new IntegrityError();
    const kind = field(o, 'kind');
    if (kind !== 'link' && kind !== 'account') throw new IntegrityError();
    const to = field(o, 'to');
    const toBoxPk = field(o, 'to_box_pk');
    const maxUses = field(o, 'max_uses');
    const h = {
      grantId: wantStr(field(o, 'grant')),
      owner: wantStr(field(o, 'owner')),
      ownerSignPk: unb64u(field(o, 'owner_sign_pk'), 32),
      kind,
      to: to === null ? null : wantStr(to),
      toBoxPk: toBoxPk === null ? null : unb64u(toBoxPk, 32),
      expires: wantInt(field(o, 'expires')),
      maxUses: maxUses === null ? null : wantInt(maxUses),
      password: wantBool(field(o, 'password')),
      created: wantInt(field(o, 'created')),
    };
    const account = h.to !== null && h.toBoxPk !== null;
    if ((h.kind === 'account') !== account) throw new IntegrityError();
    if (h.kind === 'link' && (h.to !== null || h.toBoxPk !== null)) throw new IntegrityError();
    // exactly these members: the re-encoded header must be the input
    if (!bytesEqual(canonicalJson(headerJson(h)), data)) throw new IntegrityError();
    return h;
  });
}

function headerJson(h) {
  return {
    created: h.created,
    expires: h.expires,
    grant: h.grantId,
    kind: h.kind,
    max_uses: h.maxUses,
    owner: h.owner,
    owner_sign_pk: b64u(h.ownerSignPk),
    password: h.password,
    to: h.to,
    to_box_pk: h.toBoxPk === null ? null : b64u(h.toBoxPk),
    v: 1,
  };
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function itemFromJson(o) {
  wantObj(o);
  const type = field(o, 'type');
  const cert = field(o, 'cert');
  const file = wantStr(field(o, 'file'));
  const manifest = wantStr(field(o, 'manifest'));
  // Stricter than a display needs: ids end up in request paths.
  if (!HEX32.test(file) || !HEX64.test(manifest)) throw new IntegrityError();
  if (type !== null && typeof type !== 'string') throw new IntegrityError();
  if (cert !== null && (typeof cert !== 'object' || Array.isArray(cert))) throw new IntegrityError();
  return {
    name: checkPath(field(o, 'name')),
    fileId: file,
    version: wantInt(field(o, 'version')),
    size: wantInt(field(o, 'size')),
    mtime: wantInt(field(o, 'mtime')),
    content: unb64u(field(o, 'content'), 32),
    manifest,
    key: unb64u(field(o, 'key'), 32),
    type,
    cert,
  };
}

function payloadAd(headerBytes) {
  return concat(ascii('vault.v1/grant-payload\0'), sha256(headerBytes));
}

/**
 * Verify and decrypt a grant payload (SPEC §Grants, "Opening MUST fail unless").
 * ownerSignPk: the pinned owner key (account grants only).
 * Returns {header, payload: {grantId, rev, scope, items}}.
 */
export function openPayload(headerBytes, sealed, grantKey, grantId, ownerSignPk = null) {
  const header = decodeHeader(headerBytes);
  if (header.grantId !== grantId) throw new IntegrityError();
  if (header.kind === 'account' && ownerSignPk === null) throw new IntegrityError();
  if (ownerSignPk !== null && !equal(ownerSignPk, header.ownerSignPk)) throw new IntegrityError();
  if (!(sealed instanceof Uint8Array) || sealed.length < 3 + 64 + 24 + 16) throw new IntegrityError();
  if (sealed[0] !== 0x56 || sealed[1] !== 0x47 || sealed[2] !== 0x31) throw new IntegrityError(); // VG1
  const sig = sealed.subarray(3, 67);
  const nonce = sealed.subarray(67, 91);
  const ct = sealed.subarray(91);
  const hh = sha256(headerBytes);
  verify(header.ownerSignPk, concat(ascii('vault.v1/grant\0'), hh, nonce, ct), sig);
  const plain = aeadDecrypt(grantKey, nonce, ct, payloadAd(headerBytes));
  const payload = integrity(() => {
    const o = wantObj(parseCanonicalJson(plain));
    if (!has(o, 'v') || wantInt(o.v) !== 1 || field(o, 'grant') !== grantId) {
      throw new IntegrityError();
    }
    const scope = field(o, 'scope');
    const items = field(o, 'items');
    if (!Array.isArray(scope) || !Array.isArray(items)) throw new IntegrityError();
    return {
      grantId,
      rev: wantInt(field(o, 'rev')),
      scope: scope.map((s) => String(s)),
      items: items.map(itemFromJson),
    };
  });
  return { header, payload };
}

/** The 32-byte key of an account grant, sealed to the grantee. */
export function openGrantKey(recipientSk, sealed, grantId) {
  const key = sealOpen(recipientSk, sealed, concat(ascii('vault.v1/grant-key\0'), ascii(grantId)));
  if (key.length !== 32) throw new IntegrityError();
  return key;
}

// -- manifests and chunks (SPEC §Manifests, §Chunks) -------------------------------------------

export const MAX_CHUNK = 1024 * 1024;
export const MAX_CHUNKS = 1 << 20;
export const CHUNK_OVERHEAD = 3 + 24 + 16;

export function contentHash(size, chunkHashes) {
  const h = sha256Stream();
  h.update(concat(ascii('vault.v1/content\0'), u64(size)));
  for (const c of chunkHashes) h.update(c);
  return h.digest();
}

export const MAX_INLINE = 64 * 1024;

function decodeManifest(data) {
  const vmf = data.length >= 4 && data[0] === 0x56 && data[1] === 0x4d && data[2] === 0x46;
  if (vmf && data[3] === 0x32 && data.length >= 64) return decodeInline(data); // VMF2
  if (!vmf || data[3] !== 0x31 || data.length < 68) throw new IntegrityError(); // VMF1
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fileId = data.slice(4, 20);
  const version = dv.getUint32(20, false);
  const size = dv.getBigUint64(24, false);
  const content = data.slice(32, 64);
  const n = dv.getUint32(64, false);
  if (n > MAX_CHUNKS || data.length !== 68 + 100 * n) throw new IntegrityError();
  const chunks = [];
  let sum = 0n;
  for (let i = 0, off = 68; i < n; i++, off += 100) {
    const csize = dv.getUint32(off + 96, false);
    if (csize <= 0 || csize > MAX_CHUNK) throw new IntegrityError();
    chunks.push({
      id: hex(data.subarray(off, off + 32)),
      key: data.slice(off + 32, off + 64),
      hash: data.slice(off + 64, off + 96),
      size: csize,
    });
    sum += BigInt(csize);
  }
  if (sum !== size || size > BigInt(Number.MAX_SAFE_INTEGER)) throw new IntegrityError();
  const m = { fileId, version, size: Number(size), content, chunks };
  if (!equal(contentHash(m.size, chunks.map((c) => c.hash)), content)) throw new IntegrityError();
  return m;
}

/** "VMF2": a file of 1..65536 bytes inside its manifest (no chunks). */
function decodeInline(data) {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const size = dv.getBigUint64(24, false);
  const body = data.slice(64);
  if (size < 1n || size > BigInt(MAX_INLINE) || BigInt(body.length) !== size) throw new IntegrityError();
  const content = data.slice(32, 64);
  if (!equal(contentHash(body.length, [sha256(body)]), content)) throw new IntegrityError();
  return { fileId: data.slice(4, 20), version: dv.getUint32(20, false), size: body.length, content, chunks: [], data: body };
}

function manifestAd(fileId, version) {
  return concat(ascii('vault.v1/manifest\0'), fileId, u32(version));
}

/** Check a manifest blob against its id (from the signed item), decrypt and parse it. */
export function openManifest(blob, blobId, fileKey, fileId, version) {
  if (!(blob instanceof Uint8Array) || blob.length < 43) throw new IntegrityError();
  if (hex(sha256(blob)) !== blobId) throw new IntegrityError();
  if (blob[0] !== 0x56 || blob[1] !== 0x4d || blob[2] !== 0x31) throw new IntegrityError(); // VM1
  if (!(fileId instanceof Uint8Array) || fileId.length !== 16) throw new IntegrityError();
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new IntegrityError();
  const plain = aeadDecrypt(fileKey, blob.subarray(3, 27), blob.subarray(27), manifestAd(fileId, version));
  const m = decodeManifest(plain);
  if (!equal(m.fileId, fileId) || m.version !== version) throw new IntegrityError();
  return m;
}

/** Decrypt and check one chunk blob against its manifest entry {id, key, hash, size}. */
export function openChunk(ref, blob) {
  const plain = openChunkSealed(ref, blob);
  if (!equal(sha256(plain), ref.hash)) throw new IntegrityError();
  return plain;
}

/** openChunk's checks but the last: the caller MUST then check SHA-256(plain) == ref.hash
 *  (the web engine does it with WebCrypto). */
export function openChunkSealed(ref, blob) {
  if (!(blob instanceof Uint8Array) || blob.length !== ref.size + CHUNK_OVERHEAD) {
    throw new IntegrityError();
  }
  if (blob[0] !== 0x56 || blob[1] !== 0x43 || blob[2] !== 0x31) throw new IntegrityError(); // VC1
  const ad = concat(ascii('vault.v1/chunk\0'), unhex(ref.id));
  return aeadDecrypt(ref.key, blob.subarray(3, 27), blob.subarray(27), ad);
}

// -- issuer certificates and deposit proofs (SPEC §Issuer certificates, §Deposits) -------------

function signed(label, obj) {
  return concat(ascii(`vault.v1/${label}\0`), canonicalJson(obj));
}

export function issuerCertFromJson(o) {
  return integrity(() => {
    const b = wantObj(field(o, 'cert'));
    if (field(b, 'type') !== 'issuer-cert' || wantInt(field(b, 'v')) !== 1) throw new IntegrityError();
    const usage = field(b, 'usage');
    if (!Array.isArray(usage)) throw new IntegrityError();
    return {
      name: wantStr(field(b, 'name')),
      issuerPk: unb64u(field(b, 'issuer_pk'), 32),
      authorityPk: unb64u(field(b, 'authority_pk'), 32),
      notBefore: wantInt(field(b, 'not_before')),
      notAfter: wantInt(field(b, 'not_after')),
      usage: usage.map(wantStr),
      sig: unb64u(field(o, 'sig'), 64),
    };
  });
}

/** An issuer certificate's signed body (IssuerCert's, without its signature). */
export function certBody(c) {
  return {
    authority_pk: b64u(c.authorityPk),
    issuer_pk: b64u(c.issuerPk),
    name: c.name,
    not_after: c.notAfter,
    not_before: c.notBefore,
    type: 'issuer-cert',
    usage: [...c.usage],
    v: 1,
  };
}

/**
 * trusted: Map of b64u authority key → local name (pinned by the user, never from the server).
 * IntegrityError unless signed by a trusted authority, valid at `now`, for `usage`.
 */
export function verifyIssuerCert(cert, trusted, now, usage) {
  if (!trusted.has(b64u(cert.authorityPk))) throw new IntegrityError();
  verify(cert.authorityPk, signed('issuer-cert', certBody(cert)), cert.sig);
  if (!(cert.notBefore <= now && now <= cert.notAfter)) throw new IntegrityError();
  if (!cert.usage.includes(usage)) throw new IntegrityError();
}

const DOC_TYPE = /^[a-z0-9-]{1,64}$/;
export const MAX_DEPOSIT_SIZE = 64 * 1024 * 1024;

function statementFromJson(b) {
  wantObj(b);
  if (field(b, 'type') !== 'deposit' || wantInt(field(b, 'v')) !== 1) throw new IntegrityError();
  const st = {
    id: wantStr(field(b, 'id')),
    to: wantStr(field(b, 'to')),
    toSignPk: unb64u(field(b, 'to_sign_pk'), 32),
    docSha256: unb64u(field(b, 'doc_sha256'), 32),
    docType: wantStr(field(b, 'doc_type')),
    title: wantStr(field(b, 'title')),
    filename: wantStr(field(b, 'filename')),
    issued: wantInt(field(b, 'issued')),
    size: wantInt(field(b, 'size')),
    issuerPk: unb64u(field(b, 'issuer_pk'), 32),
  };
  checkStatementFields(st);
  return st;
}

function checkStatementFields(st) {
  checkPath(st.filename);
  if (st.filename.includes('/') || !DOC_TYPE.test(st.docType) || [...st.title].length > 200) {
    throw new IntegrityError();
  }
  if (st.size < 0 || st.size > MAX_DEPOSIT_SIZE || st.issued < 0) throw new IntegrityError();
}

/** A deposit statement's signed body (DepositStatement.body). */
export function statementBody(st) {
  return {
    doc_sha256: b64u(st.docSha256),
    doc_type: st.docType,
    filename: st.filename,
    id: st.id,
    issued: st.issued,
    issuer_pk: b64u(st.issuerPk),
    size: st.size,
    title: st.title,
    to: st.to,
    to_sign_pk: b64u(st.toSignPk),
    type: 'deposit',
    v: 1,
  };
}

export function depositProofFromJson(o) {
  return integrity(() => ({
    statement: statementFromJson(field(o, 'statement')),
    sig: unb64u(field(o, 'sig'), 64),
    cert: issuerCertFromJson(field(o, 'cert')),
  }));
}

function checkProofSignature(proof) {
  if (!equal(proof.statement.issuerPk, proof.cert.issuerPk)) throw new IntegrityError();
  verify(proof.statement.issuerPk, signed('deposit', statementBody(proof.statement)), proof.sig);
}

/**
 * The full check of a deposit proof; returns the certified issuer name. `received`: when the
 * owner took the deposit (unknown to a grantee: `now` is used, as the reference client does).
 */
export function verifyDepositProof(proof, { trusted, now, owner, ownerSignPk, documentSha256, received = null }) {
  return integrity(() => {
    checkProofSignature(proof);
    checkStatementFields(proof.statement);
    const st = proof.statement;
    if (st.to !== owner || !equal(st.toSignPk, ownerSignPk)) throw new IntegrityError();
    if (!equal(st.docSha256, documentSha256)) throw new IntegrityError();
    const at = received !== null ? received : now;
    verifyIssuerCert(proof.cert, trusted, at, 'deposit');
    verifyIssuerCert(proof.cert, trusted, st.issued, 'deposit');
    if (st.issued > at + 86400) throw new IntegrityError();
    return proof.cert.name;
  });
}

/**
 * What a grantee may say about an item's `cert` (a certificate block {proof, received}):
 * {state: 'none'} (no certificate),
 * {state: 'unverified'} (a certificate, but no trusted authority to check it against),
 * {state: 'invalid'} (it does not verify: never shown under the claimed name), or
 * {state: 'certified', issuer, authority} (the whole chain verifies).
 * documentSha256 null: listing only (the statement's own hash stands in, as `vault redeem
 * --list` does); pass the document's SHA-256 once it has been downloaded.
 */
export function certification(certJson, trusted, owner, ownerSignPk, documentSha256 = null, now = null) {
  if (certJson === null || certJson === undefined) return { state: 'none' };
  if (trusted.size === 0) return { state: 'unverified' };
  try {
    // a record's certificate block (SPEC §File records): the proof and the reception time
    const proof = depositProofFromJson(field(certJson, 'proof'));
    const received = wantInt(field(certJson, 'received'));
    const t = now !== null ? now : Math.floor(Date.now() / 1000);
    const issuer = verifyDepositProof(proof, {
      trusted,
      now: t,
      owner,
      ownerSignPk,
      documentSha256: documentSha256 !== null ? documentSha256 : proof.statement.docSha256,
      received,
    });
    return { state: 'certified', issuer, authority: trusted.get(b64u(proof.cert.authorityPk)) };
  } catch (e) {
    if (e instanceof VaultError) return { state: 'invalid' };
    throw e;
  }
}

// -- envelopes (SPEC §Deposits): for completeness against the vectors ----------------------------

export function openEnvelope(kind, id, recipientSk, envelope) {
  return integrity(() => {
    if (envelope.length < 5 || envelope[0] !== 0x56 || envelope[1] !== 0x44 || envelope[2] !== 0x31) {
      throw new IntegrityError(); // VD1
    }
    const n = (envelope[3] << 8) | envelope[4];
    const sealedKey = envelope.subarray(5, 5 + n);
    const rest = envelope.subarray(5 + n);
    if (sealedKey.length !== n || rest.length < 40) throw new IntegrityError();
    const key = sealOpen(recipientSk, sealedKey, concat(ascii(`vault.v1/${kind}-key\0`), ascii(id)));
    if (key.length !== 32) throw new IntegrityError();
    const plain = aeadDecrypt(key, rest.subarray(0, 24), rest.subarray(24), concat(ascii(`vault.v1/${kind}\0`), ascii(id)));
    if (plain.length < 4) throw new IntegrityError();
    const m = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0, false);
    if (4 + m > plain.length) throw new IntegrityError();
    const meta = wantObj(parseCanonicalJson(plain.subarray(4, 4 + m)));
    return { meta, body: plain.subarray(4 + m) };
  });
}

/** Open a deposit envelope: checks the issuer signature and the document hash and size. */
export function openDeposit(depositId, recipientSk, envelope) {
  const { meta, body } = openEnvelope('deposit', depositId, recipientSk, envelope);
  const proof = depositProofFromJson(has(meta, 'proof') ? meta.proof : null);
  if (proof.statement.id !== depositId) throw new IntegrityError();
  checkProofSignature(proof);
  if (!equal(sha256(body), proof.statement.docSha256) || body.length !== proof.statement.size) {
    throw new IntegrityError();
  }
  return { proof, document: body };
}
