// Grants, the owner's side (protocol/SPEC.md §Grants): link and account grants made in the
// browser, as the reference client makes them (vault_core/grants.py, vault_client/service/
// shares.py). The grantee's side (opening) is the share page's protocol.js; what this module
// seals, protocol.js openPayload / openGrantKey open (web/test/engine_grants.test.mjs re-makes
// the grant.json positives byte for byte and round-trips every grant made here).
//
// Theory of operation. A link grant draws a secret S that only travels in the link's fragment;
// the grant key and the access token come from S (and the password, through Argon2id), and the
// server stores SHA-256(access token) only. An account grant draws a random grant key and
// seals it to the grantee's pinned box key. The owner's identity key signs the header (who,
// until when, how many uses) and each payload revision (the file keys of exactly the versions
// covered); the payload is encrypted under the grant key with the header hash in the AD.
// coveredItems() picks the live records a scope covers and names them as the grantee sees
// them; makeShare() assembles the whole POST /v1/grants body, the link, and what the owner
// keeps to publish later revisions (reviseShare) of a live folder grant. Revoking is a plain
// DELETE /v1/grants/{id} (grantPath): nothing to sign, the server ends it at once.
//
// Every header and payload is parsed back by the reader's own code before it is signed, so
// the engine never hands out a grant the grantee's page would refuse.
//
// Pure: secrets, grant keys, ephemeral secrets, nonces, ids and times are parameters.
import * as P from '../src/protocol.js';
import { aeadEncrypt, sign } from './account.js';
import { seal } from './seal.js';

const { FormatError, ascii, concat, canonicalJson, b64u, unb64u } = P;

const GRANT_ID = /^[0-9a-f]{32}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function grantId(id) {
  if (typeof id !== 'string' || !GRANT_ID.test(id)) throw new FormatError('a grant id is 32 lower-case hex');
  return id;
}

function int(v, what, min = 0) {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new FormatError(`${what}: an integer`);
  return v;
}

/** The REST path of a grant (DELETE it to revoke at once; GET …/log for its accesses). */
export function grantPath(id) {
  return `/v1/grants/${grantId(id)}`;
}

// -- link grants ------------------------------------------------------------------------------

/** {grantKey, accessToken, accessHash} of a link secret (and its password, if any). */
export function linkGrantSecrets(secret, password = null) {
  const { grantKey, accessToken } = P.linkSecrets(secret, password);
  return { grantKey, accessToken, accessHash: P.accessHash(accessToken) };
}

/** `<server>/s/<id>#<b64u(S)>`, or `#pw.<b64u(S)>` when the link also needs a password. */
export function formatLink(server, id, secret, hasPassword = false) {
  if (typeof server !== 'string') throw new FormatError('server');
  if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new FormatError('a link secret is 32 bytes');
  const base = server.replace(/\/+$/, '');
  return `${base}/s/${grantId(id)}#${hasPassword ? P.PASSWORD_PREFIX : ''}${b64u(secret)}`;
}

// -- account grants ---------------------------------------------------------------------------

/** "vault.v1/grant-key" || 0x00 || ASCII(grant id). */
export function grantKeyAd(id) {
  return concat(ascii('vault.v1/grant-key\0'), ascii(grantId(id)));
}

/** The grant key sealed to the grantee's pinned X25519 key (ephemeralSk: 32 fresh bytes). */
export function sealGrantKey(toBoxPk, grantKey, id, ephemeralSk) {
  if (!(grantKey instanceof Uint8Array) || grantKey.length !== 32) throw new FormatError('a grant key is 32 bytes');
  return seal(toBoxPk, ephemeralSk, grantKey, grantKeyAd(id));
}

// -- header, items, payload -------------------------------------------------------------------

/**
 * The canonical header bytes. kind 'link' (to and toBoxPk null) or 'account' (both given);
 * expires in Unix seconds; maxUses null or ≥ 1; created as the caller records it (the Python
 * client writes milliseconds). Checked by the reader's decodeHeader before it is returned.
 */
