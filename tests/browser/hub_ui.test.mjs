// Browser tests of terril-hub's admin dashboard (issue 5), in Debian's
// headless Chromium driven by playwright-core (no browser download).
//
//   TERRIL_BUILD=build-dir node --test tests/browser/hub_ui.test.mjs
//
// A real terril-hub (TLS, self-signed: the browser ignores certificate
// errors) and two real enrolled terril-nodes on loopback: one connected, one
// that synced once and was stopped. The tests run in order and share one
// page, like one admin's session: log in, read the centres' state, add a box
// and read its enrolment command (and check that the code really enrols a
// box), open the funders' report, download a CSV. Screenshots of each main
// page go to $TERRIL_ARTIFACTS/screens/hub-*.png (default <repo>/artifacts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ADMIN_PASSWORD, Api, assertBrandAndConsole, brand, Hub, isoInDays, Node, NODE_BIN, REPO, run, sleep, tempRoot, watchConsole } from './cluster.mjs';

const CHROMIUM = process.env.TERRIL_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];
const SCREENS = path.join(process.env.TERRIL_ARTIFACTS || path.join(REPO, 'artifacts'), 'screens');
const FEDER = 'L\'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre du programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.';
const OPERATION = 'Centres sociaux connectés du bassin minier';
const ONLINE = 'valenciennes-beaujardin';   // Valenciennes Métropole: its node stays connected
const OFFLINE = 'mazingarbe-3-cites';       // Lens-Liévin: its node synced, then stopped
const NEW_CENTRE = 'saint-saulve';          // no node yet: one is added from the page
const ROLES = ['habitant', 'benevole', 'partenaire', 'salarie', 'administrateur', 'institutionnel'];
const T = { timeout: 120000 };

let root;
let hub;
let online;
let offline;
let context;
let page;
let consoleErrors;  // what the browser's console showed as errors (watchConsole)
let base;
let failed = false;
const written = [];  // {centre, role, agglomeration} of every registration the nodes wrote

// The 19 centres of data/centres.csv, by agglomeration (what the page must group).
function centresByAgglomeration() {
  const lines = fs.readFileSync(path.join(REPO, 'data', 'centres.csv'), 'utf8').trim().split('\n').slice(1);
  const out = new Map();
  for (const line of lines) {
    const id = line.split(',')[0];
    const agglo = line.split(',').pop().trim();
    if (!out.has(agglo)) out.set(agglo, []);
    out.get(agglo).push(id);
  }
  return out;
}

async function shot(name) {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, 'hub-' + name + '.png'), fullPage: true });
}

const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();

// The footer of every page: the operation's name and the exact FEDER sentence.
async function assertPublicity() {
  assert.equal(squash(await page.getByTestId('feder').textContent()), FEDER);
  assert.ok(await page.getByTestId('feder').isVisible(), 'the FEDER sentence is visible');
  assert.equal(squash(await page.getByTestId('operation-name').textContent()), OPERATION);
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.getByTestId('page-title').waitFor();
}

