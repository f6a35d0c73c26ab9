// The hub dashboard's Rapports view (#/rapports): the funders' activity
// report (roles in registrations and in distinct people, attendance,
// prototypes; charts from charts.js), printable, with the FEDER sentence
// from common/core/brand.h.
import { announce, api, BRAND, dayOnly, h, label, nf, plural, STATUSES, TZ } from '../base.js';
import { AGGLOS, exportLink, hubMount, ROLE_COLORS, ROLES, state, STATUS_COLORS } from '../hub.js';

// A report table: first column a row header, columns from `firstNum` on
// are numbers (right-aligned).
function table(testid, caption, head, rows, foot, firstNum) {
  const from = firstNum || 1;
  const cell = (c, i) => (i === 0 ? h('th', { scope: 'row', text: c }) : h('td', { class: i >= from ? 'num' : null, text: c }));
  return h('div', { class: 'table-wrap' },
    h('table', { 'data-testid': testid },
      h('caption', { text: caption }),
      h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i >= from ? 'num' : null, text: c })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map(cell)))),
      foot ? h('tfoot', {}, h('tr', {}, foot.map(cell))) : null));
}

// A report row's count of distinct people (hub/reports.h "persons").
const persons = (row) => ((row && row.persons) || {}).total || 0;
// « 540 inscriptions · 312 personnes » of a report row.
const regsAndPersons = (row) => plural(row.total, 'inscription', 'inscriptions') + ' · ' + plural(persons(row), 'personne', 'personnes');

