// The share page end to end, in real headless Chromium (Debian's package, driven by
// playwright-core): a real `vault-server`, links made with the real `vault share create`.
//
// Proves: a link opens and lists exactly the granted documents; downloads equal the original
// bytes (a 200 MB one too, with the page's main thread never blocked); PDF and image previews;
// certified-by only against an authority the counsellor pinned; password links; expired,
// revoked, used-up, wrong-secret and damaged links show their message and no document; a
// tampered chunk is refused; no request ever carries the secret or the password; the security
// headers, CSP (no violation) and Subresource Integrity. Screenshots of the main states go to
// test-artifacts/web/.
//
// Run: node --test tests/web/   (needs web/node_modules and /usr/bin/chromium; see web/README.md)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Server, Device, launchBrowser, tempDir, cleanup, pyHelper, screenshotPath, requireWeb } from './harness.mjs';
import { makePdf, makePng } from './fixtures.mjs';

const BIG_MB = Number(process.env.VAULT_WEB_BIG_MB || 200);
const PASSWORD = 'sésame 42 ✓';
const TIMEOUT = { timeout: 120_000 };

let dir;
let server;
let jean;
let browser;
let links;
let cert;
const originals = {};
let expiringAt = 0;

function b64uToBuf(s) {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Every form in which a link's secret or password could leak into a request. */
function secretForms(link, password = null) {
  const frag = link.slice(link.indexOf('#') + 1).replace(/^pw\./, '');
  const raw = b64uToBuf(frag);
  const forms = [frag, raw.toString('hex'), raw.toString('base64'), raw.toString('base64').replace(/=+$/, '')];
  if (password) forms.push(password, encodeURIComponent(password), Buffer.from(password).toString('base64'));
  return forms;
}

/** A fresh browser context and page that record every request and every console problem. */
async function openPage({ viewport = { width: 1280, height: 900 }, locale = 'fr-FR', bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport, locale, acceptDownloads: true, bypassCSP });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  context.on('request', async (r) => {
    const entry = { url: r.url(), method: r.method(), headers: {}, body: r.postData() || '' };
    requests.push(entry);
    try {
      entry.headers = await r.allHeaders();
    } catch {
      entry.headers = r.headers();
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy|Refused to|Trusted Type/i.test(m.text())) {
      problems.push(`${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page, requests, problems };
}

function assertNoSecretSent(requests, link, password = null) {
  assert.ok(requests.length > 0);
  const forms = secretForms(link, password);
  for (const r of requests) {
    const text = [r.url, r.body, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`)].join('\n');
    for (const f of forms) assert.ok(!text.includes(f), `request ${r.method} ${r.url} carries the link secret or password`);
    const referer = r.headers.referer || r.headers.Referer || '';
    assert.equal(referer, '', `request ${r.url} has a Referer`);
  }
}

function apiRequests(requests) {
  return requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: screenshotPath(name), fullPage });
}

async function documentNames(page) {
  return page.locator('#doc-list .doc-name').allTextContents();
}

async function expectProblem(page, title) {
  await page.locator('#problem-title').filter({ hasText: title }).waitFor();
  assert.equal(await page.locator('#documents').isVisible(), false);
  assert.equal(await page.locator('#doc-list li').count(), 0);
}

async function download(page, name) {
  const [d] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('button', { name: `Télécharger ${name}`, exact: true }).click(),
  ]);
  return { name: d.suggestedFilename(), bytes: readFileSync(await d.path()) };
}

