"""File records and the signed, hash-chained change log (SPEC §Records, §Log).

Theory of operation: the account's history is one append-only log. Entry ``n`` is a canonical
JSON object ``{"v","seq","prev","device","time","rec","sig"}``:

* ``prev`` is the hash of entry ``n-1`` (the genesis value binds the log to the account);
* ``rec`` is the encrypted record: ``"VR1" | nonce | AEAD(record_key, nonce, record, AD)``
  with ``AD = "vault.v1/record\\0" | canonical{"device","handle","seq"}``; the server sees
  neither file ids, names, sizes nor types, only that an entry exists;
* ``sig`` is the device's Ed25519 signature over the entry without ``sig``.

A device joins the log with a ``device`` record carrying its certificate (signed by the
account's identity key, which no server holds), and leaves it with a ``revoke`` record: the
log is self-contained, and a device the server injects has no valid certificate. A helper
(SPEC §Mandates) writes her own entries under a ``mandate`` record the owner signed: ``device``
is the mandate id, the record is sealed to the owner's box key and her identity key signs; the
verifier holds each mandate and refuses her entries outside its scopes, time or after its
``mandate-end``.

:class:`LogVerifier` replays entries in order and raises the opaque IntegrityError on any
gap, reorder, replay, fork (prev mismatch), forged or revoked author or undecryptable record.
With the high-water mark (seq, hash) a device saved, :func:`check_head` detects a server
whose log is shorter than what the device has already seen (rollback).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import _crypto
from . import mandates as _mandates
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u
from .errors import FormatError, IntegrityError, RollbackError
from .keys import DeviceCert
from .paths import _RESERVED as _RESERVED  # (read here by tests/core/test_properties.py)
from .paths import MAX_NAME_BYTES as MAX_NAME_BYTES
from .paths import MAX_PATH_BYTES as MAX_PATH_BYTES
from .paths import check_path as check_path

RECORD_MAGIC = b"VR1"
MAX_ENTRY_SIZE = 1024 * 1024
RECORD_KINDS = ("file", "device", "revoke", "mandate", "mandate-end", "helper")
HELPER_MAGIC = b"VH1"  # a helper entry's record, sealed to the owner (SPEC §Mandates)


def genesis_hash(handle: str) -> bytes:
    return _crypto.sha256(b"vault.v1/log-genesis\x00" + handle.encode("utf-8"))


@dataclass(frozen=True, repr=False)
class FileRecord:
    """One version of one file (or a tombstone when ``deleted``)."""

    file_id: str  # 32 hex
    version: int
    path: str
    deleted: bool
    size: int = 0
    mtime: int = 0  # milliseconds since the epoch
    content: bytes = b""  # content hash (manifest.content_hash)
    manifest: str = ""  # blob id of the manifest
    key: bytes = b""  # file key of this version
    doc_type: str | None = None
    certificate: dict[str, Any] | None = None  # deposit proof (deposits.DepositProof.to_json)
    refs: tuple[str, ...] = field(default=(), compare=False)  # blobs, for the server's GC

    def __repr__(self) -> str:
        return f"FileRecord(version={self.version}, deleted={self.deleted}, size={self.size})"

    def to_json(self) -> dict[str, Any]:
        return {
            "cert": self.certificate,
            "content": b64u(self.content),
            "deleted": self.deleted,
            "file": self.file_id,
            "key": b64u(self.key),
            "kind": "file",
            "manifest": self.manifest,
            "mtime": self.mtime,
            "path": self.path,
            "size": self.size,
            "type": self.doc_type,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> FileRecord:
        if set(obj) != _FILE_FIELDS:
            raise FormatError("record: unexpected or missing fields")
        try:
            rec = cls(
                file_id=_hex(obj["file"], 32),
                version=_uint(obj["version"]),
                path=check_path(obj["path"]),
                deleted=_bool(obj["deleted"]),
                size=_uint(obj["size"]),
                mtime=_uint(obj["mtime"]),
                content=unb64u(obj["content"]),
                manifest=_str(obj["manifest"]) if obj["deleted"] else _hex(obj["manifest"], 64),
                key=unb64u(obj["key"]),
                doc_type=_opt_str(obj["type"]),
                certificate=_opt_dict(obj["cert"]),
            )
        except (KeyError, TypeError):
            raise FormatError("record: missing or mistyped field") from None
        if not 1 <= rec.version < 2**32:
            raise FormatError("record: version out of range")
        if rec.deleted:
            if rec.manifest or rec.key or rec.content or rec.size or rec.certificate:
                raise FormatError("record: a tombstone carries no content")
        elif len(rec.key) != 32 or len(rec.content) != 32:
            raise FormatError("record: bad key or content hash")
        return rec


_FILE_FIELDS = {
    "cert",
    "content",
    "deleted",
    "file",
    "key",
    "kind",
    "manifest",
    "mtime",
    "path",
    "size",
    "type",
    "version",
}


def _hex(value: Any, size: int) -> str:
    if not isinstance(value, str) or len(value) != size or value.lower() != value:
        raise FormatError("bad id")
    try:
        bytes.fromhex(value)
    except ValueError:
        raise FormatError("bad id") from None
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise FormatError("expected a string")
    return value


def _uint(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError("expected a non-negative integer")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FormatError("expected a boolean")
    return value


def _opt_str(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and 0 < len(value) <= 64):
        return value
    raise FormatError("expected a short string or null")


def _opt_dict(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise FormatError("expected an object or null")


@dataclass(frozen=True)
class DeviceRecord:
    kind: str  # "device" or "revoke"
    device_id: str
    cert: bytes = b""  # DeviceCert encoding for "device"

    def to_json(self) -> dict[str, Any]:
        return {"cert": b64u(self.cert), "device": self.device_id, "kind": self.kind}


@dataclass(frozen=True)
class MandateRecord:
    """The owner's signed mandate statement (SPEC §Mandates), written by one of his devices."""

    statement: bytes  # canonical JSON of the statement
    sig: bytes  # by the account's identity key

    def to_json(self) -> dict[str, Any]:
        return {"kind": "mandate", "mandate": b64u(self.statement), "sig": b64u(self.sig)}


