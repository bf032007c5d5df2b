// Requests for documents, the owner's side (protocol/SPEC.md §Requests, "Answers, item by
// item"), as vault_core/deposits.py (open_request, verify_request), vault_core/checklists.py
// and vault_client/service/requests.py do it; checked against protocol/vectors/request.json
// and request_answer.json (web/test/engine_grants.test.mjs).
//
// Theory of operation. A request is an envelope of kind `request` sealed to the owner: an
// issuer's signed statement (what it needs, by when, a message) with its certificate.
// openRequest() checks everything that makes it readable (the envelope, the id binding, the
// issuer's signature under the certified key, bounded fields); verifyRequest() adds what makes
// it *certified*: addressed to this owner's handle and identity key, and the certificate from
// an authority pinned here, valid now, for requests. readRequest() is what a list shows: a
// request that fails only the second part stays readable, "not certified", its issuer's name
// only ever a claim, and is never answered (answerable() says so).
//
// An answer is an account grant to the requester covering every document given so far (the
// grant module makes it; the previous answer's grant is then revoked) and a statement signed
// by the owner's identity key saying which documents answer which item, sealed twice as
// `request-answer` envelopes (to the requester and to the owner) and sent as
// canonical({"owner": b64u(E_owner), "requester": b64u(E_requester)}) with the grant id to
// POST /v1/requests/{id}/answer (answerBody).
//
// Pure: keys, ephemeral secrets, nonces and times are parameters.
import * as P from '../src/protocol.js';
import { openSigned, sealSigned, signedMessage } from './seal.js';

const { FormatError, IntegrityError, canonicalJson, parseCanonicalJson, b64u, unb64u } = P;

export const MAX_NEEDS = 32;
export const MAX_MESSAGE = 4000;
export const MAX_NAMES = 256; // documents named per item of an answer
export const ANSWER_KIND = 'request-answer';
const DOC_TYPE = /^[a-z0-9-]{1,64}$/;
const REQUEST_ID = /^[0-9a-f]{32}$/;

const chars = (s) => [...s].length; // Python's len: code points

function integrity(fn) {
  try {
    return fn();
  } catch {
    throw new IntegrityError();
  }
}
function obj(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new IntegrityError();
  return v;
}
function str(v) {
  if (typeof v !== 'string') throw new IntegrityError();
  return v;
}
function int(v) {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new IntegrityError();
  return v;
}
function get(o, k) {
  if (!Object.hasOwn(o, k)) throw new IntegrityError();
  return o[k];
}

export function isDocType(t) {
  return typeof t === 'string' && DOC_TYPE.test(t);
}

// -- the request ------------------------------------------------------------------------------

function requestFromJson(b) {
  obj(b);
  if (get(b, 'type') !== 'request' || int(get(b, 'v')) !== 1) throw new IntegrityError();
  const needs = get(b, 'needs');
  if (!Array.isArray(needs)) throw new IntegrityError();
  return {
    id: str(get(b, 'id')),
    to: str(get(b, 'to')),
    toSignPk: unb64u(get(b, 'to_sign_pk'), 32),
    needs: needs.map(str),
    due: int(get(b, 'due')),
    message: str(get(b, 'message')),
    created: int(get(b, 'created')),
    issuerPk: unb64u(get(b, 'issuer_pk'), 32),
    requester: str(get(b, 'requester')),
  };
}

/** The statement's JSON object, as signed (RequestStatement.body). */
export function requestBody(st) {
  return {
    created: st.created,
    due: st.due,
    id: st.id,
    issuer_pk: b64u(st.issuerPk),
    message: st.message,
    needs: [...st.needs],
    requester: st.requester,
    to: st.to,
    to_sign_pk: b64u(st.toSignPk),
    type: 'request',
    v: 1,
  };
}

/**
 * Open a request envelope and check what makes it readable: {statement, cert} (cert as
 * protocol.js issuerCertFromJson gives it). IntegrityError when the envelope does not open,
 * the statement is for another id, the signature is not the certified key's, or a field is
 * out of bounds (more than 32 needs, a need that is not a document type, a message over 4000
 * characters).
 */
export function openRequest(requestId, boxSk, envelope) {
  const { meta, sig } = openSigned('request', requestId, boxSk, envelope);
  return integrity(() => {
    const statement = requestFromJson(meta.statement);
    const cert = P.issuerCertFromJson(meta.cert);
    if (!P.equal(statement.issuerPk, cert.issuerPk)) throw new IntegrityError();
    P.verify(statement.issuerPk, signedMessage('request', requestBody(statement)), sig);
    if (statement.id !== requestId) throw new IntegrityError();
    if (chars(statement.message) > MAX_MESSAGE || statement.needs.length > MAX_NEEDS || !statement.needs.every(isDocType)) {
      throw new IntegrityError();
    }
    return { statement, cert };
  });
}

