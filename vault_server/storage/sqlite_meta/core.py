"""Connection plumbing and row converters shared by the SQLite store's parts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from vault_core.errors import AlreadyExists, BadRequest

from ..base import (
    Account,
    Device,
    DocRequest,
    Grant,
    Session,
)
from ..migrations import immediate, migrate

T = TypeVar("T")
Conn = sqlite3.Connection


def _account(r: sqlite3.Row) -> Account:
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


def _device(r: sqlite3.Row) -> Device:
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


def _grant(r: sqlite3.Row) -> Grant:
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


def _request(r: sqlite3.Row) -> DocRequest:
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


def _insert_device(c: Conn, d: Device) -> None:
    try:
        c.execute(
            "INSERT INTO devices"
            " (id, account_id, name, sign_pk, cert, created_at, revoked_at, idle_timeout)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            (d.id, d.account_id, d.name, d.sign_pk, d.cert, d.created_at, d.idle_timeout),
        )
    except sqlite3.IntegrityError:
        raise AlreadyExists("device id already exists") from None


def _insert_session(c: Conn, s: Session) -> None:
    c.execute(
        "INSERT INTO sessions (token_hash, account_id, device_id, expires_at) VALUES (?,?,?,?)",
        (s.token_hash, s.account_id, s.device_id, s.expires_at),
    )


def _check_present(c: Conn, account_id: int, blob_ids: Sequence[str]) -> None:
    for blob_id in set(blob_ids):
        row = c.execute(
            "SELECT 1 FROM blobs WHERE account_id=? AND blob_id=? AND state='present'",
            (account_id, blob_id),
        ).fetchone()
        if row is None:
            raise BadRequest("unknown blob")


_REQUEST_SELECT = (
    "SELECT q.*, r.handle AS recipient_handle, s.handle AS sender_handle FROM requests q"
    " JOIN accounts r ON r.id = q.recipient_id JOIN accounts s ON s.id = q.sender_id"
)
_GRANT_SELECT = (
    "SELECT g.*, t.handle AS to_handle, o.handle AS owner_handle FROM grants g"
    " JOIN accounts o ON o.id = g.owner_id LEFT JOIN accounts t ON t.id = g.to_account_id"
)


class SqliteCore:
    """One connection, one worker thread; ``_read`` and ``_write`` (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.row_factory = sqlite3.Row
        self._db = sqlite_utils.Database(conn)
        self._db.enable_wal()
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        migrate(conn)
        self._conn = conn
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-sqlite")
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteMetadataStore({str(self.path)!r})"

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=True)

    # -- plumbing ---------------------------------------------------------------------
    async def _read(self, fn: Callable[[Conn], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def _write(self, fn: Callable[[Conn], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, immediate, self._conn, fn)
