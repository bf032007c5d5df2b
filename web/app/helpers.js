// Aidants (issue 21, SPEC §Mandates): give a helper a mandate (her account's words compared
// first, as for a share to an account), the mandates given with what each helper did (her
// signed entries in the owner's log, checked by the daemon), Révoquer; and the helper's side,
// « J'aide … »: the owner's requests and deposits his devices forwarded to her, answered or
// accepted here with her own account, and an upload into the folder he allowed. Every action is
// one call of the daemon's /api/mandates and /api/act-for/* (docs/APP-API.md), which call the
// service functions of `vault mandate` and `vault act-for`.
import { el, clear, field, checkbox, newId } from './dom.js';
import { t, formatDate, formatSize, typeLabel } from './i18n.js';
import { get, post, del, upload } from './api.js';
import { heading, toast, showAlert, clearAlert, busy, confirmDialog, askDialog, openDialog, closeDialog, emptyNote } from './core.js';
import { loadDocuments } from './documents.js';
import { docPicker, durationSelect } from './shares.js';

const DURATIONS = [
  ['1d', 'helpers.d1d'],
  ['30d', 'helpers.d30d'],
  ['6m', 'helpers.d6m'],
  ['1y', 'helpers.d1y'],
];
const LOG_SHOWN = 20;

/** What one scope lets the helper do, in words. */
export function scopeText(scope) {
  const [kind, ...rest] = String(scope).split(':');
  const path = rest.join(':');
  if (kind === 'read') return t('helpers.scope.read', { path });
  if (kind === 'upload') return t('helpers.scope.upload', { path });
  if (kind === 'requests') return t('helpers.scope.requests');
  if (kind === 'inbox') return t('helpers.scope.inbox');
  return String(scope);
}

function stateText(s) {
  const key = `helpers.state.${s}`;
  const text = t(key);
  return text === key ? s || '' : text;
}

/** The owner's line for one helper action (the daemon's fields, in the page's words). */
export function actionText(a) {
  if (a.action === 'answer') return t('helpers.log.answer', { name: a.helper, who: a.requester || '?' });
  if (a.action === 'accept') return t('helpers.log.accept', { name: a.helper, path: a.path || '' });
  return t('helpers.log.upload', { name: a.helper, path: a.path || '' });
}

// -- the screen ---------------------------------------------------------------------------------------

export async function renderHelpers(root) {
  clear(root);
  root.append(heading(t('helpers.title')), el('p', { class: 'lead', text: t('helpers.intro') }));
  const formBox = el('div', {});
  const newBtn = el('button', { type: 'button', class: 'primary', text: t('helpers.new'), 'aria-expanded': 'false' });
  const lists = el('div', { id: 'helpers-lists' });
  const closeForm = () => {
    clear(formBox);
    newBtn.setAttribute('aria-expanded', 'false');
  };
  newBtn.addEventListener('click', async () => {
    if (newBtn.getAttribute('aria-expanded') === 'true') return closeForm();
    await busy(newBtn, async () => {
      const docs = await loadDocuments();
      clear(formBox);
      formBox.append(
        mandateForm(docs, async () => {
          closeForm();
          await renderLists(lists);
          newBtn.focus();
        }),
      );
      newBtn.setAttribute('aria-expanded', 'true');
      formBox.querySelector('input')?.focus();
    });
  });
  root.append(el('div', { class: 'actions' }, newBtn), formBox, lists);
  await renderLists(lists);
}

/** The lists again (a helper acted, a forward came, a mandate ended): the form stays, and a
 * helper's answer form being filled is not redrawn under her. */
export async function refreshHelpers() {
  const lists = document.getElementById('helpers-lists');
  if (!lists || lists.querySelector('form.answer') || [...lists.querySelectorAll('input[type=file]')].some((f) => f.files && f.files.length)) return;
  await renderLists(lists);
}

