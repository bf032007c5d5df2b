// The instruments of benchmarks/web_access.mjs: what it reads from /proc, from Chromium over
// CDP (the page's worker through a non-flat Target session, since playwright keeps the flat
// ones to itself; the tab's memory sampled; the worker's CPU profile summed by function; its
// requests timed) and the controls that say where the page's time goes: the libsodium WASM
// floors in node, the same engine (web/engine/engine.js) run in node against the same server
// (undici's fetch, no browser), and in the page's worker one request body or download pattern
// against another (raw fetch, no crypto), with a token of the node engine's own session.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { PASSPHRASE, requireWeb } from '../tests/web/harness.mjs';
import { Engine, ready } from '../web/engine/engine.js';

export const MB = 1e6;
export const MIB = 1024 * 1024;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const round = (x, n = 1) => (x === null || x === undefined || Number.isNaN(x) ? null : Number(x.toFixed(n)));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// -- /proc ------------------------------------------------------------------------------------

export function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => {
      const m = text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) * 1024 : null;
    };
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

// -- CDP --------------------------------------------------------------------------------------

/** The page's dedicated worker over a non-flat CDP session (playwright keeps the flat ones). */
export class WorkerCDP {
  constructor(cdp) {
    this.cdp = cdp;
    this.next = 1;
    this.waiting = new Map();
    this.sessionId = null;
    this.listeners = new Map();
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      if (e.sessionId !== this.sessionId) return;
      const m = JSON.parse(e.message);
      if (m.method && !m.id) return (this.listeners.get(m.method) || []).forEach((fn) => fn(m.params));
      const w = m.id && this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error.message));
      else w.resolve(m.result);
    });
  }

  async attach() {
    for (let i = 0; i < 50; i++) {
      const { targetInfos } = await this.cdp.send('Target.getTargets');
      const w = targetInfos.find((t) => t.type === 'worker');
      if (w) {
        this.sessionId = (await this.cdp.send('Target.attachToTarget', { targetId: w.targetId, flatten: false })).sessionId;
        return;
      }
      await sleep(100);
    }
    throw new Error('no worker target');
  }

  on(method, fn) {
    if (!this.listeners.has(method)) this.listeners.set(method, []);
    this.listeners.get(method).push(fn);
  }

  /** Bytes of every WebAssembly.Memory in the worker (libsodium's: it grows, never shrinks). */
  async wasmMemory() {
    const proto = await this.send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype' });
    const found = await this.send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
    const sizes = await this.send('Runtime.callFunctionOn', { objectId: found.objects.objectId, functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength); }', returnByValue: true });
    return sizes.result.value;
  }

  send(method, params = {}, timeoutMs = 60_000) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${method}: no answer`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.cdp.send('Target.sendMessageToTarget', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
    });
  }
}

/** Samples the tab's memory every `every` ms until stop(). */
export class Sampler {
  constructor({ pageCdp, worker, browserCdp, serverPid }) {
    Object.assign(this, { pageCdp, worker, browserCdp, serverPid });
    this.pids = [];
    this.pidsAt = 0;
  }

  async refreshPids() {
    const { processInfo } = await this.browserCdp.send('SystemInfo.getProcessInfo');
    this.pids = processInfo.map((p) => ({ pid: p.id, type: p.type }));
    this.pidsAt = Date.now();
  }

  async one() {
    if (Date.now() - this.pidsAt > 2000) await this.refreshPids();
    const s = { t: performance.now(), procs: {}, pageHeap: null, workerHeap: null, server: null };
    for (const { pid, type } of this.pids) {
      const st = procStatus(pid);
      if (st) s.procs[pid] = { type, rss: st.rss, anon: st.anon, file: st.file, shmem: st.shmem };
    }
    const srv = procStatus(this.serverPid);
    s.server = srv && srv.rss;
    const [pm, wh] = await Promise.allSettled([this.pageCdp.send('Performance.getMetrics'), this.worker.send('Runtime.getHeapUsage', {}, 2000)]);
    if (pm.status === 'fulfilled') s.pageHeap = pm.value.metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? null;
    if (wh.status === 'fulfilled') s.workerHeap = wh.value.usedSize;
    return s;
  }

  /** The tab's private memory and the browser process's RSS once both JS heaps are collected. */
  async settled(pid) {
    await Promise.allSettled([this.pageCdp.send('HeapProfiler.collectGarbage'), this.worker.send('HeapProfiler.collectGarbage')]);
    await sleep(1000);
    const s = await this.one();
    const browser = Object.values(s.procs).find((p) => p.type === 'browser');
    return { private: s.procs[pid] ? s.procs[pid].anon : null, browser: browser ? browser.rss : null };
  }

  start(every = 250) {
    this.samples = [];
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        try {
          this.samples.push(await this.one());
        } catch {
          // a sample lost (the worker busy past 2 s): the next one follows
        }
        await sleep(Math.max(0, every - (Date.now() - t)));
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.loop;
    const S = this.samples;
    const maxOf = (f) => S.reduce((m, s) => Math.max(m, f(s) ?? 0), 0) || null;
    // the tab's renderer: the renderer process with the highest RSS peak (the page and its worker)
    const peaks = new Map();
    for (const s of S) for (const [pid, p] of Object.entries(s.procs)) if (p.type === 'renderer') peaks.set(pid, Math.max(peaks.get(pid) || 0, p.rss || 0));
    const tab = [...peaks.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    const first = S.find((s) => tab && s.procs[tab]);
    const withTab = S.filter((s) => tab && s.procs[tab]);
    const tenths = withTab.length ? Array.from({ length: 11 }, (_, i) => withTab[Math.min(withTab.length - 1, Math.round((i * (withTab.length - 1)) / 10))].procs[tab].anon) : [];
    return {
      samples: S.length,
      renderer_pid: tab === null ? null : Number(tab),
      renderer_private_tenths: tenths,
      renderers: peaks.size,
      renderer_rss_start: first ? first.procs[tab].rss : null,
      renderer_rss_peak: tab ? maxOf((s) => s.procs[tab]?.rss) : null,
      renderer_private_start: first ? first.procs[tab].anon : null,
      renderer_private_peak: tab ? maxOf((s) => s.procs[tab]?.anon) : null,
      renderer_file_peak: tab ? maxOf((s) => s.procs[tab]?.file) : null,
      renderer_shmem_peak: tab ? maxOf((s) => s.procs[tab]?.shmem) : null,
      chromium_total_rss_peak: maxOf((s) => Object.values(s.procs).reduce((n, p) => n + (p.rss || 0), 0)),
      browser_process_rss_peak: maxOf((s) => Object.values(s.procs).find((p) => p.type === 'browser')?.rss),
      page_heap_peak: maxOf((s) => s.pageHeap),
      worker_heap_peak: maxOf((s) => s.workerHeap),
      worker_heap_samples: S.filter((s) => s.workerHeap !== null).length,
      server_rss_peak: maxOf((s) => s.server),
    };
  }
}

/** Self time of a CPU profile by function (and by kind: idle, wasm, GC, JS), in ms. */
export function summariseProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) || 0) + (profile.timeDeltas[i] || 0) / 1000);
  }
  const fns = new Map();
  const kinds = { idle: 0, wasm: 0, gc: 0, program: 0, js: 0 };
  let total = 0;
  for (const [id, ms] of self) {
    const cf = byId.get(id).callFrame;
    const name = cf.functionName || '(anonymous)';
    const url = cf.url || '';
    const kind = name === '(idle)' ? 'idle' : name === '(garbage collector)' ? 'gc' : name === '(program)' ? 'program' : url.startsWith('wasm://') || /^\$|^wasm-function/.test(name) ? 'wasm' : 'js';
    kinds[kind] += ms;
    total += ms;
    const key = `${name}${url && kind !== 'wasm' ? ` (${url.split('/').pop().split('?')[0]}:${cf.lineNumber + 1})` : ''}`;
    fns.set(key, (fns.get(key) || 0) + ms);
  }
  const top = [...fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([f, ms]) => ({ fn: f, ms: round(ms, 1), share: round((ms / total) * 100, 1) }));
  return { total_ms: round(total, 0), kinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, round(v, 0)])), top };
}

// -- libsodium WASM floors (node, the same build the worker bundles) ---------------------------

export async function floors(quick) {
  const sodium = requireWeb('libsodium-wrappers-sumo');
  await sodium.ready;
  const n = quick ? 16 : 64;
  const data = sodium.randombytes_buf(MIB);
  const key = sodium.randombytes_buf(32);
  const nonce = sodium.randombytes_buf(24);
  const ad = sodium.randombytes_buf(47);
  const rate = (fn) => {
    fn();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return round((n * MIB) / ((performance.now() - t0) / 1000) / MB, 0);
  };
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(data, ad, null, nonce, key);
  const out = {
    seal_MBs: rate(() => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(data, ad, null, nonce, key)),
    open_MBs: rate(() => sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, ad, nonce, key)),
    sha256_MBs: rate(() => sodium.crypto_hash_sha256(data)),
  };
  // a chunk's whole CPU work in the engine: SHA-256, two HMACs of the hash, the seal
  out.upload_chunk_MBs = rate(() => {
    const h = sodium.crypto_hash_sha256(data);
    sodium.crypto_auth_hmacsha256(h, key);
    sodium.crypto_auth_hmacsha256(h, key);
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(data, ad, null, nonce, key);
  });
  out.download_chunk_MBs = rate(() => sodium.crypto_hash_sha256(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, ad, nonce, key)));
  const salt = sodium.randombytes_buf(16);
  const t0 = performance.now();
  sodium.crypto_pwhash(32, 'correct horse battery staple', salt, 3, 64 * MIB, sodium.crypto_pwhash_ALG_ARGON2ID13);
  out.argon2id_floor_ms = round(performance.now() - t0, 0);
  return out;
}

/** The worker's requests while `fn` runs: count, total and median ms by kind (CDP Network). */
export function netRecorder(worker) {
  const reqs = new Map();
  let on = false;
  worker.on('Network.requestWillBeSent', (p) => on && reqs.set(p.requestId, { kind: `${p.request.method} ${new URL(p.request.url).pathname.replace(/[0-9a-f]{64}$/, '{id}')}`, t0: p.timestamp }));
  worker.on('Network.loadingFinished', (p) => {
    const r = reqs.get(p.requestId);
    if (r) r.t1 = p.timestamp;
  });
  return {
    start: () => (reqs.clear(), (on = true)),
    stop() {
      on = false;
      const by = {};
      let first = Infinity;
      let last = -Infinity;
      for (const r of reqs.values()) {
        if (r.t1 === undefined) continue;
        (by[r.kind] = by[r.kind] || []).push((r.t1 - r.t0) * 1000);
        first = Math.min(first, r.t0);
        last = Math.max(last, r.t1);
      }
      const out = { '(first request sent to last body received)': { n: 0, total_ms: round((last - first) * 1000, 0), median_ms: null } };
      for (const [k, v] of Object.entries(by)) out[k] = { n: v.length, total_ms: round(v.reduce((x, y) => x + y, 0), 0), median_ms: round(median(v), 1) };
      return out;
    },
  };
}

export async function profiled(worker, net, fn) {
  await worker.send('Network.enable');
  net.start();
  await worker.send('Profiler.enable');
  await worker.send('Profiler.setSamplingInterval', { interval: 500 });
  await worker.send('Profiler.start');
  const ms = await fn();
  const { profile } = await worker.send('Profiler.stop', {}, 120_000);
  await worker.send('Profiler.disable');
  const requests = net.stop();
  await worker.send('Network.disable');
  return { wall_ms: round(ms, 0), requests, ...summariseProfile(profile) };
}

// -- controls ---------------------------------------------------------------------------------

/** In the page's worker: n PUTs of 1 MiB (random, fresh ids) with the body as `kind`; median ms. */
async function putIn(worker, token, kind, n) {
  return worker.evaluate(
    async ({ token, kind, n }) => {
      const ts = [];
      for (let i = 0; i < n; i++) {
        const b = new Uint8Array(1024 * 1024);
        for (let o = 0; o < b.length; o += 65536) crypto.getRandomValues(b.subarray(o, o + 65536));
        const id = [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))].map((x) => x.toString(16).padStart(2, '0')).join('');
        const t0 = performance.now();
        const res = await fetch(`${self.location.origin}/v1/blobs/${id}`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body: kind === 'blob' ? new Blob([b]) : b, cache: 'no-store', credentials: 'omit' });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`PUT ${res.status}`);
        ts.push(performance.now() - t0);
      }
      ts.sort((a, b) => a - b);
      return ts[ts.length >> 1];
    },
    { token, kind, n },
  );
}

/**
 * In the page's worker: GET every blob of `ids`, `inFlight` at a time, each body read whole
 * (`arrayBuffer`, as the engine reads) or through its stream reader (`reader`); MB/s.
 */
async function getIn(worker, token, ids, inFlight, mode) {
  const got = await worker.evaluate(
    async ({ token, ids, inFlight, mode }) => {
      let next = 0;
      let bytes = 0;
      const t0 = performance.now();
      const one = async () => {
        while (next < ids.length) {
          const id = ids[next++];
          const res = await fetch(`${self.location.origin}/v1/blobs/${id}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit' });
          if (mode === 'arrayBuffer') bytes += (await res.arrayBuffer()).byteLength;
          else {
            const rd = res.body.getReader();
            for (let r = await rd.read(); !r.done; r = await rd.read()) bytes += r.value.length;
          }
        }
      };
      await Promise.all(Array.from({ length: inFlight }, one));
      return { ms: performance.now() - t0, bytes };
    },
    { token, ids, inFlight, mode },
  );
  return round(got.bytes / (got.ms / 1000) / MB, 1);
}

