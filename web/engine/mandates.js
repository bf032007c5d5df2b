// Helper mandates as the owner's browser reads them in his log (protocol/SPEC.md §Mandates):
// the owner-signed statement and what its scopes allow. Checked against
// protocol/vectors/mandate.json (web/test/engine_vectors.test.mjs). Pure.
import * as P from '../src/protocol.js';

const { FormatError, IntegrityError, ascii, concat, canonicalJson, parseCanonicalJson, unb64u } = P;

export const COURRIER = 'Courrier'; // where accepted deposits go, for a helper too
const FIELDS = ['created', 'expires', 'grant', 'helper', 'helper_box_pk', 'helper_sign_pk', 'mandate', 'name', 'owner', 'owner_box_pk', 'owner_sign_pk', 'scopes', 'type', 'v'];
const HANDLE = /^[a-z0-9][a-z0-9._-]{1,31}$/;
const ID = /^[0-9a-f]{32}$/;
const MAX_LIFE = 10 * 366 * 86400;
const MAX_SCOPES = 16;

export function inside(path, base) {
  return path === base || path.startsWith(base + '/');
}

function scopePaths(scopes, kind) {
  return scopes.filter((s) => s.split(':')[0] === kind && s.includes(':')).map((s) => s.slice(s.indexOf(':') + 1));
}

/** Whether a helper with `scopes` may do `action` (upload, accept, answer; read) at `path`. */
export function allows(scopes, action, path = null) {
  if (action === 'read' || action === 'upload') return path !== null && scopePaths(scopes, action).some((p) => inside(path, p));
  if (action === 'accept') {
    if (!scopes.includes('inbox') || path === null) return false;
    return inside(path, COURRIER) || scopePaths(scopes, 'upload').some((p) => inside(path, p));
  }
  if (action === 'answer') return scopes.includes('requests');
  return false;
}

function writtenScope(s) {
  if (s === 'requests' || s === 'inbox') return true;
  const cut = s.indexOf(':');
  if (cut < 0) return false;
  const kind = s.slice(0, cut);
  if (kind !== 'read' && kind !== 'upload') return false;
  try {
    P.checkPath(s.slice(cut + 1));
    return true;
  } catch {
    return false;
  }
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function name(n) {
  return typeof n === 'string' && [...n].length >= 1 && [...n].length <= 64 && n === n.trim() && !/\p{Cc}|\p{Cf}/u.test(n);
}

function key(value, box) {
  const raw = unb64u(value, 32);
  if (box) P.checkBoxPk(raw);
  else P.checkSignPk(raw);
  return raw;
}

/** Parse a statement's canonical bytes (no signature check); IntegrityError on any rule. */
export function decodeMandate(data) {
  try {
    const o = parseCanonicalJson(data);
    const keys = Object.keys(o).sort();
    if (keys.length !== FIELDS.length || !keys.every((k, i) => k === FIELDS[i]) || o.type !== 'mandate' || o.v !== 1) throw new FormatError('fields');
    if (!Array.isArray(o.scopes) || !o.scopes.every((s) => typeof s === 'string')) throw new FormatError('scopes');
    for (const k of ['mandate', 'owner', 'helper', 'name']) if (typeof o[k] !== 'string') throw new FormatError(k);
    for (const k of ['created', 'expires']) if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]) || o[k] < 0) throw new FormatError(k);
    const m = {
      mandateId: o.mandate,
      owner: o.owner,
      ownerSignPk: key(o.owner_sign_pk, false),
      ownerBoxPk: key(o.owner_box_pk, true),
      helper: o.helper,
      helperSignPk: key(o.helper_sign_pk, false),
      helperBoxPk: key(o.helper_box_pk, true),
      name: o.name,
      scopes: [...o.scopes],
      created: o.created,
      expires: o.expires,
      grant: o.grant,
    };
    if (!ID.test(m.mandateId) || !HANDLE.test(m.owner) || !HANDLE.test(m.helper) || m.owner === m.helper) throw new FormatError('ids');
    if (!(m.grant === null || (typeof m.grant === 'string' && ID.test(m.grant)))) throw new FormatError('grant');
    if ((m.grant !== null) !== (scopePaths(m.scopes, 'read').length > 0)) throw new FormatError('grant');
    if (!name(m.name)) throw new FormatError('name');
    const sorted = [...new Set(m.scopes)].sort(cmp);
    if (sorted.length !== m.scopes.length || !sorted.every((s, i) => s === m.scopes[i]) || m.scopes.length < 1 || m.scopes.length > MAX_SCOPES) throw new FormatError('scopes');
    if (!m.scopes.every(writtenScope)) throw new FormatError('scope');
    if (!(m.created < m.expires && m.expires <= m.created + MAX_LIFE)) throw new FormatError('times');
    return m;
  } catch {
    throw new IntegrityError();
  }
}

/** A statement signed by the owner whose identity key the verifier holds. */
export function openMandate(data, sig, ownerSignPk) {
  const m = decodeMandate(data);
  if (!(sig instanceof Uint8Array) || sig.length !== 64 || !P.equal(m.ownerSignPk, ownerSignPk)) throw new IntegrityError();
  P.verify(ownerSignPk, concat(ascii('vault.v1/mandate\0'), data), sig);
  return m;
}

export function canonical(o) {
  return canonicalJson(o);
}
