// The reception pages' people: the vocabularies of the new registration
// fields (QPV, genre), search before create in the registration form
// (suggestions of the people this centre already knows, from
// /api/v1/people?q=, as staff type; picking one fills the form and keeps
// the person's person_id), and a person's page (#/personne/<person_id>):
// their fields, every registration here with its event, seat (refreshed in
// place when the status poll sees a change) and presence, totals, and the
// erasure of them all.
import { announce, api, confirmDialog, dateShort, GENRES, h, label, navigate, personName, plural, ROLES } from '../base.js';
import { seatBadge, updateSeatBadge } from '../seats.js';
import { centreName, isOwn, nodeMount, state } from '../node.js';

// The values of the contract (DESIGN.md "Data"), French labels (genres: GENRES of base.js).
export const QPV = [['oui', 'Oui'], ['non', 'Non'], ['inconnu', 'Je ne sais pas']];
export const personHref = (personId) => '#/personne/' + encodeURIComponent(personId);

// « Commune · QPV : oui · Femme », what the list and the person's page show
// of the new fields (unknown values left out).
export function personExtras(r) {
  const parts = [];
  if (r.commune) parts.push(r.commune);
  if (r.qpv && r.qpv !== 'inconnu') parts.push('QPV : ' + label(QPV, r.qpv).toLowerCase());
  if (r.genre && r.genre !== 'non-renseigne') parts.push(label(GENRES, r.genre));
  return parts.join(' · ');
}

const DEBOUNCE_MS = 150;
const MIN_CHARS = 2;
// The fields a suggestion fills, as the people route names them.
const FILLED = ['first_name', 'last_name', 'phone', 'email', 'role', 'commune', 'qpv', 'genre'];
const DEFAULTS = { qpv: 'inconnu', genre: 'non-renseigne' };

// « Martine LEFÈVRE · 06 12 34 56 78 · habitante · 3 inscriptions · dernière : Atelier tablette »
function suggestionText(p) {
  const parts = [[p.first_name, (p.last_name || '').toLocaleUpperCase('fr-FR')].filter(Boolean).join(' ')];
  if (p.phone) parts.push(p.phone);
  if (p.role) parts.push(label(ROLES, p.role).toLowerCase());
  parts.push(plural(p.registrations || 0, 'inscription', 'inscriptions'));
  if (p.last_event && p.last_event.title) parts.push('dernière : ' + p.last_event.title);
  return parts.join(' · ');
}

