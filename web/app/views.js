// Boîte de réception, Demandes, Partagés avec moi, Appareils, Paramètres.
import { el, clear, field, checkbox, newId } from './dom.js';
import { t, lang, setLang, formatDate, formatSize, typeLabel, toDate } from './i18n.js';
import { get, post, put, del, q, webAccess, objectUrl } from './api.js';
import { app, heading, toast, showAlert, clearAlert, busy, confirmDialog, openPreview, download, emptyNote, errorText } from './core.js';
import { loadDocuments } from './documents.js';
import { docPicker, durationSelect } from './shares.js';
import { printKit } from './onboarding.js';
import { appointmentsSection } from './appointments.js';

function list(labelId) {
  return el('ul', { class: 'cards', 'aria-labelledby': labelId });
}

// -- Boîte de réception ---------------------------------------------------------------------------

export async function renderInbox(root) {
  clear(root);
  root.append(heading(t('inbox.title')), el('p', { class: 'lead', text: t('inbox.intro') }));
  const ul = list('view-title');
  root.append(ul);
  const items = await get('/api/inbox');
  if (!items || !items.length) {
    ul.replaceWith(emptyNote(t('inbox.none')));
    return;
  }
  for (const d of items) {
    const tid = newId('dep');
    const name = d.title || d.filename || d.id;
    const cert = d.certified && d.issuer
      ? el('p', { class: 'badge-ok', text: t('inbox.certified', { issuer: d.issuer }) })
      : el('p', { class: 'badge-warn', text: d.problem && !d.claimed_issuer ? t('inbox.problem', { problem: d.problem }) : d.claimed_issuer ? t('inbox.uncertified', { claimed: d.claimed_issuer }) : t('inbox.uncertified.anon') });
    const facts = [typeLabel(d.type), d.received_at ? t('inbox.received', { date: formatDate(d.received_at) }) : d.issued ? formatDate(d.issued, 'day') : '', formatSize(d.size)];
    const folder = el('input', { type: 'text', autocomplete: 'off' });
    const fileName = d.filename || name;
    const inline = `/api/inbox/${encodeURIComponent(d.id)}/file?inline=1`;
    const plain = `/api/inbox/${encodeURIComponent(d.id)}/file`;
    const accept = el('button', { type: 'button', class: 'primary', text: t('inbox.accept'), 'aria-describedby': tid });
    const refuse = el('button', { type: 'button', text: t('inbox.refuse'), 'aria-describedby': tid });
    accept.addEventListener('click', () =>
      busy(accept, async () => {
        const res = await post(`/api/inbox/${encodeURIComponent(d.id)}/accept`, folder.value.trim() ? { folder: folder.value.trim() } : {});
        toast(t('inbox.accepted', { path: res.path }));
        app.documents = null;
        app.refreshCounts();
        await renderInbox(root);
      }),
    );
    refuse.addEventListener('click', () =>
      busy(refuse, async () => {
        await post(`/api/inbox/${encodeURIComponent(d.id)}/refuse`, {});
        toast(t('inbox.refused'));
        app.refreshCounts();
        await renderInbox(root);
      }),
    );
    ul.append(
      el(
        'li',
        { class: 'card item' },
        el(
          'div',
          { class: 'item-body' },
          el('h2', { class: 'item-title', id: tid, text: name }),
          el('p', { text: t('inbox.from', { issuer: (d.certified && d.issuer) || d.from || '?' }) }),
          cert,
          el('p', { class: 'row-meta', text: facts.filter(Boolean).join(' · ') }),
          field(t('inbox.folder'), folder, t('inbox.folder.help')),
        ),
        el(
          'div',
          { class: 'actions' },
          el('button', { type: 'button', text: t('inbox.preview'), 'aria-describedby': tid, onclick: () => preview(fileName, inline, plain) }),
          d.trust_offer ? trustButton(d.trust_offer, tid, () => renderInbox(root)) : null,
          accept,
          refuse,
        ),
      ),
    );
  }
}

// -- Demandes -------------------------------------------------------------------------------------

function requestState(r) {
  // partial: some items provided (the owner's signed answer); an answer without items (an
  // older client) answers the whole request
  if (r.state === 'partial' || r.state === 'overdue' || r.state === 'answered') return r.state;
  return r.grant ? 'answered' : 'open';
}

