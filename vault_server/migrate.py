"""``vault-server migrate``: copy an embedded installation to PostgreSQL + S3, then verify.

Theory of operation
-------------------
The source is a stopped embedded server: ``DATA/vault.sqlite3``, ``DATA/blobs`` and
``DATA/server.secret``. Steps:

1. **Settle the source** exactly as an embedded server start would (gc.recover): no blob row is
   left ``pending`` or ``deleting``, so every row to copy is ``present`` with its file.
2. **Blobs first**, ``--jobs`` at a time, through :class:`S3BlobStore` (conditional PUT with
   Content-MD5). This step is idempotent: an object already there with the same bytes is kept,
   so an interrupted run can simply be started again.
3. **Metadata in one transaction**: the target schema is created/migrated to the same version,
   must be empty (no account, no blob row), then every table is bulk-copied (COPY) with its
   ids, identity sequences are moved past the copied ids, and the server secret is stored so
   fake login salts stay what they were. Nothing is half-copied: the transaction commits whole
   or not at all.
4. **Verify**: for every table, the row count and an order-independent digest of all rows (sum
   of per-row SHA-256 modulo 2^256 over a canonical encoding, so SQLite's and PostgreSQL's
   types and orderings compare equal) must match; the secrets must match; every present blob
   must exist in the bucket with the same size and SHA-256 as its file (each is re-read from
   S3). Any difference fails the command. ``--verify-only`` runs this step alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault_core.errors import NotFound

from .config import StorageConfig
from .gc import recover
from .storage.base import BlobStore
from .storage.file_blobs import FileBlobStore
from .storage.postgres import PostgresMetadataStore
from .storage.postgres.core import connect
from .storage.s3_blobs import S3BlobStore, parse_s3_url
from .storage.sqlite_meta import SqliteMetadataStore
from .storage.urls import StorageError

_BATCH = 5000


class MigrateError(StorageError):
    """The migration cannot proceed or its verification failed."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    # Identity column whose sequence must move past the copied values (PostgreSQL side).
    identity: str | None = None
    # Source expression for a column that SQLite keeps implicitly (rowid).
    source: dict[str, str] = field(default_factory=dict)


TABLES: tuple[Table, ...] = (
    Table(
        "accounts",
        (
            "id", "handle", "kdf", "login_pk", "recovery_login_pk", "bundle_pass",
            "bundle_recovery", "sign_pk", "box_pk", "identity_sig", "is_issuer", "quota",
            "used", "log_head", "created_at",
        ),
        identity="id",
    ),
    Table(
        "devices",
        ("id", "account_id", "name", "sign_pk", "cert", "created_at", "revoked_at", "idle_timeout"),
    ),
    Table("sessions", ("token_hash", "account_id", "device_id", "expires_at")),
    Table("challenges", ("challenge", "handle", "purpose", "expires_at")),
    Table("rate_events", ("key", "at")),
    Table("blobs", ("account_id", "blob_id", "size", "state", "created_at")),
    Table("log_entries", ("account_id", "seq", "entry", "device_id", "created_at")),
    Table("log_refs", ("account_id", "blob_id", "seq")),
    Table(
        "grants",
        (
            "id", "owner_id", "kind", "to_account_id", "access_hash", "expires_at", "max_uses",
            "uses", "failed", "password", "header", "payload", "sealed_key", "revoked_at",
            "created_at",
        ),
    ),
    Table("grant_blobs", ("grant_id", "account_id", "blob_id")),
    Table("grant_sessions", ("token_hash", "grant_id", "account_id", "expires_at")),
    Table(
        "grant_access",
        ("id", "grant_id", "at", "what", "account_id"),
        identity="id",
        source={"id": "rowid"},
    ),
    Table("deposits", ("id", "recipient_id", "sender_id", "envelope", "received_at")),
    Table(
        "requests",
        (
            "id", "recipient_id", "sender_id", "envelope", "due_at", "created_at",
            "answer_grant_id", "answer_envelope", "answered_at",
        ),
    ),
    Table(
        "recovery_sets",
        (
            "account_id", "set_id", "statement", "sig", "bundle", "login_pk", "threshold",
            "delay", "created_at",
        ),
    ),
    Table("recovery_shares", ("set_id", "contact_id", "x", "sealed")),
    Table(
        "recoveries",
        (
            "id", "account_id", "set_id", "request", "created_at", "state", "veto", "veto_sig",
            "closed_at",
        ),
    ),
    Table(
        "recovery_approvals",
        ("recovery_id", "contact_id", "statement", "sig", "resealed", "received_at"),
    ),
    Table(
        "asks",
        (
            "id", "sender_id", "recipient_id", "envelope", "own_copy", "created_at",
            "deposit_id", "reply", "fulfilled_at",
        ),
    ),
    Table(
        "mandates",
        (
            "id", "owner_id", "helper_id", "kinds", "grant_id", "copy", "created_at",
            "expires_at", "revoked_at",
        ),
    ),
    Table("mandate_forwards", ("mandate_id", "kind", "item_id", "forward", "created_at")),
)  # fmt: skip

