// Browser tests of terril-node's web UI for reception staff, in Debian's
// headless Chromium driven by playwright-core (no browser download).
//
//   TERRIL_BUILD=build-dir node --test tests/browser/node_ui.test.mjs
//
// A real terril-hub (TLS) and a real enrolled terril-node run on loopback.
// The tests run in order and share one browser page, like one receptionist's
// morning: log in, look at the events, register someone while the hub is
// down, watch the receipt change when it comes back, get a field error,
// erase a person, find a known person while cut from the hub and register
// her again, open her page and erase her, read the prototype notes. Screenshots of each main page
// go to $TERRIL_ARTIFACTS/screens (default: <repo>/artifacts/screens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Api, assertBrandAndConsole, Hub, isoInDays, Node, REPO, STAFF_PASSWORD, tempRoot, waitSynced as waitNodeSynced, watchConsole } from './cluster.mjs';

const CHROMIUM = process.env.TERRIL_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENS = path.join(process.env.TERRIL_ARTIFACTS || path.join(REPO, 'artifacts'), 'screens');
const CENTRE = 'valenciennes-beaujardin';
const FEDER = 'cofinancée par le FEDER';
const OPERATION = 'Centres sociaux connectés du bassin minier';
const T = { timeout: 120000 };

let root;
let hub;
let node;
let api;
let context;
let page;
let consoleErrors;  // what the browser's console showed as errors (watchConsole)
let failed = false;
const ev = {};

async function shot(name, opts = {}) {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, name + '.png'), fullPage: true, ...opts });
}

// The same page on a phone-sized screen (reception staff also use tablets and phones).
async function phoneShot(name) {
  await page.setViewportSize({ width: 390, height: 844 });
  try { await shot(name); } finally { await page.setViewportSize({ width: 1280, height: 900 }); }
}

// Every page carries the operation's name and the FEDER publicity sentence.
async function assertPublicity() {
  const feder = page.getByTestId('feder');
  assert.ok(await feder.isVisible(), 'FEDER sentence visible in the footer');
  const text = await feder.textContent();
  assert.match(text, new RegExp(FEDER));
  assert.match(text, new RegExp(OPERATION));
  assert.ok(await page.locator('footer').getByTestId('feder').count() === 1, 'the FEDER sentence is in the footer');
  assert.equal((await page.getByTestId('operation-name').textContent()).trim(), OPERATION);
}

async function bannerText() {
  return (await page.getByTestId('sync-banner').textContent()).replace(/\s+/g, ' ').trim();
}

async function waitBanner(re, timeout = 30000) {
  await page.waitForFunction((src) => {
    const b = document.querySelector('[data-testid="sync-banner"]');
    return b && !b.hidden && new RegExp(src).test(b.textContent.replace(/\s+/g, ' '));
  }, re.source, { timeout });
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.locator('#main h1').first().waitFor();
}

before(async () => {
  root = tempRoot();
  hub = new Hub(root);
  await hub.start();
  node = new Node(root, hub, 'node-accueil', CENTRE);
  await node.start();
  api = await new Api(node.base).login();
  // Setup through the API: an atelier and the temps fort, hosted by this centre.
  for (const [key, body] of Object.entries({
    atelier: { title: 'Atelier tablettes pour les seniors', kind: 'atelier', starts_at: isoInDays(3, 13), place: 'Salle informatique', capacity: 12 },
    tempsFort: { title: 'Temps fort du numérique', kind: 'temps-fort', starts_at: isoInDays(20, 8), ends_at: isoInDays(20, 16), place: 'Salle des fêtes', capacity: 300, description: 'La grande journée des centres connectés.' },
  })) {
    const r = await api.call('POST', '/api/v1/events', body);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ev[key] = r.body;
  }
  const note = await api.call('POST', '/api/v1/prototype-notes', {
    title: 'Borne d\'accueil sur tablette', status: 'en-test', summary: 'Une tablette à l\'entrée pour s\'inscrire seul·e.',
    tags: ['tablette', 'accueil'], body: '# Comment\n\nConstruite avec **trois** bénévoles.\n\n- test 1\n- test 2',
  });
  assert.equal(note.status, 201, JSON.stringify(note.body));
  context = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, locale: 'fr-FR',
    timezoneId: 'Europe/Paris',
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => console.log('# page error: ' + e.message));
  consoleErrors = watchConsole(page);
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (node) await node.stop();
  if (hub) await hub.stop();
  if (root) {
    if (failed || process.env.TERRIL_KEEP) console.log('# kept ' + root + ' (daemon logs there)');
    else fs.rmSync(root, { recursive: true, force: true });
  }
  console.log('# screenshots in ' + SCREENS);
});