@dataclass(frozen=True)
class MandateEndRecord:
    """A mandate revoked by the owner: no helper entry may follow."""

    mandate_id: str
    ended: int  # unix seconds

    def to_json(self) -> dict[str, Any]:
        return {"ended": self.ended, "kind": "mandate-end", "mandate": self.mandate_id}


_DETAIL = {
    "upload": set(),
    "accept": {"deposit"},
    "answer": {"documents", "grant", "request", "requester"},
}


@dataclass(frozen=True)
class HelperRecord:
    """What a helper did under a mandate (SPEC §Mandates), in her own entry of the log."""

    mandate_id: str
    action: str  # upload | accept | answer
    detail: dict[str, Any]
    file: FileRecord | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "detail": self.detail,
            "file": None if self.file is None else self.file.to_json(),
            "kind": "helper",
            "mandate": self.mandate_id,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> HelperRecord:
        if set(obj) != {"action", "detail", "file", "kind", "mandate"}:
            raise FormatError("helper record: unexpected or missing fields")
        action, detail, file = obj["action"], obj["detail"], obj["file"]
        if action not in _DETAIL or not isinstance(detail, dict) or set(detail) != _DETAIL[action]:
            raise FormatError("helper record: unknown action or detail")
        rec = None if file is None else record_from_json(file)
        if action == "answer":
            docs = detail["documents"]
            if rec is not None or not isinstance(docs, list) or not 1 <= len(docs) <= 256:
                raise FormatError("helper record: an answer names 1 to 256 documents")
            for d in docs:
                check_path(d)
            _hex(detail["grant"], 32)
            _hex(detail["request"], 32)
            if not isinstance(detail["requester"], str) or not detail["requester"]:
                raise FormatError("helper record: the requester")
        else:
            if not isinstance(rec, FileRecord) or rec.deleted or rec.version != 1:
                raise FormatError("helper record: a new live file (version 1)")
            cert = rec.certificate
            if action == "upload" and cert is not None:
                raise FormatError("helper record: an upload carries no certificate")
            if action == "accept":
                _hex(detail["deposit"], 32)
                try:
                    if cert is None or cert["proof"]["statement"]["id"] != detail["deposit"]:
                        raise FormatError("helper record: the deposit's proof")
                except (KeyError, TypeError):
                    raise FormatError("helper record: the deposit's proof") from None
        return cls(_hex(obj["mandate"], 32), action, detail, rec)


Record = FileRecord | DeviceRecord | MandateRecord | MandateEndRecord | HelperRecord