/** Web access: a preview of bytes the engine verified (an object URL); the daemon serves URLs. */
async function preview(name, inline, plain) {
  if (!webAccess()) return openPreview(name, inline, plain);
  try {
    const url = await objectUrl(plain);
    openPreview(name, url, url);
  } catch (e) {
    showAlert(e);
  }
}

/** Web access: no pinned authorities in a browser; trust this one for the session, words first. */
function trustButton(offer, describedBy, rerender) {
  const trust = el('button', { type: 'button', text: t('req.trust', { name: offer.name }), 'aria-describedby': describedBy });
  trust.addEventListener('click', () =>
    busy(trust, async () => {
      const yes = await confirmDialog(t('set.trust.confirm.title', { name: offer.name }), t('set.trust.confirm.text', { fp: offer.words }), t('set.trust.confirm.ok'));
      if (!yes) return;
      await post('/api/trust', { public_key: offer.public_key, name: offer.name });
      await rerender();
    }),
  );
  return trust;
}

export async function renderRequests(root) {
  clear(root);
  root.append(heading(t('req.title')), el('p', { class: 'lead', text: t('req.intro') }));
  const ul = list('view-title');
  root.append(ul);
  // web access reads requests; appointments and asks are for the app on a computer so far
  const web = webAccess();
  const [items, booked, asked] = await Promise.all([get('/api/requests'), web ? [] : get('/api/appointments'), web ? [] : get('/api/asks')]);
  if (!web) root.append(appointmentsSection(booked || [], 'appt-title'), asksSection(root, asked || []));
  if (!items || !items.length) {
    ul.replaceWith(emptyNote(t('req.none')));
    return;
  }
  for (const r of items) {
    const tid = newId('req');
    const who = r.requester || r.claimed_requester || r.from || r.account || '?';
    const state = requestState(r);
    if (state === 'answered' && app.reminders.delete(String(r.id))) app.refreshNav();
    const reminded = app.reminders.has(String(r.id));
    const body = el(
      'div',
      { class: 'item-body' },
      el('h2', { class: 'item-title', id: tid, text: t('req.from', { who }) }),
      r.certified && r.requester ? el('p', { class: 'badge-ok', text: t('req.certified', { issuer: r.requester }) }) : el('p', { class: 'badge-warn', text: t('req.uncertified', { claimed: who }) }),
      el('p', { text: t('req.needs', { list: (r.needs || []).map(typeLabel).join(', ') }) }),
      (r.items || []).length > 1 ? el('ul', { class: 'items', 'aria-label': t('req.items') }, ...r.items.map((i) => el('li', { class: `item-${i.state}`, text: t(`req.item.${i.state}`, { type: typeLabel(i.type) }) }))) : null,
      r.message ? el('p', { class: 'message', text: r.message }) : null,
      r.due || r.due_at ? el('p', { text: t('req.due', { date: formatDate(r.due_at || r.due, 'day') }) }) : null,
      el('p', {}, el('span', { class: `state state-${state}`, text: t('req.state', { state: t(`req.state.${state}`) }) }), reminded ? el('span', { class: 'badge-remind-text', text: t('req.reminded') }) : null),
    );
    const actions = el('div', { class: 'actions' });
    const formBox = el('div', {});
    body.append(formBox);
    if (r.trust_offer) actions.append(trustButton(r.trust_offer, tid, () => renderRequests(root)));
    if (state !== 'answered' && !r.trust_offer) {
      const answer = el('button', { type: 'button', class: 'primary', text: t('req.answer'), 'aria-describedby': tid, 'aria-expanded': 'false' });
      answer.addEventListener('click', async () => {
        if (answer.getAttribute('aria-expanded') === 'true') {
          clear(formBox);
          answer.setAttribute('aria-expanded', 'false');
          return;
        }
        await busy(answer, async () => {
          const docs = await loadDocuments();
          clear(formBox);
          formBox.append(answerForm(root, r, who, docs));
          answer.setAttribute('aria-expanded', 'true');
          formBox.querySelector('input')?.focus();
        });
      });
      actions.append(answer);
    }
    ul.append(el('li', { class: 'card item' }, body, actions));
  }
}

// -- Demander un document: the owner asks an administration (an issuer account) ---------------