const waitSynced = (timeoutMs) => waitNodeSynced(api, timeoutMs);

// Marks the run as failed (to keep the folder) and rethrows.
function step(name, opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  test(name, { ...T, ...opts }, async () => {
    try { await fn(); } catch (e) { if (!opts.todo) failed = true; throw e; }
  });
}

step('login: a wrong password is refused in French, the right one enters', async () => {
  await page.goto(node.base + '/');
  const pw = page.getByTestId('login-password');
  await pw.waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
  assert.equal(await page.locator('label[for="login-password"]').count(), 1, 'the password field is labelled');
  await assertPublicity();
  await shot('01-login');

  await pw.fill('pas-le-bon-mot-de-passe');
  await page.getByTestId('login-submit').click();
  const err = page.locator('#err-password');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /Mot de passe incorrect/);
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  assert.ok(await page.getByTestId('nav-events').isHidden(), 'still on the login page');
  await shot('01b-login-error');

  await pw.fill(STAFF_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-events').waitFor({ state: 'visible' });
  await waitBanner(/Connecté au hub/);
  const cookies = await context.cookies(node.base);
  assert.ok(cookies.length >= 1 && cookies.every((c) => c.httpOnly), 'session cookie is HttpOnly');
});

step('events: upcoming events with places left, the temps fort first', async () => {
  await go('#/evenements');
  const cards = page.getByTestId('event-card');
  await cards.first().waitFor();
  assert.equal(await cards.count(), 2);
  assert.match(await cards.nth(0).textContent(), /Temps fort du numérique/);
  assert.match(await cards.nth(1).textContent(), /Atelier tablettes/);
  assert.match(await cards.nth(1).getByTestId('event-capacity').textContent(), /12 places restantes sur 12/);
  assert.match(await page.getByTestId('centre-name').textContent(), /Beaujardin/);
  await assertPublicity();
  await shot('02-events');
  await phoneShot('02b-events-phone');
});

