// Web access (the page served by vault-server, no daemon): the sign-in screen, and the engine
// Worker that holds the keys. The worker script is fetched with its Subresource Integrity hash
// and started from a blob: URL (a Worker has no integrity attribute of its own).
/* global __ENGINE_SRI__ */
import { el, field, clear } from './dom.js';
import { t } from './i18n.js';
import { post } from './api.js';
import { heading, showAlert, clearAlert, errorText } from './core.js';

export async function startEngine() {
  const res = await fetch('/assets/engine.js', { integrity: __ENGINE_SRI__, credentials: 'omit', referrerPolicy: 'no-referrer', mode: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new Error('engine unavailable');
  const url = URL.createObjectURL(new Blob([await res.blob()], { type: 'text/javascript' }));
  const worker = new Worker(url, { name: 'vault-engine' });
  URL.revokeObjectURL(url);
  return worker;
}

function input(props) {
  return el('input', { autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', ...props });
}

export function renderSignIn(view, done) {
  clear(view);
  view.append(heading(t('web.title')), el('p', { class: 'lead', text: t('web.intro') }));
  const server = input({ type: 'url', name: 'server', value: window.location.origin, readonly: true });
  const handle = input({ type: 'text', name: 'handle', required: true, autocomplete: 'username' });
  const pass = input({ type: 'password', name: 'passphrase', required: true, autocomplete: 'current-password' });
  const note = el('p', { class: 'muted', 'aria-live': 'polite' });
  const submit = el('button', { type: 'submit', class: 'primary', text: t('web.signin') });
  const form = el('form', { class: 'card', novalidate: true });
  form.append(field(t('onb.server'), server), field(t('onb.handle'), handle), field(t('onb.passphrase'), pass), el('div', { class: 'actions' }, submit), note);
  view.append(form, el('p', { class: 'muted', text: t('web.shared') }), el('p', {}, el('a', { href: '/securite-acces-web', text: t('web.security') })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearAlert();
    const missing = [handle, pass].filter((i) => !i.value.trim());
    for (const i of [handle, pass]) i.setAttribute('aria-invalid', missing.includes(i) ? 'true' : 'false');
    if (missing.length) {
      showAlert(t('onb.missing'));
      missing[0].focus();
      return;
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    note.textContent = t('web.signing');
    try {
      await post('/api/login', { handle: handle.value.trim(), passphrase: pass.value });
      pass.value = '';
      done();
    } catch (e) {
      pass.value = '';
      showAlert(errorText(e));
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
      note.textContent = '';
      pass.focus();
    }
  });
}
