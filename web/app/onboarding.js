// Onboarding (empty profile): create a vault, join one (J'ai déjà un coffre), recover one
// (J'ai perdu ma phrase de passe); then the recovery key, the printable kit, the checkbox
// that must be ticked before Continuer. And the unlock screen.
import { el, field, checkbox, clear, $ } from './dom.js';
import { t, lang, formatDate } from './i18n.js';
import { post } from './api.js';
import { app, heading, showAlert, clearAlert, errorText } from './core.js';
import { qrSvg } from './qr.js';

let mode = 'create'; // create | login | recover

function defaultServer() {
  return (app.state && app.state.server) || '';
}

function input(props) {
  return el('input', { autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', ...props });
}

export function renderOnboarding(view, done) {
  clear(view);
  const st = app.state || {};
  view.append(heading(t('onb.title')), el('p', { class: 'lead', text: t('onb.intro') }));

  const server = input({ type: 'url', name: 'server', required: true, value: defaultServer(), inputmode: 'url' });
  const handle = input({ type: 'text', name: 'handle', required: true, value: st.handle || '' });
  const pass = input({ type: 'password', name: 'passphrase', required: true, autocomplete: 'new-password' });
  const confirm = input({ type: 'password', name: 'confirm', required: true, autocomplete: 'new-password' });
  const folder = input({ type: 'text', name: 'folder', required: true, value: st.default_folder || '' });
  const rkey = input({ type: 'text', name: 'recovery_key', required: true });
  const note = el('p', { class: 'muted', 'aria-live': 'polite' });

  const form = el('form', { class: 'card', novalidate: true });
  const titleKey = mode === 'create' ? 'onb.create.title' : mode === 'login' ? 'onb.login.title' : 'onb.recover.title';
  form.append(el('h2', { text: t(titleKey) }));
  form.append(field(t('onb.server'), server, t('onb.server.help')), field(t('onb.handle'), handle, t('onb.handle.help')));
  if (mode === 'recover') form.append(field(t('onb.rkey.input'), rkey, t('onb.rkey.input.help')));
  form.append(field(t('onb.passphrase'), pass, mode === 'login' ? null : t(mode === 'recover' ? 'onb.passphrase.new.help' : 'onb.passphrase.help')));
  let meter = null;
  let meterText = null;
  if (mode !== 'login') {
    meter = el('meter', { id: 'strength', min: '0', max: '4', low: '2', high: '3', optimum: '4', value: '0' });
    meterText = el('span', { class: 'strength-text', id: 'strength-text' });
    const mlabel = el('label', { for: 'strength', text: t('onb.strength') });
    form.append(el('div', { class: 'strength' }, mlabel, meter, meterText));
    form.append(field(t('onb.confirm'), confirm));
  }
  form.append(field(t('onb.folder'), folder, t('onb.folder.help')));
  const submitKey = mode === 'create' ? 'onb.create' : mode === 'login' ? 'onb.login' : 'onb.recover';
  const submit = el('button', { type: 'submit', class: 'primary', text: t(submitKey) });
  form.append(el('div', { class: 'actions' }, submit), note);
  view.append(form);

  // the other two choices
  const others = el('div', { class: 'others', role: 'group', 'aria-label': t('onb.other') });
  for (const m of ['create', 'login', 'recover']) {
    if (m === mode) continue;
    const key = m === 'create' ? 'onb.create' : m === 'login' ? 'onb.have' : 'onb.lost';
    others.append(
      el('button', {
        type: 'button',
        text: t(key),
        onclick: () => {
          mode = m;
          clearAlert();
          renderOnboarding(view, done);
          window.requestAnimationFrame(() => view.querySelector('input')?.focus());
        },
      }),
    );
  }
  view.append(others);

  // strength meter (POST /api/passphrase-check), debounced
  let lastCheck = null;
  let timer = 0;
  let seq = 0;
  const check = async () => {
    const mine = ++seq;
    const value = pass.value;
    if (!value) {
      lastCheck = null;
      if (meter) meter.value = 0;
      if (meterText) meterText.textContent = '';
      return null;
    }
    try {
      const res = await post('/api/passphrase-check', { passphrase: value, handle: handle.value || undefined });
      if (mine !== seq) return lastCheck;
      lastCheck = { ...res, value };
      meter.value = res.score;
      const reason = lang() === 'en' ? res.reason_en || res.reason : res.reason;
      meterText.textContent = `${t(`onb.strength.${Math.max(0, Math.min(4, res.score))}`)}${reason ? ` : ${reason}` : ''}`;
      return lastCheck;
    } catch {
      return null;
    }
  };
  if (meter) {
    pass.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 250);
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const need = [server, handle, pass, folder];
    if (mode !== 'login') need.push(confirm);
    if (mode === 'recover') need.push(rkey);
    const missing = need.filter((i) => !i.value.trim());
    for (const i of need) i.setAttribute('aria-invalid', missing.includes(i) ? 'true' : 'false');
    if (missing.length) {
      showAlert(t('onb.missing'));
      missing[0].focus();
      return;
    }
    if (mode !== 'login') {
      if (pass.value !== confirm.value) {
        confirm.setAttribute('aria-invalid', 'true');
        showAlert(t('onb.mismatch'));
        confirm.focus();
        return;
      }
      const res = lastCheck && lastCheck.value === pass.value ? lastCheck : await check();
      if (res && !res.ok) {
        pass.setAttribute('aria-invalid', 'true');
        const reason = lang() === 'en' ? res.reason_en || res.reason : res.reason;
        showAlert(t('onb.weak', { reason: reason || '' }));
        pass.focus();
        return;
      }
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    note.textContent = t(mode === 'create' ? 'onb.creating' : mode === 'login' ? 'onb.joining' : 'onb.recovering');
    const body = { server: server.value.trim(), handle: handle.value.trim(), passphrase: pass.value, folder: folder.value.trim() };
    try {
      if (mode === 'create') {
        const created = await post('/api/create', body);
        pass.value = '';
        confirm.value = '';
        renderRecoveryKey(view, created, done);
      } else if (mode === 'login') {
        await post('/api/login', body);
        pass.value = '';
        done();
      } else {
        await post('/api/recover', { ...body, recovery_key: rkey.value.trim() });
        pass.value = '';
        confirm.value = '';
        rkey.value = '';
        done();
      }
    } catch (e) {
      showAlert(errorText(e));
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
      note.textContent = '';
    }
  });
}

function renderRecoveryKey(view, created, done) {
  clear(view);
  clearAlert();
  const key = el('textarea', { id: 'recovery-key', class: 'rkey', readOnly: true, rows: '3', spellcheck: 'false' });
  key.textContent = created.recovery_key; // textContent of a textarea: its value too
  const stored = checkbox(t('onb.stored'));
  const cont = el('button', { type: 'button', class: 'primary', text: t('onb.continue'), disabled: true, onclick: () => {
    closeKit();
    done();
  } });
  stored.input.addEventListener('change', () => {
    cont.disabled = !stored.input.checked;
  });
  const print = el('button', { type: 'button', text: t('onb.print'), onclick: () => printKit(created) });
  view.append(
    heading(t('onb.done.title')),
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'view-title' },
      el('p', { text: t('onb.done.intro') }),
      el('div', { class: 'field' }, el('label', { for: 'recovery-key', text: t('onb.rkey') }), key),
      el('div', { class: 'actions' }, print),
      stored.row,
      el('div', { class: 'actions' }, cont),
    ),
  );
  window.requestAnimationFrame(() => $('view-title')?.focus());
}