async function writeData(node, eventCentre, people) {
  const api = await new Api(node.base).login();
  const ev = await api.call('POST', '/api/v1/events', {
    title: 'Atelier numérique ' + eventCentre, kind: 'atelier', starts_at: isoInDays(5, 13), place: 'Salle', capacity: 10,
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  for (const [first, last, role] of people) {
    const r = await api.call('POST', '/api/v1/registrations', {
      event_id: ev.body.id, first_name: first, last_name: last, phone: '06 12 34 56 78', role, consent: true,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    written.push({ centre: node.centre, role });
  }
  const note = await api.call('POST', '/api/v1/prototype-notes', { title: 'Prototype de ' + eventCentre, status: 'prototype' });
  assert.equal(note.status, 201, JSON.stringify(note.body));
  return api;
}

async function waitDrained(api, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await api.call('GET', '/api/v1/status');
    if (s.status === 200 && s.body.connected && s.body.pending === 0) return;
    assert.ok(Date.now() < deadline, 'node drained: ' + JSON.stringify(s.body));
    await sleep(100);
  }
}

before(async () => {
  root = tempRoot();
  hub = new Hub(root);
  await hub.start();
  base = `https://127.0.0.1:${hub.port}`;
  online = new Node(root, hub, 'node-beaujardin', ONLINE);
  offline = new Node(root, hub, 'node-3-cites', OFFLINE);
  await online.start();
  await offline.start();
  const apiOn = await writeData(online, ONLINE, [
    ['Camille', 'Wattrelos', 'habitant'], ['Inès', 'Lefort', 'habitant'], ['Marcel', 'Béthune', 'benevole'],
    ['Zoé', 'Dupré; dit "Le Grand"', 'salarie'],
  ]);
  const apiOff = await writeData(offline, OFFLINE, [
    ['Rémi', 'Charbonnier', 'administrateur'], ['Odile', 'Préfecture', 'institutionnel'], ['Paul', 'Galibot', 'partenaire'],
  ]);
  await waitDrained(apiOn);
  await waitDrained(apiOff);
  await offline.stop();  // seen once, now offline
  context = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, locale: 'fr-FR',
    timezoneId: 'Europe/Paris', ignoreHTTPSErrors: true, acceptDownloads: true,
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => { console.log('# page error: ' + e.message); });
  consoleErrors = watchConsole(page);
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (online) await online.stop();
  if (offline) await offline.stop();
  if (hub) await hub.stop();
  if (root) {
    if (failed || process.env.TERRIL_KEEP) console.log('# kept ' + root + ' (daemon logs there)');
    else fs.rmSync(root, { recursive: true, force: true });
  }
  console.log('# screenshots in ' + SCREENS);
});

// Marks the run as failed (to keep the folder) and rethrows.
function step(name, fn) {
  test(name, T, async () => {
    try { await fn(); } catch (e) { failed = true; throw e; }
  });
}

step('login: a wrong password is refused in French, the right one opens the dashboard', async () => {
  await page.goto(base + '/');
  const pw = page.getByTestId('login-password');
  await pw.waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
  assert.ok(await page.getByTestId('nav-centres').isHidden(), 'no menu before login');
  await assertPublicity();
  await shot('01-login');

  await pw.fill('pas-le-bon-mot-de-passe');
  await page.getByTestId('login-submit').click();
  const err = page.locator('#err-login-password');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /Mot de passe incorrect/);
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  await shot('01b-login-error');

  await pw.fill(ADMIN_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-centres').waitFor({ state: 'visible' });
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'terril_session');
  assert.ok(session, 'a session cookie');
  assert.ok(session.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(session));
});

step('centres: the 19 centres grouped by agglomeration, one box connected, one offline, in plain words', async () => {
  await go('#/centres');
  await page.getByTestId('centres-tables').waitFor();
  const expected = centresByAgglomeration();
  let total = 0;
  for (const [agglo, name] of [['valenciennes-metropole', 'Valenciennes Métropole'], ['porte-du-hainaut', 'Porte du Hainaut'],
    ['lens-lievin', 'Lens-Liévin']]) {
    const section = page.getByTestId('agglo-' + agglo);
    assert.match(squash(await section.locator('h2').textContent()), new RegExp('^' + name + ' '));
    const ids = await section.getByTestId('centre-row').evaluateAll((rows) => rows.map((r) => r.dataset.centre));
    assert.deepEqual(ids.sort(), [...expected.get(agglo)].sort(), agglo);
    total += ids.length;
  }
  assert.equal(total, 19);
  assert.equal(await page.getByTestId('centre-row').count(), 19, 'no centre outside the three agglomerations');
  // The headings count the connected boxes.
  assert.match(squash(await page.getByTestId('agglo-valenciennes-metropole').locator('h2').textContent()), /13 centres — 1 connecté$/);
  assert.match(squash(await page.getByTestId('agglo-lens-lievin').locator('h2').textContent()), /2 centres — 0 connecté$/);

  const onRow = page.locator(`[data-testid="centre-row"][data-centre="${ONLINE}"]`);
  const onState = onRow.getByTestId('node-state');
  assert.equal(await onState.getAttribute('data-state'), 'connected');
  assert.match(squash(await onState.innerText()), /^Connecté node-beaujardin — depuis le \d\d\/\d\d\/\d{4} à \d\d:\d\d$/);
  assert.equal(squash(await onRow.getByTestId('node-rejected').textContent()), '0');
  assert.ok(Number(await onRow.getByTestId('node-sent').textContent()) > 0, 'changes sent by the node are counted');
  assert.equal(squash(await onRow.getByTestId('node-waiting').textContent()), '0');
  assert.match(squash(await onRow.getByTestId('node-version').textContent()), /^\d+\.\d+/);

  const offRow = page.locator(`[data-testid="centre-row"][data-centre="${OFFLINE}"]`);
  const offState = offRow.getByTestId('node-state');
  assert.equal(await offState.getAttribute('data-state'), 'active');
  assert.match(squash(await offState.innerText()), /^Vu pour la dernière fois le \d\d\/\d\d\/\d{4} à \d\d:\d\d node-3-cites$/);

  const none = page.locator(`[data-testid="centre-row"][data-centre="${NEW_CENTRE}"]`).getByTestId('node-state');
  assert.equal(await none.getAttribute('data-state'), 'none');
  assert.equal(squash(await none.textContent()), 'Pas encore de boîtier');

  // The summary line: one connected out of two installed.
  await page.waitForFunction(() => /^1 boîtier connecté sur 2 installés/.test(document.querySelector('[data-testid="hub-summary"]').textContent));
  await assertPublicity();
  await shot('02-centres');
});

step('add a box from the page: the one-time code and the exact `terril-node enrol` command, which really enrols', async () => {
  const row = page.locator(`[data-testid="centre-row"][data-centre="${NEW_CENTRE}"]`);
  await row.getByTestId('node-add').click();
  assert.equal(await page.getByTestId('nodeform-centre_id').inputValue(), NEW_CENTRE);
  await page.getByTestId('nodeform-node_id').fill('saint-saulve-box-1');
  await page.getByTestId('node-add-submit').click();
  const result = page.getByTestId('node-code-result');
  await result.waitFor({ state: 'visible' });
  const code = squash(await page.getByTestId('node-code').textContent());
  assert.ok(code.length >= 8, 'a code: ' + code);
  assert.equal(squash(await page.getByTestId('node-code-node').textContent()), 'saint-saulve-box-1');
  const command = squash(await page.getByTestId('node-command').textContent());
  // Run as the service user: `sudo terril-node enrol` would leave root's files the service cannot read.
  assert.equal(command, `sudo -u terril-node terril-node enrol --hub wss://127.0.0.1:${hub.port} --code ${code} --fingerprint ${hub.fingerprint}`);
  assert.match(squash(await page.getByTestId('node-code-expires').textContent()), /^Valable jusqu'au \d\d\/\d\d\/\d{4} \d\d:\d\d\.$/);
  assert.match(squash(await result.textContent()), /usage unique/);
  // The row says a box is waiting to be installed.
  const state = row.getByTestId('node-state');
  await page.waitForFunction((c) => {
    const cell = document.querySelector(`[data-testid="centre-row"][data-centre="${c}"] [data-testid="node-state"]`);
    return cell && cell.dataset.state === 'pending';
  }, NEW_CENTRE);
  assert.match(squash(await state.innerText()), /^Boîtier ajouté, en attente d'installation/);
  await shot('03-node-added');

  // H2: the command carries the hub's fingerprint, and a QR code of it is shown to scan.
  const qr = page.getByTestId('node-command-qr');
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image is drawn');
  // The technician's command, as shown (without `sudo -u terril-node`, in a test folder), enrols a box.
  const args = command.split(' ').slice(4);  // enrol --hub URL --code CODE --fingerprint FP
  assert.deepEqual(args.slice(0, 1), ['enrol']);
  const out = run(NODE_BIN, [...args, '--json', '--data-dir', path.join(root, 'saint-saulve-box'), '--config', '/dev/null']);
  assert.equal(JSON.parse(out.stdout).node_id, 'saint-saulve-box-1');
  // ... and only once.
  const again = run(NODE_BIN, [...args, '--json', '--data-dir', path.join(root, 'again'), '--config', '/dev/null'], { check: false });
  assert.notEqual(again.status, 0, 'a used code never works again');
  await page.getByTestId('node-code-hide').click();
  await result.waitFor({ state: 'hidden' });
});

step('report: charts of roles per agglomeration and per centre, attendance, and the exact FEDER sentence', async () => {
  await page.getByTestId('nav-reports').click();
  const chart = page.getByTestId('chart-roles-agglomeration');
  await chart.waitFor();
  assert.equal(await chart.evaluate((el) => el.tagName.toLowerCase()), 'svg');
  assert.ok(await chart.locator('rect').count() >= 3, 'bars are drawn');
  // Bar totals per agglomeration equal what the nodes wrote.
  const totals = await chart.locator('g[data-total]').evaluateAll((gs) => gs.map((g) => [g.dataset.label, Number(g.dataset.total)]));
  const count = (c) => written.filter((w) => w.centre === c).length;
  assert.deepEqual(totals, [['Valenciennes Métropole', count(ONLINE)], ['Porte du Hainaut', 0], ['Lens-Liévin', count(OFFLINE)]]);
  // One segment per role present at Beaujardin, with its count in the tooltip.
  const vm = chart.locator('g[data-label="Valenciennes Métropole"] rect');
  assert.equal(await vm.count(), 3, 'habitants, bénévoles, salariés');
  assert.match(await vm.first().locator('title').textContent(), /Habitants : 2$/);
  const byCentre = page.getByTestId('chart-roles-centre');
  assert.equal(await byCentre.locator('g[data-total]').count(), 19);
  assert.ok(await page.getByTestId('chart-attendance').locator('rect').count() >= 2);
  assert.equal(squash(await page.getByTestId('report-roles-total').textContent()),
    `Au total : ${written.length} inscriptions en cours (hors inscriptions supprimées).`);
  // The role table matches too (per agglomeration, one column per role).
  const head = await page.getByTestId('table-roles-agglomeration').locator('thead th').allTextContents();
  assert.deepEqual(head, ['Agglomération', 'Habitants', 'Bénévoles', 'Partenaires', 'Salariés', 'Administrateurs', 'Institutionnels', 'Total']);
  const lens = await page.getByTestId('table-roles-agglomeration').locator('tbody tr').nth(2).locator('th, td').allTextContents();
  const lensCounts = ROLES.map((r) => String(written.filter((w) => w.centre === OFFLINE && w.role === r).length));
  assert.deepEqual(lens, ['Lens-Liévin', ...lensCounts, String(count(OFFLINE))]);

  assert.equal(squash(await page.getByTestId('report-feder').textContent()), FEDER);
  assert.equal(squash(await page.getByTestId('report-feder').textContent()), brand().federSentence, 'the printed report\'s sentence is brand.h\'s');
  await assertPublicity();
  await shot('04-report');

  // The printed report: the operation's name shows, the menu and buttons do not.
  await page.emulateMedia({ media: 'print' });
  try {
    assert.ok(await page.getByTestId('report-operation').isVisible(), 'the operation is named on paper');
    assert.ok(await page.getByTestId('nav-centres').isHidden(), 'no menu on paper');
    assert.ok(await page.getByTestId('report-print').isHidden(), 'no buttons on paper');
    assert.ok(await page.getByTestId('report-feder').isVisible());
    await shot('05-report-print');
  } finally {
    await page.emulateMedia({ media: 'screen' });
  }
});

step('download a CSV of the registrations: BOM, « ; », one header row, every person, the FEDER line', async () => {
  await page.getByTestId('nav-registrations').click();
  await page.getByTestId('reg-row').first().waitFor();
  assert.equal(await page.getByTestId('reg-row').count(), written.length);
  await assertPublicity();
  await shot('06-registrations');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  assert.match(download.suggestedFilename(), /^terril-registrations-\d{4}-\d{2}-\d{2}\.csv$/);
  const file = path.join(root, 'export.csv');
  await download.saveAs(file);
  const bytes = fs.readFileSync(file);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  const text = bytes.subarray(3).toString('utf8');
  const lines = text.split('\r\n');
  assert.equal(lines.pop(), '', 'the file ends with CRLF');
  assert.equal(lines[0], 'id;centre_id;created_at;event_id;first_name;last_name;phone;email;role;consent_at;attended;notes;person_id;commune;qpv;genre;seat;seat_by;updated_at');
  assert.equal(lines.length, 1 + written.length + 1, 'header, one row per person, the FEDER line');
  assert.equal(lines[lines.length - 1], FEDER);
  assert.ok(lines.some((l) => l.includes('"Dupré; dit ""Le Grand"""')), 'a name with ; and " is quoted');
  assert.ok(lines.slice(1, -1).every((l) => /;\d\d\/\d\d\/\d{4} \d\d:\d\d$/.test(l)), 'French dates');

  // The export is in the journal, without any name.
  await page.getByTestId('nav-log').click();
  await page.getByTestId('log-row').first().waitFor();
  const actions = await page.getByTestId('log-action').allTextContents();
  assert.ok(actions.includes('export'), actions.join(','));
  assert.ok(!(await page.getByTestId('log-table').textContent()).includes('Wattrelos'));
  await shot('07-journal');
});

step('events and prototypes pages list what the centres wrote', async () => {
  await page.getByTestId('nav-events').click();
  await page.getByTestId('event-row').first().waitFor();
  assert.equal(await page.getByTestId('event-row').count(), 2);
  await assertPublicity();
  await shot('08-events');
  await page.getByTestId('nav-prototypes').click();
  await page.getByTestId('note-card').first().waitFor();
  assert.equal(await page.getByTestId('note-card').count(), 2);
  await assertPublicity();
  await shot('09-prototypes');
  await go('#/evenement/nouveau');
  await page.getByTestId('event-form').waitFor();
  await shot('10-event-form');
  // Phone-sized screen: the centres page.
  await go('#/centres');
  await page.getByTestId('centres-tables').waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  try { await shot('11-centres-phone'); } finally { await page.setViewportSize({ width: 1280, height: 900 }); }
});

step('footer: FEDER sentence, caption and operation name as in common/core/brand.h; the shared module loaded, no console error', async () => {
  await assertBrandAndConsole(page, consoleErrors);
});
