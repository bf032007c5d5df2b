// The web access engine's worker: the page's only way to the vault. The page talks to it with
// the desktop daemon's local API (docs/APP-API.md), as messages instead of HTTP, so one UI
// serves both: {id, method, path, body} in, {id, status, data} or {id, status, file} out, and
// {id, progress: [done, total]} while a long operation runs. Keys, tokens and file keys stay
// in this worker's memory; nothing is written to any browser storage.
import { Engine, EngineError, ready } from './engine.js';
import { messageOf } from './messages.js';

const engine = new Engine(self.location.origin);
const IDLE_MS = 15 * 60 * 1000; // signed out after 15 minutes without a request from the page
let idleTimer = null;

function touch() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    engine.signOut().finally(() => self.postMessage({ event: 'signed_out' }));
  }, IDLE_MS);
}

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

async function route(method, path, body, reply) {
  const url = new URL(path, engine.origin);
  const p = url.pathname;
  const key = `${method} ${p}`;
  switch (key) {
    case 'GET /api/state':
      return state();
    case 'POST /api/login':
      return engine.signIn(String(body.handle || '').trim(), String(body.passphrase || ''));
    case 'POST /api/lock':
    case 'POST /api/logout':
      return engine.signOut();
    case 'GET /api/status':
      if (!engine.s) return { state: 'empty', last_sync: null, conflicts: 0, progress: null, message: null };
      return { state: 'idle', last_sync: engine.lastSync, conflicts: 0, progress: null, message: null };
    case 'POST /api/sync':
      await engine.sync();
      return { ok: true };
    case 'GET /api/counts':
      engine.need();
      return { inbox: 0, requests: 0, shares: 0, shared: 0 };
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
    case 'POST /api/documents/upload':
      return engine.upload(body.folder || '', body.files || [], (done, total) => reply({ progress: [done, total] }));
    case 'GET /api/devices':
      return engine.devices();
    default:
      throw new EngineError(404, 'not_found');
  }
}

self.onmessage = async (ev) => {
  const { id, method, path, body } = ev.data || {};
  const reply = (msg) => self.postMessage({ id, ...msg });
  touch();
  try {
    await ready;
    const data = await route(String(method), String(path), body || {}, reply);
    if (data && data.file instanceof Blob) reply({ status: 200, file: data.file });
    else reply({ status: 200, data });
  } catch (e) {
    if (e instanceof EngineError) reply({ status: e.status, data: messageOf(e.code) });
    else reply({ status: 500, data: messageOf('error') });
  }
};
