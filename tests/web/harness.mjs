// End-to-end harness for the share page: a real `vault-server` process on 127.0.0.1, the real
// `vault` command line as a subprocess (as tests/client/conftest.py does), and Debian's
// Chromium driven by playwright-core (from web/node_modules).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'web');
export const PYTHON = process.env.PYTHON || 'python3';
export const CHROMIUM = process.env.VAULT_CHROMIUM || '/usr/bin/chromium';
export const PASSPHRASE = 'correct horse battery staple';

export const requireWeb = createRequire(path.join(ROOT, 'web', 'package.json'));
export const { chromium } = requireWeb('playwright-core');

export function tempDir(prefix = 'vault-web-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export class Server {
  constructor(dir, extra = []) {
    this.extra = extra; // more `serve` options
    this.data = path.join(dir, 'server-data');
    this.logPath = path.join(dir, 'server.log');
    this.url = '';
    this.proc = null;
  }

  async start() {
    mkdirSync(path.dirname(this.data), { recursive: true });
    this.log = [];
    this.proc = spawn(PYTHON, ['-m', 'vault_server', 'serve', '--data', this.data, '--host', '127.0.0.1', '--port', '0', ...this.extra], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d) => this.log.push(d.toString()));
    this.url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.log.join('')}`)), 20_000);
      this.proc.stdout.on('data', (d) => {
        out += d.toString();
        const m = out.match(/listening on (http:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      this.proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited ${code}:\n${this.log.join('')}`));
      });
    });
  }

  serverLog() {
    return this.log.join('');
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    writeFileSync(this.logPath, this.serverLog());
  }
}

export class Device {
  constructor(dir, name) {
    this.home = path.join(dir, `home-${name}`);
    this.folder = path.join(dir, `folder-${name}`);
    this.name = name;
  }

  run(args, { env = {}, check = true, input } = {}) {
    const fullEnv = { ...process.env, VAULT_PASSPHRASE: PASSPHRASE, VAULT_DEVICE_NAME: this.name, ...env };
    delete fullEnv.VAULT_HOME;
    const res = spawnSync(PYTHON, ['-m', 'vault_client.cli', '--home', this.home, ...args], {
      cwd: existsSync(this.folder) ? this.folder : ROOT,
      env: fullEnv,
      encoding: 'utf8',
      input,
      timeout: 120_000,
    });
    if (check && res.status !== 0) {
      throw new Error(`vault ${args.join(' ')} exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
    }
    return res;
  }

  write(rel, data) {
    const p = path.join(this.folder, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, data);
    return p;
  }

  read(rel) {
    return readFileSync(path.join(this.folder, rel));
  }

  /** `vault share create ...`: the link (last line of stdout). */
  share(paths, { expires = '1h', maxUses = null, password = null } = {}) {
    const args = ['share', 'create', ...paths, '--expires', expires];
    if (maxUses !== null) args.push('--max-uses', String(maxUses));
    if (password !== null) args.push('--password');
    const res = this.run(args, { env: password !== null ? { VAULT_LINK_PASSWORD: password } : {} });
    const lines = res.stdout.trim().split('\n');
    return lines[lines.length - 1].trim();
  }
}

/** Run a Python helper from tests/web/ and parse its JSON output. */
export function pyHelper(script, args, env = {}) {
  const res = spawnSync(PYTHON, [path.join(ROOT, 'tests', 'web', script), ...args], {
    cwd: ROOT,
    env: { ...process.env, VAULT_PASSPHRASE: PASSPHRASE, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status !== 0) throw new Error(`${script} exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
  return JSON.parse(res.stdout);
}

export async function launchBrowser(dir) {
  // playwright-core gives every launch a fresh temporary profile (--user-data-dir)
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    downloadsPath: path.join(dir, 'downloads'),
  });
}

export function cleanup(dir) {
  if (process.env.VAULT_KEEP_TMP) return;
  rmSync(dir, { recursive: true, force: true });
}

export function screenshotPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, `${name}.png`);
}
