// The hub dashboard's « Doublons possibles » view (#/doublons, and
// #/doublons?vue=decidees): the review queue of persons of two centres who
// may be the same person (GET /api/v1/duplicates), each pair side by side
// with why it matches, answered « Même personne » / « Personnes
// différentes » (POST /api/v1/duplicates/{id}); the decided pairs, whose
// decision can be undone (decision "open").
import { announce, api, dateShort, dayOnly, h, personName, plural } from '../base.js';
import { hubMount, refreshDuplicateBadge, ROLE_ONE, state } from '../hub.js';

const PAGE = 20;
const DECISIONS = { same: 'Même personne', different: 'Personnes différentes' };

// One side of a pair: the person as the centre registered them.
function personCard(p, side) {
  const row = (term, value, testid) => [h('dt', { text: term }), h('dd', { 'data-testid': testid, text: value || '—' })];
  const regs = p.registrations || [];
  return h('article', { class: 'card dup-person', 'data-testid': 'dup-person-' + side, 'data-person': p.person_id },
    h('h3', { 'data-testid': 'dup-centre', text: p.centre_name || p.centre_id }),
    h('dl', { class: 'dup-fields' },
      row('Nom', p.last_name, 'dup-last-name'),
      row('Prénom', p.first_name, 'dup-first-name'),
      row('Téléphone', p.phone, 'dup-phone'),
      row('Courriel', p.email, 'dup-email'),
      row('Commune', p.commune, 'dup-commune'),
      row('Rôle', ROLE_ONE[p.role] || p.role, 'dup-role')),
    h('p', { class: 'meta', text: plural(regs.length, 'inscription', 'inscriptions') + (regs.length ? ' :' : '') }),
    regs.length ? h('ul', { class: 'dup-regs', 'data-testid': 'dup-registrations' },
      regs.map((r) => h('li', { text: (r.event_title || 'Événement inconnu') + (r.starts_at ? ' — ' + dayOnly(r.starts_at) : '') }))) : null);
}

// A pair: its reasons, both persons, and the buttons for its status.
function pairCard(pair, onDecide) {
  const buttons = [];
  const decide = async (decision, btn) => {
    for (const b of buttons) b.disabled = true;
    try {
      await api('POST', '/api/v1/duplicates/' + encodeURIComponent(pair.id), { decision });
      onDecide(decision);
    } catch (e) {
      for (const b of buttons) b.disabled = false;
      announce(e.message, 'err');
      btn.focus();
    }
  };
  const button = (decision, text, testid, cls) => {
    const b = h('button', { type: 'button', class: cls, 'data-testid': testid, text });
    b.addEventListener('click', () => decide(decision, b));
    buttons.push(b);
    return b;
  };
  const decided = pair.status !== 'open';
  const who = personName(pair.a);
  return h('section', { class: 'card dup-pair', 'data-testid': 'dup-pair', 'data-id': pair.id, 'data-status': pair.status,
    'aria-label': 'Doublon possible : ' + who },
  h('p', { class: 'dup-why' }, h('strong', { text: 'Pourquoi : ' }),
    h('span', { 'data-testid': 'dup-reasons', text: (pair.reasons || []).join(' · ') })),
  h('p', { class: 'meta', text: 'Repéré le ' + dateShort(pair.found_at) + '.' }),
  decided ? h('p', { class: 'dup-decision', 'data-testid': 'dup-decision',
    text: 'Décision : ' + (DECISIONS[pair.status] || pair.status) + (pair.decided_at ? ', le ' + dateShort(pair.decided_at) : '') +
      (pair.decided_by ? ' (' + pair.decided_by + ')' : '') + '.' }) : null,
  h('div', { class: 'dup-sides' }, personCard(pair.a, 'a'), personCard(pair.b, 'b')),
  h('div', { class: 'actions' }, decided
    ? button('open', 'Annuler la décision', 'dup-undo', 'secondary')
    : [button('same', 'Même personne', 'dup-same'), button('different', 'Personnes différentes', 'dup-different', 'secondary')]));
}

