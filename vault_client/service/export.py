"""Export: everything the vault holds, in its original bytes and open formats; and the offline
check of a certified document from an export alone.

Theory of operation of :func:`export`: the source is what the vault holds, never the local
folder (which may be stale or edited). The sync engine pulls and verifies the signed log into
``state.db``; every document is then fetched from the server (manifest opened under the key of
its record and committed to its content and size; each chunk checked by AEAD and content hash,
:mod:`vault_client.sync.download`) into a temp file, hashed (SHA-256), and only then moved
into place. Anything that fails verification ends the export with IntegrityError (exit 4);
what is already in place was verified, and nothing unverified is ever written.

Layout (a directory, or the same tree in a zip file)::

    manifest.json   manifest.csv        one entry per exported file (see ``CSV_FIELDS``)
    documents/PATH                      the latest version of every live document
    certificates/PATH.certificate.json  the certificate of a certified document
    history/PATH/vN                     with --include-history: every earlier version (N as
    history/PATH/vN.certificate.json    in ``vault history``; deleted documents too)

A certificate file holds the certificate block of the document's record (the issuer's signed
statement and certificate, and the time the owner received it), the document's SHA-256 and
path, sealed by the owner's identity key, the one the issuer's statement names as recipient:
:func:`verify_offline` needs nothing else than the file, its certificate and the authority's
key, and any changed byte of either makes it fail.

A directory export is incremental and resumable: a file is rewritten only when the entry
recorded for it (in ``manifest.json``, or in the journal ``.vault-export.journal`` that an
interrupted export leaves) names another version, or when the file on disk no longer has the
recorded SHA-256; files a previous export wrote for documents gone since are removed. A zip is
written as ``FILE.zip.part`` and renamed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_core.encoding import b64u, canonical_json, unb64u
from vault_core.errors import IntegrityError, LocalError, UsageError, VaultError
from vault_core.log import FileRecord

from ..certificates import verify_certificate
from ..sync import _together, write_chunks
from .context import Context
from .events import PROGRESS_ADVANCE, BusProgress, Cancellation, cancellable
from .results import to_json

FORMAT = "vault-export/1"
CERT_FORMAT = "vault-export-certificate/1"
SEAL_LABEL = b"vault.v1/export-certificate\x00"
MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
JOURNAL = ".vault-export.journal"
STAGING = ".vault-export-tmp"
WINDOW = 8  # documents fetched at once
CSV_FIELDS = (
    "kind",
    "path",
    "version",
    "file",
    "size",
    "sha256",
    "modified",
    "type",
    "certification",
    "issuer",
    "issued",
    "received",
    "certificate",
    "certificate_problem",
    "deleted",
    "file_id",
    "record_version",
)


@dataclass(frozen=True)
class ExportedFile:
    """One entry of the manifest."""

    kind: str  # "document" (the latest version) or "history" (an earlier one)
    path: str  # the vault path
    version: int  # its number in ``vault history``
    file: str  # where it is in the export (``/`` separators)
    size: int
    sha256: str  # hex, of the bytes written
    modified: str | None  # ISO 8601, UTC
    type: str | None
    certification: str  # "certified", "not certified" (a certificate that fails), "none"
    issuer: str | None  # the certified issuer (chain checked against the trusted authorities)
    issued: str | None  # the issuer's date (ISO 8601, UTC)
    received: str | None  # when the owner accepted the deposit
    certificate: str | None  # the certificate file in the export
    certificate_problem: str | None
    deleted: bool  # the path is deleted in the vault now (its versions are history)
    file_id: str
    record_version: int


@dataclass(frozen=True)
class ExportReport:
    out: str
    archive: str  # "directory" or "zip"
    files: int  # documents and versions in the export
    written: int  # of them, written by this run
    unchanged: int  # already in place with the recorded SHA-256
    removed: int  # files of a previous export whose document is gone
    certificates: int
    certified: int
    bytes_written: int
    manifest_written: bool
    include_history: bool
    log_seq: int  # the position of the verified log exported
    seconds: float


@dataclass(frozen=True)
class OfflineVerified:
    id: str
    path: str  # the document file checked
    certificate: str  # the certificate file used
    issuer: str
    type: str
    title: str
    issued: str
    received: str
    owner: str  # the account the issuer addressed it to (whose key sealed the certificate)
    vault_path: str
    sha256: str


@dataclass
class _Item:
    kind: str
    vpath: str
    n: int
    rec: FileRecord
    target: str
    cert_target: str | None
    deleted: bool


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _rel_join(root: Path, rel: str) -> Path:
    target = root.joinpath(*rel.split("/"))
    if not target.resolve().is_relative_to(root.resolve()):
        raise IntegrityError(f"refused unsafe path {rel!r}")
    return target


def _sha256_file(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _settle(fd: int, path: Path) -> str | None:
    """fsync a written temp file; its SHA-256."""
    os.fsync(fd)
    return _sha256_file(path)


# -- what to export -----------------------------------------------------------------------------


def _plan(history: dict[str, list[tuple[int, FileRecord]]], include_history: bool) -> list[_Item]:
    items: list[_Item] = []
    for vpath in sorted(history):
        hist = history[vpath]
        head = hist[-1][1]
        if not head.deleted:
            cert = f"certificates/{vpath}.certificate.json" if head.certificate else None
            items.append(
                _Item("document", vpath, len(hist), head, f"documents/{vpath}", cert, False)
            )
        if not include_history:
            continue
        for n, (_, rec) in enumerate(hist, start=1):
            if rec.deleted or (n == len(hist)):
                continue
            base = f"history/{vpath}/v{n}"
            cert = f"{base}.certificate.json" if rec.certificate else None
            items.append(_Item("history", vpath, n, rec, base, cert, head.deleted))
    return items


def _certification(
    rec: FileRecord, digest: bytes, trusted: dict[bytes, str], owner: str, sign_pk: bytes
) -> tuple[str, str | None, str | None, str | None, str | None]:
    """(certification, issuer, problem, issued, received) of a version whose bytes hash to
    ``digest``."""
    if not rec.certificate:
        return "none", None, None, None, None
    from vault_core.deposits import DepositProof

    issued = received = None
    with contextlib.suppress(VaultError, KeyError, TypeError):
        issued = _iso(DepositProof.from_json(rec.certificate["proof"]).statement.issued)
    if isinstance(rec.certificate.get("received"), int):
        received = _iso(rec.certificate["received"])
    try:
        issuer = verify_certificate(rec.certificate, trusted, owner, sign_pk, digest)
    except IntegrityError as exc:
        return "not certified", None, exc.message, issued, received
    return "certified", issuer, None, issued, received


def _seal_body(item: _Item, sha256: str, owner: str) -> dict[str, Any]:
    return {
        "format": CERT_FORMAT,
        "owner": owner,
        "path": item.vpath,
        "version": item.n,
        "size": item.rec.size,
        "sha256": sha256,
        "certificate": item.rec.certificate,
    }


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _certificate_file(item: _Item, sha256: str, owner: str, sign_sk: bytes) -> bytes:
    from vault_core import _crypto

    body = _seal_body(item, sha256, owner)
    seal = _crypto.sign(sign_sk, SEAL_LABEL + canonical_json(body))
    return _dump({**body, "owner_sig": b64u(seal)})


# -- the previous export ------------------------------------------------------------------------


def _previous(out: Path) -> tuple[dict[str, Any] | None, dict[str, tuple[str, int, str]]]:
    """(the old manifest, file -> (file id, record version, sha256) known to be written)."""
    known: dict[str, tuple[str, int, str]] = {}
    old: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((out / MANIFEST_JSON).read_text("utf-8"))
        if isinstance(data, dict) and data.get("format") == FORMAT:
            old = data
            for e in data.get("files", []):
                known[e["file"]] = (e["file_id"], e["record_version"], e["sha256"])
    with contextlib.suppress(OSError):
        for line in (out / JOURNAL).read_text("utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                e = json.loads(line)
                known[e["file"]] = (e["file_id"], e["record_version"], e["sha256"])
    return old, known


def _check_target(ctx: Context, out: Path, zipped: bool) -> None:
    folder = ctx.profile.folder.resolve()
    where = out.resolve()
    if where == folder or where.is_relative_to(folder):
        raise UsageError(f"{out} is inside the synced folder: export somewhere else")
    if zipped:
        if out.is_dir():
            raise UsageError(f"{out} is a directory")
        return
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not ((out / MANIFEST_JSON).exists() or (out / JOURNAL).exists()):
            raise UsageError(
                f"{out} is not empty and holds no export: choose a new or empty directory"
            )


# -- the export ---------------------------------------------------------------------------------


class _Writer:
    """Where verified files go: a directory (incremental) or a zip file."""

    def __init__(self, out: Path, zipped: bool) -> None:
        self.out = out
        self.zipped = zipped
        self.zip: zipfile.ZipFile | None = None
        self.journal: io.TextIOWrapper | None = None
        if zipped:
            out.parent.mkdir(parents=True, exist_ok=True)
            self.part = out.with_name(out.name + ".part")
            self.staging = Path(tempfile.mkdtemp(prefix=".vault-export-", dir=out.parent))
            self.zip = zipfile.ZipFile(
                self.part, "w", zipfile.ZIP_DEFLATED, strict_timestamps=False
            )
        else:
            out.mkdir(parents=True, exist_ok=True)
            self.staging = out / STAGING
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging.mkdir()
            self.journal = open(out / JOURNAL, "a", encoding="utf-8")
        self._n = 0

    def temp(self) -> tuple[int, Path]:
        self._n += 1
        tmp = self.staging / f"{self._n}.part"
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp

    def place(self, tmp: Path, rel: str) -> None:
        """Move a verified temp file into place."""
        if self.zip is not None:
            self.zip.write(tmp, rel)
            tmp.unlink()
            return
        target = _rel_join(self.out, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    def put_bytes(self, rel: str, data: bytes) -> bool:
        """Write ``data`` at ``rel`` unless it is already there; whether it was written."""
        if self.zip is not None:
            self.zip.writestr(rel, data)
            return True
        target = _rel_join(self.out, rel)
        with contextlib.suppress(OSError):
            if target.read_bytes() == data:
                return False
        fd, tmp = self.temp()
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.place(tmp, rel)
        return True

    def note(self, entry: ExportedFile) -> None:
        if self.journal is not None:
            record = {
                "file": entry.file,
                "file_id": entry.file_id,
                "record_version": entry.record_version,
                "sha256": entry.sha256,
            }
            self.journal.write(json.dumps(record) + "\n")
            self.journal.flush()

    def finish(self) -> None:
        if self.zip is not None:
            self.zip.close()
            self.zip = None
            os.replace(self.part, self.out)
        if self.journal is not None:
            self.journal.close()
            self.journal = None
            (self.out / JOURNAL).unlink(missing_ok=True)

    def close(self) -> None:
        """After a failure too: nothing half-written stays (a directory keeps its journal)."""
        if self.zip is not None:
            with contextlib.suppress(Exception):
                self.zip.close()
            self.zip = None
            self.part.unlink(missing_ok=True)
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        shutil.rmtree(self.staging, ignore_errors=True)


def _manifest_csv(entries: list[ExportedFile]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    for e in entries:
        row = [getattr(e, f) for f in CSV_FIELDS]
        writer.writerow(
            ["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row]
        )
    return buf.getvalue().encode("utf-8")


async def export(
    ctx: Context,
    out: Path,
    include_history: bool = False,
    cancellation: Cancellation | None = None,
) -> ExportReport:
    """Export every document of the vault (``out``: a directory, or a file ending in
    ``.zip``). IntegrityError (exit 4) when anything fails verification; nothing unverified is
    written. Progress on the bus (``progress.*``)."""
    return await cancellable(_export(ctx, out, include_history), cancellation)


async def export_archive(
    ctx: Context, into: Path, include_history: bool = True, cancellation: Cancellation | None = None
) -> ExportReport:
    """``Exporter tout mon coffre`` (the app's Paramètres): the whole vault, history included,
    as one zip file in ``into`` (a dated name); its path is the report's ``out``."""
    profile = ctx.account()
    name = f"coffre-{profile.handle}-{time.strftime('%Y-%m-%d-%H%M%S')}.zip"
    return await export(ctx, into / name, include_history, cancellation)


async def _export(ctx: Context, out: Path, include_history: bool) -> ExportReport:
    started = time.monotonic()
    profile = ctx.account()
    zipped = out.suffix.lower() == ".zip"
    _check_target(ctx, out, zipped)
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            v = await engine.pull()  # the verified log, into state.db
            history = {p: engine.state.history(p) for p in engine.state.heads()}
            items = _plan(history, include_history)
            old, known = (None, {}) if zipped else _previous(out)
            writer = _Writer(out, zipped)
            run = _Run(ctx, engine, writer, known)
            try:
                if run.progress is not None:
                    run.progress.start(len(items))
                entries = await run.all(items)
                removed = 0 if zipped else _remove_stale(out, old, known, entries)
                meta = {
                    "format": FORMAT,
                    "owner": profile.handle,
                    "server": profile.server,
                    "log_seq": v.seq,
                    "include_history": include_history,
                    "layout": {
                        "documents/PATH": "the latest version of every live document",
                        "certificates/PATH.certificate.json": "its certificate, if certified",
                        "history/PATH/vN": "an earlier version (N as in 'vault history')",
                        "history/PATH/vN.certificate.json": "its certificate, if certified",
                    },
                    "verify": "vault verify --offline FILE --trust AUTHORITY_KEY",
                }
                manifest_written = _write_manifests(writer, old, meta, entries)
                writer.finish()
            finally:
                writer.close()
                if run.progress is not None:
                    run.progress.stop()
    return ExportReport(
        out=str(out),
        archive="zip" if zipped else "directory",
        files=len(entries),
        written=run.written,
        unchanged=run.unchanged,
        removed=removed,
        certificates=sum(1 for e in entries if e.certificate),
        certified=sum(1 for e in entries if e.certification == "certified"),
        bytes_written=run.bytes,
        manifest_written=manifest_written,
        include_history=include_history,
        log_seq=v.seq,
        seconds=round(time.monotonic() - started, 3),
    )


class _Run:
    """One export's downloads: ``WINDOW`` at a time, each verified into a temp file, hashed,
    then placed (or found already in place)."""

    def __init__(
        self, ctx: Context, engine: Any, writer: _Writer, known: dict[str, tuple[str, int, str]]
    ) -> None:
        profile = ctx.profile
        self.engine = engine
        self.writer = writer
        self.known = known
        self.owner = profile.handle
        self.sign_pk, self.sign_sk = profile.bundle.identity_sign
        self.trusted = profile.trusted_authorities()
        self.progress = BusProgress(ctx.bus) if ctx.bus.listening(PROGRESS_ADVANCE) else None
        self.written = self.unchanged = self.bytes = 0

    async def all(self, items: list[_Item]) -> list[ExportedFile]:
        queue = list(reversed(items))
        done: list[ExportedFile] = []

        async def worker() -> None:
            while queue:
                done.append(await self.one(queue.pop()))

        await _together(*(worker() for _ in range(min(WINDOW, len(items)) or 1)))
        order = {(it.kind, it.vpath, it.n): i for i, it in enumerate(items)}
        return sorted(done, key=lambda e: order[(e.kind, e.path, e.version)])

    async def one(self, item: _Item) -> ExportedFile:
        rec = item.rec
        sha = await self._in_place(item)
        if sha is None:
            manifest = await self.engine.fetch_manifest(rec)
            fd, tmp = self.writer.temp()
            try:
                await write_chunks(self.engine.api, manifest, fd, rec.path)
                # (on a thread: the fsyncs of the files in flight overlap, the loop goes on)
                sha = await asyncio.to_thread(_settle, fd, tmp)
            finally:
                os.close(fd)
            if sha is None or os.path.getsize(tmp) != rec.size:
                raise IntegrityError(f"{item.vpath} (version {item.n}): not the size recorded")
            if rec.mtime:
                os.utime(tmp, ns=(rec.mtime * 1_000_000, rec.mtime * 1_000_000))
            self.writer.place(tmp, item.target)
            self.written += 1
            self.bytes += rec.size
        else:
            self.unchanged += 1
        status, issuer, problem, issued, received = _certification(
            rec, bytes.fromhex(sha), self.trusted, self.owner, self.sign_pk
        )
        if item.cert_target is not None:
            data = _certificate_file(item, sha, self.owner, self.sign_sk)
            self.writer.put_bytes(item.cert_target, data)
        entry = ExportedFile(
            kind=item.kind,
            path=item.vpath,
            version=item.n,
            file=item.target,
            size=rec.size,
            sha256=sha,
            modified=_iso(rec.mtime / 1000) if rec.mtime else None,
            type=rec.doc_type,
            certification=status,
            issuer=issuer,
            issued=issued,
            received=received,
            certificate=item.cert_target,
            certificate_problem=problem,
            deleted=item.deleted,
            file_id=rec.file_id,
            record_version=rec.version,
        )
        self.writer.note(entry)
        if self.progress is not None:
            self.progress.advance(item.vpath)
        return entry

    async def _in_place(self, item: _Item) -> str | None:
        """The SHA-256 of the file already at the item's place, when a previous export wrote
        this very version there and the file still has the SHA-256 it recorded."""
        if self.writer.zipped:
            return None
        was = self.known.get(item.target)
        if was is None or was[:2] != (item.rec.file_id, item.rec.version):
            return None
        target = _rel_join(self.writer.out, item.target)
        if target.is_symlink():
            return None
        sha = await asyncio.to_thread(_sha256_file, target)
        return sha if sha == was[2] else None


def _remove_stale(
    out: Path,
    old: dict[str, Any] | None,
    known: dict[str, tuple[str, int, str]],
    entries: list[ExportedFile],
) -> int:
    """Remove what a previous export wrote for documents no longer exported (only files it
    wrote itself, and only while they still hold what it wrote); the count removed."""
    keep = {e.file for e in entries} | {e.certificate for e in entries if e.certificate}
    stale: dict[str, str | None] = {f: sha for f, (_, _, sha) in known.items() if f not in keep}
    for e in (old or {}).get("files", []):
        cert = e.get("certificate")
        if isinstance(cert, str) and cert not in keep:
            stale[cert] = None
    removed = 0
    for rel, sha in stale.items():
        try:
            target = _rel_join(out, rel)
        except IntegrityError:
            continue
        if not target.is_file() or target.is_symlink():
            continue
        if sha is not None and _sha256_file(target) != sha:
            continue  # edited since: not ours to remove
        target.unlink()
        removed += 1
        parent = target.parent
        while parent != out and parent.is_relative_to(out):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
    return removed


def _write_manifests(
    writer: _Writer, old: dict[str, Any] | None, meta: dict[str, Any], entries: list[ExportedFile]
) -> bool:
    """manifest.json and manifest.csv; left as they are when nothing changed."""
    files = [to_json(e) for e in entries]
    if old is not None and not writer.zipped:
        same = {k: v for k, v in old.items() if k != "exported_at"}
        if same == {**meta, "files": files} and (writer.out / MANIFEST_CSV).is_file():
            return False
    doc = {**meta, "exported_at": _iso(time.time()), "files": files}
    writer.put_bytes(MANIFEST_CSV, _manifest_csv(entries))
    writer.put_bytes(MANIFEST_JSON, _dump(doc))
    return True


# -- offline verification -----------------------------------------------------------------------


def _trust_keys(ctx: Context, trust: list[str]) -> dict[bytes, str]:
    """Authority keys from ``--trust`` values: a key (base64url), an invitation file or a
    ``vault-trust:`` URI (its signature checked: SPEC §Trust invitations); without any, the
    authorities this profile pins."""
    from .trust import read_offer

    out: dict[bytes, str] = {}
    for value in trust:
        shown = repr(value[:60])
        try:
            offer = read_offer(value)
        except IntegrityError:
            raise IntegrityError(f"--trust {shown}: an altered or forged invitation") from None
        except UsageError:
            raise UsageError(f"--trust {shown}: not an authority key or invitation") from None
        out[offer.public_key] = offer.name or "authority"
    if not out and ctx.home.exists():
        with contextlib.suppress(VaultError, OSError, ValueError):
            out = ctx.profile.trusted_authorities()
    if not out:
        raise UsageError("give the authorities to trust: --trust KEY|INVITATION")
    return out


def _find_certificate(document: Path) -> Path | None:
    """The certificate of a file inside an export (named by its manifest), or beside it."""
    here = document.resolve()
    for root in here.parents:
        manifest = root / MANIFEST_JSON
        if not manifest.is_file():
            continue
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(manifest.read_text("utf-8"))
            if data.get("format") != FORMAT:
                continue
            rel = here.relative_to(root).as_posix()
            for e in data["files"]:
                if e["file"] == rel:
                    cert = e.get("certificate")
                    return _rel_join(root, cert) if isinstance(cert, str) else None
        break
    beside = document.with_name(document.name + ".certificate.json")
    return beside if beside.is_file() else None


def verify_offline(
    ctx: Context, document: Path, certificate: Path | None, trust: list[str]
) -> OfflineVerified:
    """Check a certified document from an export alone (no server, no vault): the issuer's
    signed statement names these bytes (SHA-256) and the recipient, the issuer's certificate
    chains to one of the trusted authorities and was valid when the document was issued and
    received, and the recipient's identity key sealed the certificate file. IntegrityError
    (exit 4) when any of it fails, LocalError (exit 1) when the file is not certified."""
    from vault_core import _crypto
    from vault_core.deposits import DepositProof

    trusted = _trust_keys(ctx, trust)
    if not document.is_file():
        raise UsageError(f"{document} is not a file")
    cert_path = certificate if certificate is not None else _find_certificate(document)
    if cert_path is None:
        raise LocalError(f"{document} is not a certified document (no certificate for it)")
    try:
        raw = cert_path.read_bytes()
    except OSError as exc:
        raise LocalError(f"{cert_path}: {exc.strerror}") from None
    with open(document, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").digest()
    bad = f"{cert_path}: the certificate file is damaged or altered"
    try:
        obj = json.loads(raw.decode("utf-8"))
        body = {k: v for k, v in obj.items() if k != "owner_sig"}
        if _dump(obj) != raw or set(obj) != {*_SEAL_FIELDS, "owner_sig"}:
            raise IntegrityError(bad)
        if body["format"] != CERT_FORMAT:
            raise IntegrityError(bad)
        block = body["certificate"]
        proof = DepositProof.from_json(block["proof"])
        st = proof.statement
        if body["owner"] != st.to:
            raise IntegrityError(bad)
        _crypto.verify(
            st.to_sign_pk, SEAL_LABEL + canonical_json(body), unb64u(obj["owner_sig"], 64)
        )
    except IntegrityError:
        raise IntegrityError(bad) from None
    except (ValueError, KeyError, TypeError, AttributeError, VaultError):
        raise IntegrityError(bad) from None
    if body["sha256"] != digest.hex() or body["size"] != document.stat().st_size:
        raise IntegrityError(f"{document}: the document does not match its certificate")
    try:
        issuer = verify_certificate(block, trusted, st.to, st.to_sign_pk, digest)
    except IntegrityError as exc:
        raise IntegrityError(f"{document}: {exc.message}") from None
    return OfflineVerified(
        id=str(document),
        path=str(document),
        certificate=str(cert_path),
        issuer=issuer,
        type=st.doc_type,
        title=st.title,
        issued=time.strftime("%Y-%m-%d", time.gmtime(st.issued)),
        received=_iso(block["received"]) or "",
        owner=st.to,
        vault_path=body["path"],
        sha256=digest.hex(),
    )


_SEAL_FIELDS = ("format", "owner", "path", "version", "size", "sha256", "certificate")
