// Aidants and Récupération in the desktop app (issue 21): a real server, real CLI devices and two
// real `vault app` daemons (Jean's and Gaëlle's), each page in its own Chromium context. Jean
// gives Gaëlle a mandate in his page (her account's words in the confirmation equal to those her
// own page reads for her account); a request of « la CAF du Rhône » (a certified issuer, sent by
// the CLI) reaches her page under « J'aide jean » once his daemon forwarded it, she answers it
// there with one of his papers (the CAF's CLI sees the request answered), and Jean's page says
// « Gaëlle a répondu à la demande de la CAF du Rhône »; « Révoquer » in his page makes her
// `vault act-for jean requests` fail (exit 5) and her page shows the mandate revoked. Jean sets
// his trusted contacts in the page (their words shown first; `vault recovery contacts --json`
// agrees); a recovery started by the CLI from a new profile shows in his page as a notice and in
// Récupération; Gaëlle, a contact, sees it with the code the new device printed and approves it
// in her page; Jean's « Opposer un veto » stops it (`vault recovery finish` then exit 5, vetoed).
// axe-core (0 serious or critical) and 390x844 without horizontal scroll on each screen;
// screenshots with VAULT_SCREENSHOTS=1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Server, Device, App, launchBrowser, tempDir, cleanup, openPage, screen, toasts, lastLine, PASSPHRASE, PYTHON, ROOT } from './harness.mjs';
import { makePdf } from '../web/fixtures.mjs';

const TIMEOUT = { timeout: 240_000 };
const CAF = 'la CAF du Rhône';
let dir;
let server;
let browser;
let caf;
let jean;
let gaelle;
let bob;
let jeanApp;
let gaelleApp;
let jp; // Jean's page
let gp; // Gaëlle's page
const contexts = [];
const problems = [];
let mandateId;
let requestId;

const json = (dev, args) => JSON.parse(dev.run([...args, '--json']).stdout);
const dialog = (p, name) => p.getByRole('dialog', { name, exact: true });

async function go(p, name) {
  await p.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name, exact: true }).click();
  await p.getByRole('heading', { level: 1, name }).waitFor();
}

async function unlock(p, app) {
  await p.goto(app.url);
  await p.getByLabel('Phrase de passe', { exact: true }).fill(PASSPHRASE);
  await p.getByRole('button', { name: 'Déverrouiller', exact: true }).click();
  await p.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor({ timeout: 60_000 });
}

async function until(check, what, tries = 40) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail(`never: ${what}`);
}

