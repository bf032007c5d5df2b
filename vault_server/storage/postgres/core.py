"""Connection plumbing, URL parsing and row converters shared by the PostgreSQL store's parts."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from vault_core.errors import BadRequest

from ..base import Account, Device, DocRequest, Grant
from ..urls import redact_url
from .schema import MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION

Conn = Any  # asyncpg.Connection (asyncpg ships no type information)
Record = Any  # asyncpg.Record

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
_OUR_PARAMS = ("schema", "pool_min", "pool_max")


@dataclass(frozen=True)
class PgTarget:
    """Where the metadata lives: a libpq-style URL plus our own query parameters
    ``schema`` (default ``public``), ``pool_min`` and ``pool_max`` (default 1 and 10)."""

    dsn: str = field(repr=False)
    schema: str = "public"
    pool_min: int = 1
    pool_max: int = 10

    @property
    def redacted(self) -> str:
        return redact_url(self.dsn)

    @property
    def channel(self) -> str:
        """LISTEN/NOTIFY channel of this schema (processes of one installation share it)."""
        return f"vault_events_{self.schema}"

    def __repr__(self) -> str:
        return f"PgTarget({self.redacted!r}, schema={self.schema!r})"


def parse_pg_url(url: str) -> PgTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("metadata URL must start with postgresql://")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OUR_PARAMS}
    rest = [(k, v) for k, v in query if k not in _OUR_PARAMS]
    schema = ours.get("schema", "public")
    if not _SCHEMA_NAME.match(schema):
        raise ValueError("schema must match [a-z_][a-z0-9_]{0,39}")
    try:
        pool_min = int(ours.get("pool_min", "1"))
        pool_max = int(ours.get("pool_max", "10"))
    except ValueError:
        raise ValueError("pool_min and pool_max must be integers") from None
    if not 0 <= pool_min <= pool_max or pool_max < 1:
        raise ValueError("need 0 <= pool_min <= pool_max and pool_max >= 1")
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    return PgTarget(dsn, schema, pool_min, pool_max)


async def connect(target: PgTarget) -> Conn:
    """One connection outside the pool (migrations, the LISTEN connection, migrate)."""
    return await asyncpg.connect(
        target.dsn,
        server_settings={"search_path": target.schema, "application_name": "vault-server"},
    )


async def current_version(c: Conn) -> int:
    await c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    v = await c.fetchval("SELECT version FROM schema_version")
    return int(v) if v is not None else 0


async def migrate(target: PgTarget) -> int:
    """Create the schema if needed and apply the missing migrations; returns the version."""
    c = await connect(target)
    try:
        async with c.transaction():
            await c.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await c.execute(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
            version = await current_version(c)
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"database schema {version} is newer than this server ({SCHEMA_VERSION})"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    await c.execute(statement)
            if version == 0:
                await c.execute("INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION)
            elif version < SCHEMA_VERSION:
                await c.execute("UPDATE schema_version SET version = $1", SCHEMA_VERSION)
    finally:
        await c.close()
    return SCHEMA_VERSION


def _account(r: Record) -> Account:
    return Account(
        id=r["id"],
        handle=r["handle"],
        kdf=json.loads(r["kdf"]),
        login_pk=r["login_pk"],
        recovery_login_pk=r["recovery_login_pk"],
        bundle_pass=r["bundle_pass"],
        bundle_recovery=r["bundle_recovery"],
        sign_pk=r["sign_pk"],
        box_pk=r["box_pk"],
        identity_sig=r["identity_sig"],
        is_issuer=bool(r["is_issuer"]),
        quota=r["quota"],
        used=r["used"],
        log_head=r["log_head"],
        created_at=r["created_at"],
    )


def _device(r: Record) -> Device:
    return Device(
        id=r["id"],
        account_id=r["account_id"],
        name=r["name"],
        sign_pk=r["sign_pk"],
        cert=r["cert"],
        created_at=r["created_at"],
        revoked_at=r["revoked_at"],
        idle_timeout=r["idle_timeout"],
    )


def _grant(r: Record) -> Grant:
    return Grant(
        id=r["id"],
        owner_id=r["owner_id"],
        kind=r["kind"],
        to_account_id=r["to_account_id"],
        access_hash=r["access_hash"],
        expires_at=r["expires_at"],
        max_uses=r["max_uses"],
        uses=r["uses"],
        failed=r["failed"],
        password=bool(r["password"]),
        header=r["header"],
        payload=r["payload"],
        sealed_key=r["sealed_key"],
        revoked_at=r["revoked_at"],
        created_at=r["created_at"],
    )


def _request(r: Record) -> DocRequest:
    return DocRequest(
        id=r["id"],
        recipient_id=r["recipient_id"],
        recipient_handle=r["recipient_handle"],
        sender_id=r["sender_id"],
        sender_handle=r["sender_handle"],
        envelope=r["envelope"],
        due_at=r["due_at"],
        created_at=r["created_at"],
        answer_grant_id=r["answer_grant_id"],
        answer_envelope=r["answer_envelope"],
        answered_at=r["answered_at"],
    )


async def _lock_account(c: Conn, account_id: int) -> Record | None:
    """Take the account's row lock: the per-account mutex (see the package docstring)."""
    return await c.fetchrow(
        "SELECT quota, used, log_head FROM accounts WHERE id=$1 FOR UPDATE", account_id
    )


