// The owner's session in the browser: the I/O shell around account.js, log.js and files.js.
// It runs in a dedicated Web Worker (worker.js); the page never holds a key, the passphrase
// after it was sent here, a token or a file key.
//
// Theory of operation. Sign-in asks the server for the account's Argon2id parameters and a
// challenge, refuses parameters below the floor, derives the login key and the KEK, and signs
// the host-bound challenge while registering a new *ephemeral* device: fresh device keys made
// here, named « Navigateur — <date> ». The bundle the server returns opens only under the KEK;
// its identity must be the one the server lists. The identity key then certifies the device
// key (PUT /v1/devices/{id}/cert) and the device joins the signed log with its own `device`
// record. Reading replays the whole log through LogVerifier (nothing unverified is shown);
// every blob is checked against the signed record before a byte is released. Writing seals
// chunks and the manifest, uploads the blobs, then appends one signed `file` record with
// compare-and-swap on the head (a conflict: read, verify, re-plan, retry). Sign-out appends
// a `revoke` record for this device, revokes it on the server and forgets every key.
//
// Nothing is written to any browser storage: state lives in this worker's memory only.
import _sodium from 'libsodium-wrappers-sumo';
import * as P from '../src/protocol.js';
import * as A from './account.js';
import * as L from './log.js';
import * as F from './files.js';
import * as Seal from './seal.js';

export const ready = _sodium.ready.then(() => {
  A.useSodium(_sodium);
  F.useSodium(_sodium);
  Seal.useSodium(_sodium);
});

const random = (n) => _sodium.randombytes_buf(n);
const hexId = () => P.hex(random(16));
const LOG_PAGE = 1000;
const MAX_BLOB = 8 * 1024 * 1024 + 64;
const GETS_IN_FLIGHT = 4; // a download's chunks fetched at once (benchmarks/RESULTS.md, web access)
const BATCH_CHUNKS = 8; // 1 MiB chunks per upload batch (8 MiB bodies, the server's batch limit is 32)
const BLOB_GROUP = 8 * 1024 * 1024; // a download's plaintext handed on in Blobs of about this size

/** A chunk opened and checked (SPEC §Chunks): P.openChunk, with the SHA-256 done natively when
 *  WebCrypto is there (a secure context); the same checks, the same opaque failure. */
async function openChunk(ref, sealed) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  try {
    if (!subtle) return P.openChunk(ref, sealed);
    const plain = P.openChunkSealed(ref, sealed);
    const hash = new Uint8Array(await subtle.digest('SHA-256', plain));
    if (!P.equal(hash, ref.hash)) throw new P.IntegrityError();
    return plain;
  } catch {
    throw integrityFailure();
  }
}

/** A failure the page names in French: `code` is the daemon API's (docs/APP-API.md). */
export class EngineError extends Error {
  constructor(status, code, detail = '') {
    super(detail || code);
    this.status = status;
    this.code = code;
  }
}

const integrityFailure = () => new EngineError(400, 'integrity');

