// The hub dashboard's Inscriptions view (#/inscriptions): every centre's
// registrations, filtered, with where the person lives (commune, QPV), their
// genre, seat (confirmed or waiting list), presence, CSV/JSON export and
// erasure.
import { announce, api, confirmDialog, dateShort, dayOnly, field, GENRES, h, label, listAll, navigate, personName, plural, select } from '../base.js';
import { seatText } from '../seats.js';
import { AGGLOS, centreName, centreOptions, exportLink, hubMount, QPV_ONE, ROLE_ONE, ROLES, state } from '../hub.js';

export async function viewRegistrations(params) {
  state.view = 'inscriptions';
  const main = hubMount('Inscriptions de tous les centres');
  let events = [];
  try { events = await listAll('/api/v1/events?include_deleted=true'); } catch (e) { announce(e.message, 'err'); }
  const byId = new Map(events.map((e) => [e.id, e]));
  events.sort((a, b) => (b.starts_at || '').localeCompare(a.starts_at || ''));
  const f = {
    q: h('input', { type: 'search', autocomplete: 'off', value: params.get('q') || '' }),
    centre_id: select(centreOptions(), params.get('centre_id') || '', 'Tous les centres'),
    agglomeration: select(AGGLOS, params.get('agglomeration') || '', 'Toutes'),
    event_id: select(events.filter((e) => !e.deleted).map((e) => [e.id, e.title + ' — ' + dayOnly(e.starts_at)]), params.get('event_id') || '', 'Tous les événements'),
    role: select(ROLES.map(([v]) => [v, ROLE_ONE[v]]), params.get('role') || '', 'Tous les rôles'),
    attended: select([['true', 'Présents'], ['false', 'Non présents']], params.get('attended') || '', 'Tous'),
    from: h('input', { type: 'date', value: params.get('from') || '' }),
    to: h('input', { type: 'date', value: params.get('to') || '' }),
  };
  const form = h('form', { class: 'toolbar card', role: 'search', 'data-testid': 'reg-filters' },
    field('reg-filter', 'q', 'Rechercher (nom, prénom, courriel)', f.q, { plain: true }),
    field('reg-filter', 'centre_id', 'Centre', f.centre_id, { plain: true }),
    field('reg-filter', 'agglomeration', 'Agglomération', f.agglomeration, { plain: true }),
    field('reg-filter', 'event_id', 'Événement', f.event_id, { plain: true }),
    field('reg-filter', 'role', 'Rôle', f.role, { plain: true, small: true }),
    field('reg-filter', 'attended', 'Présence', f.attended, { plain: true, small: true }),
    field('reg-filter', 'from', 'Inscrit·e à partir du', f.from, { plain: true, small: true }),
    field('reg-filter', 'to', 'jusqu\'au', f.to, { plain: true, small: true }),
    h('button', { type: 'submit', 'data-testid': 'reg-filter-submit', text: 'Filtrer' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, input] of Object.entries(f)) { const v = input.value.trim(); if (v) p.set(k, v); }
    const hash = '#/inscriptions' + (p.toString() ? '?' + p.toString() : '');
    navigate(hash);
  });
  const query = new URLSearchParams();
  for (const k of Object.keys(f)) if (params.get(k)) query.set(k, params.get(k));
  const tbody = h('tbody', {});
  const shown = h('p', { class: 'meta', 'data-testid': 'reg-count' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'reg-more', text: 'Afficher plus' });
  main.append(form,
    h('div', { class: 'actions no-print' },
      exportLink('registrations', 'csv', query, 'export-csv', 'Exporter en CSV (Excel)'),
      exportLink('registrations', 'json', query, 'export-json', 'Exporter en JSON')),
    h('p', { class: 'hint', text: 'Les exports de données personnelles sont inscrits au journal (qui, quand, quels filtres).' }),
    shown,
    h('div', { class: 'table-wrap' },
      h('table', { 'data-testid': 'reg-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col', text: 'Personne' }),
          h('th', { scope: 'col', text: 'Rôle' }),
          h('th', { scope: 'col', text: 'Commune' }),
          h('th', { scope: 'col' }, h('abbr', { title: 'Habite un quartier prioritaire de la politique de la ville', text: 'QPV' })),
          h('th', { scope: 'col', text: 'Genre' }),
          h('th', { scope: 'col', text: 'Centre' }),
          h('th', { scope: 'col', text: 'Événement' }),
          h('th', { scope: 'col', text: 'Place' }),
          h('th', { scope: 'col', text: 'Inscrit·e le' }),
          h('th', { scope: 'col', text: 'Présent·e' }),
          h('th', { scope: 'col', text: 'Actions' }))),
        tbody)),
    more);
  let count = 0;
  let after = null;
  function row(r) {
    const ev = byId.get(r.event_id);
    const att = h('input', { type: 'checkbox', checked: !!r.attended, 'data-testid': 'reg-attended', 'aria-label': 'Présent·e : ' + personName(r) });
    att.addEventListener('change', async () => {
      att.disabled = true;
      try {
        await api('PATCH', '/api/v1/registrations/' + encodeURIComponent(r.id), { attended: att.checked });
        announce('Présence corrigée pour ' + personName(r) + '.', 'ok');
      } catch (e) { att.checked = !att.checked; announce(e.message, 'err'); } finally { att.disabled = false; }
    });
    const tr = h('tr', { 'data-testid': 'reg-row', 'data-id': r.id },
      h('td', { 'data-testid': 'reg-name' }, personName(r), h('span', { class: 'sub', text: [r.phone, r.email].filter(Boolean).join(' — ') })),
      h('td', { 'data-testid': 'reg-role', text: ROLE_ONE[r.role] || r.role || '' }),
      h('td', { 'data-testid': 'reg-commune', text: r.commune || '' }),
      h('td', { 'data-testid': 'reg-qpv', 'data-value': r.qpv || 'inconnu', text: QPV_ONE[r.qpv || 'inconnu'] || r.qpv }),
      h('td', { 'data-testid': 'reg-genre', 'data-value': r.genre || 'non-renseigne', text: label(GENRES, r.genre || 'non-renseigne') }),
      h('td', { 'data-testid': 'reg-centre', text: centreName(r.centre_id) }),
      h('td', { 'data-testid': 'reg-event', text: ev ? ev.title + ' — ' + dayOnly(ev.starts_at) : 'Événement inconnu' }),
      h('td', { 'data-testid': 'reg-seat', 'data-value': r.seat || '', text: seatText(r) || '—' }),
      h('td', { text: dateShort(r.created_at) }),
      h('td', {}, att),
      h('td', {}, h('button', { type: 'button', class: 'danger', 'data-testid': 'reg-erase', onclick: () => eraseRegistration(r, tr), text: 'Effacer les données' })));
    return tr;
  }
  async function load() {
    more.hidden = true;
    try {
      const page = await api('GET', '/api/v1/registrations?' + query.toString() + (query.toString() ? '&' : '') + 'limit=100' + (after ? '&after=' + encodeURIComponent(after) : ''));
      for (const r of page.items) tbody.append(row(r));
      count += page.items.length;
      if (!count) tbody.append(h('tr', {}, h('td', { colspan: 11, class: 'empty', text: 'Aucune inscription ne correspond.' })));
      after = page.next;
      more.hidden = !after;
      shown.textContent = plural(count, 'inscription affichée', 'inscriptions affichées') + (after ? ' (il y en a d\'autres : « Afficher plus »)' : '');
    } catch (e) { announce(e.message, 'err'); }
  }
  more.addEventListener('click', load);
  await load();
}

async function eraseRegistration(r, tr) {
  const ok = await confirmDialog('Effacer définitivement les données ?',
    'Les données de ' + personName(r) + ' (nom, prénom, téléphone, courriel, remarques) seront effacées sur le hub et sur tous les boîtiers qui en ont une copie. C\'est définitif.',
    'Effacer définitivement');
  if (!ok) return;
  try {
    await api('POST', '/api/v1/registrations/' + encodeURIComponent(r.id) + '/erase', { confirm: true });
    tr.remove();
    announce('Les données de la personne ont été effacées partout.', 'ok');
  } catch (e) { announce(e.message, 'err'); }
}
