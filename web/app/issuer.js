// Espace administration: the issuer desk, shown when the profile holds an issuer key. Déposer un
// document, Nouvelle demande, Rendez-vous, the requests sent (overdue first, each item provided
// or missing) and the citizens' asks with « Envoyer le document ». Every action is one call of
// the daemon's /api/issuer/* (docs/APP-API.md), which calls the service the CLI's `vault issuer`
// calls; the page only checks that the fields are filled and shows each form's result in French
// beside its button (a status line, or the daemon's sentence as an alert).
import { el, clear, field, checkbox, newId } from './dom.js';
import { t, formatDate, typeLabel } from './i18n.js';
import { get, api } from './api.js';
import { heading, emptyNote, errorText } from './core.js';
import { ASK_TYPES } from './views.js';

class Missing extends Error {}

let askOutcome = null; // the asks' result line: kept while the lists are drawn again

/** A form's outcome beside its button: a status line, or an alert with the French sentence. */
function outcome() {
  const ok = el('p', { class: 'ok', role: 'status' });
  const bad = el('p', { class: 'alert-inline', role: 'alert' });
  const node = el('div', { class: 'outcome' }, ok, bad);
  return {
    node,
    async run(button, fn) {
      ok.textContent = '';
      bad.textContent = '';
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      try {
        ok.textContent = (await fn()) || '';
      } catch (e) {
        bad.textContent = e instanceof Missing ? e.message : errorText(e);
      } finally {
        button.disabled = false;
        button.removeAttribute('aria-busy');
      }
    },
  };
}

function need(control, text) {
  if (control.value.trim()) return control.value.trim();
  control.focus();
  throw new Missing(text);
}

function input(props = {}) {
  return el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', ...props });
}

function typeSelect() {
  return el('select', {}, ...ASK_TYPES.map((k) => el('option', { value: k, text: typeLabel(k) })));
}

/** A group of check boxes, one a document type: its legend names it. */
function typeChecks(legend) {
  const boxes = ASK_TYPES.map((k) => checkbox(typeLabel(k), { value: k }));
  const node = el('fieldset', { class: 'checks' }, el('legend', { text: legend }), ...boxes.map((b) => b.row));
  return { node, selected: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value) };
}

function form(titleId, title, help, ...children) {
  return el('form', { class: 'card desk-form', novalidate: true, 'aria-labelledby': titleId }, el('h2', { id: titleId, text: title }), el('p', { class: 'help', text: help }), ...children);
}

// -- the screen ---------------------------------------------------------------------------------------

export async function renderDesk(root) {
  clear(root);
  const desk = await get('/api/issuer');
  const me = desk.issuer || {};
  root.append(heading(t('desk.title')), el('p', { class: 'lead', text: t('desk.intro', { name: me.certified_as || me.name || '' }) }));
  if (!me.certified_as) root.append(el('p', { class: 'badge-warn', text: t('desk.cert.none') }));
  else if (me.expired) root.append(el('p', { class: 'badge-warn', text: t('desk.cert.expired', { date: formatDate(me.valid_until, 'day') }) }));
  else root.append(el('p', { class: 'badge-ok', text: t('desk.cert.ok', { name: me.certified_as, date: formatDate(me.valid_until, 'day') }) }));
  const lists = el('div', { id: 'desk-lists' });
  askOutcome = outcome();
  root.append(contents(), depositForm(), requestForm(desk.templates || []), appointmentForm(), lists);
  await renderLists(lists);
}

/** « Dans cette page »: a link to each part of the desk (a long page on a phone); the page
 * scrolls to the part and its title takes the focus (the address keeps #desk). */
function contents() {
  const parts = [['desk-deposit', 'desk.deposit.title'], ['desk-request', 'desk.req.title'], ['desk-appointment', 'desk.appt.title'], ['desk-sent', 'desk.sent.title'], ['desk-asks', 'desk.asks.title']];
  const jump = (ev, id) => {
    ev.preventDefault();
    const title = document.getElementById(id);
    if (!title) return;
    title.setAttribute('tabindex', '-1');
    title.scrollIntoView({ block: 'start' });
    title.focus({ preventScroll: true });
  };
  return el('nav', { class: 'desk-toc', 'aria-label': t('desk.toc') }, el('ul', {}, ...parts.map(([id, key]) => el('li', {}, el('a', { href: '#desk', text: t(key), onclick: (ev) => jump(ev, id) })))));
}

/** The requests sent and the citizens' asks again (an owner answered, an ask came): the forms
 * and what is typed in them stay. */
export async function refreshDesk() {
  const lists = document.getElementById('desk-lists');
  if (lists) await renderLists(lists);
}

