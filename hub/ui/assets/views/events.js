// The hub dashboard's Événements views: the list (#/evenements) with
// filters, counts, each event's attendance sheet (a new tab) and, under an
// event with a limit, its « Places par centre » (the holders' ledger and the
// seat move requests of /assets/seats.js; open ledgers are refreshed by the
// status poll), and the form of a new event sent to every box
// (#/evenement/nouveau).
import { announce, api, capacityValue, clearErrors, dateShort, field, formEnd, h, KINDS, label, listAll, localToIso, navigate, nf, plural, select, showErrors, valueOrNull } from '../base.js';
import { seatsPanel, waitingText } from '../seats.js';
import { centreName, centreOptions, exportLink, hubMount, state } from '../hub.js';

function capacityText(e) {
  if (e.capacity === null || e.capacity === undefined) return 'sans limite';
  return nf.format(e.capacity) + (e.places_left <= 0 ? ' (complet)' : ' (' + plural(e.places_left, 'place restante', 'places restantes') + ')');
}

export async function viewEvents(params) {
  state.view = 'evenements';
  const main = hubMount('Événements de tous les centres');
  const f = {
    centre_id: select(centreOptions(), params.get('centre_id') || '', 'Tous les centres'),
    kind: select(KINDS, params.get('kind') || '', 'Tous les types'),
  };
  const form = h('form', { class: 'toolbar card', 'data-testid': 'events-filters' },
    field('ev-filter', 'centre_id', 'Centre organisateur', f.centre_id, { plain: true }),
    field('ev-filter', 'kind', 'Type', f.kind, { plain: true }),
    h('button', { type: 'submit', 'data-testid': 'ev-filter-submit', text: 'Filtrer' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, input] of Object.entries(f)) if (input.value) p.set(k, input.value);
    const hash = '#/evenements' + (p.toString() ? '?' + p.toString() : '');
    navigate(hash);
  });
  const query = new URLSearchParams();
  for (const k of Object.keys(f)) if (params.get(k)) query.set(k, params.get(k));
  const tbody = h('tbody', {});
  main.append(
    h('div', { class: 'actions no-print' },
      h('a', { class: 'button', href: '#/evenement/nouveau', 'data-testid': 'event-new', text: 'Créer un événement (temps fort…)' }),
      exportLink('events', 'csv', query.get('centre_id') ? { centre_id: query.get('centre_id') } : {}, 'export-events-csv', 'Exporter en CSV')),
    form,
    h('div', { class: 'table-wrap' },
      h('table', { 'data-testid': 'events-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col', text: 'Événement' }),
          h('th', { scope: 'col', text: 'Centre organisateur' }),
          h('th', { scope: 'col', text: 'Date' }),
          h('th', { scope: 'col', class: 'num', text: 'Inscrits' }),
          h('th', { scope: 'col', class: 'num', text: 'Présents' }),
          h('th', { scope: 'col', class: 'num', text: 'Places' }),
          h('th', { scope: 'col', class: 'no-print', text: 'Émargement' }))),
        tbody)));
  let events;
  try { events = await listAll('/api/v1/events' + (query.toString() ? '?' + query.toString() : '')); } catch (e) { announce(e.message, 'err'); return; }
  const now = new Date();
  const upcoming = (e) => new Date(e.ends_at || e.starts_at) >= now;
  events.sort((a, b) => {
    const ua = upcoming(a), ub = upcoming(b);
    if (ua !== ub) return ua ? -1 : 1;
    return ua ? new Date(a.starts_at) - new Date(b.starts_at) : new Date(b.starts_at) - new Date(a.starts_at);
  });
  if (!events.length) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'empty', text: 'Aucun événement.' })));
  for (const e of events) {
    tbody.append(h('tr', { 'data-testid': 'event-row', 'data-id': e.id },
      h('th', { scope: 'row' }, e.kind === 'temps-fort' ? h('span', { class: 'badge highlight', text: 'Temps fort' }) : null, ' ',
        h('span', { 'data-testid': 'event-title', text: e.title }), h('span', { class: 'sub', text: label(KINDS, e.kind) + (e.place ? ' — ' + e.place : '') })),
      h('td', { 'data-testid': 'event-centre', text: centreName(e.centre_id) }),
      h('td', { text: dateShort(e.starts_at) + (upcoming(e) ? '' : ' (passé)') }),
      h('td', { class: 'num', 'data-testid': 'event-registered', text: nf.format(e.registered || 0) }),
      h('td', { class: 'num', 'data-testid': 'event-attended', text: nf.format(e.attended || 0) }),
      h('td', { class: 'num', 'data-testid': 'event-capacity', text: capacityText(e) }),
      h('td', { class: 'no-print' }, h('a', {
        class: 'button secondary', href: '/api/v1/events/' + encodeURIComponent(e.id) + '/attendance-sheet',
        target: '_blank', rel: 'noopener', 'data-testid': 'event-sheet', text: 'Imprimer la feuille d\'émargement',
      }))));
    if (e.seats && e.seats.limited) tbody.append(seatsRow(e));
  }
}