async def _check_present(c: Conn, account_id: int, blob_ids: Sequence[str]) -> None:
    wanted = sorted(set(blob_ids))
    if not wanted:
        return
    n = await c.fetchval(
        "SELECT COUNT(*) FROM blobs WHERE account_id=$1 AND blob_id = ANY($2::text[])"
        " AND state='present'",
        account_id,
        wanted,
    )
    if n != len(wanted):
        raise BadRequest("unknown blob")


_REQUEST_SELECT = (
    "SELECT q.*, r.handle AS recipient_handle, s.handle AS sender_handle FROM requests q"
    " JOIN accounts r ON r.id = q.recipient_id JOIN accounts s ON s.id = q.sender_id"
)
_GRANT_SELECT = (
    "SELECT g.*, t.handle AS to_handle, o.handle AS owner_handle FROM grants g"
    " JOIN accounts o ON o.id = g.owner_id LEFT JOIN accounts t ON t.id = g.to_account_id"
)


def _rowcount(status: str) -> int:
    """Rows touched, from a command status such as ``UPDATE 1`` or ``DELETE 0``."""
    try:
        return int(status.rsplit(" ", 1)[1])
    except (IndexError, ValueError):
        return 0


class PgCore:
    """A connection pool; ``_tx`` (read committed, the default) and ``_snapshot`` (one
    consistent read-only view) hand out a connection inside a transaction."""

    def __init__(self, target: PgTarget, pool: Any) -> None:
        self.target = target
        self.pool = pool
        self._closed = False

    @classmethod
    async def open(cls, url: str) -> Any:
        target = parse_pg_url(url)
        await migrate(target)
        pool = await asyncpg.create_pool(
            target.dsn,
            min_size=target.pool_min,
            max_size=target.pool_max,
            server_settings={"search_path": target.schema, "application_name": "vault-server"},
        )
        return cls(target, pool)

    def __repr__(self) -> str:
        return f"PostgresMetadataStore({self.target.redacted!r}, schema={self.target.schema!r})"

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.pool.close()

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[Conn]:
        async with self.pool.acquire() as c, c.transaction():
            yield c

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Conn]:
        async with (
            self.pool.acquire() as c,
            c.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield c

    async def server_secret(self, candidate: bytes) -> bytes:
        """The installation's server secret: ``candidate`` if none was stored yet."""
        async with self._tx() as c:
            await c.execute(
                "INSERT INTO server_secret (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING",
                candidate,
            )
            return bytes(await c.fetchval("SELECT secret FROM server_secret WHERE id=1"))
