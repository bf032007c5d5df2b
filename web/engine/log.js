// The signed, hash-chained change log in the browser (protocol/SPEC.md §File records, §Log).
//
// Theory of operation: entry `seq` is canonical JSON {device, prev, rec, seq, sig, time, v};
// `prev` chains to the previous entry's hash (genesis binds the log to the handle), `rec` is the
// record sealed under the record key with the AD (device, handle, seq), `sig` the author
// device's signature. LogVerifier replays entries in order and fails with the opaque
// IntegrityError on any gap, reorder, replay, fork, forged or revoked author, or bad record,
// changing nothing; checkHead detects a server whose log is shorter than what was seen.
// A helper (SPEC §Mandates) writes her own entries under a `mandate` record the owner signed:
// `device` is the mandate id, the record is sealed to the owner's box key, her identity key
// signs; the verifier holds each mandate and refuses her entries outside its scopes or time,
// or after its `mandate-end`.
// makeEntry signs only what its own parser accepts (the log is append-only).
//
// Pure: nonces, device keys and times are parameters.
import * as P from '../src/protocol.js';
import { verifyDeviceCert, sign, aeadEncrypt } from './account.js';
import { openMandate, decodeMandate, allows } from './mandates.js';

const { FormatError, IntegrityError, VaultError, ascii, concat, canonicalJson, parseCanonicalJson, b64u, unb64u } = P;

export class RollbackError extends VaultError {
  constructor(message = 'rollback detected') {
    super(message);
    this.name = 'RollbackError';
  }
}

export const MAX_ENTRY = 1024 * 1024;

export function genesis(handle) {
  return P.sha256(concat(ascii('vault.v1/log-genesis\0'), P.utf8(handle)));
}

export function entryHash(encoded) {
  return P.sha256(concat(ascii('vault.v1/log-hash\0'), encoded));
}

function recordAd(handle, seq, deviceId) {
  return concat(ascii('vault.v1/record\0'), canonicalJson({ device: deviceId, handle, seq }));
}

// -- records ----------------------------------------------------------------------------------

const FILE_FIELDS = ['cert', 'content', 'deleted', 'file', 'key', 'kind', 'manifest', 'mtime', 'path', 'size', 'type', 'version'];
const ID32 = /^[0-9a-f]{32}$/;
const ID64 = /^[0-9a-f]{64}$/;

function uint(v) {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new FormatError('expected a non-negative integer');
  return v;
}
function id(v, re) {
  if (typeof v !== 'string' || !re.test(v)) throw new FormatError('bad id');
  return v;
}
function sameKeys(o, keys) {
  const have = Object.keys(o).sort();
  const want = [...keys].sort();
  return have.length === want.length && have.every((k, i) => k === want[i]);
}

