// The share page's worker: every key, every request to the server and every decryption happen
// here, off the page's main thread (a 200 MB document never freezes the page). The page sends
// the link (with its secret fragment) once; it gets back only what it shows: names, sizes,
// types, certification states, progress, and finally a verified Blob.
//
// Requests: POST /v1/grants/<id>/open with the *access token* (derived from the secret, never
// the secret itself) and GET /v1/grants/<id>/blobs/<blob> with the grant session token. The
// secret, the password, the grant key and the file keys never leave this worker.
import _sodium from 'libsodium-wrappers-sumo';
import * as P from './protocol.js';

const ready = _sodium.ready.then(() => P.useSodium(_sodium));

const CONCURRENCY = 4; // chunk downloads in flight
const BLOB_SLICE = 8 * 1024 * 1024; // plaintext gathered into a Blob every 8 MiB
const MAX_OPEN_RESPONSE = 8 * 1024 * 1024;

/** A failure the page can name to its user (never which cryptographic check failed). */
class Failure extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

let grant = null; // {base, grantId, header, items, auth}

function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

async function http(url, init = {}) {
  try {
    return await fetch(url, {
      ...init,
      mode: 'same-origin',
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new Failure('network');
  }
}

/** The response body, refused beyond `limit` bytes (a server cannot exhaust memory). */
async function body(res, limit) {
  const declared = Number(res.headers.get('Content-Length'));
  if (Number.isFinite(declared) && declared > limit) throw new Failure('integrity');
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    let r;
    try {
      r = await reader.read();
    } catch {
      throw new Failure('network');
    }
    if (r.done) break;
    n += r.value.length;
    if (n > limit) {
      reader.cancel().catch(() => {});
      throw new Failure('integrity');
    }
    parts.push(r.value);
  }
  return parts.length === 1 ? parts[0] : P.concat(...parts);
}

function statusFailure(status, hasPassword) {
  if (status === 410) return new Failure('unavailable');
  if (status === 403) return new Failure(hasPassword ? 'wrong_password' : 'wrong_secret');
  if (status === 429) return new Failure('rate_limited');
  if (status === 404) return new Failure('missing');
  return new Failure('server');
}

function trustedMap(list) {
  const m = new Map();
  for (const a of list || []) {
    try {
      P.unb64u(a.key, 32);
      m.set(a.key, String(a.name || ''));
    } catch {
      // a malformed local entry is ignored (the settings form refuses them anyway)
    }
  }
  return m;
}

function describe(item, trusted, docSha256 = null) {
  return P.certification(item.cert, trusted, grant.header.owner, grant.header.ownerSignPk, docSha256);
}

async function open({ base, link, password, trusted }) {
  let parsed;
  try {
    parsed = P.parseShareLink(link);
  } catch (e) {
    throw new Failure(e instanceof P.IntegrityError ? 'damaged' : 'not_a_link');
  }
  if (parsed.hasPassword && (password === null || password === undefined)) {
    return { needPassword: true };
  }
  const secrets = P.linkSecrets(parsed.secret, parsed.hasPassword ? password : null);
  const res = await http(`${base}/v1/grants/${parsed.grantId}/open`, {
    method: 'POST',
    headers: { Authorization: `Grant ${P.b64u(secrets.accessToken)}` },
  });
  if (!res.ok) throw statusFailure(res.status, parsed.hasPassword);
  let opened;
  try {
    const j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await body(res, MAX_OPEN_RESPONSE)));
    opened = P.openPayload(P.unb64u(j.header), P.unb64u(j.payload), secrets.grantKey, parsed.grantId, null);
    if (typeof j.session !== 'string') throw new P.IntegrityError();
    opened.session = j.session;
  } catch (e) {
    if (e instanceof Failure) throw e;
    throw new Failure('integrity');
  }
  const { header, payload } = opened;
  if (header.kind !== 'link') throw new Failure('integrity');
  if (header.expires <= Math.floor(Date.now() / 1000)) throw new Failure('unavailable');
  grant = {
    base,
    grantId: parsed.grantId,
    header,
    items: payload.items,
    auth: `Grant ${opened.session}`,
  };
  const t = trustedMap(trusted);
  return {
    owner: header.owner,
    expires: header.expires,
    maxUses: header.maxUses,
    items: payload.items.map((item, index) => ({
      index,
      name: item.name,
      size: item.size,
      type: item.type,
      mtime: item.mtime,
      cert: describe(item, t),
    })),
  };
}

