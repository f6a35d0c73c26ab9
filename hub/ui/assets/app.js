// The hub admin's dashboard. Plain JavaScript, no framework, nothing loaded
// from elsewhere (CSP default-src 'self').
//
// One page; views are chosen by the URL hash (#/centres, #/inscriptions,
// #/evenements, #/evenement/nouveau, #/prototypes, #/rapports, #/journal)
// and rendered into <main> from the JSON API (/api/v1/..., see hub/admin.h).
// Text is always set with textContent. Charts are inline SVG (charts.js).
// data-testid attributes are stable: browser tests rely on them.
'use strict';

(function () {
  const POLL_MS = 10000;
  const ROLES = [
    ['habitant', 'Habitants'],
    ['benevole', 'Bénévoles'],
    ['partenaire', 'Partenaires'],
    ['salarie', 'Salariés'],
    ['administrateur', 'Administrateurs'],
    ['institutionnel', 'Institutionnels'],
  ];
  const ROLE_ONE = {
    habitant: 'Habitant·e', benevole: 'Bénévole', partenaire: 'Partenaire', salarie: 'Salarié·e',
    administrateur: 'Administrateur·rice', institutionnel: 'Institutionnel·le',
  };
  const ROLE_COLORS = ['#0b4f8a', '#2e7d32', '#b35c00', '#6a1b9a', '#00838f', '#8a1c1c'];
  const KINDS = [['temps-fort', 'Temps fort'], ['atelier', 'Atelier'], ['reunion', 'Réunion']];
  const STATUSES = [
    ['idee', 'Idée'], ['prototype', 'Prototype'], ['en-test', 'En test'],
    ['deploye', 'Déployé'], ['abandonne', 'Abandonné'],
  ];
  const STATUS_COLORS = ['#9aa5b1', '#0b4f8a', '#b35c00', '#2e7d32', '#8a1c1c'];
  const AGGLOS = [
    ['valenciennes-metropole', 'Valenciennes Métropole'],
    ['porte-du-hainaut', 'Porte du Hainaut'],
    ['lens-lievin', 'Lens-Liévin'],
  ];
  const label = (pairs, v) => (pairs.find((p) => p[0] === v) || [v, v || ''])[1];

  const state = {
    loggedIn: false,
    centres: [],          // live centres, by name
    pollTimer: null,
    view: null,           // name of the view shown, for the periodic refresh
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
      throw new ApiError(0, { code: 'network', message: 'Le hub ne répond pas. Vérifiez la connexion, puis réessayez.' });
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
    for (let i = 0; i < 100; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await api('GET', path + sep + 'limit=1000' + (after ? '&after=' + encodeURIComponent(after) : ''));
      items.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    return items;
  }

  const tz = 'Europe/Paris';
  const fmtShort = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });
  const fmtDay = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, day: '2-digit', month: '2-digit', year: 'numeric' });
  const fmtTime = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, hour: '2-digit', minute: '2-digit' });
  const dateShort = (iso) => (iso ? fmtShort.format(new Date(iso)) : '');
  const dayOnly = (iso) => (iso ? fmtDay.format(new Date(iso)) : '');
  // "le 29/11/2026 à 10:00"
  const leA = (iso) => (iso ? 'le ' + fmtDay.format(new Date(iso)) + ' à ' + fmtTime.format(new Date(iso)) : '');
  const plural = (n, one, many) => n + ' ' + (n > 1 ? many : one);
  const nf = new Intl.NumberFormat('fr-FR');

  // <input type="datetime-local"> values are French local time (Europe/Paris).
  const fmtParts = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  function parisOffsetMs(ms) {
    const parts = fmtParts.formatToParts(new Date(ms));
    const get = (t) => Number(parts.find((p) => p.type === t).value);
    return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(ms / 1000) * 1000;
  }
  function localToIso(v) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v || '');
    if (!m) return v ? v : null;  // the server explains what is wrong
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    let ms = wall - parisOffsetMs(wall);
    ms = wall - parisOffsetMs(ms);
    return new Date(ms).toISOString();
  }

  const centreById = (id) => state.centres.find((c) => c.id === id);
  const centreName = (id) => (centreById(id) || {}).name || id;
  const personName = (r) => [r.first_name, r.last_name].filter(Boolean).join(' ') || '(données effacées)';
  const centreOptions = () => state.centres.map((c) => [c.id, c.name]);

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

  // Field errors: element id "err-<prefix>-<field>" next to input "<prefix>-<field>".
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
      const box = e.field ? form.querySelector('#err-' + CSS.escape(prefix + '-' + e.field)) : null;
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

  // One labelled field with its error element; data-testid = id = prefix-name.
  function field(prefix, name, labelText, control, opts) {
    opts = opts || {};
    control.id = prefix + '-' + name;
    control.name = name;
    control.setAttribute('data-testid', prefix + '-' + name);
    const errId = 'err-' + prefix + '-' + name;
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
    return h('div', { class: 'field' + (opts.small ? ' small' : '') }, lab, hint, control,
      h('p', { class: 'field-error', id: errId, hidden: true, 'data-testid': errId }));
  }
  function select(pairs, value, placeholder) {
    const s = h('select', {});
    if (placeholder !== undefined) s.append(h('option', { value: '', text: placeholder }));
    for (const [v, t] of pairs) s.append(h('option', { value: v, text: t, selected: v === value }));
    return s;
  }
  const valueOrNull = (v) => (v === '' ? null : v);

  function exportLink(entity, format, params, testid, text) {
    const p = new URLSearchParams(params || {});
    p.set('entity', entity);
    p.set('format', format);
    return h('a', { class: 'button secondary', href: '/api/v1/export?' + p.toString(), download: '', 'data-testid': testid, text });
  }

  // ------------------------------------------------------------ hub summary

  async function poll() {
    if (!state.loggedIn) return;
    const box = document.getElementById('hub-summary');
    try {
      const s = await api('GET', '/api/v1/status');
      box.hidden = false;
      box.textContent = plural(s.connected_nodes, 'boîtier connecté', 'boîtiers connectés') + ' sur ' +
        plural(s.nodes.active, 'installé', 'installés') + ' — ' + nf.format(s.hub_seq) + ' modifications au hub — version ' + s.version;
      if (state.view === 'centres') refreshCentres();
    } catch (e) {
      if (e.status === 401) return;
      box.hidden = false;
      box.textContent = 'Le hub ne répond pas.';
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
    const h1 = h('h1', { tabindex: '-1', text: title, 'data-testid': 'page-title' });
    main.replaceChildren(h1, h('p', { id: 'flash', class: 'flash', role: 'status', hidden: true, 'data-testid': 'flash' }),
      ...content.filter((c) => c !== null && c !== undefined && c !== false));
    h1.focus();
    for (const a of document.querySelectorAll('[data-nav]')) {
      const current = location.hash.startsWith('#/' + a.dataset.nav) ||
        (a.dataset.nav === 'evenements' && location.hash.startsWith('#/evenement/')) ||
        (a.dataset.nav === 'centres' && (location.hash === '' || location.hash === '#/'));
      if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    return main;
  }

  function viewLogin(message) {
    state.view = 'login';
    document.getElementById('nav').hidden = true;
    document.getElementById('hub-summary').hidden = true;
    const pw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', 'data-testid': 'login-submit', text: 'Se connecter' });
    const form = h('form', { id: 'login-form', class: 'card narrow', novalidate: true, 'data-testid': 'login-form' },
      h('p', { text: 'Saisissez le mot de passe administrateur du hub.' }),
      field('login', 'password', 'Mot de passe', pw, { required: true }),
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true, 'data-testid': 'login-error' }),
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

  async function loadCentres() {
    try {
      const centres = await listAll('/api/v1/centres');
      centres.sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id, 'fr'));
      state.centres = centres;
    } catch (e) { /* names fall back to ids */ }
  }

  // ----------------------------------------------------------- centres view

  // The node shown for a centre: the active one, else the pending one, else
  // the last revoked one.
  function primaryNode(nodes) {
    return nodes.find((n) => n.state === 'active') || nodes.find((n) => n.state === 'pending') || null;
  }

  function nodeStateCell(nodes) {
    const n = primaryNode(nodes);
    const others = nodes.filter((x) => x !== n && x.state !== 'revoked');
    const otherText = others.length ? ' — autre boîtier : ' + others.map((x) => x.node_id + (x.state === 'pending' ? ' (en attente d\'installation)' : '')).join(', ') : '';
    if (!n) {
      const revoked = nodes.filter((x) => x.state === 'revoked');
      return h('td', { 'data-testid': 'node-state', 'data-state': 'none' },
        h('span', { class: 'state none', text: 'Pas encore de boîtier' }),
        revoked.length ? h('span', { class: 'sub', text: 'Ancien boîtier révoqué : ' + revoked.map((x) => x.node_id).join(', ') }) : null);
    }
    let text, cls, sub;
    if (n.state === 'pending') {
      text = 'Boîtier ajouté, en attente d\'installation';
      cls = 'pending';
      sub = n.node_id + (n.code_expires_at ? ' — code valable jusqu\'au ' + dateShort(n.code_expires_at) : '');
    } else if (n.connected) {
      text = 'Connecté';
      cls = 'connected';
      sub = n.node_id + (n.connected_since ? ' — depuis ' + leA(n.connected_since).replace(/^le /, 'le ') : '');
    } else if (n.last_seen) {
      text = 'Vu pour la dernière fois ' + leA(n.last_seen);
      cls = 'offline';
      sub = n.node_id;
    } else {
      text = 'Installé, jamais connecté';
      cls = 'offline';
      sub = n.node_id;
    }
    return h('td', { 'data-testid': 'node-state', 'data-state': n.connected ? 'connected' : n.state },
      h('span', { class: 'state ' + cls, text }), h('span', { class: 'sub', text: sub + otherText }));
  }

  function centreRow(c, nodes) {
    const n = primaryNode(nodes);
    const num = (v, testid, warn) => h('td', { class: 'num' + (warn && v > 0 ? ' warn-num' : ''), 'data-testid': testid, text: n && n.state === 'active' ? nf.format(v) : '—' });
    const actions = h('div', { class: 'actions' });
    if (!n) {
      actions.append(h('button', { type: 'button', 'data-testid': 'node-add', onclick: () => prefillNodeForm(c.id), text: 'Ajouter un boîtier' }));
    } else {
      if (n.state === 'active') {
        actions.append(h('button', { type: 'button', class: 'secondary', 'data-testid': 'node-replace', onclick: () => replaceNode(n), text: 'Remplacer' }));
      } else if (n.state === 'pending') {
        actions.append(h('button', { type: 'button', class: 'secondary', 'data-testid': 'node-new-code', onclick: () => newCode(n), text: 'Nouveau code' }));
      }
      actions.append(h('button', { type: 'button', class: 'danger', 'data-testid': 'node-revoke', onclick: () => revokeNode(n), text: 'Révoquer' }));
    }
    return h('tr', { 'data-testid': 'centre-row', 'data-centre': c.id, 'data-node': n ? n.node_id : '' },
      h('th', { scope: 'row', 'data-testid': 'centre-name' }, c.name, h('span', { class: 'sub', text: [c.town, c.id].filter(Boolean).join(' — ') })),
      nodeStateCell(nodes),
      num(n ? n.changes_received : 0, 'node-sent'),
      num(n ? n.lag : 0, 'node-waiting'),
      h('td', { 'data-testid': 'node-version', text: n && n.software_version ? n.software_version : '—' }),
      num(n ? n.rejected : 0, 'node-rejected', true),
      h('td', {}, actions));
  }

  function centresTables(nodes) {
    const byCentre = new Map();
    for (const n of nodes) {
      if (!byCentre.has(n.centre_id)) byCentre.set(n.centre_id, []);
      byCentre.get(n.centre_id).push(n);
    }
    const box = h('div', { id: 'centres-tables', 'data-testid': 'centres-tables' });
    const groups = AGGLOS.map(([id, name]) => [id, name, state.centres.filter((c) => c.agglomeration === id)]);
    const others = state.centres.filter((c) => !AGGLOS.some(([id]) => id === c.agglomeration));
    if (others.length) groups.push(['autres', 'Autres centres', others]);
    for (const [id, name, centres] of groups) {
      const connected = centres.filter((c) => (byCentre.get(c.id) || []).some((n) => n.connected)).length;
      box.append(h('section', { 'data-testid': 'agglo-' + id, 'aria-labelledby': 'agglo-title-' + id },
        h('h2', { id: 'agglo-title-' + id }, name, ' ', h('span', { class: 'badge', text: plural(centres.length, 'centre', 'centres') + ' — ' + connected + ' connecté' + (connected > 1 ? 's' : '') })),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'centres-table', 'data-testid': 'centres-table' },
            h('colgroup', {}, ['c-name', 'c-state', 'c-n', 'c-n', 'c-version', 'c-n', 'c-actions'].map((c) => h('col', { class: c }))),
            h('thead', {}, h('tr', {},
              h('th', { scope: 'col', text: 'Centre' }),
              h('th', { scope: 'col', text: 'Boîtier' }),
              h('th', { scope: 'col', class: 'num', text: 'Modifications envoyées' }),
              h('th', { scope: 'col', class: 'num', text: 'En attente vers le boîtier' }),
              h('th', { scope: 'col', text: 'Version' }),
              h('th', { scope: 'col', class: 'num', text: 'Refusées' }),
              h('th', { scope: 'col', text: 'Actions' }))),
            h('tbody', {}, centres.length ? centres.map((c) => centreRow(c, byCentre.get(c.id) || []))
              : h('tr', {}, h('td', { colspan: 7, class: 'empty', text: 'Aucun centre.' })))))));
    }
    return box;
  }

  async function refreshCentres() {
    const old = document.getElementById('centres-tables');
    if (!old) return;
    try {
      const nodes = (await api('GET', '/api/v1/nodes')).items;
      const fresh = centresTables(nodes);
      if (document.getElementById('centres-tables') === old) old.replaceWith(fresh);
    } catch (e) { /* the summary says what is wrong */ }
  }

  function showCode(result, title) {
    const box = document.getElementById('node-code-result');
    box.replaceChildren(...[
      h('h2', { text: title }),
      h('p', {}, 'Boîtier ', h('strong', { 'data-testid': 'node-code-node', text: result.node_id }), ' pour ', h('strong', { text: centreName(result.centre_id) }), '.'),
      h('p', { text: 'Code d\'installation, à usage unique — il ne sera plus affiché :' }),
      h('p', { class: 'code', 'data-testid': 'node-code', text: result.code }),
      h('p', { class: 'meta', 'data-testid': 'node-code-expires', text: 'Valable jusqu\'au ' + dateShort(result.expires_at) + '.' }),
      h('p', { text: 'Sur le boîtier du centre, le technicien lance :' }),
      h('pre', { 'data-testid': 'node-command', text: result.command }),
      result.hub_fingerprint ? h('p', { class: 'meta', text: 'Empreinte du certificat du hub : ' + result.hub_fingerprint }) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'node-command-copy', onclick: async () => {
          try { await navigator.clipboard.writeText(result.command); announce('Commande copiée.', 'ok'); } catch (e) { announce('Copie impossible : sélectionnez la commande à la main.', 'warn'); }
        }, text: 'Copier la commande' }),
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'node-code-hide', onclick: () => { box.hidden = true; box.replaceChildren(); }, text: 'J\'ai noté le code' }))].filter(Boolean));
    box.hidden = false;
    box.scrollIntoView({ block: 'nearest' });
    box.querySelector('h2').setAttribute('tabindex', '-1');
    box.querySelector('h2').focus();
  }

  function prefillNodeForm(centreId) {
    const details = document.getElementById('node-add-details');
    const sel = document.getElementById('nodeform-centre_id');
    const id = document.getElementById('nodeform-node_id');
    if (!details || !sel) return;
    details.open = true;
    sel.value = centreId;
    id.value = centreId + '-1';
    details.scrollIntoView({ block: 'nearest' });
    id.focus();
  }

  async function revokeNode(n) {
    const ok = await confirmDialog('Révoquer le boîtier ' + n.node_id + ' ?',
      'Le boîtier de ' + centreName(n.centre_id) + ' sera coupé du hub immédiatement et définitivement. Les modifications qu\'il n\'a pas encore envoyées seront perdues. Pour le remplacer, ajoutez ensuite un nouveau boîtier.',
      'Révoquer');
    if (!ok) return;
    try {
      await api('POST', '/api/v1/nodes/' + encodeURIComponent(n.node_id) + '/revoke');
      announce('Boîtier ' + n.node_id + ' révoqué.', 'ok');
      refreshCentres();
    } catch (e) { announce(e.message, 'err'); }
  }

  async function replaceNode(n) {
    const ok = await confirmDialog('Remplacer le boîtier ' + n.node_id + ' ?',
      'L\'ancien boîtier de ' + centreName(n.centre_id) + ' sera révoqué tout de suite ; un code d\'installation sera créé pour le nouveau boîtier.',
      'Remplacer');
    if (!ok) return;
    try {
      const r = await api('POST', '/api/v1/nodes/' + encodeURIComponent(n.node_id) + '/replace');
      showCode(r, 'Boîtier de remplacement ajouté');
      refreshCentres();
    } catch (e) { announce(e.message, 'err'); }
  }

  // A pending box whose code was lost or expired: same node id, new code;
  // the old code stops working.
  async function newCode(n) {
    try {
      const r = await api('POST', '/api/v1/nodes/' + encodeURIComponent(n.node_id) + '/replace');
      showCode(r, 'Nouveau code d\'installation');
      refreshCentres();
    } catch (e) { announce(e.message, 'err'); }
  }

  function nodeAddForm() {
    const f = {
      centre_id: select(centreOptions(), '', 'Choisissez un centre'),
      node_id: h('input', { type: 'text', maxlength: 64, autocomplete: 'off', spellcheck: 'false' }),
    };
    f.centre_id.addEventListener('change', () => { if (!f.node_id.value && f.centre_id.value) f.node_id.value = f.centre_id.value + '-1'; });
    const submit = h('button', { type: 'submit', 'data-testid': 'node-add-submit', text: 'Créer le code d\'installation' });
    const form = h('form', { novalidate: true, 'data-testid': 'node-add-form' },
      h('div', { class: 'row' },
        field('nodeform', 'centre_id', 'Centre', f.centre_id, { required: true }),
        field('nodeform', 'node_id', 'Identifiant du boîtier', f.node_id, { required: true, hint: 'Minuscules, chiffres et tirets, par exemple : lens-centre-1. Un identifiant ne sert qu\'une fois.' })),
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
      submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      submit.disabled = true;
      try {
        const r = await api('POST', '/api/v1/nodes', { node_id: f.node_id.value.trim(), centre_id: f.centre_id.value });
        form.reset();
        document.getElementById('node-add-details').open = false;
        showCode(r, 'Boîtier ajouté');
        refreshCentres();
      } catch (err) {
        showErrors(form, 'nodeform', err);
      } finally {
        submit.disabled = false;
      }
    });
    return h('details', { class: 'card', id: 'node-add-details', 'data-testid': 'node-add-details' },
      h('summary', { 'data-testid': 'node-add-open', text: 'Ajouter un boîtier' }), form);
  }

  function centreAddForm() {
    const f = {
      id: h('input', { type: 'text', maxlength: 64, autocomplete: 'off', spellcheck: 'false' }),
      name: h('input', { type: 'text', maxlength: 200 }),
      agglomeration: select(AGGLOS, '', 'Choisissez'),
      address: h('input', { type: 'text', maxlength: 300 }),
      postcode: h('input', { type: 'text', maxlength: 10 }),
      town: h('input', { type: 'text', maxlength: 100 }),
      phone: h('input', { type: 'tel', maxlength: 30 }),
    };
    const submit = h('button', { type: 'submit', 'data-testid': 'centre-add-submit', text: 'Ajouter le centre' });
    const form = h('form', { novalidate: true, 'data-testid': 'centre-add-form' },
      h('p', { class: 'hint', text: 'Un centre voisin qui rejoint l\'opération : il reçoit les événements et les prototypes comme les autres, et peut avoir son boîtier.' }),
      h('div', { class: 'row' },
        field('centreform', 'id', 'Identifiant', f.id, { required: true, hint: 'Minuscules et tirets, par exemple : douai-gayant' }),
        field('centreform', 'name', 'Nom', f.name, { required: true })),
      h('div', { class: 'row' },
        field('centreform', 'agglomeration', 'Agglomération', f.agglomeration, { required: true }),
        field('centreform', 'town', 'Commune', f.town)),
      h('div', { class: 'row three' },
        field('centreform', 'address', 'Adresse', f.address),
        field('centreform', 'postcode', 'Code postal', f.postcode),
        field('centreform', 'phone', 'Téléphone', f.phone)),
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
      submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {};
      for (const [k, input] of Object.entries(f)) { const v = input.value.trim(); if (v !== '') body[k] = v; }
      submit.disabled = true;
      try {
        const c = await api('POST', '/api/v1/centres', body);
        await loadCentres();
        route();
        announce('Centre « ' + c.name + ' » ajouté.', 'ok');
      } catch (err) {
        showErrors(form, 'centreform', err);
      } finally {
        submit.disabled = false;
      }
    });
    return h('details', { class: 'card', 'data-testid': 'centre-add-details' },
      h('summary', { 'data-testid': 'centre-add-open', text: 'Ajouter un centre voisin' }), form);
  }

  async function viewCentres() {
    state.view = 'centres';
    const main = mount('Centres et boîtiers');
    main.append(
      h('p', { class: 'intro', text: 'L\'état du boîtier de chaque centre. « Modifications envoyées » : ce que le boîtier a transmis au hub ; « En attente » : ce que le hub n\'a pas encore pu lui transmettre ; « Refusées » : les modifications du centre que le hub n\'a pas acceptées.' }),
      h('section', { id: 'node-code-result', class: 'card code-result', 'data-testid': 'node-code-result', 'aria-live': 'polite', hidden: true }),
      nodeAddForm());
    let nodes = [];
    try { nodes = (await api('GET', '/api/v1/nodes')).items; } catch (e) { announce(e.message, 'err'); }
    main.append(centresTables(nodes), centreAddForm());
  }

  // ------------------------------------------------------ registrations view

  async function viewRegistrations(params) {
    state.view = 'inscriptions';
    const main = mount('Inscriptions de tous les centres');
    let events = [];
    try { events = await listAll('/api/v1/events?include_deleted=true'); } catch (e) { announce(e.message, 'err'); }
    const byId = new Map(events.map((e) => [e.id, e]));
    events.sort((a, b) => (b.starts_at || '').localeCompare(a.starts_at || ''));
    const f = {
      q: h('input', { type: 'search', autocomplete: 'off', value: params.get('q') || '' }),
      centre_id: select(centreOptions(), params.get('centre_id') || '', 'Tous les centres'),
      agglomeration: select(AGGLOS, params.get('agglomeration') || '', 'Toutes'),
      event_id: select(events.filter((e) => !e.deleted).map((e) => [e.id, e.title + ' — ' + dayOnly(e.starts_at)]), params.get('event_id') || '', 'Tous les événements'),
      role: select(ROLES.map(([v]) => [v, ROLE_ONE[v]]), params.get('role') || '', 'Tous les rôles'),
      attended: select([['true', 'Présents'], ['false', 'Non présents']], params.get('attended') || '', 'Tous'),
      from: h('input', { type: 'date', value: params.get('from') || '' }),
      to: h('input', { type: 'date', value: params.get('to') || '' }),
    };
    const form = h('form', { class: 'toolbar card', role: 'search', 'data-testid': 'reg-filters' },
      field('reg-filter', 'q', 'Rechercher (nom, prénom, courriel)', f.q, { plain: true }),
      field('reg-filter', 'centre_id', 'Centre', f.centre_id, { plain: true }),
      field('reg-filter', 'agglomeration', 'Agglomération', f.agglomeration, { plain: true }),
      field('reg-filter', 'event_id', 'Événement', f.event_id, { plain: true }),
      field('reg-filter', 'role', 'Rôle', f.role, { plain: true, small: true }),
      field('reg-filter', 'attended', 'Présence', f.attended, { plain: true, small: true }),
      field('reg-filter', 'from', 'Inscrit·e à partir du', f.from, { plain: true, small: true }),
      field('reg-filter', 'to', 'jusqu\'au', f.to, { plain: true, small: true }),
      h('button', { type: 'submit', 'data-testid': 'reg-filter-submit', text: 'Filtrer' }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      for (const [k, input] of Object.entries(f)) { const v = input.value.trim(); if (v) p.set(k, v); }
      const hash = '#/inscriptions' + (p.toString() ? '?' + p.toString() : '');
      if (location.hash === hash) route(); else location.hash = hash;
    });
    const query = new URLSearchParams();
    for (const k of Object.keys(f)) if (params.get(k)) query.set(k, params.get(k));
    const tbody = h('tbody', {});
    const shown = h('p', { class: 'meta', 'data-testid': 'reg-count' });
    const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'reg-more', text: 'Afficher plus' });
    main.append(form,
      h('div', { class: 'actions no-print' },
        exportLink('registrations', 'csv', query, 'export-csv', 'Exporter en CSV (Excel)'),
        exportLink('registrations', 'json', query, 'export-json', 'Exporter en JSON')),
      h('p', { class: 'hint', text: 'Les exports de données personnelles sont inscrits au journal (qui, quand, quels filtres).' }),
      shown,
      h('div', { class: 'table-wrap' },
        h('table', { 'data-testid': 'reg-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col', text: 'Personne' }),
            h('th', { scope: 'col', text: 'Rôle' }),
            h('th', { scope: 'col', text: 'Centre' }),
            h('th', { scope: 'col', text: 'Événement' }),
            h('th', { scope: 'col', text: 'Inscrit·e le' }),
            h('th', { scope: 'col', text: 'Présent·e' }),
            h('th', { scope: 'col', text: 'Actions' }))),
          tbody)),
      more);
    let count = 0;
    let after = null;
    function row(r) {
      const ev = byId.get(r.event_id);
      const att = h('input', { type: 'checkbox', checked: !!r.attended, 'data-testid': 'reg-attended', 'aria-label': 'Présent·e : ' + personName(r) });
      att.addEventListener('change', async () => {
        att.disabled = true;
        try {
          await api('PATCH', '/api/v1/registrations/' + encodeURIComponent(r.id), { attended: att.checked });
          announce('Présence corrigée pour ' + personName(r) + '.', 'ok');
        } catch (e) { att.checked = !att.checked; announce(e.message, 'err'); } finally { att.disabled = false; }
      });
      const tr = h('tr', { 'data-testid': 'reg-row', 'data-id': r.id },
        h('td', { 'data-testid': 'reg-name' }, personName(r), h('span', { class: 'sub', text: [r.phone, r.email].filter(Boolean).join(' — ') })),
        h('td', { 'data-testid': 'reg-role', text: ROLE_ONE[r.role] || r.role || '' }),
        h('td', { 'data-testid': 'reg-centre', text: centreName(r.centre_id) }),
        h('td', { 'data-testid': 'reg-event', text: ev ? ev.title + ' — ' + dayOnly(ev.starts_at) : 'Événement inconnu' }),
        h('td', { text: dateShort(r.created_at) }),
        h('td', {}, att),
        h('td', {}, h('button', { type: 'button', class: 'danger', 'data-testid': 'reg-erase', onclick: () => eraseRegistration(r, tr), text: 'Effacer les données' })));
      return tr;
    }
    async function load() {
      more.hidden = true;
      try {
        const page = await api('GET', '/api/v1/registrations?' + query.toString() + (query.toString() ? '&' : '') + 'limit=100' + (after ? '&after=' + encodeURIComponent(after) : ''));
        for (const r of page.items) tbody.append(row(r));
        count += page.items.length;
        if (!count) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'empty', text: 'Aucune inscription ne correspond.' })));
        after = page.next;
        more.hidden = !after;
        shown.textContent = plural(count, 'inscription affichée', 'inscriptions affichées') + (after ? ' (il y en a d\'autres : « Afficher plus »)' : '');
      } catch (e) { announce(e.message, 'err'); }
    }
    more.addEventListener('click', load);
    await load();
  }

  async function eraseRegistration(r, tr) {
    const ok = await confirmDialog('Effacer définitivement les données ?',
      'Les données de ' + personName(r) + ' (nom, prénom, téléphone, courriel, remarques) seront effacées sur le hub et sur tous les boîtiers qui en ont une copie. C\'est définitif.',
      'Effacer définitivement');
    if (!ok) return;
    try {
      await api('POST', '/api/v1/registrations/' + encodeURIComponent(r.id) + '/erase', { confirm: true });
      tr.remove();
      announce('Les données de la personne ont été effacées partout.', 'ok');
    } catch (e) { announce(e.message, 'err'); }
  }

  // ------------------------------------------------------------ events view

  function capacityText(e) {
    if (e.capacity === null || e.capacity === undefined) return 'sans limite';
    return nf.format(e.capacity) + (e.places_left <= 0 ? ' (complet)' : ' (' + plural(e.places_left, 'place restante', 'places restantes') + ')');
  }

  async function viewEvents(params) {
    state.view = 'evenements';
    const main = mount('Événements de tous les centres');
    const f = {
      centre_id: select(centreOptions(), params.get('centre_id') || '', 'Tous les centres'),
      kind: select(KINDS, params.get('kind') || '', 'Tous les types'),
    };
    const form = h('form', { class: 'toolbar card', 'data-testid': 'events-filters' },
      field('ev-filter', 'centre_id', 'Centre organisateur', f.centre_id, { plain: true }),
      field('ev-filter', 'kind', 'Type', f.kind, { plain: true }),
      h('button', { type: 'submit', 'data-testid': 'ev-filter-submit', text: 'Filtrer' }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      for (const [k, input] of Object.entries(f)) if (input.value) p.set(k, input.value);
      const hash = '#/evenements' + (p.toString() ? '?' + p.toString() : '');
      if (location.hash === hash) route(); else location.hash = hash;
    });
    const query = new URLSearchParams();
    for (const k of Object.keys(f)) if (params.get(k)) query.set(k, params.get(k));
    const tbody = h('tbody', {});
    main.append(
      h('div', { class: 'actions no-print' },
        h('a', { class: 'button', href: '#/evenement/nouveau', 'data-testid': 'event-new', text: 'Créer un événement (temps fort…)' }),
        exportLink('events', 'csv', query.get('centre_id') ? { centre_id: query.get('centre_id') } : {}, 'export-events-csv', 'Exporter en CSV')),
      form,
      h('div', { class: 'table-wrap' },
        h('table', { 'data-testid': 'events-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col', text: 'Événement' }),
            h('th', { scope: 'col', text: 'Centre organisateur' }),
            h('th', { scope: 'col', text: 'Date' }),
            h('th', { scope: 'col', class: 'num', text: 'Inscrits' }),
            h('th', { scope: 'col', class: 'num', text: 'Présents' }),
            h('th', { scope: 'col', class: 'num', text: 'Places' }))),
          tbody)));
    let events;
    try { events = await listAll('/api/v1/events' + (query.toString() ? '?' + query.toString() : '')); } catch (e) { announce(e.message, 'err'); return; }
    const now = new Date();
    const upcoming = (e) => new Date(e.ends_at || e.starts_at) >= now;
    events.sort((a, b) => {
      const ua = upcoming(a), ub = upcoming(b);
      if (ua !== ub) return ua ? -1 : 1;
      return ua ? new Date(a.starts_at) - new Date(b.starts_at) : new Date(b.starts_at) - new Date(a.starts_at);
    });
    if (!events.length) tbody.append(h('tr', {}, h('td', { colspan: 6, class: 'empty', text: 'Aucun événement.' })));
    for (const e of events) {
      tbody.append(h('tr', { 'data-testid': 'event-row', 'data-id': e.id },
        h('th', { scope: 'row' }, e.kind === 'temps-fort' ? h('span', { class: 'badge highlight', text: 'Temps fort' }) : null, ' ',
          h('span', { 'data-testid': 'event-title', text: e.title }), h('span', { class: 'sub', text: label(KINDS, e.kind) + (e.place ? ' — ' + e.place : '') })),
        h('td', { 'data-testid': 'event-centre', text: centreName(e.centre_id) }),
        h('td', { text: dateShort(e.starts_at) + (upcoming(e) ? '' : ' (passé)') }),
        h('td', { class: 'num', 'data-testid': 'event-registered', text: nf.format(e.registered || 0) }),
        h('td', { class: 'num', 'data-testid': 'event-attended', text: nf.format(e.attended || 0) }),
        h('td', { class: 'num', 'data-testid': 'event-capacity', text: capacityText(e) })));
    }
  }

  function viewEventForm() {
    state.view = 'evenement';
    const f = {
      centre_id: select(centreOptions(), '', 'Choisissez le centre qui accueille'),
      title: h('input', { type: 'text', maxlength: 200 }),
      kind: select(KINDS, 'temps-fort'),
      starts_at: h('input', { type: 'datetime-local' }),
      ends_at: h('input', { type: 'datetime-local' }),
      place: h('input', { type: 'text', maxlength: 300 }),
      capacity: h('input', { type: 'number', min: 0, max: 1000000, inputmode: 'numeric' }),
      description: h('textarea', { rows: 4, maxlength: 4000 }),
    };
    const submit = h('button', { type: 'submit', 'data-testid': 'ev-submit', text: 'Créer l\'événement' });
    const form = h('form', { class: 'card', novalidate: true, 'data-testid': 'event-form' },
      h('p', { class: 'hint', text: 'L\'événement est envoyé à tous les boîtiers : chaque centre peut y inscrire des personnes.' }),
      field('ev', 'centre_id', 'Centre organisateur', f.centre_id, { required: true }),
      field('ev', 'title', 'Titre', f.title, { required: true }),
      field('ev', 'kind', 'Type', f.kind, { required: true }),
      h('div', { class: 'row' },
        field('ev', 'starts_at', 'Début', f.starts_at, { required: true }),
        field('ev', 'ends_at', 'Fin', f.ends_at)),
      h('div', { class: 'row' },
        field('ev', 'place', 'Lieu', f.place),
        field('ev', 'capacity', 'Nombre de places', f.capacity, { hint: 'Laissez vide s\'il n\'y a pas de limite.' })),
      field('ev', 'description', 'Description', f.description),
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
      h('div', { class: 'actions' }, submit, h('a', { class: 'button secondary', href: '#/evenements', text: 'Annuler' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const cap = f.capacity.value.trim();
      const body = {
        centre_id: f.centre_id.value || null, title: f.title.value, kind: f.kind.value,
        starts_at: localToIso(f.starts_at.value), ends_at: localToIso(f.ends_at.value),
        place: valueOrNull(f.place.value), description: valueOrNull(f.description.value),
        capacity: cap === '' ? null : (/^\d+$/.test(cap) ? Number(cap) : cap),
      };
      for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
      submit.disabled = true;
      try {
        const ev = await api('POST', '/api/v1/events', body);
        location.hash = '#/evenements';
        setTimeout(() => announce('Événement « ' + ev.title + ' » créé : il part vers tous les boîtiers.', 'ok'), 50);
      } catch (err) {
        showErrors(form, 'ev', err);
      } finally {
        submit.disabled = false;
      }
    });
    mount('Nouvel événement', form);
  }

  // -------------------------------------------------------- prototypes view

  async function viewPrototypes(params) {
    state.view = 'prototypes';
    const main = mount('Prototypes et applications des centres');
    const f = {
      q: h('input', { type: 'search', autocomplete: 'off', value: params.get('q') || '' }),
      centre_id: select(centreOptions(), params.get('centre_id') || '', 'Tous les centres'),
      status: select(STATUSES, params.get('status') || '', 'Tous les statuts'),
    };
    const form = h('form', { class: 'toolbar card', role: 'search', 'data-testid': 'notes-filters' },
      field('notes-filter', 'q', 'Rechercher (titre, résumé, étiquettes)', f.q, { plain: true }),
      field('notes-filter', 'centre_id', 'Centre', f.centre_id, { plain: true }),
      field('notes-filter', 'status', 'Statut', f.status, { plain: true }),
      h('button', { type: 'submit', 'data-testid': 'notes-filter-submit', text: 'Filtrer' }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      for (const [k, input] of Object.entries(f)) { const v = input.value.trim(); if (v) p.set(k, v); }
      const hash = '#/prototypes' + (p.toString() ? '?' + p.toString() : '');
      if (location.hash === hash) route(); else location.hash = hash;
    });
    const query = new URLSearchParams();
    for (const k of Object.keys(f)) if (params.get(k)) query.set(k, params.get(k));
    const list = h('ul', { class: 'cards', 'data-testid': 'notes-list' });
    main.append(h('p', { class: 'intro', text: 'Ce que les centres ont construit, testé et évalué : un centre voisin y trouve ce que les autres ont déjà fait.' }),
      form,
      h('div', { class: 'actions no-print' }, exportLink('prototype-notes', 'csv', query.get('centre_id') ? { centre_id: query.get('centre_id') } : {}, 'export-notes-csv', 'Exporter en CSV')),
      list);
    let notes;
    try { notes = await listAll('/api/v1/prototype-notes' + (query.toString() ? '?' + query.toString() : '')); } catch (e) { announce(e.message, 'err'); return; }
    notes.sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''));
    if (!notes.length) list.append(h('li', { class: 'empty', text: 'Aucune note ne correspond.' }));
    for (const n of notes) {
      list.append(h('li', { class: 'card note', 'data-testid': 'note-card', 'data-id': n.id },
        h('h2', { 'data-testid': 'note-title', text: n.title }),
        h('p', { class: 'meta' }, h('span', { class: 'badge', 'data-testid': 'note-status', text: label(STATUSES, n.status) }), ' ',
          h('span', { 'data-testid': 'note-centre', text: centreName(n.centre_id) }), ' — mis à jour le ', dayOnly(n.updated_at)),
        n.summary ? h('p', { text: n.summary }) : null,
        n.tags && n.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Étiquettes', 'data-testid': 'note-tags' }, n.tags.map((t) => h('li', { text: t }))) : null,
        n.evaluation ? h('div', {}, h('h3', { text: 'Évaluation' }), h('p', { class: 'evaluation', 'data-testid': 'note-evaluation', text: n.evaluation })) : null));
    }
  }

  // ----------------------------------------------------------- reports view

  // A report table: first column a row header, columns from `firstNum` on
  // are numbers (right-aligned).
  function table(testid, caption, head, rows, foot, firstNum) {
    const from = firstNum || 1;
    const cell = (c, i) => (i === 0 ? h('th', { scope: 'row', text: c }) : h('td', { class: i >= from ? 'num' : null, text: c }));
    return h('div', { class: 'table-wrap' },
      h('table', { 'data-testid': testid },
        h('caption', { text: caption }),
        h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i >= from ? 'num' : null, text: c })))),
        h('tbody', {}, rows.map((r) => h('tr', {}, r.map(cell)))),
        foot ? h('tfoot', {}, h('tr', {}, foot.map(cell))) : null));
  }

  // Report rows by agglomeration (the dashboard's order), then name.
  function byAgglomeration(a, b) {
    const ia = AGGLOS.findIndex(([id]) => id === a.agglomeration);
    const ib = AGGLOS.findIndex(([id]) => id === b.agglomeration);
    if (ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return (a.name || '').localeCompare(b.name || '', 'fr');
  }

  async function viewReports() {
    state.view = 'rapports';
    const main = mount('Rapport d\'activité');
    const generated = new Intl.DateTimeFormat('fr-FR', { timeZone: tz, day: 'numeric', month: 'long', year: 'numeric' }).format(new Date());
    main.append(
      h('div', { class: 'report-head' },
        h('p', { class: 'print-only', 'data-testid': 'report-operation', text: 'Opération « Centres sociaux connectés du bassin minier »' }),
        h('p', { class: 'meta', 'data-testid': 'report-date', text: 'Données consolidées des centres au ' + generated + '.' })),
      h('div', { class: 'actions no-print' },
        h('button', { type: 'button', 'data-testid': 'report-print', onclick: () => window.print(), text: 'Imprimer le rapport' }),
        exportLink('registrations', 'csv', {}, 'report-export-csv', 'Exporter les inscriptions (CSV)')));
    let roles, attendance, protos;
    try {
      [roles, attendance, protos] = await Promise.all([
        api('GET', '/api/v1/reports/roles'), api('GET', '/api/v1/reports/attendance'), api('GET', '/api/v1/reports/prototypes')]);
    } catch (e) { announce(e.message, 'err'); return; }
    const C = window.TerrilCharts;
    roles.centres.sort(byAgglomeration);
    protos.centres.sort(byAgglomeration);
    const roleSeries = ROLES.map(([, l], i) => ({ label: l, color: ROLE_COLORS[i] }));
    const roleValues = (counts) => ROLES.map(([r]) => counts[r] || 0);

    // Roles per agglomeration and per centre.
    const rolesSection = h('section', { class: 'report-section', 'data-testid': 'report-roles' },
      h('h2', { text: 'Les personnes inscrites, par rôle' }),
      h('p', { class: 'meta', 'data-testid': 'report-roles-total', text: 'Au total : ' + plural(roles.total.total, 'inscription', 'inscriptions') + ' en cours (hors inscriptions supprimées).' }),
      C.legend(roleSeries),
      h('h3', { text: 'Par agglomération' }),
      C.stackedBars({ rows: roles.agglomerations.map((a) => ({ label: a.name, values: roleValues(a.counts) })), series: roleSeries, testid: 'chart-roles-agglomeration', title: 'Inscriptions par rôle et par agglomération' }),
      table('table-roles-agglomeration', 'Inscriptions par rôle et par agglomération', ['Agglomération', ...ROLES.map(([, l]) => l), 'Total'],
        roles.agglomerations.map((a) => [a.name, ...roleValues(a.counts).map((n) => nf.format(n)), nf.format(a.total)]),
        ['Total', ...roleValues(roles.total.counts).map((n) => nf.format(n)), nf.format(roles.total.total)]),
      h('h3', { text: 'Par centre' }),
      C.stackedBars({ rows: roles.centres.map((c) => ({ label: c.name, values: roleValues(c.counts) })), series: roleSeries, testid: 'chart-roles-centre', title: 'Inscriptions par rôle et par centre' }),
      table('table-roles-centre', 'Inscriptions par rôle et par centre', ['Centre', ...ROLES.map(([, l]) => l), 'Total'],
        roles.centres.map((c) => [c.name, ...roleValues(c.counts).map((n) => nf.format(n)), nf.format(c.total)])));

    // Attendance per event.
    const att = attendance.items;
    const attSection = h('section', { class: 'report-section', 'data-testid': 'report-attendance' },
      h('h2', { text: 'Participation aux événements' }),
      h('p', { class: 'meta', text: plural(attendance.total.registered, 'inscrit', 'inscrits') + ', ' + plural(attendance.total.attended, 'présent', 'présents') + ' sur ' + plural(att.length, 'événement', 'événements') + '.' }),
      C.legend([{ label: 'Inscrits', color: '#0b4f8a' }, { label: 'Présents', color: '#2e7d32' }, { label: 'Places (capacité)', color: '#a4161a' }]),
      att.length ? C.attendanceBars({ rows: att.map((e) => ({ label: e.title + ' (' + dayOnly(e.starts_at) + ')', registered: e.registered, attended: e.attended, capacity: e.capacity })), testid: 'chart-attendance', title: 'Inscrits, présents et places par événement' })
        : h('p', { class: 'empty', text: 'Aucun événement.' }),
      table('table-attendance', 'Participation par événement', ['Événement', 'Centre', 'Date', 'Inscrits', 'Présents', 'Places'],
        att.map((e) => [e.title, e.centre_name, dayOnly(e.starts_at), nf.format(e.registered), nf.format(e.attended), e.capacity === null ? '—' : nf.format(e.capacity)]),
        null, 3));

    // Prototypes by status per centre.
    const statusSeries = STATUSES.map(([, l], i) => ({ label: l, color: STATUS_COLORS[i] }));
    const statusValues = (counts) => STATUSES.map(([s]) => counts[s] || 0);
    const withNotes = protos.centres.filter((c) => c.total > 0);
    const protoSection = h('section', { class: 'report-section', 'data-testid': 'report-prototypes' },
      h('h2', { text: 'Prototypes et applications, par statut' }),
      h('p', { class: 'meta', text: plural(protos.total.total, 'note', 'notes') + ' de prototype dans ' + plural(withNotes.length, 'centre', 'centres') + '.' }),
      C.legend(statusSeries),
      withNotes.length ? C.stackedBars({ rows: withNotes.map((c) => ({ label: c.name, values: statusValues(c.counts) })), series: statusSeries, testid: 'chart-prototypes', title: 'Prototypes par statut et par centre' })
        : h('p', { class: 'empty', text: 'Aucune note de prototype.' }),
      table('table-prototypes', 'Prototypes par statut et par centre', ['Centre', ...STATUSES.map(([, l]) => l), 'Total'],
        protos.centres.map((c) => [c.name, ...statusValues(c.counts).map((n) => nf.format(n)), nf.format(c.total)]),
        ['Total', ...statusValues(protos.total.counts).map((n) => nf.format(n)), nf.format(protos.total.total)]));

    main.append(rolesSection, attSection, protoSection,
      h('p', { class: 'feder report-feder', 'data-testid': 'report-feder', text: 'L\'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre du programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.' }));
  }

  // --------------------------------------------------------------- log view

  async function viewLog() {
    state.view = 'journal';
    const main = mount('Journal des actions d\'administration');
    main.append(h('p', { class: 'intro', text: 'Qui a fait quoi et quand : boîtiers ajoutés ou révoqués, exports, corrections. Le journal ne contient jamais de données personnelles.' }));
    let log;
    try { log = await api('GET', '/api/v1/admin-log?limit=200'); } catch (e) { announce(e.message, 'err'); return; }
    main.append(h('div', { class: 'table-wrap' },
      h('table', { 'data-testid': 'log-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Quand' }), h('th', { scope: 'col', text: 'Qui' }), h('th', { scope: 'col', text: 'Action' }), h('th', { scope: 'col', text: 'Détail' }))),
        h('tbody', {}, log.items.map((e) => h('tr', { 'data-testid': 'log-row' },
          h('td', { text: dateShort(e.at) }), h('td', { text: e.who }), h('td', { 'data-testid': 'log-action', text: e.action }), h('td', { text: e.detail })))))));
  }

  // ----------------------------------------------------------------- router

  async function route() {
    if (!state.loggedIn) return;
    const hash = location.hash || '#/centres';
    const [path, qs] = hash.slice(1).split('?');
    const params = new URLSearchParams(qs || '');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    switch (parts[0]) {
      case 'inscriptions': return viewRegistrations(params);
      case 'evenements': return viewEvents(params);
      case 'evenement': return viewEventForm();
      case 'prototypes': return viewPrototypes(params);
      case 'rapports': return viewReports();
      case 'journal': return viewLog();
      default: return viewCentres();
    }
  }

  async function onLoggedIn() {
    state.loggedIn = true;
    document.getElementById('nav').hidden = false;
    await loadCentres();
    startPolling();
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
      await api('GET', '/api/v1/status');
      onLoggedIn();
    } catch (e) {
      if (e.status !== 401) viewLogin(e.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
