// The hub dashboard's Centres view (#/centres): each centre's box and its
// state, adding, replacing and revoking boxes (enrolment codes), adding a
// neighbouring centre. Refreshed by the status poll while shown.
import { announce, api, clearErrors, confirmDialog, dateShort, field, h, leA, nf, plural, route, select, showErrors } from '../base.js';
import { AGGLOS, centreName, centreOptions, hubMount, loadCentres, state } from '../hub.js';

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
  // Healing: the last repair with this box, and a box still out of step
  // after a restore of the hub (it holds records the hub lost).
  const r = n.last_repair;
  const repair = n.out_of_step
    ? h('span', { class: 'sub warn', 'data-testid': 'node-repair', text: 'Réparation en cours : ce boîtier détient des fiches que le serveur avait perdues' })
    : r ? h('span', { class: 'sub', 'data-testid': 'node-repair', text: 'Dernière réparation ' + leA(r.at) + ' : ' + nf.format(r.received) + ' fiche(s) reçue(s), ' + nf.format(r.sent) + ' envoyée(s)' + (r.purged ? ', ' + nf.format(r.purged) + ' retirée(s)' : '') }) : null;
  return h('td', { 'data-testid': 'node-state', 'data-state': n.connected ? 'connected' : n.state },
    h('span', { class: 'state ' + cls, text }), h('span', { class: 'sub', text: sub + otherText }), repair);
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

export async function refreshCentres() {
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
    result.hub_fingerprint ? h('p', { class: 'meta', 'data-testid': 'node-fingerprint', text: 'Empreinte du certificat du hub (le boîtier refusera tout autre certificat) : ' + result.hub_fingerprint }) : null,
    result.command_qr_svg ? h('figure', { class: 'qr' },
      h('img', { 'data-testid': 'node-command-qr', width: 240, height: 240,
        src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(result.command_qr_svg),
        alt: 'QR code de la commande d\'installation' }),
      h('figcaption', { class: 'meta', text: 'À scanner depuis le téléphone du technicien : il contient la commande complète, avec l\'empreinte.' })) : null,
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

// The newest viewCentres() call: an older one still awaiting the node list
// (the route ran twice, e.g. right after login) must not append its tables too.
let centresRender = 0;

export async function viewCentres() {
  state.view = 'centres';
  const render = ++centresRender;
  const main = hubMount('Centres et boîtiers');
  main.append(
    h('p', { class: 'intro', text: 'L\'état du boîtier de chaque centre. « Modifications envoyées » : ce que le boîtier a transmis au hub ; « En attente » : ce que le hub n\'a pas encore pu lui transmettre ; « Refusées » : les modifications du centre que le hub n\'a pas acceptées.' }),
    h('section', { id: 'node-code-result', class: 'card code-result', 'data-testid': 'node-code-result', 'aria-live': 'polite', hidden: true }),
    nodeAddForm());
  let nodes = [];
  try { nodes = (await api('GET', '/api/v1/nodes')).items; } catch (e) { announce(e.message, 'err'); }
  if (render !== centresRender) return;
  main.append(centresTables(nodes), centreAddForm());
}
