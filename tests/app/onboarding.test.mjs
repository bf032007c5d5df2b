// The desktop app, first run: an empty profile shows the onboarding; a vault is created with the
// keyboard only (strength meter refusing a weak passphrase, recovery key, printable kit, the
// checkbox before Continuer); lock, a wrong passphrase (French role=alert, nothing else
// changes), unlock; a second device joins with « J'ai déjà un coffre » and a third recovers
// with the recovery key (« J'ai perdu ma phrase de passe »). The launch token leaves the URL,
// nothing secret stays in the browser's storage. Screenshots: docs/screenshots/app/.
//
// Run: node --test tests/app/   (PYTHON: the interpreter that runs vault / vault-server)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  Server, Device, App, launchBrowser, tempDir, cleanup, openPage, screen, tabTo, statusRegion, axeLog, PASSPHRASE,
} from './harness.mjs';

const TIMEOUT = { timeout: 180_000 };
let dir;
let server;
let browser;
const apps = [];
let recoveryKey = '';

before(async () => {
  dir = tempDir('vault-app-');
  server = new Server(dir);
  await server.start();
  browser = await launchBrowser(dir);
});

after(async () => {
  await browser?.close();
  for (const a of apps) await a.stop();
  await server?.stop();
  cleanup(dir);
  if (process.env.VAULT_APP_AXE_LOG) console.log(JSON.stringify(axeLog));
});

async function startApp(name) {
  const device = new Device(dir, name);
  const app = new App(device);
  apps.push(app);
  await app.start();
  return { device, app };
}

