// The reception pages' registration views: the registration form
// (#/inscription?evenement=<event>, #/inscription?personne=<person>,
// #/inscription/<registration> to edit; a new one searches the people this
// centre knows as staff type, views/people.js; before submitting it says
// whether the person gets a seat here or the waiting list), the list with
// search, sort, presence, seat, deletion and erasure (#/inscriptions), and
// the receipts (« Reçu par le hub ») and seats (a promotion) refreshed in
// place when the status poll sees a change.
import { announce, api, clearErrors, confirmDialog, dateShort, field, GENRES, h, label, listAll, navigate, personName, ROLES, select, showErrors, valueOrNull, when } from '../base.js';
import { forecast, seatBadge, updateSeatBadge } from '../seats.js';
import { centreName, eventSort, isOwn, nodeMount, state } from '../node.js';
import { personExtras, personHref, personSearch, QPV } from './people.js';

async function eventOptions(selectedId) {
  const events = await listAll('/api/v1/events');
  const now = new Date();
  const usable = eventSort(events, now).filter((e) => new Date(e.ends_at || e.starts_at) >= now || e.id === selectedId);
  return usable.map((e) => {
    // No seat left here: a new registration goes to the waiting list.
    const full = e.places_left !== null && e.places_left !== undefined && e.places_left <= 0;
    return [e.id, e.title + ' — ' + dateShort(e.starts_at) + ' — ' + centreName(e.centre_id) + (full ? ' (liste d\'attente)' : '')];
  });
}

