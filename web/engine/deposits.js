// Certified deposits, the owner's side (protocol/SPEC.md §Deposits, §File records): reading a
// deposit in the inbox and accepting it into the vault as vault_client/service/inbox.py does,
// so that a file record written in the browser for an accepted deposit is the one the Python
// client writes (web/test/engine_grants.test.mjs checks it against protocol/vectors/
// deposit.json and against vault_core itself).
//
// Theory of operation. protocol.js openDeposit opens the envelope and checks what makes it
// readable (the id binding, the issuer's signature under the certificate's key, the
// document's hash and size). readDeposit() adds what makes it *certified* (addressed to this
// owner, a certificate from an authority pinned here, valid at reception and at issue, not
// dated after reception): one that fails is listed "not certified", its issuer's name only a
// claim. acceptDeposit() refuses a deposit addressed to someone else, and gives what goes
// into the vault: the path (Courrier/<issuer or « non certifié »>/<file name>, made free and
// synced, depositPath), the document type, the modification time (the issue date) and the
// certificate block {"proof", "received"} of the file record (depositRecord), so every device
// of the owner, and a grantee, can re-check the chain later.
//
// Pure: the reception time and the vault's current paths are parameters.
import * as P from '../src/protocol.js';
import { fileRecord } from './files.js';
import { parseRecord, recordJson } from './log.js';

const { FormatError, IntegrityError, b64u } = P;

// -- the proof as the record holds it ---------------------------------------------------------

/** The issuer certificate's JSON (IssuerCert.to_json), from protocol.js issuerCertFromJson. */
export function issuerCertJson(c) {
  return { cert: P.certBody(c), sig: b64u(c.sig) };
}

/** The deposit statement's JSON (DepositStatement.body): the body protocol.js verifies. */
export function depositStatementJson(st) {
  return P.statementBody(st);
}

/** A deposit proof's JSON (DepositProof.to_json): re-encoded from its parsed fields, never copied. */
export function proofJson(proof) {
  return { cert: issuerCertJson(proof.cert), sig: b64u(proof.sig), statement: depositStatementJson(proof.statement) };
}

/** The certificate block of a file record: {"proof": proof, "received": Unix seconds}. */
export function certificateBlock(proof, received) {
  if (typeof received !== 'number' || !Number.isSafeInteger(received) || received < 0) throw new FormatError('received: Unix seconds');
  return { proof: proofJson(proof), received };
}

// -- reading and accepting --------------------------------------------------------------------

/**
 * A deposit as the inbox shows it: {proof, statement, document, certified (the issuer's name,
 * or false), claimedIssuer (the certificate's name when not certified: only a claim)}.
 * IntegrityError when it does not open (forged or damaged: shown as failed, never accepted).
 * trusted: Map of b64u authority key → local name; now: the reception time (Unix seconds).
 */
export function readDeposit(depositId, boxSk, envelope, { trusted, now, owner, ownerSignPk }) {
  const { proof, document } = P.openDeposit(depositId, boxSk, envelope);
  let certified = false;
  try {
    certified = P.verifyDepositProof(proof, { trusted, now, owner, ownerSignPk, documentSha256: P.sha256(document), received: now });
  } catch (e) {
    if (!(e instanceof P.VaultError)) throw e;
  }
  return { proof, statement: proof.statement, document, certified, claimedIssuer: certified ? null : proof.cert.name };
}

/**
 * Accepting a deposit (inbox.accept): IntegrityError when it does not open or is addressed to
 * another person; else {proof, document, issuer (certified name or null), type, mtime (the
 * issue date, ms), cert (the record's certificate block, received = now)}.
 */
export function acceptDeposit(depositId, boxSk, envelope, { trusted, now, owner, ownerSignPk }) {
  const read = readDeposit(depositId, boxSk, envelope, { trusted, now, owner, ownerSignPk });
  const st = read.statement;
  if (st.to !== owner || !P.equal(st.toSignPk, ownerSignPk)) throw new IntegrityError('the deposit is addressed to another person');
  return {
    proof: read.proof,
    document: read.document,
    issuer: read.certified === false ? null : read.certified,
    type: st.docType,
    mtime: st.issued * 1000,
    cert: certificateBlock(read.proof, now),
  };
}

