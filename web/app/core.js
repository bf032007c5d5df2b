// What every screen shares: the app state, the alert region, toasts, dialogs, previews.
import { $, el, clear, newId } from './dom.js';
import { t, lang } from './i18n.js';
import { ApiError } from './api.js';

export const app = {
  state: null, // GET /api/state
  route: 'documents',
  documents: null, // cached GET /api/documents
  reminders: new Map(), // request id → the daemon's reminder notice (the Demandes badge)
  rerender: () => {},
  refresh: () => {},
};

// -- alert (role=alert) ----------------------------------------------------------------------------

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('app.offline');
    const msg = lang() === 'en' ? err.en || err.fr : err.fr || err.en;
    if (msg) return msg;
  }
  return t('app.error');
}

export function showAlert(textOrError) {
  const box = $('alert');
  const text = typeof textOrError === 'string' ? textOrError : errorText(textOrError);
  box.textContent = text;
  box.hidden = !text;
}

export function clearAlert() {
  const box = $('alert');
  box.textContent = '';
  box.hidden = true;
}

// -- toasts (role=status) ---------------------------------------------------------------------------

export function toast(text, kind = 'info') {
  const box = $('toasts');
  const item = el('p', { class: `toast toast-${kind}`, text });
  box.append(item);
  while (box.children.length > 4) box.firstChild.remove();
  window.setTimeout(() => item.remove(), 8000);
}

// -- busy buttons -----------------------------------------------------------------------------------

/** Runs fn with the button disabled and aria-busy; errors go to the alert region. */
export async function busy(button, fn, { note = null } = {}) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  if (note) note.textContent = t('app.busy');
  clearAlert();
  try {
    return await fn();
  } catch (e) {
    showAlert(e);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
    if (note) note.textContent = '';
  }
}

// -- dialogs (native <dialog>: focus kept inside, Escape closes) --------------------------------------

let opener = null;

export function openDialog(title, body, { wide = false } = {}) {
  const dlg = $('dialog');
  if (dlg.open) dlg.close();
  opener = document.activeElement;
  clear(dlg);
  dlg.className = wide ? 'dialog dialog-wide' : 'dialog';
  const close = el('button', { type: 'button', class: 'dialog-close', text: t('app.close'), onclick: () => closeDialog() });
  dlg.append(el('div', { class: 'dialog-bar' }, el('h2', { id: 'dialog-title', tabindex: '-1', text: title }), close), body);
  dlg.showModal();
  $('dialog-title').focus();
  return dlg;
}

export function closeDialog() {
  const dlg = $('dialog');
  if (dlg.open) dlg.close();
}

export function initDialog() {
  const dlg = $('dialog');
  dlg.addEventListener('close', () => {
    clear(dlg);
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  });
}

/** A dialog with several lines and one action button; resolves true when it is pressed. */
export function askDialog(title, lines, actionLabel, { danger = false } = {}) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      resolve(v);
      closeDialog();
    };
    const body = el(
      'div',
      {},
      ...lines.map((l) => (typeof l === 'string' ? el('p', { text: l }) : l)),
      el(
        'div',
        { class: 'actions' },
        el('button', { type: 'button', class: danger ? 'danger' : 'primary', text: actionLabel, onclick: () => finish(true) }),
        el('button', { type: 'button', text: t('app.cancel'), onclick: () => finish(false) }),
      ),
    );
    const dlg = openDialog(title, body);
    dlg.addEventListener('close', () => finish(false), { once: true });
  });
}

/** A confirmation dialog; resolves true when the action button is pressed. */
export function confirmDialog(title, text, actionLabel) {
  return askDialog(title, [text], actionLabel, { danger: true });
}

// -- previews -----------------------------------------------------------------------------------------

const IMAGE = /\.(png|jpe?g|gif|webp|bmp)$/i;
const PDF = /\.pdf$/i;
const TEXT = /\.(txt|md|csv|log|json)$/i;

export function previewKind(name) {
  if (IMAGE.test(name)) return 'image';
  if (PDF.test(name)) return 'pdf';
  if (TEXT.test(name)) return 'text';
  return null;
}

/** Shows a document in a dialog: <img> for images, a sandboxed <iframe> for text, pages drawn
 * by pdf.js on canvases for PDF (Chromium shows no PDF inside a sandboxed frame). */