def record_from_json(obj: Any) -> Record:
    if not isinstance(obj, dict):
        raise FormatError("record: not an object")
    kind = obj.get("kind")
    if kind == "file":
        return FileRecord.from_json(obj)
    if kind in ("device", "revoke") and set(obj) == {"cert", "device", "kind"}:
        return DeviceRecord(
            kind=str(kind), device_id=_hex(obj["device"], 32), cert=unb64u(obj["cert"])
        )
    if kind == "mandate" and set(obj) == {"kind", "mandate", "sig"}:
        return MandateRecord(unb64u(obj["mandate"]), unb64u(obj["sig"], 64))
    if kind == "mandate-end" and set(obj) == {"ended", "kind", "mandate"}:
        return MandateEndRecord(_hex(obj["mandate"], 32), _uint(obj["ended"]))
    if kind == "helper":
        return HelperRecord.from_json(obj)
    raise FormatError("record: unknown kind")


def _record_ad(handle: str, seq: int, device_id: str) -> bytes:
    return b"vault.v1/record\x00" + canonical_json(
        {"device": device_id, "handle": handle, "seq": seq}
    )


@dataclass(frozen=True)
class LogEntry:
    seq: int
    prev: bytes
    device_id: str
    time: int
    rec: bytes
    sig: bytes
    # its canonical encoding, once known (made by make_entry, or read and checked by decode);
    # not an init field, so that dataclasses.replace never carries it to another entry
    _encoded: bytes = field(default=b"", init=False, compare=False, repr=False)

    def unsigned(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "prev": b64u(self.prev),
            "rec": b64u(self.rec),
            "seq": self.seq,
            "time": self.time,
            "v": 1,
        }

    def encode(self) -> bytes:
        if self._encoded:
            return self._encoded
        obj = self.unsigned()
        obj["sig"] = b64u(self.sig)
        return canonical_json(obj)

    def hash(self) -> bytes:
        return entry_hash(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> LogEntry:
        if len(data) > MAX_ENTRY_SIZE:
            raise IntegrityError()
        try:
            obj = parse_canonical_json(data)
            if (
                not isinstance(obj, dict)
                or set(obj) != {"device", "prev", "rec", "seq", "sig", "time", "v"}
                or type(obj["v"]) is not int
                or obj["v"] != 1
            ):
                raise IntegrityError()
            entry = cls(
                seq=_uint(obj["seq"]),
                prev=unb64u(obj["prev"], 32),
                device_id=_hex(obj["device"], 32),
                time=_uint(obj["time"]),
                rec=unb64u(obj["rec"]),
                sig=unb64u(obj["sig"], 64),
            )
        except FormatError:
            raise IntegrityError() from None
        encoded = bytes(data)
        if entry.encode() != encoded:
            raise IntegrityError()
        object.__setattr__(entry, "_encoded", encoded)
        return entry


def entry_hash(encoded: bytes) -> bytes:
    """The chain hash of an encoded entry (what the next entry's ``prev`` holds)."""
    return _crypto.sha256(b"vault.v1/log-hash\x00" + encoded)


def _sign_message(entry: LogEntry) -> bytes:
    return _signed(entry.unsigned())


def _signed(unsigned: dict[str, Any]) -> bytes:
    """What a device signs: an entry's JSON object without its signature."""
    return b"vault.v1/log-entry\x00" + canonical_json(unsigned)


def make_entry(
    *,
    handle: str,
    record_key: bytes,
    device_id: str,
    device_sk: bytes,
    seq: int,
    prev: bytes,
    time: int,
    record: Record,
    nonce: bytes,
) -> LogEntry:
    plain = canonical_json(record.to_json())
    # Never sign what a verifier would refuse: one such entry would poison the append-only
    # log for every device. Round-trip the record through the strict parser first. (Its
    # canonical re-encoding check is left out here: ``plain`` comes from canonical_json, and
    # a parsed record equal to ``record`` re-encodes to ``plain``.)
    if record_from_json(parse_canonical_json(plain, recheck=False)) != record:
        raise FormatError("record does not survive its own encoding")
    rec = (
        RECORD_MAGIC
        + nonce
        + _crypto.aead_encrypt(record_key, nonce, plain, _record_ad(handle, seq, device_id))
    )
    # the entry's object is made once: signed without its signature, encoded with it
    obj = LogEntry(seq=seq, prev=prev, device_id=device_id, time=time, rec=rec, sig=b"").unsigned()
    sig = _crypto.sign(device_sk, _signed(obj))
    obj["sig"] = b64u(sig)
    entry = LogEntry(seq=seq, prev=prev, device_id=device_id, time=time, rec=rec, sig=sig)
    object.__setattr__(entry, "_encoded", canonical_json(obj))
    return entry


def _helper_ad(handle: str, seq: int, mandate_id: str) -> bytes:
    return b"vault.v1/helper-record\x00" + canonical_json(
        {"handle": handle, "mandate": mandate_id, "seq": seq}
    )


def make_helper_entry(
    *,
    handle: str,
    owner_box_pk: bytes,
    helper_sign_sk: bytes,
    seq: int,
    prev: bytes,
    time: int,
    record: HelperRecord,
    ephemeral: bytes,
) -> LogEntry:
    """A helper's entry in the owner's log (SPEC §Mandates): ``device`` is the mandate id, the
    record is sealed to the owner's box key (she has no record key), her identity key signs."""
    plain = canonical_json(record.to_json())
    if record_from_json(parse_canonical_json(plain, recheck=False)) != record:
        raise FormatError("record does not survive its own encoding")
    ad = _helper_ad(handle, seq, record.mandate_id)
    rec = HELPER_MAGIC + _crypto.seal(owner_box_pk, ephemeral, plain, ad)
    obj = LogEntry(
        seq=seq, prev=prev, device_id=record.mandate_id, time=time, rec=rec, sig=b""
    ).unsigned()
    sig = _crypto.sign(helper_sign_sk, _signed(obj))
    obj["sig"] = b64u(sig)
    entry = LogEntry(seq=seq, prev=prev, device_id=record.mandate_id, time=time, rec=rec, sig=sig)
    object.__setattr__(entry, "_encoded", canonical_json(obj))
    return entry


def open_helper_record(handle: str, box_sk: bytes, entry: LogEntry) -> HelperRecord:
    rec = entry.rec
    if not box_sk or len(rec) < 3 + 48 or rec[:3] != HELPER_MAGIC:
        raise IntegrityError()
    plain = _crypto.seal_open(box_sk, rec[3:], _helper_ad(handle, entry.seq, entry.device_id))
    try:
        record = record_from_json(parse_canonical_json(plain))
    except FormatError:
        raise IntegrityError() from None
    if not isinstance(record, HelperRecord) or record.mandate_id != entry.device_id:
        raise IntegrityError()
    return record


@dataclass(frozen=True)
class HeldMandate:
    """A mandate the log holds: its statement (verified), and whether it has ended."""

    statement: bytes
    sig: bytes
    terms: _mandates.Mandate
    ended: bool = False


def open_record(handle: str, record_key: bytes, entry: LogEntry) -> Record:
    rec = entry.rec
    if len(rec) < 43 or rec[:3] != RECORD_MAGIC:
        raise IntegrityError()
    plain = _crypto.aead_decrypt(
        record_key, rec[3:27], rec[27:], _record_ad(handle, entry.seq, entry.device_id)
    )
    try:
        return record_from_json(parse_canonical_json(plain))
    except FormatError:
        raise IntegrityError() from None


@dataclass
class LogVerifier:
    """Replays a log from genesis (or from a verified checkpoint) and checks every entry."""

    handle: str
    identity_sign_pk: bytes
    record_key: bytes
    seq: int = 0
    head: bytes = b""
    devices: dict[str, bytes] = field(default_factory=dict)  # device id -> signing pk
    revoked: set[str] = field(default_factory=set)
    mandates: dict[str, HeldMandate] = field(default_factory=dict)  # mandate id -> held
    box_sk: bytes = field(default=b"", repr=False)  # opens helper entries (SPEC §Mandates)

    def __post_init__(self) -> None:
        if not self.head:
            self.head = genesis_hash(self.handle)

    def feed(self, data: bytes) -> tuple[LogEntry, Record]:
        """Verify the next entry; on failure nothing in the verifier changes."""
        entry = LogEntry.decode(data)
        if entry.seq != self.seq + 1 or not _crypto.equal(entry.prev, self.head):
            raise IntegrityError()
        if entry.device_id in self.revoked:
            raise IntegrityError()
        held = self.mandates.get(entry.device_id)
        if held is not None:
            helper = self._helper_record(entry, held)
            self.seq = entry.seq
            self.head = entry.hash()
            return entry, helper
        record = open_record(self.handle, self.record_key, entry)
        if isinstance(record, HelperRecord):
            raise IntegrityError()  # a device never writes in a helper's name
        signer = self.devices.get(entry.device_id)
        if isinstance(record, DeviceRecord) and record.kind == "device":
            if record.device_id in self.mandates:
                raise IntegrityError()
            cert = DeviceCert.decode(record.cert)
            if cert.device_id != record.device_id or cert.handle != self.handle:
                raise IntegrityError()
            cert.verify(self.identity_sign_pk)
            if record.device_id != entry.device_id or signer not in (None, cert.sign_pk):
                raise IntegrityError()
            signer = cert.sign_pk
        if signer is None:
            raise IntegrityError()
        _crypto.verify(signer, _sign_message(entry), entry.sig)
        added = self._mandate_change(record)
        # Commit the new state only once every check passed.
        if added is not None:
            self.mandates[added.terms.mandate_id] = added
        if isinstance(record, DeviceRecord):
            if record.kind == "device":
                self.devices[record.device_id] = signer
            elif record.device_id not in self.devices:
                raise IntegrityError()
            else:
                self.revoked.add(record.device_id)
        self.seq = entry.seq
        self.head = entry.hash()
        return entry, record

    def _mandate_change(self, record: Record) -> HeldMandate | None:
        """A mandate record's or a mandate-end's new held mandate, checked (SPEC §Mandates,
        step 1); None for any other record. Changes nothing."""
        if isinstance(record, MandateRecord):
            terms = _mandates.open_mandate(record.statement, record.sig, self.identity_sign_pk)
            known = terms.mandate_id in self.mandates or terms.mandate_id in self.devices
            if terms.owner != self.handle or known:
                raise IntegrityError()
            return HeldMandate(record.statement, record.sig, terms)
        if isinstance(record, MandateEndRecord):
            held = self.mandates.get(record.mandate_id)
            if held is None or held.ended:
                raise IntegrityError()
            return HeldMandate(held.statement, held.sig, held.terms, ended=True)
        return None

    def _helper_record(self, entry: LogEntry, held: HeldMandate) -> HelperRecord:
        """A helper's entry checked against her mandate (SPEC §Mandates, step 2)."""
        terms = held.terms
        if held.ended or not terms.created * 1000 <= entry.time < terms.expires * 1000:
            raise IntegrityError()
        record = open_helper_record(self.handle, self.box_sk, entry)
        path = record.file.path if record.file is not None else None
        if not _mandates.allows(terms.scopes, record.action, path):
            raise IntegrityError()
        _crypto.verify(terms.helper_sign_pk, _sign_message(entry), entry.sig)
        return record

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "devices": {k: b64u(v) for k, v in sorted(self.devices.items())},
            "head": b64u(self.head),
            "revoked": sorted(self.revoked),
            "seq": self.seq,
        }
        if self.mandates:  # (absent without any: a checkpoint of before mandates reads the same)
            out["mandates"] = {
                k: {"ended": h.ended, "sig": b64u(h.sig), "statement": b64u(h.statement)}
                for k, h in sorted(self.mandates.items())
            }
        return out

    @classmethod
    def from_state(
        cls,
        handle: str,
        identity_sign_pk: bytes,
        record_key: bytes,
        state: dict[str, Any],
        box_sk: bytes = b"",
    ) -> LogVerifier:
        held = {}
        for k, h in state.get("mandates", {}).items():
            statement = unb64u(h["statement"])
            terms = _mandates.decode_mandate(statement)
            held[k] = HeldMandate(statement, unb64u(h["sig"], 64), terms, bool(h["ended"]))
        return cls(
            handle=handle,
            identity_sign_pk=identity_sign_pk,
            record_key=record_key,
            seq=int(state["seq"]),
            head=unb64u(state["head"], 32),
            devices={k: unb64u(v, 32) for k, v in state["devices"].items()},
            revoked=set(state["revoked"]),
            mandates=held,
            box_sk=box_sk,
        )


def check_head(server_head: int, seen_seq: int) -> None:
    """A server whose log is shorter than what this device already verified rolled back."""
    if server_head < seen_seq:
        raise RollbackError(
            f"the server's log (at {server_head}) is older than what this device has seen "
            f"(at {seen_seq}): rollback detected"
        )