/** Parse a record object (file, device, revoke); FormatError on anything off. */
export function parseRecord(o) {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new FormatError('record: not an object');
  if (o.kind === 'file') {
    if (!sameKeys(o, FILE_FIELDS)) throw new FormatError('record: unexpected or missing fields');
    if (typeof o.deleted !== 'boolean') throw new FormatError('record: deleted');
    const r = {
      kind: 'file',
      fileId: id(o.file, ID32),
      version: uint(o.version),
      path: P.checkPath(o.path),
      deleted: o.deleted,
      size: uint(o.size),
      mtime: uint(o.mtime),
      content: unb64u(o.content),
      manifest: o.deleted ? (typeof o.manifest === 'string' ? o.manifest : null) : id(o.manifest, ID64),
      key: unb64u(o.key),
      type: o.type,
      cert: o.cert,
    };
    if (r.manifest === null) throw new FormatError('record: manifest');
    if (!(r.type === null || (typeof r.type === 'string' && r.type.length > 0 && [...r.type].length <= 64))) throw new FormatError('record: type');
    if (!(r.cert === null || (typeof r.cert === 'object' && !Array.isArray(r.cert)))) throw new FormatError('record: cert');
    if (r.version < 1 || r.version >= 2 ** 32) throw new FormatError('record: version out of range');
    if (r.deleted) {
      if (r.manifest || r.key.length || r.content.length || r.size || r.cert) throw new FormatError('record: a tombstone carries no content');
    } else if (r.key.length !== 32 || r.content.length !== 32) {
      throw new FormatError('record: bad key or content hash');
    }
    return r;
  }
  if ((o.kind === 'device' || o.kind === 'revoke') && sameKeys(o, ['cert', 'device', 'kind'])) {
    if (typeof o.cert !== 'string') throw new FormatError('record: cert');
    return { kind: o.kind, deviceId: id(o.device, ID32), cert: unb64u(o.cert) };
  }
  if (o.kind === 'mandate' && sameKeys(o, ['kind', 'mandate', 'sig'])) {
    if (typeof o.mandate !== 'string' || typeof o.sig !== 'string') throw new FormatError('record: mandate');
    return { kind: 'mandate', statement: unb64u(o.mandate), sig: unb64u(o.sig, 64) };
  }
  if (o.kind === 'mandate-end' && sameKeys(o, ['ended', 'kind', 'mandate'])) {
    return { kind: 'mandate-end', mandateId: id(o.mandate, ID32), ended: uint(o.ended) };
  }
  if (o.kind === 'helper') return parseHelperRecord(o);
  throw new FormatError('record: unknown kind');
}

const DETAIL = { upload: [], accept: ['deposit'], answer: ['documents', 'grant', 'request', 'requester'] };

function parseHelperRecord(o) {
  if (!sameKeys(o, ['action', 'detail', 'file', 'kind', 'mandate'])) throw new FormatError('helper record: fields');
  const { action, detail } = o;
  if (!Object.hasOwn(DETAIL, action) || detail === null || typeof detail !== 'object' || Array.isArray(detail) || !sameKeys(detail, DETAIL[action])) {
    throw new FormatError('helper record: action or detail');
  }
  const file = o.file === null ? null : parseRecord(o.file);
  if (action === 'answer') {
    const docs = detail.documents;
    if (file !== null || !Array.isArray(docs) || docs.length < 1 || docs.length > 256) throw new FormatError('helper record: documents');
    for (const d of docs) P.checkPath(d);
    id(detail.grant, ID32);
    id(detail.request, ID32);
    if (typeof detail.requester !== 'string' || !detail.requester) throw new FormatError('helper record: requester');
  } else {
    if (file === null || file.kind !== 'file' || file.deleted || file.version !== 1) throw new FormatError('helper record: a new live file');
    if (action === 'upload' && file.cert !== null) throw new FormatError('helper record: an upload carries no certificate');
    if (action === 'accept') {
      id(detail.deposit, ID32);
      const proofId = file.cert && file.cert.proof && file.cert.proof.statement && file.cert.proof.statement.id;
      if (proofId !== detail.deposit) throw new FormatError("helper record: the deposit's proof");
    }
  }
  return { kind: 'helper', mandateId: id(o.mandate, ID32), action, detail, file, raw: o };
}

/** The JSON object of a record made by this engine. */
export function recordJson(r) {
  if (r.kind === 'mandate') return { kind: 'mandate', mandate: b64u(r.statement), sig: b64u(r.sig) };
  if (r.kind === 'mandate-end') return { ended: r.ended, kind: 'mandate-end', mandate: r.mandateId };
  if (r.kind === 'helper') return { action: r.action, detail: r.detail, file: r.file === null ? null : recordJson(r.file), kind: 'helper', mandate: r.mandateId };
  if (r.kind === 'file') {
    return {
      cert: r.cert ?? null,
      content: b64u(r.content),
      deleted: r.deleted,
      file: r.fileId,
      key: b64u(r.key),
      kind: 'file',
      manifest: r.manifest,
      mtime: r.mtime,
      path: r.path,
      size: r.size,
      type: r.type ?? null,
      version: r.version,
    };
  }
  return { cert: b64u(r.cert), device: r.deviceId, kind: r.kind };
}

// -- entries ----------------------------------------------------------------------------------