// Search before create, wired to the form's controls f (first_name,
// last_name, phone and the other FILLED ones). Returns { status, list,
// personId(), use(person), reset() }: status is the line saying who is
// registered (« Personne connue : ... ✕ » or « Nouvelle personne »), to place
// above the names; list the suggestions, to place under the name and phone
// fields. Typing in a name field searches "last first", in the phone
// field the phone; arrow keys move, Enter picks, Escape closes.
export function personSearch(f) {
  let person = null;      // the person picked: { person_id, first_name, last_name }
  let items = [];
  let active = -1;
  let timer = null;
  let seq = 0;            // answers to an older keystroke are dropped
  let owner = null;       // the input the list belongs to

  const list = h('ul', { id: 'person-suggestions', class: 'suggestions', role: 'listbox', 'aria-label': 'Personnes déjà connues de ce centre', hidden: true, 'data-testid': 'person-suggestions' });
  const status = h('div', { class: 'person-status', 'aria-live': 'polite', 'data-testid': 'person-status' });
  const inputs = [f.last_name, f.first_name, f.phone];

  function renderStatus() {
    if (person) {
      const remove = h('button', { type: 'button', class: 'chip-remove', 'aria-label': 'Ce n\'est pas cette personne : saisir une nouvelle personne', title: 'Retirer', 'data-testid': 'person-chip-remove', text: '✕' });
      remove.addEventListener('click', () => { clear(true); f.first_name.focus(); });
      status.replaceChildren(h('p', { class: 'chip known', 'data-testid': 'person-chip' },
        h('span', { text: 'Personne connue : ' + personName(person) }), remove));
    } else {
      status.replaceChildren(h('p', { class: 'chip new', 'data-testid': 'person-new', text: 'Nouvelle personne' }),
        h('p', { class: 'hint', text: 'Tapez les premières lettres du nom ou quelques chiffres du téléphone : les personnes déjà venues dans ce centre sont proposées.' }));
    }
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    items = [];
    active = -1;
    for (const i of inputs) { i.setAttribute('aria-expanded', 'false'); i.removeAttribute('aria-activedescendant'); }
  }

  function setActive(n) {
    active = n;
    [...list.children].forEach((li, i) => li.setAttribute('aria-selected', i === n ? 'true' : 'false'));
    if (owner) {
      if (n >= 0) owner.setAttribute('aria-activedescendant', 'person-opt-' + n);
      else owner.removeAttribute('aria-activedescendant');
    }
    if (n >= 0) list.children[n].scrollIntoView({ block: 'nearest' });
  }

  function show(found) {
    items = found;
    active = -1;
    if (!found.length) { close(); return; }
    list.replaceChildren(...found.map((p, i) => {
      const li = h('li', { id: 'person-opt-' + i, role: 'option', 'aria-selected': 'false', class: 'suggestion', 'data-testid': 'person-suggestion', 'data-person-id': p.person_id, text: suggestionText(p) });
      // mousedown keeps the focus in the field (a click would blur it first).
      li.addEventListener('mousedown', (e) => e.preventDefault());
      li.addEventListener('click', () => pick(i));
      return li;
    }));
    list.hidden = false;
    if (owner) owner.setAttribute('aria-expanded', 'true');
  }

  function pick(i) { if (items[i]) use(items[i]); }

  function use(p) {
    for (const k of FILLED) if (f[k]) f[k].value = p[k] === null || p[k] === undefined ? (DEFAULTS[k] || '') : p[k];
    person = { person_id: p.person_id, first_name: p.first_name, last_name: p.last_name };
    close();
    renderStatus();
    announce('Personne connue : ' + personName(p) + '. Vérifiez ses coordonnées puis choisissez l\'événement.', 'ok');
  }

  // withFields: also empties what the picked person filled in.
  function clear(withFields) {
    if (withFields && person) for (const k of FILLED) if (f[k]) f[k].value = DEFAULTS[k] || '';
    person = null;
    close();
    renderStatus();
  }

  async function search(input) {
    const q = input === f.phone ? f.phone.value.trim() : (f.last_name.value.trim() + ' ' + f.first_name.value.trim()).trim();
    const mine = ++seq;
    if (person || q.length < MIN_CHARS) { close(); return; }
    try {
      const page = await api('GET', '/api/v1/people?q=' + encodeURIComponent(q) + '&limit=8');
      if (mine !== seq || person || document.activeElement !== input) return;
      owner = input;
      show(page.items || []);
    } catch (e) {
      if (mine === seq) close();  // reception goes on with a new person
    }
  }

  for (const input of inputs) {
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => search(input), DEBOUNCE_MS);
    });
    input.addEventListener('keydown', (e) => {
      if (list.hidden || owner !== input) return;
      if (e.key === 'ArrowDown') { e.preventDefault(); setActive((active + 1) % items.length); }
      else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(active <= 0 ? items.length - 1 : active - 1); }
      else if (e.key === 'Enter' && active >= 0) { e.preventDefault(); pick(active); }
      else if (e.key === 'Escape') { e.preventDefault(); close(); }
    });
    input.addEventListener('blur', () => { clearTimeout(timer); seq++; close(); });
  }
  renderStatus();
  return {
    status,
    list,
    personId: () => (person ? person.person_id : null),
    use,  // fills the form with a person of the people route (a person's page: « L'inscrire à un autre événement »)
    reset: () => clear(false),
  };
}

// ------------------------------------------------------- a person's page

