// Mes documents: the folder as a virtualised list (only the rows in view exist in the DOM, so
// 10,004 files render at once and scroll smoothly), search, previews, history, trash, uploads
// (file picker, folder picker, drag and drop, progress) and conflicts.
import { el, clear, $, newId } from './dom.js';
import { t, formatSize, formatDate, typeLabel, formatNumber } from './i18n.js';
import { get, post, upload, q, webAccess, objectUrl } from './api.js';
import { app, heading, toast, showAlert, clearAlert, busy, openDialog, closeDialog, openPreview, baseName, emptyNote } from './core.js';
import { appointmentsSection } from './appointments.js';

const ROW = 68; // px, fixed row height of the virtual list
const OVERSCAN = 6;

const view = {
  folder: '', // vault folder being looked at ('' = top)
  query: '',
  trash: false,
  index: null, // {folders: Map(folder → {dirs: Set, files: []}), byPath}
  rows: [],
  rendered: new Map(),
  list: null,
  inner: null,
  raf: 0,
};

export function fileUrl(path, inline = false) {
  return `/api/documents/file?${q({ path, inline: inline ? 1 : undefined })}`;
}

/** Open a document's preview (web access: its bytes are fetched and verified in the engine first). */
async function preview(path) {
  if (!webAccess()) return openPreview(path, fileUrl(path, true), fileUrl(path));
  try {
    const url = await objectUrl(fileUrl(path));
    openPreview(path, url, url);
  } catch (e) {
    showAlert(e);
  }
}

export async function loadDocuments(force = false) {
  if (!force && app.documents) return app.documents;
  const docs = await get('/api/documents');
  app.documents = Array.isArray(docs) ? docs : [];
  view.index = null;
  return app.documents;
}

function buildIndex(docs) {
  const folders = new Map();
  const ensure = (f) => {
    let node = folders.get(f);
    if (!node) {
      node = { dirs: new Set(), files: [], count: 0 };
      folders.set(f, node);
    }
    return node;
  };
  ensure('');
  for (const d of docs) {
    const path = d.path;
    const cut = path.lastIndexOf('/');
    const folder = cut >= 0 ? path.slice(0, cut) : '';
    ensure(folder).files.push(d);
    // every ancestor knows its child folder and counts the file
    let f = folder;
    while (true) {
      ensure(f).count++;
      if (f === '') break;
      const up = f.lastIndexOf('/');
      const parent = up >= 0 ? f.slice(0, up) : '';
      ensure(parent).dirs.add(f);
      f = parent;
    }
  }
  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  for (const node of folders.values()) node.files.sort((a, b) => coll.compare(a.path, b.path));
  return { folders, coll };
}

function computeRows() {
  const docs = app.documents || [];
  if (!view.index) view.index = buildIndex(docs);
  const qtext = view.query.trim().toLocaleLowerCase();
  if (qtext) {
    const out = [];
    for (const d of docs) if (d.path.toLocaleLowerCase().includes(qtext)) out.push({ doc: d });
    out.sort((a, b) => view.index.coll.compare(a.doc.path, b.doc.path));
    return out;
  }
  const node = view.index.folders.get(view.folder) || { dirs: new Set(), files: [] };
  const dirs = [...node.dirs].sort(view.index.coll.compare).map((f) => ({ dir: f, count: view.index.folders.get(f)?.count || 0 }));
  return [...dirs, ...node.files.map((d) => ({ doc: d }))];
}

export const perf = { start: 0, firstRows: null };

