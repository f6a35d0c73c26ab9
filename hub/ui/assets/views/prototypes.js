// The hub dashboard's Prototypes view (#/prototypes): the prototype notes
// of every centre, filtered.
import { announce, api, dayOnly, field, h, label, listAll, navigate, select, STATUSES } from '../base.js';
import { centreName, centreOptions, exportLink, hubMount, state } from '../hub.js';

export async function viewPrototypes(params) {
  state.view = 'prototypes';
  const main = hubMount('Prototypes et applications des centres');
  const f = {
    q: h('input', { type: 'search', autocomplete: 'off', value: params.get('q') || '' }),
    centre_id: select(centreOptions(), params.get('centre_id') || '', 'Tous les centres'),
    status: select(STATUSES, params.get('status') || '', 'Tous les statuts'),
  };
  const form = h('form', { class: 'toolbar card', role: 'search', 'data-testid': 'notes-filters' },
    field('notes-filter', 'q', 'Rechercher (titre, résumé, étiquettes)', f.q, { plain: true }),
    field('notes-filter', 'centre_id', 'Centre', f.centre_id, { plain: true }),
    field('notes-filter', 'status', 'Statut', f.status, { plain: true }),
    h('button', { type: 'submit', 'data-testid': 'notes-filter-submit', text: 'Filtrer' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, input] of Object.entries(f)) { const v = input.value.trim(); if (v) p.set(k, v); }
    const hash = '#/prototypes' + (p.toString() ? '?' + p.toString() : '');
    navigate(hash);
  });
  const query = new URLSearchParams();
  for (const k of Object.keys(f)) if (params.get(k)) query.set(k, params.get(k));
  const list = h('ul', { class: 'cards', 'data-testid': 'notes-list' });
  main.append(h('p', { class: 'intro', text: 'Ce que les centres ont construit, testé et évalué : un centre voisin y trouve ce que les autres ont déjà fait.' }),
    form,
    h('div', { class: 'actions no-print' }, exportLink('prototype-notes', 'csv', query.get('centre_id') ? { centre_id: query.get('centre_id') } : {}, 'export-notes-csv', 'Exporter en CSV')),
    list);
  let notes;
  try { notes = await listAll('/api/v1/prototype-notes' + (query.toString() ? '?' + query.toString() : '')); } catch (e) { announce(e.message, 'err'); return; }
  notes.sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''));
  if (!notes.length) list.append(h('li', { class: 'empty', text: 'Aucune note ne correspond.' }));
  for (const n of notes) {
    list.append(h('li', { class: 'card note', 'data-testid': 'note-card', 'data-id': n.id },
      h('h2', { 'data-testid': 'note-title', text: n.title }),
      h('p', { class: 'meta' }, h('span', { class: 'badge', 'data-testid': 'note-status', text: label(STATUSES, n.status) }), ' ',
        h('span', { 'data-testid': 'note-centre', text: centreName(n.centre_id) }), ' — mis à jour le ', dayOnly(n.updated_at)),
      n.summary ? h('p', { text: n.summary }) : null,
      n.tags && n.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Étiquettes', 'data-testid': 'note-tags' }, n.tags.map((t) => h('li', { text: t }))) : null,
      n.evaluation ? h('div', {}, h('h3', { text: 'Évaluation' }), h('p', { class: 'evaluation', 'data-testid': 'note-evaluation', text: n.evaluation })) : null));
  }
}
