// Partages in the browser (issue 19): links and grants to an account created in the page, their
// consultations and their revocation, as vault_client/service/shares.py does (web/engine/
// grants.js holds the formats). The share's secret exists only in this worker and in the link
// shown once; the server gets the access token's hash, never the secret or a key.
//
// What a browser session cannot do: remember, after sign-out, which documents a link covers (the
// desktop keeps that in its profile, the server cannot read it), nor keep a folder share up to
// date as files are added (the desktop does it for the shares it made). Shares listed from an
// earlier session show no document names.
import * as P from '../src/protocol.js';
import * as A from './account.js';
import * as G from './grants.js';
import { contact as pinnedContact } from './engine_requests.js';

const ID = /^[0-9a-f]{32}$/;
const HANDLE = /^[a-z0-9][a-z0-9._-]{1,31}$/;

function iso(ts) {
  return typeof ts === 'number' ? new Date(ts * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

function made(s) {
  if (!s.shares) s.shares = new Map(); // grant id → {names: manifest id → name} (this session)
  return s.shares;
}

async function keysOf(engine, handle) {
  const got = await engine.json('GET', `/v1/users/${encodeURIComponent(handle)}/keys`);
  try {
    return A.verifyIdentity({ ...got, handle });
  } catch {
    throw engine.integrity();
  }
}

/** An account's fingerprint before a first share (GET /api/contacts/{handle}). */
export async function contact(engine, handle) {
  const s = engine.need();
  if (!HANDLE.test(handle)) throw engine.error(400, 'usage');
  const id = await keysOf(engine, handle);
  const pinned = s.contacts && s.contacts.get(handle);
  if (pinned && (!P.equal(pinned.signPk, id.signPk) || !P.equal(pinned.boxPk, id.boxPk))) throw engine.integrity();
  return { handle, fingerprint: A.fingerprint(handle, id.signPk, id.boxPk), pinned: !!pinned };
}

export async function list(engine) {
  const s = engine.need();
  const items = await engine.json('GET', '/v1/grants');
  return (Array.isArray(items) ? items : []).map((it) => {
    const max = it.max_uses ?? null;
    const uses = it.uses ?? 0;
    const names = made(s).get(it.id);
    return {
      id: it.id,
      kind: it.kind ?? null,
      to: it.to ?? null,
      state: it.state ?? null,
      expires_at: iso(it.expires_at),
      max_uses: max,
      uses,
      remaining_uses: max === null ? null : Math.max(0, max - uses),
      documents: names ? [...new Set(Object.values(names))].sort() : [],
    };
  });
}

/** A link (optionally with a password and a use limit) or a grant to an account. */
export async function create(engine, body, now = Date.now()) {
  const s = engine.need();
  await engine.sync();
  const paths = (Array.isArray(body.paths) ? body.paths : []).map(String);
  let expiresIn = Number(body.expires_in ?? NaN);
  if (!Number.isFinite(expiresIn) && Number.isFinite(Number(body.expires_at))) expiresIn = Number(body.expires_at) - Math.floor(now / 1000);
  if (!paths.length || !Number.isFinite(expiresIn) || expiresIn <= 0) throw engine.error(400, 'usage');
  const to = body.to ? String(body.to).trim() : null;
  const maxUses = body.max_uses === undefined || body.max_uses === null || body.max_uses === '' ? null : Number(body.max_uses);
  if (maxUses !== null && (!Number.isSafeInteger(maxUses) || maxUses < 1)) throw engine.error(400, 'usage');
  const password = body.password ? String(body.password) : null;
  const live = new Map(engine.live().map((r) => [r.path, r]));
  if (G.uncoveredPaths(live, paths).length) throw engine.error(404, 'not_found');
  const covered = G.coveredItems(live, paths);
  const manifests = [];
  for (const { record } of covered) manifests.push({ manifest: record.manifest, chunks: (await engine.manifestOf(record)).chunks });
  const grantId = P.hex(engine.random(16));
  const common = {
    server: engine.origin,
    owner: s.handle,
    ownerSignPk: s.bundle.identity.pk,
    ownerSignSk: s.bundle.identity.sk,
    grantId,
    expires: Math.floor(now / 1000) + Math.floor(expiresIn),
    created: now,
    scope: paths,
    covered,
    blobs: G.grantBlobs(manifests),
    nonce: engine.random(24),
    maxUses,
  };
  let share;
  if (to) {
    if (!HANDLE.test(to)) throw engine.error(400, 'usage');
    const id = await pinnedContact(engine, to);
    share = G.makeShare({ ...common, to, toBoxPk: id.boxPk, grantKey: engine.random(32), ephemeralSk: engine.random(32) });
  } else {
    share = G.makeShare({ ...common, secret: engine.random(32), password });
  }
  await engine.json('POST', '/v1/grants', { json: share.body });
  made(s).set(grantId, share.kept.names);
  return { grant_id: grantId, link: share.link, expires_at: common.expires };
}

/** Each consultation: when, which document (for a share made in this session), which account. */
export async function log(engine, grantId) {
  const s = engine.need();
  if (!ID.test(grantId)) throw engine.error(400, 'usage');
  const entries = await engine.json('GET', `/v1/grants/${grantId}/log`);
  const names = made(s).get(grantId) || {};
  const out = [];
  (Array.isArray(entries) ? entries : []).forEach((e, i) => {
    const what = e.what;
    let document = null;
    if (what !== 'open') {
      document = names[what] ?? null;
      if (document === null) return; // a chunk fetch: the document is logged by its manifest
    }
    out.push({ id: i + 1, at: iso(e.at), event: what === 'open' ? 'open' : 'document', document, account: e.account ?? null });
  });
  return out;
}

export async function revoke(engine, grantId) {
  engine.need();
  if (!ID.test(grantId)) throw engine.error(400, 'usage');
  const res = await engine.http('DELETE', G.grantPath(grantId));
  if (res.status === 404) throw engine.error(404, 'not_found');
  if (!res.ok) throw engine.error(503, 'unavailable');
  return { ok: true };
}