export async function renderDocuments(root) {
  perf.start = performance.now();
  perf.firstRows = null;
  clear(root);
  if (view.trash) return renderTrash(root);
  const title = heading(t('docs.title'));
  const search = el('input', { type: 'search', id: 'doc-search', value: view.query, autocomplete: 'off', spellcheck: 'false' });
  const files = el('input', { type: 'file', multiple: true, hidden: true, id: 'pick-files' });
  const dir = el('input', { type: 'file', multiple: true, hidden: true, id: 'pick-dir', webkitdirectory: true });
  const progress = el('div', { class: 'upload', id: 'upload', hidden: true });
  const count = el('p', { class: 'count', id: 'doc-count' });
  const crumbs = el('nav', { class: 'crumbs', 'aria-label': t('docs.breadcrumb') });
  const zone = el('section', { class: 'zone', id: 'docs-zone', 'aria-labelledby': 'view-title' });
  const list = el('div', { class: 'vlist', id: 'doc-list', tabindex: '0', 'aria-label': t('docs.list') });
  const inner = el('ul', { class: 'vlist-inner', role: 'list' });
  list.append(inner);
  const conflicts = el('section', { id: 'conflicts', class: 'card conflicts', 'aria-labelledby': 'conflicts-title', hidden: true });

  const toolbar = el(
    'div',
    { class: 'toolbar' },
    el('div', { class: 'search' }, el('label', { for: 'doc-search', text: t('docs.search') }), search),
    el(
      'div',
      { class: 'toolbar-actions' },
      el('button', { type: 'button', class: 'primary', text: t('docs.add'), onclick: () => files.click() }),
      el('button', { type: 'button', text: t('docs.addFolder'), onclick: () => dir.click() }),
      el('button', { type: 'button', text: t('docs.trash'), onclick: () => { view.trash = true; renderDocuments(root); } }),
    ),
  );
  zone.append(toolbar, el('p', { class: 'help drop-hint', text: t('docs.drop') }), files, dir, progress, crumbs, count, list);
  const coming = el('div', { id: 'home-appointments' });
  root.append(title, coming, conflicts, zone);
  loadComing(coming);
  view.list = list;
  view.inner = inner;
  view.rendered = new Map();

  let timer = 0;
  search.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      view.query = search.value;
      refreshList(crumbs, count, root);
    }, 120);
  });
  list.addEventListener('scroll', () => schedule(), { passive: true });
  window.addEventListener('resize', schedule, { passive: true });

  const send = (entries) => uploadFiles(entries, root);
  files.addEventListener('change', () => {
    send([...files.files].map((f) => ({ file: f, path: f.name })));
    files.value = '';
  });
  dir.addEventListener('change', () => {
    send([...dir.files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name })));
    dir.value = '';
  });
  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', (ev) => {
    if (ev.target === zone) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', async (ev) => {
    ev.preventDefault();
    zone.classList.remove('dragging');
    send(await droppedFiles(ev.dataTransfer));
  });

  if (!app.documents) {
    count.textContent = t('app.loading');
    try {
      await loadDocuments();
    } catch (e) {
      showAlert(e);
      return;
    }
    if (!document.contains(list)) return;
  }
  refreshList(crumbs, count, root);
  loadConflicts(conflicts);
}

/** The coming appointments above the documents (nothing when there are none). */
async function loadComing(box) {
  try {
    const booked = await get('/api/appointments');
    if (document.contains(box)) box.replaceWith(appointmentsSection(booked || [], 'home-appt-title', { comingOnly: true }));
  } catch {
    // the documents matter more than this summary: an error here shows nothing
  }
}

