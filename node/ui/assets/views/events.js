// The reception pages' Événements views: the list of events (#/evenements,
// past ones on request; each card says the seats held here and the event's
// places and waiting list, refreshed in place when the status poll sees a
// change; the host's events link to their attendance sheet, opened in a new
// tab) and the event form (#/evenement/nouveau, #/evenement/<id>; a limited
// event the centre hosts has its « Places par centre » panel below, reached
// from the card with ?places=1).
import { announce, api, capacityValue, clearErrors, dateLong, field, formEnd, h, isoToLocal, KINDS, label, listAll, localToIso, select, showErrors, valueOrNull } from '../base.js';
import { seatsPanel } from '../seats.js';
import { capacityLines, centreName, eventSort, isOwn, nodeMount, state } from '../node.js';

export async function viewEvents(params) {
  const showPast = params.get('passes') === '1';
  const main = nodeMount('Événements');
  const toggle = h('input', { type: 'checkbox', id: 'events-past', checked: showPast });
  toggle.addEventListener('change', () => { location.hash = '#/evenements' + (toggle.checked ? '?passes=1' : ''); });
  const list = h('ul', { class: 'cards', id: 'events-list', 'data-testid': 'events-list' });
  main.append(
    h('div', { class: 'toolbar' },
      h('a', { class: 'button', href: '#/evenement', 'data-testid': 'event-new', text: 'Nouvel événement de mon centre' }),
      h('div', { class: 'field checkbox inline' }, toggle, h('label', { for: 'events-past', text: 'Afficher les événements passés' }))),
    list);
  let events;
  try {
    events = await listAll('/api/v1/events');
  } catch (e) {
    announce(e.message, 'err');
    return;
  }
  const now = new Date();
  const sorted = eventSort(events, now).filter((e) => showPast || new Date(e.ends_at || e.starts_at) >= now);
  if (!sorted.length) list.append(h('li', { class: 'empty', text: 'Aucun événement à venir.' }));
  for (const e of sorted) {
    const own = isOwn(e);
    const lines = capacityLines(e);
    const limited = e.capacity !== null && e.capacity !== undefined;
    list.append(h('li', { class: 'card event' + (e.kind === 'temps-fort' ? ' temps-fort' : ''), 'data-testid': 'event-card', 'data-id': e.id },
      h('h2', {}, e.kind === 'temps-fort' ? h('span', { class: 'badge highlight', text: 'Temps fort' }) : null, ' ', e.title),
      h('p', { class: 'meta' }, label(KINDS, e.kind), ' — ', dateLong(e.starts_at), e.place ? ' — ' + e.place : ''),
      h('p', { class: 'meta' }, 'Organisé par ', h('strong', { text: centreName(e.centre_id) }), own ? ' (votre centre)' : ''),
      h('p', { class: 'seats-line here', 'data-testid': 'event-seats-here', hidden: !lines.here, text: lines.here }),
      h('p', { class: 'capacity seats-line', 'data-testid': 'event-capacity', text: lines.whole }),
      e.description ? h('p', { class: 'description', text: e.description }) : null,
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/inscription?evenement=' + encodeURIComponent(e.id), 'data-testid': 'event-register', text: 'Inscrire une personne' }),
        h('a', { class: 'button secondary', href: '#/inscriptions?evenement=' + encodeURIComponent(e.id), text: 'Voir les inscriptions' }),
        own ? h('a', { class: 'button secondary', href: '#/evenement/' + encodeURIComponent(e.id), text: 'Modifier' }) : null,
        own && limited ? h('a', { class: 'button secondary', href: '#/evenement/' + encodeURIComponent(e.id) + '?places=1', 'data-testid': 'event-seats-link', text: 'Places par centre' }) : null,
        // Only the host knows every registration of its event (others' sheet: 403).
        own ? h('a', {
          class: 'button secondary', href: '/api/v1/events/' + encodeURIComponent(e.id) + '/attendance-sheet',
          target: '_blank', rel: 'noopener', 'data-testid': 'event-sheet', text: 'Imprimer la feuille d\'émargement',
        }) : null)));
  }
  if (list.isConnected) state.refresh = () => refreshCards(list);
}

