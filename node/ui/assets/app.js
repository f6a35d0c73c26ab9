// Web UI of terril-node for reception staff: its entry module. Plain
// JavaScript, no framework, nothing loaded from elsewhere (CSP default-src
// 'self').
//
// One page; views are chosen by the URL hash (#/evenements, #/inscription,
// #/inscriptions, #/personne/<id>, #/prototypes...) and rendered into <main> from the JSON
// API (/api/v1/...) by the modules of views/. Text is always set with
// textContent; the only HTML built from data is the Markdown of prototype
// notes (markdown.js escapes first). Here: the sync banner (it polls
// /api/v1/status every 2 s while logged in; when the status says data
// changed, the current view refreshes what it shows in place: receipts,
// seats, promotions), the certificate fingerprint in the footer, the router
// and the start. The
// shared base (login, session, forms, dates) is /assets/base.js.
import { api, duration, h, plural, session, startApp, when } from './base.js';
import { loadCentres, state } from './node.js';
import { viewEventForm, viewEvents } from './views/events.js';
import { viewNote, viewNoteForm, viewNotes } from './views/notes.js';
import { viewPerson } from './views/people.js';
import { viewRegister, viewRegistrations } from './views/registrations.js';

function renderBanner(s) {
  const banner = document.getElementById('sync-banner');
  const main = document.getElementById('sync-main');
  const detail = document.getElementById('sync-detail');
  banner.hidden = false;
  if (!s) {
    banner.className = 'sync-banner err';
    main.textContent = 'Le poste ne répond pas.';
    detail.textContent = 'Vérifiez qu\'il est allumé et branché. Les données déjà saisies restent enregistrées sur le poste.';
    return;
  }
  const pending = s.pending || 0;
  const waiting = plural(pending, 'modification', 'modifications');
  const last = s.last_sync ? 'Dernière synchronisation réussie : ' + when(s.last_sync, s.now) + '.' : 'Aucune synchronisation réussie pour l\'instant.';
  if (s.wiped_at) {
    // Revoked or replaced by the hub: the box wiped what the hub holds.
    banner.className = 'sync-banner err';
    main.textContent = 'Boîtier retiré du service';
    detail.textContent = s.wiped_message || '';
  } else if (!s.node_id) {
    banner.className = 'sync-banner warn';
    main.textContent = 'Ce poste n\'est pas encore relié au hub.';
    detail.textContent = 'Un technicien doit l\'inscrire (commande « terril-node enrol »).';
  } else if (s.connected) {
    banner.className = 'sync-banner ok';
    main.textContent = 'Connecté au hub' + (pending > 0 ? ' — ' + waiting + ' en cours d\'envoi' : ' — tout est envoyé');
    detail.textContent = last;
  } else {
    banner.className = 'sync-banner warn';
    let text = 'Hors ligne';
    if (s.offline_since) text += ' depuis ' + duration(new Date(s.now) - new Date(s.offline_since));
    text += ' — ' + (pending > 0 ? waiting + ' en attente d\'envoi' : 'rien en attente d\'envoi');
    main.textContent = text;
    detail.textContent = 'Vous pouvez continuer : tout est enregistré sur ce poste et partira au retour du réseau. ' + last;
  }
  const rej = document.getElementById('rejections');
  const list = document.getElementById('rejections-list');
  const items = s.rejections || [];
  rej.hidden = items.length === 0;
  list.replaceChildren(...items.map((r) => h('li', {},
    h('strong', { text: r.message || r.code }),
    ' — ' + (r.entity || '') + (r.field ? ', champ « ' + r.field + ' »' : '') + (r.at ? ', ' + when(r.at, s.now) : ''))));
}

// The current view's state.refresh, one at a time: a change seen while one
// runs runs it once more after.
let refreshing = null;
let refreshAgain = false;
async function refreshView() {
  if (refreshing) { refreshAgain = true; return; }
  const fn = state.refresh;
  if (!fn) return;
  refreshing = (async () => {
    try { await fn(); } catch (e) { /* the banner says what is wrong */ }
  })();
  await refreshing;
  refreshing = null;
  if (refreshAgain) {
    refreshAgain = false;
    refreshView();
  }
}

async function poll() {
  if (!session.loggedIn) return;
  try {
    const s = await api('GET', '/api/v1/status');
    state.status = s;
    state.centreId = s.centre_id || '';
    document.getElementById('centre-name').textContent = s.centre_name || s.centre_id || '';
    renderBanner(s);
    // Something was written here, acknowledged, or received from the hub
    // (a promotion, seats moved, a receipt): the view refreshes what it shows.
    const key = s.acked_seq + '/' + s.own_seq + '/' + s.hub_cursor;
    if (key !== state.lastChangeKey) {
      state.lastChangeKey = key;
      refreshView();
    }
  } catch (e) {
    if (e.status === 401) return;
    renderBanner(null);
  }
}

// The footer shows this box's certificate fingerprint when the page is
// HTTPS, so a technician can compare it once per reception PC with the one
// the browser shows and `terril-node status` prints (docs/install-raspberry-pi.md).
// It comes from /api/v1/status, whose 401 carries it too (no session needed).
async function showFingerprint() {
  let fp = null;
  try {
    const res = await fetch('/api/v1/status', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    fp = (await res.json()).web_fingerprint || null;
  } catch (e) { /* the box does not answer: nothing to show */ }
  let p = document.getElementById('web-fingerprint');
  if (!fp) {
    if (p) p.hidden = true;
    return;
  }
  if (!p) {
    p = h('p', { id: 'web-fingerprint', class: 'web-fingerprint', 'data-testid': 'web-fingerprint' });
    document.querySelector('.site-footer > div').append(p);
  }
  p.textContent = 'Empreinte du certificat de ce boîtier : ' + fp;
  p.hidden = false;
}

function route(parts, params) {
  state.regQuery = null;
  switch (parts[0]) {
    case 'inscription': return viewRegister(parts[1], params);
    case 'inscriptions': return viewRegistrations(params);
    case 'personne': return viewPerson(parts[1] || '');
    case 'evenement': return viewEventForm(parts[1], params);
    case 'prototypes':
      if (parts[1] === 'nouvelle') return viewNoteForm(null);
      if (parts[1] && parts[2] === 'modifier') return viewNoteForm(parts[1]);
      if (parts[1]) return viewNote(parts[1]);
      return viewNotes();
    default: return viewEvents(params);
  }
}

startApp({
  unreachable: 'Le poste ne répond pas. Vérifiez qu\'il est allumé, puis réessayez.',
  errorId: (prefix, name) => 'err-' + name,
  loginIntro: 'Saisissez le mot de passe de l\'accueil de votre centre.',
  passwordLabel: 'Mot de passe du poste',
  onLoginPage: () => {
    document.getElementById('sync-banner').hidden = true;
    document.getElementById('rejections').hidden = true;
    document.getElementById('centre-name').textContent = '';
    showFingerprint();
  },
  enter: async (startPolling) => {
    startPolling();
    showFingerprint();
    await loadCentres();
  },
  poll,
  pollMs: 2000,
  route,
  defaultHash: '#/evenements',
  onStatus: (s) => {
    state.status = s;
    state.centreId = s.centre_id || '';
  },
});
