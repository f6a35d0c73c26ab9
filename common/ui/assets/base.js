// The shared base of both web UIs (terril-node's reception pages and the
// terril-hub dashboard), an ES module served at /assets/base.js by both
// daemons (embedded by cmake/embed.cmake from common/ui/assets). Plain
// JavaScript, no framework, nothing loaded from elsewhere (CSP default-src
// 'self').
//
// What lives here: the DOM builder h(), the JSON API client (api, listAll,
// ApiError), Paris-time date helpers, the shared vocabularies (event kinds,
// prototype statuses, roles, genres), the flash message, the confirm dialog, form
// fields and their errors, the login page, and the session shell (login
// state, status polling, hash routing, logout, boot). Each UI's app.js calls
// startApp() once with what differs. Text is always set with textContent.
// data-testid attributes are stable: browser tests rely on them.

// The operation's name and the FEDER sentence, from common/core/brand.h
// (substituted at build time by cmake/embed.cmake).
export const BRAND = Object.freeze({
  operationName: '{{OPERATION_NAME}}',
  federSentence: '{{FEDER_SENTENCE}}',
  federCaption: '{{FEDER_CAPTION}}',
});

// ------------------------------------------------------------ vocabularies

export const KINDS = [['temps-fort', 'Temps fort'], ['atelier', 'Atelier'], ['reunion', 'Réunion']];
export const STATUSES = [
  ['idee', 'Idée'], ['prototype', 'Prototype'], ['en-test', 'En test'],
  ['deploye', 'Déployé'], ['abandonne', 'Abandonné'],
];
// One person's role, in the contract's order.
export const ROLES = [
  ['habitant', 'Habitant·e'],
  ['benevole', 'Bénévole'],
  ['partenaire', 'Partenaire'],
  ['salarie', 'Salarié·e'],
  ['administrateur', 'Administrateur·rice'],
  ['institutionnel', 'Institutionnel·le'],
];
// A registration's genre (docs/design.md "Data"), the same words in both UIs.
export const GENRES = [['femme', 'Femme'], ['homme', 'Homme'], ['autre', 'Autre'], ['non-renseigne', 'Non renseigné']];
export const label = (pairs, v) => (pairs.find((p) => p[0] === v) || [v, v || ''])[1];
export const personName = (r) => [r.first_name, r.last_name].filter(Boolean).join(' ') || '(données effacées)';
export const valueOrNull = (v) => (v === '' ? null : v);
export const plural = (n, one, many) => n + ' ' + (n > 1 ? many : one);
export const nf = new Intl.NumberFormat('fr-FR');

// ------------------------------------------------------------------- DOM

// h('p', {class: 'meta', text: 'x', onclick: fn, hidden: true}, child...):
// attributes false/null/undefined are left out, true ones set empty.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ------------------------------------------------------------- API client

// What startApp() was given; read by api() and the session functions.
const app = {
  unreachable: 'Le serveur ne répond pas.',
  errorId: (prefix, name) => 'err-' + prefix + '-' + name,
};
export const session = { loggedIn: false, pollTimer: null };

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ('Erreur ' + status));
    this.status = status;
    this.code = body && body.code;
    this.field = body && body.field;
    this.errors = (body && body.errors) || (body && body.field ? [body] : []);
  }
}

// A JSON call; throws ApiError (status 0 when the daemon cannot be reached).
// A 401 outside the login call ends the session (back to the login page).
export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, { code: 'network', message: app.unreachable });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.status === 401 && path !== '/api/v1/login') {
    loggedOut();
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Every item of a paged list (?limit=1000&after=<next>), 100 pages at most.
export async function listAll(path) {
  const items = [];
  let after = null;
  for (let i = 0; i < 100; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', path + sep + 'limit=1000' + (after ? '&after=' + encodeURIComponent(after) : ''));
    items.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  return items;
}

// ------------------------------------------------------------------ dates

// Every date shown or typed is French local time (Europe/Paris), whatever the
// browser's own time zone.
export const TZ = 'Europe/Paris';
const fmtLong = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const fmtShort = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const fmtDay = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric' });
const fmtDayMonth = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, day: 'numeric', month: 'short' });
const fmtTime = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
const fmtParts = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });

// "dimanche 29 novembre 2026 à 10:00"
export const dateLong = (iso) => (iso ? fmtLong.format(new Date(iso)) : '');
// "29/11/2026 10:00"
export const dateShort = (iso) => (iso ? fmtShort.format(new Date(iso)) : '');
// "29/11/2026"
export const dayOnly = (iso) => (iso ? fmtDay.format(new Date(iso)) : '');
// "3 déc."
export const dayMonth = (iso) => (iso ? fmtDayMonth.format(new Date(iso)) : '');
// "le 29/11/2026 à 10:00"
export const leA = (iso) => (iso ? 'le ' + fmtDay.format(new Date(iso)) + ' à ' + fmtTime.format(new Date(iso)) : '');