// Every pair of one status (decided pairs are the admin's answers: few).
async function allOf(status) {
  const items = [];
  let after = null;
  for (let i = 0; i < 50; i++) {
    const page = await api('GET', '/api/v1/duplicates?status=' + status + '&limit=200' + (after ? '&after=' + encodeURIComponent(after) : ''));
    items.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  return items;
}

export async function viewDuplicates(params) {
  state.view = 'doublons';
  const decidedView = params.get('vue') === 'decidees';
  const tab = (hash, text, testid, current) => h('a', { href: hash, class: 'tab', 'data-testid': testid, 'aria-current': current ? 'page' : null, text });
  const main = hubMount('Doublons possibles',
    h('p', { class: 'intro', text: 'Des personnes inscrites par deux centres différents se ressemblent. Dites si c\'est la même personne : ' +
      'elle ne comptera alors qu\'une fois dans les indicateurs. Rien n\'est supprimé, les inscriptions restent au centre qui les a prises.' }),
    h('nav', { class: 'tabs', 'aria-label': 'Doublons' },
      tab('#/doublons', 'À examiner', 'dup-tab-open', !decidedView),
      tab('#/doublons?vue=decidees', 'Décidées', 'dup-tab-decided', decidedView)));
  const list = h('div', { class: 'dup-list', 'data-testid': 'dup-list' });
  const count = h('p', { class: 'meta', 'data-testid': 'dup-count', role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'dup-more', text: 'Afficher plus' });
  main.append(count, list, more);
  const emptyText = decidedView ? 'Aucune décision pour l\'instant.' : 'Aucun doublon possible à examiner.';
  const empty = () => { if (!list.querySelector('[data-testid="dup-pair"]')) list.replaceChildren(h('p', { class: 'empty', 'data-testid': 'dup-empty', text: emptyText })); };
  const setCount = () => {
    const n = list.querySelectorAll('[data-testid="dup-pair"]').length;
    count.textContent = decidedView ? plural(n, 'paire décidée', 'paires décidées')
      : plural(n, 'paire à examiner', 'paires à examiner') + (more.hidden ? '' : ' affichées (il y en a d\'autres : « Afficher plus »)');
  };
  const add = (pair) => {
    const card = pairCard(pair, (decision) => {
      // The pair leaves this list; focus goes to the next pair's first button.
      const next = card.nextElementSibling || card.previousElementSibling;
      card.remove();
      const names = personName(pair.a) + ' (' + (pair.a.centre_name || pair.a.centre_id) + ') et ' + personName(pair.b) + ' (' + (pair.b.centre_name || pair.b.centre_id) + ')';
      announce(decision === 'same' ? 'Enregistré : ' + names + ' sont la même personne.'
        : decision === 'different' ? 'Enregistré : ' + names + ' sont des personnes différentes.'
          : 'Décision annulée : la paire ' + names + ' revient dans les doublons à examiner.', 'ok');
      empty();
      setCount();
      refreshDuplicateBadge();
      const focus = next && next.querySelector('button');
      if (focus) focus.focus();
    });
    list.append(card);
  };

  if (decidedView) {
    try {
      const pairs = [...await allOf('same'), ...await allOf('different')];
      pairs.sort((x, y) => (y.decided_at || '').localeCompare(x.decided_at || ''));
      pairs.forEach(add);
    } catch (e) { announce(e.message, 'err'); }
    empty();
    setCount();
    return;
  }
  let after = null;
  async function load() {
    more.hidden = true;
    try {
      const page = await api('GET', '/api/v1/duplicates?status=open&limit=' + PAGE + (after ? '&after=' + encodeURIComponent(after) : ''));
      page.items.forEach(add);
      after = page.next;
      more.hidden = !after;
    } catch (e) { announce(e.message, 'err'); }
    empty();
    setCount();
  }
  more.addEventListener('click', load);
  await load();
  refreshDuplicateBadge();
}
