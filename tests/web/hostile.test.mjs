// Owner web access against a hostile server (issue 19, "Bad input and faults"), in real headless
// Chromium: the page is served through a tampering proxy in front of a real `vault-server`, so
// every byte the page and its engine Worker receive passes through code that can change it, as
// a malicious or broken server would. The proxy forwards each request unchanged (the Host header
// too: the login proof binds the origin the page sees) and, in the mode a test sets, alters one
// kind of answer:
//   weak-kdf      the Argon2id parameters of POST /v1/login/start below the client's floor
//   log-flip      one byte of one entry of GET /v1/log
//   log-drop      one entry left out of the middle of GET /v1/log
//   blob-flip     one byte of every GET /v1/blobs/{id}
//   blob-cut      the last 16 bytes of every GET /v1/blobs/{id} left out
//   blob-swap     every GET /v1/blobs/{id} answered with another blob's (genuine) bytes
//   rollback      the log head one entry shorter than the page already verified
//   cut-upload    the connection of POST /v1/blobs/batch closed before any answer
// Each one must end in the page's French sentence, with nothing shown, saved or half-written:
// the vault as a CLI device then verifies it holds exactly what it held, or what was added.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Server, Device, tempDir, cleanup, PASSPHRASE, chromium, CHROMIUM } from './harness.mjs';

const TIMEOUT = { timeout: 180_000 };
const SENTENCE = {
  weak: 'Le serveur propose des paramètres de sécurité trop faibles : la connexion est refusée.',
  integrity: 'Des données reçues du serveur ont été modifiées ou falsifiées : rien n’a été affiché ni enregistré.',
  unavailable: 'Le serveur ne répond pas. Vérifiez la connexion et réessayez.',
};

/** A reverse proxy to `target` whose answers `mode` alters (see the header). */
class TamperingProxy {
  constructor(target) {
    this.target = new URL(target);
    this.mode = null;
    this.seen = []; // "METHOD /path" of every request
    this.lastBlob = null; // the last genuine blob body, for blob-swap: [id, bytes]
    this.tampered = 0;
  }

  async start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  handle(req, res) {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const url = new URL(req.url, this.url);
      this.seen.push(`${req.method} ${url.pathname}`);
      if (this.mode === 'cut-upload' && req.method === 'POST' && url.pathname === '/v1/blobs/batch') {
        this.tampered++;
        req.socket.destroy();
        return;
      }
      const up = http.request({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        const got = [];
        ur.on('data', (c) => got.push(c));
        ur.on('end', () => {
          const body = this.alter(req.method, url, ur.statusCode, Buffer.concat(got));
          const headers = { ...ur.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(body.length);
          res.writeHead(ur.statusCode, headers);
          res.end(body);
        });
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(parts));
    });
  }

  alter(method, url, status, body) {
    const p = url.pathname;
    if (status !== 200 || !this.mode) {
      if (method === 'GET' && /^\/v1\/blobs\/[0-9a-f]+$/.test(p) && status === 200) this.lastBlob = [p, body];
      return body;
    }
    const json = () => JSON.parse(body.toString('utf8'));
    const out = (obj) => {
      this.tampered++;
      return Buffer.from(JSON.stringify(obj));
    };
    if (this.mode === 'weak-kdf' && method === 'POST' && p === '/v1/login/start') {
      const start = json();
      start.kdf.m_kib = 8192; // 8 MiB, an eighth of the floor
      start.kdf.t = 1;
      return out(start);
    }
    if ((this.mode === 'log-flip' || this.mode === 'log-drop') && method === 'GET' && p === '/v1/log') {
      const page = json();
      if (page.entries.length < 3) return body;
      const k = Math.floor(page.entries.length / 2);
      if (this.mode === 'log-drop') page.entries.splice(k, 1);
      else {
        const raw = Buffer.from(page.entries[k].entry, 'base64url');
        raw[Math.floor(raw.length / 2)] ^= 0x01;
        page.entries[k].entry = raw.toString('base64url');
      }
      return out(page);
    }
    if (this.mode === 'rollback' && method === 'GET' && (p === '/v1/log/head' || p === '/v1/log')) {
      const obj = json();
      if (p === '/v1/log/head') obj.seq -= 1;
      else {
        obj.head -= 1;
        obj.entries = obj.entries.filter((e) => e.seq === undefined || e.seq <= obj.head);
      }
      return out(obj);
    }
    if (method === 'GET' && /^\/v1\/blobs\/[0-9a-f]+$/.test(p)) {
      if (this.mode === 'blob-flip') {
        const b = Buffer.from(body);
        b[Math.floor(b.length / 2)] ^= 0x80;
        this.tampered++;
        return b;
      }
      if (this.mode === 'blob-cut') {
        this.tampered++;
        return body.subarray(0, body.length - 16);
      }
      if (this.mode === 'blob-swap' && this.lastBlob && this.lastBlob[0] !== p) {
        this.tampered++;
        return this.lastBlob[1];
      }
    }
    return body;
  }
}