function refreshList(crumbs, count, root) {
  view.rows = computeRows();
  // breadcrumb
  clear(crumbs);
  if (!view.query.trim()) {
    const parts = view.folder ? view.folder.split('/') : [];
    const trail = el('ol', {});
    const go = (f) => () => {
      view.folder = f;
      refreshList(crumbs, count, root);
      view.list.scrollTop = 0;
    };
    trail.append(el('li', {}, el('button', { type: 'button', class: 'link', text: t('docs.root'), onclick: go(''), 'aria-current': view.folder === '' ? 'location' : null })));
    parts.forEach((p, i) => {
      const f = parts.slice(0, i + 1).join('/');
      trail.append(el('li', {}, el('button', { type: 'button', class: 'link', text: p, onclick: go(f), 'aria-current': i === parts.length - 1 ? 'location' : null })));
    });
    crumbs.append(trail);
  }
  const n = view.rows.length;
  const qtext = view.query.trim();
  if (qtext) count.textContent = n ? t('docs.found', { n: formatNumber(n), q: qtext }) : t('docs.nomatch', { q: qtext });
  else if (!(app.documents || []).length) count.textContent = t('docs.empty');
  else {
    const files = view.index.folders.get(view.folder)?.count || 0;
    count.textContent = files === 1 ? t('docs.count.one') : t('docs.count.many', { n: formatNumber(files) });
  }
  view.inner.style.height = `${n * ROW}px`;
  for (const li of view.rendered.values()) li.remove();
  view.rendered.clear();
  view.list.hidden = n === 0;
  view.openFolder = (f) => {
    view.folder = f;
    view.query = '';
    const s = $('doc-search');
    if (s) s.value = '';
    refreshList(crumbs, count, root);
    view.list.scrollTop = 0;
    view.list.focus();
  };
  view.root = root;
  paint();
}

function schedule() {
  if (view.raf) return;
  view.raf = window.requestAnimationFrame(() => {
    view.raf = 0;
    paint();
  });
}

function paint() {
  const list = view.list;
  if (!list || !document.contains(list)) return;
  const n = view.rows.length;
  const height = list.clientHeight || 600;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - OVERSCAN);
  const last = Math.min(n - 1, Math.ceil((list.scrollTop + height) / ROW) + OVERSCAN);
  for (const [i, li] of view.rendered) {
    if (i < first || i > last) {
      if (li.contains(document.activeElement)) continue; // keep the focused row
      li.remove();
      view.rendered.delete(i);
    }
  }
  for (let i = first; i <= last; i++) {
    if (view.rendered.has(i)) continue;
    const li = row(view.rows[i], i, n);
    li.style.transform = `translateY(${i * ROW}px)`;
    view.rendered.set(i, li);
    view.inner.append(li);
  }
  if (perf.firstRows === null && view.rendered.size) perf.firstRows = performance.now() - perf.start;
}

function row(entry, i, n) {
  const li = el('li', { class: 'row', 'aria-setsize': String(n), 'aria-posinset': String(i + 1) });
  if (entry.dir) {
    const name = baseName(entry.dir);
    li.classList.add('row-dir');
    li.append(
      el(
        'div',
        { class: 'row-main' },
        el('button', { type: 'button', class: 'row-name folder', text: name, onclick: () => view.openFolder(entry.dir) }),
        el('p', { class: 'row-meta', text: entry.count === 1 ? t('docs.folder.count.one') : t('docs.folder.count', { n: entry.count }) }),
      ),
    );
    return li;
  }
  const d = entry.doc;
  const shown = view.query.trim() ? d.path : d.name || baseName(d.path);
  const nameId = newId('doc');
  const meta = el('p', { class: 'row-meta' });
  const bits = [formatSize(d.size), d.modified ? t('docs.modified', { date: formatDate(d.modified) }) : '', typeLabel(d.type)].filter(Boolean);
  meta.append(el('span', { text: bits.join(' · ') }));
  if (d.certificate_problem) meta.append(el('span', { class: 'badge-warn', text: t('docs.certproblem', { problem: d.certificate_problem }) }));
  else if (d.certified_by) meta.append(el('span', { class: 'badge-ok', text: t('docs.certified', { issuer: d.certified_by }) }));
  li.append(
    el(
      'div',
      { class: 'row-main' },
      el('button', { type: 'button', class: 'row-name file', id: nameId, text: shown, title: d.path, onclick: () => preview(d.path) }),
      meta,
    ),
    el('div', { class: 'row-actions' }, el('button', { type: 'button', text: t('docs.history'), 'aria-describedby': nameId, onclick: () => showHistory(d) })),
  );
  return li;
}