/**
 * What makes an opened request certified: addressed to `owner` and `ownerSignPk`, its
 * certificate from an authority in `trusted` (Map of b64u key → local name), valid at `now`,
 * for requests. Returns the certified issuer name; IntegrityError otherwise.
 */
export function verifyRequest({ statement, cert }, { trusted, now, owner, ownerSignPk }) {
  return integrity(() => {
    if (statement.to !== owner || !P.equal(statement.toSignPk, ownerSignPk)) throw new IntegrityError();
    P.verifyIssuerCert(cert, trusted, now, 'request');
    return cert.name;
  });
}

/**
 * A request as the owner's list shows it: {statement, certified (the issuer's name, or
 * false), claimedIssuer (the certificate's name when not certified: only a claim, never shown
 * as the issuer), addressedToMe}. IntegrityError only when the request is not readable
 * (openRequest); a failed trust check leaves it readable and not certified.
 */
export function readRequest(requestId, boxSk, envelope, { trusted, now, owner, ownerSignPk }) {
  const opened = openRequest(requestId, boxSk, envelope);
  const st = opened.statement;
  const addressedToMe = st.to === owner && P.equal(st.toSignPk, ownerSignPk);
  let certified = false;
  try {
    certified = verifyRequest(opened, { trusted, now, owner, ownerSignPk });
  } catch (e) {
    if (!(e instanceof P.VaultError)) throw e;
  }
  return { statement: st, cert: opened.cert, certified, claimedIssuer: certified ? null : opened.cert.name, addressedToMe };
}

/** Only a certified request addressed to this owner is answered (anyone could send another). */
export function answerable(read) {
  return read.certified !== false && read.addressedToMe;
}

// -- the answer statement ---------------------------------------------------------------------

function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function checkAnswerItems(items) {
  if (items === null || typeof items !== 'object' || Array.isArray(items)) throw new FormatError('answer: items');
  const types = Object.keys(items);
  if (types.length === 0) throw new FormatError('answer: no item');
  for (const t of types) {
    const names = items[t];
    if (!isDocType(t) || !Array.isArray(names) || names.length < 1 || names.length > MAX_NAMES) {
      throw new FormatError('answer: an item is not a document type with documents');
    }
    if (!names.every((n) => typeof n === 'string' && n.length > 0 && chars(n) <= 1024)) throw new FormatError('answer: a document name');
  }
}

/**
 * The answer statement's JSON object (AnswerStatement.body): items is {doc type: [vault
 * path…]}, the names sorted. FormatError when malformed (no item, an item that is not a
 * document type with 1 to 256 names).
 */
export function answerBody({ requestId, owner, ownerSignPk, requester, grantId, items, answered }) {
  checkAnswerItems(items);
  if (typeof answered !== 'number' || !Number.isSafeInteger(answered) || answered < 0) throw new FormatError('answer: answered');
  const sorted = {};
  for (const t of Object.keys(items)) sorted[t] = [...items[t]].sort(byCodePoint);
  return {
    answered,
    grant: grantId,
    items: sorted,
    owner,
    owner_sign_pk: b64u(ownerSignPk),
    request: requestId,
    requester,
    type: ANSWER_KIND,
    v: 1,
  };
}

function answerFromJson(b) {
  return integrity(() => {
    obj(b);
    if (get(b, 'type') !== ANSWER_KIND || int(get(b, 'v')) !== 1) throw new IntegrityError();
    const items = obj(get(b, 'items'));
    const st = {
      requestId: str(get(b, 'request')),
      owner: str(get(b, 'owner')),
      ownerSignPk: unb64u(get(b, 'owner_sign_pk'), 32),
      requester: str(get(b, 'requester')),
      grantId: str(get(b, 'grant')),
      items: Object.fromEntries(
        Object.entries(items).map(([t, names]) => {
          if (!Array.isArray(names)) throw new IntegrityError();
          return [t, names.map(str)];
        }),
      ),
      answered: int(get(b, 'answered')),
    };
    checkAnswerItems(st.items);
    return st;
  });
}

/**
 * The answer's envelope bytes (checklists.build_answer): the statement signed by the owner's
 * identity key, sealed to the requester's and to the owner's box keys. keys, ephemerals,
 * nonces: pairs of fresh bytes (32, 32, 24), the requester's first.
 */