export async function viewRegister(id, params) {
  let reg = null;
  if (id) {
    try { reg = await api('GET', '/api/v1/registrations/' + encodeURIComponent(id)); } catch (e) { nodeMount('Inscription', h('p', { text: e.message })); return; }
  }
  let options = [];
  try { options = await eventOptions(reg ? reg.event_id : null); } catch (e) { /* shown below */ }
  const chosen = reg ? reg.event_id : (params.get('evenement') || '');
  const f = {
    event_id: select(options, chosen, options.length ? 'Choisissez un événement' : 'Aucun événement à venir'),
    first_name: h('input', { type: 'text', autocomplete: 'off', maxlength: 100, value: reg ? reg.first_name : '' }),
    last_name: h('input', { type: 'text', autocomplete: 'off', maxlength: 100, value: reg ? reg.last_name : '' }),
    phone: h('input', { type: 'tel', autocomplete: 'off', inputmode: 'tel', maxlength: 30, value: reg ? reg.phone : '' }),
    email: h('input', { type: 'email', autocomplete: 'off', maxlength: 254, value: reg && reg.email ? reg.email : '' }),
    role: select(ROLES, reg ? reg.role : '', 'Choisissez un rôle'),
    commune: h('input', { type: 'text', autocomplete: 'off', maxlength: 100, value: reg && reg.commune ? reg.commune : '' }),
    qpv: select(QPV, reg && reg.qpv ? reg.qpv : 'inconnu'),
    genre: select(GENRES, reg && reg.genre ? reg.genre : 'non-renseigne'),
    notes: h('textarea', { rows: 3, maxlength: 2000 }),
    consent: h('input', { type: 'checkbox' }),
  };
  f.notes.value = reg && reg.notes ? reg.notes : '';
  // A new registration: search before create. An edited one keeps its person.
  const people = reg ? null : personSearch(f);
  const submit = h('button', { type: 'submit', id: 'reg-submit', 'data-testid': 'reg-submit', text: reg ? 'Enregistrer les modifications' : 'Enregistrer l\'inscription' });
  const consentBlock = reg
    ? h('p', { class: 'meta', text: 'Consentement recueilli ' + when(reg.consent_at) + '.' })
    : field('reg', 'consent', 'La personne accepte que ses coordonnées soient enregistrées pour cette inscription et partagées avec le centre qui organise l\'événement.', f.consent, { required: true });
  // What this registration will get, said as soon as the event is chosen.
  const seatNote = h('p', { class: 'seats-forecast', role: 'status', 'aria-live': 'polite', hidden: true, 'data-testid': 'reg-seats' });
  let seatAsk = 0;  // answers for an event no longer chosen are dropped
  const showForecast = async () => {
    const eventId = f.event_id.value;
    const mine = ++seatAsk;
    if (!eventId || (reg && eventId === reg.event_id)) { seatNote.hidden = true; return; }
    let seats = null;
    try { seats = await api('GET', '/api/v1/events/' + encodeURIComponent(eventId) + '/seats'); } catch (e) { /* said at submit */ }
    if (mine !== seatAsk) return;
    const fc = forecast(seats);
    seatNote.hidden = !fc;
    if (!fc) return;
    seatNote.className = 'seats-forecast ' + fc.kind;
    seatNote.dataset.kind = fc.kind;
    if (seatNote.textContent !== fc.text) seatNote.textContent = fc.text;
  };
  f.event_id.addEventListener('change', showForecast);
  const form = h('form', { id: 'reg-form', class: 'card', novalidate: true, 'data-testid': 'reg-form' },
    field('reg', 'event_id', 'Événement', f.event_id, { required: true }),
    seatNote,
    people ? people.status : (reg.person_id ? h('p', { class: 'meta' }, h('a', { href: personHref(reg.person_id), 'data-testid': 'reg-person-link', text: 'Voir toutes les inscriptions de ' + personName(reg) })) : null),
    h('div', { class: 'row' },
      field('reg', 'first_name', 'Prénom', f.first_name, { required: true }),
      field('reg', 'last_name', 'Nom', f.last_name, { required: true })),
    h('div', { class: 'row' },
      field('reg', 'phone', 'Téléphone', f.phone, { required: true, hint: 'Par exemple : 03 21 00 00 00' }),
      field('reg', 'email', 'Courriel', f.email)),
    people ? people.list : null,
    field('reg', 'role', 'Rôle', f.role, { required: true }),
    field('reg', 'commune', 'Commune de résidence', f.commune),
    h('div', { class: 'row' },
      field('reg', 'qpv', 'Habite un quartier prioritaire (QPV)', f.qpv, { plain: true }),
      field('reg', 'genre', 'Genre', f.genre, { plain: true })),
    field('reg', 'notes', 'Remarques', f.notes, { hint: 'Uniquement ce qui est utile à l\'accueil de la personne.' }),
    consentBlock,
    h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
    h('div', { class: 'actions' }, submit, reg ? h('a', { class: 'button secondary', href: '#/inscriptions', text: 'Annuler' }) : null));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      event_id: f.event_id.value, first_name: f.first_name.value.trim(), last_name: f.last_name.value.trim(),
      phone: f.phone.value.trim(), email: valueOrNull(f.email.value.trim()), role: f.role.value,
      commune: valueOrNull(f.commune.value.trim()), qpv: f.qpv.value, genre: f.genre.value,
      notes: valueOrNull(f.notes.value.trim()),
    };
    if (!reg) {
      body.consent = f.consent.checked;
      if (people.personId()) body.person_id = people.personId();
      for (const k of ['email', 'commune', 'notes']) if (body[k] === null) delete body[k];
      if (body.event_id === '') delete body.event_id;
      if (body.role === '') delete body.role;
    }
    submit.disabled = true;
    try {
      if (reg) {
        await api('PATCH', '/api/v1/registrations/' + encodeURIComponent(reg.id), body);
        location.hash = '#/inscriptions';
        return;
      }
      const created = await api('POST', '/api/v1/registrations', body);
      for (const k of ['first_name', 'last_name', 'phone', 'email', 'commune', 'notes']) f[k].value = '';
      f.role.value = '';
      f.qpv.value = 'inconnu';
      f.genre.value = 'non-renseigne';
      f.consent.checked = false;
      people.reset();
      const seat = created.seat === 'confirmee' ? ' Place confirmée.' : (created.seat === 'attente' ? ' Inscrite en liste d\'attente.' : '');
      announce('Inscription de ' + personName(created) + ' enregistrée sur ce poste.' + seat + ' Vous pouvez saisir la suivante.',
        created.seat === 'attente' ? 'warn' : 'ok');
      showForecast();
      f.first_name.focus();
    } catch (err) {
      showErrors(form, 'reg', err);
    } finally {
      submit.disabled = false;
    }
  });
  nodeMount(reg ? 'Modifier l\'inscription' : 'Nouvelle inscription', form);
  showForecast();
  state.refresh = () => (form.isConnected ? showForecast() : null);
  if (!options.length && !reg) announce('Aucun événement à venir : créez d\'abord un événement.', 'warn');
  // From a person's page: « L'inscrire à un autre événement ».
  const personId = reg ? '' : params.get('personne') || '';
  if (personId) {
    try { people.use(await api('GET', '/api/v1/people/' + encodeURIComponent(personId))); } catch (e) { announce(e.message, 'err'); }
  }
}

