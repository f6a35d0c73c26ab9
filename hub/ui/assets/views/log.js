// The hub dashboard's Journal view (#/journal): the administration log.
import { announce, api, dateShort, h } from '../base.js';
import { hubMount, state } from '../hub.js';

export async function viewLog() {
  state.view = 'journal';
  const main = hubMount('Journal des actions d\'administration');
  main.append(h('p', { class: 'intro', text: 'Qui a fait quoi et quand : boîtiers ajoutés ou révoqués, exports, corrections. Le journal ne contient jamais de données personnelles.' }));
  let log;
  try { log = await api('GET', '/api/v1/admin-log?limit=200'); } catch (e) { announce(e.message, 'err'); return; }
  main.append(h('div', { class: 'table-wrap' },
    h('table', { 'data-testid': 'log-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Quand' }), h('th', { scope: 'col', text: 'Qui' }), h('th', { scope: 'col', text: 'Action' }), h('th', { scope: 'col', text: 'Détail' }))),
      h('tbody', {}, log.items.map((e) => h('tr', { 'data-testid': 'log-row' },
        h('td', { text: dateShort(e.at) }), h('td', { text: e.who }), h('td', { 'data-testid': 'log-action', text: e.action }), h('td', { text: e.detail })))))));
}
