// Partages: Nouveau partage (documents and folders, Durée, Nombre d'utilisations, Mot de passe,
// Avec un compte + fingerprint), the link with Copier and a local QR code, the list with state,
// expiry and uses, Consultations, Révoquer (confirmed). Also the document picker that
// Demandes > Répondre uses.
import { el, clear, field, checkbox, newId } from './dom.js';
import { t, formatDate } from './i18n.js';
import { get, post, del } from './api.js';
import { app, heading, toast, showAlert, clearAlert, busy, confirmDialog, emptyNote } from './core.js';
import { loadDocuments } from './documents.js';
import { qrSvg } from './qr.js';

const SHOWN = 200;

/** Checkboxes named after each file and folder (vault paths; folders end with "/"). */
export function docPicker(legend, docs, { folders = true, preselect = [] } = {}) {
  const chosen = new Set(preselect);
  const all = [];
  if (folders) {
    const dirs = new Set();
    for (const d of docs) {
      const parts = d.path.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
    }
    all.push(...[...dirs].sort());
  }
  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  all.push(...docs.map((d) => d.path).sort(coll.compare));
  // preselected first, so they are visible even in a long list
  const ordered = [...all.filter((p) => chosen.has(p)), ...all.filter((p) => !chosen.has(p))];
  const box = el('div', { class: 'picker-list' });
  const more = el('p', { class: 'help' });
  const filter = el('input', { type: 'search', autocomplete: 'off' });
  const draw = () => {
    clear(box);
    const f = filter.value.trim().toLocaleLowerCase();
    const match = f ? ordered.filter((p) => p.toLocaleLowerCase().includes(f)) : ordered;
    for (const p of match.slice(0, SHOWN)) {
      const c = checkbox(p, { value: p, checked: chosen.has(p), name: 'paths' });
      c.input.addEventListener('change', () => (c.input.checked ? chosen.add(p) : chosen.delete(p)));
      box.append(c.row);
    }
    more.textContent = match.length > SHOWN ? t('shares.more', { n: match.length - SHOWN }) : '';
  };
  filter.addEventListener('input', draw);
  draw();
  const fs = el('fieldset', { class: 'picker' }, el('legend', { text: legend }));
  if (all.length > 12) fs.append(field(t('shares.filter'), filter));
  fs.append(box, more);
  return { node: fs, selected: () => [...chosen] };
}

export function durationSelect() {
  const sel = el(
    'select',
    {},
    el('option', { value: '86400', text: t('shares.d1') }),
    el('option', { value: '604800', text: t('shares.d7') }),
    el('option', { value: '2592000', text: t('shares.d30') }),
    el('option', { value: 'date', text: t('shares.ddate') }),
  );
  sel.value = '604800';
  return sel;
}

function shareForm(root, docs) {
  const form = el('form', { class: 'card', novalidate: true, 'aria-labelledby': 'share-form-title' });
  const picker = docPicker(t('shares.docs'), docs);
  const duration = durationSelect();
  const until = el('input', { type: 'date' });
  const untilField = field(t('shares.until'), until);
  untilField.hidden = true;
  duration.addEventListener('change', () => {
    untilField.hidden = duration.value !== 'date';
  });
  const uses = el('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric' });
  const password = el('input', { type: 'password', autocomplete: 'new-password' });
  const account = el('input', { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false' });
  const fp = el('div', { class: 'fingerprint', 'aria-live': 'polite' });
  let fpFor = '';
  const lookUp = async () => {
    const handle = account.value.trim();
    if (handle === fpFor) return;
    fpFor = handle;
    clear(fp);
    if (!handle) return;
    try {
      const c = await get(`/api/contacts/${encodeURIComponent(handle)}`);
      if (account.value.trim() !== handle) return;
      fp.append(el('p', { class: 'fp-words', text: t('shares.fingerprint', { handle: c.handle || handle, fp: c.fingerprint }) }));
      fp.append(el('p', { class: 'help', text: c.pinned ? t('shares.fingerprint.pinned') : t('shares.fingerprint.help') }));
    } catch (e) {
      fp.append(el('p', { class: 'warn', text: e.status === 404 ? t('shares.fingerprint.unknown', { handle }) : e.fr || t('app.error') }));
    }
  };
  account.addEventListener('change', lookUp);
  account.addEventListener('blur', lookUp);
  const submit = el('button', { type: 'submit', class: 'primary', text: t('shares.create') });
  const result = el('div', { class: 'share-result', 'aria-live': 'polite' });
  form.append(
    el('h2', { id: 'share-form-title', text: t('shares.form.title') }),
    picker.node,
    field(t('shares.duration'), duration),
    untilField,
    field(t('shares.uses'), uses, t('shares.uses.help')),
    field(t('shares.password'), password, t('shares.password.help')),
    field(t('shares.account'), account, t('shares.account.help')),
    fp,
    el('div', { class: 'actions' }, submit),
    result,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const paths = picker.selected();
    if (!paths.length) {
      showAlert(t('shares.nodocs'));
      form.querySelector('input[type=checkbox]')?.focus();
      return;
    }
    const body = { paths };
    if (duration.value === 'date') {
      const d = until.value ? new Date(`${until.value}T23:59:59`) : null;
      if (!d || d.getTime() <= Date.now()) {
        showAlert(t('shares.baddate'));
        until.focus();
        return;
      }
      body.expires_at = Math.floor(d.getTime() / 1000);
    } else body.expires_in = Number(duration.value);
    if (uses.value) body.max_uses = Number(uses.value);
    if (password.value) body.password = password.value;
    if (account.value.trim()) {
      await lookUp();
      body.to = account.value.trim();
    }
    await busy(submit, async () => {
      const res = await post('/api/shares', body);
      password.value = '';
      showResult(result, res, body.to);
      loadList(root.querySelector('#share-list'));
    });
  });
  return form;
}