function receiptBadge(r) {
  return h('span', {
    class: 'badge receipt ' + (r.synced ? 'synced' : 'pending'),
    'data-testid': 'receipt', 'data-synced': r.synced ? 'true' : 'false',
    text: r.synced ? 'Reçu par le hub' : 'En attente d\'envoi',
  });
}

function registrationItem(r, events) {
  const ev = events.get(r.event_id);
  const own = isOwn(r);
  const host = ev && ev.centre_id === state.centreId;
  const attended = h('input', { type: 'checkbox', id: 'att-' + r.id, checked: !!r.attended, disabled: !(own || host), 'data-testid': 'attended' });
  attended.addEventListener('change', async () => {
    attended.disabled = true;
    try {
      const updated = await api('PATCH', '/api/v1/registrations/' + encodeURIComponent(r.id), { attended: attended.checked });
      state.regShown.set(r.id, updated);
      updateShown(updated);
      announce(personName(updated) + (updated.attended ? ' est noté·e présent·e.' : ' n\'est plus noté·e présent·e.'), 'ok');
    } catch (e) {
      attended.checked = !attended.checked;
      announce(e.message, 'err');
    } finally {
      attended.disabled = false;
    }
  });
  const actions = own ? h('div', { class: 'actions' },
    h('a', { class: 'button secondary', href: '#/inscription/' + encodeURIComponent(r.id), 'data-testid': 'reg-edit', text: 'Modifier' }),
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'reg-delete', onclick: () => deleteRegistration(r), text: 'Supprimer' }),
    h('button', { type: 'button', class: 'danger', 'data-testid': 'reg-erase', onclick: () => eraseRegistration(r), text: 'Effacer les données' })) : null;
  return h('li', { class: 'card registration', 'data-testid': 'registration', 'data-id': r.id },
    h('div', { class: 'reg-head' },
      h('h2', {}, r.person_id && r.first_name
        ? h('a', { href: personHref(r.person_id), 'data-testid': 'reg-person', text: personName(r) })
        : personName(r)),
      h('span', { class: 'badges', 'data-testid': 'reg-badges' }, seatBadge(r), receiptBadge(r))),
    h('p', { class: 'meta' }, label(ROLES, r.role), ' — ', r.phone || '', r.email ? ' — ' + r.email : ''),
    personExtras(r) ? h('p', { class: 'meta', 'data-testid': 'reg-extras', text: personExtras(r) }) : null,
    h('p', { class: 'meta' }, ev ? ev.title + ' — ' + dateShort(ev.starts_at) : 'Événement inconnu sur ce poste',
      own ? '' : ' — inscrit·e par ' + centreName(r.centre_id)),
    r.notes ? h('p', { class: 'notes', text: r.notes }) : null,
    h('div', { class: 'field checkbox inline' }, attended, h('label', { for: 'att-' + r.id, text: 'Présent·e' })),
    actions);
}

// One shown registration again: its receipt and seat badges, replaced only
// when they changed (no flicker; the rest of the line and the page stay).
function updateShown(r) {
  const li = document.querySelector('li[data-testid="registration"][data-id="' + CSS.escape(r.id) + '"]');
  if (!li) return;
  const old = li.querySelector('[data-testid="receipt"]');
  if (old && old.dataset.synced !== String(!!r.synced)) old.replaceWith(receiptBadge(r));
  const badges = li.querySelector('[data-testid="reg-badges"]');
  updateSeatBadge(badges, r);
}

// The list shown, fetched again (a receipt, a promotion): the registrations
// already shown are updated in place, none is added or moved.
async function refreshList() {
  if (!state.regQuery || !document.getElementById('reg-list')) return;
  const page = await api('GET', '/api/v1/registrations?' + state.regQuery + '&limit=' + Math.min(1000, Math.max(50, state.regShown.size)));
  for (const r of page.items) {
    if (!state.regShown.has(r.id)) continue;
    state.regShown.set(r.id, r);
    updateShown(r);
  }
}

async function deleteRegistration(r) {
  const ok = await confirmDialog('Supprimer l\'inscription ?',
    'L\'inscription de ' + personName(r) + ' sera retirée des listes. Pour effacer aussi ses données personnelles, utilisez « Effacer les données ».', 'Supprimer');
  if (!ok) return;
  try {
    await api('DELETE', '/api/v1/registrations/' + encodeURIComponent(r.id));
    removeShown(r.id);
    announce('Inscription supprimée.', 'ok');
  } catch (e) { announce(e.message, 'err'); }
}

