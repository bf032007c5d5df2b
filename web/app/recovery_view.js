// Récupération (issue 21, SPEC §Trusted contacts): the recoveries of this account (each one
// pending can be stopped with « Opposer un veto »), the trusted contacts (threshold, delay, each
// contact's words compared before the set is sent), and for a contact the recoveries waiting
// for her approval with their one-time code (« Approuver » once she checked the code with the
// person). Every action is one call of the daemon's /api/recovery/* (docs/APP-API.md), which
// calls the service functions of `vault recovery`. pendingOwn() feeds the notice every screen
// shows while a recovery of the account is pending.
import { el, clear, field, newId } from './dom.js';
import { t, formatDate } from './i18n.js';
import { get, put, post } from './api.js';
import { app, heading, toast, showAlert, clearAlert, busy, emptyNote, askDialog } from './core.js';

const DELAYS = [
  [86400, 'rec.delay.24h'],
  [259200, 'rec.delay.72h'],
  [604800, 'rec.delay.7d'],
];
const MAX_CONTACTS = 10;

export function delayText(seconds) {
  const n = Number(seconds) || 0;
  const unit = (count, key) => t(count === 1 ? `rec.delay.${key}` : `rec.delay.${key}s`, { n: count });
  if (n >= 7 * 86400 && n % 86400 === 0) return unit(n / 86400, 'day');
  if (n >= 3600 && n % 3600 === 0) return unit(n / 3600, 'hour');
  if (n >= 60 && n % 60 === 0) return unit(n / 60, 'minute');
  return unit(n, 'second');
}

/** The recoveries of this account a device should tell about (pending, or shown forged). */
export async function pendingOwn() {
  const items = (await get('/api/recovery/account')) || [];
  return items.filter((r) => r.state === 'pending' || r.state === 'forged');
}

export async function renderRecovery(root) {
  clear(root);
  root.append(heading(t('rec.title')), el('p', { class: 'lead', text: t('rec.intro') }));
  const [own, contacts, asked] = await Promise.all([get('/api/recovery/account'), get('/api/recovery/contacts'), get('/api/recovery/pending')]);
  const rerender = () => renderRecovery(root);
  root.append(ownSection(own || [], rerender), contactsSection(contacts || [], rerender), askedSection(asked || [], rerender));
}

// -- the recoveries of this account -------------------------------------------------------------------

