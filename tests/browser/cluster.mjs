// Small helpers for the browser tests: a real terril-hub (TLS) and real
// terril-node processes on loopback, started from $TERRIL_BUILD, each in a
// temporary folder. Mirrors tests/integration/harness.py (same commands,
// same flags) so both suites exercise the daemons the same way.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const BUILD = path.resolve(process.env.TERRIL_BUILD || path.join(REPO, 'build'));
export const HUB_BIN = path.join(BUILD, 'hub', 'terril-hub');
export const NODE_BIN = path.join(BUILD, 'node', 'terril-node');
export const STAFF_PASSWORD = 'accueil-centre-2026';
export const ADMIN_PASSWORD = 'admin-hub-2026-secret';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function run(bin, args, { stdin, check = true } = {}) {
  const p = spawnSync(bin, args, { input: stdin, encoding: 'utf8', timeout: 60000 });
  if (check && p.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${p.status ?? p.signal}):\n${p.stdout}\n${p.stderr}`);
  }
  return p;
}

// A daemon started with `serve`: its port is on the first stdout line
// "listening HOST:PORT"; stderr goes to a log file.
export class Daemon {
  constructor(bin, args, logPath) {
    this.bin = bin;
    this.args = args;
    this.logPath = logPath;
    this.proc = null;
    this.port = null;
  }

  start(timeoutMs = 20000) {
    const log = fs.openSync(this.logPath, 'a');
    const proc = spawn(this.bin, this.args, { stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig)));
    return new Promise((resolve, reject) => {
      let buf = '';
      const fail = (why) => {
        clearTimeout(timer);
        let tail = '';
        try { tail = fs.readFileSync(this.logPath, 'utf8').slice(-3000); } catch { /* no log yet */ }
        reject(new Error(`${path.basename(this.bin)} did not start (${why}); ${this.logPath}:\n${tail}`));
      };
      const timer = setTimeout(() => { proc.kill('SIGKILL'); fail('timeout'); }, timeoutMs);
      proc.stdout.on('data', (chunk) => {
        if (this.port) return;
        buf += chunk.toString();
        const m = /^listening (\S+):(\d+)$/m.exec(buf);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[2]);
          resolve(this);
        }
      });
      proc.once('exit', (code, sig) => { if (!this.port) fail(`exited with ${code ?? sig}`); });
    });
  }

  alive() { return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null; }

  async stop(timeoutMs = 10000) {
    if (!this.alive()) return;
    this.proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

export class Hub {
  constructor(root) {
    this.dir = path.join(root, 'hub');
    this.log = path.join(root, 'hub.log');
    this.daemon = null;
    this.port = 0;
    const out = run(HUB_BIN, ['init', '--data-dir', this.dir, '--password-stdin'], { stdin: ADMIN_PASSWORD + '\n' });
    const line = out.stdout.split('\n').find((l) => l.includes('fingerprint'));
    this.fingerprint = line ? line.trim().split(/\s+/).pop() : null;
  }

  cli(...args) {
    return run(HUB_BIN, [...args, '--data-dir', this.dir, '--config', '/dev/null']);
  }

  // Port 0 the first time; the same port on a restart, so nodes find it again.
  async start() {
    this.daemon = new Daemon(HUB_BIN, ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dir,
      '--config', '/dev/null'], this.log);
    const deadline = Date.now() + 20000;
    for (;;) {
      try {
        await this.daemon.start();
        break;
      } catch (e) {
        // A restart on a fixed port may race with the old socket's release.
        if (!this.port || Date.now() > deadline) throw e;
        await sleep(300);
      }
    }
    this.port = this.daemon.port;
    return this;
  }

  async stop() { if (this.daemon) await this.daemon.stop(); }

  get url() { return `wss://127.0.0.1:${this.port}`; }

  addNode(nodeId, centre) {
    return JSON.parse(this.cli('node', 'add', nodeId, '--centre', centre, '--json').stdout);
  }
}

export class Node {
  constructor(root, hub, nodeId, centre) {
    this.dir = path.join(root, nodeId);
    this.log = path.join(root, nodeId + '.log');
    this.nodeId = nodeId;
    this.centre = centre;
    const { code, hub_fingerprint: pin } = hub.addNode(nodeId, centre);
    this.enrolment = JSON.parse(this.cli('enrol', '--hub', hub.url, '--code', code, '--fingerprint', pin, '--json').stdout);
    this.cli('passwd', { stdin: STAFF_PASSWORD + '\n' });
    this.daemon = null;
  }

  cli(...args) {
    let opts = {};
    if (args.length && typeof args[args.length - 1] === 'object') opts = args.pop();
    return run(NODE_BIN, [...args, '--data-dir', this.dir, '--config', '/dev/null'], opts);
  }