export function grantHeader({ grantId: id, owner, ownerSignPk, kind, to = null, toBoxPk = null, expires, maxUses = null, password = false, created }) {
  if (kind !== 'link' && kind !== 'account') throw new FormatError('kind: link or account');
  if (typeof owner !== 'string' || owner === '') throw new FormatError('owner');
  if ((kind === 'account') !== (to !== null && toBoxPk !== null) || (kind === 'link' && (to !== null || toBoxPk !== null))) {
    throw new FormatError('an account grant names its grantee and key, a link grant neither');
  }
  if (kind === 'account') {
    if (typeof to !== 'string' || to === '') throw new FormatError('to');
    P.checkBoxPk(toBoxPk);
  }
  P.checkSignPk(ownerSignPk);
  if (typeof password !== 'boolean' || (password && kind !== 'link')) throw new FormatError('password: only a link has one');
  const h = canonicalJson({
    created: int(created, 'created'),
    expires: int(expires, 'expires'),
    grant: grantId(id),
    kind,
    max_uses: maxUses === null ? null : int(maxUses, 'max_uses', 1),
    owner,
    owner_sign_pk: b64u(ownerSignPk),
    password,
    to,
    to_box_pk: toBoxPk === null ? null : b64u(toBoxPk),
    v: 1,
  });
  P.decodeHeader(h); // never sign what a grantee refuses
  return h;
}

/**
 * One payload item: a live file record (log.js parseRecord shape) under the name the grantee
 * sees (a valid vault path), its certificate block and document type carried over.
 */
export function grantItem(name, record) {
  if (record === null || typeof record !== 'object' || record.kind !== 'file' || record.deleted) {
    throw new FormatError('a grant item is a live file record');
  }
  if (!HEX32.test(record.fileId) || !HEX64.test(record.manifest)) throw new FormatError('a grant item needs the file id and manifest id');
  if (!(record.key instanceof Uint8Array) || record.key.length !== 32 || !(record.content instanceof Uint8Array) || record.content.length !== 32) {
    throw new FormatError('a grant item needs the file key and content hash');
  }
  return {
    cert: record.cert ?? null,
    content: b64u(record.content),
    file: record.fileId,
    key: b64u(record.key),
    manifest: record.manifest,
    mtime: int(record.mtime, 'mtime'),
    name: P.checkPath(name),
    size: int(record.size, 'size'),
    type: record.type ?? null,
    version: int(record.version, 'version', 1),
  };
}

/** The canonical payload bytes: {grant, items, rev, scope, v: 1}; items from grantItem. */
export function grantPayload(id, rev, scope, items) {
  if (!Array.isArray(scope) || !scope.every((s) => typeof s === 'string')) throw new FormatError('scope: vault paths');
  if (!Array.isArray(items)) throw new FormatError('items');
  return canonicalJson({ grant: grantId(id), items, rev: int(rev, 'rev', 1), scope: [...scope], v: 1 });
}

function payloadAd(headerBytes) {
  return concat(ascii('vault.v1/grant-payload\0'), P.sha256(headerBytes));
}

/**
 * sealed = "VG1" || Sign(owner identity sk, "vault.v1/grant" || 0x00 || SHA256(header) ||
 * nonce || ct) || nonce || ct, where ct = AEAD(grant key, nonce, payload, AD(header)).
 */
export function sealPayload(headerBytes, payloadBytes, grantKey, ownerSignSk, nonce) {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 24) throw new FormatError('a nonce is 24 bytes');
  const ct = aeadEncrypt(grantKey, nonce, payloadBytes, payloadAd(headerBytes));
  const sig = sign(ownerSignSk, concat(ascii('vault.v1/grant\0'), P.sha256(headerBytes), nonce, ct));
  return concat(ascii('VG1'), sig, nonce, ct);
}

// -- what a scope covers ----------------------------------------------------------------------

function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const cx = x[i].codePointAt(0);
    const cy = y[i].codePointAt(0);
    if (cx !== cy) return cx - cy;
  }
  return x.length - y.length;
}

/**
 * [{name, record}] of every live file a scope covers, sorted by name, as shares.py
 * covered_records does: a path in scope is itself and everything under it ("" is the whole
 * vault); its name drops the folder the scope entry sits in ("Papiers/Acte.pdf" shared as
 * itself is "Acte.pdf"; the folder "Papiers" shares "Papiers/…"). heads: Map (or object) of
 * vault path → latest record.
 */
export function coveredItems(heads, scope) {
  const entries = heads instanceof Map ? [...heads.entries()] : Object.entries(heads);
  const out = new Map();
  for (const s of scope) {
    const parent = s.includes('/') ? s.slice(0, s.lastIndexOf('/')) + '/' : '';
    for (const [path, rec] of entries) {
      if (rec.deleted) continue;
      if (path === s || path.startsWith(s + '/') || s === '') {
        const name = parent && path.startsWith(parent) ? path.slice(parent.length) : path;
        out.set(path, { name, record: rec });
      }
    }
  }
  return [...out.values()].sort((a, b) => byCodePoint(a.name, b.name));
}