step('hub down: a registration is kept locally, « En attente d\'envoi », and the banner says offline with the pending count', async () => {
  // Everything created so far has reached the hub before it goes away.
  await waitSynced();
  await hub.stop();
  await waitBanner(/Hors ligne/);
  assert.match(await bannerText(), /rien en attente d'envoi/);

  await page.getByTestId('nav-register').click();
  const form = page.getByTestId('reg-form');
  await form.waitFor();
  await page.getByTestId('reg-event_id').selectOption(ev.atelier.id);
  await page.getByTestId('reg-first_name').fill('Camille');
  await page.getByTestId('reg-last_name').fill('Wattrelos');
  await page.getByTestId('reg-phone').fill('06 12 34 56 78');
  await page.getByTestId('reg-role').selectOption('habitant');
  await page.getByTestId('reg-consent').check();
  await assertPublicity();
  await shot('03-registration-form');
  await page.getByTestId('reg-submit').click();
  await page.locator('#flash:not([hidden])').waitFor();
  assert.match(await page.locator('#flash').textContent(), /Inscription de Camille Wattrelos enregistrée/);
  assert.equal(await page.getByTestId('reg-first_name').inputValue(), '', 'the form is ready for the next person');

  // A second person, so the list is not trivially one item.
  await page.getByTestId('reg-event_id').selectOption(ev.tempsFort.id);
  await page.getByTestId('reg-first_name').fill('Dominique');
  await page.getByTestId('reg-last_name').fill('Lefebvre');
  await page.getByTestId('reg-phone').fill('03 27 00 00 00');
  await page.getByTestId('reg-email').fill('dominique@example.org');
  await page.getByTestId('reg-role').selectOption('benevole');
  await page.getByTestId('reg-consent').check();
  await page.getByTestId('reg-submit').click();
  await page.locator('#flash', { hasText: 'Dominique Lefebvre' }).waitFor();

  await page.getByTestId('nav-registrations').click();
  const camille = page.getByTestId('registration').filter({ hasText: 'Camille Wattrelos' });
  await camille.waitFor();
  const receipt = camille.getByTestId('receipt');
  assert.equal((await receipt.textContent()).trim(), 'En attente d\'envoi');
  assert.equal(await receipt.getAttribute('data-synced'), 'false');
  await waitBanner(/Hors ligne depuis .* — 2 modifications en attente d'envoi/);
  assert.match(await bannerText(), /Vous pouvez continuer/);
  await assertPublicity();
  await shot('04-registrations-offline');
});

step('hub back on the same port: the receipt turns to « Reçu par le hub » without reloading', async () => {
  // A marker on window survives only if the page is never reloaded.
  await page.evaluate(() => { window.__terrilNoReload = 42; });
  let navigations = 0;
  const onNav = (f) => { if (f === page.mainFrame()) navigations++; };
  page.on('framenavigated', onNav);
  await hub.start();
  const receipt = page.getByTestId('registration').filter({ hasText: 'Camille Wattrelos' }).getByTestId('receipt');
  // The node retries with exponential backoff (at most a few seconds after a short outage).
  await page.waitForFunction(() => {
    const li = [...document.querySelectorAll('[data-testid="registration"]')].find((x) => x.textContent.includes('Camille Wattrelos'));
    const b = li && li.querySelector('[data-testid="receipt"]');
    return b && b.dataset.synced === 'true';
  }, null, { timeout: 90000 });
  assert.equal((await receipt.textContent()).trim(), 'Reçu par le hub');
  await waitBanner(/Connecté au hub — tout est envoyé/);
  page.off('framenavigated', onNav);
  assert.equal(await page.evaluate(() => window.__terrilNoReload), 42, 'the page was not reloaded');
  assert.equal(navigations, 0, 'no navigation of the main frame');
  const all = page.getByTestId('receipt');
  for (let i = 0; i < await all.count(); i++) assert.equal(await all.nth(i).getAttribute('data-synced'), 'true');
  await shot('05-registrations-synced');
  await phoneShot('05b-registrations-phone');
});

step('validation: a bad phone number is explained in French next to the field', async () => {
  await page.getByTestId('nav-register').click();
  await page.getByTestId('reg-form').waitFor();
  await page.getByTestId('reg-event_id').selectOption(ev.atelier.id);
  await page.getByTestId('reg-first_name').fill('Sacha');
  await page.getByTestId('reg-last_name').fill('Martin');
  await page.getByTestId('reg-phone').fill('pas un numéro');
  await page.getByTestId('reg-role').selectOption('partenaire');
  await page.getByTestId('reg-consent').check();
  await page.getByTestId('reg-submit').click();
  const err = page.locator('#err-phone');
  await err.waitFor({ state: 'visible' });
  const msg = (await err.textContent()).trim();
  assert.ok(msg.length > 5, 'an explanation is shown');
  assert.match(msg, /téléphone|numéro/i, 'the message speaks French about the phone: ' + msg);
  assert.doesNotMatch(msg, /\b(invalid|must|error|required|number)\b/i, 'no English: ' + msg);
  // Next to the field: in the same field block as the input, and announced with it.
  const sameField = await page.evaluate(() => {
    const input = document.getElementById('reg-phone');
    const e = document.getElementById('err-phone');
    return input.closest('.field') === e.closest('.field') &&
      (input.getAttribute('aria-describedby') || '').split(' ').includes('err-phone') &&
      input.getAttribute('aria-invalid') === 'true' && document.activeElement === input;
  });
  assert.ok(sameField, 'error is in the phone field block, linked by aria-describedby, and the field has focus');
  const box = await page.getByTestId('reg-phone').boundingBox();
  const errBox = await err.boundingBox();
  assert.ok(errBox.y >= box.y + box.height - 1 && errBox.y - (box.y + box.height) < 60, 'the error sits right under the field');
  // Nothing was saved.
  const list = await api.call('GET', '/api/v1/registrations?q=Sacha');
  assert.equal(list.body.items.length, 0);
  await assertPublicity();
  await shot('06-registration-validation-error');
  // Phone-sized screen: the same form must still be usable.
  await phoneShot('06b-registration-form-phone');
});

step('erasure: a confirmation that says it is final, then the name is gone from the list', async () => {
  await page.getByTestId('nav-registrations').click();
  const dominique = page.getByTestId('registration').filter({ hasText: 'Dominique Lefebvre' });
  await dominique.waitFor();
  const id = await dominique.getAttribute('data-id');

  // Cancel first: nothing happens.
  await dominique.getByTestId('reg-erase').click();
  const dlg = page.getByTestId('confirm-dialog');
  await dlg.waitFor({ state: 'visible' });
  const text = (await dlg.textContent()).replace(/\s+/g, ' ');
  assert.match(text, /définitif/i);
  assert.match(text, /hub/);
  assert.match(text, /tous les postes/);
  await shot('07-erase-confirmation');
  await page.getByTestId('confirm-cancel').click();
  await dlg.waitFor({ state: 'hidden' });
  assert.equal(await dominique.count(), 1, 'cancel keeps the person');

  await dominique.getByTestId('reg-erase').click();
  await dlg.waitFor({ state: 'visible' });
  await page.getByTestId('confirm-ok').click();
  await dlg.waitFor({ state: 'hidden' });
  await page.locator('#flash', { hasText: 'effacées' }).waitFor();
  await page.waitForFunction(() => !document.getElementById('main').textContent.includes('Lefebvre'));
  assert.equal(await page.getByTestId('registration').filter({ hasText: 'Camille Wattrelos' }).count(), 1);

  // Still gone after a reload, and gone from the API too (the personal fields are purged).
  await page.reload();
  await page.getByTestId('registration').first().waitFor();
  assert.ok(!(await page.locator('main').textContent()).includes('Lefebvre'));
  assert.ok(!(await page.locator('main').textContent()).includes('Dominique'));
  const r = await api.call('GET', '/api/v1/registrations/' + id);
  assert.ok(r.status === 404 || r.status === 410 || !JSON.stringify(r.body).includes('Lefebvre'), JSON.stringify(r));
  const search = await api.call('GET', '/api/v1/registrations?q=Lefebvre&include_deleted=true');
  assert.equal(search.body.items.length, 0);
  await assertPublicity();
  await shot('08-registrations-after-erasure');
});

step('erasure reaches every copy: once sent, the name is in no database file of the node or the hub', async () => {
  await waitSynced();
  const hits = [];
  for (const dir of [node.dir, hub.dir]) {
    for (const f of fs.readdirSync(dir)) {
      const p = path.join(dir, f);
      if (!fs.statSync(p).isFile()) continue;
      const bytes = fs.readFileSync(p);
      for (const word of ['Lefebvre', 'dominique@example.org']) if (bytes.includes(word)) hits.push(p + ': ' + word);
    }
  }
  assert.deepEqual(hits, []);
});

// Regression: a malformed field made every filled required field look missing.
step('validation: only the malformed field is flagged, the filled ones are not called missing', async () => {
  const r = await api.call('POST', '/api/v1/registrations', {
    event_id: ev.atelier.id, first_name: 'Sacha', last_name: 'Martin', phone: 'pas un numéro', role: 'partenaire', consent: true,
  });
  assert.equal(r.status, 400);
  assert.deepEqual((r.body.errors || [r.body]).map((e) => e.field), ['phone']);
});

// Issue 14: reception finds the people the centre already knows, with the
// node cut from the hub (its own API, offline).
step('people: cut from the hub, « Martine Lefèvre » is registered as a new person with commune, QPV and genre', async () => {
  await waitSynced();
  await hub.stop();
  await waitBanner(/Hors ligne/);
  await page.getByTestId('nav-register').click();
  await page.getByTestId('reg-form').waitFor();
  assert.equal((await page.getByTestId('person-new').textContent()).trim(), 'Nouvelle personne');
  for (const [id, text] of [['commune', 'Commune de résidence'], ['qpv', 'Habite un quartier prioritaire (QPV)'], ['genre', 'Genre']]) {
    assert.match(await page.locator('label[for="reg-' + id + '"]').textContent(), new RegExp(text.replace(/[()]/g, '\\$&')));
  }
  assert.deepEqual(await page.getByTestId('reg-qpv').locator('option').allTextContents(), ['Oui', 'Non', 'Je ne sais pas']);
  assert.deepEqual(await page.getByTestId('reg-genre').locator('option').allTextContents(), ['Femme', 'Homme', 'Autre', 'Non renseigné']);
  assert.equal(await page.getByTestId('reg-qpv').inputValue(), 'inconnu');
  assert.equal(await page.getByTestId('reg-genre').inputValue(), 'non-renseigne');
  await page.getByTestId('reg-event_id').selectOption(ev.atelier.id);
  await page.getByTestId('reg-first_name').fill('Martine');
  await page.getByTestId('reg-last_name').fill('Lefèvre');
  await page.getByTestId('reg-phone').fill('06 45 67 89 10');
  await page.getByTestId('reg-role').selectOption('habitant');
  await page.getByTestId('reg-commune').fill('Denain');
  await page.getByTestId('reg-qpv').selectOption('oui');
  await page.getByTestId('reg-genre').selectOption('femme');
  await page.getByTestId('reg-consent').check();
  await page.getByTestId('reg-submit').click();
  await page.locator('#flash', { hasText: 'Martine Lefèvre' }).waitFor();
  const r = await api.call('GET', '/api/v1/registrations?q=Martine');
  assert.equal(r.body.items.length, 1);
  const m = r.body.items[0];
  assert.deepEqual([m.commune, m.qpv, m.genre], ['Denain', 'oui', 'femme']);
  assert.match(m.person_id, /^[0-9a-f-]{36}$/);
  assert.equal(await page.getByTestId('reg-commune').inputValue(), '', 'the form is ready for the next person');
  assert.equal(await page.getByTestId('reg-qpv').inputValue(), 'inconnu');
});

step('people: typing « lef » suggests her, arrow keys and Enter fill the form, she is registered again with her person_id', async () => {
  await page.getByTestId('reg-last_name').pressSequentially('lef');
  const suggestion = page.getByTestId('person-suggestion').filter({ hasText: 'Martine LEFÈVRE' });
  await suggestion.waitFor();
  const text = (await suggestion.textContent()).trim();
  assert.equal(text, 'Martine LEFÈVRE · 06 45 67 89 10 · habitant·e · 1 inscription · dernière : Atelier tablettes pour les seniors');
  assert.equal(await page.getByTestId('reg-last_name').getAttribute('aria-expanded'), 'true');
  await shot('12-person-suggestions');
  // Escape closes, typing again reopens.
  await page.keyboard.press('Escape');
  await page.getByTestId('person-suggestions').waitFor({ state: 'hidden' });
  await page.getByTestId('reg-last_name').pressSequentially('e');
  await suggestion.waitFor();
  await page.keyboard.press('ArrowDown');
  assert.equal(await suggestion.getAttribute('aria-selected'), 'true');
  await page.keyboard.press('Enter');
  await page.getByTestId('person-suggestions').waitFor({ state: 'hidden' });
  const chip = page.getByTestId('person-chip');
  await chip.waitFor();
  assert.match(await chip.textContent(), /Personne connue : Martine Lefèvre/);
  assert.equal(await page.getByTestId('person-new').count(), 0, 'not shown as a new person');
  const values = {};
  for (const k of ['first_name', 'last_name', 'phone', 'role', 'commune', 'qpv', 'genre']) values[k] = await page.getByTestId('reg-' + k).inputValue();
  assert.deepEqual(values, { first_name: 'Martine', last_name: 'Lefèvre', phone: '06 45 67 89 10', role: 'habitant', commune: 'Denain', qpv: 'oui', genre: 'femme' });
  await shot('13-person-known');
  await page.getByTestId('reg-event_id').selectOption(ev.tempsFort.id);
  await page.getByTestId('reg-consent').check();
  await page.getByTestId('reg-submit').click();
  await page.locator('#flash', { hasText: 'Martine Lefèvre' }).waitFor();
  await page.getByTestId('person-new').waitFor();
  const r = await api.call('GET', '/api/v1/registrations?q=Lef%C3%A8vre');
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.items[0].person_id, r.body.items[1].person_id, 'both registrations share the person_id');
  assert.deepEqual(r.body.items.map((x) => x.event_id).sort(), [ev.atelier.id, ev.tempsFort.id].sort());
});

step('people: a phone fragment finds her too; removing the chip makes it a new person again', async () => {
  await page.getByTestId('reg-phone').pressSequentially('45 67');
  const suggestion = page.getByTestId('person-suggestion').filter({ hasText: 'Martine LEFÈVRE' });
  await suggestion.waitFor();
  assert.match(await suggestion.textContent(), /2 inscriptions · dernière : Temps fort du numérique/);
  await suggestion.click();
  await page.getByTestId('person-chip').waitFor();
  assert.equal(await page.getByTestId('reg-first_name').inputValue(), 'Martine');
  await page.getByTestId('person-chip-remove').click();
  await page.getByTestId('person-new').waitFor();
  assert.equal(await page.getByTestId('person-chip').count(), 0);
  for (const k of ['first_name', 'last_name', 'phone', 'commune']) assert.equal(await page.getByTestId('reg-' + k).inputValue(), '', k + ' emptied');
});

step('people: the list sorts by name or date, shows the new fields, and opens her page (2 inscriptions · 1 présence)', async () => {
  // Created last, named last: first by date, last by name.
  const z = await api.call('POST', '/api/v1/registrations', {
    event_id: ev.atelier.id, first_name: 'Zoé', last_name: 'Zimmer', phone: '03 27 11 22 33', role: 'benevole', consent: true,
  });
  assert.equal(z.status, 201, JSON.stringify(z.body));
  const names = async () => (await page.getByTestId('registration').locator('h2').allTextContents()).map((s) => s.trim());
  await go('#/inscriptions');
  await page.getByTestId('registration').first().waitFor();
  assert.equal(await page.getByTestId('reg-sort-name').getAttribute('aria-current'), 'true');
  assert.deepEqual(await names(), ['Martine Lefèvre', 'Martine Lefèvre', 'Camille Wattrelos', 'Zoé Zimmer']);
  await page.getByTestId('reg-sort-date').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="reg-sort-date"]')?.getAttribute('aria-current') === 'true' &&
    document.querySelectorAll('[data-testid="registration"]').length === 4);
  assert.deepEqual(await names(), ['Zoé Zimmer', 'Martine Lefèvre', 'Martine Lefèvre', 'Camille Wattrelos']);
  const martine = page.getByTestId('registration').filter({ hasText: 'Martine Lefèvre' });
  assert.equal((await martine.first().getByTestId('reg-extras').textContent()).trim(), 'Denain · QPV : oui · Femme');
  // Editing a registration shows and saves the new fields too.
  const zoe = page.getByTestId('registration').filter({ hasText: 'Zoé Zimmer' });
  assert.equal(await zoe.getByTestId('reg-extras').count(), 0, 'nothing to show when unknown');
  await zoe.getByTestId('reg-edit').click();
  await page.getByTestId('reg-person-link').waitFor();
  assert.equal(await page.getByTestId('reg-qpv').inputValue(), 'inconnu');
  await page.getByTestId('reg-commune').fill('Marly');
  await page.getByTestId('reg-genre').selectOption('autre');
  await page.getByTestId('reg-submit').click();
  await page.getByTestId('reg-sort').waitFor();
  const edited = await api.call('GET', '/api/v1/registrations/' + z.body.id);
  assert.deepEqual([edited.body.commune, edited.body.qpv, edited.body.genre], ['Marly', 'inconnu', 'autre']);
  await go('#/inscriptions?tri=date');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="registration"]').length === 4);
  assert.equal((await zoe.getByTestId('reg-extras').textContent()).trim(), 'Marly · Autre');
  await martine.last().getByTestId('attended').check();
  await page.locator('#flash', { hasText: 'présent' }).waitFor();
  await martine.first().getByTestId('reg-person').click();
  await page.getByTestId('person-card').waitFor();
  assert.equal((await page.getByTestId('page-title').textContent()).trim(), 'Martine Lefèvre');
  assert.equal((await page.getByTestId('person-totals').textContent()).trim(), '2 inscriptions · 1 présence');
  const regs = page.getByTestId('person-registration');
  assert.equal(await regs.count(), 2);
  assert.deepEqual((await regs.locator('h2').allTextContents()).sort(), ['Atelier tablettes pour les seniors', 'Temps fort du numérique']);
  assert.deepEqual((await page.getByTestId('person-attended').allTextContents()).sort(), ['Non pointé·e', 'Présent·e']);
  assert.equal((await page.getByTestId('person-extras').textContent()).trim(), 'Denain · QPV : oui · Femme');
  await shot('14-person-page');
  await phoneShot('14b-person-page-phone');
  // « L'inscrire à un autre événement »: the form, already filled with her.
  const personHash = await page.evaluate(() => location.hash);
  await page.getByTestId('person-register').click();
  await page.getByTestId('person-chip').waitFor();
  assert.match(await page.getByTestId('person-chip').textContent(), /Personne connue : Martine Lefèvre/);
  assert.equal(await page.getByTestId('reg-commune').inputValue(), 'Denain');
  await go(personHash);
  await page.getByTestId('person-card').waitFor();
});

