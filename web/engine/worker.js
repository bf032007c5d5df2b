// The web access engine's worker: the page's only way to the vault. The page talks to it with
// the desktop daemon's local API (docs/APP-API.md), as messages instead of HTTP, so one UI
// serves both: {id, method, path, body} in, {id, status, data} or {id, status, file} out, and
// {id, progress: [done, total]} while a long operation runs. Keys, tokens and file keys stay
// in this worker's memory; nothing is written to any browser storage.
import { Engine, EngineError, ready } from './engine.js';
import { messageOf, uploadStopped } from './messages.js';
import * as Requests from './engine_requests.js';
import * as Inbox from './engine_inbox.js';
import * as Shares from './engine_shares.js';

const engine = new Engine(self.location.origin);
// The page signs out after 15 minutes without a person's activity (its own idle check); the
// server ends this device's session after 15 minutes without a request, and revokes it.
const IDLE_MS = 15 * 60 * 1000;

const SAFE_INLINE = /^(application\/pdf|image\/(png|jpeg|gif|webp))$/;
const TYPES = { pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', txt: 'text/plain; charset=utf-8' };

function mimeOf(path) {
  const ext = (path.split('.').pop() || '').toLowerCase();
  const t = TYPES[ext] || 'application/octet-stream';
  return SAFE_INLINE.test(t) || t.startsWith('text/plain') ? t : 'application/octet-stream';
}

function state() {
  const s = engine.s;
  return {
    profile: s ? 'unlocked' : 'empty',
    web: true,
    handle: s ? s.handle : null,
    server: engine.origin,
    folder: null,
    device_id: s ? s.deviceId : null,
    issuer: false,
    language: 'fr',
    autolock_minutes: IDLE_MS / 60000,
    default_folder: null,
  };
}

// The page polls the status every few seconds: at most every 10 s that asks the server for its
// log head, and a longer log is fetched, verified, and announced to the page (no event socket).
const HEAD_EVERY_MS = 10_000;
let lastHead = 0;
let failing = false;
// a log the server rolled back or altered since sign-in: the session says so and stays so
// (nothing more is fetched into it) until sign-out
let forged = false;

// One engine operation at a time (the log verifier is fed in order): every request but the
// status waits its turn; the status skips its head check while something runs.
let queue = Promise.resolve();
let busy = 0;
function serial(fn) {
  busy++;
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run.finally(() => busy--);
}

async function checkHead() {
  if (!engine.s) return;
  const before = engine.s.verifier.seq;
  const head = await engine.json('GET', '/v1/log/head');
  if (Number(head.seq) !== before) {
    await engine.sync();
    self.postMessage({ event: { kind: 'sync.done', data: { changed: engine.s.verifier.seq - before } } });
  }
}

async function status() {
  if (!forged && !busy && Date.now() - lastHead >= HEAD_EVERY_MS) {
    lastHead = Date.now();
    try {
      await serial(checkHead);
      failing = false;
    } catch (e) {
      if (e instanceof EngineError && e.status === 401) throw e;
      if (e instanceof EngineError && e.code === 'integrity') forged = true;
      failing = true;
    }
  }
  if (forged) {
    const { message, message_en } = messageOf('integrity');
    return { state: 'error', last_sync: engine.lastSync, conflicts: 0, progress: null, message, message_en };
  }
  const state = failing ? 'offline' : 'idle';
  return { state, last_sync: engine.lastSync, conflicts: 0, progress: null, message: null };
}

async function route(method, path, body, reply) {
  const url = new URL(path, engine.origin);
  const p = url.pathname;
  const key = `${method} ${p}`;
  switch (key) {
    case 'GET /api/state':
      return state();
    case 'POST /api/login':
      forged = false;
      return engine.signIn(String(body.handle || '').trim(), String(body.passphrase || ''));
    case 'POST /api/lock':
    case 'POST /api/logout':
      return engine.signOut();
    case 'GET /api/status':
      if (!engine.s) return { state: 'empty', last_sync: null, conflicts: 0, progress: null, message: null };
      return status();
    case 'POST /api/sync':
      await engine.sync();
      return { ok: true };
    case 'GET /api/counts': {
      engine.need();
      const [inbox, reqs, grants] = await Promise.all([engine.json('GET', '/v1/inbox'), engine.json('GET', '/v1/requests'), engine.json('GET', '/v1/grants')]);
      const open = (reqs || []).filter((r) => r.state !== 'answered').length;
      const active = (grants || []).filter((g) => g.state === 'active').length;
      return { inbox: (inbox || []).length, requests: open, shares: active, shared: 0 };
    }
    case 'GET /api/inbox':
      return Inbox.listInbox(engine);
    case 'GET /api/notifications':
      return [];
    case 'GET /api/documents':
      await engine.sync();
      return engine.documents(url.searchParams.get('q') || '');
    case 'GET /api/documents/file': {
      const docPath = url.searchParams.get('path') || '';
      const { parts } = await engine.read(docPath);
      return { file: new Blob(parts, { type: mimeOf(docPath) }) };
    }
    case 'GET /api/documents/history':
      await engine.sync();
      return engine.history(url.searchParams.get('path') || '');
    case 'GET /api/documents/trash':
      await engine.sync();
      return engine.trash();
    case 'POST /api/documents/restore':
      return engine.restore(String(body.path || ''), body.version ?? null);
    case 'POST /api/documents/upload':
      return engine.upload(body.folder || '', body.files || [], (done, total) => reply({ progress: [done, total] }));
    case 'GET /api/requests':
      await engine.sync();
      return Requests.listRequests(engine);
    case 'GET /api/appointments':
    case 'GET /api/asks':
      engine.need();
      return [];
    case 'POST /api/trust/preview':
      engine.need();
      return Requests.trustPreview(body);
    case 'POST /api/trust':
      return Requests.trustForSession(engine, body);
    case 'GET /api/shares':
      return Shares.list(engine);
    case 'POST /api/shares':
      return Shares.create(engine, body);
    case 'GET /api/devices':
      return engine.devices();
    default: {
      const answer = method === 'POST' && p.match(/^\/api\/requests\/([0-9a-f]{32})\/answer$/);
      if (answer) return Requests.answer(engine, answer[1], Array.isArray(body.paths) ? body.paths : [], body.expires_in, body.item || null);
      const inbox = p.match(/^\/api\/inbox\/([0-9a-f]{32})\/(file|accept|refuse)$/);
      if (inbox && method === 'GET' && inbox[2] === 'file') {
        const doc = await Inbox.depositFile(engine, inbox[1]);
        return { file: new Blob([doc.bytes], { type: mimeOf(doc.name) }) };
      }
      if (inbox && method === 'POST' && inbox[2] === 'accept') return Inbox.accept(engine, inbox[1], body.folder || null);
      if (inbox && method === 'POST' && inbox[2] === 'refuse') return Inbox.refuse(engine, inbox[1]);
      const share = p.match(/^\/api\/shares\/([0-9a-f]{32})(\/log)?$/);
      if (share && method === 'GET' && share[2]) return Shares.log(engine, share[1]);
      if (share && method === 'DELETE' && !share[2]) return Shares.revoke(engine, share[1]);
      const who = p.match(/^\/api\/contacts\/([^/]+)$/);
      if (who && method === 'GET') return Shares.contact(engine, decodeURIComponent(who[1]));
      throw new EngineError(404, 'unsupported');
    }
  }
}

self.onmessage = async (ev) => {
  const { id, method, path, body } = ev.data || {};
  const reply = (msg) => self.postMessage({ id, ...msg });
  try {
    await ready;
    const isStatus = method === 'GET' && String(path).startsWith('/api/status');
    const run = () => route(String(method), String(path), body || {}, reply);
    const data = await (isStatus ? run() : serial(run));
    if (data && data.file instanceof Blob) reply({ status: 200, file: data.file });
    else reply({ status: 200, data });
  } catch (e) {
    if (e instanceof EngineError) reply({ status: e.status, data: e.upload ? uploadStopped(e.code, e.upload) : messageOf(e.code) });
    else reply({ status: 500, data: messageOf('error') });
  }
};
