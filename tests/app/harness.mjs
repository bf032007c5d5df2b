// Harness for the desktop app's page: a real `vault-server` and real `vault` CLI devices (from
// tests/web/harness.mjs), a real `vault app --no-browser --port 0` daemon whose launch URL is
// the last line of its stdout, Debian's Chromium (playwright-core), axe-core, and screenshots
// of every screen at desktop and phone size into docs/screenshots/app/, written only when asked
// (VAULT_SCREENSHOTS=1: the committed ones change only when someone regenerates them).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { ROOT, PYTHON, PASSPHRASE, requireWeb } from '../web/harness.mjs';

export { Server, Device, launchBrowser, tempDir, cleanup, pyHelper, PASSPHRASE, PYTHON, ROOT } from '../web/harness.mjs';

export const SHOTS = path.join(ROOT, 'docs', 'screenshots', 'app');
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };
export const WRITE_SHOTS = process.env.VAULT_SCREENSHOTS === '1';
const AXE = readFileSync(requireWeb.resolve('axe-core/axe.min.js'), 'utf8');
const URL_LINE = /^http:\/\/127\.0\.0\.1:\d+\/#[A-Za-z0-9_-]+$/;

/** `vault --home HOME app --no-browser --port 0`: the daemon of one profile. */
export class App {
  constructor(device, { env = {} } = {}) {
    this.device = device;
    this.env = env;
    this.proc = null;
    this.out = '';
    this.err = '';
  }

  async start(timeout = 30_000) {
    const env = { ...process.env, VAULT_DEVICE_NAME: this.device.name, ...this.env };
    delete env.VAULT_PASSPHRASE; // the page unlocks it
    delete env.VAULT_HOME;
    const t0 = Date.now();
    this.proc = spawn(PYTHON, ['-m', 'vault_client.cli', '--home', this.device.home, 'app', '--no-browser', '--port', '0'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d) => (this.err += d.toString()));
    this.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vault app printed no launch URL:\n${this.out}\n${this.err}`)), timeout);
      this.proc.stdout.on('data', (d) => {
        this.out += d.toString();
        const lines = this.out.trim().split('\n');
        const last = lines[lines.length - 1].trim();
        if (URL_LINE.test(last)) {
          clearTimeout(timer);
          resolve(last);
        }
      });
      this.proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`vault app exited ${code}:\n${this.out}\n${this.err}`));
      });
    });
    this.startedIn = Date.now() - t0;
    this.origin = new URL(this.url).origin;
    return this.url;
  }

  /** A second `vault app` on the profile: it prints a fresh launch URL of the running one, exits 0. */
  freshUrl() {
    const env = { ...process.env, VAULT_DEVICE_NAME: this.device.name, ...this.env };
    delete env.VAULT_PASSPHRASE;
    delete env.VAULT_HOME;
    const res = spawnSync(PYTHON, ['-m', 'vault_client.cli', '--home', this.device.home, 'app', '--no-browser'], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
    const url = lastLine(res.stdout);
    assert.match(url, URL_LINE);
    return url;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/** A page that records console errors, page errors and CSP reports. */
export async function openPage(browser, { viewport = DESKTOP, locale = 'fr-FR', acceptDownloads = true, permissions = [], init = null } = {}) {
  const context = await browser.newContext({ viewport, locale, acceptDownloads, permissions });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to|integrity/i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page, problems };
}

/** axe-core (WCAG 2.1 A/AA): no serious or critical violation. Returns every violation found. */
export async function axe(page, state) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = (list) => list.map((v) => `${state}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  assert.deepEqual(text(bad), [], text(bad).join('\n'));
  return { violations: result.violations.length, minor: text(result.violations), passes: result.passes.length };
}

export async function noHorizontalScroll(page, state) {
  const [sw, w] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(sw <= w, `${state}: horizontal scroll (${sw} > ${w})`);
}

export const axeLog = [];

/** One screen: axe and no horizontal scroll at desktop and phone size; with VAULT_SCREENSHOTS=1
 * a screenshot of each into docs/screenshots/app/NAME-{desktop,phone}.png. */
export async function screen(page, name, { fullPage = true } = {}) {
  if (WRITE_SHOTS) mkdirSync(SHOTS, { recursive: true });
  const before = page.viewportSize();
  for (const [size, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(150);
    const res = await axe(page, `${name} (${size})`);
    axeLog.push({ screen: name, size, ...res });
    await noHorizontalScroll(page, `${name} (${size})`);
    if (WRITE_SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}-${size}.png`), fullPage, animations: 'disabled' });
  }
  await page.setViewportSize(before);
}

/** Keyboard only: Tab (or Shift+Tab) until the focused element has this accessible name. */
export async function tabTo(page, name, { max = 60, back = false } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const focused = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a) return '';
      if (a.labels && a.labels.length) return a.labels[0].textContent.trim();
      return (a.getAttribute('aria-label') || a.textContent || '').trim();
    });
    if (focused === name) return;
  }
  throw new Error(`Tab never reached “${name}”`);
}

export function lastLine(text) {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1].trim();
}

export const statusRegion = (page) => page.locator('#sync[role=status]');
export const toasts = (page) => page.locator('#toasts[role=status]');