step('people: « Effacer cette personne » asks the same confirmation, then both registrations are gone', async () => {
  const personId = (await api.call('GET', '/api/v1/registrations?q=Martine')).body.items[0].person_id;
  await page.getByTestId('person-erase').click();
  const dlg = page.getByTestId('confirm-dialog');
  await dlg.waitFor({ state: 'visible' });
  const text = (await dlg.textContent()).replace(/\s+/g, ' ');
  assert.match(text, /Effacer définitivement les données/);
  assert.match(text, /ses 2 inscriptions/);
  assert.match(text, /définitif/i);
  assert.match(text, /tous les postes/);
  await page.getByTestId('confirm-cancel').click();
  await dlg.waitFor({ state: 'hidden' });
  assert.equal(await page.getByTestId('person-card').count(), 1, 'cancel keeps her');
  await page.getByTestId('person-erase').click();
  await dlg.waitFor({ state: 'visible' });
  await page.getByTestId('confirm-ok').click();
  await page.locator('#flash', { hasText: 'effacées (2 inscriptions)' }).waitFor();
  await page.getByTestId('registration').first().waitFor();
  assert.ok(!(await page.locator('main').textContent()).includes('Lefèvre'));
  assert.equal((await api.call('GET', '/api/v1/registrations?q=Martine&include_deleted=true')).body.items.length, 0);
  assert.equal((await api.call('GET', '/api/v1/people?q=lef')).body.items.length, 0);
  assert.equal((await api.call('GET', '/api/v1/people/' + personId)).status, 404);
  await hub.start();
  await waitSynced();
});

