// The issuer desk (« Espace administration ») of the desktop app: a real server, a certified
// issuer profile « Mairie de Lyon » made by the CLI and running `vault app`, an owner « jean »
// made by the CLI. In the page: a document deposited (jean's `vault inbox` sees it certified),
// a request with items and a due date (`vault requests --json`), an appointment (`vault
// appointments --json`), the request answered by jean's CLI item by item (the desk shows it
// partly provided by itself, live, then answered), jean's ask (`vault ask`) fulfilled from the
// desk (`vault asks --json` says fulfilled), a bad recipient's French sentence; axe-core (0
// serious or critical) on each screen of the desk, every action reached at 390x844 (the ask
// fulfilled there), the desk in English; screenshots with VAULT_SCREENSHOTS=1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Server, Device, App, launchBrowser, tempDir, cleanup, openPage, screen, toasts, lastLine, PHONE, DESKTOP, PASSPHRASE, PYTHON, ROOT } from './harness.mjs';
import { makePdf } from '../web/fixtures.mjs';

const TIMEOUT = { timeout: 240_000 };
const DESK = 'Espace administration';
let dir;
let server;
let browser;
let mairie;
let jean;
let app;
let page;
let context;
let problems;
const files = {};

const form = (name) => page.getByRole('form', { name, exact: true });
const json = (dev, args) => JSON.parse(dev.run([...args, '--json']).stdout);
const sentCard = (text) => page.locator('section[aria-labelledby=desk-sent] li').filter({ hasText: text });

async function refresh() {
  await page.getByRole('button', { name: 'Actualiser les listes', exact: true }).click();
  await page.getByRole('heading', { name: 'Demandes envoyées', exact: true }).waitFor();
}

