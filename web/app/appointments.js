// Rendez-vous: the appointments issuers booked, in Demandes and (the coming ones) on Mes documents.
import { el, newId } from './dom.js';
import { t, formatDate, typeLabel } from './i18n.js';
import { download, emptyNote } from './core.js';

/** The appointments an issuer booked: when, where, what to bring (and whether the vault holds
 * it), certified or not, and `Ajouter à mon agenda` (an iCalendar file). */
export function appointmentsSection(booked, titleId, { comingOnly = false } = {}) {
  const shown = comingOnly ? booked.filter((a) => !a.past) : booked;
  const box = el('section', { class: 'appointments', 'aria-labelledby': titleId });
  box.append(el('h2', { id: titleId, text: t('appt.title') }));
  if (!shown.length) {
    if (comingOnly) return el('div', { hidden: true });
    box.append(emptyNote(t('appt.none')));
    return box;
  }
  const ul = el('ul', { class: 'cards', 'aria-labelledby': titleId });
  for (const a of shown) {
    const tid = newId('appt');
    const who = a.issuer || a.claimed_issuer || '?';
    const bring = el('ul', { class: 'bring' });
    for (const type of a.bring || []) {
      const held = (a.held || {})[type];
      bring.append(el('li', { text: held ? t('appt.bring.held', { type: typeLabel(type) }) : t('appt.bring.missing', { type: typeLabel(type) }) }));
    }
    const ics = el('button', { type: 'button', text: t('appt.ics'), 'aria-describedby': tid });
    ics.addEventListener('click', () => download(`/api/appointments/${encodeURIComponent(a.id)}/ics`, 'rendez-vous.ics'));
    ul.append(
      el(
        'li',
        { class: 'card item' },
        el(
          'div',
          { class: 'item-body' },
          el('h3', { class: 'item-title', id: tid, text: t('appt.when', { date: formatDate(a.at_epoch) }) }),
          a.certified && a.issuer ? el('p', { class: 'badge-ok', text: t('req.certified', { issuer: a.issuer }) }) : el('p', { class: 'badge-warn', text: t('appt.uncertified', { claimed: who }) }),
          el('p', { text: t('appt.place', { place: a.place }) }),
          a.message ? el('p', { class: 'message', text: a.message }) : null,
          a.bring && a.bring.length ? el('p', { text: t('appt.bring') }) : null,
          a.bring && a.bring.length ? bring : null,
          a.past ? el('p', { class: 'state', text: t('appt.past') }) : null,
          a.problem ? el('p', { class: 'badge-warn', text: t('appt.problem') }) : null,
        ),
        el('div', { class: 'actions' }, ics),
      ),
    );
  }
  box.append(ul);
  return box;
}

