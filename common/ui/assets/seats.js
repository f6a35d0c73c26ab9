// The seats of an event in both web UIs (docs/design.md "Seats", 9.3), an ES
// module served at /assets/seats.js by both daemons: a registration's seat
// badge, the French sentences of the seat counts, and the « Places par
// centre » panel (the holders' ledger and the seat move form, posted to
// POST /api/v1/events/{id}/seats). It reads the JSON of
// common/net/seats_api.h and never computes seats itself: the daemon does.
// data-testid attributes are stable: browser tests rely on them.
import { api, dayMonth, h, nf, plural, select } from './base.js';

// A registration's seat, as a column shows it.
export const SEATS = [['confirmee', 'Confirmée'], ['attente', 'Liste d\'attente']];

// « Confirmée le 3 déc. » (seat_at, Paris time), « Liste d'attente », or ''
// when the event has no limit (seat null).
export function seatText(r) {
  if (r.seat === 'confirmee') return 'Confirmée' + (r.seat_at ? ' le ' + dayMonth(r.seat_at) : '');
  if (r.seat === 'attente') return 'Liste d\'attente';
  return '';
}

// The badge of seatText(r), or null when seat is null.
export function seatBadge(r) {
  if (!r.seat) return null;
  return h('span', {
    class: 'badge seat ' + (r.seat === 'confirmee' ? 'confirmed' : 'waiting'),
    'data-testid': 'seat', 'data-seat': r.seat, text: seatText(r),
  });
}

// The seat badge inside `box` (replaced only when its text changed, so a
// refresh never flickers); a badge appears (first in box) or goes as seat does.
export function updateSeatBadge(box, r) {
  const old = box.querySelector('[data-testid="seat"]');
  const text = seatText(r);
  if (old && old.textContent === text) return;
  const badge = seatBadge(r);
  if (old && badge) old.replaceWith(badge);
  else if (old) old.remove();
  else if (badge) box.prepend(badge);
}

// « Places tenues ici : 10 · confirmées : 7 · libres : 3 · en attente : 2 »
// (a node's own line), '' without a line here.
export function hereText(seats) {
  const here = seats && seats.here;
  if (!here) return '';
  return 'Places tenues ici : ' + nf.format(here.seats) + ' · confirmées : ' + nf.format(here.confirmed) +
    ' · libres : ' + nf.format(here.free) + ' · en attente : ' + nf.format(here.waiting);
}

// « 2 personnes en liste d'attente », « liste d'attente vide ».
export const waitingText = (n) => (n > 0 ? plural(n, 'personne', 'personnes') + ' en liste d\'attente' : 'liste d\'attente vide');

// The whole event as this replica knows it: « Événement : 3 places restantes
// sur 12 · 2 personnes en liste d'attente » or « Complet : 12 places sur 12
// confirmées · ... ». '' without a limit.
export function eventText(seats) {
  if (!seats || !seats.limited) return '';
  const cap = nf.format(seats.capacity);
  const head = seats.free > 0
    ? 'Événement : ' + plural(seats.free, 'place restante', 'places restantes') + ' sur ' + cap
    : 'Complet : ' + cap + ' ' + (seats.capacity > 1 ? 'places confirmées' : 'place confirmée') + ' sur ' + cap;
  return head + ' · ' + waitingText(seats.waiting);
}

// What a new registration taken here will get, said before staff submit:
// { kind: 'ok' | 'warn', text }, or null without a limit or a line here.
export function forecast(seats) {
  const here = seats && seats.limited ? seats.here : null;
  if (!here) return null;
  if (here.free > 0) {
    return { kind: 'ok', text: plural(here.free, 'place garantie', 'places garanties') + ' ici · ' + nf.format(seats.waiting) + ' en liste d\'attente' };
  }
  const already = seats.waiting > 0 ? plural(seats.waiting, 'personne', 'personnes') + ' déjà en attente' : 'personne n\'est encore en attente';
  let text = 'Plus de place garantie ici : cette inscription ira en liste d\'attente (' + already + ').';
  const host = (seats.holders || []).find((x) => x.host);
  if (!here.host && host && host.free > 0) text += ' Le centre organisateur pourra la confirmer sur ses places libres.';
  return { kind: 'warn', text };
}

// « Places : 120 · confirmées : 80 · libres : 40 · en liste d'attente : 3 »
function totalsText(seats) {
  return 'Places : ' + nf.format(seats.capacity) + ' · confirmées : ' + nf.format(seats.confirmed) +
    ' · libres : ' + nf.format(seats.free) + ' · en liste d\'attente : ' + nf.format(seats.waiting);
}

// « 3 à rendre » (asked back, not yet returned), « 2 à recevoir » (asked
// for, not yet given by the host), or « — ».
function pendingText(x) {
  const parts = [];
  if (x.pending_reclaim > 0) parts.push(nf.format(x.pending_reclaim) + ' à rendre');
  if (x.pending_grant > 0) parts.push(nf.format(x.pending_grant) + ' à recevoir');
  return parts.join(' · ') || '—';
}

function ledger(seats, centreName) {
  const num = (testid, n) => h('td', { class: 'num', 'data-testid': testid, text: nf.format(n) });
  const rows = (seats.holders || []).map((x) => h('tr', { 'data-testid': 'seats-holder', 'data-centre': x.centre_id },
    h('th', { scope: 'row', 'data-testid': 'seats-centre-name' }, centreName(x.centre_id),
      x.host ? h('span', { class: 'seats-host', text: ' (organisateur)' }) : null),
    num('seats-held', x.seats), num('seats-confirmed', x.confirmed), num('seats-free', x.free),
    num('seats-waiting', x.waiting),
    h('td', { 'data-testid': 'seats-pending', text: pendingText(x) })));
  return h('table', { class: 'seats-table', 'data-testid': 'seats-table' },
    h('caption', { class: 'meta', 'data-testid': 'seats-totals', text: totalsText(seats) }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: 'Centre' }),
      h('th', { scope: 'col', class: 'num', text: 'Places' }),
      h('th', { scope: 'col', class: 'num', text: 'Confirmées' }),
      h('th', { scope: 'col', class: 'num', text: 'Libres' }),
      h('th', { scope: 'col', class: 'num', text: 'En attente' }),
      h('th', { scope: 'col', text: 'Demandes en cours' }))),
    h('tbody', {}, rows));
}