BOOLEAN_COLUMNS = {("accounts", "is_issuer"), ("grants", "password")}


def _encode(value: Any) -> bytes:
    """One value, canonically, whichever database it came from."""
    if value is None:
        return b"N"
    if isinstance(value, bool | int):
        return b"I" + str(int(value)).encode() + b";"
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return b"B" + str(len(raw)).encode() + b":" + raw
    if isinstance(value, str):
        raw = value.encode()
        return b"S" + str(len(raw)).encode() + b":" + raw
    raise TypeError(f"unexpected column type {type(value).__name__}")


class Digest:
    """Order-independent digest of a multiset of rows."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, row: tuple[Any, ...] | Any) -> None:
        h = hashlib.sha256(b"".join(_encode(v) for v in row)).digest()
        self.total = (self.total + int.from_bytes(h, "big")) % (1 << 256)
        self.count += 1

    @property
    def hex(self) -> str:
        return f"{self.total:064x}"


@dataclass
class MigrateReport:
    tables: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0
    blobs_uploaded: int = 0
    extra_objects: int = 0
    problems: list[str] = field(default_factory=list)
    copied: bool = False

    def summary(self) -> str:
        rows = sum(self.tables.values())
        verb = "copied and verified" if self.copied else "verified"
        lines = [
            f"{verb}: {len(self.tables)} tables, {rows} rows (counts and digests match);"
            f" {self.blobs} blobs, {self.blob_bytes} bytes (sizes and SHA-256 match)",
        ]
        if self.copied:
            lines.append(f"blobs uploaded this run: {self.blobs_uploaded}")
        if self.extra_objects:
            lines.append(f"note: {self.extra_objects} objects in the bucket have no blob row")
        return "\n".join(lines)


def _source_rows(db: sqlite3.Connection, t: Table) -> Iterator[list[tuple[Any, ...]]]:
    cols = ", ".join(t.source.get(c, c) for c in t.columns)
    query = f"SELECT {cols} FROM {t.name}"  # noqa: S608  # nosec B608  # names: TABLES
    cur = db.execute(query)
    while True:
        rows = cur.fetchmany(_BATCH)
        if not rows:
            return
        yield [
            tuple(
                bool(v) if (t.name, c) in BOOLEAN_COLUMNS and v is not None else v
                for c, v in zip(t.columns, r, strict=True)
            )
            for r in rows
        ]


async def _blob_sha256(store: BlobStore, account_id: int, blob_id: str) -> tuple[str, int]:
    """SHA-256 and size of a stored blob (a row of small.db, a slice of a pack or a file; an S3
    object)."""
    h = hashlib.sha256()
    n = 0
    async for chunk in store.read(account_id, blob_id):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


async def _copy_blob(files: FileBlobStore, s3: S3BlobStore, account_id: int, blob_id: str) -> None:
    up = await s3.begin(account_id, blob_id)
    try:
        async for chunk in files.read(account_id, blob_id):
            await up.write(chunk)
        await up.finish()
        await up.publish()
    except BaseException:
        await up.discard()
        raise


async def migrate(
    data: Path,
    target: StorageConfig,
    *,
    jobs: int = 8,
    verify_only: bool = False,
    progress: Callable[[str], Any] = lambda _msg: None,
) -> MigrateReport:
    assert target.metadata and target.blobs
    if not target.metadata.startswith(("postgresql:", "postgres:")):
        raise MigrateError("the target metadata must be postgresql://")
    if not target.blobs.startswith("s3:"):
        raise MigrateError("the target blobs must be s3://")
    files = FileBlobStore(data / "blobs")
    if not verify_only:
        # 1. settle the source as an embedded server start would
        src_store = SqliteMetadataStore(data / "vault.sqlite3")
        try:
            settled = await recover(src_store, files, older_than=2**62)
        finally:
            await src_store.close()
        if settled.promoted or settled.released:
            progress(f"settled {settled.promoted + settled.released} interrupted uploads")
    db = sqlite3.connect(f"file:{data / 'vault.sqlite3'}?mode=ro", uri=True)
    secret_path = data / "server.secret"
    secret = secret_path.read_bytes() if secret_path.is_file() else None
    meta = await PostgresMetadataStore.connect(target.metadata)
    s3 = await S3BlobStore.open(
        parse_s3_url(target.blobs, target.s3_access_key, target.s3_secret_key)
    )
    report = MigrateReport(copied=not verify_only)
    try:
        present = db.execute(
            "SELECT account_id, blob_id, size FROM blobs WHERE state='present'"
        ).fetchall()
        if not verify_only:
            await _copy_blobs(files, s3, present, jobs, report, progress)
            await _copy_metadata(db, meta, secret, progress)
        await _verify(db, meta, files, s3, secret, present, jobs, report, progress)
    finally:
        db.close()
        await meta.close()
        await s3.close()
        await files.close()
    if report.problems:
        shown = "; ".join(report.problems[:10])
        more = f" (and {len(report.problems) - 10} more)" if len(report.problems) > 10 else ""
        raise MigrateError(f"verification failed: {shown}{more}")
    return report


async def _copy_blobs(
    files: FileBlobStore,
    s3: S3BlobStore,
    present: list[tuple[int, str, int]],
    jobs: int,
    report: MigrateReport,
    progress: Callable[[str], Any],
) -> None:
    sem = asyncio.Semaphore(jobs)
    done = 0

    async def one(account_id: int, blob_id: str, size: int) -> None:
        nonlocal done
        async with sem:
            if await s3.size(account_id, blob_id) != size:
                await _copy_blob(files, s3, account_id, blob_id)
                report.blobs_uploaded += 1
            done += 1
            if done % 1000 == 0:
                progress(f"blobs: {done}/{len(present)}")

    await asyncio.gather(*(one(a, b, n) for a, b, n in present))
    progress(f"blobs: {len(present)} in the bucket ({report.blobs_uploaded} uploaded)")


async def _copy_metadata(
    db: sqlite3.Connection,
    meta: PostgresMetadataStore,
    secret: bytes | None,
    progress: Callable[[str], Any],
) -> None:
    schema = meta.target.schema
    async with meta.pool.acquire() as c, c.transaction():
        busy = await c.fetchval(
            "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM blobs)"
        )
        if busy:
            raise MigrateError(
                "the target database already holds data; migrate only into an empty one"
                " (or use --verify-only)"
            )
        for t in TABLES:
            n = 0
            for rows in _source_rows(db, t):
                await c.copy_records_to_table(
                    t.name, records=rows, columns=list(t.columns), schema_name=schema
                )
                n += len(rows)
            if t.identity:
                await c.execute(  # names from TABLES only, never from input
                    f"SELECT setval(pg_get_serial_sequence('{t.name}', '{t.identity}'),"  # noqa: S608  # nosec B608
                    f" COALESCE((SELECT MAX({t.identity}) FROM {t.name}), 0) + 1, false)"
                )
            progress(f"table {t.name}: {n} rows")
        if secret is not None:
            await c.execute(
                "INSERT INTO server_secret (id, secret) VALUES (1, $1)"
                " ON CONFLICT (id) DO UPDATE SET secret = EXCLUDED.secret",
                secret,
            )


async def _verify(
    db: sqlite3.Connection,
    meta: PostgresMetadataStore,
    files: FileBlobStore,
    s3: S3BlobStore,
    secret: bytes | None,
    present: list[tuple[int, str, int]],
    jobs: int,
    report: MigrateReport,
    progress: Callable[[str], Any],
) -> None:
    conn = await connect(meta.target)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for t in TABLES:
                src = Digest()
                for rows in _source_rows(db, t):
                    for row in rows:
                        src.add(row)
                dst = Digest()
                cols = ", ".join(t.columns)
                query = f"SELECT {cols} FROM {t.name}"  # noqa: S608  # nosec B608  # names: TABLES
                async for r in conn.cursor(query, prefetch=_BATCH):
                    dst.add(tuple(r))
                if src.count != dst.count:
                    report.problems.append(f"{t.name}: {src.count} rows, target {dst.count}")
                elif src.hex != dst.hex:
                    report.problems.append(f"{t.name}: row contents differ")
                report.tables[t.name] = src.count
            stored = await conn.fetchval("SELECT secret FROM server_secret WHERE id=1")
        if secret is not None and (stored is None or bytes(stored) != secret):
            report.problems.append("server secret differs")
    finally:
        await conn.close()
    progress("metadata verified; verifying blobs")

    sem = asyncio.Semaphore(jobs)

    async def one(account_id: int, blob_id: str, size: int) -> None:
        async with sem:
            try:
                want, n = await _blob_sha256(files, account_id, blob_id)
            except NotFound:
                report.problems.append(f"blob {account_id}/{blob_id}: missing from the source")
                return
            if n != size:
                report.problems.append(f"blob {account_id}/{blob_id}: file has {n} bytes")
                return
            try:
                got, m = await _blob_sha256(s3, account_id, blob_id)
            except Exception as e:  # noqa: BLE001 - NotFound or a store error: report it
                report.problems.append(f"blob {account_id}/{blob_id}: {type(e).__name__}")
                return
            if (got, m) != (want, n):
                report.problems.append(f"blob {account_id}/{blob_id}: bytes differ")
                return
            report.blobs += 1
            report.blob_bytes += n

    await asyncio.gather(*(one(a, b, n) for a, b, n in present))
    wanted = {(a, b) for a, b, _ in present}
    in_bucket = 0
    async for account_id, blob_id, _size in s3.list_blobs():
        in_bucket += (account_id, blob_id) in wanted
        report.extra_objects += (account_id, blob_id) not in wanted
    if in_bucket != len(wanted):
        report.problems.append(f"bucket lists {in_bucket} of {len(wanted)} blobs")