export const ASK_TYPES = ['birth-certificate', 'id-card', 'passport', 'residence-permit', 'proof-of-address', 'tax-notice', 'benefit-certificate', 'payslip', 'family-record', 'health-insurance', 'other'];

function asksSection(root, asked) {
  const box = el('section', { class: 'asks', 'aria-labelledby': 'ask-title' });
  const to = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
  const type = el('select', {}, ...ASK_TYPES.map((k) => el('option', { value: k, text: typeLabel(k) })));
  const message = el('textarea', { rows: 3, maxlength: 4000 });
  const send = el('button', { type: 'submit', class: 'primary', text: t('ask.send') });
  const form = el('form', { novalidate: true }, field(t('ask.to'), to, t('ask.to.help')), field(t('ask.type'), type), field(t('ask.message'), message), el('div', { class: 'actions' }, send));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearAlert();
    if (!to.value.trim()) {
      showAlert(t('onb.missing'));
      return;
    }
    busy(send, async () => {
      await post('/api/asks', { to: to.value.trim(), type: type.value, message: message.value });
      toast(t('ask.sent'));
      await renderRequests(root);
    });
  });
  box.append(el('h2', { id: 'ask-title', text: t('ask.title') }), el('p', { class: 'help', text: t('ask.intro') }), form);
  if (asked.length) {
    const ul = el('ul', { class: 'cards', 'aria-label': t('ask.list') });
    for (const a of asked) {
      const state = a.state === 'fulfilled' ? (a.in_inbox ? t('ask.state.inbox') : t('ask.state.fulfilled')) : a.state === 'forged' ? t('ask.state.forged') : t('ask.state.open');
      ul.append(el('li', { class: 'card item' }, el('div', { class: 'item-body' }, el('h3', { class: 'item-title', text: t('ask.item', { type: typeLabel(a.type), to: a.to || '?' }) }), a.message ? el('p', { class: 'message', text: a.message }) : null, el('p', { class: a.state === 'forged' ? 'badge-warn' : 'state', text: state }))));
    }
    box.append(ul);
  }
  return box;
}

function answerForm(root, r, who, docs) {
  const form = el('form', { class: 'answer', novalidate: true });
  const picker = docPicker(t('req.answer.docs'), docs, { folders: false, preselect: r.suggested || [] });
  const duration = durationSelect();
  duration.querySelector('option[value=date]')?.remove();
  // which item these documents answer (by default: each its own type, or what is missing)
  const forItem = el('select', {}, el('option', { value: '', text: t('req.for.auto') }), ...(r.needs || []).map((n) => el('option', { value: n, text: typeLabel(n) })));
  const send = el('button', { type: 'submit', class: 'primary', text: t('req.send') });
  // (Element.append would write a null as the text "null")
  form.append(...[el('h3', { text: t('req.answer.title', { who }) }), picker.node, (r.needs || []).length > 1 ? field(t('req.for'), forItem) : null, field(t('shares.duration'), duration), el('div', { class: 'actions' }, send)].filter(Boolean));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const paths = picker.selected();
    if (!paths.length) {
      showAlert(t('req.nodocs'));
      return;
    }
    await busy(send, async () => {
      await post(`/api/requests/${encodeURIComponent(r.id)}/answer`, { paths, expires_in: Number(duration.value), ...(forItem.value ? { item: forItem.value } : {}) });
      toast(t('req.sent'));
      app.refreshCounts();
      await renderRequests(root);
    });
  });
  return form;
}

// -- Partagés avec moi ----------------------------------------------------------------------------

export async function renderShared(root) {
  clear(root);
  root.append(heading(t('shared.title')), el('p', { class: 'lead', text: t('shared.intro') }));
  const ul = list('view-title');
  root.append(ul);
  const items = await get('/api/shared');
  if (!items || !items.length) {
    ul.replaceWith(emptyNote(t('shared.none')));
    return;
  }
  for (const g of items) {
    const tid = newId('gr');
    const owner = g.from || g.owner || '?';
    const box = el('div', { class: 'grant-items' });
    const open = el('button', { type: 'button', class: 'primary', text: t('shared.open'), 'aria-describedby': tid, 'aria-expanded': 'false' });
    open.addEventListener('click', () => toggleGrant(open, box, g.id));
    ul.append(
      el(
        'li',
        { class: 'card item' },
        el(
          'div',
          { class: 'item-body' },
          el('h2', { class: 'item-title', id: tid, text: t('shared.from', { owner }) }),
          el('p', { class: 'row-meta', text: [g.state ? t(`shares.state.${g.state}`) : '', g.expires_at ? t('shared.expires', { date: formatDate(g.expires_at) }) : ''].filter(Boolean).join(' · ') }),
          box,
        ),
        el('div', { class: 'actions' }, open),
      ),
    );
  }
}