before(async () => {
  dir = tempDir('vault-desk-');
  server = new Server(dir);
  await server.start();
  const auth = new Device(dir, 'authority');
  const authPk = lastLine(auth.run(['authority', 'init']).stdout);
  mairie = new Device(dir, 'mairie');
  mairie.run(['init', '--server', server.url, '--user', 'mairie', '--folder', mairie.folder]);
  const granted = spawnSync(PYTHON, ['-m', 'vault_server', 'grant-issuer', '--data', server.data, 'mairie'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(granted.status, 0, granted.stderr);
  const issuerPk = lastLine(mairie.run(['issuer', 'init', '--name', 'Mairie de Lyon']).stdout);
  const cert = path.join(dir, 'mairie.cert.json');
  auth.run(['authority', 'certify', '--issuer-key', issuerPk, '--name', 'Mairie de Lyon', '--valid', '30d', '--out', cert]);
  mairie.run(['issuer', 'set-cert', cert]);
  mairie.run(['issuer', 'template', 'create', 'rsa-2027', '--need', 'tax-notice', '--need', 'id-card', '--due-in', '30d', '--message', 'Dossier RSA']);

  jean = new Device(dir, 'jean');
  jean.run(['init', '--server', server.url, '--user', 'jean', '--folder', jean.folder]);
  jean.run(['trust', 'add', authPk, '--name', 'Préfecture']);

  for (const [name, title] of [['acte-naissance.pdf', 'Acte de naissance de Jean'], ['copie-integrale.pdf', 'Copie intégrale']]) {
    files[name] = path.join(dir, name);
    writeFileSync(files[name], makePdf(title));
  }
  app = new App(mairie);
  await app.start();
  browser = await launchBrowser(dir);
  ({ context, page, problems } = await openPage(browser));
});

after(async () => {
  await context?.close();
  await browser?.close();
  await app?.stop();
  await server?.stop();
  cleanup(dir);
});

describe('vault app: the issuer desk', () => {
  let requestId;
  let depositId;

  it('shows Espace administration in the navigation and deposits a certified document', TIMEOUT, async () => {
    await page.goto(app.url);
    await page.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Déverrouiller', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 60_000 });
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: DESK, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: DESK }).waitFor();
    await page.getByText('Certificat de Mairie de Lyon, valable jusqu’au').waitFor();
    await page.getByRole('heading', { name: 'Demandes envoyées' }).waitFor();
    await screen(page, 'desk');

    const deposit = form('Déposer un document');
    await deposit.getByLabel('Destinataire', { exact: true }).fill('jean');
    await deposit.getByLabel('Type', { exact: true }).selectOption({ label: 'Acte de naissance' });
    await deposit.getByLabel('Titre', { exact: true }).fill('Acte de naissance');
    await deposit.getByLabel('Fichier', { exact: true }).setInputFiles(files['acte-naissance.pdf']);
    await deposit.getByRole('button', { name: 'Déposer', exact: true }).click();
    await deposit.getByRole('status').filter({ hasText: 'Document « Acte de naissance » déposé pour jean.' }).waitFor({ timeout: 30_000 });
    const [got] = json(jean, ['inbox']);
    assert.deepEqual([got.certified, got.issuer, got.title, got.filename, got.type], [true, 'Mairie de Lyon', 'Acte de naissance', 'acte-naissance.pdf', 'birth-certificate']);
    depositId = got.id;
    assert.equal(await deposit.getByLabel('Destinataire', { exact: true }).inputValue(), '', 'the form is emptied for the next one');
  });

  it('says a bad recipient in French and deposits nothing', TIMEOUT, async () => {
    const deposit = form('Déposer un document');
    // a missing field is said before anything is sent
    await deposit.getByLabel('Destinataire', { exact: true }).fill('personne');
    await deposit.getByRole('button', { name: 'Déposer', exact: true }).click();
    await deposit.getByRole('alert').filter({ hasText: 'Choisissez un fichier.' }).waitFor();
    await deposit.getByLabel('Fichier', { exact: true }).setInputFiles(files['acte-naissance.pdf']);
    await deposit.getByRole('button', { name: 'Déposer', exact: true }).click();
    await deposit.getByRole('alert').filter({ hasText: 'Aucun compte personne sur ce serveur.' }).waitFor({ timeout: 30_000 });
    assert.equal(await deposit.locator('[role=status]').textContent(), '', 'no success line beside the error');
    await screen(page, 'desk-error');
    assert.equal(json(jean, ['inbox']).length, 1);
    await deposit.getByLabel('Destinataire', { exact: true }).fill('');
    await deposit.getByLabel('Fichier', { exact: true }).setInputFiles([]);
  });

  it('sends a request with items and a due date, seen by the owner', TIMEOUT, async () => {
    const request = form('Nouvelle demande');
    await request.getByLabel('Destinataire', { exact: true }).fill('jean');
    const needs = request.getByRole('group', { name: 'Documents demandés', exact: true });
    await needs.getByLabel('Acte de naissance', { exact: true }).check();
    await needs.getByLabel('Justificatif de domicile', { exact: true }).check();
    await request.getByLabel('Échéance', { exact: true }).fill('2030-12-15');
    await request.getByLabel('Message', { exact: true }).fill('Merci de compléter votre dossier.');
    await request.getByRole('button', { name: 'Envoyer la demande', exact: true }).click();
    await request.getByRole('status').filter({ hasText: 'Demande envoyée à jean.' }).waitFor({ timeout: 30_000 });
    const [r] = json(jean, ['requests']);
    assert.deepEqual([r.needs, r.message, r.requester, r.state], [['birth-certificate', 'proof-of-address'], 'Merci de compléter votre dossier.', 'Mairie de Lyon', 'open']);
    requestId = r.id;
    const item = sentCard('Demande à jean');
    await item.getByText('État : en attente').waitFor();
    await item.getByText('Acte de naissance : manquant').waitFor();
    await item.getByText('Justificatif de domicile : manquant').waitFor();
    // the saved checklist: its documents, delay and message
    await request.getByLabel('Destinataire', { exact: true }).fill('jean');
    await request.getByLabel('Modèle', { exact: true }).selectOption('rsa-2027');
    await request.getByRole('button', { name: 'Envoyer la demande', exact: true }).click();
    await request.getByRole('status').filter({ hasText: 'Demande envoyée à jean.' }).waitFor({ timeout: 30_000 });
    const fromTemplate = json(jean, ['requests']).find((x) => x.id !== requestId);
    assert.deepEqual([fromTemplate.needs, fromTemplate.message], [['tax-notice', 'id-card'], 'Dossier RSA']);
  });

  it('books an appointment, seen by the owner', TIMEOUT, async () => {
    const booking = form('Rendez-vous');
    await booking.getByLabel('Destinataire', { exact: true }).fill('jean');
    await booking.getByLabel('Date et heure', { exact: true }).fill('2030-12-16T10:30');
    await booking.getByLabel('Lieu', { exact: true }).fill('Mairie du 3e, guichet 4');
    await booking.getByRole('group', { name: 'À apporter', exact: true }).getByLabel('Carte d’identité', { exact: true }).check();
    await booking.getByLabel('Message', { exact: true }).fill('Venez avec votre carte.');
    await booking.getByRole('button', { name: 'Fixer le rendez-vous', exact: true }).click();
    await booking.getByRole('status').filter({ hasText: 'Rendez-vous fixé avec jean' }).waitFor({ timeout: 30_000 });
    const [a] = json(jean, ['appointments']);
    assert.deepEqual([a.place, a.bring, a.message, a.issuer], ['Mairie du 3e, guichet 4', ['id-card'], 'Venez avec votre carte.', 'Mairie de Lyon']);
    assert.match(a.at, /^2030-12-16T10:30/);
    await page.locator('section[aria-labelledby=desk-booked] li').filter({ hasText: 'Mairie du 3e, guichet 4' }).waitFor();
    assert.equal(await sentCard('Mairie du 3e').count(), 0, 'an appointment is not listed as a request');
  });

  it('shows the request partly provided, then answered, as the owner answers by the CLI', TIMEOUT, async () => {
    const accepted = lastLine(jean.run(['inbox', 'accept', depositId]).stdout);
    jean.write('justificatif.pdf', makePdf('Justificatif de domicile'));
    jean.run(['sync']);
    jean.run(['requests', 'answer', requestId, accepted, '--for', 'birth-certificate']);
    // live: the server's event reaches the daemon, the desk's lists are drawn again by themselves
    await toasts(page).filter({ hasText: 'Du nouveau dans les demandes envoyées.' }).waitFor({ timeout: 30_000 });
    const item = sentCard('Justificatif de domicile');
    await item.getByText('État : en partie fournie').waitFor({ timeout: 30_000 });
    await item.getByText('Acte de naissance : fourni').waitFor();
    await item.getByText('Justificatif de domicile : manquant').waitFor();
    await screen(page, 'desk-requests');
    jean.run(['requests', 'answer', requestId, 'justificatif.pdf', '--for', 'proof-of-address']);
    await refresh();
    await item.getByText('État : répondue').waitFor({ timeout: 30_000 });
    await item.getByText('Justificatif de domicile : fourni').waitFor();
    // overdue first (none here), then by due date: the checklist's request, due in 30 days
    const cards = page.locator('section[aria-labelledby=desk-sent] > ul > li');
    assert.equal(await cards.count(), 2);
    assert.match(await cards.first().textContent(), /Avis d’imposition : manquant/);
  });

  it('reaches every action at 390x844 and fulfils a citizen’s ask there', TIMEOUT, async () => {
    const askId = lastLine(jean.run(['ask', '--to', 'mairie', '--type', 'birth-certificate', '--message', 'Une copie intégrale, s’il vous plaît.']).stdout);
    await page.setViewportSize(PHONE);
    await refresh();
    for (const name of ['Déposer', 'Envoyer la demande', 'Fixer le rendez-vous', 'Actualiser les listes', 'Envoyer le document']) {
      const button = page.getByRole('button', { name, exact: true });
      await button.scrollIntoViewIfNeeded();
      const box = await button.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width && box.height >= 40, `${name}: ${JSON.stringify(box)}`);
    }
    // « Dans cette page »: each part one tap away; its title takes the focus, in view
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.getByRole('navigation', { name: 'Dans cette page' }).getByRole('link', { name: 'Demandes des usagers', exact: true }).click();
    const asksTitle = page.getByRole('heading', { level: 2, name: 'Demandes des usagers' });
    assert.ok(await asksTitle.evaluate((h) => document.activeElement === h), 'the asks title has the focus');
    const seen = await asksTitle.boundingBox();
    assert.ok(seen && seen.y >= 0 && seen.y < PHONE.height, `the asks title in view: ${JSON.stringify(seen)}`);
    assert.equal(await page.evaluate(() => window.location.hash), '#desk');
    const ask = page.locator('section[aria-labelledby=desk-asks] li').filter({ hasText: 'Acte de naissance, demandé par jean' });
    await ask.getByText('Une copie intégrale, s’il vous plaît.').waitFor();
    await ask.getByText('En attente de votre réponse.').waitFor();
    await screen(page, 'desk-asks');
    await ask.getByLabel('Fichier', { exact: true }).setInputFiles(files['copie-integrale.pdf']);
    await ask.getByRole('button', { name: 'Envoyer le document', exact: true }).click();
    await page.locator('section[aria-labelledby=desk-asks]').getByRole('status').filter({ hasText: 'Document envoyé à jean.' }).waitFor({ timeout: 30_000 });
    await page.locator('section[aria-labelledby=desk-asks] li').filter({ hasText: 'Document envoyé.' }).waitFor();
    const [mine] = json(jean, ['asks']);
    assert.deepEqual([mine.id, mine.state, mine.in_inbox, mine.issuer], [askId, 'fulfilled', true, 'Mairie de Lyon']);
    const waiting = json(jean, ['inbox']).find((d) => d.id === mine.deposit);
    assert.deepEqual([waiting.certified, waiting.filename, waiting.type], [true, 'copie-integrale.pdf', 'birth-certificate']);
    await page.setViewportSize(DESKTOP);
  });

  it('speaks English when the page does', TIMEOUT, async () => {
    await page.evaluate(() => window.localStorage.setItem('vault.app.lang', 'en'));
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Administration desk' }).waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Administration desk', exact: true }).waitFor();
    await form('Deposit a document').getByLabel('Recipient', { exact: true }).waitFor();
    await form('New request').getByRole('group', { name: 'Documents asked for', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Book the appointment', exact: true }).waitFor();
    await screen(page, 'desk-english', { fullPage: false });
    await page.evaluate(() => window.localStorage.setItem('vault.app.lang', 'fr'));
    assert.deepEqual(problems, []);
  });
});
