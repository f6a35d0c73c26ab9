// Browser test of the seats (issue 15) in both web UIs, in Debian's headless
// Chromium driven by playwright-core (no browser download).
//
//   TERRIL_BUILD=build-dir node --test tests/browser/seats_ui.test.mjs
//
// A real terril-hub (TLS) and a real enrolled terril-node whose centre hosts
// an event of 2 places. At reception: the card says the seats held here, two
// people get « Confirmée », the form says « liste d'attente » before the
// third is submitted, she gets « Liste d'attente »; a confirmed one deleted
// through the API (not the page) promotes her in the page without reload;
// the host's « Places par centre » refuses a gift it cannot make (the
// daemon's French message next to the form), then gives 1 place to another
// centre and the ledger shows it. At the hub: the event's ledger (the same
// shared component), the request wording, a request and its cancellation,
// and the registrations' « Place » column. Screenshots go to
// $TERRIL_ARTIFACTS/screens (default: <repo>/artifacts/screens), seats-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  ADMIN_PASSWORD, Api, assertBrandAndConsole, cleanUp, Hub, isoInDays, launchBrowser, Node, REPO, STAFF_PASSWORD, tempRoot,
  waitSynced, watchConsole,
} from './cluster.mjs';

const SCREENS = path.join(process.env.TERRIL_ARTIFACTS || path.join(REPO, 'artifacts'), 'screens');
const HOST = 'valenciennes-beaujardin';   // Maison de quartier Beaujardin: hosts the event
const OTHER = 'denain-tonini';            // Maison de quartier Solange Tonini: gets a place
const OTHER_NAME = 'Maison de quartier Solange Tonini';
const T = { timeout: 120000 };

let root;
let hub;
let node;
let api;
let context;
let page;        // reception, at the node
let hubPage;     // the admin, at the hub
let consoleErrors;
let hubErrors;
let failed = false;
let ev;
const people = {};  // first name -> registration (as the API answered)

const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();
// What seats.js prints for seat_at (Paris time, « 3 déc. »).
const dayMonth = (iso) => new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: 'numeric', month: 'short' }).format(new Date(iso));

async function shot(p, name) {
  fs.mkdirSync(SCREENS, { recursive: true });
  await p.screenshot({ path: path.join(SCREENS, 'seats-' + name + '.png'), fullPage: true });
}

async function go(p, hash) {
  await p.evaluate((h) => { location.hash = h; }, hash);
  await p.locator('#main h1').first().waitFor();
}

// The seat badge of the registration line of `first` in the list shown.
function seatOf(first) {
  return page.getByTestId('registration').filter({ hasText: first + ' Seats' }).getByTestId('seat');
}

function step(name, fn) {
  test(name, T, async () => {
    try { await fn(); } catch (e) { failed = true; throw e; }
  });
}