// Report rows by agglomeration (the dashboard's order), then name.
function byAgglomeration(a, b) {
  const ia = AGGLOS.findIndex(([id]) => id === a.agglomeration);
  const ib = AGGLOS.findIndex(([id]) => id === b.agglomeration);
  if (ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  return (a.name || '').localeCompare(b.name || '', 'fr');
}

export async function viewReports() {
  state.view = 'rapports';
  const main = hubMount('Rapport d\'activité');
  const generated = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, day: 'numeric', month: 'long', year: 'numeric' }).format(new Date());
  main.append(
    h('div', { class: 'report-head' },
      h('p', { class: 'print-only', 'data-testid': 'report-operation', text: 'Opération « ' + BRAND.operationName + ' »' }),
      h('p', { class: 'meta', 'data-testid': 'report-date', text: 'Données consolidées des centres au ' + generated + '.' })),
    h('div', { class: 'actions no-print' },
      h('button', { type: 'button', 'data-testid': 'report-print', onclick: () => window.print(), text: 'Imprimer le rapport' }),
      exportLink('registrations', 'csv', {}, 'report-export-csv', 'Exporter les inscriptions (CSV)')));
  let roles, attendance, protos;
  try {
    [roles, attendance, protos] = await Promise.all([
      api('GET', '/api/v1/reports/roles'), api('GET', '/api/v1/reports/attendance'), api('GET', '/api/v1/reports/prototypes')]);
  } catch (e) { announce(e.message, 'err'); return; }
  const C = window.TerrilCharts;
  roles.centres.sort(byAgglomeration);
  protos.centres.sort(byAgglomeration);
  const roleSeries = ROLES.map(([, l], i) => ({ label: l, color: ROLE_COLORS[i] }));
  const roleValues = (counts) => ROLES.map(([r]) => counts[r] || 0);

  // Roles per agglomeration and per centre.
  const rolesSection = h('section', { class: 'report-section', 'data-testid': 'report-roles' },
    h('h2', { text: 'Les personnes inscrites, par rôle' }),
    h('p', { class: 'meta', 'data-testid': 'report-roles-total', text: 'Au total : ' + plural(roles.total.total, 'inscription', 'inscriptions') + ' en cours (hors inscriptions supprimées).' }),
    h('p', { class: 'meta', 'data-testid': 'report-roles-persons', text: regsAndPersons(roles.total) + ' (une personne inscrite plusieurs fois compte une fois).' }),
    C.legend(roleSeries),
    h('h3', { text: 'Par agglomération' }),
    C.stackedBars({ rows: roles.agglomerations.map((a) => ({ label: a.name, values: roleValues(a.counts) })), series: roleSeries, testid: 'chart-roles-agglomeration', title: 'Inscriptions par rôle et par agglomération' }),
    table('table-roles-agglomeration', 'Inscriptions par rôle et par agglomération', ['Agglomération', ...ROLES.map(([, l]) => l), 'Total'],
      roles.agglomerations.map((a) => [a.name, ...roleValues(a.counts).map((n) => nf.format(n)), nf.format(a.total)]),
      ['Total', ...roleValues(roles.total.counts).map((n) => nf.format(n)), nf.format(roles.total.total)]),
    h('ul', { class: 'meta persons-list', 'data-testid': 'report-agglo-persons' },
      roles.agglomerations.map((a) => h('li', { 'data-id': a.id, text: a.name + ' : ' + regsAndPersons(a) }))),
    h('h3', { text: 'Par centre' }),
    C.stackedBars({ rows: roles.centres.map((c) => ({ label: c.name, values: roleValues(c.counts) })), series: roleSeries, testid: 'chart-roles-centre', title: 'Inscriptions par rôle et par centre' }),
    table('table-roles-centre', 'Inscriptions par rôle et par centre, et personnes distinctes', ['Centre', ...ROLES.map(([, l]) => l), 'Total', 'Personnes'],
      roles.centres.map((c) => [c.name, ...roleValues(c.counts).map((n) => nf.format(n)), nf.format(c.total), nf.format(persons(c))]),
      ['Total', ...roleValues(roles.total.counts).map((n) => nf.format(n)), nf.format(roles.total.total), nf.format(persons(roles.total))]));

  // Attendance per event.
  const att = attendance.items;
  const attSection = h('section', { class: 'report-section', 'data-testid': 'report-attendance' },
    h('h2', { text: 'Participation aux événements' }),
    h('p', { class: 'meta', text: plural(attendance.total.registered, 'inscrit', 'inscrits') + ', ' + plural(attendance.total.attended, 'présent', 'présents') + ' sur ' + plural(att.length, 'événement', 'événements') + '.' }),
    C.legend([{ label: 'Inscrits', color: '#0b4f8a' }, { label: 'Présents', color: '#2e7d32' }, { label: 'Places (capacité)', color: '#a4161a' }]),
    att.length ? C.attendanceBars({ rows: att.map((e) => ({ label: e.title + ' (' + dayOnly(e.starts_at) + ')', registered: e.registered, attended: e.attended, capacity: e.capacity })), testid: 'chart-attendance', title: 'Inscrits, présents et places par événement' })
      : h('p', { class: 'empty', text: 'Aucun événement.' }),
    table('table-attendance', 'Participation par événement', ['Événement', 'Centre', 'Date', 'Inscrits', 'Présents', 'Places'],
      att.map((e) => [e.title, e.centre_name, dayOnly(e.starts_at), nf.format(e.registered), nf.format(e.attended), e.capacity === null ? '—' : nf.format(e.capacity)]),
      null, 3));

  // Prototypes by status per centre.
  const statusSeries = STATUSES.map(([, l], i) => ({ label: l, color: STATUS_COLORS[i] }));
  const statusValues = (counts) => STATUSES.map(([s]) => counts[s] || 0);
  const withNotes = protos.centres.filter((c) => c.total > 0);
  const protoSection = h('section', { class: 'report-section', 'data-testid': 'report-prototypes' },
    h('h2', { text: 'Prototypes et applications, par statut' }),
    h('p', { class: 'meta', text: plural(protos.total.total, 'note', 'notes') + ' de prototype dans ' + plural(withNotes.length, 'centre', 'centres') + '.' }),
    C.legend(statusSeries),
    withNotes.length ? C.stackedBars({ rows: withNotes.map((c) => ({ label: c.name, values: statusValues(c.counts) })), series: statusSeries, testid: 'chart-prototypes', title: 'Prototypes par statut et par centre' })
      : h('p', { class: 'empty', text: 'Aucune note de prototype.' }),
    table('table-prototypes', 'Prototypes par statut et par centre', ['Centre', ...STATUSES.map(([, l]) => l), 'Total'],
      protos.centres.map((c) => [c.name, ...statusValues(c.counts).map((n) => nf.format(n)), nf.format(c.total)]),
      ['Total', ...statusValues(protos.total.counts).map((n) => nf.format(n)), nf.format(protos.total.total)]));

  main.append(rolesSection, attSection, protoSection,
    h('p', { class: 'feder report-feder', 'data-testid': 'report-feder', text: BRAND.federSentence }));
}
