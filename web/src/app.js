// The share page (served at /s/<grant id>): reads the link from the address bar, hands it to
// the worker (which holds every key and does every request and decryption), and shows what the
// worker returns. No HTML is ever built from strings: every text goes through textContent.
//
// The worker script is fetched with Subresource Integrity (its SHA-384 is fixed into this
// bundle at build time, and this bundle is itself loaded with SRI by the page), then started
// from a blob: URL. Trusted Types lets only that URL become a worker.
import { t, setLang, lang, has, formatSize, formatDate } from './i18n.js';

/* global __WORKER_ASSET__, __WORKER_SRI__ */
const WORKER_ASSET = __WORKER_ASSET__;
const WORKER_SRI = __WORKER_SRI__;
const LANG_KEY = 'vault.lang';
const TRUST_KEY = 'vault.trusted-authorities';
const PREVIEWABLE = /\.(pdf|png|jpe?g|gif|webp)$/i;

const $ = (id) => document.getElementById(id);

const state = {
  phase: 'loading', // loading | password | problem | list
  statusKey: 'loading',
  problem: null,
  passwordError: false,
  passwordForced: false,
  data: null, // {owner, expires, items}
  items: new Map(), // index → {cert, busy, progress, note, noteKind}
  preview: null, // {index, url, type, name, opener}
};

// -- settings kept in this browser --------------------------------------------------------------

function storageGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // private mode: the setting lasts for this page only
  }
}

let trusted = [];
function loadTrusted() {
  try {
    const list = JSON.parse(storageGet(TRUST_KEY) || '[]');
    trusted = Array.isArray(list)
      ? list.filter((a) => a && typeof a.key === 'string' && typeof a.name === 'string' && validKey(a.key))
      : [];
  } catch {
    trusted = [];
  }
}

function validKey(key) {
  return /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(key);
}

// -- the worker -----------------------------------------------------------------------------------

let worker = null;
let nextReq = 1;
const waiting = new Map(); // reqId → {resolve, reject, progress}

let ttPolicy = null;
let allowedWorkerUrl = null;
if (window.trustedTypes && window.trustedTypes.createPolicy) {
  ttPolicy = window.trustedTypes.createPolicy('vault', {
    createScriptURL(url) {
      if (allowedWorkerUrl !== null && url === allowedWorkerUrl) return url;
      throw new TypeError('script URL refused');
    },
  });
}

async function startWorker() {
  const res = await fetch(`assets/${WORKER_ASSET}`, {
    integrity: WORKER_SRI,
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    mode: 'same-origin',
  });
  if (!res.ok) throw new Error('worker script unavailable');
  const code = await res.blob();
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  allowedWorkerUrl = url;
  const w = new Worker(ttPolicy ? ttPolicy.createScriptURL(url) : url, { name: 'vault' });
  allowedWorkerUrl = null;
  w.onmessage = (ev) => {
    const msg = ev.data || {};
    const pending = waiting.get(msg.reqId);
    if (!pending) return;
    if (msg.progress) {
      pending.progress?.(msg.progress);
      return;
    }
    waiting.delete(msg.reqId);
    if (msg.error) pending.reject(msg.error);
    else pending.resolve(msg.result);
  };
  w.onerror = () => {
    for (const p of waiting.values()) p.reject('unsupported');
    waiting.clear();
  };
  return w;
}

function ask(op, args = {}, progress = null) {
  return new Promise((resolve, reject) => {
    const reqId = nextReq++;
    waiting.set(reqId, { resolve, reject, progress });
    worker.postMessage({ op, reqId, ...args });
  });
}

function serverBase() {
  const path = window.location.pathname;
  const cut = path.lastIndexOf('/s/');
  return window.location.origin + (cut >= 0 ? path.slice(0, cut) : '');
}

// -- opening the link -------------------------------------------------------------------------------

async function openLink(password = null) {
  state.phase = 'loading';
  state.statusKey = password === null ? 'loading' : 'deriving';
  render();
  try {
    const result = await ask('open', {
      base: serverBase(),
      link: state.passwordForced ? forcePassword(window.location.href) : window.location.href,
      password,
      trusted,
    });
    if (result.needPassword) {
      state.phase = 'password';
      state.passwordError = false;
      render();
      focusLater('password-input');
      return;
    }
    state.data = result;
    state.items = new Map(result.items.map((it) => [it.index, { cert: it.cert, busy: false }]));
    state.phase = 'list';
    render();
    focusLater('docs-title');
  } catch (code) {
    if (code === 'wrong_password') {
      state.phase = 'password';
      state.passwordError = true;
      render();
      focusLater('password-input');
      return;
    }
    showProblem(typeof code === 'string' ? code : 'server');
  }
}