function ownSection(items, rerender) {
  const box = el('section', { class: 'rec-part', 'aria-labelledby': 'rec-own-title' }, el('h2', { id: 'rec-own-title', text: t('rec.own') }));
  const shown = items.filter((r) => r.state === 'pending' || r.state === 'forged' || r.state === 'vetoed');
  if (!shown.length) {
    box.append(emptyNote(t('rec.own.none')));
    return box;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': 'rec-own-title' });
  for (const r of shown) {
    const tid = newId('rec');
    const facts = [t('rec.approvals', { n: r.approvals ?? 0, t: r.threshold ?? '?' })];
    if (r.ready_at && r.state === 'pending') facts.push(t('rec.ready', { date: formatDate(r.ready_at) }));
    const body = el(
      'div',
      { class: 'item-body' },
      el('h3', { class: 'item-title', id: tid, text: t('rec.own.item', { date: formatDate(r.created) }) }),
      el('p', { class: `state state-${r.state}`, text: t(`rec.state.${r.state}`) }),
      el('p', { class: 'row-meta', text: facts.join(' · ') }),
    );
    if (r.state === 'pending') body.append(el('p', { class: 'badge-warn', text: t('rec.own.notyou') }));
    if (r.state === 'forged') body.append(el('p', { class: 'badge-warn', text: t('rec.own.forged') }));
    const actions = el('div', { class: 'actions' });
    if (r.state === 'pending' || r.state === 'forged') {
      const veto = el('button', { type: 'button', class: 'danger', text: t('rec.veto'), 'aria-describedby': tid });
      veto.addEventListener('click', async () => {
        if (!(await askDialog(t('rec.veto.title'), [t('rec.veto.text')], t('rec.veto'), { danger: true }))) return;
        await busy(veto, async () => {
          await post(`/api/recovery/${encodeURIComponent(r.id)}/veto`, {});
          toast(t('rec.vetoed'));
          app.refreshCounts();
          app.refreshNotice();
          await rerender();
        });
      });
      actions.append(veto);
    }
    ul.append(el('li', { class: 'card item' }, body, actions));
  }
  box.append(ul);
  return box;
}

// -- the trusted contacts -----------------------------------------------------------------------------

function contactsSection(contacts, rerender) {
  const box = el('section', { class: 'rec-part', 'aria-labelledby': 'rec-contacts-title' }, el('h2', { id: 'rec-contacts-title', text: t('rec.contacts') }));
  if (!contacts.length) box.append(emptyNote(t('rec.contacts.none')));
  else {
    const first = contacts[0];
    box.append(el('p', { text: t('rec.contacts.rule', { t: first.threshold, n: contacts.length, delay: delayText(first.delay) }) }));
    const ul = el('ul', { class: 'plain', 'aria-labelledby': 'rec-contacts-title' });
    for (const c of contacts) ul.append(el('li', {}, el('strong', { text: c.handle }), el('span', { class: 'help fp-words', text: ` — ${t('rec.contacts.words', { fp: c.fingerprint })}` })));
    box.append(ul);
  }
  const formBox = el('div', {});
  const open = el('button', { type: 'button', class: contacts.length ? '' : 'primary', text: t(contacts.length ? 'rec.contacts.change' : 'rec.contacts.choose'), 'aria-expanded': 'false' });
  open.addEventListener('click', () => {
    if (open.getAttribute('aria-expanded') === 'true') {
      clear(formBox);
      open.setAttribute('aria-expanded', 'false');
      return;
    }
    clear(formBox).append(contactsForm(contacts, rerender));
    open.setAttribute('aria-expanded', 'true');
    formBox.querySelector('input')?.focus();
  });
  box.append(el('div', { class: 'actions' }, open), formBox);
  return box;
}

function contactsForm(current, rerender) {
  const form = el('form', { class: 'card', novalidate: true, 'aria-labelledby': 'rec-form-title' });
  const inputs = [];
  const list = el('div', {});
  const threshold = el('input', { type: 'number', min: '2', step: '1', inputmode: 'numeric', value: String((current[0] && current[0].threshold) || 2) });
  const delay = el('select', {}, ...DELAYS.map(([s, k]) => el('option', { value: String(s), text: t(k) })));
  delay.value = String((current[0] && DELAYS.some(([s]) => s === current[0].delay) && current[0].delay) || 259200);
  const add = el('button', { type: 'button', text: t('rec.contacts.add') });
  const addInput = (value = '') => {
    const input = el('input', { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', value });
    inputs.push(input);
    list.append(field(t('rec.contacts.n', { n: inputs.length }), input));
    add.disabled = inputs.length >= MAX_CONTACTS;
    return input;
  };
  const start = current.map((c) => c.handle);
  while (start.length < 3) start.push('');
  for (const h of start) addInput(h);
  add.addEventListener('click', () => addInput().focus());
  const submit = el('button', { type: 'submit', class: 'primary', text: t('rec.contacts.save') });
  form.append(
    el('h3', { id: 'rec-form-title', text: t('rec.contacts.form') }),
    el('p', { class: 'help', text: t('rec.contacts.form.help') }),
    list,
    el('div', { class: 'actions' }, add),
    field(t('rec.threshold'), threshold, t('rec.threshold.help')),
    field(t('rec.delay'), delay, t('rec.delay.help')),
    el('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const handles = inputs.map((i) => i.value.trim()).filter(Boolean);
    const n = Number(threshold.value);
    if (handles.length < 2) {
      showAlert(t('rec.contacts.few'));
      inputs[0].focus();
      return;
    }
    if (!Number.isInteger(n) || n < 2 || n > handles.length) {
      showAlert(t('rec.threshold.bad', { n: handles.length }));
      threshold.focus();
      return;
    }
    await busy(submit, async () => {
      const words = [];
      for (const h of handles) words.push(await get(`/api/contacts/${encodeURIComponent(h)}`));
      const lines = [
        t('rec.confirm.text'),
        el('ul', {}, ...words.map((c) => el('li', {}, el('strong', { text: c.handle }), el('span', { class: 'fp-words', text: ` : ${c.fingerprint}` })))),
        t('rec.confirm.rule', { t: n, n: handles.length, delay: delayText(Number(delay.value)) }),
        current.length ? t('rec.confirm.replace') : '',
      ].filter(Boolean);
      if (!(await askDialog(t('rec.confirm.title'), lines, t('rec.confirm.ok')))) return;
      await put('/api/recovery/contacts', { handles, threshold: n, delay: Number(delay.value) });
      toast(t('rec.contacts.saved'));
      await rerender();
    });
  });
  return form;
}

// -- a trusted contact: the recoveries waiting for her ------------------------------------------------

function askedSection(items, rerender) {
  const box = el('section', { class: 'rec-part', 'aria-labelledby': 'rec-asked-title' }, el('h2', { id: 'rec-asked-title', text: t('rec.asked') }));
  if (!items.length) {
    box.append(emptyNote(t('rec.asked.none')));
    return box;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': 'rec-asked-title' });
  for (const p of items) {
    const tid = newId('ask');
    const body = el(
      'div',
      { class: 'item-body' },
      el('h3', { class: 'item-title', id: tid, text: t('rec.asked.item', { account: p.account }) }),
      el('p', { class: 'row-meta', text: [p.created ? t('rec.asked.when', { date: formatDate(p.created) }) : '', t('rec.approvals', { n: p.approvals, t: p.threshold })].filter(Boolean).join(' · ') }),
      el('p', {}, el('span', { text: t('rec.code') }), ' ', el('strong', { class: 'fp-words rec-code', text: p.code })),
    );
    const actions = el('div', { class: 'actions' });
    if (p.approved) body.append(el('p', { class: 'badge-ok', text: t('rec.asked.approved') }));
    else {
      body.append(el('p', { class: 'help', text: t('rec.asked.help', { account: p.account }) }));
      const approve = el('button', { type: 'button', class: 'primary', text: t('rec.approve'), 'aria-describedby': tid });
      approve.addEventListener('click', async () => {
        const lines = [t('rec.approve.text', { account: p.account }), el('p', { class: 'fp-words rec-code', text: p.code }), t('rec.approve.warn', { account: p.account })];
        if (!(await askDialog(t('rec.approve.title', { account: p.account }), lines, t('rec.approve.ok')))) return;
        await busy(approve, async () => {
          const done = await post(`/api/recovery/${encodeURIComponent(p.id)}/approve`, {});
          toast(t('rec.approved', { account: p.account, n: done.approvals, t: done.threshold }));
          app.refreshCounts();
          await rerender();
        });
      });
      actions.append(approve);
    }
    ul.append(el('li', { class: 'card item' }, body, actions));
  }
  box.append(ul);
  return box;
}