/** In the page's worker: POST /v1/blobs/batch bodies of 8 records of 1 MiB, as one Blob; MB/s. */
async function batchIn(worker, token, batches) {
  const got = await worker.evaluate(
    async ({ token, batches }) => {
      let ms = 0;
      let bytes = 0;
      for (let i = 0; i < batches; i++) {
        const parts = [];
        for (let k = 0; k < 8; k++) {
          const b = new Uint8Array(1024 * 1024);
          for (let o = 0; o < b.length; o += 65536) crypto.getRandomValues(b.subarray(o, o + 65536));
          const id = [...crypto.getRandomValues(new Uint8Array(32))].map((x) => x.toString(16).padStart(2, '0')).join('');
          const len = new Uint8Array(4);
          new DataView(len.buffer).setUint32(0, b.length);
          parts.push(new Uint8Array([id.length]), new TextEncoder().encode(id), len, b);
          bytes += b.length;
        }
        const body = new Blob(parts);
        const t0 = performance.now();
        const res = await fetch(`${self.location.origin}/v1/blobs/batch`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body, cache: 'no-store', credentials: 'omit' });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`batch ${res.status}`);
        ms += performance.now() - t0;
      }
      return { ms, bytes };
    },
    { token, batches },
  );
  return round(got.bytes / (got.ms / 1000) / MB, 1);
}