before(async () => {
  dir = tempDir();
  server = new Server(dir);
  await server.start();
  jean = new Device(dir, 'jean');
  jean.run(['init', '--server', server.url, '--user', 'jean', '--folder', jean.folder]);
  originals['papiers/acte-de-naissance.pdf'] = makePdf('Acte de naissance de Jean');
  originals['papiers/photo-identite.png'] = makePng();
  originals['papiers/notes.txt'] = Buffer.from('Rendez-vous CAF mardi 10 h\n');
  originals['papiers/gros-dossier.bin'] = randomBytes(BIG_MB * 1024 * 1024);
  for (const [p, b] of Object.entries(originals)) jean.write(p, b);
  jean.write('prive/journal.txt', 'ne pas partager');
  jean.write('avis-imposition.pdf', makePdf('Avis d imposition'));
  jean.run(['sync']);
  cert = pyHelper('certify.py', ['--home', jean.home, '--path', 'papiers/acte-de-naissance.pdf']);

  expiringAt = Date.now() + 2000;
  links = {
    expiring: jean.share(['papiers/notes.txt'], { expires: '2s' }),
    main: jean.share(['papiers']),
    password: jean.share(['papiers/notes.txt', 'papiers/photo-identite.png'], { password: PASSWORD }),
    revoked: jean.share(['papiers/notes.txt']),
    usedUp: jean.share(['papiers/notes.txt'], { maxUses: 1 }),
  };
  const revokedId = links.revoked.split('/s/')[1].split('#')[0];
  jean.run(['share', 'revoke', revokedId]);
  // one use of the single-use link, by the CLI
  new Device(dir, 'bouchra').run(['redeem', links.usedUp, '--list']);
  browser = await launchBrowser(dir);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  cleanup(dir);
});

