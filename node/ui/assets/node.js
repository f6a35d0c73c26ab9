// What the reception pages' views share (node/ui/assets/views/*.js): the
// page's state (this box's centre, the last status, the registrations list
// shown, a message for the next view), centre names, event ordering and capacity text, and the view mount
// with the node's menu highlighting. Generic helpers are in /assets/base.js.
import { announce, listAll, mount, plural } from './base.js';

export const state = {
  status: null,
  centreId: '',
  centres: new Map(),
  lastReceiptKey: null,
  regQuery: null,       // the registrations list currently shown
  regShown: new Map(),  // id -> registration
  flash: null,          // [text, kind] announced by the next nodeMount (after a navigation)
};

export const centreName = (id) => (state.centres.get(id) || {}).name || id;
export const isOwn = (rec) => rec && rec.centre_id === state.centreId;

export async function loadCentres() {
  try {
    const centres = await listAll('/api/v1/centres');
    state.centres = new Map(centres.map((c) => [c.id, c]));
  } catch (e) { /* names fall back to ids */ }
}

// Upcoming events first (temps forts first, then by start), then past ones,
// latest first.
export function eventSort(events, now) {
  const upcoming = (e) => new Date(e.ends_at || e.starts_at) >= now;
  return events.slice().sort((a, b) => {
    const ua = upcoming(a), ub = upcoming(b);
    if (ua !== ub) return ua ? -1 : 1;
    if (ua) {
      const ta = a.kind === 'temps-fort', tb = b.kind === 'temps-fort';
      if (ta !== tb) return ta ? -1 : 1;
      return new Date(a.starts_at) - new Date(b.starts_at);
    }
    return new Date(b.starts_at) - new Date(a.starts_at);
  });
}

export function capacityText(e) {
  if (e.capacity === null || e.capacity === undefined) return plural(e.registered || 0, 'inscrit', 'inscrits') + ' — sans limite de places';
  if (e.places_left <= 0) return 'Complet — ' + e.registered + ' inscrits pour ' + e.capacity + ' places';
  return plural(e.places_left, 'place restante', 'places restantes') + ' sur ' + e.capacity + ' (' + plural(e.registered || 0, 'inscrit', 'inscrits') + ')';
}

// mount() of base.js with the node's menu: "#/inscriptions" is not under
// "Nouvelle inscription" (#/inscription). Shows state.flash, once.
export function nodeMount(title, ...content) {
  const isCurrent = (nav) => location.hash.startsWith('#/' + nav) &&
    !(nav === 'inscription' && location.hash.startsWith('#/inscriptions'));
  const main = mount(title, isCurrent, ...content);
  if (state.flash) {
    announce(...state.flash);
    state.flash = null;
  }
  return main;
}
