// The desktop app beyond the first screens: a reminder (a request due soon) as a toast and a
// badge, again in a page opened later, never more often than the owner's interval; a PDF drawn
// in the page by pdf.js; files and a folder dropped on Mes documents by Chromium's own drag and
// drop (DevTools protocol, real files and folder entries), progress shown, seen on a second CLI
// device; a real conflict made by two CLI devices, settled with « Garder celle-ci » and
// « Garder les deux » (checked on disk and on a second device); a desktop notification while the
// page is hidden; the auto-lock after the idle time of Paramètres (the page's clock advanced),
// the daemon then really locked. axe-core on every new screen, 390x844 without horizontal scroll.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  Server, Device, App, launchBrowser, tempDir, cleanup, openPage, screen, statusRegion, toasts, lastLine, PASSPHRASE, PYTHON, ROOT,
} from './harness.mjs';
import { makePdf, makePng } from '../web/fixtures.mjs';

const TIMEOUT = { timeout: 240_000 };
const REMINDER = 'Rappel : une demande attend votre réponse.';
const APPT_PLACE = 'Mairie du 3e, guichet 4';
let dir;
let server;
let browser;
let jean;
let jean2;
let jean3;
let mairie;
let app;
let page;
let context;
let problems;

// every toast a page shows, in order (toasts leave the page after a few seconds)
const TOAST_LOG = () => {
  window.__toastLog = [];
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver((ms) => {
      for (const m of ms) for (const n of m.addedNodes) window.__toastLog.push(n.textContent);
    }).observe(document.getElementById('toasts'), { childList: true });
  });
};
const toastLog = (p) => p.evaluate(() => window.__toastLog);
const apiGet = (p, url) =>
  p.evaluate(async (u) => {
    const res = await fetch(u, { cache: 'no-store' });
    return { status: res.status, body: await res.json() };
  }, url);

async function go(p, name) {
  await p.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name, exact: true }).click();
  await p.getByRole('heading', { level: 1, name }).waitFor();
}

async function until(check, what, tries = 30) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail(`never: ${what}`);
}

/** Chromium's own drag and drop of files and folders from the disk (DevTools protocol). */
async function dropFromDisk(p, locator, paths) {
  const box = await locator.boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const cdp = await p.context().newCDPSession(p);
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  await cdp.detach();
}

