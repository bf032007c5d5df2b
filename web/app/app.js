// The desktop app's page (served by `vault app` on 127.0.0.1). The daemon holds every key; this
// page only shows what the local API (docs/APP-API.md) returns. It exchanges the launch token
// from the URL fragment for a session cookie, then removes it from the address bar. No HTML is
// built from strings (textContent only); nothing secret is stored in the browser (only the
// language choice goes to localStorage).
import { $, el, clear } from './dom.js';
import { t, setLang, lang, formatDate, toDate } from './i18n.js';
import { get, post, onUnauthorized, ApiError, useEngine, webAccess } from './api.js';
import { renderSignIn, startEngine } from './websignin.js';
import { app, showAlert, clearAlert, toast, initDialog, closeDialog, errorText } from './core.js';
import { renderOnboarding, renderUnlock, closeKit } from './onboarding.js';
import { renderDocuments, loadDocuments, resetDocumentsView, perf } from './documents.js';
import { renderShares } from './shares.js';
import { renderInbox, renderRequests, renderShared, renderDevices, renderSettings } from './views.js';
import { renderDesk, refreshDesk } from './issuer.js';
import { renderHelpers, refreshHelpers } from './helpers.js';
import { renderRecovery, pendingOwn } from './recovery_view.js';

const LANG_KEY = 'vault.app.lang';
const ROUTES = [
  ['documents', 'nav.documents', renderDocuments, null],
  ['inbox', 'nav.inbox', renderInbox, 'inbox'],
  ['requests', 'nav.requests', renderRequests, 'requests'],
  ['shares', 'nav.shares', renderShares, null],
  ['shared', 'nav.shared', renderShared, 'shared'],
  ['helpers', 'nav.helpers', renderHelpers, null],
  ['recovery', 'nav.recovery', renderRecovery, 'recovery'],
  ['devices', 'nav.devices', renderDevices, null],
  ['settings', 'nav.settings', renderSettings, null],
];
const STATUS_EVERY_MS = 4000;
// web access (vault-server serves this page; the engine runs in a Worker): the screens it has so far
const WEB_ROUTES = new Set(['documents', 'inbox', 'requests', 'shares', 'devices']);
const routes = () => (webAccess() ? ROUTES.filter(([r]) => WEB_ROUTES.has(r)) : ROUTES);

let phase = 'loading'; // loading | session | empty | locked | unlocked | daemon
let lastCounts = null;
let status = null;

// -- language ---------------------------------------------------------------------------------------

function initialLang() {
  let stored = null;
  try {
    stored = window.localStorage.getItem(LANG_KEY);
  } catch {
    stored = null;
  }
  if (stored === 'fr' || stored === 'en') return stored;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'fr';
  return /^en\b/i.test(nav) ? 'en' : 'fr';
}

function hasStoredLang() {
  try {
    return !!window.localStorage.getItem(LANG_KEY);
  } catch {
    return false;
  }
}

function renderStatic() {
  document.documentElement.lang = lang();
  document.title = t('app.title');
  $('brand').textContent = t('app.title');
  $('skip').textContent = t('app.skip');
  $('lock').textContent = t(webAccess() ? 'web.signout' : 'lock.button');
  $('nav').setAttribute('aria-label', t('app.nav'));
}

// -- routing ----------------------------------------------------------------------------------------

