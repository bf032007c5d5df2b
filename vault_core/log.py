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
log is self-contained, and a device the server injects has no valid certificate.

:class:`LogVerifier` replays entries in order and raises the opaque IntegrityError on any
gap, reorder, replay, fork (prev mismatch), forged or revoked author or undecryptable record.
With the high-water mark (seq, hash) a device saved, :func:`check_head` detects a server
whose log is shorter than what the device has already seen (rollback).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u
from .errors import FormatError, IntegrityError, RollbackError
from .keys import DeviceCert

RECORD_MAGIC = b"VR1"
MAX_ENTRY_SIZE = 1024 * 1024
MAX_PATH_BYTES = 4096
RECORD_KINDS = ("file", "device", "revoke")


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


_FORBIDDEN_NAMES = {"", ".", ".."}
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}
MAX_NAME_BYTES = 255
# ASCII characters refused anywhere in a path: C0 controls and DEL (category Cc; ASCII has no
# Cf character), backslash and colon
_ASCII_BAD = re.compile(r"[\x00-\x1f\x7f\\:]")


def check_path(path: Any) -> str:
    """A vault path: '/'-separated, relative, every component a name any platform can hold.

    Refused: empty, '.', '..' components; absolute paths; backslash, colon (drive letters,
    alternate data streams), NUL and other control or format characters (bidi overrides);
    components ending in a dot or a space (Windows strips them, so '.. ' would become '..');
    reserved device names (CON, NUL.txt, ...); names over 255 bytes. Everything that could
    escape the synced folder on any platform is refused here, before a decrypted name ever
    reaches a file system.
    """
    if not isinstance(path, str) or not path:
        raise FormatError("bad path")
    ascii_only = path.isascii()
    if ascii_only:
        # fast path (most names): no character to look up in the Unicode database
        if len(path) > MAX_PATH_BYTES or _ASCII_BAD.search(path) or path[0] == "/":
            raise FormatError("bad path")
    else:
        try:
            size = len(path.encode("utf-8"))
        except UnicodeEncodeError:
            raise FormatError("bad path") from None
        if size > MAX_PATH_BYTES or path[0] == "/" or any(c in path for c in "\\:\x00"):
            raise FormatError("bad path")
    for part in path.split("/"):
        if part in _FORBIDDEN_NAMES or part[-1] in ". ":
            raise FormatError("bad path")
        if not ascii_only:
            if len(part.encode()) > MAX_NAME_BYTES:
                raise FormatError("bad path")
            if any(ord(ch) < 32 or unicodedata.category(ch) in ("Cc", "Cf") for ch in part):
                raise FormatError("bad path")
        elif len(part) > MAX_NAME_BYTES:
            raise FormatError("bad path")
        if part.split(".")[0].upper().rstrip() in _RESERVED:
            raise FormatError("bad path")
    return path


@dataclass(frozen=True)
class DeviceRecord:
    kind: str  # "device" or "revoke"
    device_id: str
    cert: bytes = b""  # DeviceCert encoding for "device"

    def to_json(self) -> dict[str, Any]:
        return {"cert": b64u(self.cert), "device": self.device_id, "kind": self.kind}


Record = FileRecord | DeviceRecord


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
        record = open_record(self.handle, self.record_key, entry)
        signer = self.devices.get(entry.device_id)
        if isinstance(record, DeviceRecord) and record.kind == "device":
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
        # Commit the new state only once every check passed.
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

    def state(self) -> dict[str, Any]:
        return {
            "devices": {k: b64u(v) for k, v in sorted(self.devices.items())},
            "head": b64u(self.head),
            "revoked": sorted(self.revoked),
            "seq": self.seq,
        }

    @classmethod
    def from_state(
        cls, handle: str, identity_sign_pk: bytes, record_key: bytes, state: dict[str, Any]
    ) -> LogVerifier:
        return cls(
            handle=handle,
            identity_sign_pk=identity_sign_pk,
            record_key=record_key,
            seq=int(state["seq"]),
            head=unb64u(state["head"], 32),
            devices={k: unb64u(v, 32) for k, v in state["devices"].items()},
            revoked=set(state["revoked"]),
        )


def check_head(server_head: int, seen_seq: int) -> None:
    """A server whose log is shorter than what this device already verified rolled back."""
    if server_head < seen_seq:
        raise RollbackError(
            f"the server's log (at {server_head}) is older than what this device has seen "
            f"(at {seen_seq}): rollback detected"
        )