function localIso(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function deviceName(now) {
  const d = new Date(now);
  const p = (n) => String(n).padStart(2, '0');
  return `Navigateur — ${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export class Engine {
  constructor(origin) {
    this.origin = origin; // this server: the page and the API share one origin
    this.s = null; // the signed-in session, or null
    this.lastSync = null;
    this.busy = null;
  }

  random(n) {
    return random(n);
  }

  error(status, code) {
    return new EngineError(status, code);
  }

  integrity() {
    return integrityFailure();
  }

  /** A record's manifest, opened and checked against the record (IntegrityError otherwise). */
  async manifestOf(r) {
    try {
      const m = P.openManifest(await this.blob(r.manifest), r.manifest, r.key, P.unhex(r.fileId), r.version);
      if (m.size !== r.size || !P.equal(m.content, r.content)) throw new P.IntegrityError();
      return m;
    } catch (e) {
      throw e instanceof EngineError ? e : integrityFailure();
    }
  }

  // -- HTTP ---------------------------------------------------------------------------------

  async http(method, path, { json, bytes, auth = true, accept404 = false } = {}) {
    const headers = { Accept: 'application/json' };
    if (auth && this.s) headers.Authorization = `Bearer ${this.s.token}`;
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (bytes !== undefined) {
      headers['Content-Type'] = 'application/octet-stream';
      // a Blob body: Chromium sends a Uint8Array body ~6x slower and keeps copies of it
      // (benchmarks/RESULTS.md, web access: 67-77 ms against 12 ms per 1 MiB PUT)
      body = bytes instanceof Blob ? bytes : new Blob([bytes]);
    }
    let res;
    try {
      res = await fetch(this.origin + path, { method, headers, body, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer' });
    } catch {
      throw new EngineError(503, 'unavailable');
    }
    if (res.status === 401 && auth) {
      this.forget();
      throw new EngineError(401, 'locked');
    }
    if (accept404 && res.status === 404) return null;
    return res;
  }

  async json(method, path, opts = {}) {
    const res = await this.http(method, path, opts);
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const code = (data && data.code) || 'error';
      if (res.status === 401) throw new EngineError(401, 'unauthorized');
      if (res.status === 429) throw new EngineError(429, 'rate_limited');
      if (res.status >= 500) throw new EngineError(503, 'unavailable');
      const err = new EngineError(res.status, code);
      err.body = data;
      throw err;
    }
    return data;
  }

  /** A blob's bytes; `size`, when known (a chunk's sealed size), is read straight into one
   *  buffer through the body's stream reader: in Chromium several GETs in flight read whole
   *  (`arrayBuffer()`) are slower than one, read by the stream reader faster (RESULTS.md). */
  async blob(id, size = null) {
    const res = await this.http('GET', `/v1/blobs/${id}`);
    if (!res.ok) throw res.status === 404 ? integrityFailure() : new EngineError(503, 'unavailable');
    if (size === null || !res.body) {
      const buf = new Uint8Array(await res.arrayBuffer());
      if (buf.length > MAX_BLOB) throw integrityFailure();
      return buf;
    }
    if (size > MAX_BLOB) throw integrityFailure();
    const buf = new Uint8Array(size);
    const reader = res.body.getReader();
    let at = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (at + value.length > size) throw integrityFailure(); // longer than the manifest says
        buf.set(value, at);
        at += value.length;
      }
    } catch (e) {
      reader.cancel().catch(() => {});
      if (e instanceof EngineError) throw e;
      throw new EngineError(503, 'unavailable');
    }
    if (at !== size) throw integrityFailure(); // truncated
    return buf;
  }

  // -- sign-in and sign-out -------------------------------------------------------------------

  async signIn(handle, passphrase, now = Date.now()) {
    await ready;
    if (typeof handle !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,31}$/.test(handle)) throw new EngineError(400, 'usage', 'handle');
    if (typeof passphrase !== 'string' || !passphrase) throw new EngineError(400, 'usage', 'passphrase');
    const start = await this.json('POST', '/v1/login/start', { json: { handle, purpose: 'passphrase' }, auth: false });
    let pkeys;
    try {
      pkeys = A.passphraseKeys(passphrase, start && start.kdf);
    } catch (e) {
      if (e instanceof A.WeakParameters) throw new EngineError(400, 'weak_parameters');
      throw integrityFailure();
    }
    const login = A.signKeypair(pkeys.loginSeed);
    const challenge = P.unb64u(String(start.challenge), 32);
    const host = new URL(this.origin).host;
    const deviceSeed = random(32);
    const device = A.signKeypair(deviceSeed);
    const deviceId = hexId();
    const name = deviceName(now);
    const proof = A.loginProof(login.sk, challenge, handle, host, 'passphrase');
    const res = await this.json('POST', '/v1/login/finish', {
      json: { handle, purpose: 'passphrase', challenge: P.b64u(challenge), signature: P.b64u(proof), device: { id: deviceId, name, sign_pk: P.b64u(device.pk), ephemeral: true } },
      auth: false,
    });
    let bundle;
    try {
      bundle = A.unwrapBundle(P.unb64u(res.bundle), pkeys.kek, handle, 'passphrase');
      // the identity the server lists (its handle is the account's) must be the bundle's
      const listed = A.verifyIdentity({ ...res.identity, handle });
      if (listed.handle !== handle || !P.equal(listed.signPk, bundle.identity.pk) || !P.equal(listed.boxPk, bundle.boxPk)) throw new P.IntegrityError();
    } catch {
      throw integrityFailure();
    }
    this.s = { handle, token: res.token, deviceId, deviceName: name, device, bundle, verifier: new L.LogVerifier(handle, bundle.identity.pk, bundle.keys.recordKey, null, bundle.boxSk), files: new Map(), pathHead: new Map(), byPathLog: new Map(), revokedSelf: false };
    try {
      const cert = A.issueDeviceCert(bundle, deviceId, name, device.pk, now);
      await this.json('PUT', `/v1/devices/${deviceId}/cert`, { json: { cert: P.b64u(cert) } });
      await this.sync();
      await this.append({ kind: 'device', deviceId, cert }, [], now);
    } catch (e) {
      // a log that does not verify (or a server gone mid-way): no half-open session stays,
      // the device made for it is ended on the server and every key forgotten
      await this.endOnServer(deviceId);
      this.forget();
      throw e;
    }
    return { handle, server: this.origin, folder: null, device_id: deviceId };
  }

  /** Revoke this browser's device (in the log and on the server) and forget every key. */
  async signOut(now = Date.now()) {
    if (!this.s) return { ok: true };
    try {
      await this.sync();
      await this.append({ kind: 'revoke', deviceId: this.s.deviceId, cert: new Uint8Array(0) }, [], now);
    } catch {
      // the server-side revocation below still ends the device; the log shows it later
    }
    await this.endOnServer(this.s.deviceId);
    this.forget();
    return { ok: true };
  }

  /** Revoke this session's device and token on the server (best effort: an unreachable server
   *  ends them at the idle expiry). */
  async endOnServer(deviceId) {
    try {
      await this.http('DELETE', `/v1/devices/${deviceId}`);
      await this.http('POST', '/v1/logout');
    } catch {
      // the idle expiry ends them on the server
    }
  }

  forget() {
    if (!this.s) return;
    for (const k of [this.s.bundle.signSeed, this.s.bundle.boxSk, this.s.bundle.vaultKey, this.s.device.sk]) _sodium.memzero(k);
    this.s = null;
  }

  need() {
    if (!this.s) throw new EngineError(401, 'locked');
    return this.s;
  }

  // -- the log ------------------------------------------------------------------------------

  /** Fetch and verify every entry after the last one verified; update the file table. */
  async sync() {
    const s = this.need();
    for (;;) {
      const page = await this.json('GET', `/v1/log?after=${s.verifier.seq}&limit=${LOG_PAGE}`);
      const entries = (page && page.entries) || [];
      try {
        L.checkHead(Number(page.head), s.verifier.seq);
      } catch {
        throw integrityFailure();
      }
      for (const item of entries) {
        let fed;
        try {
          // a helper's file never reuses a file id the vault holds (SPEC §Mandates)
          fed = s.verifier.feed(P.unb64u(item.entry), (rec) => {
            if (rec.kind === 'helper' && rec.file && s.files.has(rec.file.fileId)) throw new P.IntegrityError();
          });
        } catch {
          throw integrityFailure();
        }
        this.apply(fed.record, fed.entry);
      }
      if (entries.length === 0 || s.verifier.seq >= Number(page.head)) break;
    }
    this.lastSync = Math.floor(Date.now() / 1000);
  }

  apply(record, entry) {
    const s = this.s;
    // a helper's upload or accepted deposit (SPEC §Mandates) is a file record like any other:
    // at a path that already holds a live file it becomes that path's newest version
    if (record.kind === 'helper') {
      if (record.file) this.apply(record.file, entry);
      return;
    }
    if (record.kind !== 'file') return;
    // every version written at a path, in log order (history, trash and restore read it)
    if (!s.byPathLog.has(record.path)) s.byPathLog.set(record.path, []);
    s.byPathLog.get(record.path).push({ seq: entry.seq, record });
    const known = s.files.get(record.fileId);
    if (known && known.version >= record.version) return;
    s.files.set(record.fileId, { ...record, author: entry.deviceId, time: entry.time });
    s.pathHead.set(record.path, record.fileId);
  }

  /** Append one record with compare-and-swap; retries on a concurrent append. */
  async append(record, refs, now = Date.now(), replan = null) {
    const s = this.need();
    for (let attempt = 0; attempt < 8; attempt++) {
      const rec = replan ? replan(record) : record;
      const e = L.makeEntry({ handle: s.handle, recordKey: s.bundle.keys.recordKey, deviceId: s.deviceId, deviceSk: s.device.sk, seq: s.verifier.seq + 1, prev: s.verifier.head, time: Math.floor(now / 1000), record: rec, nonce: random(24) });
      const res = await this.http('POST', '/v1/log', { json: { expected_head: s.verifier.seq, entries: [{ entry: P.b64u(e.encoded), refs }] } });
      if (res.status === 201) {
        const fed = s.verifier.feed(e.encoded);
        this.apply(fed.record, fed.entry);
        return e;
      }
      if (res.status !== 409) throw new EngineError(res.status >= 500 ? 503 : res.status, res.status === 403 ? 'forbidden' : 'error');
      await this.sync();
    }
    throw new EngineError(409, 'conflict');
  }

  // -- documents ------------------------------------------------------------------------------

  live() {
    const s = this.need();
    return [...s.files.values()].filter((r) => !r.deleted && s.pathHead.get(r.path) === r.fileId);
  }

  byPath(path) {
    return this.live().find((r) => r.path === path) || null;
  }

  documents(query = '') {
    const q = String(query || '').trim().toLowerCase();
    return this.live()
      .filter((r) => !q || r.path.toLowerCase().includes(q) || (r.type || '').toLowerCase().includes(q))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((r) => {
        const cut = r.path.lastIndexOf('/');
        return { path: r.path, name: r.path.slice(cut + 1), folder: cut >= 0 ? r.path.slice(0, cut) : '', size: r.size, modified: r.mtime, type: r.type, version: r.version, certified_by: null, certificate_problem: r.cert ? 'unchecked' : null };
      });
  }

  /** The verified bytes of a document, as Blob parts (each chunk checked before it is kept). */
  async read(path) {
    const r = this.byPath(path);
    if (!r) throw new EngineError(404, 'not_found');
    const m = await this.manifestOf(r);
    if (m.data) return { record: r, parts: [m.data] };
    // GETS_IN_FLIGHT chunks fetched at once; each one opened and checked as it comes (its
    // SHA-256 by WebCrypto where the page is a secure context: native, where libsodium's WASM
    // is the slowest step), then, in order, gathered into Blobs of about BLOB_GROUP bytes
    // (Chromium keeps large Blobs out of the tab's heap; one Blob per chunk cost more than the
    // crypto: benchmarks/RESULTS.md, web access)
    const plains = new Array(m.chunks.length);
    const parts = [];
    let group = [];
    let groupBytes = 0;
    let emitted = 0;
    const gather = () => {
      while (emitted < plains.length && plains[emitted]) {
        group.push(plains[emitted]);
        groupBytes += plains[emitted].length;
        plains[emitted++] = null;
        if (groupBytes >= BLOB_GROUP || emitted === plains.length) {
          parts.push(new Blob(group));
          group = [];
          groupBytes = 0;
        }
      }
    };
    let next = 0;
    let failed = false;
    const fetcher = async () => {
      while (!failed && next < m.chunks.length) {
        const i = next++;
        const ref = m.chunks[i];
        const sealed = await this.blob(ref.id, ref.size + P.CHUNK_OVERHEAD);
        plains[i] = await openChunk(ref, sealed);
        gather();
      }
    };
    const lanes = Array.from({ length: Math.min(GETS_IN_FLIGHT, m.chunks.length) }, () =>
      fetcher().catch((e) => {
        failed = true;
        throw e;
      }),
    );
    await Promise.all(lanes);
    return { record: r, parts };
  }

  /** Add files (File objects; `name` may hold a relative path) under `folder`. */
  async upload(folder, files, onProgress = () => {}, now = Date.now()) {
    const base = String(folder || '').replace(/^\/+|\/+$/g, '');
    const total = files.reduce((n, f) => n + f.size, 0);
    let done = 0;
    const added = [];
    for (const file of files) {
      const rel = String(file.relPath || file.name).replace(/^\/+/, '');
      const path = base ? `${base}/${rel}` : rel;
      const before = done;
      try {
        await this.storeFile(path, file, (u) => F.fileRecord({ ...u, mtime: file.lastModified || now, type: null }), now, (n) => {
          done = before + n;
          onProgress(done, total);
        });
      } catch (e) {
        // each file is one log entry: those before it are in the vault, it and the next are not
        if (e instanceof EngineError) e.upload = { added: added.slice(), failed: path, notSent: files.length - added.length };
        throw e;
      }
      done = before + file.size;
      added.push(path);
    }
    return { added };
  }

  /**
   * Seal `blob` (a Blob or File: read 1 MiB at a time, never whole) as the next version of the
   * file at `path` (a new file there), upload its blobs, and append the record `makeRecord`
   * makes of {fileId, version, path, size, content, manifest, key}.
   */
  async storeFile(path, blob, makeRecord, now = Date.now(), onBytes = () => {}) {
    const s = this.need();
    try {
      P.checkPath(path);
    } catch {
      throw new EngineError(400, 'usage', 'path');
    }
    await this.sync();
    const existing = this.byPath(path);
    const fileId = existing ? existing.fileId : hexId();
    const version = existing ? existing.version + 1 : 1;
    const fileKey = random(32);
    const refs = [];
    let plain;
    if (blob.size > 0 && blob.size <= F.MAX_INLINE) {
      plain = F.encodeInlineManifest(P.unhex(fileId), version, new Uint8Array(await blob.arrayBuffer()));
      onBytes(blob.size);
    } else {
      // chunks go by batches of BATCH_CHUNKS (one /missing, one POST /v1/blobs/batch of those
      // the server lacks); the next batch is read and sealed while the last one is sent, so at
      // most two batches are held
      const chunkRefs = [];
      const seen = new Set();
      let batch = [];
      let sending = Promise.resolve();
      let sent = 0;
      const flush = async (items, upTo) => {
        await this.sendBatch(items);
        sent = upTo;
        onBytes(sent);
      };
      for (let off = 0; off < blob.size; off += F.BROWSER_CHUNK) {
        const bytes = new Uint8Array(await blob.slice(off, off + F.BROWSER_CHUNK).arrayBuffer());
        const ref = F.chunkRef(s.bundle.keys, bytes);
        if (!seen.has(ref.id)) {
          seen.add(ref.id);
          refs.push(ref.id);
          batch.push({ id: ref.id, sealed: F.sealChunk(ref, bytes, random(24)) });
        }
        chunkRefs.push(ref);
        const end = off + bytes.length;
        if (batch.length >= BATCH_CHUNKS || end >= blob.size) {
          const items = batch;
          batch = [];
          await sending;
          sending = flush(items, end);
        }
      }
      await sending;
      plain = F.encodeManifest(P.unhex(fileId), version, chunkRefs);
    }
    const sealed = F.sealManifest(P.unhex(fileId), version, plain.plain, fileKey, random(24));
    await this.put(sealed.id, sealed.blob);
    const record = makeRecord({ fileId, version, path, size: plain.size, content: plain.content, manifest: sealed.id, key: fileKey });
    // the manifest is bound to (file id, version): a concurrent writer of the same file in
    // between makes this version stale, and the upload of this file fails as a conflict
    await this.append(record, [sealed.id, ...refs], now, (rec) => {
      const cur = s.files.get(rec.fileId);
      if (cur && cur.version >= rec.version) throw new EngineError(409, 'conflict');
      return rec;
    });
    return record;
  }

  // -- history, trash, restore (as the CLI's `vault history`, `restore`) ------------------------

  history(path) {
    const hist = this.need().byPathLog.get(path) || [];
    if (!hist.length) throw new EngineError(404, 'not_found');
    return hist.map(({ record: r }, i) => ({
      id: i + 1,
      version: i + 1,
      deleted: r.deleted,
      size: r.size,
      modified: r.mtime ? localIso(r.mtime) : null,
      type: r.type,
      certified: r.cert !== null && r.cert !== undefined,
    }));
  }

  trash() {
    const out = [];
    for (const [path, hist] of [...this.need().byPathLog.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const head = this.byPath(path) ? null : hist[hist.length - 1].record;
      if (!head || !head.deleted) continue;
      const live = hist.map((h, i) => [i + 1, h.record]).filter(([, r]) => !r.deleted);
      if (live.length) out.push({ path, size: live[live.length - 1][1].size, deleted_version: hist.length, last_version: live[live.length - 1][0] });
    }
    return out;
  }

  /** Bring back version `n` of `path` (default: the last one with content before the latest) as a new version. */
  async restore(path, n = null, now = Date.now()) {
    const s = this.need();
    await this.sync();
    const hist = s.byPathLog.get(path) || [];
    if (!hist.length) throw new EngineError(404, 'not_found');
    const live = hist.map((h, i) => [i + 1, h.record]).filter(([, r]) => !r.deleted);
    let pick;
    if (n === null || n === undefined) {
      const latestDeleted = hist[hist.length - 1].record.deleted;
      const older = latestDeleted ? live : live.filter(([i]) => i < hist.length);
      pick = older[older.length - 1];
    } else pick = live.find(([i]) => i === Number(n));
    if (!pick) throw new EngineError(400, 'usage', 'version');
    const [from, source] = pick;
    const head = this.byPath(path);
    const fileId = head ? head.fileId : source.fileId;
    const version = (head ? head.version : s.files.get(source.fileId)?.version ?? 0) + 1;
    let m;
    try {
      m = P.openManifest(await this.blob(source.manifest), source.manifest, source.key, P.unhex(source.fileId), source.version);
    } catch (e) {
      throw e instanceof EngineError ? e : integrityFailure();
    }
    const plain = m.data ? F.encodeInlineManifest(P.unhex(fileId), version, m.data) : F.encodeManifest(P.unhex(fileId), version, m.chunks);
    const fileKey = random(32);
    const sealed = F.sealManifest(P.unhex(fileId), version, plain.plain, fileKey, random(24));
    await this.put(sealed.id, sealed.blob);
    const record = { ...F.fileRecord({ fileId, version, path, size: plain.size, mtime: now, content: plain.content, manifest: sealed.id, key: fileKey, type: source.type }), cert: source.cert ?? null };
    await this.append(record, [sealed.id, ...m.chunks.map((c) => c.id)], now, (rec) => {
      const cur = s.files.get(rec.fileId);
      if (cur && cur.version >= rec.version) throw new EngineError(409, 'conflict');
      return rec;
    });
    return { path, from_version: from };
  }

  /** Store sealed chunks [{id, sealed}] the server lacks: one /missing, one batch upload. */
  async sendBatch(items) {
    if (!items.length) return;
    const { missing } = await this.json('POST', '/v1/blobs/missing', { json: { ids: items.map((x) => x.id) } });
    const want = new Set(missing);
    const parts = [];
    for (const { id, sealed } of items) {
      if (!want.has(id)) continue;
      const head = new Uint8Array(1 + id.length + 4);
      head[0] = id.length;
      for (let i = 0; i < id.length; i++) head[1 + i] = id.charCodeAt(i);
      new DataView(head.buffer).setUint32(1 + id.length, sealed.length);
      parts.push(head, sealed);
    }
    if (!parts.length) return;
    const res = await this.http('POST', '/v1/blobs/batch', { bytes: new Blob(parts) });
    if (res.status === 507) throw new EngineError(507, 'quota');
    if (res.status !== 200) throw new EngineError(503, 'unavailable');
  }

  async put(id, bytes) {
    const res = await this.http('PUT', `/v1/blobs/${id}`, { bytes });
    if (res.status === 507) throw new EngineError(507, 'quota');
    if (res.status !== 200 && res.status !== 201) throw new EngineError(503, 'unavailable');
  }

  async devices() {
    const list = await this.json('GET', '/v1/devices');
    return list.map((d) => ({ id: d.id, name: d.name, created_at: d.created_at, revoked_at: d.revoked_at, this: d.id === this.s.deviceId, verified: this.s.verifier.devices.has(d.id) }));
  }
}