export async function viewPerson(personId) {
  let p;
  try {
    p = await api('GET', '/api/v1/people/' + encodeURIComponent(personId));
  } catch (e) {
    nodeMount('Personne', h('p', { text: e.status === 404 ? 'Cette personne n\'a aucune inscription sur ce poste.' : e.message }),
      h('a', { class: 'button secondary', href: '#/inscriptions', text: 'Retour aux inscriptions' }));
    return;
  }
  const regs = p.registrations || [];
  const own = regs.some(isOwn);
  const contact = [label(ROLES, p.role), p.phone, p.email].filter(Boolean).join(' — ');
  const extras = personExtras(p);
  const list = h('ul', { class: 'cards', 'data-testid': 'person-registrations' }, regs.map((r) => {
    const ev = r.event || {};
    return h('li', { class: 'card registration', 'data-testid': 'person-registration', 'data-id': r.id },
      h('div', { class: 'reg-head' },
        h('h2', { text: ev.title || 'Événement inconnu sur ce poste' }),
        h('span', { class: 'badges', 'data-testid': 'reg-badges' }, seatBadge(r),
          h('span', { class: 'badge presence ' + (r.attended ? 'present' : 'absent'), 'data-testid': 'person-attended', text: r.attended ? 'Présent·e' : 'Non pointé·e' }))),
      h('p', { class: 'meta' }, ev.starts_at ? dateShort(ev.starts_at) : '', ev.deleted ? ' — événement supprimé' : '',
        isOwn(r) ? '' : ' — inscrit·e par ' + centreName(r.centre_id)));
  }));
  const erase = h('button', { type: 'button', class: 'danger', 'data-testid': 'person-erase', text: 'Effacer cette personne' });
  erase.addEventListener('click', () => erasePerson(p, regs.length));
  nodeMount(personName(p),
    h('section', { class: 'card person', 'data-testid': 'person-card' },
      h('p', { class: 'meta', text: contact }),
      extras ? h('p', { class: 'meta', 'data-testid': 'person-extras', text: extras }) : null,
      h('p', { class: 'person-totals', 'data-testid': 'person-totals',
        text: plural(regs.length, 'inscription', 'inscriptions') + ' · ' + plural(p.attended || 0, 'présence', 'présences') }),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/inscription?personne=' + encodeURIComponent(p.person_id), 'data-testid': 'person-register', text: 'L\'inscrire à un autre événement' }),
        h('a', { class: 'button secondary', href: '#/inscriptions', text: 'Retour aux inscriptions' }),
        own ? erase : null)),
    h('h2', { text: 'Ses inscriptions dans ce centre' }),
    list);
  state.refresh = () => refreshSeats(personId, list);
}

// The seat badges of the person's lines again (a promotion).
async function refreshSeats(personId, list) {
  if (!list.isConnected) return;
  const p = await api('GET', '/api/v1/people/' + encodeURIComponent(personId));
  for (const r of p.registrations || []) {
    const li = list.querySelector('[data-testid="person-registration"][data-id="' + CSS.escape(r.id) + '"]');
    if (!li) continue;
    const badges = li.querySelector('[data-testid="reg-badges"]');
    updateSeatBadge(badges, r);
  }
}

async function erasePerson(p, count) {
  // The wording of the single registration's erasure (registrations.js), for all of the person's.
  const ok = await confirmDialog('Effacer définitivement les données ?',
    'Les données de ' + personName(p) + ' (nom, prénom, téléphone, courriel, remarques) seront effacées, pour ' +
    (count > 1 ? 'ses ' + count + ' inscriptions' : 'son inscription') +
    ', sur ce poste, sur le hub et sur tous les postes qui en ont une copie. C\'est définitif : elles ne pourront pas être récupérées.',
    'Effacer définitivement');
  if (!ok) return;
  try {
    const res = await api('POST', '/api/v1/people/' + encodeURIComponent(p.person_id) + '/erase', { confirm: true });
    // Shown by the list's view once mounted (nodeMount).
    state.flash = ['Les données de la personne ont été effacées (' + plural(res.erased, 'inscription', 'inscriptions') + '). L\'effacement sera transmis à toutes les copies.', 'ok'];
    navigate('#/inscriptions');
  } catch (e) { announce(e.message, 'err'); }
}