function showResult(box, res, to) {
  clear(box);
  if (!res.link) {
    box.append(el('p', { class: 'ok', text: t('shares.created.account', { handle: to || '' }) }));
    return;
  }
  const link = el('input', { type: 'text', id: 'share-link', readOnly: true, value: res.link, spellcheck: 'false' });
  const copy = el('button', { type: 'button', text: t('shares.copy') });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(res.link);
    } catch {
      link.select();
      document.execCommand('copy');
    }
    toast(t('shares.copied'));
  });
  box.append(
    el('p', { class: 'ok', text: t('shares.created') }),
    el('div', { class: 'field' }, el('label', { for: 'share-link', text: t('shares.link') }), el('div', { class: 'inline' }, link, copy)),
    el('p', { class: 'help', text: t('shares.expires', { date: formatDate(res.expires_at) }) }),
    qrSvg(res.link, t('shares.qr'), 220),
  );
  link.focus();
  link.select();
}

function stateLabel(s) {
  const key = `shares.state.${s}`;
  const text = t(key);
  return text === key ? s || '' : text;
}

async function loadList(list) {
  if (!list) return;
  let shares;
  try {
    shares = await get('/api/shares');
  } catch (e) {
    showAlert(e);
    return;
  }
  clear(list);
  if (!shares || !shares.length) {
    list.append(el('li', { class: 'empty', text: t('shares.none') }));
    return;
  }
  for (const s of shares) {
    const tid = newId('sh');
    const kind = s.kind === 'link' || !s.to ? t('shares.link.kind') : s.kind === 'request' ? t('shares.request.kind', { to: s.to }) : t('shares.account.kind', { to: s.to });
    const facts = [stateLabel(s.state), s.expires_at ? t('shares.expires', { date: formatDate(s.expires_at) }) : '', t('shares.uses.count', { uses: s.uses ?? 0 })];
    if (s.remaining_uses !== null && s.remaining_uses !== undefined) facts.push(t('shares.uses.left', { n: s.remaining_uses }));
    const log = el('div', { class: 'log', hidden: true });
    const logBtn = el('button', { type: 'button', text: t('shares.log'), 'aria-describedby': tid, 'aria-expanded': 'false' });
    logBtn.addEventListener('click', () => toggleLog(logBtn, log, s.id));
    const actions = el('div', { class: 'actions' }, logBtn);
    if (s.state === 'active' || !s.state) {
      const revoke = el('button', { type: 'button', class: 'danger', text: t('shares.revoke'), 'aria-describedby': tid });
      revoke.addEventListener('click', async () => {
        if (!(await confirmDialog(t('shares.revoke.title'), t('shares.revoke.text'), t('shares.revoke')))) return;
        await busy(revoke, async () => {
          await del(`/api/shares/${encodeURIComponent(s.id)}`);
          toast(t('shares.revoked'));
          await loadList(list);
          app.refreshCounts();
        });
      });
      actions.append(revoke);
    }
    list.append(
      el(
        'li',
        { class: `card item share share-${s.state || 'active'}` },
        el(
          'div',
          { class: 'item-body' },
          el('p', { class: 'item-title', id: tid, text: `${kind} · ${(s.documents || []).join(', ')}` }),
          el('p', { class: 'row-meta', text: facts.filter(Boolean).join(' · ') }),
          log,
        ),
        actions,
      ),
    );
  }
}

async function toggleLog(button, box, id) {
  const open = button.getAttribute('aria-expanded') === 'true';
  if (open) {
    button.setAttribute('aria-expanded', 'false');
    box.hidden = true;
    return;
  }
  await busy(button, async () => {
    const entries = await get(`/api/shares/${encodeURIComponent(id)}/log`);
    clear(box);
    box.append(el('h3', { text: t('shares.log.title') }));
    const ul = el('ul', { class: 'plain' });
    for (const e of entries || []) {
      let text = e.event === 'document' ? t('shares.log.document', { date: formatDate(e.at), document: e.document || '' }) : t('shares.log.open', { date: formatDate(e.at) });
      if (e.account) text += t('shares.log.account', { account: e.account });
      ul.append(el('li', { text }));
    }
    if (!entries || !entries.length) ul.append(el('li', { text: t('shares.log.none') }));
    box.append(ul);
    box.hidden = false;
    button.setAttribute('aria-expanded', 'true');
  });
}

export async function renderShares(root) {
  clear(root);
  root.append(heading(t('shares.title')), el('p', { class: 'lead', text: t('shares.intro') }));
  const formBox = el('div', {});
  const newBtn = el('button', { type: 'button', class: 'primary', text: t('shares.new'), 'aria-expanded': 'false' });
  newBtn.addEventListener('click', async () => {
    if (newBtn.getAttribute('aria-expanded') === 'true') {
      clear(formBox);
      newBtn.setAttribute('aria-expanded', 'false');
      return;
    }
    await busy(newBtn, async () => {
      const docs = await loadDocuments();
      clear(formBox);
      formBox.append(shareForm(root, docs));
      newBtn.setAttribute('aria-expanded', 'true');
      formBox.querySelector('input')?.focus();
    });
  });
  const list = el('ul', { class: 'cards', id: 'share-list', 'aria-labelledby': 'share-list-title' });
  root.append(el('div', { class: 'actions' }, newBtn), formBox, el('h2', { id: 'share-list-title', text: t('shares.list') }), list);
  await loadList(list);
}

export { emptyNote };