function routeFromHash() {
  const h = window.location.hash.replace(/^#\/?/, '');
  return routes().some(([r]) => r === h) ? h : 'documents';
}

function renderNav() {
  const nav = $('nav');
  clear(nav);
  const ul = el('ul', {});
  const counts = (app.state && app.state.counts) || {};
  for (const [route, key, , countKey] of routes()) {
    const n = countKey ? Number(counts[countKey] || 0) : 0;
    const a = el('a', { href: `#${route}`, id: `nav-${route}`, 'aria-current': route === app.route ? 'page' : null });
    a.append(el('span', { class: 'nav-label', text: t(key) }));
    const due = route === 'requests' ? app.reminders.size : 0;
    if (n > 0 || due > 0) {
      const bid = `badge-${route}`;
      a.append(el('span', { class: due ? 'badge badge-remind' : 'badge', 'aria-hidden': 'true', text: String(Math.max(n, due)) }));
      a.setAttribute('aria-describedby', bid);
      const said = n > 0 ? t('nav.badge', { n }) : '';
      const remind = due ? (due === 1 ? t('nav.reminder.one') : t('nav.reminder.many', { n: due })) : '';
      ul.append(el('span', { id: bid, hidden: true, text: [said, remind].filter(Boolean).join(', ') }));
    }
    ul.append(el('li', {}, a));
  }
  nav.append(ul);
}

async function renderView(focus = true) {
  const view = $('view');
  const entry = ROUTES.find(([r]) => r === app.route) || ROUTES[0];
  renderNav();
  try {
    await entry[2](view);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    showAlert(e);
  }
  if (focus) window.requestAnimationFrame(() => $('view-title')?.focus({ preventScroll: false }));
}

function go(route) {
  if (window.location.hash !== `#${route}`) window.location.hash = route;
  else navigate();
}

function navigate() {
  if (phase !== 'unlocked') return;
  const route = routeFromHash();
  clearAlert();
  closeDialog();
  if (route === 'documents' && app.route !== 'documents') resetDocumentsView();
  app.route = route;
  renderView(true);
}

// -- phases -----------------------------------------------------------------------------------------

// Espace administration: in the menu (second) only while the profile holds an issuer key
const DESK = ['desk', 'nav.desk', renderDesk, null];
function placeDesk() {
  const at = ROUTES.indexOf(DESK);
  const wanted = !!(app.state && app.state.issuer);
  if (wanted && at < 0) ROUTES.splice(1, 0, DESK);
  else if (!wanted && at >= 0) ROUTES.splice(at, 1);
}

async function loadState() {
  app.state = await get('/api/state');
  placeDesk();
  if (app.state && app.state.profile === 'unlocked' && !app.state.counts) {
    // the daemon gives the badge counts on their own endpoint (GET /api/counts)
    try {
      app.state.counts = await get('/api/counts');
    } catch {
      app.state.counts = {};
    }
  }
  if (!hasStoredLang() && app.state && (app.state.language === 'en' || app.state.language === 'fr') && app.state.language !== lang()) {
    // the person's saved choice (Paramètres) wins over the browser only when it differs from French
    if (app.state.language === 'en') setLang('en');
  }
  return app.state;
}

async function enter() {
  try {
    await loadState();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && e.code !== 'locked') return showSession();
    return showDaemonDown(e);
  }
  const profile = app.state.profile;
  renderStatic();
  clearAlert();
  closeKit();
  if (profile === 'empty' && webAccess()) {
    setPhase('empty');
    renderSignIn($('view'), () => enter());
    focusTitle();
  } else if (profile === 'empty') {
    setPhase('empty');
    renderOnboarding($('view'), () => enter());
    focusTitle();
  } else if (profile === 'locked') {
    setPhase('locked');
    renderUnlock($('view'), () => enter());
  } else {
    setPhase('unlocked');
    app.route = routeFromHash();
    app.documents = null;
    lastCounts = app.state.counts || {};
    seenNotice = 0;
    app.reminders = new Map();
    await renderView(true);
    pollStatus();
    startEvents();
    touch();
    catchUp(true);
    refreshNotice();
  }
}

function setPhase(p) {
  phase = p;
  const on = p === 'unlocked';
  $('nav').hidden = !on;
  $('lock').hidden = !on;
  $('sync').hidden = !on;
  document.body.classList.toggle('unlocked', on);
  if (!on) {
    stopEvents();
    window.clearTimeout(pollTimer);
    showRecoveryNotice([]);
  }
}

function focusTitle() {
  window.requestAnimationFrame(() => $('view-title')?.focus());
}

function showSession() {
  setPhase('session');
  const view = clear($('view'));
  view.append(el('h1', { id: 'view-title', tabindex: '-1', text: t('app.session.title') }), el('p', { class: 'card', text: t('app.session.text') }));
  focusTitle();
}

function showDaemonDown(e) {
  setPhase('daemon');
  const view = clear($('view'));
  view.append(
    el('h1', { id: 'view-title', tabindex: '-1', text: t('app.daemon.title') }),
    el('p', { class: 'card', text: e instanceof ApiError && e.status !== 0 ? errorText(e) : t('app.daemon.text') }),
    el('p', {}, el('button', { type: 'button', text: t('app.retry'), onclick: () => enter() })),
  );
  focusTitle();
}

/** Web access: the engine's script failed its integrity check (or did not load): nothing runs. */
function showWebBroken() {
  setPhase('daemon');
  const view = clear($('view'));
  view.append(el('h1', { id: 'view-title', tabindex: '-1', text: t('web.broken.title') }), el('p', { class: 'card', role: 'alert', text: t('web.broken.text') }));
  focusTitle();
}