// The two vocabularies of the move form: the host's node moves seats, the
// hub asks for moves (docs/design.md 9.3).
const WORDS = {
  host: {
    intro: 'Donnez des places libres à un autre centre pour qu\'il confirme ses inscriptions même hors ligne, ou reprenez celles qu\'il n\'a pas utilisées (son poste les rend dès qu\'il est en ligne).',
    give: 'Donner des places', take_back: 'Reprendre des places',
    done: {
      give: (n, c) => plural(n, 'place donnée', 'places données') + ' à ' + c + '.',
      take_back: (n, c) => 'Demande envoyée : ' + c + ' rendra ' + plural(n, 'place libre', 'places libres') + ' dès que son poste sera en ligne.',
    },
  },
  hub: {
    intro: 'Les déplacements de places sont des demandes : le poste du centre organisateur donne les places, celui du centre concerné rend les siennes, chacun dès qu\'il est en ligne.',
    give: 'Demander au centre organisateur de donner des places', take_back: 'Demander la restitution de places',
    done: {
      give: (n, c) => 'Demande envoyée au centre organisateur : donner ' + plural(n, 'place', 'places') + ' à ' + c + '.',
      take_back: (n, c) => 'Demande envoyée : ' + c + ' rendra ' + plural(n, 'place libre', 'places libres') + ' au centre organisateur.',
    },
  },
};

let panelCount = 0;

// The « Places par centre » panel of one event. o:
//   event        the event record (its id, centre_id and seats);
//   centres      [[id, name]...], the centres a move may name (the host is left out);
//   centreName   id -> name;
//   mode         'host' (the host's node: moves) or 'hub' (requests);
//   onMoved(res) after a move, with the answer {event, seats};
//   announce(text, kind) where success is said (the view's flash);
//   heading      false when the place around already says « Places par centre ».
// Returns { el, update(seats) }: update re-renders the ledger only, so a
// refresh keeps what staff are typing in the form.
export function seatsPanel(o) {
  const id = 'seats-' + (++panelCount);
  const words = WORDS[o.mode];
  const wrap = h('div', { class: 'seats-ledger table-wrap' });
  const update = (seats) => {
    if (seats && seats.limited) wrap.replaceChildren(ledger(seats, o.centreName));
  };
  update(o.event.seats);
  const centre = select(o.centres.filter(([c]) => c !== o.event.centre_id), '', 'Choisissez un centre');
  centre.id = id + '-centre';
  centre.setAttribute('data-testid', 'seats-centre');
  const count = h('input', { type: 'number', id: id + '-count', min: 1, max: 1000000, inputmode: 'numeric', value: '1', 'data-testid': 'seats-count' });
  const error = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true, 'data-testid': 'seats-error' });
  const buttons = {
    give: h('button', { type: 'submit', 'data-testid': 'seats-give', text: words.give }),
    take_back: h('button', { type: 'button', class: 'secondary', 'data-testid': 'seats-take-back', text: words.take_back }),
    cancel: h('button', { type: 'button', class: 'secondary', 'data-testid': 'seats-cancel', text: 'Annuler les demandes en cours' }),
  };
  const form = h('form', { class: 'seats-move', novalidate: true, 'data-testid': 'seats-form' },
    h('p', { class: 'hint', text: words.intro }),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field' }, h('label', { for: centre.id, text: 'Centre' }), centre),
      h('div', { class: 'field small' }, h('label', { for: count.id, text: 'Nombre de places' }), count)),
    error,
    h('div', { class: 'actions' }, buttons.give, buttons.take_back, buttons.cancel));
  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    error.focus();
  };
  async function move(kind) {
    error.hidden = true;
    error.textContent = '';
    if (!centre.value) { fail('Choisissez le centre.'); centre.focus(); return; }
    const n = Number(count.value);
    if (kind !== 'cancel' && !(Number.isInteger(n) && n > 0)) { fail('Indiquez un nombre de places (au moins 1).'); count.focus(); return; }
    const body = { centre_id: centre.value };
    body[kind] = kind === 'cancel' ? true : n;
    for (const b of Object.values(buttons)) b.disabled = true;
    try {
      const res = await api('POST', '/api/v1/events/' + encodeURIComponent(o.event.id) + '/seats', body);
      update(res.seats);
      const name = o.centreName(centre.value);
      o.announce(kind === 'cancel' ? 'Demandes en cours annulées pour ' + name + '.' : words.done[kind](n, name), 'ok');
      if (o.onMoved) o.onMoved(res);
    } catch (e) {
      fail(e.message);  // the daemon's French message
    } finally {
      for (const b of Object.values(buttons)) b.disabled = false;
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); move('give'); });
  buttons.take_back.addEventListener('click', () => move('take_back'));
  buttons.cancel.addEventListener('click', () => move('cancel'));
  const el = h('section', {
    class: 'seats-panel', 'aria-labelledby': o.heading === false ? null : id + '-title', 'aria-label': o.heading === false ? 'Places par centre' : null,
    'data-testid': 'seats-panel', 'data-event-id': o.event.id,
  }, o.heading === false ? null : h('h2', { id: id + '-title', text: 'Places par centre' }), wrap, form);
  return { el, update };
}