function forcePassword(href) {
  const i = href.indexOf('#');
  if (i < 0 || href.startsWith('pw.', i + 1)) return href;
  return `${href.slice(0, i + 1)}pw.${href.slice(i + 1)}`;
}

function showProblem(code) {
  const known = ['unavailable', 'wrong_secret', 'damaged', 'integrity', 'network', 'rate_limited', 'unsupported'];
  state.problem = code === 'not_a_link' ? 'damaged' : known.includes(code) ? code : 'server';
  state.phase = 'problem';
  state.data = null;
  render();
  focusLater('problem-title');
}

function focusLater(id) {
  window.requestAnimationFrame(() => $(id)?.focus());
}

// -- documents ------------------------------------------------------------------------------------

function baseName(name) {
  const parts = name.split('/');
  return parts[parts.length - 1];
}

function formatLabel(item) {
  if (item.type && has(`type.${item.type}`)) return t(`type.${item.type}`);
  if (item.type) return item.type;
  const n = item.name.toLowerCase();
  if (n.endsWith('.pdf')) return t('format.pdf');
  if (/\.(png|jpe?g|gif|webp|heic|tiff?)$/.test(n)) return t('format.image');
  if (/\.(txt|md|csv)$/.test(n)) return t('format.text');
  return t('format.other');
}

async function fetchDocument(index, mode, opener) {
  const view = state.items.get(index);
  const item = state.data.items[index];
  if (!view || view.busy) return;
  view.busy = true;
  view.progress = 0;
  view.note = null;
  renderItem(index);
  try {
    const result = await ask('fetch', { index, mode, trusted }, ({ done, total }) => {
      view.progress = total > 0 ? Math.floor((done * 100) / total) : 100;
      renderProgress(index);
    });
    view.cert = result.cert;
    if (mode === 'download') {
      const url = URL.createObjectURL(result.blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = baseName(item.name);
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
      view.note = 'docs.downloaded';
      view.noteKind = 'ok';
    } else if (result.previewType) {
      openPreview(index, result.blob, result.previewType, opener);
      view.note = 'docs.previewed';
      view.noteKind = 'ok';
    } else {
      view.note = 'docs.nopreview';
      view.noteKind = 'warn';
    }
  } catch (code) {
    view.note = `docs.failed.${['integrity', 'unavailable', 'network'].includes(code) ? code : 'other'}`;
    view.noteKind = 'error';
  } finally {
    view.busy = false;
    renderItem(index);
  }
}

function openPreview(index, blob, type, opener) {
  closePreview(false);
  state.preview = { index, url: URL.createObjectURL(blob), type, name: state.data.items[index].name, opener };
  renderPreview();
  focusLater('preview-title');
}

function closePreview(restoreFocus = true) {
  const p = state.preview;
  if (!p) return;
  state.preview = null;
  renderPreview();
  URL.revokeObjectURL(p.url);
  if (restoreFocus && p.opener && document.contains(p.opener)) p.opener.focus();
}

// -- rendering ------------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function renderStatic() {
  document.documentElement.lang = lang();
  document.title = t('doc.title');
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  const sw = $('lang');
  sw.textContent = t('lang.switch');
  sw.setAttribute('lang', lang() === 'fr' ? 'en' : 'fr');
  sw.setAttribute('aria-label', t('lang.switch.label'));
}

function render() {
  renderStatic();
  const phase = state.phase;
  $('status').textContent = phase === 'loading' ? t(state.statusKey) : '';
  $('status').hidden = phase !== 'loading';
  $('password').hidden = phase !== 'password';
  $('problem').hidden = phase !== 'problem';
  $('documents').hidden = phase !== 'list';
  if (phase === 'password') {
    const err = $('password-error');
    err.hidden = !state.passwordError;
    err.textContent = state.passwordError ? t('password.wrong') : '';
    $('password-input').setAttribute('aria-invalid', state.passwordError ? 'true' : 'false');
  }
  if (phase === 'problem') {
    $('problem-title').textContent = t(`problem.${state.problem}.title`);
    $('problem-text').textContent = t(`problem.${state.problem}.text`);
    $('problem-password').hidden = state.problem !== 'wrong_secret';
    $('problem-password').textContent = t('problem.wrong_secret.password');
    $('problem-retry').hidden = !['network', 'server', 'rate_limited'].includes(state.problem);
  }
  if (phase === 'list') renderList();
  else $('doc-list').replaceChildren();
  if (phase !== 'list') closePreview(false);
  renderPreview();
  renderTrust();
}