async function renderLists(lists) {
  const items = (await get('/api/mandates')) || [];
  const given = items.filter((m) => m.role === 'given');
  const received = items.filter((m) => m.role === 'received');
  const givenList = el('ul', { class: 'cards', 'aria-labelledby': 'mandates-given-title' });
  const parts = [el('h2', { id: 'mandates-given-title', text: t('helpers.given') })];
  if (!given.length) parts.push(emptyNote(t('helpers.given.none')));
  else parts.push(givenList);
  for (const m of given) givenList.append(await givenCard(m, () => renderLists(lists)));
  const helping = [];
  for (const m of received) helping.push(await helpingSection(m, () => renderLists(lists)));
  clear(lists).append(...parts, ...helping);
}

// -- giving a mandate ---------------------------------------------------------------------------------

function mandateForm(docs, done) {
  const form = el('form', { class: 'card', novalidate: true, 'aria-labelledby': 'mandate-form-title' });
  const account = el('input', { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false' });
  const name = el('input', { type: 'text', autocomplete: 'off', maxlength: 64 });
  const fp = el('div', { class: 'fingerprint', 'aria-live': 'polite' });
  let fpFor = '';
  let contact = null;
  const lookUp = async () => {
    const handle = account.value.trim();
    if (handle === fpFor) return contact;
    fpFor = handle;
    contact = null;
    clear(fp);
    if (!handle) return null;
    try {
      const c = await get(`/api/contacts/${encodeURIComponent(handle)}`);
      if (account.value.trim() !== handle) return null;
      contact = c;
      fp.append(el('p', { class: 'fp-words', text: t('shares.fingerprint', { handle: c.handle || handle, fp: c.fingerprint }) }));
      fp.append(el('p', { class: 'help', text: c.pinned ? t('helpers.fingerprint.pinned') : t('helpers.fingerprint.help') }));
    } catch (e) {
      fpFor = '';
      fp.append(el('p', { class: 'warn', text: e.status === 404 ? t('shares.fingerprint.unknown', { handle }) : e.fr || t('app.error') }));
    }
    return contact;
  };
  account.addEventListener('change', lookUp);
  account.addEventListener('blur', lookUp);
  const requests = checkbox(t('helpers.scope.requests'), { value: 'requests' });
  const inbox = checkbox(t('helpers.scope.inbox'), { value: 'inbox' });
  const can = el('fieldset', { class: 'checks' }, el('legend', { text: t('helpers.can') }), requests.row, inbox.row);
  const reads = docPicker(t('helpers.reads'), docs);
  const uploadTo = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const duration = el('select', {}, ...DURATIONS.map(([v, k]) => el('option', { value: v, text: t(k) })));
  duration.value = '30d';
  const submit = el('button', { type: 'submit', class: 'primary', text: t('helpers.give') });
  form.append(
    el('h2', { id: 'mandate-form-title', text: t('helpers.form.title') }),
    field(t('helpers.account'), account, t('helpers.account.help')),
    fp,
    field(t('helpers.name'), name, t('helpers.name.help')),
    can,
    reads.node,
    field(t('helpers.upload.folder'), uploadTo, t('helpers.upload.folder.help')),
    field(t('helpers.duration'), duration),
    el('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const handle = account.value.trim();
    if (!handle) {
      showAlert(t('helpers.noaccount'));
      account.focus();
      return;
    }
    const scopes = [];
    if (requests.input.checked) scopes.push('requests');
    if (inbox.input.checked) scopes.push('inbox');
    for (const p of reads.selected()) scopes.push(`read:${p.replace(/\/+$/, '')}`);
    const folder = uploadTo.value.trim().replace(/^\/+|\/+$/g, '');
    if (folder) scopes.push(`upload:${folder}`);
    if (!scopes.length) {
      showAlert(t('helpers.noscope'));
      requests.input.focus();
      return;
    }
    await busy(submit, async () => {
      const c = await lookUp();
      if (!c) {
        account.focus();
        return;
      }
      const label = name.value.trim() || handle;
      const until = t(`helpers.d${duration.value}`);
      const lines = [
        t('helpers.confirm.words', { handle }),
        el('p', { class: 'fp-words', text: c.fingerprint }),
        t(c.pinned ? 'helpers.confirm.pinned' : 'helpers.confirm.check', { handle }),
        el('p', { text: t('helpers.confirm.what', { name: label }) }),
        el('ul', {}, ...scopes.map((s) => el('li', { text: scopeText(s) }))),
        t('helpers.confirm.until', { duration: until }),
      ];
      if (!(await askDialog(t('helpers.confirm.title', { name: label }), lines, t('helpers.confirm.ok')))) return;
      const body = { to: handle, scopes, duration: duration.value };
      if (name.value.trim()) body.name = name.value.trim();
      const given = await post('/api/mandates', body);
      toast(t('helpers.given.done', { name: given.name || label }));
      await done();
    });
  });
  return form;
}

// -- the mandates given -------------------------------------------------------------------------------

async function givenCard(m, rerender) {
  const tid = newId('md');
  const facts = [stateText(m.state), m.expires_at ? t('helpers.until', { date: formatDate(m.expires_at) }) : ''];
  const body = el(
    'div',
    { class: 'item-body' },
    el('h3', { class: 'item-title', id: tid, text: m.name && m.name !== m.helper ? t('helpers.given.item', { name: m.name, helper: m.helper }) : m.helper }),
    el('p', { class: 'row-meta', text: facts.filter(Boolean).join(' · ') }),
    el('ul', { class: 'plain', 'aria-label': t('helpers.scopes', { name: m.name || m.helper }) }, ...(m.scopes || []).map((s) => el('li', { text: scopeText(s) }))),
    m.fingerprint ? el('p', { class: 'help fp-words', text: t('shares.fingerprint', { handle: m.helper, fp: m.fingerprint }) }) : null,
  );
  body.append(await logOf(m));
  const actions = el('div', { class: 'actions' });
  if (m.state === 'active') {
    const revoke = el('button', { type: 'button', class: 'danger', text: t('helpers.revoke'), 'aria-describedby': tid });
    revoke.addEventListener('click', async () => {
      const name = m.name || m.helper;
      if (!(await confirmDialog(t('helpers.revoke.title', { name }), t('helpers.revoke.text', { name }), t('helpers.revoke')))) return;
      await busy(revoke, async () => {
        await del(`/api/mandates/${encodeURIComponent(m.id)}`);
        toast(t('helpers.revoked', { name }));
        await rerender();
      });
    });
    actions.append(revoke);
  }
  return el('li', { class: `card item mandate mandate-${m.state}` }, body, actions);
}

/** What the helper did under this mandate, newest first (each entry signed by her, in the log). */
async function logOf(m) {
  const name = m.name || m.helper;
  const box = el('section', { class: 'log', 'aria-label': t('helpers.log.title', { name }) });
  box.append(el('h4', { text: t('helpers.log.title', { name }) }));
  let entries;
  try {
    entries = (await get(`/api/mandates/${encodeURIComponent(m.id)}/log`)) || [];
  } catch (e) {
    box.append(el('p', { class: 'warn', text: e.fr || t('app.error') }));
    return box;
  }
  if (!entries.length) {
    box.append(el('p', { class: 'empty', text: t('helpers.log.none') }));
    return box;
  }
  const ul = el('ul', { class: 'plain' });
  for (const a of entries.slice(-LOG_SHOWN).reverse()) {
    const meta = [formatDate(a.at), (a.documents || []).join(', ')].filter(Boolean).join(' · ');
    ul.append(el('li', {}, el('span', { text: actionText(a) }), meta ? el('span', { class: 'row-meta', text: ` — ${meta}` }) : null));
  }
  box.append(ul);
  return box;
}

// -- the helper's side: « J'aide … » -------------------------------------------------------------------

async function helpingSection(m, rerender) {
  const sid = newId('help');
  const box = el('section', { class: 'card helping', 'aria-labelledby': sid });
  const owner = m.owner;
  if (m.state !== 'active') {
    box.append(el('h2', { id: sid, text: t('helpers.received.ended', { owner, state: stateText(m.state) }) }));
    if (m.problem) box.append(el('p', { class: 'badge-warn', text: t('helpers.received.forged') }));
    return box;
  }
  box.append(
    el('h2', { id: sid, text: t('helpers.helping', { owner }) }),
    el('p', { class: 'row-meta', text: m.expires_at ? t('helpers.until', { date: formatDate(m.expires_at) }) : '' }),
    el('p', { text: t('helpers.helping.can', { owner }) }),
    el('ul', { class: 'plain' }, ...(m.scopes || []).map((s) => el('li', { text: scopeText(s) }))),
    m.fingerprint ? el('p', { class: 'help fp-words', text: t('shares.fingerprint', { handle: owner, fp: m.fingerprint }) }) : null,
  );
  const scopes = m.scopes || [];
  const canRead = scopes.some((s) => s.startsWith('read:'));
  if (scopes.includes('requests')) box.append(await theirRequests(owner, canRead, rerender));
  if (scopes.includes('inbox')) box.append(await theirInbox(owner, rerender));
  const folders = scopes.filter((s) => s.startsWith('upload:')).map((s) => s.slice('upload:'.length));
  if (folders.length) box.append(uploadForm(owner, folders));
  return box;
}

async function theirRequests(owner, canRead, rerender) {
  const hid = newId('hreq');
  const part = el('div', { class: 'helping-part' }, el('h3', { id: hid, text: t('helpers.requests', { owner }) }));
  const items = (await get(`/api/act-for/${encodeURIComponent(owner)}/requests`)) || [];
  if (!items.length) {
    part.append(emptyNote(t('helpers.requests.none', { owner })));
    return part;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': hid });
  for (const r of items) {
    const tid = newId('hr');
    if (!r.valid) {
      ul.append(el('li', { class: 'card item' }, el('p', { class: 'badge-warn', id: tid, text: t('helpers.request.forged') })));
      continue;
    }
    const who = r.requester || t('helpers.uncertified', { account: r.account || '?' });
    const answered = r.state === 'answered';
    const body = el(
      'div',
      { class: 'item-body' },
      el('h4', { class: 'item-title', id: tid, text: t('req.from', { who }) }),
      r.requester ? el('p', { class: 'badge-ok', text: t('req.certified', { issuer: r.requester }) }) : el('p', { class: 'badge-warn', text: t('helpers.request.uncertified') }),
      el('p', { text: t('req.needs', { list: (r.needs || []).map(typeLabel).join(', ') }) }),
      r.message ? el('p', { class: 'message', text: r.message }) : null,
      r.due ? el('p', { text: t('req.due', { date: formatDate(r.due, 'day') }) }) : null,
      el('p', {}, el('span', { class: `state state-${answered ? 'answered' : 'open'}`, text: t('req.state', { state: t(`req.state.${answered ? 'answered' : 'open'}`) }) })),
    );
    const formBox = el('div', {});
    body.append(formBox);
    const actions = el('div', { class: 'actions' });
    if (!answered && r.requester && canRead) {
      const answer = el('button', { type: 'button', class: 'primary', text: t('req.answer'), 'aria-describedby': tid, 'aria-expanded': 'false' });
      answer.addEventListener('click', async () => {
        if (answer.getAttribute('aria-expanded') === 'true') {
          clear(formBox);
          answer.setAttribute('aria-expanded', 'false');
          return;
        }
        await busy(answer, async () => {
          const paths = (await get(`/api/act-for/${encodeURIComponent(owner)}/documents`)) || [];
          clear(formBox);
          formBox.append(answerForm(owner, r, who, paths, rerender));
          answer.setAttribute('aria-expanded', 'true');
          formBox.querySelector('input')?.focus();
        });
      });
      actions.append(answer);
    } else if (!answered && r.requester) body.append(el('p', { class: 'help', text: t('helpers.request.noread', { owner }) }));
    ul.append(el('li', { class: 'card item' }, body, actions));
  }
  part.append(ul);
  return part;
}

function answerForm(owner, r, who, paths, rerender) {
  const form = el('form', { class: 'answer', novalidate: true });
  const picker = docPicker(t('helpers.answer.docs', { owner }), paths.map((p) => ({ path: p })), { folders: false });
  const duration = durationSelect();
  duration.querySelector('option[value=date]')?.remove();
  const send = el('button', { type: 'submit', class: 'primary', text: t('req.send') });
  form.append(el('h4', { text: t('helpers.answer.title', { who, owner }) }), paths.length ? picker.node : emptyNote(t('helpers.answer.nodocs', { owner })), field(t('shares.duration'), duration), el('div', { class: 'actions' }, send));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const chosen = picker.selected();
    if (!chosen.length) {
      showAlert(t('req.nodocs'));
      return;
    }
    await busy(send, async () => {
      await post(`/api/act-for/${encodeURIComponent(owner)}/requests/${encodeURIComponent(r.id)}/answer`, { paths: chosen, expires_in: Number(duration.value) });
      toast(t('helpers.answered', { owner }));
      form.remove();
      await rerender();
    });
  });
  return form;
}

async function theirInbox(owner, rerender) {
  const hid = newId('hin');
  const part = el('div', { class: 'helping-part' }, el('h3', { id: hid, text: t('helpers.inbox', { owner }) }));
  const items = (await get(`/api/act-for/${encodeURIComponent(owner)}/inbox`)) || [];
  if (!items.length) {
    part.append(emptyNote(t('helpers.inbox.none', { owner })));
    return part;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': hid });
  for (const d of items) {
    const tid = newId('hd');
    if (!d.valid) {
      ul.append(el('li', { class: 'card item' }, el('p', { class: 'badge-warn', id: tid, text: t('helpers.deposit.forged') })));
      continue;
    }
    const accept = el('button', { type: 'button', class: 'primary', text: t('inbox.accept'), 'aria-describedby': tid });
    accept.addEventListener('click', () =>
      busy(accept, async () => {
        const res = await post(`/api/act-for/${encodeURIComponent(owner)}/inbox/${encodeURIComponent(d.id)}/accept`, {});
        toast(t('helpers.accepted', { owner, path: res.path }));
        await rerender();
      }),
    );
    ul.append(
      el(
        'li',
        { class: 'card item' },
        el(
          'div',
          { class: 'item-body' },
          el('h4', { class: 'item-title', id: tid, text: d.title || d.filename || d.id }),
          d.issuer ? el('p', { class: 'badge-ok', text: t('inbox.certified', { issuer: d.issuer }) }) : el('p', { class: 'badge-warn', text: t('helpers.uncertified', { account: d.from || '?' }) }),
          el('p', { class: 'row-meta', text: [typeLabel(d.type), formatSize(d.size)].filter(Boolean).join(' · ') }),
        ),
        el('div', { class: 'actions' }, accept),
      ),
    );
  }
  part.append(ul);
  return part;
}

function uploadForm(owner, folders) {
  const fid = newId('hup');
  const folder = el('select', {}, ...folders.map((f) => el('option', { value: f, text: f })));
  const file = el('input', { type: 'file' });
  const send = el('button', { type: 'submit', class: 'primary', text: t('helpers.upload') });
  const ok = el('p', { class: 'ok', role: 'status' });
  const form = el(
    'form',
    { class: 'helping-part', novalidate: true, 'aria-labelledby': fid },
    el('h3', { id: fid, text: t('helpers.upload.title', { owner }) }),
    field(t('helpers.upload.into'), folder),
    field(t('desk.file'), file),
    el('div', { class: 'actions' }, send),
    ok,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    ok.textContent = '';
    if (!file.files || !file.files.length) {
      showAlert(t('helpers.upload.nofile'));
      file.focus();
      return;
    }
    await busy(send, async () => {
      const data = new FormData();
      data.append('folder', folder.value);
      data.append('file', file.files[0], file.files[0].name);
      const res = await upload(`/api/act-for/${encodeURIComponent(owner)}/upload`, data, () => {});
      ok.textContent = t('helpers.uploaded', { owner, path: res.path });
      file.value = '';
    });
  });
  return form;
}