function depositForm() {
  const to = input();
  const type = typeSelect();
  const title = el('input', { type: 'text', autocomplete: 'off', maxlength: 200 });
  const file = el('input', { type: 'file' });
  const send = el('button', { type: 'submit', class: 'primary', text: t('desk.deposit') });
  const out = outcome();
  const f = form(
    'desk-deposit',
    t('desk.deposit.title'),
    t('desk.deposit.help'),
    field(t('desk.to'), to, t('desk.to.help')),
    field(t('desk.type'), type),
    field(t('desk.doc.title'), title, t('desk.doc.title.help')),
    field(t('desk.file'), file, t('desk.file.help')),
    el('div', { class: 'actions' }, send),
    out.node,
  );
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.run(send, async () => {
      const who = need(to, t('desk.missing.to'));
      const chosen = file.files && file.files[0];
      if (!chosen) {
        file.focus();
        throw new Missing(t('desk.nofile'));
      }
      const data = new FormData();
      data.append('to', who);
      data.append('type', type.value);
      data.append('title', title.value.trim());
      data.append('file', chosen, chosen.name);
      await api('POST', '/api/issuer/deposit', data);
      const said = title.value.trim() || chosen.name.replace(/\.[^.]*$/, '');
      f.reset();
      return t('desk.deposited', { title: said, to: who });
    });
  });
  return f;
}

function requestForm(templates) {
  const to = input();
  const template = el(
    'select',
    {},
    el('option', { value: '', text: t('desk.req.template.none') }),
    ...templates.map((m) => el('option', { value: m.name, text: t('desk.req.template.option', { name: m.name, needs: m.needs.map(typeLabel).join(', ') }) })),
  );
  const needs = typeChecks(t('desk.req.needs'));
  const due = el('input', { type: 'date' });
  const message = el('textarea', { rows: 3, maxlength: 4000 });
  const send = el('button', { type: 'submit', class: 'primary', text: t('desk.req.send') });
  const out = outcome();
  const f = form(
    'desk-request',
    t('desk.req.title'),
    t('desk.req.help'),
    field(t('desk.to'), to, t('desk.to.help')),
    field(t('desk.req.template'), template, templates.length ? t('desk.req.template.help') : t('desk.req.template.empty')),
    needs.node,
    field(t('desk.req.due'), due, t('desk.req.due.help')),
    field(t('desk.req.message'), message, t('desk.req.message.help')),
    el('div', { class: 'actions' }, send),
    out.node,
  );
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.run(send, async () => {
      const who = need(to, t('desk.missing.to'));
      const items = needs.selected();
      const chosen = template.value;
      if (!chosen && !items.length) throw new Missing(t('desk.req.noneeds'));
      if (!chosen) need(due, t('desk.req.nodue'));
      if (!chosen) need(message, t('desk.req.nomessage'));
      const body = { to: who, needs: items, ...(chosen ? { template: chosen } : {}), ...(due.value ? { due: due.value } : {}), ...(message.value.trim() ? { message: message.value } : {}) };
      await api('POST', '/api/issuer/requests', body);
      f.reset();
      await refreshDesk();
      return t('desk.req.sent', { to: who });
    });
  });
  return f;
}

function appointmentForm() {
  const to = input();
  const at = el('input', { type: 'datetime-local' });
  const place = el('input', { type: 'text', autocomplete: 'off', maxlength: 1000 });
  const bring = typeChecks(t('desk.appt.bring'));
  const message = el('textarea', { rows: 3, maxlength: 4000 });
  const send = el('button', { type: 'submit', class: 'primary', text: t('desk.appt.book') });
  const out = outcome();
  const f = form(
    'desk-appointment',
    t('desk.appt.title'),
    t('desk.appt.help'),
    field(t('desk.to'), to, t('desk.to.help')),
    field(t('desk.appt.at'), at),
    field(t('desk.appt.place'), place, t('desk.appt.place.help')),
    bring.node,
    field(t('desk.req.message'), message, t('desk.appt.message.help')),
    el('div', { class: 'actions' }, send),
    out.node,
  );
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.run(send, async () => {
      const who = need(to, t('desk.missing.to'));
      const when = need(at, t('desk.appt.nowhen'));
      const where = need(place, t('desk.appt.noplace'));
      await api('POST', '/api/issuer/appointments', { to: who, at: when, place: where, bring: bring.selected(), message: message.value });
      f.reset();
      await refreshDesk();
      return t('desk.appt.booked', { to: who, date: formatDate(when) });
    });
  });
  return f;
}

// -- what was sent, what citizens asked -----------------------------------------------------------

async function renderLists(box) {
  const [sent, asked] = await Promise.all([get('/api/issuer/requests'), get('/api/issuer/asks')]);
  const requests = (sent || []).filter((r) => r.kind !== 'appointment');
  const booked = (sent || []).filter((r) => r.kind === 'appointment');
  const refresh = el('button', { type: 'button', text: t('desk.refresh') });
  refresh.addEventListener('click', async () => {
    refresh.disabled = true;
    try {
      await renderLists(box);
    } finally {
      refresh.disabled = false;
    }
    box.querySelector('#desk-sent')?.focus();
  });
  clear(box);
  box.append(
    el('div', { class: 'actions desk-refresh' }, refresh),
    sentSection(requests),
    bookedSection(booked),
    asksSection(box, asked || []),
  );
}