before(async () => {
  root = tempRoot();
  hub = new Hub(root);
  await hub.start();
  node = new Node(root, hub, 'node-beaujardin', HOST);
  await node.start();
  api = await new Api(node.base).login();
  const r = await api.call('POST', '/api/v1/events', {
    title: 'Sortie au Louvre-Lens', kind: 'atelier', starts_at: isoInDays(6, 8), place: 'Départ devant le centre', capacity: 2,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  ev = r.body;
  ({ context, page } = await launchBrowser(chromium, root, { ignoreHTTPSErrors: true }));
  consoleErrors = watchConsole(page);
});

after(async () => {
  await cleanUp({ context, daemons: [node, hub], root, failed });
  console.log('# screenshots in ' + SCREENS);
});

step('reception: the event card says the seats held here and the event\'s places', async () => {
  await page.goto(node.base + '/');
  await page.getByTestId('login-password').fill(STAFF_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-events').waitFor({ state: 'visible' });
  const card = page.locator(`[data-testid="event-card"][data-id="${ev.id}"]`);
  await card.waitFor();
  assert.equal(squash(await card.getByTestId('event-seats-here').textContent()),
    'Places tenues ici : 2 · confirmées : 0 · libres : 2 · en attente : 0');
  assert.equal(squash(await card.getByTestId('event-capacity').textContent()),
    'Événement : 2 places restantes sur 2 · liste d\'attente vide');
  assert.equal(await card.getByTestId('event-seats-link').count(), 1, 'the host reaches « Places par centre » from the card');
  await shot(page, '01-event-card');
});

async function fillPerson(first) {
  await page.getByTestId('reg-first_name').fill(first);
  await page.getByTestId('reg-last_name').fill('Seats');
  await page.getByTestId('reg-phone').fill('06 00 00 00 0' + Object.keys(people).length);
  await page.getByTestId('reg-role').selectOption('habitant');
  await page.getByTestId('reg-consent').check();
}

async function submitPerson(first, seatWords) {
  await page.getByTestId('reg-submit').click();
  await page.locator('#flash', { hasText: 'Inscription de ' + first + ' Seats' }).waitFor();
  assert.match(await page.locator('#flash').textContent(), seatWords);
  const list = await api.call('GET', '/api/v1/registrations?event_id=' + encodeURIComponent(ev.id) + '&q=' + encodeURIComponent(first));
  people[first] = list.body.items.find((x) => x.first_name === first);
  assert.ok(people[first], first + ' registered');
}

async function forecastText(re) {
  const note = page.getByTestId('reg-seats');
  await page.waitForFunction((src) => {
    const el = document.querySelector('[data-testid="reg-seats"]');
    return el && !el.hidden && new RegExp(src).test(el.textContent);
  }, re.source);
  return squash(await note.textContent());
}

step('reception: the form says what the registration gets before submitting; two confirmed, the third waits', async () => {
  await page.getByTestId('nav-register').click();
  await page.getByTestId('reg-form').waitFor();
  await page.getByTestId('reg-event_id').selectOption(ev.id);
  assert.equal(await forecastText(/garanties/), '2 places garanties ici · 0 en liste d\'attente');
  await fillPerson('Alice');
  await submitPerson('Alice', /Place confirmée\./);
  assert.equal(await forecastText(/1 place garantie/), '1 place garantie ici · 0 en liste d\'attente');
  await fillPerson('Bruno');
  await submitPerson('Bruno', /Place confirmée\./);
  // No seat left here: said before the third one is submitted.
  await fillPerson('Chloé');
  const text = await forecastText(/liste d'attente/);
  assert.equal(text, 'Plus de place garantie ici : cette inscription ira en liste d\'attente (personne n\'est encore en attente).');
  assert.equal(await page.getByTestId('reg-seats').getAttribute('data-kind'), 'warn');
  await shot(page, '02-form-waiting-list');
  await submitPerson('Chloé', /Inscrite en liste d'attente\./);
  assert.equal(people.Alice.seat, 'confirmee');
  assert.equal(people.Chloé.seat, 'attente');
  assert.equal(await forecastText(/1 personne déjà/),
    'Plus de place garantie ici : cette inscription ira en liste d\'attente (1 personne déjà en attente).');
});

step('reception: the list shows « Confirmée le … » and « Liste d\'attente »; a deletion promotes without reload', async () => {
  await go(page, '#/inscriptions?evenement=' + encodeURIComponent(ev.id));
  await page.getByTestId('registration').first().waitFor();
  assert.equal(await page.getByTestId('registration').count(), 3);
  assert.equal(squash(await seatOf('Alice').textContent()), 'Confirmée le ' + dayMonth(people.Alice.seat_at));
  assert.equal(squash(await seatOf('Bruno').textContent()), 'Confirmée le ' + dayMonth(people.Bruno.seat_at));
  assert.equal(squash(await seatOf('Chloé').textContent()), 'Liste d\'attente');
  await shot(page, '03-list');

  // A marker on window survives only if the page is never reloaded.
  await page.evaluate(() => { window.__terrilNoReload = 15; });
  let navigations = 0;
  const onNav = (f) => { if (f === page.mainFrame()) navigations++; };
  page.on('framenavigated', onNav);
  await page.getByTestId('reg-search').fill('tapé');  // typed, not submitted: a refresh keeps it
  const del = await api.call('DELETE', '/api/v1/registrations/' + encodeURIComponent(people.Alice.id));
  assert.ok(del.status === 200 || del.status === 204, JSON.stringify(del.body));
  await page.waitForFunction(() => {
    const li = [...document.querySelectorAll('[data-testid="registration"]')].find((x) => x.textContent.includes('Chloé Seats'));
    const b = li && li.querySelector('[data-testid="seat"]');
    return b && b.dataset.seat === 'confirmee';
  }, null, { timeout: 30000 });
  page.off('framenavigated', onNav);
  const chloe = (await api.call('GET', '/api/v1/registrations/' + encodeURIComponent(people.Chloé.id))).body;
  assert.equal(chloe.seat, 'confirmee', 'the API agrees');
  assert.equal(squash(await seatOf('Chloé').textContent()), 'Confirmée le ' + dayMonth(chloe.seat_at));
  assert.equal(navigations, 0, 'no navigation');
  assert.equal(await page.evaluate(() => window.__terrilNoReload), 15, 'the page was not reloaded');
  assert.equal(await page.getByTestId('reg-search').inputValue(), 'tapé', 'what staff typed is kept');
  await shot(page, '04-promoted');
});

step('reception: the event card\'s counts follow a new registration in place', async () => {
  await go(page, '#/evenements');
  const here = page.locator(`[data-testid="event-card"][data-id="${ev.id}"]`).getByTestId('event-seats-here');
  await here.waitFor();
  assert.equal(squash(await here.textContent()), 'Places tenues ici : 2 · confirmées : 2 · libres : 0 · en attente : 0');
  const r = await api.call('POST', '/api/v1/registrations', {
    event_id: ev.id, first_name: 'Denis', last_name: 'Seats', phone: '06 00 00 00 09', role: 'habitant', consent: true,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.seat, 'attente');
  people.Denis = r.body;
  await page.waitForFunction((id) => {
    const el = document.querySelector(`[data-testid="event-card"][data-id="${id}"] [data-testid="event-seats-here"]`);
    return el && /en attente : 1$/.test(el.textContent.trim());
  }, ev.id);
  assert.match(squash(await page.locator(`[data-testid="event-card"][data-id="${ev.id}"]`).getByTestId('event-capacity').textContent()),
    /^Complet : 2 places confirmées sur 2 · 1 personne en liste d'attente$/);
});

step('reception: « Places par centre » shows the refusal in French, then gives 1 place and the ledger shows it', async () => {
  await page.locator(`[data-testid="event-card"][data-id="${ev.id}"]`).getByTestId('event-seats-link').click();
  const panel = page.getByTestId('seats-panel');
  await panel.waitFor();
  const holder = (c) => panel.locator(`[data-testid="seats-holder"][data-centre="${c}"]`);
  assert.deepEqual((await holder(HOST).locator('td').allTextContents()).map(squash), ['2', '2', '0', '1', '—']);
  assert.equal(await panel.getByTestId('seats-centre').locator(`option[value="${HOST}"]`).count(), 0, 'the host is not offered');
  await panel.getByTestId('seats-centre').selectOption(OTHER);
  await panel.getByTestId('seats-count').fill('1');
  await panel.getByTestId('seats-give').click();
  const err = panel.getByTestId('seats-error');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /Plus aucune place libre ici/);
  await shot(page, '05-panel-refused');

  // Two more places (the event form's capacity, here through the API): Denis
  // is promoted, one is left; the ledger follows in place.
  const patched = await api.call('PATCH', '/api/v1/events/' + encodeURIComponent(ev.id), { capacity: 4 });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await page.waitForFunction((c) => {
    const tds = document.querySelectorAll(`[data-testid="seats-holder"][data-centre="${c}"] td`);
    return tds.length && tds[0].textContent === '4' && tds[2].textContent === '1';
  }, HOST);
  assert.equal(await panel.getByTestId('seats-centre').inputValue(), OTHER, 'the form kept its choice');
  await panel.getByTestId('seats-give').click();
  await page.locator('#flash', { hasText: '1 place donnée à ' + OTHER_NAME }).waitFor();
  assert.ok(await err.isHidden(), 'the error is gone');
  assert.deepEqual((await holder(OTHER).locator('td').allTextContents()).map(squash), ['1', '0', '1', '0', '—']);
  assert.deepEqual((await holder(HOST).locator('td').allTextContents()).map(squash), ['3', '3', '0', '0', '—']);
  assert.equal(squash(await holder(OTHER).getByTestId('seats-centre-name').textContent()), OTHER_NAME);
  assert.equal(squash(await panel.getByTestId('seats-totals').textContent()), 'Places : 4 · confirmées : 3 · libres : 1 · en liste d\'attente : 0');
  await shot(page, '06-panel-given');
  await assertBrandAndConsole(page, consoleErrors);
});

step('hub: the event\'s ledger, a request in the hub\'s words and its cancellation, the « Place » column', async () => {
  await waitSynced(api);
  hubPage = await context.newPage();
  hubPage.setDefaultTimeout(15000);
  hubErrors = watchConsole(hubPage);
  await hubPage.goto(`https://127.0.0.1:${hub.port}/`);
  await hubPage.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await hubPage.getByTestId('login-submit').click();
  await hubPage.getByTestId('nav-centres').waitFor({ state: 'visible' });
  await go(hubPage, '#/evenements');
  const details = hubPage.locator(`[data-testid="event-seats"][data-id="${ev.id}"]`);
  await details.waitFor();
  assert.match(squash(await details.getByTestId('event-seats-summary').textContent()), /^Places par centre — 2 centres · 1 place libre · liste d'attente vide$/);
  await details.getByTestId('event-seats-summary').click();
  const panel = details.getByTestId('seats-panel');
  await panel.getByTestId('seats-table').waitFor();
  const holder = (c) => panel.locator(`[data-testid="seats-holder"][data-centre="${c}"]`);
  assert.deepEqual((await holder(HOST).locator('td').allTextContents()).map(squash), ['3', '3', '0', '0', '—']);
  assert.deepEqual((await holder(OTHER).locator('td').allTextContents()).map(squash), ['1', '0', '1', '0', '—']);
  assert.equal(squash(await panel.getByTestId('seats-give').textContent()), 'Demander au centre organisateur de donner des places');
  assert.equal(squash(await panel.getByTestId('seats-take-back').textContent()), 'Demander la restitution de places');

  await panel.getByTestId('seats-centre').selectOption(OTHER);
  await panel.getByTestId('seats-count').fill('1');
  await panel.getByTestId('seats-take-back').click();
  await hubPage.locator('#flash', { hasText: 'Demande envoyée' }).waitFor();
  await hubPage.waitForFunction((c) => {
    const td = document.querySelector(`[data-testid="seats-holder"][data-centre="${c}"] [data-testid="seats-pending"]`);
    return td && td.textContent === '1 à rendre';
  }, OTHER);
  await shot(hubPage, '07-hub-request');
  await panel.getByTestId('seats-cancel').click();
  await hubPage.locator('#flash', { hasText: 'Demandes en cours annulées pour ' + OTHER_NAME }).waitFor();
  assert.equal(squash(await holder(OTHER).getByTestId('seats-pending').textContent()), '—');

  await go(hubPage, '#/inscriptions?event_id=' + encodeURIComponent(ev.id));
  await hubPage.getByTestId('reg-row').first().waitFor();
  const seatIn = async (first) => squash(await hubPage.getByTestId('reg-row').filter({ hasText: first + ' Seats' }).getByTestId('reg-seat').textContent());
  assert.match(await seatIn('Bruno'), /^Confirmée le /);
  assert.match(await seatIn('Chloé'), /^Confirmée le /);
  assert.match(await seatIn('Denis'), /^Confirmée le /);
  await shot(hubPage, '08-hub-registrations');
  await assertBrandAndConsole(hubPage, hubErrors);
});