async function lockNow(auto = false) {
  try {
    await post('/api/lock', {});
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      showAlert(e);
      return;
    }
  }
  app.documents = null;
  await enter();
  if (auto) {
    const n = Number((app.state && app.state.autolock_minutes) || 15);
    if (webAccess()) showAlert(t('web.auto', { n }));
    else showAlert(n === 1 ? t('lock.auto.one') : t('lock.auto', { n }));
  }
}

// -- sync status (role=status), polled and refreshed on events ---------------------------------------

let pollTimer = 0;
async function pollStatus() {
  window.clearTimeout(pollTimer);
  if (phase !== 'unlocked') return;
  try {
    status = await get('/api/status');
    renderStatus();
    if (status && status.state === 'locked') {
      await enter();
      return;
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) {
      status = { state: 'offline', last_sync: status && status.last_sync };
      renderStatus();
    }
  }
  pollTimer = window.setTimeout(pollStatus, STATUS_EVERY_MS);
}

function renderStatus() {
  const box = $('sync');
  if (!status) return;
  let text;
  const s = status.state;
  if (s === 'syncing') {
    const n = status.progress ? Math.max(0, status.progress.total - status.progress.done) : status.pending;
    text = n ? (n === 1 ? t('sync.syncing.one') : t('sync.syncing', { n })) : t('sync.syncing.plain');
  } else if (s === 'offline') text = status.last_sync ? t('sync.offline.since', { when: formatDate(status.last_sync) }) : t('sync.offline');
  else if (s === 'locked') text = t('sync.locked');
  else if (s === 'error') text = (lang() === 'en' && status.message_en) || status.message || t('sync.error');
  else if (status.pending > 0) text = status.pending === 1 ? t('sync.syncing.one') : t('sync.syncing', { n: status.pending });
  else text = t('sync.idle');
  if (status.conflicts > 0) text += ` · ${status.conflicts === 1 ? t('sync.conflicts.one') : t('sync.conflicts.many', { n: status.conflicts })}`;
  const key = `${s}|${text}|${status.progress ? `${status.progress.done}/${status.progress.total}` : ''}`;
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.dataset.state = s;
  clear(box);
  box.append(el('span', { class: 'sync-text', text }));
  if (s === 'syncing' && status.progress && status.progress.total > 0) {
    box.append(el('progress', { max: String(status.progress.total), value: String(status.progress.done), 'aria-label': t('sync.progress') }));
  }
}

// -- live: the daemon's event stream ------------------------------------------------------------------

let source = null;
let noticed = false;
let refreshTimer = 0;

function startEvents() {
  if (source || typeof EventSource === 'undefined' || webAccess()) return;
  source = new EventSource('/api/events');
  source.onmessage = (ev) => {
    let e;
    try {
      e = JSON.parse(ev.data);
    } catch {
      return;
    }
    onEvent(e);
  };
  source.onopen = () => catchUp(false); // what came while the stream was (re)connecting
  source.onerror = () => {
    // EventSource reconnects by itself; a locked profile or a lost session stops it
    if (phase !== 'unlocked') stopEvents();
  };
}

function stopEvents() {
  if (source) source.close();
  source = null;
}

function notifyDesktop(text) {
  try {
    if ('Notification' in window && Notification.permission === 'granted' && document.visibilityState !== 'visible') {
      new Notification(t('app.title'), { body: text, icon: '/assets/icon.svg' });
    }
  } catch {
    /* not available */
  }
}

function announce(text) {
  toast(text);
  notifyDesktop(text);
}

// The notices the daemon keeps (GET /api/notifications: a link opened, a deposit, a request, a
// reminder, a device removed, a conflict) are shown from there, each once per page (by id),
// whether the event stream brought the news or the page was opened later: on opening, only the
// reminders the daemon announced are shown again (toast and badge; the daemon announces each at
// most once per interval of Paramètres, so the page never adds a reminder of its own).
let seenNotice = 0;
let catching = null;
const shown = new Set(); // notice ids this page has shown (a lock and unlock shows none twice)
const NOTICE_KINDS = new Set(['share.opened', 'inbox.new', 'request.new', 'device.revoked', 'reminder', 'conflict', 'recovery']);