before(async () => {
  dir = tempDir('vault-app-helpers-');
  server = new Server(dir);
  await server.start();
  const auth = new Device(dir, 'authority');
  const authPk = lastLine(auth.run(['authority', 'init']).stdout);
  caf = new Device(dir, 'caf');
  caf.run(['init', '--server', server.url, '--user', 'caf', '--folder', caf.folder]);
  const granted = spawnSync(PYTHON, ['-m', 'vault_server', 'grant-issuer', '--data', server.data, 'caf'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(granted.status, 0, granted.stderr);
  const issuerPk = lastLine(caf.run(['issuer', 'init', '--name', CAF]).stdout);
  const cert = path.join(dir, 'caf.cert.json');
  auth.run(['authority', 'certify', '--issuer-key', issuerPk, '--name', CAF, '--valid', '30d', '--out', cert]);
  caf.run(['issuer', 'set-cert', cert]);

  jean = new Device(dir, 'jean');
  jean.write('Papiers/facture-edf.pdf', makePdf('Facture EDF de Jean'));
  jean.write('Santé/ordonnance.pdf', makePdf('Ordonnance'));
  jean.run(['init', '--server', server.url, '--user', 'jean', '--folder', jean.folder]);
  jean.run(['trust', 'add', authPk, '--name', 'Préfecture']);
  jean.run(['sync']);
  gaelle = new Device(dir, 'gaelle');
  gaelle.run(['init', '--server', server.url, '--user', 'gaelle', '--folder', gaelle.folder]);
  bob = new Device(dir, 'bob');
  bob.run(['init', '--server', server.url, '--user', 'bob', '--folder', bob.folder]);

  jeanApp = new App(jean);
  gaelleApp = new App(gaelle);
  await Promise.all([jeanApp.start(), gaelleApp.start()]);
  browser = await launchBrowser(dir);
  for (const which of ['jean', 'gaelle']) {
    const opened = await openPage(browser);
    contexts.push(opened.context);
    problems.push(opened.problems);
    if (which === 'jean') jp = opened.page;
    else gp = opened.page;
  }
});

after(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await jeanApp?.stop();
  await gaelleApp?.stop();
  await server?.stop();
  cleanup(dir);
});

describe('vault app: Aidants and Récupération', () => {
  it('Jean gives Gaëlle a mandate, her words compared before confirming', TIMEOUT, async () => {
    await unlock(jp, jeanApp);
    await unlock(gp, gaelleApp);
    await go(jp, 'Aidants');
    await jp.getByText('Vous n’avez donné aucun mandat.').waitFor();
    await screen(jp, 'helpers-empty');
    await jp.getByRole('button', { name: 'Donner un mandat', exact: true }).click();
    const form = jp.getByRole('form', { name: 'Donner un mandat à un aidant', exact: true });
    await form.getByLabel('Compte de l’aidant', { exact: true }).fill('gaelle');
    await form.getByLabel('Son nom', { exact: true }).fill('Gaëlle');
    await form.getByText('Empreinte du compte gaelle :').waitFor();
    const can = form.getByRole('group', { name: 'Ce que l’aidant peut faire', exact: true });
    await can.getByLabel('Voir les demandes de documents et y répondre', { exact: true }).check();
    const reads = form.getByRole('group', { name: 'Documents et dossiers qu’il peut lire (et envoyer en réponse à une demande)', exact: true });
    await reads.getByLabel('Papiers/', { exact: true }).check();
    await form.getByLabel('Durée du mandat', { exact: true }).selectOption({ label: '30 jours' });
    await screen(jp, 'helpers-form');
    await form.getByRole('button', { name: 'Donner le mandat', exact: true }).click();

    // the confirmation shows her account's words: the ones her own page reads for her account
    const confirm = dialog(jp, 'Donner un mandat à Gaëlle ?');
    await confirm.waitFor();
    const own = await gp.evaluate(async () => (await (await fetch('/api/contacts/gaelle', { cache: 'no-store' })).json()).fingerprint);
    assert.ok(own && own.length > 10);
    assert.equal((await confirm.locator('.fp-words').textContent()).trim(), own);
    await confirm.getByText('Voir les demandes de documents et y répondre').waitFor();
    await confirm.getByText('Lire Papiers').waitFor();
    assert.deepEqual(json(jean, ['mandates']), [], 'nothing given before the confirmation');
    await screen(jp, 'helpers-confirm');
    await confirm.getByRole('button', { name: 'Confirmer le mandat', exact: true }).click();
    await toasts(jp).getByText('Mandat donné à Gaëlle.').waitFor({ timeout: 30_000 });

    const given = jp.getByRole('list', { name: 'Mandats donnés', exact: true }).getByRole('listitem').filter({ hasText: 'Gaëlle (gaelle)' });
    await given.getByText('actif').first().waitFor();
    await given.getByText('Rien pour l’instant.').waitFor();
    const [m] = json(jean, ['mandates']);
    assert.deepEqual([m.role, m.helper, m.name, m.state, m.scopes], ['given', 'gaelle', 'Gaëlle', 'active', ['read:Papiers', 'requests']]);
    mandateId = m.id;
    await screen(jp, 'helpers-given');

    // her side: « J'aide jean », with what she may do
    await go(gp, 'Aidants');
    const helping = gp.getByRole('region', { name: "J'aide jean", exact: true });
    await helping.waitFor();
    await helping.getByText('Lire Papiers').waitFor();
    await helping.getByText('Aucune demande pour jean en ce moment.').waitFor();
    const [mine] = json(gaelle, ['mandates']);
    assert.deepEqual([mine.id, mine.role, mine.owner, mine.state], [mandateId, 'received', 'jean', 'active']);
  });

  it('Gaëlle answers a request of the CAF for Jean in her page; Jean’s page shows it', TIMEOUT, async () => {
    requestId = lastLine(caf.run(['issuer', 'request', '--to', 'jean', '--need', 'proof-of-address', '--due', '2030-01-31', '--message', 'Merci d’envoyer un justificatif de domicile.']).stdout);
    // Jean's daemon forwards it to her (his watch syncs on the server's event); her page
    // refreshes on hers
    const helping = gp.getByRole('region', { name: "J'aide jean", exact: true });
    const card = helping.getByRole('listitem').filter({ hasText: `De : ${CAF}` });
    await card.waitFor({ timeout: 60_000 });
    await card.getByText(`Certifié par ${CAF}`).waitFor();
    await card.getByText('Merci d’envoyer un justificatif de domicile.').waitFor();
    await card.getByRole('button', { name: 'Répondre', exact: true }).click();
    const docs = card.getByRole('group', { name: 'Documents de jean à envoyer', exact: true });
    await docs.waitFor();
    assert.equal(await docs.getByRole('checkbox').count(), 1, 'only what her read scope covers');
    await docs.getByLabel('Papiers/facture-edf.pdf', { exact: true }).check();
    await screen(gp, 'helpers-answer');
    await card.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await toasts(gp).getByText('Réponse envoyée pour jean.').waitFor({ timeout: 30_000 });
    await helping.getByRole('listitem').filter({ hasText: `De : ${CAF}` }).getByText('État : répondue').waitFor({ timeout: 30_000 });
    await screen(gp, 'helpers-helping');

    const [sent] = json(caf, ['issuer', 'requests']);
    assert.deepEqual([sent.id, sent.state, sent.problem], [requestId, 'answered', null]);

    // Jean's page: the line of what she did, live (her entry in his log, his daemon's sync)
    const line = `Gaëlle a répondu à la demande de ${CAF}`;
    const given = jp.getByRole('list', { name: 'Mandats donnés', exact: true }).getByRole('listitem').filter({ hasText: 'Gaëlle (gaelle)' });
    await given.getByText(line).waitFor({ timeout: 60_000 });
    await given.getByText('Papiers/facture-edf.pdf').waitFor();
    const [act] = json(jean, ['mandate', 'log', mandateId]);
    assert.deepEqual([act.action, act.helper, act.requester, act.documents], ['answer', 'Gaëlle', CAF, ['Papiers/facture-edf.pdf']]);
    await screen(jp, 'helpers-log');
  });

  it('Révoquer in Jean’s page ends her mandate at once', TIMEOUT, async () => {
    const given = jp.getByRole('list', { name: 'Mandats donnés', exact: true }).getByRole('listitem').filter({ hasText: 'Gaëlle (gaelle)' });
    await given.getByRole('button', { name: 'Révoquer', exact: true }).click();
    const confirm = dialog(jp, 'Révoquer le mandat de Gaëlle ?');
    await confirm.waitFor();
    await screen(jp, 'helpers-revoke');
    await confirm.getByRole('button', { name: 'Révoquer', exact: true }).click();
    await toasts(jp).getByText('Mandat de Gaëlle révoqué.').waitFor({ timeout: 30_000 });
    await given.getByText('révoqué').first().waitFor();
    assert.equal(await given.getByRole('button', { name: 'Révoquer', exact: true }).count(), 0);
    await given.getByText(`Gaëlle a répondu à la demande de ${CAF}`).waitFor();

    const refused = gaelle.run(['act-for', 'jean', 'requests'], { check: false });
    assert.equal(refused.status, 5, refused.stderr);
    assert.match(refused.stderr, /revoked your mandate/);
    assert.equal(json(jean, ['mandates'])[0].state, 'revoked');
    // her page: the mandate ended (live: the server tells her daemon)
    await gp.getByRole('region', { name: 'Mandat de jean (révoqué)', exact: true }).waitFor({ timeout: 60_000 });
    assert.equal(await gp.getByRole('region', { name: "J'aide jean", exact: true }).count(), 0);
  });

  it('Jean sets his trusted contacts in Récupération, their words first', TIMEOUT, async () => {
    await go(jp, 'Récupération');
    await jp.getByText('Vous n’avez pas encore choisi de contacts de confiance.').waitFor();
    await jp.getByText('Aucune récupération de votre compte en cours.').waitFor();
    await screen(jp, 'recovery-empty');
    await jp.getByRole('button', { name: 'Choisir mes contacts de confiance', exact: true }).click();
    const form = jp.getByRole('form', { name: 'Contacts de confiance', exact: true });
    await form.getByLabel('Contact 1', { exact: true }).fill('gaelle');
    await form.getByLabel('Contact 2', { exact: true }).fill('bob');
    await form.getByLabel('Nombre d’accords nécessaires', { exact: true }).fill('2');
    await form.getByLabel('Délai avant la récupération', { exact: true }).selectOption({ label: '72 heures (conseillé)' });
    await screen(jp, 'recovery-form');
    await form.getByRole('button', { name: 'Enregistrer les contacts', exact: true }).click();
    const confirm = dialog(jp, 'Vérifier vos contacts de confiance');
    await confirm.waitFor();
    const own = await gp.evaluate(async () => (await (await fetch('/api/contacts/gaelle', { cache: 'no-store' })).json()).fingerprint);
    await confirm.getByText(own).waitFor();
    await confirm.getByText('Il faudra l’accord de 2 contacts sur 2, puis un délai de 72 heures.').waitFor();
    assert.deepEqual(json(jean, ['recovery', 'contacts']), [], 'nothing set before the confirmation');
    await confirm.getByRole('button', { name: 'Confirmer les contacts', exact: true }).click();
    await toasts(jp).getByText('Contacts de confiance enregistrés.').waitFor({ timeout: 30_000 });
    await jp.getByText('Il faut l’accord de 2 contacts sur 2, puis un délai de 72 heures.').waitFor();
    const contacts = json(jean, ['recovery', 'contacts']);
    assert.deepEqual(contacts.map((c) => [c.handle, c.threshold, c.delay]), [['gaelle', 2, 259200], ['bob', 2, 259200]]);
    assert.equal(contacts[0].fingerprint, own);
    await screen(jp, 'recovery-contacts');
  });

  it('a recovery started elsewhere: Jean is told, Gaëlle approves it, Jean’s veto stops it', TIMEOUT, async () => {
    const phone = new Device(dir, 'newphone');
    const started = phone.run(['recovery', 'start', '--server', server.url, '--user', 'jean']);
    const lines = started.stdout.trim().split('\n');
    const rid = lastLine(started.stdout);
    const code = lines[lines.length - 2].split(': ').slice(1).join(': ').trim();
    assert.ok(rid.length === 32 && code.length > 4, started.stdout);

    // Jean's page: a notice above the screen and the recovery in the list, live
    const notice = jp.getByRole('region', { name: 'Alerte de récupération', exact: true });
    await notice.getByText('Une récupération de votre compte est en cours.', { exact: false }).waitFor({ timeout: 60_000 });
    const own = jp.getByRole('list', { name: 'Récupérations de mon compte', exact: true }).getByRole('listitem').first();
    await own.getByText('En attente').waitFor({ timeout: 30_000 });
    await own.getByText('0 accord(s) sur 2').waitFor();

    // Gaëlle, a trusted contact: the code the new device printed, Approuver after the check
    await go(gp, 'Récupération');
    const asked = gp.getByRole('list', { name: 'Demandes d’aide à la récupération', exact: true }).getByRole('listitem').filter({ hasText: 'jean demande à récupérer son coffre' });
    await asked.waitFor();
    assert.equal((await asked.locator('.rec-code').textContent()).trim(), code);
    await screen(gp, 'recovery-asked');
    await asked.getByRole('button', { name: 'Approuver', exact: true }).click();
    const check = dialog(gp, 'Approuver la récupération de jean ?');
    await check.waitFor();
    assert.equal((await check.locator('.rec-code').textContent()).trim(), code);
    await screen(gp, 'recovery-approve');
    await check.getByRole('button', { name: 'J’ai vérifié le code, approuver', exact: true }).click();
    await toasts(gp).getByText('Récupération de jean approuvée (1 accord(s) sur 2).').waitFor({ timeout: 30_000 });
    await gp.getByText('Vous avez approuvé cette récupération.').waitFor();
    const [pending] = json(gaelle, ['recovery', 'pending']);
    assert.deepEqual([pending.id, pending.approved, pending.approvals], [rid, true, 1]);

    // Jean: the approval shows (the server's event), then « Opposer un veto »
    await own.getByText('1 accord(s) sur 2').waitFor({ timeout: 60_000 });
    await screen(jp, 'recovery-pending');
    await own.getByRole('button', { name: 'Opposer un veto', exact: true }).click();
    const confirm = dialog(jp, 'Opposer un veto à cette récupération ?');
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Opposer un veto', exact: true }).click();
    await toasts(jp).getByText('Veto enregistré : la récupération est annulée.').waitFor({ timeout: 30_000 });
    await jp.getByRole('list', { name: 'Récupérations de mon compte', exact: true }).getByText('Annulée par un veto').waitFor();
    await until(async () => (await notice.count()) === 0, 'the notice goes once vetoed');
    await screen(jp, 'recovery-vetoed');

    const finish = phone.run(['recovery', 'finish', rid], { check: false, env: { VAULT_PASSPHRASE: 'une toute nouvelle phrase de passe pour Jean' } });
    assert.equal(finish.status, 5, finish.stderr);
    assert.match(finish.stderr, /vetoed by a device of jean/);
    assert.deepEqual(json(gaelle, ['recovery', 'pending']), [], 'nothing left to approve');
  });

  it('left no page error or CSP report', () => {
    assert.deepEqual(problems.flat(), []);
  });
});