// -- history, trash ------------------------------------------------------------------------------

async function showHistory(doc) {
  let versions;
  try {
    versions = await get(`/api/documents/history?${q({ path: doc.path })}`);
  } catch (e) {
    showAlert(e);
    return;
  }
  const list = el('ul', { class: 'plain' });
  const live = (versions || []).filter((v) => !v.deleted).map((v) => v.version);
  const current = live.length ? Math.max(...live) : null;
  const sorted = [...(versions || [])].sort((a, b) => b.version - a.version);
  for (const v of sorted) {
    const bits = [t('history.version', { v: v.version }), formatDate(v.modified), formatSize(v.size)];
    if (v.version === current) bits.push(t('history.current'));
    if (v.deleted) bits.push(t('history.deleted'));
    if (v.certified) bits.push(t('history.certified'));
    const vid = newId('ver');
    const item = el('li', { class: 'item' }, el('span', { id: vid, text: bits.filter(Boolean).join(' · ') }));
    if (!v.deleted && v.version !== current) {
      const b = el('button', { type: 'button', text: t('history.restore'), 'aria-describedby': vid });
      b.addEventListener('click', () =>
        busy(b, async () => {
          await post('/api/documents/restore', { path: doc.path, version: v.version });
          closeDialog();
          toast(t('history.restored', { v: v.version, path: doc.path }));
          await loadDocuments(true);
          app.rerender();
        }),
      );
      item.append(b);
    }
    list.append(item);
  }
  if (!sorted.length) list.append(el('li', { text: t('history.empty') }));
  openDialog(t('history.title', { name: doc.path }), list);
}

async function renderTrash(root) {
  root.append(heading(t('trash.title')));
  root.append(el('p', {}, el('button', { type: 'button', text: t('docs.back'), onclick: () => { view.trash = false; renderDocuments(root); } })));
  const list = el('ul', { class: 'cards', 'aria-labelledby': 'view-title' });
  root.append(list);
  let items;
  try {
    items = await get('/api/documents/trash');
  } catch (e) {
    showAlert(e);
    return;
  }
  if (!items || !items.length) {
    list.replaceWith(emptyNote(t('trash.empty')));
    return;
  }
  for (const it of items) {
    const nid = newId('tr');
    const b = el('button', { type: 'button', text: t('trash.restore'), 'aria-describedby': nid });
    b.addEventListener('click', () =>
      busy(b, async () => {
        await post('/api/documents/restore', { path: it.path });
        toast(t('trash.restored', { path: it.path }));
        await loadDocuments(true);
        renderDocuments(root);
      }),
    );
    list.append(
      el(
        'li',
        { class: 'card item' },
        el('div', {}, el('p', { class: 'item-title', id: nid, text: it.path }), el('p', { class: 'row-meta', text: [formatSize(it.size), t('trash.item', { v: it.deleted_version })].join(' · ') })),
        b,
      ),
    );
  }
}

// -- conflicts -------------------------------------------------------------------------------------

