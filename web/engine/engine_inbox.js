// Boîte de réception in the browser (issue 19): deposits read, previewed, accepted into the vault
// with their certificate, or refused, as vault_client/service/inbox.py does for the CLI and
// the desktop app (web/engine/deposits.js holds the formats). The certification is checked
// here, in the page, against the authorities the owner trusts for this session
// (engine_requests.js: « Vérifier … »); an uncertified deposit can still be accepted, as in the
// app, and lands in « Courrier/non certifié », its proof kept for a later check.
import * as P from '../src/protocol.js';
import * as D from './deposits.js';
import { authorityWords } from './words-fr.js';
import { trusted } from './engine_requests.js';

const ID = /^[0-9a-f]{32}$/;


function iso(ts) {
  return new Date(ts * 1000).toISOString().slice(0, 10);
}

async function opened(engine, id, now) {
  const s = engine.need();
  const full = await engine.json('GET', `/v1/inbox/${id}`);
  const envelope = P.unb64u(String(full && full.envelope));
  return { envelope, read: D.readDeposit(id, s.bundle.boxSk, envelope, { trusted: trusted(s), now, owner: s.handle, ownerSignPk: s.bundle.identity.pk }) };
}

/** The inbox as the daemon's GET /api/inbox lists it (`vault inbox --json`). */
export async function listInbox(engine, now = Math.floor(Date.now() / 1000)) {
  engine.need();
  const listed = await engine.json('GET', '/v1/inbox');
  const out = [];
  for (const item of Array.isArray(listed) ? listed : []) {
    if (!ID.test(String(item.id))) continue;
    const seen = { id: item.id, from: item.from ?? null, received_at: item.received_at ?? null };
    let read;
    try {
      ({ read } = await opened(engine, item.id, now));
    } catch (e) {
      if (e && e.status === 401) throw e;
      out.push({ ...seen, valid: false, certified: false, problem: 'the deposit failed verification (forged or damaged)' });
      continue;
    }
    const st = read.statement;
    const certified = read.certified !== false;
    out.push({
      ...seen,
      valid: true,
      certified,
      issuer: certified ? read.certified : null,
      claimed_issuer: certified ? null : read.claimedIssuer,
      type: st.docType,
      title: st.title,
      filename: st.filename,
      size: st.size,
      issued: iso(st.issued),
      trust_offer: certified ? null : { name: read.proof.cert.name, public_key: P.b64u(read.proof.cert.authorityPk), words: authorityWords(read.proof.cert.authorityPk) },
    });
  }
  return out;
}

/** The deposited document's verified bytes and its file name. */
export async function depositFile(engine, id, now = Math.floor(Date.now() / 1000)) {
  if (!ID.test(id)) throw engine.error(400, 'usage');
  const { read } = await opened(engine, id, now);
  return { name: read.statement.filename, bytes: read.document };
}

/** Accept a deposit into the vault (with its proof): {path}. */
export async function accept(engine, id, folder = null, now = Date.now()) {
  const s = engine.need();
  if (!ID.test(id)) throw engine.error(400, 'usage');
  await engine.sync();
  const full = await engine.json('GET', `/v1/inbox/${id}`);
  let accepted;
  try {
    accepted = D.acceptDeposit(id, s.bundle.boxSk, P.unb64u(String(full && full.envelope)), { trusted: trusted(s), now: Math.floor(now / 1000), owner: s.handle, ownerSignPk: s.bundle.identity.pk });
  } catch {
    throw engine.integrity();
  }
  let path;
  try {
    path = D.depositPath({ depositId: id, filename: accepted.proof.statement.filename, issuer: accepted.issuer, to: folder || null, paths: engine.live().map((r) => r.path) });
  } catch {
    throw engine.error(400, 'usage');
  }
  // the proof is kept with the document whatever this session trusts: every reader checks it
  // again against its own authorities (as inbox.accept does)
  await engine.storeFile(path, new Blob([accepted.document]), (upload) => D.depositRecord(upload, accepted), now);
  const res = await engine.http('DELETE', `/v1/inbox/${id}`);
  if (!res.ok && res.status !== 404) throw engine.error(503, 'unavailable');
  return { path };
}

/** Refuse a deposit: it leaves the inbox, nothing is written. */
export async function refuse(engine, id) {
  engine.need();
  if (!ID.test(id)) throw engine.error(400, 'usage');
  const res = await engine.http('DELETE', `/v1/inbox/${id}`);
  if (!res.ok && res.status !== 404) throw engine.error(503, 'unavailable');
  return { ok: true };
}