describe('share page', () => {
  it('serves the page and its files with strict security headers and SRI', TIMEOUT, async () => {
    const gid = links.main.split('/s/')[1].split('#')[0];
    const res = await fetch(`${server.url}/s/${gid}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const csp = res.headers.get('content-security-policy');
    for (const d of [
      "default-src 'none'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "require-trusted-types-for 'script'",
    ]) {
      assert.ok(csp.includes(d), `CSP lacks ${d}`);
    }
    assert.ok(!/unsafe-inline|unsafe-eval'|https?:|\*/.test(csp.replace("'wasm-unsafe-eval'", '')), csp);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const html = await res.text();
    assert.ok(!/<script(?![^>]*\bsrc=)/i.test(html), 'inline script in the page');
    assert.ok(!/<style|\sstyle=/i.test(html), 'inline style in the page');
    assert.ok(!/\son[a-z]+=/i.test(html), 'inline event handler in the page');
    // every script and style sheet carries an integrity hash that matches what is served
    const tags = [...html.matchAll(/<(?:script|link)[^>]*(?:src|href)="(assets\/[0-9a-f]{64})"[^>]*integrity="(sha384-[^"]+)"/g)];
    assert.equal(tags.length, 2);
    for (const [, src, integrity] of tags) {
      const asset = await fetch(`${server.url}/s/${src}`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('content-security-policy'), csp);
      assert.match(asset.headers.get('cache-control'), /immutable/);
      const body = Buffer.from(await asset.arrayBuffer());
      assert.equal(`sha384-${createHash('sha384').update(body).digest('base64')}`, integrity);
      assert.equal(createHash('sha256').update(body).digest('hex'), src.slice(7));
      if (asset.headers.get('content-type').startsWith('text/javascript')) {
        // app.js fetches the worker with its SRI hash
        const m = body.toString().match(/"([0-9a-f]{64})"[^"]*"(sha384-[A-Za-z0-9+/=]{64})"/);
        assert.ok(m, 'worker hash not found in app.js');
        const worker = Buffer.from(await (await fetch(`${server.url}/s/assets/${m[1]}`)).arrayBuffer());
        assert.equal(`sha384-${createHash('sha384').update(worker).digest('base64')}`, m[2]);
      }
    }
    assert.equal((await fetch(`${server.url}/s/assets/${'0'.repeat(64)}`)).status, 404);
    assert.equal((await fetch(`${server.url}/s/assets/..%2fapp.py`)).status, 400);
    assert.equal((await fetch(`${server.url}/s/NOT-A-GRANT`)).status, 400);
  });

  it('opens a link, lists exactly the granted documents, downloads equal the originals', TIMEOUT, async () => {
    const { context, page, requests, problems } = await openPage();
    await page.goto(links.main);
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    const names = await documentNames(page);
    assert.deepEqual(names.sort(), Object.keys(originals).sort());
    await shot(page, '01-list-fr');
    // not certified yet: no trusted authority on this browser
    const acte = page.locator('#doc-list li', { hasText: 'acte-de-naissance.pdf' });
    await acte.getByText('Certificat non vérifié').waitFor();
    assert.equal(await acte.getByText(cert.issuer).count(), 0);
    for (const name of ['papiers/notes.txt', 'papiers/acte-de-naissance.pdf', 'papiers/photo-identite.png']) {
      const got = await download(page, name);
      assert.equal(got.name, name.split('/').pop());
      assert.ok(got.bytes.equals(originals[name]), `${name}: downloaded bytes differ`);
    }
    assert.deepEqual(problems, []);
    assertNoSecretSent(requests, links.main);
    // exactly: open once, then manifest and chunk blobs of this grant only
    const api = apiRequests(requests);
    const gid = links.main.split('/s/')[1].split('#')[0];
    assert.equal(api.filter((r) => r.url.endsWith('/open')).length, 1);
    for (const r of api) assert.ok(new URL(r.url).pathname.startsWith(`/v1/grants/${gid}/`), r.url);
    await context.close();
  });

  it('downloads a large document without freezing the page', TIMEOUT, async () => {
    const { context, page, requests, problems } = await openPage();
    await page.goto(links.main);
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    await page.evaluate(() => {
      window.__gaps = [];
      let last = performance.now();
      window.__tick = setInterval(() => {
        const now = performance.now();
        window.__gaps.push(now - last);
        last = now;
      }, 20);
    });
    const started = Date.now();
    const name = 'papiers/gros-dossier.bin';
    const done = download(page, name);
    const bar = page.locator('#doc-list li', { hasText: 'gros-dossier.bin' }).locator('progress');
    if (await bar.waitFor({ timeout: 5000 }).then(() => true, () => false)) await shot(page, '04-download-progress', false);
    const got = await done;
    const seconds = (Date.now() - started) / 1000;
    const gaps = await page.evaluate(() => {
      clearInterval(window.__tick);
      return window.__gaps;
    });
    assert.ok(got.bytes.equals(originals[name]), 'large download differs');
    const worst = Math.max(...gaps);
    console.log(`# ${BIG_MB} MB decrypted and verified in ${seconds.toFixed(1)} s; longest main-thread pause ${worst.toFixed(0)} ms`);
    assert.ok(worst < 1000, `the page froze for ${worst} ms`);
    assert.deepEqual(problems, []);
    assertNoSecretSent(requests, links.main);
    await context.close();
  });

  it('previews PDFs and images, and certifies only against a pinned authority', TIMEOUT, async () => {
    const { context, page, requests, problems } = await openPage();
    await page.goto(links.main);
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    const acte = page.locator('#doc-list li', { hasText: 'acte-de-naissance.pdf' });
    // an authority that signed nothing here: the claimed issuer is never shown
    await page.getByText('Autorités de confiance').click();
    await page.getByLabel('Nom de l’autorité').fill('Autre autorité');
    await page.getByLabel(/Clé publique/).fill(cert.other_authority_pk);
    await page.getByRole('button', { name: 'Ajouter l’autorité' }).click();
    await acte.getByText('Non certifié').waitFor();
    assert.equal(await acte.getByText(cert.issuer).count(), 0);
    // a malformed key is refused with a message
    await page.getByLabel('Nom de l’autorité').fill('X');
    await page.getByLabel(/Clé publique/).fill('pas-une-cle');
    await page.getByRole('button', { name: 'Ajouter l’autorité' }).click();
    await page.getByText('Cette clé n’est pas valable').waitFor();
    // the authority that certified the issuer
    await page.getByLabel('Nom de l’autorité').fill('Préfecture (test)');
    await page.getByLabel(/Clé publique/).fill(cert.authority_pk);
    await page.getByRole('button', { name: 'Ajouter l’autorité' }).click();
    await acte.getByText(`Certifié par ${cert.issuer}`).waitFor();
    await acte.getByText('Acte de naissance', { exact: true }).waitFor(); // the document type
    await shot(page, '02-certified');

    await page.getByRole('button', { name: 'Aperçu de papiers/acte-de-naissance.pdf' }).click();
    const frame = page.locator('#preview-body iframe');
    await frame.waitFor();
    assert.match(await frame.getAttribute('src'), /^blob:/);
    assert.equal(await page.locator('#preview-title').evaluate((e) => document.activeElement === e), true);
    await page.waitForTimeout(1500); // let the PDF viewer paint
    await shot(page, '05-preview-pdf');
    // certification re-checked against the downloaded document's own SHA-256
    await acte.getByText(`Certifié par ${cert.issuer}`).waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#preview').waitFor({ state: 'hidden' });
    const opener = page.getByRole('button', { name: 'Aperçu de papiers/acte-de-naissance.pdf' });
    assert.equal(await opener.evaluate((e) => document.activeElement === e), true, 'focus back on the preview button');

    await page.getByRole('button', { name: 'Aperçu de papiers/photo-identite.png' }).click();
    const img = page.locator('#preview-body img');
    await img.waitFor();
    assert.equal(await img.getAttribute('alt'), 'Aperçu de l’image papiers/photo-identite.png');
    assert.ok(await img.evaluate((e) => e.complete && e.naturalWidth === 240));
    await shot(page, '06-preview-image');

    // the pinned authorities stay in this browser: a reload keeps them
    await page.reload();
    await acte.getByText(`Certifié par ${cert.issuer}`).waitFor();
    assert.deepEqual(problems, []);
    assertNoSecretSent(requests, links.main);
    await context.close();
  });

  it('English, and a phone-sized screen', TIMEOUT, async () => {
    const { context, page, problems } = await openPage({ viewport: { width: 390, height: 844 } });
    await page.goto(links.main);
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    await shot(page, '07-mobile-list-fr');
    // no horizontal scrolling on a phone
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
    await page.getByRole('button', { name: 'Display this page in English' }).click();
    await page.getByRole('heading', { name: 'Documents shared with you' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.getByRole('button', { name: 'Download papiers/notes.txt' }).waitFor();
    await shot(page, '08-mobile-list-en');
    // the choice is remembered
    await page.reload();
    await page.getByRole('heading', { name: 'Documents shared with you' }).waitFor();
    await page.getByRole('button', { name: 'Afficher cette page en français' }).click();
    await page.getByRole('heading', { name: 'Documents partagés avec vous' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('asks for the password of a password link, keyboard only', TIMEOUT, async () => {
    const { context, page, requests, problems } = await openPage();
    await page.goto(links.password);
    const input = page.getByLabel('Mot de passe du lien');
    await input.waitFor();
    assert.equal(await input.evaluate((e) => document.activeElement === e), true, 'focus on the password field');
    assert.equal(await page.locator('#doc-list li').count(), 0);
    // nothing was asked of the server before the password
    assert.equal(apiRequests(requests).length, 0);
    await shot(page, '03-password');
    await page.keyboard.type('mauvais mot de passe');
    await page.keyboard.press('Enter');
    await page.getByText('Mot de passe incorrect').waitFor();
    assert.equal(await page.locator('#doc-list li').count(), 0);
    await shot(page, '03-password-wrong');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    // a grant of single files lists them by their own names
    assert.deepEqual((await documentNames(page)).sort(), ['notes.txt', 'photo-identite.png']);
    // Tab to the first download button and press Enter
    const target = page.getByRole('button', { name: 'Télécharger notes.txt' });
    for (let i = 0; i < 30 && !(await target.evaluate((e) => document.activeElement === e)); i++) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await target.evaluate((e) => document.activeElement === e), true, 'download button reachable by Tab');
    const [d] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.ok(readFileSync(await d.path()).equals(originals['papiers/notes.txt']));
    await page.getByText('Téléchargé : document vérifié et déchiffré.').waitFor();
    // the keyboard user keeps their place
    assert.equal(await target.evaluate((e) => document.activeElement === e), true, 'focus kept on the button');
    assert.deepEqual(problems, []);
    assertNoSecretSent(requests, links.password, PASSWORD);
    assertNoSecretSent(requests, links.password, 'mauvais mot de passe');
    await context.close();
  });

  const unavailable = 'Ce lien n’est plus valable';
  for (const [name, key, title, picture] of [
    ['an expired link', 'expiring', unavailable, '09-expired'],
    ['a revoked link', 'revoked', unavailable, '10-revoked'],
    ['a used-up link', 'usedUp', unavailable, '11-used-up'],
  ]) {
    it(`${name} shows the message and no document`, TIMEOUT, async () => {
      if (key === 'expiring') {
        const wait = expiringAt + 1500 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const { context, page, requests, problems } = await openPage();
      await page.goto(links[key]);
      await expectProblem(page, title);
      await shot(page, picture);
      assert.deepEqual(problems.filter((p) => !/status of 410/.test(p)), []);
      assertNoSecretSent(requests, links[key]);
      await context.close();
    });
  }

  it('a wrong secret shows the message and no document', TIMEOUT, async () => {
    const wrong = `${links.main.split('#')[0]}#${randomBytes(32).toString('base64url')}`;
    const { context, page, requests, problems } = await openPage();
    await page.goto(wrong);
    await expectProblem(page, 'Ce lien est incorrect');
    await shot(page, '12-wrong-secret');
    assert.deepEqual(problems.filter((p) => !/status of 403/.test(p)), []);
    assertNoSecretSent(requests, wrong);
    await context.close();
  });

  it('a damaged link shows the message without asking the server anything', TIMEOUT, async () => {
    const damaged = links.main.slice(0, -5);
    const { context, page, requests, problems } = await openPage();
    await page.goto(damaged);
    await expectProblem(page, 'Ce lien est incomplet ou abîmé');
    await shot(page, '13-damaged');
    assert.equal(apiRequests(requests).length, 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('refuses a tampered chunk and a tampered grant: nothing is released', TIMEOUT, async () => {
    const { context, page, problems } = await openPage();
    await page.goto(links.main);
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    await page.route('**/v1/grants/*/blobs/*', async (route) => {
      const response = await route.fetch();
      const body = await response.body();
      body[body.length - 1] ^= 1;
      await route.fulfill({ response, body });
    });
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.getByRole('button', { name: 'Télécharger papiers/notes.txt' }).click();
    await page.getByText('Ce document n’a pas pu être vérifié').waitFor();
    await page.getByRole('button', { name: 'Aperçu de papiers/photo-identite.png' }).click();
    await page.locator('#doc-list li', { hasText: 'photo-identite.png' }).getByText('n’a pas pu être vérifié').waitFor();
    assert.equal(downloads, 0);
    assert.equal(await page.locator('#preview').isVisible(), false);
    await shot(page, '14-tampered-document');
    await page.unrouteAll();
    // a server that changes the signed grant (here: the header's expiry) is refused
    await page.route('**/v1/grants/*/open', async (route) => {
      const response = await route.fetch();
      const j = await response.json();
      const header = JSON.parse(b64uToBuf(j.header).toString());
      header.expires += 86400;
      j.header = Buffer.from(JSON.stringify(header)).toString('base64url');
      await route.fulfill({ response, json: j });
    });
    await page.reload();
    await expectProblem(page, 'Les documents n’ont pas pu être vérifiés');
    await shot(page, '15-tampered-grant');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('has no accessibility violation (axe-core, WCAG 2.1 A and AA) in its main states', TIMEOUT, async () => {
    // axe is injected through the DevTools protocol; CSP is lifted for this context only
    const axeSource = readFileSync(requireWeb.resolve('axe-core/axe.min.js'), 'utf8');
    const { context, page } = await openPage({ bypassCSP: true, viewport: { width: 390, height: 844 } });
    const audit = async (state) => {
      await page.evaluate(axeSource);
      const result = await page.evaluate(() =>
        window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
      );
      const found = result.violations.map((v) => `${state}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      assert.deepEqual(found, [], found.join('\n'));
      assert.ok(result.passes.length > 10);
    };
    await page.goto(links.password);
    await page.getByLabel('Mot de passe du lien').waitFor();
    await audit('password');
    await page.getByLabel('Mot de passe du lien').fill('faux');
    await page.keyboard.press('Enter');
    await page.getByText('Mot de passe incorrect').waitFor();
    await audit('wrong password');
    await page.goto(links.main);
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    await page.getByText('Autorités de confiance').click();
    await audit('list');
    await page.getByRole('button', { name: 'Aperçu de papiers/photo-identite.png' }).click();
    await page.locator('#preview-body img').waitFor();
    await audit('preview');
    await page.getByRole('button', { name: 'Display this page in English' }).click();
    await audit('list (English)');
    await page.goto(links.revoked);
    await page.locator('#problem-title').filter({ hasText: 'no longer valid' }).waitFor();
    await audit('problem');
    await context.close();
  });

  it('the server log never holds the secret', TIMEOUT, async () => {
    const log = server.serverLog();
    for (const link of Object.values(links)) {
      for (const f of secretForms(link)) assert.ok(!log.includes(f));
    }
    assert.ok(!log.includes(PASSWORD));
  });
});