async function catchUp(opening) {
  if (phase !== 'unlocked') return;
  if (catching) {
    await catching;
    if (!opening) return catchUp(false);
    return;
  }
  catching = (async () => {
    let items;
    try {
      items = await get(`/api/notifications?after=${seenNotice}`);
    } catch {
      return;
    }
    let reminders = 0;
    for (const n of items || []) {
      seenNotice = Math.max(seenNotice, Number(n.id) || 0);
      const fresh = !shown.has(n.id);
      shown.add(n.id);
      if (n.kind === 'reminder') {
        app.reminders.set(String((n.data && n.data.id) || n.id), n);
        if (fresh) reminders++;
      } else if (fresh && !opening) showNotice(n);
    }
    if (reminders) {
      announce(reminders === 1 ? t('live.reminder') : t('live.reminders', { n: reminders }));
      renderNav();
    }
  })();
  try {
    await catching;
  } finally {
    catching = null;
  }
}

function showNotice(n) {
  const kind = n.kind;
  if (kind === 'share.opened') announce(t('live.share.opened'));
  else if (kind === 'inbox.new') announce(t('live.inbox'));
  else if (kind === 'request.new') announce(t(app.route === 'desk' ? 'desk.live.request' : 'live.request'));
  else if (kind === 'device.revoked') toast(t('live.device'));
  else if (kind === 'conflict') announce(t('live.conflict'));
  else if (kind === 'recovery') {
    announce(t('live.recovery'));
    refreshNotice();
  }
}

// -- a recovery of this account pending: a notice above every screen, until it is vetoed or ends -----

let noticeRun = 0;
async function refreshNotice() {
  if (phase !== 'unlocked' || webAccess()) return;
  const run = ++noticeRun;
  let items;
  try {
    items = await pendingOwn();
  } catch {
    return;
  }
  if (run === noticeRun && phase === 'unlocked') showRecoveryNotice(items);
}
app.refreshNotice = () => refreshNotice();

function showRecoveryNotice(items) {
  let box = $('recovery-notice');
  if (!items.length) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = el('section', { id: 'recovery-notice', class: 'alert notice', 'aria-label': t('rec.notice.label') });
    $('view').before(box);
  }
  clear(box);
  const dates = items.map((r) => formatDate(r.created)).join(', ');
  box.append(
    el('p', { text: `${t('rec.notice')} (${dates})` }),
    el('p', {}, el('a', { href: '#recovery', text: t('rec.notice.link') })),
  );
}

function onEvent(e) {
  let kind = e && e.kind;
  if (!kind || kind.startsWith('progress.')) {
    scheduleStatus();
    return;
  }
  if (NOTICE_KINDS.has(kind)) catchUp(false);
  else if (kind === 'warning') {
    // the service's note in the page's language (a key pinned, a version restored), or the
    // generic sentence when the catalogue has none
    const said = e.sentences && e.sentences[lang()];
    if (said && (lang() === 'en' || said !== e.text)) toast(said);
    else toast(t('live.warning'), 'warn');
  }
  else if (kind === 'server.unavailable') scheduleStatus();
  else if (kind === 'server.changed') {
    const type = String((e.data && (e.data.type || e.data.kind)) || '');
    if (/deposit|inbox/.test(type)) announce(t('live.inbox'));
    else if (/request/.test(type)) announce(t('live.request'));
  }
  if (kind === 'inbox.new' || kind === 'request.new') noticed = true;
  if (kind === 'sync.done' || kind === 'server.changed' || kind === 'conflict') app.documents = null;
  if (kind === 'ask.new' && app.route === 'desk') announce(t('desk.live.ask'));
  if (kind === 'inbox.new' || kind === 'request.new' || kind === 'ask.new') kind = 'server.changed';
  scheduleStatus();
  scheduleRefresh(kind);
}

function scheduleStatus() {
  window.clearTimeout(pollTimer);
  pollTimer = window.setTimeout(pollStatus, 300);
}

function scheduleRefresh(kind) {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(async () => {
    await refreshCounts(true);
    if (phase !== 'unlocked') return;
    const active = document.activeElement;
    const typing = active && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA' || active.tagName === 'SELECT');
    if ($('dialog').open || typing) return;
    if (app.route === 'documents' && (kind === 'sync.done' || kind === 'server.changed' || kind === 'conflict')) {
      try {
        await loadDocuments(true);
      } catch {
        return;
      }
      renderView(false);
    } else if (['inbox', 'requests', 'shared'].includes(app.route) && kind === 'server.changed') renderView(false);
    else if (app.route === 'desk' && kind === 'server.changed') refreshDesk().catch(() => {});
    else if (app.route === 'helpers' && (kind === 'sync.done' || kind === 'server.changed')) refreshHelpers().catch(() => {});
    else if (app.route === 'recovery' && kind === 'recovery') renderView(false);
    else if (app.route === 'shares' && kind === 'share.opened' && !document.querySelector('#share-form-title')) renderView(false);
  }, 400);
}

