// The daemon's local API (docs/APP-API.md): same origin, the session cookie goes by itself;
// every state-changing request carries X-Vault-CSRF: 1. Failures become ApiError with the
// daemon's French sentence (message) and its English one (message_en).
//
// Web access (served by vault-server, no daemon): useEngine(worker) routes the same API to the
// in-browser engine (web/engine/worker.js) as messages; every screen stays the same code.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? 'network' : 'error');
    this.fr = body && body.message;
    this.en = body && body.message_en;
  }
}

const listeners = { unauthorized: null };
export function onUnauthorized(fn) {
  listeners.unauthorized = fn;
}

let engine = null; // web access: the engine's Worker, else null (the desktop daemon)
let nextId = 1;
const pending = new Map();

export function useEngine(worker, onEvent = () => {}) {
  engine = worker;
  worker.onmessage = (ev) => {
    const msg = ev.data || {};
    if (msg.event) return onEvent(msg.event);
    const p = pending.get(msg.id);
    if (!p) return;
    if (msg.progress) return p.onProgress && p.onProgress(msg.progress[0], msg.progress[1]);
    pending.delete(msg.id);
    if (msg.status >= 200 && msg.status < 300) p.resolve(msg.file !== undefined ? msg.file : msg.data);
    else {
      const err = new ApiError(msg.status, msg.data);
      if (msg.status === 401 && listeners.unauthorized && !p.path.startsWith('/api/login')) listeners.unauthorized(err, p.path);
      p.reject(err);
    }
  };
}

export const webAccess = () => engine !== null;

function ask(method, path, body, onProgress = null) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, onProgress, path });
    engine.postMessage({ id, method, path, body });
  });
}

/** Web access: an object URL of a document's verified bytes (the daemon serves real URLs). */
let lastUrl = null;
export async function objectUrl(path) {
  // one preview's bytes at a time: the previous document's object URL is released
  const url = URL.createObjectURL(await ask('GET', path));
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  lastUrl = url;
  return url;
}

export async function api(method, path, body = undefined, { raw = false } = {}) {
  if (engine) {
    if (raw) return new Response(await ask(method, path, body));
    return ask(method, path, body);
  }
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Vault-CSRF'] = '1';
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  if (raw && res.ok) return res;
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && listeners.unauthorized) listeners.unauthorized(err, path);
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/** multipart upload with progress (fetch has no upload progress): XMLHttpRequest. */
export function upload(path, form, onProgress) {
  if (engine) {
    const files = [];
    for (const [k, v] of form.entries()) if (k !== 'folder' && v instanceof File) files.push(v);
    return ask('POST', path, { folder: form.get('folder') || '', files }, onProgress);
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('X-Vault-CSRF', '1');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) onProgress(ev.loaded, ev.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.send(form);
  });
}

export const q = (params) =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
