// What the hub dashboard's views share (hub/ui/assets/views/*.js): the hub's
// vocabularies and chart colours, the dashboard's state (the live centres,
// the view shown), centre names, export links, the menu's count of possible
// duplicates and the view mount with the hub's menu highlighting. Generic
// helpers are in /assets/base.js.
import { ROLES as ROLES_ONE, api, h, listAll, mount } from './base.js';

export const ROLES = [
  ['habitant', 'Habitants'],
  ['benevole', 'Bénévoles'],
  ['partenaire', 'Partenaires'],
  ['salarie', 'Salariés'],
  ['administrateur', 'Administrateurs'],
  ['institutionnel', 'Institutionnels'],
];
export const ROLE_ONE = Object.fromEntries(ROLES_ONE);
export const ROLE_COLORS = ['#0b4f8a', '#2e7d32', '#b35c00', '#6a1b9a', '#00838f', '#8a1c1c'];
export const STATUS_COLORS = ['#9aa5b1', '#0b4f8a', '#b35c00', '#2e7d32', '#8a1c1c'];
export const AGGLOS = [
  ['valenciennes-metropole', 'Valenciennes Métropole'],
  ['porte-du-hainaut', 'Porte du Hainaut'],
  ['lens-lievin', 'Lens-Liévin'],
];

// A registration's qpv (docs/design.md "Data"), as the hub's indicators
// CSV words them (hub/people.cpp); genres are GENRES of base.js.
export const QPV = [['oui', 'Habite un QPV'], ['non', 'N\'habite pas un QPV'], ['inconnu', 'QPV : inconnu']];
export const QPV_ONE = { oui: 'Oui', non: 'Non', inconnu: 'Inconnu' };

export const state = {
  centres: [],          // live centres, by name
  view: null,           // name of the view shown, for the periodic refresh
};

export const centreById = (id) => state.centres.find((c) => c.id === id);
export const centreName = (id) => (centreById(id) || {}).name || id;
export const centreOptions = () => state.centres.map((c) => [c.id, c.name]);

export async function loadCentres() {
  try {
    const centres = await listAll('/api/v1/centres');
    centres.sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id, 'fr'));
    state.centres = centres;
  } catch (e) { /* names fall back to ids */ }
}

export function exportLink(entity, format, params, testid, text) {
  const p = new URLSearchParams(params || {});
  p.set('entity', entity);
  p.set('format', format);
  return h('a', { class: 'button secondary', href: '/api/v1/export?' + p.toString(), download: '', 'data-testid': testid, text });
}

// mount() of base.js with the hub's menu: "#/evenement/..." is under
// Événements, the empty hash is Centres.
export function hubMount(title, ...content) {
  const isCurrent = (nav) => location.hash.startsWith('#/' + nav) ||
    (nav === 'evenements' && location.hash.startsWith('#/evenement/')) ||
    (nav === 'centres' && (location.hash === '' || location.hash === '#/'));
  return mount(title, isCurrent, ...content);
}

// The menu's badge: how many possible duplicates wait for an answer
// ("200+" beyond one page). Errors leave the badge as it was.
export async function refreshDuplicateBadge() {
  const badge = document.getElementById('dup-badge');
  if (!badge) return;
  try {
    const page = await api('GET', '/api/v1/duplicates?status=open&limit=200');
    const n = page.items.length;
    badge.textContent = n + (page.next ? '+' : '');
    badge.hidden = n === 0;
    badge.dataset.count = String(n);
    const link = badge.closest('a');
    if (link) link.setAttribute('aria-label', 'Doublons possibles' + (n ? ' : ' + badge.textContent + ' à examiner' : ''));
  } catch (e) { /* shown again at the next poll */ }
}
