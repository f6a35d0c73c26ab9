// The hub dashboard's « Indicateurs » view (#/indicateurs?from=&to=): the
// funders' figures in distinct people over a period (GET
// /api/v1/reports/indicators, the admin's « Même personne » answers
// applied): headline figures, registrations vs people, bar charts by role,
// agglomeration, centre, event kind, QPV and genre (charts.js), and the
// same figures as a CSV for French Excel (format=csv, same period).
import { announce, api, field, GENRES, h, KINDS, navigate, nf } from '../base.js';
import { AGGLOS, centreOptions, hubMount, QPV, ROLE_COLORS, ROLES, state } from '../hub.js';

// "2026-03-01" -> "01/03/2026" (the date as typed, no time zone involved).
const frDate = (ymd) => ymd.split('-').reverse().join('/');
const isDate = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || '');
const count = (n, one, many) => nf.format(n) + ' ' + (n > 1 ? many : one);

// [value, label, count] of one dimension in `order`, then any value the
// hub counted that the order does not know (its own label).
function entries(counts, order) {
  const known = new Set(order.map(([v]) => v));
  const out = order.map(([v, l]) => [v, l, counts[v] || 0]);
  for (const [v, n] of Object.entries(counts || {})) if (!known.has(v)) out.push([v, v, n]);
  return out;
}

function dimension(key, title, column, rows, color) {
  const C = window.TerrilCharts;
  return h('section', { class: 'report-section', 'data-testid': 'ind-' + key },
    h('h2', { text: title }),
    C.stackedBars({ rows: rows.map(([, l, n]) => ({ label: l, values: [n] })), series: [{ label: 'Personnes distinctes', color }],
      testid: 'chart-ind-' + key, title: title + ' (personnes distinctes)' }),
    h('details', { class: 'ind-table' }, h('summary', { text: 'Voir les chiffres en tableau' }),
      h('table', { 'data-testid': 'table-ind-' + key },
        h('caption', { text: title + ', en personnes distinctes' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: column }),
          h('th', { scope: 'col', class: 'num', text: 'Personnes distinctes' }))),
        h('tbody', {}, rows.map(([v, l, n]) => h('tr', { 'data-value': v }, h('th', { scope: 'row', text: l }),
          h('td', { class: 'num', text: nf.format(n) })))))));
}

export async function viewIndicators(params) {
  state.view = 'indicateurs';
  const from = isDate(params.get('from')) ? params.get('from') : '';
  const to = isDate(params.get('to')) ? params.get('to') : '';
  const f = {
    from: h('input', { type: 'date', value: from }),
    to: h('input', { type: 'date', value: to }),
  };
  const form = h('form', { class: 'toolbar card', 'data-testid': 'ind-filters', 'aria-label': 'Période' },
    field('ind', 'from', 'Du', f.from, { plain: true, small: true }),
    field('ind', 'to', 'au (inclus)', f.to, { plain: true, small: true }),
    h('button', { type: 'submit', 'data-testid': 'ind-submit', text: 'Afficher' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, input] of Object.entries(f)) if (input.value) p.set(k, input.value);
    navigate('#/indicateurs' + (p.toString() ? '?' + p.toString() : ''));
  });
  const query = new URLSearchParams();
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  const csv = new URLSearchParams(query);
  csv.set('format', 'csv');
  const period = from && to ? 'du ' + frDate(from) + ' au ' + frDate(to) : from ? 'depuis le ' + frDate(from)
    : to ? 'jusqu\'au ' + frDate(to) : 'depuis le début de l\'opération';
  const main = hubMount('Indicateurs pour les financeurs', form,
    h('div', { class: 'actions no-print' },
      h('a', { class: 'button secondary', href: '/api/v1/reports/indicators?' + csv.toString(), download: '', 'data-testid': 'ind-export-csv', text: 'Exporter en CSV' })),
    h('p', { class: 'meta', 'data-testid': 'ind-period', text: 'Période : ' + period + ' (date des événements).' }));
  let ind;
  try {
    ind = await api('GET', '/api/v1/reports/indicators' + (query.toString() ? '?' + query.toString() : ''));
  } catch (e) { announce(e.message, 'err'); return; }
  const regs = ind.registrations || 0;
  const att = ind.attended || { persons: 0, registrations: 0 };
  const rate = regs ? Math.round((100 * att.registrations) / regs) + ' %' : '—';
  const C = window.TerrilCharts;
  const cmpSeries = [{ label: 'Inscriptions', color: '#0b4f8a' }, { label: 'Personnes distinctes', color: '#2e7d32' }];
  const centres = centreOptions();
  main.append(
    h('section', { class: 'report-section ind-head', 'data-testid': 'ind-summary' },
      h('p', { class: 'ind-headline', 'data-testid': 'ind-headline' },
        h('span', { 'data-testid': 'ind-persons', text: count(ind.persons, 'personne distincte', 'personnes distinctes') }),
        ' · ', h('span', { 'data-testid': 'ind-registrations', text: count(regs, 'inscription', 'inscriptions') }),
        ' · ', h('span', { 'data-testid': 'ind-rate', text: 'taux de présence ' + rate })),
      h('p', { class: 'meta', 'data-testid': 'ind-present', text: count(att.persons, 'personne présente', 'personnes présentes') +
        ' au moins une fois, ' + count(att.registrations, 'présence', 'présences') + ' au total.' }),
      h('h2', { text: 'Inscriptions et personnes' }),
      C.legend(cmpSeries),
      C.stackedBars({ rows: [
        { label: 'Inscriptions', values: [regs, 0] }, { label: 'Personnes distinctes', values: [0, ind.persons] },
        { label: 'Présences', values: [att.registrations, 0] }, { label: 'Personnes présentes', values: [0, att.persons] },
      ], series: cmpSeries, testid: 'chart-ind-compare', title: 'Inscriptions et personnes distinctes' }),
      h('p', { class: 'hint', text: 'Une personne inscrite à plusieurs événements, ou par deux centres (« Même personne » dans les doublons), compte une fois. ' +
        'Une personne venue avec deux rôles compte dans chacun : les totaux par rôle peuvent dépasser le nombre de personnes.' })),
    dimension('role', 'Par rôle', 'Rôle', entries(ind.by.role, ROLES), ROLE_COLORS[0]),
    dimension('agglomeration', 'Par agglomération', 'Agglomération', entries(ind.by.agglomeration, AGGLOS), ROLE_COLORS[1]),
    dimension('kind', 'Par type d\'événement', 'Type d\'événement', entries(ind.by.kind, KINDS), ROLE_COLORS[3]),
    dimension('qpv', 'Par quartier prioritaire (QPV)', 'Quartier prioritaire', entries(ind.by.qpv, QPV), ROLE_COLORS[4]),
    dimension('genre', 'Par genre', 'Genre', entries(ind.by.genre, GENRES), ROLE_COLORS[5]),
    dimension('centre', 'Par centre', 'Centre', entries(ind.by.centre, centres), ROLE_COLORS[2]));
}