/**
 * The same engine in node (a session of its own, signed out at the end): sign-in, an upload of
 * `file`, a read of `readPath` (checked against `readSha`); then, in the page's `worker`, PUTs
 * with a Uint8Array body (as the engine sends them) against a Blob body (time, and the tab's
 * private memory before and after each series: `tabPrivate`), and the blobs of
 * bodies of POST /v1/blobs/batch (8 MiB), and the blobs of `readPath` fetched one at a time and
 * four at a time, read whole (as the engine reads) or through the body's stream reader.
 */
export async function controls({ origin, handle, file, readPath, readSha, worker, puts, tabPrivate }) {
  await ready;
  const e = new Engine(origin);
  const out = {};
  let t0 = performance.now();
  await e.signIn(handle, PASSPHRASE);
  out.node_signin_ms = round(performance.now() - t0, 0);
  const data = readFileSync(file);
  t0 = performance.now();
  await e.upload('', [new File([data], `noeud-${file.split('/').pop()}`)]);
  out.node_upload_MBs = round(data.length / ((performance.now() - t0) / 1000) / MB, 1);
  t0 = performance.now();
  const { record, parts } = await e.read(readPath);
  out.node_read_MBs = round(record.size / ((performance.now() - t0) / 1000) / MB, 1);
  const h = createHash('sha256');
  for (const p of parts) h.update(p instanceof Blob ? new Uint8Array(await p.arrayBuffer()) : p);
  out.node_read_equal = h.digest('hex') === readSha;
  const m = await e.manifestOf(record);
  const ids = m.chunks.map((c) => c.id);
  out.read_chunks = ids.length;
  const token = e.s.token;
  // and what each kind of body leaves in the tab (private memory, heaps collected)
  for (const kind of ['u8', 'blob']) {
    const before = await tabPrivate();
    out[`put_${kind}_ms`] = round(await putIn(worker, token, kind, puts), 1);
    out[`put_${kind}_private_growth`] = (await tabPrivate()) - before;
  }
  out.batch_blob_MBs = await batchIn(worker, token, Math.max(1, puts >> 3));
  for (const mode of ['arrayBuffer', 'reader']) for (const n of [1, 4]) out[`get_${mode}_${n}_MBs`] = await getIn(worker, token, ids, n, mode);
  await e.signOut();
  return out;
}