function unsigned(e) {
  return { device: e.deviceId, prev: b64u(e.prev), rec: b64u(e.rec), seq: e.seq, time: e.time, v: 1 };
}

function signMessage(e) {
  return concat(ascii('vault.v1/log-entry\0'), canonicalJson(unsigned(e)));
}

/** Decode an entry's bytes strictly; IntegrityError on anything off. */
export function decodeEntry(data) {
  if (!(data instanceof Uint8Array) || data.length > MAX_ENTRY) throw new IntegrityError();
  try {
    const o = parseCanonicalJson(data);
    if (!sameKeys(o, ['device', 'prev', 'rec', 'seq', 'sig', 'time', 'v']) || o.v !== 1) throw new IntegrityError();
    if (typeof o.prev !== 'string' || typeof o.rec !== 'string' || typeof o.sig !== 'string') throw new IntegrityError();
    const e = {
      seq: uint(o.seq),
      prev: unb64u(o.prev, 32),
      deviceId: id(o.device, ID32),
      time: uint(o.time),
      rec: unb64u(o.rec),
      sig: unb64u(o.sig, 64),
      encoded: data,
    };
    return e;
  } catch {
    throw new IntegrityError();
  }
}

export function openRecord(handle, recordKey, e) {
  const rec = e.rec;
  if (rec.length < 43 || rec[0] !== 0x56 || rec[1] !== 0x52 || rec[2] !== 0x31) throw new IntegrityError(); // VR1
  const plain = P.aeadDecrypt(recordKey, rec.subarray(3, 27), rec.subarray(27), recordAd(handle, e.seq, e.deviceId));
  try {
    return parseRecord(parseCanonicalJson(plain));
  } catch {
    throw new IntegrityError();
  }
}

/** Seal and sign the next entry: {seq, prev, deviceId, time, rec, sig, encoded, hash}. */
export function makeEntry({ handle, recordKey, deviceId, deviceSk, seq, prev, time, record, nonce }) {
  const plain = canonicalJson(recordJson(record));
  parseRecord(parseCanonicalJson(plain)); // never sign what a verifier refuses
  const ct = aeadEncrypt(recordKey, nonce, plain, recordAd(handle, seq, deviceId));
  const e = { seq, prev, deviceId, time, rec: concat(ascii('VR1'), nonce, ct) };
  e.sig = sign(deviceSk, signMessage(e));
  e.encoded = canonicalJson({ ...unsigned(e), sig: b64u(e.sig) });
  e.hash = entryHash(e.encoded);
  return e;
}

// -- verification -----------------------------------------------------------------------------

function helperAd(handle, seq, mandateId) {
  return concat(ascii('vault.v1/helper-record\0'), canonicalJson({ handle, mandate: mandateId, seq }));
}

export function openHelperRecord(handle, boxSk, e) {
  const rec = e.rec;
  if (!boxSk || rec.length < 3 + 48 || rec[0] !== 0x56 || rec[1] !== 0x48 || rec[2] !== 0x31) throw new IntegrityError(); // VH1
  const plain = P.sealOpen(boxSk, rec.subarray(3), helperAd(handle, e.seq, e.deviceId));
  let record;
  try {
    record = parseRecord(parseCanonicalJson(plain));
  } catch {
    throw new IntegrityError();
  }
  if (record.kind !== 'helper' || record.mandateId !== e.deviceId) throw new IntegrityError();
  return record;
}

export class LogVerifier {
  /** boxSk (the owner's identity box key) opens helper entries (SPEC §Mandates). */
  constructor(handle, identitySignPk, recordKey, state = null, boxSk = null) {
    this.handle = handle;
    this.identitySignPk = identitySignPk;
    this.recordKey = recordKey;
    this.boxSk = boxSk;
    this.seq = state ? state.seq : 0;
    this.head = state ? unb64u(state.head, 32) : genesis(handle);
    this.devices = new Map(state ? Object.entries(state.devices).map(([k, v]) => [k, unb64u(v, 32)]) : []);
    this.revoked = new Set(state ? state.revoked : []);
    this.mandates = new Map(); // mandate id → {statement, sig, terms, ended}
    for (const [k, h] of Object.entries((state && state.mandates) || {})) {
      const statement = unb64u(h.statement);
      this.mandates.set(k, { statement, sig: unb64u(h.sig, 64), terms: decodeMandate(statement), ended: !!h.ended });
    }
  }