function renderList() {
  const d = state.data;
  $('docs-meta').textContent = t('docs.meta', { owner: d.owner, expires: formatDate(d.expires) });
  $('docs-count').textContent =
    d.items.length === 0 ? t('docs.empty') : d.items.length === 1 ? t('docs.count.one') : t('docs.count.many', { n: d.items.length });
  const list = $('doc-list');
  list.replaceChildren(...d.items.map((it) => el('li', { class: 'doc', id: `doc-${it.index}` })));
  for (const it of d.items) renderItem(it.index);
}

function certNode(cert) {
  const kind = cert ? cert.state : 'none';
  if (kind === 'certified') {
    return el(
      'span',
      { class: 'cert cert-certified' },
      el('span', { class: 'cert-mark', 'aria-hidden': 'true', text: '✔ ' }),
      el('strong', { text: t('cert.certified', { issuer: cert.issuer }) }),
      el('span', { class: 'cert-authority', text: ` (${t('cert.authority', { authority: cert.authority })})` }),
    );
  }
  const mark = { none: '', unverified: '? ', invalid: '✖ ' }[kind] ?? '';
  return el(
    'span',
    { class: `cert cert-${kind}` },
    mark ? el('span', { class: 'cert-mark', 'aria-hidden': 'true', text: mark }) : null,
    t(`cert.${kind}`),
  );
}

function renderItem(index) {
  const li = $(`doc-${index}`);
  if (!li) return;
  const item = state.data.items[index];
  const view = state.items.get(index);
  const nameId = `doc-${index}-name`;
  const meta = el(
    'dl',
    { class: 'doc-meta' },
    el('div', {}, el('dt', { text: t('docs.size') }), el('dd', { text: formatSize(item.size) })),
    el('div', {}, el('dt', { text: t('docs.type') }), el('dd', { text: formatLabel(item) })),
    el('div', { class: 'doc-cert' }, el('dt', { text: t('docs.cert') }), el('dd', {}, certNode(view.cert))),
  );
  const download = el('button', {
    type: 'button',
    class: 'primary',
    text: t('docs.download'),
    'aria-label': t('docs.download.label', { name: item.name }),
    'aria-disabled': view.busy ? 'true' : null,
    'data-action': 'download',
  });
  download.addEventListener('click', () => fetchDocument(index, 'download', download));
  const actions = el('div', { class: 'doc-actions' }, download);
  if (PREVIEWABLE.test(item.name)) {
    const preview = el('button', {
      type: 'button',
      text: t('docs.preview'),
      'aria-label': t('docs.preview.label', { name: item.name }),
      'aria-disabled': view.busy ? 'true' : null,
      'data-action': 'preview',
    });
    preview.addEventListener('click', () => fetchDocument(index, 'preview', preview));
    actions.append(preview);
  }
  const progress = el('div', { class: 'doc-progress', hidden: !view.busy },
    el('progress', { max: '100', value: String(view.progress || 0), 'aria-label': t('docs.progress.label', { name: item.name }) }),
    el('span', { class: 'doc-percent', text: t('docs.progress', { percent: view.progress || 0 }) }),
  );
  const note = el('p', {
    class: `doc-note${view.noteKind ? ` note-${view.noteKind}` : ''}`,
    role: 'status',
    text: view.note ? t(view.note) : '',
  });
  // keep focus where it was across re-renders (a button being re-created)
  const focusedAction = li.contains(document.activeElement) ? document.activeElement.dataset.action : null;
  li.replaceChildren(el('h3', { class: 'doc-name', id: nameId, text: item.name }), meta, actions, progress, note);
  li.setAttribute('aria-labelledby', nameId);
  li.setAttribute('aria-busy', view.busy ? 'true' : 'false');
  if (focusedAction) li.querySelector(`[data-action="${focusedAction}"]`)?.focus();
  if (state.preview && state.preview.index === index) {
    state.preview.opener = li.querySelector('[data-action="preview"]') || state.preview.opener;
  }
}