// The cards' seat lines again (a registration here, a promotion, seats
// moved), only the texts that changed.
async function refreshCards(list) {
  if (!list.isConnected) return;
  const events = await listAll('/api/v1/events');
  for (const e of events) {
    const card = list.querySelector('[data-testid="event-card"][data-id="' + CSS.escape(e.id) + '"]');
    if (!card) continue;
    const lines = capacityLines(e);
    const here = card.querySelector('[data-testid="event-seats-here"]');
    const whole = card.querySelector('[data-testid="event-capacity"]');
    if (here.textContent !== lines.here) { here.textContent = lines.here; here.hidden = !lines.here; }
    if (whole.textContent !== lines.whole) whole.textContent = lines.whole;
  }
}

export async function viewEventForm(id, params) {
  let ev = null;
  if (id) {
    try { ev = await api('GET', '/api/v1/events/' + encodeURIComponent(id)); } catch (e) { nodeMount('Événement', h('p', { text: e.message })); return; }
  }
  const f = {
    title: h('input', { type: 'text', maxlength: 200, value: ev ? ev.title : '' }),
    kind: select(KINDS, ev ? ev.kind : 'atelier'),
    starts_at: h('input', { type: 'datetime-local', value: ev ? isoToLocal(ev.starts_at) : '' }),
    ends_at: h('input', { type: 'datetime-local', value: ev ? isoToLocal(ev.ends_at) : '' }),
    place: h('input', { type: 'text', maxlength: 300, value: ev && ev.place ? ev.place : '' }),
    capacity: h('input', { type: 'number', min: 0, max: 1000000, inputmode: 'numeric', value: ev && ev.capacity !== null ? ev.capacity : '' }),
    description: h('textarea', { rows: 4, maxlength: 4000 }),
  };
  f.description.value = ev && ev.description ? ev.description : '';
  const submit = h('button', { type: 'submit', id: 'ev-submit', 'data-testid': 'ev-submit', text: ev ? 'Enregistrer' : 'Créer l\'événement' });
  const form = h('form', { id: 'ev-form', class: 'card', novalidate: true },
    field('ev', 'title', 'Titre', f.title, { required: true }),
    field('ev', 'kind', 'Type', f.kind, { required: true }),
    field('ev', 'starts_at', 'Début', f.starts_at, { required: true }),
    field('ev', 'ends_at', 'Fin', f.ends_at),
    field('ev', 'place', 'Lieu', f.place),
    field('ev', 'capacity', 'Nombre de places', f.capacity, { hint: 'Laissez vide s\'il n\'y a pas de limite.' }),
    field('ev', 'description', 'Description', f.description),
    formEnd(submit, '#/evenements'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      title: f.title.value, kind: f.kind.value,
      starts_at: localToIso(f.starts_at.value), ends_at: localToIso(f.ends_at.value),
      place: valueOrNull(f.place.value), description: valueOrNull(f.description.value),
      capacity: capacityValue(f.capacity),
    };
    if (!ev) { for (const k of ['ends_at', 'place', 'description', 'capacity']) if (body[k] === null) delete body[k]; }
    submit.disabled = true;
    try {
      if (ev) await api('PATCH', '/api/v1/events/' + encodeURIComponent(ev.id), body);
      else await api('POST', '/api/v1/events', body);
      location.hash = '#/evenements';
    } catch (err) {
      showErrors(form, 'ev', err);
    } finally {
      submit.disabled = false;
    }
  });
  const panel = ev && isOwn(ev) && ev.seats && ev.seats.limited ? seatsPanel({
    event: ev, mode: 'host', centreName,
    centres: [...state.centres.values()].filter((c) => !c.deleted).map((c) => [c.id, c.name || c.id])
      .sort((a, b) => a[1].localeCompare(b[1], 'fr')),
    announce,
  }) : null;
  nodeMount(ev ? 'Modifier l\'événement' : 'Nouvel événement', form, panel ? h('div', { class: 'card' }, panel.el) : null);
  if (!panel) return;
  if (params && params.get('places') === '1') {
    panel.el.scrollIntoView({ block: 'start' });
    panel.el.querySelector('[data-testid="seats-centre"]').focus();
  }
  // The ledger follows registrations and moves; the form keeps what is typed.
  state.refresh = async () => {
    if (!panel.el.isConnected) return;
    panel.update(await api('GET', '/api/v1/events/' + encodeURIComponent(ev.id) + '/seats'));
  };
}
