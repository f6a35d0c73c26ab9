// Browser tests of the attendance sheet (feuille d'émargement, issue 14
// item 5), in Debian's headless Chromium driven by playwright-core.
//
//   TERRIL_BUILD=build-dir node --test tests/browser/attendance_sheet.test.mjs
//
// A real terril-hub (TLS, self-signed) and a real enrolled terril-node on
// loopback. The node's centre hosts two events, one with 30 registrations
// and one with 25. The « Imprimer la feuille d'émargement » button of the
// node's events page and of the hub's dashboard opens the sheet in a new
// tab; printed to PDF on A4 (page.pdf), 30 people make exactly 2 pages and
// 25 people exactly 1 (25 lines a page, no line cut). The sheet's own CSP
// must let its inline style apply and show no console error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ADMIN_PASSWORD, Api, brand, Hub, isoInDays, Node, REPO, sleep, STAFF_PASSWORD, tempRoot, watchConsole } from './cluster.mjs';

const CHROMIUM = process.env.TERRIL_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];
const SCREENS = path.join(process.env.TERRIL_ARTIFACTS || path.join(REPO, 'artifacts'), 'screens');
const CENTRE = 'valenciennes-beaujardin';
const T = { timeout: 120000 };
// Last names whose order needs accents and case folded (« École » before
// « Lefèvre »), and one long enough to wrap on two lines in its cell.
const LAST = ['Lefèvre', 'école', 'Dupont', 'ÉTIENNE', 'Martin', 'lefebvre', 'Öztürk', 'Bénard', 'Caron',
  'Abdelkader-de-la-Fontaine-Saint-Amand-les-Eaux-et-Marchiennes'];

let root;
let hub;
let node;
let context;
let page;
let failed = false;
const ev = {};

function step(name, fn) {
  test(name, T, async () => {
    try { await fn(); } catch (e) { failed = true; throw e; }
  });
}