function sentSection(items) {
  const box = el('section', { class: 'card', 'aria-labelledby': 'desk-sent' }, el('h2', { id: 'desk-sent', tabindex: '-1', text: t('desk.sent.title') }), el('p', { class: 'help', text: t('desk.sent.help') }));
  if (!items.length) {
    box.append(emptyNote(t('desk.sent.none')));
    return box;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': 'desk-sent' });
  for (const r of items) {
    const state = ['open', 'partial', 'answered', 'overdue'].includes(r.state) ? r.state : 'open';
    const checklist = r.items || [];
    const provided = !checklist.length && r.provided ? Object.keys(r.provided).map(typeLabel).join(', ') : '';
    ul.append(
      el(
        'li',
        { class: `card item sent-${state}` },
        el(
          'div',
          { class: 'item-body' },
          el('h3', { class: 'item-title', text: t('desk.sent.item', { to: r.to || '?' }) }),
          r.due_at || r.due ? el('p', { text: t('desk.sent.due', { date: formatDate(r.due_at || r.due, 'day') }) }) : null,
          el('p', {}, el('span', { class: `state state-${state}`, text: t('req.state', { state: t(`req.state.${state}`) }) })),
          checklist.length ? el('ul', { class: 'items', 'aria-label': t('req.items') }, ...checklist.map((i) => el('li', { class: `item-${i.state}`, text: t(`req.item.${i.state}`, { type: typeLabel(i.type) }) }))) : null,
          provided ? el('p', { text: t('desk.sent.provided', { list: provided }) }) : null,
          r.grant ? el('p', { class: 'help', text: t('desk.sent.open') }) : null,
          r.problem ? el('p', { class: 'badge-warn', text: t('desk.sent.problem') }) : null,
        ),
      ),
    );
  }
  box.append(ul);
  return box;
}

function bookedSection(items) {
  const box = el('section', { class: 'card', 'aria-labelledby': 'desk-booked' }, el('h2', { id: 'desk-booked', text: t('desk.appt.list') }));
  if (!items.length) {
    box.append(emptyNote(t('appt.none')));
    return box;
  }
  const ul = el('ul', { class: 'plain', 'aria-labelledby': 'desk-booked' });
  for (const a of items) {
    ul.append(el('li', {}, el('p', { class: 'item-title', text: t('desk.appt.item', { date: formatDate(a.at), to: a.to || '?' }) }), el('p', { text: t('appt.place', { place: a.place || '' }) }), a.state === 'past' ? el('p', { class: 'state', text: t('appt.past') }) : null));
  }
  box.append(ul);
  return box;
}

function asksSection(lists, asked) {
  const out = askOutcome || (askOutcome = outcome());
  const box = el('section', { class: 'card', 'aria-labelledby': 'desk-asks' }, el('h2', { id: 'desk-asks', text: t('desk.asks.title') }), el('p', { class: 'help', text: t('desk.asks.help') }), out.node);
  if (!asked.length) {
    box.append(emptyNote(t('desk.asks.none')));
    return box;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': 'desk-asks' });
  for (const a of asked) {
    const tid = newId('ask');
    const body = el('div', { class: 'item-body' });
    if (!a.valid) {
      body.append(el('h3', { class: 'item-title', id: tid, text: t('desk.asks.from', { from: a.from || '?' }) }), el('p', { class: 'badge-warn', text: t('desk.asks.invalid') }));
      ul.append(el('li', { class: 'card item' }, body));
      continue;
    }
    body.append(
      el('h3', { class: 'item-title', id: tid, text: t('desk.asks.item', { type: typeLabel(a.type), from: a.from || '?' }) }),
      a.created ? el('p', { class: 'row-meta', text: t('desk.asks.created', { date: formatDate(a.created.slice(0, 10), 'day') }) }) : null,
      a.message ? el('p', { class: 'message', text: a.message }) : null,
      el('p', { class: a.state === 'fulfilled' ? 'state state-answered' : 'state state-open', text: a.state === 'fulfilled' ? t('desk.asks.fulfilled') : t('desk.asks.open') }),
    );
    if (a.state !== 'fulfilled') body.append(fulfilForm(lists, out, a, tid));
    ul.append(el('li', { class: 'card item' }, body));
  }
  box.append(ul);
  return box;
}

function fulfilForm(lists, out, a, tid) {
  const file = el('input', { type: 'file' });
  const title = el('input', { type: 'text', autocomplete: 'off', maxlength: 200 });
  const send = el('button', { type: 'submit', class: 'primary', text: t('desk.asks.fulfil'), 'aria-describedby': tid });
  const f = el('form', { class: 'fulfil', novalidate: true }, field(t('desk.file'), file), field(t('desk.doc.title'), title, t('desk.doc.title.help')), el('div', { class: 'actions' }, send));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.run(send, async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) {
        file.focus();
        throw new Missing(t('desk.nofile'));
      }
      const data = new FormData();
      data.append('title', title.value.trim());
      data.append('file', chosen, chosen.name);
      await api('POST', `/api/issuer/asks/${encodeURIComponent(a.id)}/fulfil`, data);
      await renderLists(lists);
      return t('desk.asks.done', { from: a.from || '' });
    });
  });
  return f;
}