// "aujourd'hui à 10:00" when iso is on the Paris day of nowIso (default: now),
// else "le 29/11/2026 10:00".
export function when(iso, nowIso) {
  if (!iso) return '';
  const d = new Date(iso);
  const now = nowIso ? new Date(nowIso) : new Date();
  return fmtDay.format(d) === fmtDay.format(now) ? 'aujourd\'hui à ' + fmtTime.format(d) : 'le ' + dateShort(iso);
}

// "moins d'une minute", "12 min", "5 h", "3 jours".
export function duration(ms) {
  const min = Math.floor(Math.max(0, ms) / 60000);
  if (min < 1) return 'moins d\'une minute';
  if (min < 60) return min + ' min';
  const hours = Math.floor(min / 60);
  if (hours < 48) return hours + ' h';
  return Math.floor(hours / 24) + ' jours';
}

function parisParts(date) {
  const get = (parts, t) => Number(parts.find((p) => p.type === t).value);
  const parts = fmtParts.formatToParts(date);
  return { y: get(parts, 'year'), m: get(parts, 'month'), d: get(parts, 'day'), hh: get(parts, 'hour'), mm: get(parts, 'minute'), ss: get(parts, 'second') };
}
function parisOffsetMs(ms) {
  const p = parisParts(new Date(ms));
  return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(ms / 1000) * 1000;
}
// <input type="datetime-local"> value (Paris wall time) -> ISO 8601 UTC; a
// malformed value is passed on as is (the server explains what is wrong).
export function localToIso(v) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v || '');
  if (!m) return v ? v : null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let ms = wall - parisOffsetMs(wall);
  ms = wall - parisOffsetMs(ms);
  return new Date(ms).toISOString();
}
// ISO 8601 -> <input type="datetime-local"> value in Paris wall time.
export function isoToLocal(iso) {
  if (!iso) return '';
  const p = parisParts(new Date(iso));
  const z = (n) => String(n).padStart(2, '0');
  return p.y + '-' + z(p.m) + '-' + z(p.d) + 'T' + z(p.hh) + ':' + z(p.mm);
}

// -------------------------------------------------------- page and dialogs

// The flash message of the current view (kind: ok, warn, err).
export function announce(text, kind) {
  const el = document.getElementById('flash');
  if (!el) return;
  el.textContent = text;
  el.className = 'flash ' + (kind || 'ok');
  el.hidden = !text;
}

// The page's <dialog id="confirm-dialog"> (common/ui/partials/page-end.html);
// resolves true on the OK button, false on cancel or Escape.
export function confirmDialog(title, text, okLabel) {
  const dlg = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  ok.textContent = okLabel || 'Confirmer';
  return new Promise((resolve) => {
    const done = (v) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onOk = () => done(true);
    const onCancel = (e) => { if (e) e.preventDefault(); done(false); };
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    if (typeof dlg.showModal === 'function') dlg.showModal(); else dlg.setAttribute('open', '');
    cancel.focus();
  });
}

// Renders a view into <main>: its <h1> (focused), the flash line, content.
// isCurrent(navName) says which [data-nav] link gets aria-current="page".
export function mount(title, isCurrent, ...content) {
  const main = document.getElementById('main');
  const h1 = h('h1', { tabindex: '-1', text: title, 'data-testid': 'page-title' });
  main.replaceChildren(h1, h('p', { id: 'flash', class: 'flash', role: 'status', hidden: true, 'data-testid': 'flash' }),
    ...content.filter((c) => c !== null && c !== undefined && c !== false));
  h1.focus();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (isCurrent(a.dataset.nav)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  return main;
}

// ------------------------------------------------------------------ forms

// Field errors: the element app.errorId(prefix, field) next to the input
// "<prefix>-<field>"; errors without a place go to the form's .form-error.
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) { el.textContent = ''; el.hidden = true; }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  if (general) { general.textContent = ''; general.hidden = true; }
}
export function showErrors(form, prefix, err) {
  let first = null;
  const list = err.errors && err.errors.length ? err.errors : [{ field: err.field, message: err.message }];
  const unplaced = [];
  for (const e of list) {
    const box = e.field ? form.querySelector('#' + CSS.escape(app.errorId(prefix, e.field))) : null;
    if (!box) { unplaced.push(e.message); continue; }
    box.textContent = e.message;
    box.hidden = false;
    const input = form.querySelector('#' + CSS.escape(prefix + '-' + e.field));
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      if (!first) first = input;
    }
  }
  const general = form.querySelector('.form-error');
  if (general && unplaced.length) { general.textContent = unplaced.join(' '); general.hidden = false; }
  if (first) first.focus();
  else if (general) general.focus();
}