async function toggleGrant(button, box, id) {
  if (button.getAttribute('aria-expanded') === 'true') {
    clear(box);
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  await busy(button, async () => {
    const g = await get(`/api/shared/${encodeURIComponent(id)}`);
    clear(box);
    box.append(el('h3', { text: t('shared.items', { owner: g.owner || '' }) }));
    if (g.expires) box.append(el('p', { class: 'help', text: t('shared.expires', { date: formatDate(g.expires) }) }));
    const ul = el('ul', { class: 'plain' });
    for (const it of g.items || []) {
      const nid = newId('gi');
      const base = `/api/shared/${encodeURIComponent(id)}/file?${q({ name: it.name })}`;
      ul.append(
        el(
          'li',
          { class: 'item' },
          el(
            'div',
            {},
            el('p', { class: 'item-title', id: nid, text: it.name }),
            el('p', { class: 'row-meta', text: [formatSize(it.size), typeLabel(it.type)].filter(Boolean).join(' · ') }),
            it.certified_by ? el('p', { class: 'badge-ok', text: t('docs.certified', { issuer: it.certified_by }) }) : null,
          ),
          el(
            'div',
            { class: 'actions' },
            el('button', { type: 'button', text: t('shared.preview'), 'aria-describedby': nid, onclick: () => openPreview(it.name, `${base}&inline=1`, base) }),
            el('button', { type: 'button', text: t('shared.download'), 'aria-describedby': nid, onclick: () => download(base, it.name) }),
          ),
        ),
      );
    }
    box.append(ul);
    button.setAttribute('aria-expanded', 'true');
  });
}

// -- Appareils ------------------------------------------------------------------------------------

export async function renderDevices(root) {
  clear(root);
  root.append(heading(t('dev.title')), el('p', { class: 'lead', text: t('dev.intro') }));
  const ul = list('view-title');
  root.append(ul);
  const items = await get('/api/devices');
  for (const d of items || []) {
    const tid = newId('dv');
    const name = d.name || t('dev.unnamed');
    const facts = [d.created_at ? t('dev.added', { date: formatDate(d.created_at, 'day') }) : '', d.revoked_at ? t('dev.revoked', { date: formatDate(d.revoked_at, 'day') }) : ''];
    const li = el(
      'li',
      { class: `card item${d.this ? ' this-device' : ''}` },
      el(
        'div',
        { class: 'item-body' },
        el('h2', { class: 'item-title', id: tid }, name, d.this ? el('span', { class: 'tag', text: t('dev.this') }) : null),
        el('p', { class: 'row-meta', text: facts.filter(Boolean).join(' · ') }),
        d.verified === false ? el('p', { class: 'badge-warn', text: t('dev.unverified') }) : null,
      ),
    );
    if (!d.this && !d.revoked_at) {
      const b = el('button', { type: 'button', class: 'danger', text: t('dev.remove'), 'aria-describedby': tid });
      b.addEventListener('click', async () => {
        if (!(await confirmDialog(t('dev.remove.title', { name }), t('dev.remove.text'), t('dev.remove')))) return;
        await busy(b, async () => {
          await del(`/api/devices/${encodeURIComponent(d.id)}`);
          toast(t('dev.removed'));
          await renderDevices(root);
        });
      });
      li.append(el('div', { class: 'actions' }, b));
    }
    ul.append(li);
  }
}

// -- Paramètres -----------------------------------------------------------------------------------

function number(props) {
  return el('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', ...props });
}