  helperRecord(e, held) {
    const t = held.terms;
    if (held.ended || !(t.created * 1000 <= e.time && e.time < t.expires * 1000)) throw new IntegrityError();
    const record = openHelperRecord(this.handle, this.boxSk, e);
    if (!allows(t.scopes, record.action, record.file ? record.file.path : null)) throw new IntegrityError();
    P.verify(t.helperSignPk, signMessage(e), e.sig);
    return record;
  }

  mandateChange(record) {
    if (record.kind === 'mandate') {
      const terms = openMandate(record.statement, record.sig, this.identitySignPk);
      if (terms.owner !== this.handle || this.mandates.has(terms.mandateId) || this.devices.has(terms.mandateId)) throw new IntegrityError();
      return { statement: record.statement, sig: record.sig, terms, ended: false };
    }
    if (record.kind === 'mandate-end') {
      const held = this.mandates.get(record.mandateId);
      if (!held || held.ended) throw new IntegrityError();
      return { ...held, ended: true };
    }
    return null;
  }

  /** Verify the next entry's bytes: {entry, record}. On failure nothing changes. `accept`, if
   * given, sees the verified record before anything is committed and may refuse it (throw). */
  feed(data, accept = null) {
    const e = decodeEntry(data);
    if (e.seq !== this.seq + 1 || !P.equal(e.prev, this.head)) throw new IntegrityError();
    if (this.revoked.has(e.deviceId)) throw new IntegrityError();
    const held = this.mandates.get(e.deviceId);
    if (held) {
      const helper = this.helperRecord(e, held);
      if (accept) accept(helper);
      this.seq = e.seq;
      this.head = entryHash(e.encoded);
      return { entry: e, record: helper };
    }
    const record = openRecord(this.handle, this.recordKey, e);
    if (record.kind === 'helper') throw new IntegrityError(); // a device never writes in a helper's name
    let signer = this.devices.get(e.deviceId) ?? null;
    if (record.kind === 'device') {
      if (this.mandates.has(record.deviceId)) throw new IntegrityError();
      const cert = verifyDeviceCert(record.cert, this.identitySignPk);
      if (cert.deviceId !== record.deviceId || cert.handle !== this.handle) throw new IntegrityError();
      if (record.deviceId !== e.deviceId) throw new IntegrityError();
      if (signer !== null && !P.equal(signer, cert.signPk)) throw new IntegrityError();
      signer = cert.signPk;
    }
    if (signer === null) throw new IntegrityError();
    P.verify(signer, signMessage(e), e.sig);
    const added = this.mandateChange(record);
    if (record.kind === 'revoke' && !this.devices.has(record.deviceId)) throw new IntegrityError();
    if (accept) accept(record);
    if (added) this.mandates.set(added.terms.mandateId, added);
    if (record.kind === 'device') this.devices.set(record.deviceId, signer);
    if (record.kind === 'revoke') this.revoked.add(record.deviceId);
    this.seq = e.seq;
    this.head = entryHash(e.encoded);
    return { entry: e, record };
  }

  state() {
    const out = {
      devices: Object.fromEntries([...this.devices.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, b64u(v)])),
      head: b64u(this.head),
      revoked: [...this.revoked].sort(),
      seq: this.seq,
    };
    if (this.mandates.size) {
      out.mandates = Object.fromEntries(
        [...this.mandates.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, h]) => [k, { ended: h.ended, sig: b64u(h.sig), statement: b64u(h.statement) }]),
      );
    }
    return out;
  }
}

export function checkHead(serverHead, seenSeq) {
  if (serverHead < seenSeq) throw new RollbackError(`the server's log (at ${serverHead}) is older than what this tab has seen (at ${seenSeq})`);
}