/**
 * The live file record of an accepted deposit: the uploaded version (fileId, version, path,
 * size, content, manifest, key, as files.js makes them) with the deposit's type, issue date
 * and certificate block. Parsed back by the log's own parser before it is returned.
 */
export function depositRecord(upload, accepted) {
  const r = { ...fileRecord({ ...upload, mtime: accepted.mtime, type: accepted.type }), cert: accepted.cert };
  parseRecord(P.parseCanonicalJson(P.canonicalJson(recordJson(r))));
  return r;
}

// -- where it goes ----------------------------------------------------------------------------

/** Names a synced folder skips (vault_client/folder.py DEFAULT_IGNORES, as fnmatch patterns). */
export const DEFAULT_IGNORES = Object.freeze(['.vault', '.DS_Store', 'Thumbs.db', 'desktop.ini', '*.tmp', '*.part', '*.partial', '*.crdownload', '~$*', '.~lock.*#', '*.swp', '*~']);
const IGNORED = new RegExp(
  '^(?:' + DEFAULT_IGNORES.map((p) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]')).join('|') + ')$',
);

/** A vault path a desktop client's folder would skip (any component matching an ignore rule). */
export function ignoredPath(path) {
  return path.split('/').some((part) => IGNORED.test(part));
}

/** An issuer's name as one folder name (inbox._safe_component). */
export function safeComponent(name) {
  const kept = [...name].map((c) => (/[\p{L}\p{N}]/u.test(c) || " -_'().".includes(c) ? c : '_')).join('');
  const cleaned = kept.replace(/^[ .]+|[ .]+$/g, '');
  return [...cleaned].slice(0, 80).join('') || 'issuer';
}

/**
 * The vault path an accepted deposit goes to (inbox.accept and _target_path): `to` (a file
 * path, or a folder: ending in "/" or an existing folder) or Courrier/<issuer's name, or
 * « non certifié »>/<file name>; renamed when a desktop folder would skip it; beside it with
 * "(<id[:8]>)" when taken. paths: the vault's live paths (an iterable). FormatError for a
 * path that is not a valid vault path.
 */
export function depositPath({ depositId, filename, issuer = null, to = null, paths = [] }) {
  const live = new Set(paths);
  const isFolder = (p) => {
    for (const q of live) if (q.startsWith(p + '/')) return true;
    return false;
  };
  const folderName = issuer ? safeComponent(issuer) : 'non certifié';
  let vpath = to ? to.replace(/^\/+|\/+$/g, '') : `Courrier/${folderName}/${filename}`;
  if (to && (to.endsWith('/') || isFolder(vpath))) vpath = `${vpath}/${filename}`;
  P.checkPath(vpath);
  if (ignoredPath(vpath)) {
    const cut = vpath.lastIndexOf('/');
    const parent = cut >= 0 ? vpath.slice(0, cut) : '';
    let leaf = vpath.slice(cut + 1);
    leaf = leaf.endsWith('.pdf') ? `document ${depositId.slice(0, 8)} - ${leaf}` : `document ${depositId.slice(0, 8)} - ${leaf}.pdf`;
    vpath = parent ? `${parent}/${leaf}` : leaf;
    if (ignoredPath(vpath)) vpath = parent ? `${parent}/document ${depositId}` : `document ${depositId}`;
    P.checkPath(vpath);
  }
  if (live.has(vpath) || isFolder(vpath)) {
    const dot = filename.lastIndexOf('.');
    const base = dot >= 0 ? filename.slice(0, dot) : filename;
    const suffix = dot >= 0 ? filename.slice(dot) : '';
    const tag = `${base} (${depositId.slice(0, 8)})${suffix}`;
    vpath = vpath.includes('/') ? `${vpath.slice(0, vpath.lastIndexOf('/'))}/${tag}` : tag;
  }
  return vpath;
}
