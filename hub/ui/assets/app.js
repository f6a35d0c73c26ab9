// The hub admin's dashboard: its entry module. Plain JavaScript, no
// framework, nothing loaded from elsewhere (CSP default-src 'self').
//
// One page; views are chosen by the URL hash (#/centres, #/inscriptions,
// #/evenements, #/evenement/nouveau, #/prototypes, #/doublons, #/rapports,
// #/indicateurs, #/journal) and rendered into <main> from the JSON API
// (/api/v1/...) by the modules of views/. Here: the hub summary line and
// the menu's count of possible duplicates (polled every 10 s, with the
// centres view and the events' open seat ledgers), the router
// and the start. The shared base (login, session,
// forms, dates) is /assets/base.js; charts are inline SVG (charts.js).
import { api, nf, plural, session, startApp } from './base.js';
import { loadCentres, refreshDuplicateBadge, state } from './hub.js';
import { refreshCentres, viewCentres } from './views/centres.js';
import { viewDuplicates } from './views/duplicates.js';
import { refreshSeats, viewEventForm, viewEvents } from './views/events.js';
import { viewIndicators } from './views/indicators.js';
import { viewLog } from './views/log.js';
import { viewPrototypes } from './views/prototypes.js';
import { viewRegistrations } from './views/registrations.js';
import { viewReports } from './views/reports.js';

async function poll() {
  if (!session.loggedIn) return;
  const box = document.getElementById('hub-summary');
  try {
    const s = await api('GET', '/api/v1/status');
    box.hidden = false;
    box.textContent = plural(s.connected_nodes, 'boîtier connecté', 'boîtiers connectés') + ' sur ' +
      plural(s.nodes.active, 'installé', 'installés') + ' — ' + nf.format(s.records) + ' fiches au hub — version ' + s.version;
    if (state.view === 'centres') refreshCentres();
    if (state.view === 'evenements') refreshSeats();
    refreshDuplicateBadge();
  } catch (e) {
    if (e.status === 401) return;
    box.hidden = false;
    box.textContent = 'Le hub ne répond pas.';
  }
}

function route(parts, params) {
  switch (parts[0]) {
    case 'inscriptions': return viewRegistrations(params);
    case 'evenements': return viewEvents(params);
    case 'evenement': return viewEventForm();
    case 'prototypes': return viewPrototypes(params);
    case 'doublons': return viewDuplicates(params);
    case 'rapports': return viewReports();
    case 'indicateurs': return viewIndicators(params);
    case 'journal': return viewLog();
    default: return viewCentres();
  }
}

startApp({
  unreachable: 'Le hub ne répond pas. Vérifiez la connexion, puis réessayez.',
  errorId: (prefix, name) => 'err-' + prefix + '-' + name,
  loginIntro: 'Saisissez le mot de passe administrateur du hub.',
  passwordLabel: 'Mot de passe',
  onLoginPage: () => {
    state.view = 'login';
    document.getElementById('hub-summary').hidden = true;
  },
  enter: async (startPolling) => {
    await loadCentres();
    startPolling();
  },
  poll,
  pollMs: 10000,
  route,
  defaultHash: '#/centres',
});