async function eraseRegistration(r) {
  const ok = await confirmDialog('Effacer définitivement les données ?',
    'Les données de ' + personName(r) + ' (nom, prénom, téléphone, courriel, remarques) seront effacées sur ce poste, sur le hub et sur tous les postes qui en ont une copie. C\'est définitif : elles ne pourront pas être récupérées.',
    'Effacer définitivement');
  if (!ok) return;
  try {
    await api('POST', '/api/v1/registrations/' + encodeURIComponent(r.id) + '/erase', { confirm: true });
    removeShown(r.id);
    announce('Les données de la personne ont été effacées. L\'effacement sera transmis à toutes les copies.', 'ok');
  } catch (e) { announce(e.message, 'err'); }
}

function removeShown(id) {
  state.regShown.delete(id);
  const li = document.querySelector('li[data-testid="registration"][data-id="' + CSS.escape(id) + '"]');
  if (li) li.remove();
}

export async function viewRegistrations(params) {
  const q = params.get('q') || '';
  const eventId = params.get('evenement') || '';
  const byDate = params.get('tri') === 'date';
  const main = nodeMount('Inscriptions');
  let events = [];
  try { events = await listAll('/api/v1/events?include_deleted=true'); } catch (e) { announce(e.message, 'err'); }
  const byId = new Map(events.map((e) => [e.id, e]));
  const search = h('input', { type: 'search', id: 'reg-search', 'data-testid': 'reg-search', value: q, autocomplete: 'off' });
  const evSelect = select(eventSort(events.filter((e) => !e.deleted), new Date()).map((e) => [e.id, e.title + ' — ' + dateShort(e.starts_at)]), eventId, 'Tous les événements');
  evSelect.id = 'reg-filter-event';
  const form = h('form', { class: 'toolbar', role: 'search', 'data-testid': 'reg-search-form' },
    h('div', { class: 'field' }, h('label', { for: 'reg-search', text: 'Rechercher par nom, prénom ou courriel' }), search),
    h('div', { class: 'field' }, h('label', { for: 'reg-filter-event', text: 'Événement' }), evSelect),
    h('button', { type: 'submit', 'data-testid': 'reg-search-submit', text: 'Rechercher' }));
  const listHash = (date) => {
    const p = new URLSearchParams();
    if (search.value.trim()) p.set('q', search.value.trim());
    if (evSelect.value) p.set('evenement', evSelect.value);
    if (date) p.set('tri', 'date');
    return '#/inscriptions' + (p.toString() ? '?' + p.toString() : '');
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(listHash(byDate));
  });
  // « Trier par : nom | date » (the server's sort=, by name unless asked).
  const sortLink = (date, text) => {
    const a = h('a', { href: listHash(date), 'data-testid': 'reg-sort-' + (date ? 'date' : 'name'), 'aria-current': date === byDate ? 'true' : null, text });
    a.addEventListener('click', (e) => { e.preventDefault(); navigate(listHash(date)); });
    return a;
  };
  const sort = h('p', { class: 'sort-toggle', 'data-testid': 'reg-sort' }, 'Trier par : ', sortLink(false, 'nom'), ' | ', sortLink(true, 'date'));
  const list = h('ul', { class: 'cards', id: 'reg-list', 'data-testid': 'reg-list' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'reg-more', text: 'Afficher plus' });
  main.append(form, sort, list, more);
  const query = new URLSearchParams();
  if (q) query.set('q', q);
  if (eventId) query.set('event_id', eventId);
  if (byDate) query.set('sort', 'date');
  state.regQuery = query.toString() || 'include_deleted=false';
  state.regShown = new Map();
  let after = null;
  async function load() {
    more.hidden = true;
    try {
      const page = await api('GET', '/api/v1/registrations?' + state.regQuery + '&limit=50' + (after ? '&after=' + encodeURIComponent(after) : ''));
      for (const r of page.items) {
        state.regShown.set(r.id, r);
        list.append(registrationItem(r, byId));
      }
      if (!state.regShown.size) list.append(h('li', { class: 'empty', text: q || eventId ? 'Aucune inscription ne correspond.' : 'Aucune inscription pour l\'instant.' }));
      after = page.next;
      more.hidden = !after;
    } catch (e) { announce(e.message, 'err'); }
  }
  more.addEventListener('click', load);
  await load();
  if (list.isConnected) state.refresh = refreshList;
}