/** The paths of a scope that cover no live file (shares.create refuses them: "not in the vault"). */
export function uncoveredPaths(heads, scope) {
  return scope.filter((s) => coveredItems(heads, [s]).length === 0);
}

/** The blob set the server may serve through the grant: every manifest and chunk id, sorted. */
export function grantBlobs(covered) {
  const ids = new Set();
  for (const { manifest, chunks } of covered) {
    ids.add(manifest);
    for (const c of chunks) ids.add(c.id);
  }
  return [...ids].sort();
}

// -- a whole share ----------------------------------------------------------------------------

/**
 * Make a grant as shares.create does. Common: server (the link's base), owner, ownerSignPk,
 * ownerSignSk, grantId (16 fresh bytes, hex), expires (Unix s), created, scope (vault paths),
 * covered (coveredItems' output), blobs (grantBlobs'), nonce (24 fresh bytes).
 * A link: secret (32 fresh bytes), password (null or text), maxUses. An account grant: to,
 * toBoxPk (pinned), grantKey (32 fresh bytes), ephemeralSk (32 fresh bytes).
 * Returns {grantId, link (null for an account grant), body (the POST /v1/grants JSON), kept
 * (what the owner keeps to revise it: key, header, scope, rev, expires, names, items)}.
 */
export function makeShare(o) {
  const account = o.to !== undefined && o.to !== null;
  const password = account ? null : (o.password ?? null);
  let grantKey;
  let accessHash = null;
  if (account) {
    grantKey = o.grantKey;
  } else {
    const s = linkGrantSecrets(o.secret, password);
    grantKey = s.grantKey;
    accessHash = s.accessHash;
  }
  const header = grantHeader({
    grantId: o.grantId,
    owner: o.owner,
    ownerSignPk: o.ownerSignPk,
    kind: account ? 'account' : 'link',
    to: account ? o.to : null,
    toBoxPk: account ? o.toBoxPk : null,
    expires: o.expires,
    maxUses: o.maxUses ?? null,
    password: password !== null,
    created: o.created,
  });
  const items = o.covered.map(({ name, record }) => grantItem(name, record));
  const sealed = sealPayload(header, grantPayload(o.grantId, 1, o.scope, items), grantKey, o.ownerSignSk, o.nonce);
  const body = {
    blobs: [...o.blobs],
    expires_at: o.expires,
    header: b64u(header),
    id: o.grantId,
    kind: account ? 'account' : 'link',
    max_uses: o.maxUses ?? null,
    password: password !== null,
    payload: b64u(sealed),
  };
  if (account) {
    body.to = o.to;
    body.sealed_key = b64u(sealGrantKey(o.toBoxPk, grantKey, o.grantId, o.ephemeralSk));
  } else {
    body.access_hash = b64u(accessHash);
  }
  const kept = {
    expires: o.expires,
    header: b64u(header),
    items: items.map((i) => `${i.file}:${i.version}`).sort(),
    key: b64u(grantKey),
    names: Object.fromEntries(items.map((i) => [i.manifest, i.name])),
    rev: 1,
    scope: [...o.scope],
  };
  const link = account ? null : formatLink(o.server, o.grantId, o.secret, password !== null);
  return { grantId: o.grantId, link, body, kept };
}

/**
 * The next revision of a live grant whose scope changed (shares.update_live): null when the
 * covered versions are the ones already published or the grant has ended; else {body (the
 * PUT /v1/grants/{id}/payload JSON), kept (updated)}.
 */
export function reviseShare(id, kept, covered, blobs, ownerSignSk, nonce, now) {
  if (kept.ended || kept.expires <= now) return null;
  const items = covered.map(({ name, record }) => grantItem(name, record));
  const keyset = items.map((i) => `${i.file}:${i.version}`).sort();
  if (keyset.length === kept.items.length && keyset.every((k, i) => k === kept.items[i])) return null;
  const header = unb64u(kept.header);
  const rev = kept.rev + 1;
  const sealed = sealPayload(header, grantPayload(id, rev, kept.scope, items), unb64u(kept.key, 32), ownerSignSk, nonce);
  return {
    body: { blobs: [...blobs], payload: b64u(sealed) },
    kept: { ...kept, items: keyset, names: { ...kept.names, ...Object.fromEntries(items.map((i) => [i.manifest, i.name])) }, rev },
  };
}
