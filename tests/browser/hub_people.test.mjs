// Browser tests of the hub dashboard's people views (issue 14, items 3 and
// 4), in Debian's headless Chromium driven by playwright-core:
//
//   TERRIL_BUILD=build-dir node --test tests/browser/hub_people.test.mjs
//
// A real terril-hub (TLS) and two real enrolled terril-nodes of two centres
// in two agglomerations. Each centre registers, through its node's API,
// Martine Lefèvre (same name and phone: the same person) and Jean Dupont
// (same name, other phones: two people), plus one person of its own. The
// tests run in order on one page, like one admin's session: the possible
// duplicates appear in « Doublons possibles » with their reasons and the
// menu's badge; « Même personne » makes the indicators count one person
// fewer; « Personnes différentes » (undone once, then answered again) never
// comes back after a reload; the indicators' period, charts and CSV; the
// activity report's people counts; commune, QPV and genre in Inscriptions.
// Screenshots go to $TERRIL_ARTIFACTS/screens/hub-people-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ADMIN_PASSWORD, Api, assertBrandAndConsole, brand, Hub, isoInDays, Node, REPO, sleep, tempRoot, watchConsole } from './cluster.mjs';

const CHROMIUM = process.env.TERRIL_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];
const SCREENS = path.join(process.env.TERRIL_ARTIFACTS || path.join(REPO, 'artifacts'), 'screens');
const DENAIN = 'denain-tonini';      // Porte du Hainaut
const MARLY = 'marly-briquette';     // Valenciennes Métropole
const T = { timeout: 120000 };

let root;
let hub;
let denain;
let marly;
let context;
let page;
let consoleErrors;
let base;
let failed = false;

const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();

async function shot(name) {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, 'hub-people-' + name + '.png'), fullPage: true });
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.getByTestId('page-title').waitFor();
}