function certify({ trusted }) {
  if (!grant) return { items: [] };
  const t = trustedMap(trusted);
  return { items: grant.items.map((item, index) => ({ index, cert: describe(item, t, item.docSha256 || null) })) };
}

async function getBlob(blobId, limit) {
  const res = await http(`${grant.base}/v1/grants/${grant.grantId}/blobs/${blobId}`, {
    headers: { Authorization: grant.auth },
  });
  if (!res.ok) throw statusFailure(res.status, false);
  return body(res, limit);
}

/** Magic bytes decide what may be previewed, never the name or the server. */
function sniff(head) {
  const starts = (...sig) => sig.every((b, i) => head[i] === b);
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return 'application/pdf'; // %PDF-
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && head[8] === 0x57 && head[9] === 0x45 && head[10] === 0x42 && head[11] === 0x50) {
    return 'image/webp';
  }
  return null;
}

async function fetchItem({ index, mode, trusted, reqId }) {
  if (!grant) throw new Failure('integrity');
  const item = grant.items[index];
  if (!item) throw new Failure('integrity');
  const maxManifest = 43 + 68 + 100 * Math.min(item.size, P.MAX_CHUNKS);
  const mblob = await getBlob(item.manifest, maxManifest);
  let manifest;
  try {
    manifest = P.openManifest(mblob, item.manifest, item.key, P.unhex(item.fileId), item.version);
    if (!P.equal(manifest.content, item.content) || manifest.size !== item.size) throw new P.IntegrityError();
  } catch {
    throw new Failure('integrity');
  }
  const chunks = manifest.chunks;
  const total = manifest.size;
  const whole = P.sha256Stream();
  const slices = []; // Blobs of verified plaintext, in order
  let pending = []; // verified plaintext not yet in a Blob
  let pendingBytes = 0;
  let done = 0;
  let head = null;
  let lastReport = 0;

  // in-order assembly of chunks fetched CONCURRENCY at a time
  const results = new Map();
  let next = 0; // next chunk to start
  let emit = 0; // next chunk to append
  const inflight = new Set();
  if (manifest.data) {
    // a small file's bytes are inside its manifest (checked against its content hash)
    head = manifest.data.subarray(0, 16);
    whole.update(manifest.data);
    pending.push(manifest.data);
    pendingBytes = done = manifest.data.length;
  }
  const start = (i) => {
    const ref = chunks[i];
    const p = getBlob(ref.id, ref.size + P.CHUNK_OVERHEAD)
      .then((blob) => {
        try {
          results.set(i, P.openChunk(ref, blob));
        } catch {
          throw new Failure('integrity');
        }
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  while (emit < chunks.length) {
    while (next < chunks.length && inflight.size < CONCURRENCY) start(next++);
    if (!results.has(emit)) {
      await Promise.race(inflight);
      continue;
    }
    while (results.has(emit)) {
      const plain = results.get(emit);
      results.delete(emit);
      emit++;
      if (head === null) head = plain.subarray(0, 16);
      whole.update(plain);
      pending.push(plain);
      pendingBytes += plain.length;
      done += plain.length;
      if (pendingBytes >= BLOB_SLICE) {
        slices.push(new Blob(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
    const now = Date.now();
    if (now - lastReport > 100) {
      lastReport = now;
      post({ reqId, progress: { done, total } });
    }
  }
  if (pending.length) slices.push(new Blob(pending));
  // Every chunk matched its manifest entry and the manifest the owner-signed item: only now is
  // anything released to the page.
  const docSha256 = whole.digest();
  item.docSha256 = docSha256;
  const sniffed = head ? sniff(head) : null;
  const type = mode === 'preview' && sniffed ? sniffed : 'application/octet-stream';
  const blob = new Blob(slices, { type });
  post({ reqId, progress: { done: total, total } });
  return { blob, previewType: sniffed, cert: describe(item, trustedMap(trusted), docSha256) };
}

const OPS = { open, certify, fetch: fetchItem };

self.onmessage = async (ev) => {
  const msg = ev.data || {};
  const reqId = msg.reqId;
  try {
    await ready;
    const op = OPS[msg.op];
    if (!op) throw new Failure('server');
    const result = await op(msg);
    post({ reqId, result });
  } catch (e) {
    post({ reqId, error: e instanceof Failure ? e.code : 'integrity' });
  }
};