/** GET /api/state again: badges, and a notice when the inbox or the requests grew. */
async function refreshCounts(fromEvent = false) {
  if (phase !== 'unlocked') return;
  try {
    await loadState();
  } catch {
    return;
  }
  if (app.state.profile !== 'unlocked') {
    await enter();
    return;
  }
  const c = app.state.counts || {};
  if (lastCounts && fromEvent && !noticed) {
    if ((c.inbox || 0) > (lastCounts.inbox || 0)) announce(t('live.inbox'));
    if ((c.requests || 0) > (lastCounts.requests || 0)) announce(t('live.request'));
  }
  noticed = false;
  lastCounts = c;
  renderNav();
}
app.refreshCounts = () => refreshCounts(false);
app.refreshNav = () => renderNav();
app.rerender = (langChanged = false) => {
  if (langChanged) {
    renderStatic();
    if (status) {
      $('sync').dataset.key = '';
      renderStatus();
    }
  }
  renderView(!!langChanged);
};

// -- auto-lock after the idle minutes of Paramètres -----------------------------------------------------

let lastActivity = Date.now();
let idleTimer = 0;
// The idle time is the person's, not the tab's: the tabs of this browser tell each other when
// someone works in one (BroadcastChannel: nothing stored), so an idle tab does not lock the
// daemon under the one in use.
const activity = 'BroadcastChannel' in window ? new BroadcastChannel('vault-activity') : null;
let lastTold = 0;
function touch() {
  lastActivity = Date.now();
  if (activity && lastActivity - lastTold >= 5_000) {
    lastTold = lastActivity;
    activity.postMessage(lastActivity);
  }
}
if (activity) {
  activity.onmessage = (ev) => {
    if (typeof ev.data === 'number') lastActivity = Math.max(lastActivity, Math.min(ev.data, Date.now()));
  };
}
function checkIdle() {
  if (phase === 'unlocked') {
    const minutes = Number((app.state && app.state.autolock_minutes) || 15);
    if (minutes > 0 && Date.now() - lastActivity >= minutes * 60_000) {
      lockNow(true);
    }
  }
}

// -- start --------------------------------------------------------------------------------------------

async function exchangeToken() {
  const frag = window.location.hash.slice(1);
  if (!/^[A-Za-z0-9_-]{32,}$/.test(frag)) return true;
  // the launch token leaves the address bar before anything else happens
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  try {
    await post('/api/session', { token: frag });
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) {
      showDaemonDown(e);
      return false;
    }
    // a used or expired token: an existing session cookie may still be valid
    return true;
  }
}

async function main() {
  setLang(initialLang());
  renderStatic();
  initDialog();
  onUnauthorized((err, path) => {
    if (path === '/api/unlock' || path === '/api/login' || path === '/api/create' || path === '/api/recover' || path === '/api/session') return;
    if (err.code === 'locked' && phase === 'unlocked') enter();
    else if (err.code !== 'locked' && err.code !== 'unauthorized' && phase !== 'session') showSession();
  });
  $('lock').addEventListener('click', () => lockNow(false));
  window.addEventListener('hashchange', navigate);
  for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) window.addEventListener(ev, touch, { passive: true, capture: true });
  idleTimer = window.setInterval(checkIdle, 15_000);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') {
      checkIdle();
      if (phase === 'unlocked') pollStatus();
    }
  });
  if (__WEB_ACCESS__) {
    // no daemon: the engine Worker answers the same API; closing the tab signs out (best effort)
    try {
      useEngine(await startEngine(), (event) => (event === 'signed_out' ? enter() : onEvent(event)));
    } catch {
      return showWebBroken();
    }
    renderStatic();
    window.addEventListener('pagehide', () => post('/api/lock', {}).catch(() => {}));
  } else if (!(await exchangeToken())) return;
  await enter();
}

main();

// for the speed check and tests: nothing secret here
window.__vaultApp = { go, toDate, perf };