/** The printable recovery kit (key, handle, server, date, instructions, QR code). */
export function printKit(info, { print = true } = {}) {
  const kit = $('print-kit');
  clear(kit);
  const rows = [
    [t('kit.handle'), info.handle || ''],
    [t('kit.server'), info.server || ''],
    [t('kit.date'), formatDate(info.created_at || Date.now(), 'day')],
  ];
  const dl = el('dl', { class: 'kit-facts' });
  for (const [k, v] of rows) dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text: v })));
  kit.append(
    el('h2', { id: 'kit-title', tabindex: '-1', text: t('kit.title') }),
    dl,
    el('h3', { text: t('kit.key') }),
    info.recovery_key ? el('p', { class: 'kit-key', text: info.recovery_key }) : el('p', { class: 'kit-blank', text: t('kit.key.blank') }),
    info.recovery_key ? qrSvg(info.recovery_key, t('kit.qr'), 180) : null,
    el('h3', { text: t('kit.steps') }),
    el('ol', {}, el('li', { text: t('kit.step1') }), el('li', { text: t('kit.step2') }), el('li', { text: t('kit.step3') })),
    el('p', { class: 'kit-warn', text: t('kit.warn') }),
    el(
      'p',
      { class: 'actions no-print' },
      el('button', { type: 'button', class: 'primary', text: t('kit.print'), onclick: () => window.print() }),
      el('button', { type: 'button', text: t('kit.close'), onclick: closeKit }),
    ),
  );
  kit.hidden = false;
  kit.addEventListener('keydown', kitKeys);
  $('kit-title').focus();
  if (print) window.setTimeout(() => window.print(), 50);
}

function kitKeys(ev) {
  if (ev.key === 'Escape') closeKit();
}

export function closeKit() {
  const kit = $('print-kit');
  if (kit.hidden) return;
  kit.hidden = true;
  kit.removeEventListener('keydown', kitKeys);
  clear(kit);
}

export function renderUnlock(view, done) {
  clear(view);
  const st = app.state || {};
  const pass = el('input', { type: 'password', name: 'passphrase', required: true, autocomplete: 'current-password' });
  const submit = el('button', { type: 'submit', class: 'primary', text: t('unlock.submit') });
  const note = el('p', { class: 'muted', 'aria-live': 'polite' });
  const form = el(
    'form',
    { class: 'card narrow', novalidate: true },
    el('p', { text: t('unlock.intro', { handle: st.handle || '' }) }),
    field(t('unlock.passphrase'), pass),
    el('div', { class: 'actions' }, submit),
    note,
  );
  view.append(heading(t('unlock.title')), form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    if (!pass.value) {
      pass.focus();
      return;
    }
    submit.disabled = true;
    note.textContent = t('unlock.busy');
    try {
      await post('/api/unlock', { passphrase: pass.value });
      pass.value = '';
      done();
    } catch (e) {
      showAlert(e.status === 401 || e.code === 'unauthorized' ? (e.fr ? errorText(e) : t('unlock.wrong')) : errorText(e));
      pass.setAttribute('aria-invalid', 'true');
      pass.select();
      pass.focus();
    } finally {
      submit.disabled = false;
      note.textContent = '';
    }
  });
  window.requestAnimationFrame(() => pass.focus());
}
