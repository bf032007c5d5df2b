// Demandes in the browser (issue 19): the owner's requests read and answered from the page,
// as vault_client/service/requests.py does for the CLI and the desktop app: the same checks,
// the same grant and the same signed answer (web/engine/requests.js, grants.js).
//
// Trust. A request is answered only when it is certified by an authority the owner trusts
// (anyone, the server too, can send a request). The desktop and the CLI keep their pinned
// authorities in the profile; a browser session keeps none: the owner trusts an authority for
// this session only, after comparing its six words with the ones on the letter (« Faire
// confiance à … ? »), and the session forgets it at sign-out. The requester's account keys are
// pinned the same way, for the session (trust on first use, as a first share to an account).
import * as P from '../src/protocol.js';
import * as A from './account.js';
import * as G from './grants.js';
import * as R from './requests.js';
import { authorityWords } from './words-fr.js';

const ID = /^[0-9a-f]{32}$/;

function day(ts) {
  const d = new Date(ts * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
}

/** The live records by path, and the document type of those that have one. */
function heads(engine) {
  const live = new Map();
  const types = new Map();
  for (const r of engine.live()) {
    live.set(r.path, r);
    if (r.type) types.set(r.path, r.type);
  }
  return { live, types };
}

/** The authorities this session trusts (shared with the inbox). */
export function trusted(s) {
  if (!s.trusted) s.trusted = new Map(); // b64u(authority key) → name, for this session
  return s.trusted;
}

/** The requests as the daemon's GET /api/requests lists them (docs/APP-API.md). */
export async function listRequests(engine, now = Math.floor(Date.now() / 1000)) {
  const s = engine.need();
  const listed = await engine.json('GET', '/v1/requests');
  const { types } = heads(engine);
  const out = [];
  for (const item of Array.isArray(listed) ? listed : []) {
    if (!ID.test(String(item.id))) continue;
    const seen = { id: item.id, from: item.from ?? null, due_at: item.due_at ?? null, state: item.state ?? null };
    let read;
    try {
      read = R.readRequest(item.id, s.bundle.boxSk, P.unb64u(String(item.envelope)), { trusted: trusted(s), now, owner: s.handle, ownerSignPk: s.bundle.identity.pk });
    } catch {
      // an appointment travels as a request (SPEC §Appointments), which the web engine does not
      // read yet; it and anything that fails verification are left out (nothing is answered)
      continue;
    }
    const st = read.statement;
    const answer = item.answer || {};
    let signed = null;
    let problem = st.due !== item.due_at ? "the server's due date differs from the signed one" : null;
    if (answer.envelope) {
      try {
        signed = R.openAnswer(item.id, 'owner', s.bundle.boxSk, P.unb64u(String(answer.envelope)), s.bundle.identity.pk, answer.grant_id ?? null);
      } catch {
        problem = problem || 'the answer the server shows is not one this account signed';
      }
    }
    const certified = read.certified !== false && read.addressedToMe;
    out.push({
      ...seen,
      valid: true,
      problem,
      due: day(st.due),
      due_at: st.due,
      state: signed ? R.checklistState(st.needs, signed, st.due, now) : seen.state,
      requester: certified ? read.certified : null,
      certified,
      claimed_requester: certified ? null : read.cert.name,
      account: st.requester,
      needs: [...st.needs],
      message: st.message,
      grant: answer.grant_id ?? null,
      items: R.itemStates(st.needs, signed),
      given: signed ? signed.items : null,
      suggested: [...types.entries()].filter(([, ty]) => st.needs.includes(ty)).map(([p]) => p).sort(),
      // web access: the authority the owner may trust for this session (six words to compare)
      trust_offer: !certified && read.addressedToMe ? { name: read.cert.name, public_key: P.b64u(read.cert.authorityPk), words: authorityWords(read.cert.authorityPk) } : null,
    });
  }
  return out;
}

/** « Faire confiance à … ? »: the words of a key, nothing pinned. */
export function trustPreview(body) {
  const pk = P.unb64u(String(body.public_key || ''), 32);
  return { name: String(body.name || ''), public_key: P.b64u(pk), words: authorityWords(pk) };
}

/** Trust an authority for this session (forgotten at sign-out). */
export function trustForSession(engine, body) {
  const s = engine.need();
  const pk = P.unb64u(String(body.public_key || ''), 32);
  const name = String(body.name || '').trim().slice(0, 64) || 'autorité';
  trusted(s).set(P.b64u(pk), name);
  return { name, public_key: P.b64u(pk), fingerprint: authorityWords(pk) };
}

/** An account's keys, verified and pinned for the session (a change within it is refused);
 * the requester of an answer and the grantee of a share alike. */
export async function contact(engine, handle) {
  const s = engine.need();
  if (!s.contacts) s.contacts = new Map();
  const got = await engine.json('GET', `/v1/users/${encodeURIComponent(handle)}/keys`);
  let id;
  try {
    id = A.verifyIdentity({ ...got, handle });
  } catch {
    throw engine.integrity();
  }
  const pinned = s.contacts.get(handle);
  if (pinned && (!P.equal(pinned.signPk, id.signPk) || !P.equal(pinned.boxPk, id.boxPk))) throw engine.integrity();
  s.contacts.set(handle, id);
  return id;
}

/** Answer a request with documents (vault paths), item by item: {grant_id}. */
export async function answer(engine, requestId, paths, expiresIn, item = null, now = Date.now()) {
  const s = engine.need();
  await engine.sync();
  const req = (await listRequests(engine, Math.floor(now / 1000))).find((r) => r.id === requestId);
  if (!req) throw engine.error(404, 'not_found');
  if (!req.valid) throw engine.integrity();
  if (!req.certified || !req.account) throw engine.error(403, 'uncertified');
  const { live, types } = heads(engine);
  let plan;
  try {
    plan = R.answerItems(req.needs, req.given || {}, paths.map(String), types, item);
  } catch {
    throw engine.error(400, 'usage');
  }
  if (!plan.paths.length || G.uncoveredPaths(live, plan.paths).length) throw engine.error(400, 'usage');
  const covered = G.coveredItems(live, plan.paths);
  const manifests = [];
  for (const { record } of covered) manifests.push({ manifest: record.manifest, chunks: (await engine.manifestOf(record)).chunks });
  const requester = await contact(engine, req.account);
  const grantId = P.hex(engine.random(16));
  const share = G.makeShare({
    server: engine.origin,
    owner: s.handle,
    ownerSignPk: s.bundle.identity.pk,
    ownerSignSk: s.bundle.identity.sk,
    grantId,
    expires: Math.floor(now / 1000) + Math.max(60, Math.floor(Number(expiresIn) || 30 * 86400)),
    created: now,
    scope: plan.paths,
    covered,
    blobs: G.grantBlobs(manifests),
    nonce: engine.random(24),
    to: req.account,
    toBoxPk: requester.boxPk,
    grantKey: engine.random(32),
    ephemeralSk: engine.random(32),
  });
  await engine.json('POST', '/v1/grants', { json: share.body });
  const envelope = R.buildAnswer({
    statement: { requestId, owner: s.handle, ownerSignPk: s.bundle.identity.pk, requester: req.account, grantId, items: plan.items, answered: Math.floor(now / 1000) },
    ownerSignSk: s.bundle.identity.sk,
    requesterBoxPk: requester.boxPk,
    ownerBoxPk: s.bundle.boxPk,
    keys: [engine.random(32), engine.random(32)],
    ephemerals: [engine.random(32), engine.random(32)],
    nonces: [engine.random(24), engine.random(24)],
  });
  const call = R.answerRequest(requestId, grantId, envelope);
  await engine.json('POST', call.path, { json: call.body, empty: true });
  if (req.grant && req.grant !== grantId) {
    // the last answer's grant: the new one covers all it did and more
    await engine.http('DELETE', G.grantPath(req.grant)).catch(() => {});
  }
  return { grant_id: grantId };
}