// One event at the node's centre and its registrations; returns the API and
// the created registrations by last name + first name.
async function register(node, title, kind, people) {
  const api = await new Api(node.base).login();
  const ev = await api.call('POST', '/api/v1/events', { title, kind, starts_at: isoInDays(5, 13), place: 'Salle', capacity: 20 });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  const made = {};
  for (const p of people) {
    const r = await api.call('POST', '/api/v1/registrations', { event_id: ev.body.id, role: 'habitant', consent: true, ...p });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    made[p.first_name + ' ' + p.last_name] = r.body;
  }
  return { api, made };
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

// A JSON GET at the hub with the page's session.
const hubGet = (p) => page.evaluate(async (url) => (await fetch(url, { headers: { Accept: 'application/json' } })).json(), p);

before(async () => {
  root = tempRoot();
  hub = new Hub(root);
  await hub.start();
  base = `https://127.0.0.1:${hub.port}`;
  denain = new Node(root, hub, 'node-denain', DENAIN);
  marly = new Node(root, hub, 'node-marly', MARLY);
  await denain.start();
  await marly.start();
  const d = await register(denain, 'Atelier tablette', 'atelier', [
    { first_name: 'Martine', last_name: 'Lefèvre', phone: '06 11 23 45 67', commune: 'Denain', qpv: 'oui', genre: 'femme' },
    { first_name: 'Jean', last_name: 'Dupont', phone: '06 70 12 34 56', commune: 'Denain', qpv: 'non', genre: 'homme' },
    { first_name: 'Sophie', last_name: 'Caron', phone: '06 31 41 59 26', genre: 'femme' },
  ]);
  const m = await register(marly, 'Temps fort numérique', 'temps-fort', [
    { first_name: 'MARTINE', last_name: 'LEFEVRE', phone: '0611234567', commune: 'Denain' },
    { first_name: 'Jean', last_name: 'Dupont', phone: '06 80 98 76 54', commune: 'Marly', genre: 'homme' },
  ]);
  // Two of the five came (the host's check-in): a presence rate of 40 %.
  for (const who of ['Martine Lefèvre', 'Sophie Caron']) {
    const r = await d.api.call('PATCH', '/api/v1/registrations/' + d.made[who].id, { attended: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await waitDrained(d.api);
  await waitDrained(m.api);
  context = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, locale: 'fr-FR',
    timezoneId: 'Europe/Paris', ignoreHTTPSErrors: true,
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => { console.log('# page error: ' + e.message); });
  consoleErrors = watchConsole(page);
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (denain) await denain.stop();
  if (marly) await marly.stop();
  if (hub) await hub.stop();
  if (root) {
    if (failed || process.env.TERRIL_KEEP) console.log('# kept ' + root + ' (daemon logs there)');
    else fs.rmSync(root, { recursive: true, force: true });
  }
});

function step(name, fn) {
  test(name, T, async () => {
    try { await fn(); } catch (e) { failed = true; throw e; }
  });
}

const pairOf = (name) => page.getByTestId('dup-pair').filter({ has: page.getByTestId('dup-person-a').getByTestId('dup-first-name').getByText(name, { exact: false }) });

step('login; the hub found both possible duplicates as the batches arrived', async () => {
  await page.goto(base + '/');
  await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-centres').waitFor({ state: 'visible' });
  const deadline = Date.now() + 30000;
  for (;;) {
    const q = await hubGet('/api/v1/duplicates?status=open');
    if (q.items.length === 2) break;
    assert.ok(Date.now() < deadline, 'two open pairs at the hub: ' + JSON.stringify(q));
    await sleep(200);
  }
});

step('indicators before any answer: 5 people, 5 registrations, 40 % present, charts by every dimension', async () => {
  await page.getByTestId('nav-indicators').click();
  await page.getByTestId('ind-headline').waitFor();
  assert.equal(squash(await page.getByTestId('ind-headline').textContent()), '5 personnes distinctes · 5 inscriptions · taux de présence 40 %');
  assert.equal(squash(await page.getByTestId('ind-present').textContent()), '2 personnes présentes au moins une fois, 2 présences au total.');
  for (const key of ['role', 'agglomeration', 'centre', 'kind', 'qpv', 'genre', 'compare']) {
    const chart = page.getByTestId('chart-ind-' + key);
    assert.equal(await chart.evaluate((el) => el.tagName.toLowerCase()), 'svg', key);
  }
  const totals = async (key) => page.getByTestId('chart-ind-' + key).locator('g[data-total]')
    .evaluateAll((gs) => Object.fromEntries(gs.map((g) => [g.dataset.label, Number(g.dataset.total)])));
  assert.deepEqual(await totals('agglomeration'), { 'Valenciennes Métropole': 2, 'Porte du Hainaut': 3, 'Lens-Liévin': 0 });
  assert.deepEqual(await totals('kind'), { 'Temps fort': 2, Atelier: 3, 'Réunion': 0 });
  assert.deepEqual(await totals('qpv'), { 'Habite un QPV': 1, 'N\'habite pas un QPV': 1, 'QPV : inconnu': 3 });
  assert.deepEqual(await totals('genre'), { Femme: 2, Homme: 2, Autre: 0, 'Non renseigné': 1 });
  assert.deepEqual(await totals('compare'), { Inscriptions: 5, 'Personnes distinctes': 5, 'Présences': 2, 'Personnes présentes': 2 });
  const centres = await totals('centre');
  assert.equal(Object.keys(centres).length, 19, 'every centre has its bar');
  assert.equal(centres['Maison de quartier Solange Tonini'], 3);
  assert.equal(centres['Centre social et culturel de la Briquette'], 2);
  await shot('01-indicators-before');
});

step('« Doublons possibles »: the badge, both pairs side by side with their reasons', async () => {
  await page.waitForFunction(() => document.querySelector('[data-testid="dup-badge"]').textContent === '2', null, { timeout: 15000 });
  assert.ok(await page.getByTestId('dup-badge').isVisible());
  await page.getByTestId('nav-duplicates').click();
  await page.getByTestId('dup-pair').first().waitFor();
  assert.equal(await page.getByTestId('dup-pair').count(), 2);
  assert.equal(squash(await page.getByTestId('dup-count').textContent()), '2 paires à examiner');
  const martine = pairOf('artine');
  assert.equal(squash(await martine.getByTestId('dup-reasons').textContent()), 'même nom et prénom · même téléphone');
  const centres = (await martine.getByTestId('dup-centre').allTextContents()).sort();
  assert.deepEqual(centres, ['Centre social et culturel de la Briquette', 'Maison de quartier Solange Tonini']);
  const phones = (await martine.getByTestId('dup-phone').allTextContents()).sort();
  assert.deepEqual(phones, ['06 11 23 45 67', '0611234567']);
  assert.deepEqual(await martine.getByTestId('dup-commune').allTextContents(), ['Denain', 'Denain']);
  assert.deepEqual(await martine.getByTestId('dup-role').allTextContents(), ['Habitant·e', 'Habitant·e']);
  const regs = squash(await martine.getByTestId('dup-registrations').allTextContents().then((t) => t.join(' | ')));
  assert.match(regs, /Atelier tablette — \d\d\/\d\d\/\d{4}/);
  assert.match(regs, /Temps fort numérique — \d\d\/\d\d\/\d{4}/);
  const jean = pairOf('Jean');
  assert.equal(squash(await jean.getByTestId('dup-reasons').textContent()), 'même nom et prénom');
  await shot('02-duplicates');
});

step('« Même personne »: the pair leaves the queue with a French confirmation; one person fewer in the indicators', async () => {
  const martine = pairOf('artine');
  const id = await martine.getAttribute('data-id');
  await martine.getByTestId('dup-same').click();
  await page.locator(`[data-testid="dup-pair"][data-id="${id}"]`).waitFor({ state: 'detached' });
  assert.match(squash(await page.getByTestId('flash').textContent()), /^Enregistré : .* sont la même personne\.$/);
  assert.equal(await page.getByTestId('dup-pair').count(), 1);
  assert.equal(squash(await page.getByTestId('dup-count').textContent()), '1 paire à examiner');
  await page.waitForFunction(() => document.querySelector('[data-testid="dup-badge"]').textContent === '1');
  await shot('03-after-same');

  await page.getByTestId('nav-indicators').click();
  await page.getByTestId('ind-headline').waitFor();
  assert.equal(squash(await page.getByTestId('ind-headline').textContent()), '4 personnes distinctes · 5 inscriptions · taux de présence 40 %');
  const qpv = await page.getByTestId('table-ind-qpv').locator('tbody tr[data-value="oui"] td').textContent();
  assert.equal(qpv, '1', 'Martine lives in a QPV, and is counted once');
});

step('« Personnes différentes », undone once, answered again: never proposed again, even after a reload', async () => {
  await page.getByTestId('nav-duplicates').click();
  const jean = pairOf('Jean');
  await jean.waitFor();
  const id = await jean.getAttribute('data-id');
  await jean.getByTestId('dup-different').click();
  await page.getByTestId('dup-empty').waitFor();
  assert.match(squash(await page.getByTestId('flash').textContent()), /^Enregistré : .* sont des personnes différentes\.$/);
  await page.waitForFunction(() => document.querySelector('[data-testid="dup-badge"]').hidden);

  // Décidées: both answers, and one undone.
  await page.getByTestId('dup-tab-decided').click();
  await page.getByTestId('dup-pair').first().waitFor();
  assert.equal(await page.getByTestId('dup-pair').count(), 2);
  const decided = page.locator(`[data-testid="dup-pair"][data-id="${id}"]`);
  assert.match(squash(await decided.getByTestId('dup-decision').textContent()), /^Décision : Personnes différentes, le \d\d\/\d\d\/\d{4}/);
  assert.match(squash(await page.locator('[data-testid="dup-pair"][data-status="same"]').getByTestId('dup-decision').textContent()), /^Décision : Même personne/);
  await shot('04-decided');
  await decided.getByTestId('dup-undo').click();
  await decided.waitFor({ state: 'detached' });
  assert.match(squash(await page.getByTestId('flash').textContent()), /^Décision annulée/);
  await page.waitForFunction(() => document.querySelector('[data-testid="dup-badge"]').textContent === '1');
  await page.getByTestId('dup-tab-open').click();
  await page.locator(`[data-testid="dup-pair"][data-id="${id}"]`).getByTestId('dup-different').click();
  await page.getByTestId('dup-empty').waitFor();

  await page.reload();
  await page.getByTestId('page-title').waitFor();
  await page.getByTestId('dup-empty').waitFor();
  assert.equal(await page.getByTestId('dup-pair').count(), 0);
  assert.equal(squash(await page.getByTestId('dup-empty').textContent()), 'Aucun doublon possible à examiner.');
  assert.ok(await page.getByTestId('dup-badge').isHidden(), 'no badge when nothing waits');
  const q = await hubGet('/api/v1/duplicates?status=different');
  assert.deepEqual(q.items.map((p) => String(p.id)), [String(id)]);
});

step('indicators over a period, and the CSV with the same period: BOM and the FEDER sentence', async () => {
  await page.getByTestId('nav-indicators').click();
  await page.getByTestId('ind-headline').waitFor();
  assert.equal(squash(await page.getByTestId('ind-persons').textContent()), '4 personnes distinctes', 'Jean and Jean stay two');
  // A period before the events: nobody.
  await page.getByTestId('ind-from').fill('2020-01-01');
  await page.getByTestId('ind-to').fill('2020-12-31');
  await page.getByTestId('ind-submit').click();
  await page.waitForFunction(() => /du 01\/01\/2020 au 31\/12\/2020/.test(document.querySelector('[data-testid="ind-period"]')?.textContent || ''));
  await page.getByTestId('ind-headline').waitFor();
  assert.equal(squash(await page.getByTestId('ind-headline').textContent()), '0 personne distincte · 0 inscription · taux de présence —');
  // A period that holds them.
  const day = (d) => new Date(Date.now() + d * 86400000).toISOString().slice(0, 10);
  await page.getByTestId('ind-from').fill(day(-1));
  await page.getByTestId('ind-to').fill(day(10));
  await page.getByTestId('ind-submit').click();
  await page.waitForFunction((t) => (document.querySelector('[data-testid="ind-export-csv"]')?.getAttribute('href') || '').includes('to=' + t), day(10));
  await page.getByTestId('ind-headline').waitFor();
  assert.equal(squash(await page.getByTestId('ind-persons').textContent()), '4 personnes distinctes');
  const href = await page.getByTestId('ind-export-csv').getAttribute('href');
  const url = new URL(href, base);
  assert.equal(url.pathname, '/api/v1/reports/indicators');
  assert.deepEqual([url.searchParams.get('from'), url.searchParams.get('to'), url.searchParams.get('format')], [day(-1), day(10), 'csv']);
  const file = await page.evaluate(async (u) => {
    const res = await fetch(u);
    return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'),
      bytes: [...new Uint8Array(await res.arrayBuffer())] };
  }, href);
  assert.equal(file.status, 200);
  assert.match(file.type, /^text\/csv/);
  assert.match(file.disposition, /attachment; filename="terril-indicateurs-\d{4}-\d{2}-\d{2}\.csv"/);
  assert.deepEqual(file.bytes.slice(0, 3), [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  const text = Buffer.from(file.bytes.slice(3)).toString('utf8');
  assert.ok(text.includes(brand().federSentence), 'the FEDER sentence');
  assert.ok(text.includes('Habite un QPV'), 'French labels');
  await shot('05-indicators-period');
});

step('activity report: registrations and distinct people, per centre and in total', async () => {
  await page.getByTestId('nav-reports').click();
  await page.getByTestId('report-roles-persons').waitFor();
  assert.equal(squash(await page.getByTestId('report-roles-total').textContent()), 'Au total : 5 inscriptions en cours (hors inscriptions supprimées).');
  assert.match(squash(await page.getByTestId('report-roles-persons').textContent()), /^5 inscriptions · 4 personnes /);
  const table = page.getByTestId('table-roles-centre');
  const head = await table.locator('thead th').allTextContents();
  assert.deepEqual(head.slice(-2), ['Total', 'Personnes']);
  const rowOf = async (name) => table.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name, exact: true }) }).locator('td').allTextContents();
  assert.deepEqual((await rowOf('Maison de quartier Solange Tonini')).slice(-2), ['3', '3']);
  assert.deepEqual((await rowOf('Centre social et culturel de la Briquette')).slice(-2), ['2', '2']);
  assert.deepEqual((await table.locator('tfoot td').allTextContents()).slice(-2), ['5', '4']);
  const agglos = await page.getByTestId('report-agglo-persons').locator('li').allTextContents();
  assert.ok(agglos.includes('Porte du Hainaut : 3 inscriptions · 3 personnes'), agglos.join(' | '));
  await shot('06-report');
});

step('registrations: commune, QPV and genre in French', async () => {
  await page.getByTestId('nav-registrations').click();
  await page.getByTestId('reg-row').first().waitFor();
  assert.equal(await page.getByTestId('reg-row').count(), 5);
  const row = page.getByTestId('reg-row').filter({ hasText: 'Sophie Caron' });
  assert.deepEqual([await row.getByTestId('reg-commune').textContent(), await row.getByTestId('reg-qpv').textContent(),
    await row.getByTestId('reg-genre').textContent()], ['', 'Inconnu', 'Femme']);
  const jean = page.getByTestId('reg-row').filter({ hasText: '06 70 12 34 56' });
  assert.deepEqual([await jean.getByTestId('reg-commune').textContent(), await jean.getByTestId('reg-qpv').textContent(),
    await jean.getByTestId('reg-genre').textContent()], ['Denain', 'Non', 'Homme']);
  const martine = page.getByTestId('reg-row').filter({ hasText: '06 11 23 45 67' });
  assert.equal(await martine.getByTestId('reg-qpv').textContent(), 'Oui');
  await shot('07-registrations');
});

step('footer and console: FEDER sentence as brand.h, no console error', async () => {
  await assertBrandAndConsole(page, consoleErrors);
});