// One labelled field with its error element; the control's id and
// data-testid are "<prefix>-<name>". opts: required, hint, plain (no
// "(facultatif)"), small (narrow in a toolbar). A checkbox comes before its
// label.
export function field(prefix, name, labelText, control, opts) {
  opts = opts || {};
  control.id = prefix + '-' + name;
  control.name = name;
  control.setAttribute('data-testid', prefix + '-' + name);
  const errId = app.errorId(prefix, name);
  const describedBy = [errId];
  let hint = null;
  if (opts.hint) {
    hint = h('p', { class: 'hint', id: 'hint-' + prefix + '-' + name, text: opts.hint });
    describedBy.unshift(hint.id);
  }
  control.setAttribute('aria-describedby', describedBy.join(' '));
  if (opts.required) control.setAttribute('aria-required', 'true');
  const lab = h('label', { for: control.id }, labelText,
    opts.required ? h('span', { class: 'req', text: ' (obligatoire)' }) : (opts.plain ? null : h('span', { class: 'opt', text: ' (facultatif)' })));
  const error = h('p', { class: 'field-error', id: errId, hidden: true, 'data-testid': errId });
  if (control.type === 'checkbox') return h('div', { class: 'field checkbox' }, control, lab, hint, error);
  return h('div', { class: 'field' + (opts.small ? ' small' : '') }, lab, hint, control, error);
}

// The end of a form: its general error line (see showErrors), then the
// actions: the submit button and, when cancelHref is given, « Annuler ».
export function formEnd(submit, cancelHref) {
  return [h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
    h('div', { class: 'actions' }, submit, cancelHref ? h('a', { class: 'button secondary', href: cancelHref, text: 'Annuler' }) : null)];
}

// An event's capacity as typed: null when empty, a number when digits only,
// else the text itself (the server explains what is wrong).
export function capacityValue(input) {
  const cap = input.value.trim();
  return cap === '' ? null : (/^\d+$/.test(cap) ? Number(cap) : cap);
}

// <select> of [value, text] pairs, with an empty first option when
// placeholder is given.
export function select(pairs, value, placeholder) {
  const s = h('select', {});
  if (placeholder !== undefined) s.append(h('option', { value: '', text: placeholder }));
  for (const [v, t] of pairs) s.append(h('option', { value: v, text: t, selected: v === value }));
  return s;
}

// ---------------------------------------------------------------- session

function viewLogin(message) {
  document.getElementById('nav').hidden = true;
  app.onLoginPage();
  const pw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', id: 'login-submit', 'data-testid': 'login-submit', text: 'Se connecter' });
  const form = h('form', { id: 'login-form', class: 'card narrow', novalidate: true, 'data-testid': 'login-form' },
    h('p', { text: app.loginIntro }),
    field('login', 'password', app.passwordLabel, pw, { required: true }),
    h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true, 'data-testid': 'login-error' }),
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      await api('POST', '/api/v1/login', { password: pw.value });
      pw.value = '';
      loggedIn();
    } catch (e) {
      showErrors(form, 'login', e.field ? e : { field: 'password', message: e.message });
    } finally {
      submit.disabled = false;
    }
  });
  mount('Connexion', () => false, form);
  if (message) announce(message, 'warn');
  pw.focus();
}

function startPolling() {
  stopPolling();
  app.poll();
  session.pollTimer = setInterval(app.poll, app.pollMs);
}
function stopPolling() {
  if (session.pollTimer) clearInterval(session.pollTimer);
  session.pollTimer = null;
}

async function loggedIn() {
  session.loggedIn = true;
  document.getElementById('nav').hidden = false;
  await app.enter(startPolling);
  route();
}

function loggedOut(message) {
  const was = session.loggedIn;
  session.loggedIn = false;
  stopPolling();
  viewLogin(was ? (message || 'Votre session a expiré : reconnectez-vous.') : message);
}

// Calls app.route(parts, params) for the URL hash "#/a/b?x=1" (parts
// ["a", "b"], decoded; params a URLSearchParams), when logged in.
export function route() {
  if (!session.loggedIn) return;
  const hash = location.hash || app.defaultHash;
  const [path, qs] = hash.slice(1).split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return app.route(parts, params);
}

// Goes to hash; re-renders the view when it is already the current one.
export function navigate(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

// Starts the UI once the page is parsed. o:
//   unreachable    message of ApiError(0) (the daemon cannot be reached);
//   errorId        (prefix, field) -> id of a field's error element;
//   loginIntro, passwordLabel   the login page's text;
//   onLoginPage()  hides what only a logged-in user sees;
//   enter(startPolling)  async, after login, before the first route: loads
//                  reference data and starts the status polling;
//   poll(), pollMs the status poll (while logged in);
//   route(parts, params), defaultHash   the views;
//   onStatus(s)    the first /api/v1/status answer, when already logged in.
export function startApp(o) {
  Object.assign(app, o);
  const boot = async () => {
    document.getElementById('logout').addEventListener('click', async () => {
      try { await api('POST', '/api/v1/logout'); } catch (e) { /* logged out anyway */ }
      session.loggedIn = false;
      loggedOut('Vous êtes déconnecté·e.');
    });
    window.addEventListener('hashchange', route);
    try {
      const s = await api('GET', '/api/v1/status');
      if (app.onStatus) app.onStatus(s);
      loggedIn();
    } catch (e) {
      if (e.status !== 401) viewLogin(e.message);
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
}