describe('vault app: onboarding', () => {
  it('creates a vault with the keyboard only, then locks and unlocks', TIMEOUT, async () => {
    const { device, app } = await startApp('jean');
    const { context, page, problems } = await openPage(browser);
    await page.goto(app.url);
    await page.getByRole('heading', { name: 'Bienvenue dans votre coffre' }).waitFor();
    // the launch token is gone from the address bar, and the page never keeps it
    assert.ok(!page.url().includes('#'), page.url());
    await screen(page, 'onboarding-create');

    const folder = path.join(dir, 'Coffre-jean');
    assert.ok((await page.getByLabel('Dossier', { exact: true }).inputValue()).length > 0, 'Dossier has a default');
    await tabTo(page, 'Serveur');
    await page.keyboard.type(server.url);
    await tabTo(page, 'Identifiant');
    await page.keyboard.type('jean');
    await tabTo(page, 'Phrase de passe');
    await page.keyboard.type('abc');
    await tabTo(page, 'Confirmer la phrase de passe');
    await page.keyboard.type('abc');
    await tabTo(page, 'Dossier');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(folder);
    await page.keyboard.press('Enter');
    // weak: refused with a reason, in French
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'trop faible' }).waitFor();
    await screen(page, 'onboarding-weak-passphrase');

    await page.getByLabel('Phrase de passe', { exact: true }).focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(PASSPHRASE);
    await tabTo(page, 'Confirmer la phrase de passe');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(PASSPHRASE);
    await page.keyboard.press('Enter');

    const key = page.getByLabel('Clé de récupération', { exact: true });
    await key.waitFor({ timeout: 90_000 });
    recoveryKey = (await key.inputValue()).trim();
    assert.ok(recoveryKey.length >= 20, recoveryKey);
    const cont = page.getByRole('button', { name: 'Continuer', exact: true });
    assert.equal(await cont.isDisabled(), true, 'Continuer before the checkbox');
    await screen(page, 'onboarding-recovery-key');

    await tabTo(page, 'Imprimer le kit de récupération');
    await page.keyboard.press('Enter');
    const kit = page.getByRole('heading', { name: 'Kit de récupération du coffre' });
    await kit.waitFor();
    const kitText = await page.locator('#print-kit').textContent();
    for (const part of [recoveryKey, 'jean', server.url]) assert.ok(kitText.includes(part), `the kit lacks ${part}`);
    assert.equal(await page.locator('#print-kit svg[role=img]').count(), 1, 'QR code in the kit');
    await screen(page, 'recovery-kit');
    await page.keyboard.press('Escape');
    await kit.waitFor({ state: 'hidden' });

    await page.getByRole('button', { name: 'Imprimer le kit de récupération' }).focus();
    await tabTo(page, "J'ai mis ma clé en lieu sûr");
    await page.keyboard.press('Space');
    assert.equal(await cont.isDisabled(), false);
    await tabTo(page, 'Continuer');
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { name: 'Mes documents' }).waitFor({ timeout: 30_000 });
    const nav = page.getByRole('navigation', { name: 'Menu principal' });
    for (const name of ['Mes documents', 'Boîte de réception', 'Demandes', 'Partages', 'Partagés avec moi', 'Appareils', 'Paramètres']) {
      await nav.getByRole('link', { name, exact: true }).waitFor();
    }
    await statusRegion(page).filter({ hasText: 'À jour' }).waitFor({ timeout: 30_000 });
    assert.ok((await device.run(['status'], { check: false })).status !== undefined);

    // nothing secret in the browser's storage
    const stored = await page.evaluate(async () => ({
      local: Object.keys(window.localStorage),
      session: Object.keys(window.sessionStorage),
      idb: indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [],
      cookie: document.cookie,
    }));
    assert.deepEqual(stored.local.filter((k) => k !== 'vault.app.lang'), []);
    assert.deepEqual(stored.session, []);
    assert.deepEqual(stored.idb, []);
    assert.equal(stored.cookie, '', 'the session cookie is HttpOnly');

    // lock, wrong passphrase, unlock
    await tabTo(page, 'Verrouiller', { back: true, max: 80 });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Coffre verrouillé' }).waitFor();
    await screen(page, 'unlock');
    const pass = page.getByLabel('Phrase de passe', { exact: true });
    await pass.fill('pas la bonne phrase du tout');
    await page.getByRole('button', { name: 'Déverrouiller', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: /incorrect/i }).waitFor({ timeout: 60_000 });
    const alertText = await page.getByRole('alert').textContent();
    assert.match(alertText, /[éèàç]|phrase/i, `French alert: ${alertText}`);
    await page.getByRole('heading', { name: 'Coffre verrouillé' }).waitFor();
    await screen(page, 'unlock-wrong-passphrase');
    await pass.fill(PASSPHRASE);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Mes documents' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('joins the account from a second device (J\'ai déjà un coffre)', TIMEOUT, async () => {
    const { app } = await startApp('jean-b');
    const { context, page, problems } = await openPage(browser);
    await page.goto(app.url);
    await page.getByRole('button', { name: "J'ai déjà un coffre", exact: true }).click();
    await page.getByRole('button', { name: 'Se connecter', exact: true }).waitFor();
    await screen(page, 'onboarding-login');
    await page.getByLabel('Serveur', { exact: true }).fill(server.url);
    await page.getByLabel('Identifiant', { exact: true }).fill('jean');
    await page.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Dossier', { exact: true }).fill(path.join(dir, 'Coffre-jean-b'));
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.getByRole('heading', { name: 'Mes documents' }).waitFor({ timeout: 90_000 });
    await page.getByRole('link', { name: 'Appareils', exact: true }).click();
    await page.getByRole('heading', { name: 'Appareils' }).waitFor();
    await page.getByText('Cet appareil').waitFor();
    assert.equal(await page.locator('#view li.card').count(), 2);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('recovers the vault with the recovery key (J\'ai perdu ma phrase de passe)', TIMEOUT, async () => {
    const { app } = await startApp('jean-c');
    const { context, page, problems } = await openPage(browser);
    await page.goto(app.url);
    await page.getByRole('button', { name: "J'ai perdu ma phrase de passe", exact: true }).click();
    await page.getByRole('button', { name: 'Récupérer mon coffre', exact: true }).waitFor();
    await screen(page, 'onboarding-recover');
    const newPass = 'une toute nouvelle phrase de passe solide';
    await page.getByLabel('Serveur', { exact: true }).fill(server.url);
    await page.getByLabel('Identifiant', { exact: true }).fill('jean');
    await page.getByLabel('Clé de récupération', { exact: true }).fill(recoveryKey);
    await page.getByLabel('Phrase de passe', { exact: true }).fill(newPass);
    await page.getByLabel('Confirmer la phrase de passe', { exact: true }).fill(newPass);
    await page.getByLabel('Dossier', { exact: true }).fill(path.join(dir, 'Coffre-jean-c'));
    await page.getByRole('button', { name: 'Récupérer mon coffre', exact: true }).click();
    await page.getByRole('heading', { name: 'Mes documents' }).waitFor({ timeout: 90_000 });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