// The row under a limited event: « Places par centre », closed until asked.
const openPanels = new Map();  // event id -> panel, while its details are open
function seatsRow(e) {
  const panel = seatsPanel({ event: e, mode: 'hub', centreName, centres: centreOptions(), announce, heading: false });
  const s = e.seats;
  const details = h('details', { class: 'seats-details', 'data-testid': 'event-seats', 'data-id': e.id },
    h('summary', { 'data-testid': 'event-seats-summary',
      text: 'Places par centre — ' + plural(s.holders.length, 'centre', 'centres') + ' · ' +
        plural(s.free, 'place libre', 'places libres') + ' · ' + waitingText(s.waiting) }),
    panel.el);
  details.addEventListener('toggle', () => {
    if (details.open) openPanels.set(e.id, panel); else openPanels.delete(e.id);
  });
  return h('tr', { class: 'seats-row', 'data-testid': 'event-seats-row', 'data-id': e.id }, h('td', { colspan: 7 }, details));
}

// The open ledgers again (moves carried out by the boxes, promotions).
export async function refreshSeats() {
  for (const [id, panel] of openPanels) {
    if (!panel.el.isConnected) { openPanels.delete(id); continue; }
    try { panel.update(await api('GET', '/api/v1/events/' + encodeURIComponent(id) + '/seats')); } catch (e) { /* next poll */ }
  }
}

export function viewEventForm() {
  state.view = 'evenement';
  const f = {
    centre_id: select(centreOptions(), '', 'Choisissez le centre qui accueille'),
    title: h('input', { type: 'text', maxlength: 200 }),
    kind: select(KINDS, 'temps-fort'),
    starts_at: h('input', { type: 'datetime-local' }),
    ends_at: h('input', { type: 'datetime-local' }),
    place: h('input', { type: 'text', maxlength: 300 }),
    capacity: h('input', { type: 'number', min: 0, max: 1000000, inputmode: 'numeric' }),
    description: h('textarea', { rows: 4, maxlength: 4000 }),
  };
  const submit = h('button', { type: 'submit', 'data-testid': 'ev-submit', text: 'Créer l\'événement' });
  const form = h('form', { class: 'card', novalidate: true, 'data-testid': 'event-form' },
    h('p', { class: 'hint', text: 'L\'événement est envoyé à tous les boîtiers : chaque centre peut y inscrire des personnes.' }),
    field('ev', 'centre_id', 'Centre organisateur', f.centre_id, { required: true }),
    field('ev', 'title', 'Titre', f.title, { required: true }),
    field('ev', 'kind', 'Type', f.kind, { required: true }),
    h('div', { class: 'row' },
      field('ev', 'starts_at', 'Début', f.starts_at, { required: true }),
      field('ev', 'ends_at', 'Fin', f.ends_at)),
    h('div', { class: 'row' },
      field('ev', 'place', 'Lieu', f.place),
      field('ev', 'capacity', 'Nombre de places', f.capacity, { hint: 'Laissez vide s\'il n\'y a pas de limite.' })),
    field('ev', 'description', 'Description', f.description),
    formEnd(submit, '#/evenements'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      centre_id: f.centre_id.value || null, title: f.title.value, kind: f.kind.value,
      starts_at: localToIso(f.starts_at.value), ends_at: localToIso(f.ends_at.value),
      place: valueOrNull(f.place.value), description: valueOrNull(f.description.value),
      capacity: capacityValue(f.capacity),
    };
    for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
    submit.disabled = true;
    try {
      const ev = await api('POST', '/api/v1/events', body);
      location.hash = '#/evenements';
      setTimeout(() => announce('Événement « ' + ev.title + ' » créé : il part vers tous les boîtiers.', 'ok'), 50);
    } catch (err) {
      showErrors(form, 'ev', err);
    } finally {
      submit.disabled = false;
    }
  });
  hubMount('Nouvel événement', form);
}
