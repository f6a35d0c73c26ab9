// What the reception pages' views share (node/ui/assets/views/*.js): the
// page's state (this box's centre, the last status, the registrations list
// shown, the current view's refresh, a message for the next view), centre
// names, event ordering and seat lines, and the view mount with the node's
// menu highlighting. Generic helpers are in /assets/base.js, the seats'
// sentences and panel in /assets/seats.js.
import { announce, listAll, mount, plural } from './base.js';
import { eventText, hereText } from './seats.js';

export const state = {
  status: null,
  centreId: '',
  centres: new Map(),
  regQuery: null,       // the registrations list currently shown
  regShown: new Map(),  // id -> registration
  flash: null,          // [text, kind] announced by the next nodeMount (after a navigation)
  lastChangeKey: null,  // acked/own/hub cursors of the last status: a change means data may have moved
  refresh: null,        // the current view's in-place refresh, called by the status poll on a change
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

// An event card's seat lines: `here`, what this centre holds (« Places
// tenues ici : ... », '' without a limit) and `whole`, the event as this
// box knows it (places left and waiting, or « sans limite de places »).
export function capacityLines(e) {
  if (e.capacity === null || e.capacity === undefined) {
    return { here: '', whole: plural(e.registered || 0, 'inscrit', 'inscrits') + ' — sans limite de places' };
  }
  if (!e.seats) return { here: '', whole: plural(e.capacity, 'place', 'places') };
  return { here: hereText(e.seats), whole: eventText(e.seats) };
}

// mount() of base.js with the node's menu: "#/inscriptions" is not under
// "Nouvelle inscription" (#/inscription). Shows state.flash, once. Ends the
// previous view's refresh (a view sets state.refresh after mounting).
export function nodeMount(title, ...content) {
  state.refresh = null;
  const isCurrent = (nav) => location.hash.startsWith('#/' + nav) &&
    !(nav === 'inscription' && location.hash.startsWith('#/inscriptions'));
  const main = mount(title, isCurrent, ...content);
  if (state.flash) {
    announce(...state.flash);
    state.flash = null;
  }
  return main;
}