export function openPreview(name, inlineUrl, downloadUrl) {
  const kind = previewKind(name);
  const body = el('div', { class: 'preview' });
  if (kind === 'image') body.append(el('img', { class: 'preview-img', src: inlineUrl, alt: t('preview.image', { name }) }));
  else if (kind === 'pdf') body.append(pdfView(name, inlineUrl));
  else if (kind) {
    body.append(el('iframe', { class: 'preview-frame', src: inlineUrl, sandbox: '', title: t('preview.frame', { name }), referrerpolicy: 'no-referrer' }));
  } else body.append(el('p', { text: t('preview.none') }));
  body.append(
    el(
      'p',
      { class: 'actions' },
      el('a', { class: 'button', href: downloadUrl, download: baseName(name), text: t('docs.download') }),
      kind && kind !== 'pdf' ? el('a', { class: 'button', href: inlineUrl, target: '_blank', rel: 'noopener noreferrer', text: t('preview.tab') }) : null,
    ),
  );
  openDialog(t('preview.title', { name }), body, { wide: true });
}

// -- PDF: pdf.js (bundled as /assets/pdf.js, loaded on the first PDF, integrity-checked) ----------------

const PDF_PAGES_SHOWN = 30;
let pdfLib = null;

function loadPdfLib() {
  if (!pdfLib) {
    pdfLib = new Promise((resolve, reject) => {
      // eslint-disable-next-line no-undef
      const script = el('script', { src: '/assets/pdf.js', integrity: __PDF_SRI__, crossorigin: 'anonymous' });
      script.addEventListener('load', () => {
        const lib = window.VaultPdf;
        if (!lib) return reject(new Error('pdf.js'));
        // the parser runs in a worker from 'self'; the page draws what it returns
        if (!lib.GlobalWorkerOptions.workerPort) lib.GlobalWorkerOptions.workerPort = new Worker('/assets/pdf.worker.js');
        resolve(lib);
      });
      script.addEventListener('error', () => {
        pdfLib = null;
        script.remove();
        reject(new Error('pdf.js'));
      });
      document.head.append(script);
    });
  }
  return pdfLib;
}

function pdfView(name, url) {
  const box = el('div', { class: 'pdf-view', role: 'document', 'aria-label': t('preview.frame', { name }), 'aria-busy': 'true', tabindex: '0' });
  const note = el('p', { class: 'muted', text: t('preview.pdf.loading') });
  box.append(note);
  renderPdf(box, note, name, url).catch(() => {
    if (box.querySelector('canvas[data-rendered]')) return; // the pages drawn stay
    note.textContent = t('preview.pdf.failed');
    note.className = 'alert-inline';
    box.removeAttribute('aria-busy');
  });
  return box;
}

async function renderPdf(box, note, name, url) {
  const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const data = new Uint8Array(await res.arrayBuffer());
  const lib = await loadPdfLib();
  const task = lib.getDocument({ data, enableXfa: false, isEvalSupported: false, stopAtErrors: false, disableWorkerRendering: true, useWasm: false });
  const doc = await task.promise;
  try {
    const total = doc.numPages;
    const shown = Math.min(total, PDF_PAGES_SHOWN);
    note.textContent = total === 1 ? t('preview.pdf.pages.one') : t('preview.pdf.pages', { n: total });
    for (let i = 1; i <= shown; i++) {
      if (!document.contains(box)) return; // the dialog was closed
      const page = await doc.getPage(i);
      const base = page.getViewport({ scale: 1 });
      const width = Math.max(200, (box.clientWidth || 800) - 16);
      const ratio = window.devicePixelRatio || 1;
      const scale = Math.min(2, width / base.width);
      const viewport = page.getViewport({ scale: scale * ratio });
      const canvas = el('canvas', { class: 'pdf-page', role: 'img', 'aria-label': t('preview.pdf.page', { n: i, total, name }) });
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = `${Math.floor(viewport.width / ratio)}px`;
      const figure = el('figure', { class: 'pdf-figure' }, canvas);
      box.append(figure);
      await page.render({ canvas, canvasContext: canvas.getContext('2d'), viewport }).promise;
      // the page's text, for screen readers and search in the page (never as HTML)
      const content = await page.getTextContent();
      const words = content.items.map((it) => it.str || '').join(' ').replace(/\s+/g, ' ').trim();
      if (words) figure.append(el('figcaption', { class: 'sr-only', text: words }));
      canvas.dataset.rendered = '1';
    }
    if (shown < total) box.append(el('p', { class: 'muted', text: t('preview.pdf.more', { n: total - shown }) }));
  } finally {
    box.removeAttribute('aria-busy');
    doc.destroy();
  }
}

export function download(url, name) {
  const a = el('a', { href: url, download: baseName(name), hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

export function baseName(path) {
  const parts = String(path).split('/');
  return parts[parts.length - 1] || String(path);
}

export function heading(text) {
  return el('h1', { id: 'view-title', tabindex: '-1', text });
}

export function emptyNote(text) {
  return el('p', { class: 'empty', text });
}

export { newId };