before(async () => {
  dir = tempDir('vault-app-desktop-');
  // the operator ships one trust root (an authority's invitation, signed by the operator key)
  const finances = new Device(dir, 'finances');
  finances.run(['authority', 'init']);
  const invitation = path.join(dir, 'finances.invitation.json');
  finances.run(['authority', 'invite', '--out', invitation, '--name', 'Finances publiques']);
  const roots = path.join(dir, 'roots.json');
  const made = spawnSync(PYTHON, ['-m', 'vault_server', 'trust-roots', 'make', '--key', path.join(dir, 'operator.key'), '--name', 'Coffre de la Métropole', '--out', roots, invitation], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  server = new Server(dir, ['--trust-roots', roots]);
  await server.start();
  mairie = new Device(dir, 'mairie');
  mairie.run(['init', '--server', server.url, '--user', 'mairie', '--folder', mairie.folder]);
  const res = spawnSync(PYTHON, ['-m', 'vault_server', 'grant-issuer', '--data', server.data, 'mairie'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const auth = new Device(dir, 'authority');
  const authPk = lastLine(auth.run(['authority', 'init']).stdout);
  const issuerPk = lastLine(mairie.run(['issuer', 'init', '--name', 'Mairie de Lyon']).stdout);
  const cert = path.join(dir, 'mairie.cert.json');
  auth.run(['authority', 'certify', '--issuer-key', issuerPk, '--name', 'Mairie de Lyon', '--valid', '30d', '--out', cert]);
  mairie.run(['issuer', 'set-cert', cert]);

  jean = new Device(dir, 'jean');
  jean.write('avis-imposition.pdf', makePdf('Avis d imposition 2026'));
  jean.write('conflit.txt', 'version de départ\n');
  jean.run(['init', '--server', server.url, '--user', 'jean', '--folder', jean.folder]);
  jean.run(['trust', 'add', authPk, '--name', 'Préfecture']);
  jean.run(['sync']);
  jean2 = new Device(dir, 'jean2');
  jean2.run(['login', '--server', server.url, '--user', 'jean', '--folder', jean2.folder]);
  jean2.run(['sync']);
  jean3 = new Device(dir, 'jean3');
  jean3.run(['login', '--server', server.url, '--user', 'jean', '--folder', jean3.folder]);
  jean3.run(['sync']);

  // a request due tomorrow: within the owner's default « 3 days before »
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  mairie.run(['issuer', 'request', '--to', 'jean', '--need', 'proof-of-address', '--due', tomorrow, '--message', 'Merci de nous envoyer un justificatif de domicile.']);
  // an appointment in ten days (outside « 3 days before »: no second reminder)
  const inTen = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  mairie.run(['issuer', 'appointment', '--to', 'jean', '--at', `${inTen}T10:30`, '--place', APPT_PLACE, '--bring', 'id-card', '--message', 'Rendez-vous RSA.']);

  app = new App(jean);
  await app.start();
  browser = await launchBrowser(dir);
  ({ context, page, problems } = await openPage(browser, { init: TOAST_LOG }));
});

after(async () => {
  await context?.close();
  await browser?.close();
  await app?.stop();
  await server?.stop();
  cleanup(dir);
});

describe('vault app: reminders, PDF, drag and drop, conflicts, notifications, auto-lock', () => {
  it('shows a reminder as a toast and a badge once unlocked', TIMEOUT, async () => {
    await page.goto(app.url);
    await page.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Déverrouiller', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 60_000 });
    await toasts(page).getByText(REMINDER).waitFor({ timeout: 30_000 });
    const link = page.getByRole('link', { name: 'Demandes', exact: true });
    await link.locator('.badge-remind').waitFor();
    assert.match(await page.locator('#badge-requests').textContent(), /1 rappel/);
    await go(page, 'Demandes');
    await page.locator('#view li').filter({ hasText: 'Mairie de Lyon' }).getByText('Rappel : la date approche').waitFor();
    await screen(page, 'requests-reminder');
  });

  it('shows it again in a page opened later, and never more often than the interval', TIMEOUT, async () => {
    const again = await openPage(browser, { init: TOAST_LOG });
    const p2 = again.page;
    await p2.goto(app.freshUrl());
    await p2.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 30_000 });
    await toasts(p2).getByText(REMINDER).waitFor({ timeout: 10_000 });
    await p2.getByRole('link', { name: 'Demandes', exact: true }).locator('.badge-remind').waitFor();
    // a lock and an unlock restart the daemon's sync and its reminder check: no new reminder
    await p2.getByRole('button', { name: 'Verrouiller', exact: true }).click();
    await p2.getByRole('heading', { name: 'Coffre verrouillé' }).waitFor();
    await p2.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
    await p2.getByRole('button', { name: 'Déverrouiller', exact: true }).click();
    await p2.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 60_000 });
    await statusRegion(p2).filter({ hasText: 'À jour' }).waitFor({ timeout: 60_000 });
    await p2.getByRole('link', { name: 'Demandes', exact: true }).locator('.badge-remind').waitFor();
    await p2.waitForTimeout(3000);
    const shown = (await toastLog(p2)).filter((x) => x.startsWith('Rappel'));
    assert.deepEqual(shown, [REMINDER], 'the reopened page showed the reminder once, the unlock added none');
    const notices = await apiGet(p2, '/api/notifications');
    assert.equal(notices.status, 200);
    assert.equal(notices.body.filter((n) => n.kind === 'reminder').length, 1, JSON.stringify(notices.body));
    const cfg = JSON.parse(readFileSync(path.join(jean.home, 'config.json'), 'utf8'));
    assert.equal(Object.keys(cfg.reminded || {}).length, 1, 'the reminder time is kept in the profile');
    await again.context.close();
    // the first page is still unlocked and saw no second reminder either
    await page.waitForTimeout(500);
    assert.deepEqual((await toastLog(page)).filter((x) => x.startsWith('Rappel')), [REMINDER]);
    assert.deepEqual([...problems, ...again.problems], []);
  });

  it('shows a booked appointment in Demandes and on Mes documents; « Ajouter à mon agenda » saves an iCalendar file', TIMEOUT, async () => {
    await go(page, 'Demandes');
    const box = page.locator('#view section.appointments');
    await box.getByRole('heading', { level: 2, name: 'Rendez-vous' }).waitFor();
    const card = box.locator('li').filter({ hasText: `Lieu : ${APPT_PLACE}` });
    await card.getByText('Certifié par Mairie de Lyon').waitFor();
    await card.getByText('(pas encore dans votre coffre)').waitFor();
    await card.getByText('Rendez-vous RSA.').waitFor();
    const [saved] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Ajouter à mon agenda', exact: true }).click()]);
    assert.equal(saved.suggestedFilename(), 'rendez-vous.ics');
    const ics = readFileSync(await saved.path(), 'utf8');
    assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
    assert.match(ics, new RegExp(`LOCATION:${APPT_PLACE.replace(/,/g, '\\\\,')}\r\n`));
    assert.match(ics, /SUMMARY:Rendez-vous : Mairie de Lyon\r\n/);
    await screen(page, 'requests-appointment');
    await go(page, 'Mes documents');
    await page.locator('#view section.appointments li').filter({ hasText: APPT_PLACE }).waitFor();
    await screen(page, 'documents-appointment');
    assert.deepEqual(problems, []);
  });

  it('proposes the operator\'s trust roots in Paramètres and trusts them only after « Faire confiance »', TIMEOUT, async () => {
    const trusted = () => JSON.parse(jean.run(['trust', 'list', '--json']).stdout).map((a) => a.name);
    assert.ok(!trusted().includes('Finances publiques'));
    await go(page, 'Paramètres');
    const box = page.locator('#trust-roots');
    await box.getByRole('heading', { name: 'Autorités proposées par Coffre de la Métropole' }).waitFor({ timeout: 30_000 });
    const offer = JSON.parse(jean.run(['trust', 'roots', '--json']).stdout);
    await box.getByText(`Empreinte : ${offer.roots[0].words}`).waitFor();
    await screen(page, 'settings-trust-roots');
    // Annuler: nothing trusted
    await box.getByRole('button', { name: 'Faire confiance à ces autorités', exact: true }).click();
    let dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Faire confiance aux autorités de Coffre de la Métropole ?' }).waitFor();
    await dialog.getByRole('button', { name: 'Annuler', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(!trusted().includes('Finances publiques'));
    await box.getByRole('button', { name: 'Faire confiance à ces autorités', exact: true }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Faire confiance', exact: true }).click();
    await toasts(page).getByText('Autorités de Coffre de la Métropole acceptées.').waitFor({ timeout: 30_000 });
    await page.locator('#trust-roots').getByText('Vous avez accepté ces autorités.').waitFor();
    assert.ok(trusted().includes('Finances publiques'));
    assert.deepEqual(problems, []);
  });

  it('asks an administration for a document (« Demander un document »), fulfilled into the inbox', TIMEOUT, async () => {
    await go(page, 'Demandes');
    const box = page.locator('#view section.asks');
    await box.getByRole('heading', { level: 2, name: 'Demander un document' }).waitFor();
    await box.getByLabel('Administration', { exact: true }).fill('mairie');
    await box.getByLabel('Document demandé', { exact: true }).selectOption({ label: 'Acte de naissance' });
    await box.getByLabel('Message (facultatif)', { exact: true }).fill('Une copie intégrale, s’il vous plaît.');
    await box.getByRole('button', { name: 'Envoyer la demande', exact: true }).click();
    await toasts(page).getByText('Demande envoyée.').waitFor({ timeout: 30_000 });
    const item = page.locator('#view section.asks li').filter({ hasText: 'Acte de naissance, demandé à mairie' });
    await item.getByText('En attente de l’administration.').waitFor();
    const received = JSON.parse(mairie.run(['issuer', 'asks', '--json']).stdout);
    assert.equal(received.length, 1);
    assert.equal(received[0].type, 'birth-certificate');
    const acte = path.join(dir, 'acte.pdf');
    writeFileSync(acte, makePdf('Acte de naissance'));
    mairie.run(['issuer', 'fulfil', received[0].id, acte]);
    await go(page, 'Boîte de réception');
    await go(page, 'Demandes');
    await page.locator('#view section.asks li').filter({ hasText: 'Acte de naissance, demandé à mairie' }).getByText('Reçu : le document vous attend dans la boîte de réception.').waitFor({ timeout: 30_000 });
    await screen(page, 'requests-ask');
    await go(page, 'Boîte de réception');
    await page.locator('#view li').filter({ hasText: 'Certifié par Mairie de Lyon' }).first().waitFor();
    assert.deepEqual(problems, []);
  });

  it('draws a PDF in the page with pdf.js (no plug-in, no frame)', TIMEOUT, async () => {
    await go(page, 'Mes documents');
    await page.getByRole('button', { name: 'avis-imposition.pdf' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Aperçu : avis-imposition.pdf' }).waitFor();
    const canvas = dialog.getByRole('img', { name: 'Page 1 sur 1 de avis-imposition.pdf' });
    await canvas.waitFor();
    await dialog.locator('canvas[data-rendered="1"]').waitFor({ timeout: 30_000 });
    assert.equal(await dialog.locator('iframe, embed, object').count(), 0);
    const ink = await canvas.evaluate((c) => {
      const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 128 && data[i + 1] < 128 && data[i + 2] < 128) dark++;
      return { dark, total: data.length / 4, width: c.width, height: c.height };
    });
    assert.ok(ink.dark > 200 && ink.dark < ink.total / 4, `the page's text is drawn: ${JSON.stringify(ink)}`);
    assert.ok(Math.abs(ink.height / ink.width - 792 / 612) < 0.02, `the page's proportions: ${JSON.stringify(ink)}`);
    assert.match(await dialog.locator('figcaption').textContent(), /Avis d imposition 2026/);
    await dialog.getByText('PDF, 1 page', { exact: true }).waitFor();
    assert.equal(await dialog.getByText('Ce PDF ne peut pas être affiché ici', { exact: false }).count(), 0);
    await screen(page, 'preview-pdf');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual(problems, []);
  });

  it('adds files and a folder dropped on Mes documents, with progress, seen on a second device', TIMEOUT, async () => {
    const src = path.join(dir, 'a-deposer');
    mkdirSync(path.join(src, 'Impôts 2026', 'annexes'), { recursive: true });
    const dropped = {
      'quittance.pdf': makePdf('Quittance de loyer'),
      'photo-identite.png': makePng(),
      'Impôts 2026/declaration.txt': Buffer.from('Déclaration de revenus\n'),
      'Impôts 2026/annexes/annexe-1.txt': Buffer.alloc(3 * 1024 * 1024, 'a'),
    };
    for (const [rel, data] of Object.entries(dropped)) writeFileSync(path.join(src, rel), data);
    await page.evaluate(() => {
      window.__progress = [];
      const box = document.getElementById('upload');
      new MutationObserver(() => {
        const bar = box.querySelector('progress');
        if (bar && !box.hidden) window.__progress.push(`${bar.value}|${box.textContent}`);
      }).observe(box, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await dropFromDisk(page, page.locator('#docs-zone .drop-hint'), ['quittance.pdf', 'photo-identite.png', 'Impôts 2026'].map((n) => path.join(src, n)));
    await toasts(page).getByText('4 documents ajoutés.').waitFor({ timeout: 60_000 });
    const progress = await page.evaluate(() => window.__progress);
    assert.ok(progress.length > 0 && progress.some((p) => p.includes('Envoi de 4 fichiers')), JSON.stringify(progress));
    await page.getByRole('button', { name: 'Impôts 2026' }).waitFor();
    await page.getByRole('button', { name: 'quittance.pdf' }).waitFor();
    for (const rel of Object.keys(dropped)) assert.deepEqual(jean.read(rel), dropped[rel], `${rel} in the synced folder`);
    await until(() => {
      jean2.run(['sync']);
      return Object.keys(dropped).every((rel) => existsSync(path.join(jean2.folder, rel)));
    }, 'the second device received the dropped files');
    for (const rel of Object.keys(dropped)) assert.deepEqual(jean2.read(rel), dropped[rel], rel);
  });

  it('lists a real conflict with both versions; « Garder celle-ci » and « Garder les deux »', TIMEOUT, async () => {
    const copies = (folder) => readdirSync(folder).filter((n) => n.startsWith('conflit (conflict'));
    jean2.write('conflit.txt', 'version de jean2\n');
    jean2.run(['sync']);
    jean3.write('conflit.txt', 'version de jean3\n');
    jean3.run(['sync']);
    assert.equal(copies(jean3.folder).length, 1, readdirSync(jean3.folder).join(', '));
    const box = page.locator('#conflicts');
    await box.getByRole('heading', { name: 'Conflits à régler' }).waitFor({ timeout: 60_000 });
    await box.getByRole('heading', { name: 'conflit.txt', exact: true }).waitFor();
    // the copy was made by jean3 and arrived here by sync: the status region counts it too
    await statusRegion(page).filter({ hasText: '1 conflit' }).waitFor({ timeout: 60_000 });
    const current = box.locator('li').filter({ hasText: 'Version actuelle' });
    const other = box.locator('li').filter({ hasText: 'Version de l’appareil « jean3 »' });
    await current.getByRole('button', { name: 'conflit.txt', exact: true }).waitFor();
    await other.getByRole('button', { name: /^conflit \(conflict, jean3, \d{4}-\d{2}-\d{2}\)\.txt$/ }).waitFor();
    assert.equal(await box.getByRole('button', { name: 'Garder celle-ci', exact: true }).count(), 2);
    await box.getByRole('button', { name: 'Garder les deux', exact: true }).waitFor();
    await screen(page, 'conflicts');
    await other.getByRole('button', { name: 'Garder celle-ci', exact: true }).click();
    await toasts(page).getByText('Conflit réglé.').first().waitFor({ timeout: 30_000 });
    assert.equal(jean.read('conflit.txt').toString(), 'version de jean3\n');
    assert.deepEqual(copies(jean.folder), []);
    await box.waitFor({ state: 'hidden', timeout: 30_000 });
    await statusRegion(page).filter({ hasText: 'conflit' }).waitFor({ state: 'detached', timeout: 60_000 });
    await until(() => {
      jean2.run(['sync']);
      return jean2.read('conflit.txt').toString() === 'version de jean3\n' && copies(jean2.folder).length === 0;
    }, 'the second device has the version kept and no copy');
    jean3.run(['sync']);
    jean2.write('conflit.txt', 'deuxième version de jean2\n');
    jean2.run(['sync']);
    jean3.write('conflit.txt', 'deuxième version de jean3\n');
    jean3.run(['sync']);
    await box.getByRole('button', { name: 'Garder les deux', exact: true }).waitFor({ timeout: 60_000 });
    await box.getByRole('button', { name: 'Garder les deux', exact: true }).click();
    await toasts(page).getByText('Conflit réglé.').first().waitFor({ timeout: 30_000 });
    assert.equal(jean.read('conflit.txt').toString(), 'deuxième version de jean2\n');
    assert.equal(jean.read('conflit (2).txt').toString(), 'deuxième version de jean3\n');
    assert.deepEqual(copies(jean.folder), []);
    await until(() => {
      jean2.run(['sync']);
      return existsSync(path.join(jean2.folder, 'conflit (2).txt')) && copies(jean2.folder).length === 0;
    }, 'the second device has both versions');
    assert.equal(jean2.read('conflit.txt').toString(), 'deuxième version de jean2\n');
    assert.equal(jean2.read('conflit (2).txt').toString(), 'deuxième version de jean3\n');
    assert.deepEqual(problems, []);
  });

  it('sends a desktop notification when permitted and the page is hidden', TIMEOUT, async () => {
    // the test watches the Notification API and says when the page is hidden (headless
    // Chromium always reports a visible page); the product code is unchanged
    const watched = () => {
      window.__notes = [];
      const Real = window.Notification;
      function Watched(title, options = {}) {
        window.__notes.push({ title, body: options.body, hidden: document.visibilityState });
        return new Real(title, options);
      }
      Object.defineProperty(Watched, 'permission', { get: () => Real.permission });
      Watched.requestPermission = (...a) => Real.requestPermission(...a);
      window.Notification = Watched;
      Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (window.__hidden ? 'hidden' : 'visible') });
      Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => !!window.__hidden });
    };
    const n = await openPage(browser, { permissions: ['notifications'], init: watched });
    const p = n.page;
    await p.goto(app.freshUrl());
    await p.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 30_000 });
    await go(p, 'Paramètres');
    await p.getByText('Les notifications sont activées.').waitFor();
    const letter = path.join(dir, 'courrier.pdf');
    // visible: a toast, no desktop notification
    writeFileSync(letter, makePdf('Courrier de la mairie'));
    mairie.run(['issuer', 'deposit', '--to', 'jean', '--type', 'letter', letter, '--title', 'Courrier']);
    await toasts(p).getByText('Nouveau document dans votre Boîte de réception.').first().waitFor({ timeout: 5_000 });
    assert.deepEqual(await p.evaluate(() => window.__notes), []);
    // hidden: a desktop notification within 5 s
    await p.evaluate(() => {
      window.__hidden = true;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    writeFileSync(letter, makePdf('Second courrier de la mairie'));
    mairie.run(['issuer', 'deposit', '--to', 'jean', '--type', 'letter', letter, '--title', 'Second courrier']);
    const t0 = Date.now();
    await p.waitForFunction(() => window.__notes.length > 0, null, { timeout: 5_000 });
    const notes = await p.evaluate(() => window.__notes);
    assert.deepEqual(notes[0], { title: 'Coffre', body: 'Nouveau document dans votre Boîte de réception.', hidden: 'hidden' });
    console.log(`# desktop notification ${Date.now() - t0} ms after the deposit (${notes.length} sent)`);
    assert.deepEqual(n.problems, []);
    await n.context.close();
  });

  it('locks itself after the idle time of Paramètres; the daemon is locked', TIMEOUT, async () => {
    const l = await openPage(browser);
    const p = l.page;
    await p.clock.install();
    await p.goto(app.freshUrl());
    await p.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 30_000 });
    await go(p, 'Paramètres');
    const minutes = p.getByLabel('Verrouillage automatique (minutes sans activité)', { exact: true });
    await minutes.fill('1');
    await p.locator('form').filter({ has: minutes }).getByRole('button', { name: 'Enregistrer', exact: true }).click();
    await toasts(p).getByText('Enregistré').first().waitFor();
    // someone working in another tab of the same browser: this idle tab does not lock the daemon
    const p2 = await l.context.newPage();
    await p2.goto(app.freshUrl());
    await p2.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 30_000 });
    for (let i = 0; i < 4; i++) {
      await p2.keyboard.press('Tab');
      await p.waitForTimeout(200);
      if (i < 3) await p.clock.fastForward('00:25'); // 75 s in all: past the minute for this tab
    }
    await p.waitForTimeout(500);
    assert.notEqual((await apiGet(p, '/api/status')).body.state, 'locked');
    await p2.close();
    // 40 s idle: still open; past the minute: locked
    await p.clock.fastForward('00:40');
    await p.waitForTimeout(500);
    assert.equal((await apiGet(p, '/api/status')).body.state !== 'locked', true);
    await p.getByRole('heading', { level: 1, name: 'Paramètres' }).waitFor();
    await p.clock.fastForward('00:40');
    await p.getByRole('heading', { name: 'Coffre verrouillé' }).waitFor({ timeout: 10_000 });
    const refused = await apiGet(p, '/api/documents');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'locked');
    // the other page follows: its next status poll finds the daemon locked
    await page.getByRole('heading', { name: 'Coffre verrouillé' }).waitFor({ timeout: 15_000 });
    await screen(p, 'lock');
    // back to 15 minutes
    await p.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
    await p.getByRole('button', { name: 'Déverrouiller', exact: true }).click();
    await p.getByRole('heading', { level: 1, name: 'Paramètres' }).waitFor({ timeout: 60_000 });
    await minutes.fill('15');
    await p.locator('form').filter({ has: minutes }).getByRole('button', { name: 'Enregistrer', exact: true }).click();
    await toasts(p).getByText('Enregistré').first().waitFor();
    assert.deepEqual(l.problems, []);
    await l.context.close();
  });
});