async function loadConflicts(box) {
  let items;
  try {
    items = await get('/api/conflicts');
  } catch {
    return;
  }
  if (!document.contains(box)) return;
  clear(box);
  box.hidden = !items || !items.length;
  if (box.hidden) return;
  box.append(el('h2', { id: 'conflicts-title', text: t('docs.conflicts.title') }), el('p', { text: t('docs.conflicts.intro') }));
  const byPath = new Map((app.documents || []).map((d) => [d.path, d]));
  for (const c of items) {
    const copies = c.copies || [];
    const settle = (keep, copy) => async (ev) =>
      busy(ev.currentTarget, async () => {
        // « Garder celle-ci » on the current file drops every copy (to the trash, restorable);
        // on a copy, that copy becomes the file (the current one stays in its history)
        const todo = keep === 'this' ? [copy] : copies;
        for (const cp of todo) await post('/api/conflicts/resolve', { path: c.path, keep, copy: cp.path });
        toast(t('docs.conflict.done'));
        await loadDocuments(true);
        app.rerender();
      });
    const ul = el('ul', { class: 'plain versions' });
    const version = (path, label, size, modified, actions) => {
      const vid = newId('cp');
      ul.append(
        el(
          'li',
          { class: 'item' },
          el(
            'div',
            {},
            el('button', { type: 'button', class: 'link', id: vid, text: path, title: t('docs.conflict.open'), onclick: () => preview(path) }),
            el('p', { class: 'row-meta', text: [label, formatSize(size), modified ? formatDate(modified) : ''].filter(Boolean).join(' · ') }),
          ),
          el('span', { class: 'actions' }, actions(vid)),
        ),
      );
    };
    const current = byPath.get(c.path);
    if (c.exists) {
      version(c.path, t('docs.conflict.current'), current ? current.size : 0, current && current.modified, (vid) =>
        el('button', { type: 'button', text: t('docs.conflict.keep'), 'aria-describedby': vid, onclick: settle('current') }),
      );
    }
    for (const copy of copies) {
      const who = copy.device ? t('docs.conflict.from', { device: copy.device }) : t('docs.conflict.other');
      version(copy.path, who, copy.size, copy.modified, (vid) =>
        el('button', { type: 'button', text: t('docs.conflict.keep'), 'aria-describedby': vid, onclick: settle('this', copy) }),
      );
    }
    const both = el('button', { type: 'button', text: t('docs.conflict.both'), 'aria-describedby': newId('x'), onclick: settle('both') });
    const hid = both.getAttribute('aria-describedby');
    box.append(
      el('h3', { id: hid, text: c.path }),
      ul,
      el('p', { class: 'actions' }, both, el('span', { class: 'help', text: t('docs.conflict.both.help') })),
    );
  }
}

// -- uploads ---------------------------------------------------------------------------------------

async function droppedFiles(dt) {
  const out = [];
  const items = dt && dt.items ? [...dt.items] : [];
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null)).filter(Boolean);
  if (!entries.length) return dt && dt.files ? [...dt.files].map((f) => ({ file: f, path: f.name })) : [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      let batch;
      do {
        batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      } while (batch.length);
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

async function uploadFiles(entries, root) {
  if (!entries.length) return;
  clearAlert();
  const box = $('upload');
  const bar = el('progress', { max: '100', value: '0', 'aria-label': t('docs.upload.progress') });
  const text = el('span', { text: t('docs.uploading', { n: entries.length, percent: 0 }) });
  if (box) {
    clear(box);
    box.append(bar, text);
    box.hidden = false;
  }
  const form = new FormData();
  form.append('folder', view.folder);
  for (const { file, path } of entries) form.append('files', file, path);
  try {
    const res = await upload('/api/documents/upload', form, (done, total) => {
      const pct = total ? Math.floor((done * 100) / total) : 100;
      bar.value = pct;
      text.textContent = t('docs.uploading', { n: entries.length, percent: pct });
    });
    const n = res && Array.isArray(res.added) ? res.added.length : entries.length;
    toast(n === 1 ? t('docs.uploaded.one') : t('docs.uploaded.many', { n }));
    await loadDocuments(true);
    // the person may have gone to another screen while the list reloaded: #view is theirs now
    if (document.contains(root) && app.route === 'documents') renderDocuments(root);
  } catch (e) {
    showAlert(e.fr || e.status === 0 ? e : t('docs.upload.failed'));
  } finally {
    if (box) box.hidden = true;
  }
}

export function resetDocumentsView() {
  view.trash = false;
  view.folder = '';
  view.query = '';
}

/** Rows currently in the DOM (for tests and the speed check). */
export function renderedRowCount() {
  return view.rendered.size;
}