export async function renderSettings(root) {
  clear(root);
  root.append(heading(t('set.title')));
  const s = await get('/api/settings');
  const st = app.state || {};

  // reminders
  const rem = s.reminders || {};
  const before = number({ value: String(rem.before_days ?? 3), 'aria-label': t('set.before') });
  const every = number({ value: String(rem.every_days ?? 1), 'aria-label': t('set.every') });
  const never = checkbox(t('set.never'), { checked: rem.enabled === false });
  const syncDisabled = () => {
    before.disabled = never.input.checked;
    every.disabled = never.input.checked;
  };
  never.input.addEventListener('change', syncDisabled);
  syncDisabled();
  const saveRem = el('button', { type: 'submit', text: t('app.save') });
  const remForm = el(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'set-rem' },
    el('h2', { id: 'set-rem', text: t('set.reminders') }),
    el('p', { class: 'help', text: t('set.reminders.help') }),
    el('p', { class: 'sentence' }, el('span', { text: t('set.before.a') }), before, el('span', { text: t('set.before.b') })),
    el('p', { class: 'sentence' }, el('span', { text: t('set.every.a') }), every, el('span', { text: t('set.every.b') })),
    never.row,
    el('div', { class: 'actions' }, saveRem),
  );
  remForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(saveRem, async () => {
      await put('/api/settings', { reminders: { enabled: !never.input.checked, before_days: Number(before.value), every_days: Number(every.value) } });
      toast(t('app.saved'));
    });
  });

  // language
  const langSel = el('select', {}, el('option', { value: 'fr', text: t('set.lang.fr'), lang: 'fr' }), el('option', { value: 'en', text: t('set.lang.en'), lang: 'en' }));
  langSel.value = lang();
  langSel.addEventListener('change', async () => {
    const l = langSel.value === 'en' ? 'en' : 'fr';
    try {
      window.localStorage.setItem('vault.app.lang', l);
    } catch {
      /* private mode */
    }
    setLang(l);
    try {
      await put('/api/settings', { language: l });
    } catch {
      /* the choice holds in this browser anyway */
    }
    app.rerender(true);
  });

  // auto-lock
  const minutes = number({ value: String(s.autolock_minutes ?? st.autolock_minutes ?? 15), max: '1440' });
  const saveLock = el('button', { type: 'submit', text: t('app.save') });
  const notifyNote = el('p', { class: 'help', 'aria-live': 'polite' });
  const notify = el('button', { type: 'button', text: t('set.notify') });
  notify.addEventListener('click', async () => {
    if (!('Notification' in window)) return;
    const p = await Notification.requestPermission();
    notifyNote.textContent = p === 'granted' ? t('set.notify.on') : t('set.notify.off');
  });
  if ('Notification' in window && Notification.permission === 'granted') notifyNote.textContent = t('set.notify.on');
  const lockForm = el(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'set-sec' },
    el('h2', { id: 'set-sec', text: t('set.security') }),
    field(t('set.language'), langSel),
    field(t('set.autolock'), minutes),
    el('div', { class: 'actions' }, saveLock),
    el('div', { class: 'actions' }, notify),
    notifyNote,
  );
  lockForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(saveLock, async () => {
      const res = await put('/api/settings', { autolock_minutes: Math.max(1, Number(minutes.value) || 15) });
      app.state.autolock_minutes = (res && res.autolock_minutes) || Number(minutes.value);
      toast(t('app.saved'));
    });
  });

  // trusted authorities
  const tl = el('ul', { class: 'plain' });
  for (const a of s.trusted || []) {
    tl.append(el('li', { class: 'item' }, el('div', {}, el('p', { class: 'item-title', text: a.name }), el('p', { class: 'fp-words', text: t('set.trusted.fp', { fp: a.words || '' }) }), el('p', { class: 'key', text: a.public_key }))));
  }
  if (!(s.trusted || []).length) tl.append(el('li', { class: 'empty', text: t('set.trusted.none') }));
  const tname = el('input', { type: 'text', autocomplete: 'off' });
  const tkey = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
  const addBtn = el('button', { type: 'submit', text: t('set.trust.add') });
  const added = el('p', { class: 'ok', 'aria-live': 'polite' });
  const trustForm = el('form', { novalidate: true }, field(t('set.trust.name'), tname), field(t('set.trust.key'), tkey), el('div', { class: 'actions' }, addBtn), added);
  trustForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = tkey.value.trim();
    if (!value || (!tname.value.trim() && !value.startsWith('vault-trust:'))) {
      showAlert(t('onb.missing'));
      return;
    }
    busy(addBtn, async () => {
      // nothing is pinned before the person compared the words and said yes
      const offered = await post('/api/trust/preview', { public_key: value, name: tname.value.trim() });
      const yes = await confirmDialog(
        t('set.trust.confirm.title', { name: offered.name }),
        t('set.trust.confirm.text', { fp: offered.words || '' }),
        t('set.trust.confirm.ok'),
      );
      if (!yes) return;
      const a = await post('/api/trust', { public_key: value, name: tname.value.trim() });
      await renderSettings(root);
      const note = root.querySelector('#trust-added');
      if (note) note.textContent = t('set.trust.added', { name: a.name, fp: a.words || '' });
    });
  });
  added.id = 'trust-added';
  const trustCard = el(
    'section',
    { class: 'card', 'aria-labelledby': 'set-trust' },
    el('h2', { id: 'set-trust', text: t('set.trusted') }),
    el('p', { class: 'help', text: t('set.trusted.help') }),
    tl,
    trustForm,
  );

  // recovery kit
  const kitCard = el(
    'section',
    { class: 'card', 'aria-labelledby': 'set-kit' },
    el('h2', { id: 'set-kit', text: t('set.kit') }),
    el('p', { text: t('set.account', { handle: st.handle || '', server: st.server || '' }) }),
    el('p', { class: 'help', text: t('set.kit.help') }),
    el('div', { class: 'actions' }, el('button', { type: 'button', text: t('set.kit.print'), onclick: () => printKit({ handle: st.handle, server: st.server, created_at: null }) })),
  );
  // export: the browser saves the zip where the person chooses (nothing left in the daemon)
  const exportLink = el('a', { class: 'button', href: '/api/export', download: '', text: t('set.export.button') });
  exportLink.addEventListener('click', () => toast(t('set.export.started')));
  const exportCard = el(
    'section',
    { class: 'card', 'aria-labelledby': 'set-export' },
    el('h2', { id: 'set-export', text: t('set.export') }),
    el('p', { class: 'help', text: t('set.export.help') }),
    el('div', { class: 'actions' }, exportLink),
  );
  const rootsBox = el('div', { id: 'trust-roots' });
  trustCard.insertBefore(rootsBox, trustForm);
  root.append(remForm, lockForm, trustCard, kitCard, exportCard);
  showTrustRoots(root, rootsBox);
}