export function buildAnswer({ statement, ownerSignSk, requesterBoxPk, ownerBoxPk, keys, ephemerals, nonces }) {
  const body = answerBody(statement);
  const copies = {};
  [
    ['requester', requesterBoxPk],
    ['owner', ownerBoxPk],
  ].forEach(([who, pk], i) => {
    copies[who] = b64u(sealSigned(ANSWER_KIND, statement.requestId, body, ownerSignSk, pk, keys[i], ephemerals[i], nonces[i]));
  });
  return canonicalJson(copies);
}

/**
 * Read one copy of an answer (reader 'owner' or 'requester'): the statement {requestId, owner,
 * ownerSignPk, requester, grantId, items, answered}, once the copy opens with an empty body,
 * names this request, and is signed by `ownerSignPk` (the key the reader holds). With
 * `listedGrant`, the grant must be the one the server lists for the answer. IntegrityError.
 */
export function openAnswer(requestId, reader, boxSk, envelope, ownerSignPk, listedGrant = null) {
  if (reader !== 'owner' && reader !== 'requester') throw new FormatError('reader: owner or requester');
  const sealed = integrity(() => {
    const pair = obj(parseCanonicalJson(envelope));
    const k = Object.keys(pair).sort();
    if (k.length !== 2 || k[0] !== 'owner' || k[1] !== 'requester') throw new IntegrityError();
    return unb64u(str(pair[reader]));
  });
  const { meta, body, sig } = openSigned(ANSWER_KIND, requestId, boxSk, sealed);
  const st = answerFromJson(meta.statement);
  if (body.length !== 0 || st.requestId !== requestId || !P.equal(st.ownerSignPk, ownerSignPk)) throw new IntegrityError();
  P.verify(ownerSignPk, signedMessage(ANSWER_KIND, answerBody(st)), sig);
  if (listedGrant !== null && st.grantId !== listedGrant) throw new IntegrityError();
  return st;
}

// -- item by item -----------------------------------------------------------------------------

/** Each needed type with 'provided' or 'missing', in the request's order. */
export function itemStates(needs, answer) {
  const given = answer ? answer.items : {};
  return needs.map((t) => ({ type: t, state: Object.hasOwn(given, t) && given[t].length > 0 ? 'provided' : 'missing' }));
}

/** 'answered' when every needed item is provided, else 'overdue' past `due`, else 'partial'. */
export function checklistState(needs, answer, due, now) {
  if (needs.every((t) => Object.hasOwn(answer.items, t) && answer.items[t].length > 0)) return 'answered';
  return now > due ? 'overdue' : 'partial';
}

/**
 * The items of the next answer (requests.answer): `given` (the last answer's items, or {})
 * plus `paths`, each for `item` when named, else for its own document type (`types`: vault
 * path → document type) when the request needs it, else for every item still missing (or
 * every item when none is). Returns {items, paths (every document given so far, sorted: the
 * scope of the new grant)}. FormatError when `item` is not one the request needs.
 */
export function answerItems(needs, given, paths, types, item = null) {
  if (item !== null && !needs.includes(item)) throw new FormatError(`this request needs ${needs.join(', ')}`);
  const sets = new Map(Object.entries(given || {}).map(([t, n]) => [t, new Set(n)]));
  const missing = needs.filter((t) => !(sets.get(t)?.size > 0));
  for (const path of paths) {
    let targets;
    if (item !== null) targets = [item];
    else if (typeOf(types, path) !== null && needs.includes(typeOf(types, path))) targets = [typeOf(types, path)];
    else targets = missing.length ? missing : needs;
    for (const t of targets) {
      if (!sets.has(t)) sets.set(t, new Set());
      sets.get(t).add(path);
    }
  }
  const items = {};
  const all = new Set();
  for (const [t, names] of sets) {
    items[t] = [...names].sort(byCodePoint);
    for (const n of names) all.add(n);
  }
  return { items, paths: [...all].sort(byCodePoint) };
}

function typeOf(types, path) {
  if (types instanceof Map) return types.get(path) ?? null;
  return types && Object.hasOwn(types, path) ? types[path] : null;
}

/** The JSON of POST /v1/requests/{id}/answer, and its path. */
export function answerRequest(requestId, grantId, envelope) {
  if (!REQUEST_ID.test(requestId)) throw new FormatError('a request id is 32 lower-case hex');
  return { path: `/v1/requests/${requestId}/answer`, body: { envelope: b64u(envelope), grant_id: grantId } };
}