  async start() {
    this.daemon = new Daemon(NODE_BIN, ['serve', '--data-dir', this.dir, '--config', '/dev/null',
      '--listen', '127.0.0.1:0'], this.log);
    await this.daemon.start();
    this.base = `http://127.0.0.1:${this.daemon.port}`;
    return this;
  }

  async stop() { if (this.daemon) await this.daemon.stop(); }
}

// A logged-in JSON client (session cookie) for test setup and checks.
export class Api {
  constructor(base) {
    this.base = base;
    this.cookie = '';
  }

  async login(password = STAFF_PASSWORD) {
    const res = await fetch(this.base + '/api/v1/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password }),
    });
    if (res.status !== 200) throw new Error('login failed: ' + res.status + ' ' + (await res.text()));
    this.cookie = (res.headers.get('set-cookie') || '').split(';')[0];
    return this;
  }

  async call(method, p, body) {
    const headers = { Cookie: this.cookie, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    return { status: res.status, body: data };
  }
}

export function tempRoot() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'terril-web-'));
}

export function isoInDays(days, hour = 14) {
  const d = new Date(Date.now() + days * 86400000);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The operation's name, the FEDER sentence and its caption as common/core/brand.h
// (the one source) writes them: `inline constexpr std::string_view kX = "..." "...";`.
export function brand() {
  const text = fs.readFileSync(path.join(REPO, 'common', 'core', 'brand.h'), 'utf8');
  const value = (name) => {
    const m = new RegExp('std::string_view\\s+' + name + '\\s*=([^;]*);').exec(text);
    if (!m) throw new Error(name + ' not found in common/core/brand.h');
    return [...m[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]).join('');
  };
  return { operationName: value('kOperationName'), federSentence: value('kFederSentence'), federCaption: value('kFederCaption') };
}

// Collects what would show in the browser's console as an error: uncaught
// exceptions, console.error, and resources that failed to load, except the
// JSON API's refusals (401, 404, 422... are answers the pages handle).
export function watchConsole(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = (m.location() || {}).url || '';
    if (m.text().startsWith('Failed to load resource') && new URL(url, 'http://x/').pathname.startsWith('/api/')) return;
    errors.push(m.text() + (url ? ' (' + url + ')' : ''));
  });
  page.on('requestfailed', (r) => {
    if (!new URL(r.url()).pathname.startsWith('/api/')) errors.push('request failed: ' + r.url());
  });
  return errors;
}

// The check both UIs end with: the footer shows brand.h's sentence, caption
// and operation name; /assets/base.js loaded and carries the same values; no
// console error was seen.
export async function assertBrandAndConsole(page, errors) {
  const b = brand();
  const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();
  assert.equal(squash(await page.getByTestId('feder').textContent()), b.federSentence, 'footer FEDER sentence = brand.h');
  assert.equal(squash(await page.getByTestId('feder-caption').textContent()), b.federCaption, 'footer caption = brand.h');
  assert.equal(squash(await page.getByTestId('operation-name').textContent()), b.operationName, 'operation name = brand.h');
  const fromModule = await page.evaluate(async () => ({ ...(await import('/assets/base.js')).BRAND }));
  assert.deepEqual(fromModule, b, '/assets/base.js BRAND = brand.h');
  assert.deepEqual(errors, [], 'no console error');
}

// Debian's Chromium, headless, as every browser test launches it.
export const CHROMIUM = process.env.TERRIL_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A browser with its profile in root, French and in Paris time, and its
// first page (15 s default timeout, page errors printed). `options` adds to
// playwright's launchPersistentContext options (ignoreHTTPSErrors...).
export async function launchBrowser(chromium, root, options = {}) {
  const context = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, locale: 'fr-FR',
    timezoneId: 'Europe/Paris', ...options,
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => console.log('# page error: ' + e.message));
  return { context, page };
}

// The end of a run: the browser closed, the daemons stopped, the folder
// removed unless the run failed or TERRIL_KEEP is set (then its path is printed).
export async function cleanUp({ context, daemons, root, failed }) {
  if (context) await context.close().catch(() => {});
  for (const d of daemons || []) if (d) await d.stop();
  if (!root) return;
  if (failed || process.env.TERRIL_KEEP) console.log('# kept ' + root + ' (daemon logs there)');
  else fs.rmSync(root, { recursive: true, force: true });
}

// Waits until the node behind `api` (an Api) is connected and has nothing
// left to send; returns its status.
export async function waitSynced(api, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await api.call('GET', '/api/v1/status');
    if (s.status === 200 && s.body.pending === 0 && s.body.connected) return s.body;
    assert.ok(Date.now() < deadline, 'node caught up with the hub: ' + JSON.stringify(s.body));
    await sleep(100);
  }
}
