// Web UI of terril-node for reception staff. Plain JavaScript, no framework,
// nothing loaded from elsewhere (CSP default-src 'self').
//
// One page; views are chosen by the URL hash (#/evenements, #/inscription,
// #/inscriptions, #/prototypes...) and rendered into <main> from the JSON
// API (/api/v1/...). Text is always set with textContent; the only HTML
// built from data is the Markdown of prototype notes (markdown.js escapes
// first). The sync banner polls /api/v1/status every 2 s while logged in.
'use strict';

(function () {
  const POLL_MS = 2000;
  const ROLES = [
    ['habitant', 'Habitant·e'],
    ['benevole', 'Bénévole'],
    ['partenaire', 'Partenaire'],
    ['salarie', 'Salarié·e'],
    ['administrateur', 'Administrateur·rice'],
    ['institutionnel', 'Institutionnel·le'],
  ];
  const KINDS = [['temps-fort', 'Temps fort'], ['atelier', 'Atelier'], ['reunion', 'Réunion']];
  const STATUSES = [
    ['idee', 'Idée'], ['prototype', 'Prototype'], ['en-test', 'En test'],
    ['deploye', 'Déployé'], ['abandonne', 'Abandonné'],
  ];
  const label = (pairs, v) => (pairs.find((p) => p[0] === v) || [v, v || ''])[1];

  const state = {
    loggedIn: false,
    status: null,
    centreId: '',
    centres: new Map(),
    pollTimer: null,
    lastReceiptKey: null,
    regQuery: null,       // the registrations list currently shown
    regShown: new Map(),  // id -> registration
  };

  // ---------------------------------------------------------------- helpers

  function h(tag, attrs, ...children) {
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

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ('Erreur ' + status));
      this.status = status;
      this.code = body && body.code;
      this.field = body && body.field;
      this.errors = (body && body.errors) || (body && body.field ? [body] : []);
    }
  }

  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, { code: 'network', message: 'Le poste ne répond pas. Vérifiez qu\'il est allumé, puis réessayez.' });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (res.status === 401 && path !== '/api/v1/login') {
      onLoggedOut();
      throw new ApiError(401, data);
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  async function listAll(path) {
    const items = [];
    let after = null;
    for (let i = 0; i < 50; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await api('GET', path + sep + 'limit=1000' + (after ? '&after=' + encodeURIComponent(after) : ''));
      items.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    return items;
  }

  const tz = 'Europe/Paris';
  const fmtDateTime = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });
  const fmtShort = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });
  const fmtTime = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, hour: '2-digit', minute: '2-digit' });
  const dateLong = (iso) => (iso ? fmtDateTime.format(new Date(iso)) : '');
  const dateShort = (iso) => (iso ? fmtShort.format(new Date(iso)) : '');

  function sameDay(a, b) {
    const f = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, day: '2-digit', month: '2-digit', year: 'numeric' });
    return f.format(a) === f.format(b);
  }
  function when(iso, nowIso) {
    if (!iso) return '';
    const d = new Date(iso);
    const now = nowIso ? new Date(nowIso) : new Date();
    return sameDay(d, now) ? 'aujourd\'hui à ' + fmtTime.format(d) : 'le ' + dateShort(iso);
  }
  function duration(ms) {
    const min = Math.floor(Math.max(0, ms) / 60000);
    if (min < 1) return 'moins d\'une minute';
    if (min < 60) return min + ' min';
    const hours = Math.floor(min / 60);
    if (hours < 48) return hours + ' h';
    return Math.floor(hours / 24) + ' jours';
  }
  const plural = (n, one, many) => n + ' ' + (n > 1 ? many : one);

  // <input type="datetime-local"> values are French local time (Europe/Paris,
  // as every date shown), whatever the browser's own time zone.
  const fmtParts = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  function parisParts(date) {
    const get = (parts, t) => Number(parts.find((p) => p.type === t).value);
    const parts = fmtParts.formatToParts(date);
    return { y: get(parts, 'year'), m: get(parts, 'month'), d: get(parts, 'day'), hh: get(parts, 'hour'), mm: get(parts, 'minute'), ss: get(parts, 'second') };
  }
  function parisOffsetMs(ms) {
    const p = parisParts(new Date(ms));
    return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(ms / 1000) * 1000;
  }
  function localToIso(v) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v || '');
    if (!m) return v ? v : null;  // the server explains what is wrong
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    let ms = wall - parisOffsetMs(wall);
    ms = wall - parisOffsetMs(ms);
    return new Date(ms).toISOString();
  }
  function isoToLocal(iso) {
    if (!iso) return '';
    const p = parisParts(new Date(iso));
    const z = (n) => String(n).padStart(2, '0');
    return p.y + '-' + z(p.m) + '-' + z(p.d) + 'T' + z(p.hh) + ':' + z(p.mm);
  }

  const centreName = (id) => (state.centres.get(id) || {}).name || id;
  const isOwn = (rec) => rec && rec.centre_id === state.centreId;
  const personName = (r) => [r.first_name, r.last_name].filter(Boolean).join(' ') || '(données effacées)';

  function announce(text, kind) {
    const el = document.getElementById('flash');
    if (!el) return;
    el.textContent = text;
    el.className = 'flash ' + (kind || 'ok');
    el.hidden = !text;
  }

  function confirmDialog(title, text, okLabel) {
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

  // Field errors: element id "err-<field>" next to the input "<prefix>-<field>".
  function clearErrors(form) {
    for (const el of form.querySelectorAll('.field-error')) { el.textContent = ''; el.hidden = true; }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const general = form.querySelector('.form-error');
    if (general) { general.textContent = ''; general.hidden = true; }
  }
  function showErrors(form, prefix, err) {
    let first = null;
    const list = err.errors && err.errors.length ? err.errors : [{ field: err.field, message: err.message }];
    const unplaced = [];
    for (const e of list) {
      const box = e.field ? form.querySelector('#err-' + CSS.escape(e.field)) : null;
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

  // One labelled field with its error element.
  function field(prefix, name, labelText, control, opts) {
    opts = opts || {};
    control.id = prefix + '-' + name;
    control.name = name;
    control.setAttribute('data-testid', prefix + '-' + name);
    const describedBy = ['err-' + name];
    let hint = null;
    if (opts.hint) {
      hint = h('p', { class: 'hint', id: 'hint-' + prefix + '-' + name, text: opts.hint });
      describedBy.unshift(hint.id);
    }
    control.setAttribute('aria-describedby', describedBy.join(' '));
    if (opts.required) control.setAttribute('aria-required', 'true');
    const lab = h('label', { for: control.id }, labelText,
      opts.required ? h('span', { class: 'req', text: ' (obligatoire)' }) : h('span', { class: 'opt', text: ' (facultatif)' }));
    if (control.type === 'checkbox') {
      return h('div', { class: 'field checkbox' }, control, lab, hint,
        h('p', { class: 'field-error', id: 'err-' + name, hidden: true, 'data-testid': 'err-' + name }));
    }
    return h('div', { class: 'field' }, lab, hint, control,
      h('p', { class: 'field-error', id: 'err-' + name, hidden: true, 'data-testid': 'err-' + name }));
  }
  function select(pairs, value, placeholder) {
    const s = h('select', {});
    if (placeholder !== undefined) s.append(h('option', { value: '', text: placeholder }));
    for (const [v, t] of pairs) s.append(h('option', { value: v, text: t, selected: v === value }));
    return s;
  }
  const valueOrNull = (v) => (v === '' ? null : v);

  // ------------------------------------------------------------ sync banner

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
    if (!s.node_id) {
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

  async function poll() {
    if (!state.loggedIn) return;
    try {
      const s = await api('GET', '/api/v1/status');
      state.status = s;
      state.centreId = s.centre_id || '';
      document.getElementById('centre-name').textContent = s.centre_name || s.centre_id || '';
      renderBanner(s);
      const key = s.acked_seq + '/' + s.own_seq;
      if (key !== state.lastReceiptKey) {
        state.lastReceiptKey = key;
        refreshReceipts();
      }
    } catch (e) {
      if (e.status === 401) return;
      renderBanner(null);
    }
  }
  function startPolling() {
    stopPolling();
    poll();
    state.pollTimer = setInterval(poll, POLL_MS);
  }
  function stopPolling() {
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  // ------------------------------------------------------------------ views

  function mount(title, ...content) {
    const main = document.getElementById('main');
    const h1 = h('h1', { tabindex: '-1', text: title });
    main.replaceChildren(h1, h('p', { id: 'flash', class: 'flash', role: 'status', hidden: true }),
      ...content.filter((c) => c !== null && c !== undefined && c !== false));
    h1.focus();
    for (const a of document.querySelectorAll('[data-nav]')) {
      const current = location.hash.startsWith('#/' + a.dataset.nav) &&
        !(a.dataset.nav === 'inscription' && location.hash.startsWith('#/inscriptions'));
      if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    return main;
  }

  function viewLogin(message) {
    document.getElementById('nav').hidden = true;
    document.getElementById('sync-banner').hidden = true;
    document.getElementById('rejections').hidden = true;
    document.getElementById('centre-name').textContent = '';
    const pw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', id: 'login-submit', 'data-testid': 'login-submit', text: 'Se connecter' });
    const form = h('form', { id: 'login-form', class: 'card narrow', novalidate: true },
      h('p', { text: 'Saisissez le mot de passe de l\'accueil de votre centre.' }),
      field('login', 'password', 'Mot de passe du poste', pw, { required: true }),
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
      submit);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      submit.disabled = true;
      try {
        await api('POST', '/api/v1/login', { password: pw.value });
        pw.value = '';
        onLoggedIn();
      } catch (e) {
        showErrors(form, 'login', e.field ? e : { field: 'password', message: e.message });
      } finally {
        submit.disabled = false;
      }
    });
    mount('Connexion', form);
    if (message) announce(message, 'warn');
    pw.focus();
  }

  function eventSort(events, now) {
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

  function capacityText(e) {
    if (e.capacity === null || e.capacity === undefined) return plural(e.registered || 0, 'inscrit', 'inscrits') + ' — sans limite de places';
    if (e.places_left <= 0) return 'Complet — ' + e.registered + ' inscrits pour ' + e.capacity + ' places';
    return plural(e.places_left, 'place restante', 'places restantes') + ' sur ' + e.capacity + ' (' + plural(e.registered || 0, 'inscrit', 'inscrits') + ')';
  }

  async function loadCentres() {
    try {
      const centres = await listAll('/api/v1/centres');
      state.centres = new Map(centres.map((c) => [c.id, c]));
    } catch (e) { /* names fall back to ids */ }
  }

  async function viewEvents(params) {
    const showPast = params.get('passes') === '1';
    const main = mount('Événements');
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
      list.append(h('li', { class: 'card event' + (e.kind === 'temps-fort' ? ' temps-fort' : ''), 'data-testid': 'event-card', 'data-id': e.id },
        h('h2', {}, e.kind === 'temps-fort' ? h('span', { class: 'badge highlight', text: 'Temps fort' }) : null, ' ', e.title),
        h('p', { class: 'meta' }, label(KINDS, e.kind), ' — ', dateLong(e.starts_at), e.place ? ' — ' + e.place : ''),
        h('p', { class: 'meta' }, 'Organisé par ', h('strong', { text: centreName(e.centre_id) }), own ? ' (votre centre)' : ''),
        h('p', { class: 'capacity', 'data-testid': 'event-capacity', text: capacityText(e) }),
        e.description ? h('p', { class: 'description', text: e.description }) : null,
        h('div', { class: 'actions' },
          h('a', { class: 'button', href: '#/inscription?evenement=' + encodeURIComponent(e.id), 'data-testid': 'event-register', text: 'Inscrire une personne' }),
          h('a', { class: 'button secondary', href: '#/inscriptions?evenement=' + encodeURIComponent(e.id), text: 'Voir les inscriptions' }),
          own ? h('a', { class: 'button secondary', href: '#/evenement/' + encodeURIComponent(e.id), text: 'Modifier' }) : null)));
    }
  }

  async function viewEventForm(id) {
    let ev = null;
    if (id) {
      try { ev = await api('GET', '/api/v1/events/' + encodeURIComponent(id)); } catch (e) { mount('Événement', h('p', { text: e.message })); return; }
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
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
      h('div', { class: 'actions' }, submit, h('a', { class: 'button secondary', href: '#/evenements', text: 'Annuler' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const cap = f.capacity.value.trim();
      const body = {
        title: f.title.value, kind: f.kind.value,
        starts_at: localToIso(f.starts_at.value), ends_at: localToIso(f.ends_at.value),
        place: valueOrNull(f.place.value), description: valueOrNull(f.description.value),
        capacity: cap === '' ? null : (/^\d+$/.test(cap) ? Number(cap) : cap),
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
    mount(ev ? 'Modifier l\'événement' : 'Nouvel événement', form);
  }

  async function eventOptions(selectedId) {
    const events = await listAll('/api/v1/events');
    const now = new Date();
    const usable = eventSort(events, now).filter((e) => new Date(e.ends_at || e.starts_at) >= now || e.id === selectedId);
    return usable.map((e) => {
      const full = e.places_left !== null && e.places_left !== undefined && e.places_left <= 0;
      return [e.id, e.title + ' — ' + dateShort(e.starts_at) + ' — ' + centreName(e.centre_id) + (full ? ' (complet)' : '')];
    });
  }

  async function viewRegister(id, params) {
    let reg = null;
    if (id) {
      try { reg = await api('GET', '/api/v1/registrations/' + encodeURIComponent(id)); } catch (e) { mount('Inscription', h('p', { text: e.message })); return; }
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
      notes: h('textarea', { rows: 3, maxlength: 2000 }),
      consent: h('input', { type: 'checkbox' }),
    };
    f.notes.value = reg && reg.notes ? reg.notes : '';
    const submit = h('button', { type: 'submit', id: 'reg-submit', 'data-testid': 'reg-submit', text: reg ? 'Enregistrer les modifications' : 'Enregistrer l\'inscription' });
    const consentBlock = reg
      ? h('p', { class: 'meta', text: 'Consentement recueilli ' + when(reg.consent_at) + '.' })
      : field('reg', 'consent', 'La personne accepte que ses coordonnées soient enregistrées pour cette inscription et partagées avec le centre qui organise l\'événement.', f.consent, { required: true });
    const form = h('form', { id: 'reg-form', class: 'card', novalidate: true, 'data-testid': 'reg-form' },
      field('reg', 'event_id', 'Événement', f.event_id, { required: true }),
      h('div', { class: 'row' },
        field('reg', 'first_name', 'Prénom', f.first_name, { required: true }),
        field('reg', 'last_name', 'Nom', f.last_name, { required: true })),
      h('div', { class: 'row' },
        field('reg', 'phone', 'Téléphone', f.phone, { required: true, hint: 'Par exemple : 03 21 00 00 00' }),
        field('reg', 'email', 'Courriel', f.email)),
      field('reg', 'role', 'Rôle', f.role, { required: true }),
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
        notes: valueOrNull(f.notes.value.trim()),
      };
      if (!reg) {
        body.consent = f.consent.checked;
        if (body.email === null) delete body.email;
        if (body.notes === null) delete body.notes;
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
        for (const k of ['first_name', 'last_name', 'phone', 'email', 'notes']) f[k].value = '';
        f.role.value = '';
        f.consent.checked = false;
        announce('Inscription de ' + personName(created) + ' enregistrée sur ce poste. Vous pouvez saisir la suivante.', 'ok');
        f.first_name.focus();
      } catch (err) {
        showErrors(form, 'reg', err);
      } finally {
        submit.disabled = false;
      }
    });
    mount(reg ? 'Modifier l\'inscription' : 'Nouvelle inscription', form);
    if (!options.length && !reg) announce('Aucun événement à venir : créez d\'abord un événement.', 'warn');
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
        updateReceipt(updated);
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
        h('h2', { text: personName(r) }),
        receiptBadge(r)),
      h('p', { class: 'meta' }, label(ROLES, r.role), ' — ', r.phone || '', r.email ? ' — ' + r.email : ''),
      h('p', { class: 'meta' }, ev ? ev.title + ' — ' + dateShort(ev.starts_at) : 'Événement inconnu sur ce poste',
        own ? '' : ' — inscrit·e par ' + centreName(r.centre_id)),
      r.notes ? h('p', { class: 'notes', text: r.notes }) : null,
      h('div', { class: 'field checkbox inline' }, attended, h('label', { for: 'att-' + r.id, text: 'Présent·e' })),
      actions);
  }

  function updateReceipt(r) {
    const li = document.querySelector('li[data-testid="registration"][data-id="' + CSS.escape(r.id) + '"]');
    if (!li) return;
    const old = li.querySelector('[data-testid="receipt"]');
    if (old && old.dataset.synced !== String(!!r.synced)) old.replaceWith(receiptBadge(r));
  }

  async function refreshReceipts() {
    if (!state.regQuery || !document.getElementById('reg-list')) return;
    const pendingShown = [...state.regShown.values()].some((r) => !r.synced);
    if (!pendingShown) return;
    try {
      const page = await api('GET', '/api/v1/registrations?' + state.regQuery + '&limit=' + Math.min(1000, Math.max(50, state.regShown.size)));
      for (const r of page.items) {
        if (!state.regShown.has(r.id)) continue;
        state.regShown.set(r.id, r);
        updateReceipt(r);
      }
    } catch (e) { /* the banner says what is wrong */ }
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

  async function viewRegistrations(params) {
    const q = params.get('q') || '';
    const eventId = params.get('evenement') || '';
    const main = mount('Inscriptions');
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
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      if (search.value.trim()) p.set('q', search.value.trim());
      if (evSelect.value) p.set('evenement', evSelect.value);
      const hash = '#/inscriptions' + (p.toString() ? '?' + p.toString() : '');
      if (location.hash === hash) route(); else location.hash = hash;
    });
    const list = h('ul', { class: 'cards', id: 'reg-list', 'data-testid': 'reg-list' });
    const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'reg-more', text: 'Afficher plus' });
    main.append(form, list, more);
    const query = new URLSearchParams();
    if (q) query.set('q', q);
    if (eventId) query.set('event_id', eventId);
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
  }

  async function viewNotes() {
    const main = mount('Prototypes et applications');
    const list = h('ul', { class: 'cards', 'data-testid': 'notes-list' });
    main.append(h('p', { text: 'Ce que les centres ont construit, testé et évalué. Toutes les notes sont partagées entre les centres.' }),
      h('div', { class: 'toolbar' }, h('a', { class: 'button', href: '#/prototypes/nouvelle', 'data-testid': 'note-new', text: 'Nouvelle note' })),
      list);
    let notes;
    try { notes = await listAll('/api/v1/prototype-notes'); } catch (e) { announce(e.message, 'err'); return; }
    notes.sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''));
    if (!notes.length) list.append(h('li', { class: 'empty', text: 'Aucune note pour l\'instant.' }));
    for (const n of notes) {
      list.append(h('li', { class: 'card note', 'data-testid': 'note-card', 'data-id': n.id },
        h('h2', {}, h('a', { href: '#/prototypes/' + encodeURIComponent(n.id), text: n.title })),
        h('p', { class: 'meta' }, h('span', { class: 'badge', text: label(STATUSES, n.status) }), ' ', centreName(n.centre_id), isOwn(n) ? ' (votre centre)' : '', ' — mis à jour ', when(n.updated_at)),
        n.summary ? h('p', { text: n.summary }) : null,
        n.tags && n.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Étiquettes' }, n.tags.map((t) => h('li', { text: t }))) : null));
    }
  }

  async function viewNote(id) {
    let n;
    try { n = await api('GET', '/api/v1/prototype-notes/' + encodeURIComponent(id)); } catch (e) { mount('Note', h('p', { text: e.message })); return; }
    const body = h('div', { class: 'markdown', 'data-testid': 'note-body' });
    body.innerHTML = window.TerrilMarkdown.render(n.body || '');  // escaped first: see markdown.js
    const evaluation = h('div', { class: 'markdown', 'data-testid': 'note-evaluation' });
    evaluation.innerHTML = window.TerrilMarkdown.render(n.evaluation || '');
    mount(n.title,
      h('p', { class: 'meta' }, h('span', { class: 'badge', text: label(STATUSES, n.status) }), ' ', centreName(n.centre_id), ' — mis à jour ', when(n.updated_at)),
      n.tags && n.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Étiquettes' }, n.tags.map((t) => h('li', { text: t }))) : null,
      n.summary ? h('p', { class: 'summary', text: n.summary }) : null,
      h('article', { class: 'card' }, body),
      n.evaluation ? h('section', { class: 'card' }, h('h2', { text: 'Évaluation' }), evaluation) : null,
      h('div', { class: 'actions' },
        isOwn(n) ? h('a', { class: 'button', href: '#/prototypes/' + encodeURIComponent(n.id) + '/modifier', 'data-testid': 'note-edit', text: 'Modifier' }) : null,
        h('a', { class: 'button secondary', href: '#/prototypes', text: 'Retour à la liste' })));
  }

  async function viewNoteForm(id) {
    let n = null;
    if (id) {
      try { n = await api('GET', '/api/v1/prototype-notes/' + encodeURIComponent(id)); } catch (e) { mount('Note', h('p', { text: e.message })); return; }
    }
    const f = {
      title: h('input', { type: 'text', maxlength: 200, value: n ? n.title : '' }),
      status: select(STATUSES, n ? n.status : 'idee'),
      summary: h('textarea', { rows: 2, maxlength: 1000 }),
      tags: h('input', { type: 'text', maxlength: 500, value: n ? (n.tags || []).join(', ') : '' }),
      body: h('textarea', { rows: 12, maxlength: 65536 }),
      evaluation: h('textarea', { rows: 6, maxlength: 4000 }),
    };
    f.summary.value = n && n.summary ? n.summary : '';
    f.body.value = n && n.body ? n.body : '';
    f.evaluation.value = n && n.evaluation ? n.evaluation : '';
    const preview = h('div', { class: 'markdown preview', 'aria-live': 'polite', 'data-testid': 'note-preview' });
    const updatePreview = () => { preview.innerHTML = window.TerrilMarkdown.render(f.body.value); };
    f.body.addEventListener('input', updatePreview);
    updatePreview();
    const submit = h('button', { type: 'submit', id: 'note-submit', 'data-testid': 'note-submit', text: n ? 'Enregistrer' : 'Publier la note' });
    const mdHint = 'Mise en forme possible : # Titre, **gras**, *italique*, listes avec « - », liens [texte](https://…).';
    const form = h('form', { id: 'note-form', class: 'card', novalidate: true },
      field('note', 'title', 'Titre', f.title, { required: true }),
      field('note', 'status', 'Statut', f.status, { required: true }),
      field('note', 'summary', 'Résumé', f.summary),
      field('note', 'tags', 'Étiquettes', f.tags, { hint: 'Séparées par des virgules, par exemple : tablette, seniors' }),
      field('note', 'body', 'Description (comment il a été construit et testé)', f.body, { hint: mdHint }),
      h('section', { 'aria-label': 'Aperçu de la description' }, h('h2', { text: 'Aperçu' }), preview),
      field('note', 'evaluation', 'Évaluation', f.evaluation, { hint: mdHint }),
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
      h('div', { class: 'actions' }, submit, h('a', { class: 'button secondary', href: n ? '#/prototypes/' + encodeURIComponent(n.id) : '#/prototypes', text: 'Annuler' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {
        title: f.title.value.trim(), status: f.status.value, summary: valueOrNull(f.summary.value.trim()),
        tags: f.tags.value.split(',').map((t) => t.trim()).filter(Boolean),
        body: valueOrNull(f.body.value), evaluation: valueOrNull(f.evaluation.value.trim()),
      };
      if (!n) { for (const k of ['summary', 'body', 'evaluation']) if (body[k] === null) delete body[k]; }
      submit.disabled = true;
      try {
        const saved = n ? await api('PATCH', '/api/v1/prototype-notes/' + encodeURIComponent(n.id), body)
          : await api('POST', '/api/v1/prototype-notes', body);
        location.hash = '#/prototypes/' + encodeURIComponent(saved.id);
      } catch (err) {
        showErrors(form, 'note', err);
      } finally {
        submit.disabled = false;
      }
    });
    mount(n ? 'Modifier la note' : 'Nouvelle note', form);
  }

  // ----------------------------------------------------------------- router

  async function route() {
    if (!state.loggedIn) return;
    const hash = location.hash || '#/evenements';
    const [path, qs] = hash.slice(1).split('?');
    const params = new URLSearchParams(qs || '');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    state.regQuery = null;
    switch (parts[0]) {
      case 'inscription': return viewRegister(parts[1], params);
      case 'inscriptions': return viewRegistrations(params);
      case 'evenement': return viewEventForm(parts[1]);
      case 'prototypes':
        if (parts[1] === 'nouvelle') return viewNoteForm(null);
        if (parts[1] && parts[2] === 'modifier') return viewNoteForm(parts[1]);
        if (parts[1]) return viewNote(parts[1]);
        return viewNotes();
      default: return viewEvents(params);
    }
  }

  async function onLoggedIn() {
    state.loggedIn = true;
    document.getElementById('nav').hidden = false;
    startPolling();
    await loadCentres();
    route();
  }

  function onLoggedOut(message) {
    const was = state.loggedIn;
    state.loggedIn = false;
    stopPolling();
    viewLogin(was ? (message || 'Votre session a expiré : reconnectez-vous.') : message);
  }

  async function boot() {
    document.getElementById('logout').addEventListener('click', async () => {
      try { await api('POST', '/api/v1/logout'); } catch (e) { /* logged out anyway */ }
      state.loggedIn = false;
      onLoggedOut('Vous êtes déconnecté·e.');
    });
    window.addEventListener('hashchange', route);
    try {
      const s = await api('GET', '/api/v1/status');
      state.status = s;
      state.centreId = s.centre_id || '';
      onLoggedIn();
    } catch (e) {
      if (e.status !== 401) viewLogin(e.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