step('prototype notes: the list and a note with its Markdown rendered safely', async () => {
  await page.getByTestId('nav-notes').click();
  const card = page.getByTestId('note-card').first();
  await card.waitFor();
  assert.match(await card.textContent(), /Borne d'accueil sur tablette/);
  assert.match(await card.textContent(), /En test/);
  await assertPublicity();
  await shot('09-notes');
  await card.locator('a').first().click();
  const body = page.getByTestId('note-body');
  await body.waitFor();
  assert.equal(await body.locator('strong', { hasText: 'trois' }).count(), 1);
  assert.equal(await body.locator('li').count(), 2);
  await shot('10-note');

  // A note written in the UI: markup in the body is shown as text, not run.
  await go('#/prototypes/nouvelle');
  await page.getByTestId('note-title').fill('Atelier <b>robots</b>');
  await page.getByTestId('note-body').fill('Essai <img src=x onerror="window.__xss=1"> et **gras**');
  await page.getByTestId('note-preview').locator('strong').waitFor();
  await shot('11-note-form');
  await page.getByTestId('note-submit').click();
  await page.getByTestId('note-body').locator('strong').waitFor();
  assert.equal(await page.locator('main img').count(), 0, 'no <img> injected from the body');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.match(await page.locator('main h1').textContent(), /Atelier <b>robots<\/b>/);
});

step('the FEDER sentence and the operation name are on every page', async () => {
  for (const hash of ['#/evenements', '#/inscription', '#/inscriptions', '#/prototypes', '#/evenement']) {
    await go(hash);
    await assertPublicity();
  }
  await page.getByTestId('logout').click();
  await page.getByTestId('login-password').waitFor();
  await assertPublicity();
});

step('footer: FEDER sentence, caption and operation name as in common/core/brand.h; the shared module loaded, no console error', async () => {
  await assertBrandAndConsole(page, consoleErrors);
});