// Pages of a PDF: its /Type /Page objects (not the /Pages tree).
function pdfPages(buffer) {
  return (buffer.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
}

// The sheet opened in a new tab by clicking `link`; its console watched from the start.
async function openSheet(link) {
  const [sheet] = await Promise.all([context.waitForEvent('page'), link.click()]);
  const errors = watchConsole(sheet);
  await sheet.waitForLoadState('load');
  return { sheet, errors };
}

// What every sheet shows, on screen and in print: the FEDER sentence and
// the emblem on each page, its lines sorted, its style applied (CSP).
async function checkSheet(sheet, errors, people) {
  const b = brand();
  await sheet.locator('tr.line').first().waitFor();
  assert.equal(await sheet.locator('html').getAttribute('lang'), 'fr');
  assert.equal(await sheet.locator('tr.line').count(), people);
  const pages = Math.ceil(people / 25);
  assert.equal(await sheet.locator('section.sheet-page').count(), pages);
  assert.equal(await sheet.locator('section.sheet-page svg').count(), pages, 'the emblem on every page');
  const feder = await sheet.locator('p.feder').allTextContents();
  assert.deepEqual(feder.map((s) => s.replace(/\s+/g, ' ').trim()), Array(pages).fill(b.federSentence));
  const names = await sheet.locator('tr.line td:nth-child(2)').allTextContents();
  const key = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  const sorted = [...names].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  assert.deepEqual(names.map(key), sorted.map(key), 'sorted by last name, accents and case ignored');
  assert.ok(names.includes('ÉTIENNE') && names.includes('école'), names.join(', '));
  assert.equal(await sheet.locator('.total-registered').textContent(), String(people));
  // The inline <style> passed the CSP: the table is styled.
  assert.equal(await sheet.locator('table.sheet').first().evaluate((t) => getComputedStyle(t).borderCollapse), 'collapse');
  const button = sheet.getByTestId('sheet-print');
  assert.ok(await button.isVisible(), 'the « Imprimer » button on screen');
  assert.equal((await button.textContent()).trim(), 'Imprimer');
  await sheet.emulateMedia({ media: 'print' });
  assert.ok(await button.isHidden(), 'the button is not printed');
  // In print, each page's content fits its fixed A4 height: no line hidden
  // or pushed under the footer.
  const overflows = await sheet.evaluate(() => [...document.querySelectorAll('section.sheet-page')].map((s) => {
    const rows = s.querySelectorAll('tbody tr');
    const last = rows[rows.length - 1].getBoundingClientRect();
    return { overflow: s.scrollHeight > s.clientHeight + 1, under: last.bottom > s.querySelector('.sheet-foot').getBoundingClientRect().top + 1 };
  }));
  assert.deepEqual(overflows, Array(pages).fill({ overflow: false, under: false }));
  await sheet.emulateMedia({ media: 'screen' });
  assert.deepEqual(errors, [], 'no console error (CSP included)');
}

before(async () => {
  root = tempRoot();
  hub = new Hub(root);
  await hub.start();
  node = new Node(root, hub, 'node-sheet', CENTRE);
  await node.start();
  const api = await new Api(node.base).login();
  for (const [key, people] of [['thirty', 30], ['twentyFive', 25]]) {
    const r = await api.call('POST', '/api/v1/events', {
      title: 'Atelier « ' + people + ' personnes »', kind: 'atelier', starts_at: isoInDays(4, 13), ends_at: isoInDays(4, 16),
      place: 'Salle informatique', capacity: 40,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ev[key] = r.body;
    for (let i = 0; i < people; i++) {
      const reg = await api.call('POST', '/api/v1/registrations', {
        event_id: r.body.id, first_name: 'Prénom ' + i, last_name: LAST[i % LAST.length] + (i >= LAST.length ? ' ' + i : ''),
        phone: '06 12 34 56 78', role: i % 3 ? 'habitant' : 'benevole', consent: true,
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
    }
  }
  // Everything at the hub before its dashboard is opened.
  const deadline = Date.now() + 60000;
  for (;;) {
    const s = await api.call('GET', '/api/v1/status');
    if (s.status === 200 && s.body.pending === 0 && s.body.connected) break;
    assert.ok(Date.now() < deadline, 'node caught up with the hub: ' + JSON.stringify(s.body));
    await sleep(100);
  }
  context = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, locale: 'fr-FR',
    timezoneId: 'Europe/Paris',
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  fs.mkdirSync(SCREENS, { recursive: true });
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (node) await node.stop();
  if (hub) await hub.stop();
  if (root) {
    if (failed || process.env.TERRIL_KEEP) console.log('# kept ' + root + ' (daemon logs there)');
    else fs.rmSync(root, { recursive: true, force: true });
  }
});

step('node: the host\'s event has the button; the sheet of 30 people prints on 2 A4 pages', async () => {
  await page.goto(node.base + '/');
  await page.getByTestId('login-password').fill(STAFF_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-events').waitFor({ state: 'visible' });
  await page.evaluate(() => { location.hash = '#/evenements'; });
  const card = page.locator(`[data-testid="event-card"][data-id="${ev.thirty.id}"]`);
  await card.waitFor();
  const link = card.getByTestId('event-sheet');
  assert.equal((await link.textContent()).trim(), 'Imprimer la feuille d\'émargement');
  const { sheet, errors } = await openSheet(link);
  assert.equal(new URL(sheet.url()).pathname, `/api/v1/events/${ev.thirty.id}/attendance-sheet`);
  await checkSheet(sheet, errors, 30);
  await sheet.screenshot({ path: path.join(SCREENS, 'sheet-01-screen.png'), fullPage: true });
  await sheet.emulateMedia({ media: 'print' });
  await sheet.screenshot({ path: path.join(SCREENS, 'sheet-02-print.png'), fullPage: true });
  await sheet.emulateMedia({ media: 'screen' });
  const pdf = await sheet.pdf({ format: 'A4' });
  fs.writeFileSync(path.join(SCREENS, 'sheet-30.pdf'), pdf);
  assert.equal(pdfPages(pdf), 2, '30 people: 2 pages');
  await sheet.close();
});

step('node: 25 people print on exactly 1 A4 page', async () => {
  const sheet = await context.newPage();
  const errors = watchConsole(sheet);
  await sheet.goto(`${node.base}/api/v1/events/${ev.twentyFive.id}/attendance-sheet`);
  await checkSheet(sheet, errors, 25);
  const pdf = await sheet.pdf({ format: 'A4' });
  fs.writeFileSync(path.join(SCREENS, 'sheet-25.pdf'), pdf);
  assert.equal(pdfPages(pdf), 1, '25 people: 1 page');
  await sheet.close();
});

step('hub: every event has the button; the same sheet opens and prints on 2 pages', async () => {
  await page.goto(`https://127.0.0.1:${hub.port}/`);
  await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-events').waitFor({ state: 'visible' });
  await page.getByTestId('nav-events').click();
  const row = page.locator(`[data-testid="event-row"][data-id="${ev.thirty.id}"]`);
  await row.waitFor();
  assert.equal(await page.getByTestId('event-sheet').count(), 2, 'one button per event');
  const { sheet, errors } = await openSheet(row.getByTestId('event-sheet'));
  await checkSheet(sheet, errors, 30);
  assert.equal(pdfPages(await sheet.pdf({ format: 'A4' })), 2);
  await sheet.close();
});