function renderProgress(index) {
  const li = $(`doc-${index}`);
  const view = state.items.get(index);
  if (!li || !view) return;
  const bar = li.querySelector('progress');
  const pct = li.querySelector('.doc-percent');
  if (bar) bar.value = view.progress;
  if (pct) pct.textContent = t('docs.progress', { percent: view.progress });
}

function renderPreview() {
  const section = $('preview');
  const body = $('preview-body');
  const p = state.preview;
  section.hidden = !p;
  if (!p) {
    body.replaceChildren();
    return;
  }
  $('preview-title').textContent = t('preview.title', { name: p.name });
  $('preview-close').textContent = t('preview.close');
  const current = body.firstElementChild;
  if (current && current.dataset.url === p.url) {
    current.setAttribute(current.tagName === 'IMG' ? 'alt' : 'title', t(current.tagName === 'IMG' ? 'preview.image' : 'preview.frame', { name: p.name }));
    return;
  }
  if (p.type === 'application/pdf') {
    body.replaceChildren(el('iframe', { src: p.url, title: t('preview.frame', { name: p.name }), class: 'preview-pdf', 'data-url': p.url }));
  } else {
    body.replaceChildren(el('img', { src: p.url, alt: t('preview.image', { name: p.name }), class: 'preview-img', 'data-url': p.url }));
  }
}

function renderTrust() {
  const list = $('trust-list');
  if (trusted.length === 0) {
    list.replaceChildren(el('li', { class: 'trust-empty', text: t('trust.empty') }));
  } else {
    list.replaceChildren(
      ...trusted.map((a) => {
        const remove = el('button', {
          type: 'button',
          class: 'link',
          text: t('trust.remove'),
          'aria-label': t('trust.remove.label', { name: a.name }),
        });
        remove.addEventListener('click', () => {
          trusted = trusted.filter((x) => x.key !== a.key);
          saveTrusted(t('trust.removed', { name: a.name }));
          $('trust-name').focus();
        });
        return el('li', {}, el('span', { class: 'trust-name', text: a.name }), ' ', el('code', { text: a.key }), ' ', remove);
      }),
    );
  }
}

function saveTrusted(message) {
  storageSet(TRUST_KEY, JSON.stringify(trusted));
  $('trust-status').textContent = message;
  renderTrust();
  if (state.phase === 'list') {
    ask('certify', { trusted }).then(
      (res) => {
        for (const it of res.items) {
          const view = state.items.get(it.index);
          if (view) view.cert = it.cert;
          renderItem(it.index);
        }
      },
      () => {},
    );
  }
}

// -- wiring ---------------------------------------------------------------------------------------

function wire() {
  $('lang').addEventListener('click', () => {
    setLang(lang() === 'fr' ? 'en' : 'fr');
    storageSet(LANG_KEY, lang());
    render();
  });
  $('password-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('password-input');
    const pw = input.value;
    input.value = '';
    if (pw) openLink(pw);
  });
  $('password-show').addEventListener('change', (ev) => {
    $('password-input').type = ev.target.checked ? 'text' : 'password';
  });
  $('problem-password').addEventListener('click', () => {
    state.passwordForced = true;
    state.phase = 'password';
    state.passwordError = false;
    render();
    focusLater('password-input');
  });
  $('problem-retry').addEventListener('click', () => window.location.reload());
  $('preview-close').addEventListener('click', () => closePreview(true));
  // another link pasted into this tab (same page, new fragment): start again from it
  window.addEventListener('hashchange', () => window.location.reload());
  $('preview').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closePreview(true);
  });
  $('trust-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('trust-name').value.trim();
    const key = $('trust-key').value.trim();
    const err = $('trust-error');
    if (!validKey(key) || !name) {
      err.hidden = false;
      err.textContent = t('trust.bad');
      $('trust-key').setAttribute('aria-invalid', 'true');
      $('trust-key').focus();
      return;
    }
    err.hidden = true;
    $('trust-key').setAttribute('aria-invalid', 'false');
    trusted = [...trusted.filter((a) => a.key !== key), { key, name }];
    $('trust-name').value = '';
    $('trust-key').value = '';
    saveTrusted(t('trust.added', { name }));
  });
}

async function main() {
  setLang(storageGet(LANG_KEY) === 'en' ? 'en' : 'fr');
  loadTrusted();
  wire();
  state.statusKey = 'starting';
  render();
  try {
    worker = await startWorker();
  } catch {
    showProblem('unsupported');
    return;
  }
  await openLink(null);
}

main();
