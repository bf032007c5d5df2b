// Writing files in the browser (protocol/SPEC.md §Chunks, §Manifests, §File records): chunk
// references, sealed chunks, manifests (chunked VMF1 or inline VMF2) and the file record that
// commits to them. Reading uses the share page's openManifest/openChunk (web/src/protocol.js).
//
// The browser cuts a file into fixed 1 MiB chunks rather than by content (SPEC §Chunks: a
// reader never recomputes boundaries and accepts any size in 1..1 MiB): identical chunks still
// share one blob; only deduplication across shifted content is lost. Files up to 64 KiB go
// inline in their manifest, as every writer SHOULD do below the chunker's minimum.
//
// Pure: nonces and file keys are parameters.
import * as P from '../src/protocol.js';
import { aeadEncrypt } from './account.js';

const { ascii, concat, u32, u64 } = P;

export const BROWSER_CHUNK = 1024 * 1024;
export const MAX_INLINE = P.MAX_INLINE;

let S = null;
export function useSodium(sodium) {
  S = sodium;
}

function hmac(key, data) {
  return S.crypto_auth_hmacsha256(data, key);
}

/** The manifest entry of one chunk's plaintext: {id (hex), key, hash, size}. */
export function chunkRef(keys, plaintext) {
  const hash = P.sha256(plaintext);
  return { id: P.hex(hmac(keys.chunkIdKey, hash)), key: hmac(keys.chunkKeyKey, hash), hash, size: plaintext.length };
}

/** "VC1" || nonce || AEAD(key, nonce, p, "vault.v1/chunk\0" || id). */
export function sealChunk(ref, plaintext, nonce) {
  const ad = concat(ascii('vault.v1/chunk\0'), P.unhex(ref.id));
  return concat(ascii('VC1'), nonce, aeadEncrypt(ref.key, nonce, plaintext, ad));
}

/** The plaintext of a chunked manifest (VMF1). */
export function encodeManifest(fileId, version, refs) {
  const size = refs.reduce((n, r) => n + r.size, 0);
  const content = P.contentHash(size, refs.map((r) => r.hash));
  const parts = [ascii('VMF1'), fileId, u32(version), u64(size), content, u32(refs.length)];
  for (const r of refs) parts.push(P.unhex(r.id), r.key, r.hash, u32(r.size));
  return { plain: concat(...parts), size, content };
}

/** The plaintext of an inline manifest (VMF2): 1..65536 bytes of data. */
export function encodeInlineManifest(fileId, version, data) {
  if (data.length < 1 || data.length > MAX_INLINE) throw new RangeError('an inline manifest holds 1..65536 bytes');
  const content = P.contentHash(data.length, [P.sha256(data)]);
  return { plain: concat(ascii('VMF2'), fileId, u32(version), u64(data.length), content, data), size: data.length, content };
}

/** Seal a manifest: {id: hex(SHA256(blob)), blob}. */
export function sealManifest(fileId, version, plain, fileKey, nonce) {
  const ad = concat(ascii('vault.v1/manifest\0'), fileId, u32(version));
  const blob = concat(ascii('VM1'), nonce, aeadEncrypt(fileKey, nonce, plain, ad));
  return { id: P.hex(P.sha256(blob)), blob };
}

/** A live file record (SPEC §File records). */
export function fileRecord({ fileId, version, path, size, mtime, content, manifest, key, type = null }) {
  return { kind: 'file', fileId, version, path: P.checkPath(path), deleted: false, size, mtime: Math.max(0, Math.floor(mtime)), content, manifest, key, type, cert: null };
}