/** The authorities the server's operator proposes: shown with their words, trusted only when
 * the person accepts (a changed list says so and waits for a new yes). */
async function showTrustRoots(root, box) {
  let offer;
  try {
    offer = await get('/api/trust/roots');
  } catch (e) {
    box.append(el('p', { class: 'badge-warn', role: 'alert', text: errorText(e) }));
    return;
  }
  if (!offer || offer.state === 'none' || !document.contains(box)) return;
  const items = el('ul', { class: 'plain' });
  for (const r of offer.roots || []) {
    const added = (offer.added || []).some((a) => a.public_key === r.public_key);
    items.append(el('li', { class: 'item' }, el('div', {}, el('p', { class: 'item-title', text: added ? t('set.roots.new', { name: r.name }) : r.name }), el('p', { class: 'fp-words', text: t('set.trusted.fp', { fp: r.words }) }))));
  }
  const parts = [el('h3', { id: 'roots-title', text: t('set.roots.title', { deployment: offer.deployment }) })];
  if (offer.state === 'accepted') parts.push(el('p', { class: 'help', text: t('set.roots.accepted') }), items);
  else {
    parts.push(el('p', { class: offer.state === 'changed' ? 'badge-warn' : 'help', text: t(offer.state === 'changed' ? 'set.roots.changed' : 'set.roots.new.help') }), items);
    const accept = el('button', { type: 'button', class: 'primary', text: t('set.roots.accept'), 'aria-describedby': 'roots-title' });
    accept.addEventListener('click', () =>
      busy(accept, async () => {
        const yes = await confirmDialog(t('set.roots.confirm.title', { deployment: offer.deployment }), t('set.roots.confirm.text'), t('set.trust.confirm.ok'));
        if (!yes) return;
        await post('/api/trust/roots/accept', { digest: offer.digest });
        toast(t('set.roots.done', { deployment: offer.deployment }));
        await renderSettings(root);
      }),
    );
    parts.push(el('div', { class: 'actions' }, accept));
  }
  box.append(el('section', { class: 'roots', 'aria-labelledby': 'roots-title' }, ...parts));
}

export { toDate };