describe('owner web access against a hostile server', () => {
  let dir;
  let server;
  let proxy;
  let jean;
  let context;
  let page;
  const originals = {};
  const problems = [];

  const alert = () => page.locator('#alert');
  const signInForm = () => page.getByRole('button', { name: 'Se connecter', exact: true });

  async function signIn() {
    await page.goto(`${proxy.url}/`);
    await page.getByLabel('Identifiant', { exact: true }).fill('jean');
    await page.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
    await signInForm().click();
  }

  async function signedIn() {
    proxy.mode = null;
    await signIn();
    await page.getByRole('button', { name: 'Se déconnecter', exact: true }).waitFor({ timeout: 60_000 });
  }

  async function signOut() {
    await page.getByRole('button', { name: 'Se déconnecter', exact: true }).click();
    await signInForm().waitFor({ timeout: 30_000 });
  }

  /** The documents a fresh look at the vault by a CLI device finds (its verifier, its sync). */
  function vaultFiles() {
    jean.run(['sync']);
    const out = [];
    const walk = (d, rel) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.name.startsWith('.')) continue;
        if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
        else out.push(`${rel}${e.name}`);
      }
    };
    walk(jean.folder, '');
    return out.sort();
  }

  before(async () => {
    dir = tempDir('vault-hostile-web-');
    server = new Server(dir);
    await server.start();
    proxy = new TamperingProxy(server.url);
    await proxy.start();
    jean = new Device(dir, 'jean');
    jean.run(['init', '--server', server.url, '--user', 'jean', '--folder', jean.folder]);
    originals['papiers/grand.bin'] = randomBytes(2.5 * 1024 * 1024); // several chunks
    originals['papiers/autre.bin'] = randomBytes(1.2 * 1024 * 1024);
    originals['note.txt'] = Buffer.from('rendez-vous CAF mardi\n');
    for (const [rel, data] of Object.entries(originals)) jean.write(rel, data);
    jean.run(['sync']);
    for (const name of ['a', 'b', 'c']) {
      jean.write(`divers/${name}.txt`, Buffer.from(`document ${name}\n`));
      jean.run(['sync']); // a longer log, so that an entry can be changed or left out in its middle
    }
    context = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 390, height: 844 },
      locale: 'fr-FR',
      acceptDownloads: true,
    });
    page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  });

  after(async () => {
    if (context) await context.close().catch(() => {});
    if (proxy) await proxy.stop();
    if (server) await server.stop();
    cleanup(dir);
  });

  it('refuses weak Argon2id parameters before deriving anything or sending a proof', TIMEOUT, async () => {
    proxy.mode = 'weak-kdf';
    proxy.seen.length = 0;
    await signIn();
    await assert.doesNotReject(alert().filter({ hasText: SENTENCE.weak }).waitFor({ timeout: 30_000 }));
    assert.ok(proxy.tampered > 0);
    assert.ok(!proxy.seen.includes('POST /v1/login/finish'), proxy.seen.join('\n'));
    await signInForm().waitFor();
  });

  for (const mode of ['log-flip', 'log-drop']) {
    it(`refuses a log with ${mode === 'log-flip' ? 'an altered entry' : 'an entry left out'} at sign-in, and leaves no session`, TIMEOUT, async () => {
      const devicesBefore = JSON.parse(jean.run(['devices', '--json']).stdout).filter((d) => !d.revoked_at).length;
      proxy.mode = mode;
      proxy.tampered = 0;
      const tokens = new Set();
      const onRequest = (r) => {
        const auth = r.headers().authorization || '';
        if (auth.startsWith('Bearer ')) tokens.add(auth.slice(7));
      };
      context.on('request', onRequest);
      await signIn();
      await alert().filter({ hasText: SENTENCE.integrity }).waitFor({ timeout: 60_000 });
      context.off('request', onRequest);
      assert.ok(proxy.tampered > 0);
      // the session the server opened for it is closed: its token is refused
      assert.ok(tokens.size > 0);
      for (const token of tokens) {
        const res = await fetch(`${server.url}/v1/log/head`, { headers: { Authorization: `Bearer ${token}` } });
        assert.equal(res.status, 401, 'the token of a refused sign-in still works');
      }
      // nothing listed, still the sign-in screen, and the device made for the session is ended
      assert.equal(await page.getByRole('button', { name: 'note.txt' }).count(), 0);
      await signInForm().waitFor();
      proxy.mode = null;
      const devices = JSON.parse(jean.run(['devices', '--json']).stdout);
      assert.equal(devices.filter((d) => !d.revoked_at).length, devicesBefore, JSON.stringify(devices));
    });
  }

  for (const mode of ['blob-flip', 'blob-cut', 'blob-swap']) {
    it(`refuses a document whose chunk is ${{ 'blob-flip': 'altered', 'blob-cut': 'truncated', 'blob-swap': 'swapped for another' }[mode]}: nothing shown, nothing saved`, TIMEOUT, async () => {
      await signedIn();
      await page.getByRole('button', { name: 'papiers' }).first().click();
      if (mode === 'blob-swap') {
        // a genuine blob of another document first, for the server to serve in place of this one's
        await page.getByRole('button', { name: 'autre.bin' }).click();
        await page.getByRole('link', { name: 'Télécharger', exact: true }).waitFor({ timeout: 30_000 });
        await page.keyboard.press('Escape');
      }
      proxy.mode = mode;
      proxy.tampered = 0;
      let downloads = 0;
      const onDownload = () => downloads++;
      page.on('download', onDownload);
      await page.getByRole('button', { name: 'grand.bin' }).click();
      await alert().filter({ hasText: SENTENCE.integrity }).waitFor({ timeout: 60_000 });
      assert.ok(proxy.tampered > 0);
      assert.equal(await page.getByRole('link', { name: 'Télécharger', exact: true }).count(), 0, 'a download offered for refused bytes');
      page.off('download', onDownload);
      assert.equal(downloads, 0);
      // the genuine bytes still come through once the server stops lying
      proxy.mode = null;
      await page.getByRole('button', { name: 'grand.bin' }).click();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Télécharger', exact: true }).click()]);
      assert.deepEqual(readFileSync(await download.path()), originals['papiers/grand.bin']);
      await page.keyboard.press('Escape');
      await signOut();
    });
  }

  it('says so when the server rolls the log back behind what the page verified', TIMEOUT, async () => {
    await signedIn();
    proxy.seen.length = 0;
    jean.write('divers/d.txt', Buffer.from('document d\n'));
    jean.run(['sync']); // the server's head moves on; the page looks every ~10 s
    // the page must first have fetched and verified the longer log, then the server pretends
    // to be one entry behind it
    const t0 = Date.now();
    while (!proxy.seen.includes('GET /v1/log') && Date.now() - t0 < 60_000) await page.waitForTimeout(250);
    assert.ok(proxy.seen.includes('GET /v1/log'), 'the page never fetched the longer log');
    await page.locator('#sync').filter({ hasText: 'À jour' }).waitFor({ timeout: 30_000 });
    proxy.mode = 'rollback';
    proxy.tampered = 0;
    await page.locator('#sync').filter({ hasText: SENTENCE.integrity }).waitFor({ timeout: 60_000 });
    assert.ok(proxy.tampered > 0);
    proxy.mode = null;
    await signOut();
  });

  it('an upload cut off by the network says what was not sent; the vault holds no half of it', TIMEOUT, async () => {
    await signedIn();
    const before = vaultFiles();
    const small = path.join(dir, 'justificatif.txt');
    const big = path.join(dir, 'photo-avis.jpg');
    writeFileSync(small, 'justificatif de domicile\n');
    const bigBytes = randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(big, bigBytes);
    proxy.mode = 'cut-upload';
    proxy.tampered = 0;
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Ajouter des documents', exact: true }).click()]);
    await chooser.setFiles([small, big]);
    // the small file goes inline in its manifest (no blob batch), the large one is cut off
    await alert()
      .filter({ hasText: 'L’envoi s’est arrêté à « photo-avis.jpg » : 1 document ajouté, 1 document non envoyé.' })
      .waitFor({ timeout: 60_000 });
    assert.ok(proxy.tampered > 0);
    proxy.mode = null;
    const after = vaultFiles();
    assert.deepEqual(after, [...before, 'justificatif.txt'].sort(), 'exactly the file sent before the cut is in the vault');
    assert.ok(!existsSync(path.join(jean.folder, 'photo-avis.jpg')));
    // sent again, it goes in whole
    const [again] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Ajouter des documents', exact: true }).click()]);
    await again.setFiles([big]);
    await page.getByRole('status').filter({ hasText: '1 document ajouté' }).first().waitFor({ timeout: 60_000 });
    assert.ok(vaultFiles().includes('photo-avis.jpg'));
    assert.deepEqual(jean.read('photo-avis.jpg'), bigBytes);
    await signOut();
  });

  it('a session the server ended goes back to sign-in, saying so', TIMEOUT, async () => {
    await signedIn();
    // this session's device: the newest browser device in the log
    const web = JSON.parse(jean.run(['devices', '--json']).stdout).filter((d) => !d.revoked_at && /^Navigateur/.test(d.name));
    assert.ok(web.length >= 1, JSON.stringify(web));
    web.sort((a, b) => b.created_at - a.created_at);
    jean.run(['devices', 'revoke', web[0].id]);
    await page.getByRole('button', { name: 'note.txt' }).click();
    await signInForm().waitFor({ timeout: 30_000 });
    assert.deepEqual(problems, []);
  });
});
