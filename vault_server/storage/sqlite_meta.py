"""SQLite implementation of :class:`~vault_server.storage.base.MetadataStore`.

Theory of operation
-------------------
One connection in autocommit mode, opened through sqlite-utils with WAL journaling and
``synchronous=FULL`` (a COMMIT is on disk before the handler answers, so an acknowledged write
survives kill -9 and power loss). Every call runs on one dedicated worker thread, which both
keeps the event loop free and serialises access to the connection. Writes that must
check-then-act run inside ``BEGIN IMMEDIATE``: the write lock is taken before the first read, so
the check and the write see the same state even when several processes share the file
(``busy_timeout`` makes the others wait). Blob rows carry the quota: ``accounts.used`` changes in
the same transaction as the row it accounts for.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from vault_core.errors import AlreadyExists, BadRequest, GrantUnavailable, NotFound, QuotaExceeded

from ..errors import HeadConflict
from .base import (
    Account,
    BlobRow,
    Deposit,
    DepositInfo,
    Device,
    DocRequest,
    Grant,
    GrantAccess,
    GrantListItem,
    GrantSession,
    LogEntry,
    NewAccount,
    NewLogEntry,
    ReserveResult,
    Session,
)
from .migrations import migrate

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
            "INSERT INTO devices (id, account_id, name, sign_pk, cert, created_at, revoked_at)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (d.id, d.account_id, d.name, d.sign_pk, d.cert, d.created_at),
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


class SqliteMetadataStore:
    """Embedded metadata store: one SQLite file (``DIR/vault.sqlite3``) in WAL mode."""

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
        def run(c: Conn) -> T:
            c.execute("BEGIN IMMEDIATE")
            try:
                result = fn(c)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")
            return result

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, run, self._conn)

    # -- accounts ---------------------------------------------------------------------
    async def create_account(self, account: NewAccount, device: Device, session: Session) -> int:
        a = account

        def run(c: Conn) -> int:
            try:
                cur = c.execute(
                    "INSERT INTO accounts (handle, kdf, login_pk, recovery_login_pk, bundle_pass,"
                    " bundle_recovery, sign_pk, box_pk, identity_sig, quota, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        a.handle,
                        json.dumps(a.kdf, sort_keys=True),
                        a.login_pk,
                        a.recovery_login_pk,
                        a.bundle_pass,
                        a.bundle_recovery,
                        a.sign_pk,
                        a.box_pk,
                        a.identity_sig,
                        a.quota,
                        a.created_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("handle taken") from None
            account_id = int(cur.lastrowid or 0)
            _insert_device(c, dataclasses.replace(device, account_id=account_id))
            _insert_session(
                c, Session(session.token_hash, account_id, device.id, session.expires_at)
            )
            return account_id

        return await self._write(run)

    async def get_account(self, account_id: int) -> Account | None:
        def run(c: Conn) -> Account | None:
            r = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
            return _account(r) if r else None

        return await self._read(run)

    async def get_account_by_handle(self, handle: str) -> Account | None:
        def run(c: Conn) -> Account | None:
            r = c.execute("SELECT * FROM accounts WHERE handle=?", (handle,)).fetchone()
            return _account(r) if r else None

        return await self._read(run)

    async def set_issuer(self, handle: str, is_issuer: bool) -> bool:
        def run(c: Conn) -> bool:
            cur = c.execute(
                "UPDATE accounts SET is_issuer=? WHERE handle=?", (int(is_issuer), handle)
            )
            return cur.rowcount == 1

        return await self._write(run)

    async def change_passphrase(
        self,
        account_id: int,
        kdf: dict[str, Any],
        login_pk: bytes,
        bundle_pass: bytes,
        recovery_login_pk: bytes | None,
        bundle_recovery: bytes | None,
        keep_token_hash: bytes | None,
    ) -> None:
        def run(c: Conn) -> None:
            c.execute(
                "UPDATE accounts SET kdf=?, login_pk=?, bundle_pass=? WHERE id=?",
                (json.dumps(kdf, sort_keys=True), login_pk, bundle_pass, account_id),
            )
            if recovery_login_pk is not None:
                c.execute(
                    "UPDATE accounts SET recovery_login_pk=? WHERE id=?",
                    (recovery_login_pk, account_id),
                )
            if bundle_recovery is not None:
                c.execute(
                    "UPDATE accounts SET bundle_recovery=? WHERE id=?",
                    (bundle_recovery, account_id),
                )
            c.execute(
                "DELETE FROM sessions WHERE account_id=? AND token_hash IS NOT ?",
                (account_id, keep_token_hash),
            )

        await self._write(run)

    # -- devices and sessions ---------------------------------------------------------
    async def get_device(self, account_id: int, device_id: str) -> Device | None:
        def run(c: Conn) -> Device | None:
            r = c.execute(
                "SELECT * FROM devices WHERE id=? AND account_id=?", (device_id, account_id)
            ).fetchone()
            return _device(r) if r else None

        return await self._read(run)

    async def list_devices(self, account_id: int) -> list[Device]:
        def run(c: Conn) -> list[Device]:
            rows = c.execute(
                "SELECT * FROM devices WHERE account_id=? ORDER BY created_at, id", (account_id,)
            ).fetchall()
            return [_device(r) for r in rows]

        return await self._read(run)

    async def set_device_cert(self, account_id: int, device_id: str, cert: bytes) -> bool:
        def run(c: Conn) -> bool:
            cur = c.execute(
                "UPDATE devices SET cert=? WHERE id=? AND account_id=?",
                (cert, device_id, account_id),
            )
            return cur.rowcount == 1

        return await self._write(run)

    async def revoke_device(self, account_id: int, device_id: str, now: int) -> bool:
        def run(c: Conn) -> bool:
            cur = c.execute(
                "UPDATE devices SET revoked_at=COALESCE(revoked_at, ?) WHERE id=? AND account_id=?",
                (now, device_id, account_id),
            )
            if cur.rowcount != 1:
                return False
            c.execute("DELETE FROM sessions WHERE device_id=?", (device_id,))
            return True

        return await self._write(run)

    async def create_session(self, session: Session, new_device: Device | None = None) -> None:
        def run(c: Conn) -> None:
            if new_device is not None:
                _insert_device(c, new_device)
            _insert_session(c, session)

        await self._write(run)

    async def get_session(self, token_hash: bytes, now: int) -> Session | None:
        def run(c: Conn) -> Session | None:
            r = c.execute(
                "SELECT s.* FROM sessions s LEFT JOIN devices d ON d.id = s.device_id"
                " WHERE s.token_hash=? AND s.expires_at>?"
                " AND (s.device_id IS NULL OR d.revoked_at IS NULL)",
                (token_hash, now),
            ).fetchone()
            if r is None:
                return None
            return Session(r["token_hash"], r["account_id"], r["device_id"], r["expires_at"])

        return await self._read(run)

    async def delete_session(self, token_hash: bytes) -> None:
        def run(c: Conn) -> None:
            c.execute("DELETE FROM sessions WHERE token_hash=?", (token_hash,))

        await self._write(run)

    # -- challenges and rate limits ---------------------------------------------------
    async def put_challenge(
        self, challenge: bytes, handle: str, purpose: str, expires_at: int
    ) -> None:
        def run(c: Conn) -> None:
            c.execute(
                "INSERT INTO challenges (challenge, handle, purpose, expires_at) VALUES (?,?,?,?)",
                (challenge, handle, purpose, expires_at),
            )

        await self._write(run)

    async def take_challenge(self, challenge: bytes, handle: str, purpose: str, now: int) -> bool:
        def run(c: Conn) -> bool:
            r = c.execute(
                "SELECT handle, purpose, expires_at FROM challenges WHERE challenge=?",
                (challenge,),
            ).fetchone()
            if r is None:
                return False
            c.execute("DELETE FROM challenges WHERE challenge=?", (challenge,))
            return bool(r["handle"] == handle and r["purpose"] == purpose and r["expires_at"] > now)

        return await self._write(run)

    async def rate_count(self, key: str, since: int) -> int:
        def run(c: Conn) -> int:
            r = c.execute(
                "SELECT COUNT(*) FROM rate_events WHERE key=? AND at>?", (key, since)
            ).fetchone()
            return int(r[0])

        return await self._read(run)

    async def rate_hit(self, keys: Sequence[str], at: int) -> None:
        def run(c: Conn) -> None:
            c.executemany(
                "INSERT INTO rate_events (key, at) VALUES (?, ?)", [(k, at) for k in keys]
            )

        await self._write(run)

    async def rate_take(self, key: str, now: int, window: int, limit: int) -> bool:
        def run(c: Conn) -> bool:
            r = c.execute(
                "SELECT COUNT(*) FROM rate_events WHERE key=? AND at>?", (key, now - window)
            ).fetchone()
            if int(r[0]) >= limit:
                return False
            c.execute("INSERT INTO rate_events (key, at) VALUES (?, ?)", (key, now))
            return True

        return await self._write(run)

    # -- blobs ------------------------------------------------------------------------
    async def blobs_missing(self, account_id: int, blob_ids: Sequence[str]) -> list[str]:
        def run(c: Conn) -> list[str]:
            missing = []
            for blob_id in blob_ids:
                r = c.execute(
                    "SELECT 1 FROM blobs WHERE account_id=? AND blob_id=? AND state='present'",
                    (account_id, blob_id),
                ).fetchone()
                if r is None:
                    missing.append(blob_id)
            return missing

        return await self._read(run)

    async def blob_size(self, account_id: int, blob_id: str) -> int | None:
        def run(c: Conn) -> int | None:
            r = c.execute(
                "SELECT size FROM blobs WHERE account_id=? AND blob_id=? AND state='present'",
                (account_id, blob_id),
            ).fetchone()
            return int(r[0]) if r else None

        return await self._read(run)

    async def reserve_blob(
        self, account_id: int, blob_id: str, size: int, now: int
    ) -> ReserveResult:
        def run(c: Conn) -> ReserveResult:
            r = c.execute(
                "SELECT state FROM blobs WHERE account_id=? AND blob_id=?", (account_id, blob_id)
            ).fetchone()
            if r is not None:
                return "present" if r["state"] == "present" else "busy"
            a = c.execute("SELECT quota, used FROM accounts WHERE id=?", (account_id,)).fetchone()
            if a is None:
                raise NotFound()
            if a["used"] + size > a["quota"]:
                raise QuotaExceeded()
            c.execute("UPDATE accounts SET used=used+? WHERE id=?", (size, account_id))
            c.execute(
                "INSERT INTO blobs (account_id, blob_id, size, state, created_at)"
                " VALUES (?,?,?,'pending',?)",
                (account_id, blob_id, size, now),
            )
            return "reserved"

        return await self._write(run)

    async def publish_blob(self, account_id: int, blob_id: str) -> None:
        def run(c: Conn) -> None:
            c.execute(
                "UPDATE blobs SET state='present' WHERE account_id=? AND blob_id=?"
                " AND state='pending'",
                (account_id, blob_id),
            )

        await self._write(run)

    async def release_blob(self, account_id: int, blob_id: str) -> None:
        def run(c: Conn) -> None:
            r = c.execute(
                "SELECT size FROM blobs WHERE account_id=? AND blob_id=? AND state!='present'",
                (account_id, blob_id),
            ).fetchone()
            if r is None:
                return
            c.execute("DELETE FROM blobs WHERE account_id=? AND blob_id=?", (account_id, blob_id))
            c.execute("UPDATE accounts SET used=used-? WHERE id=?", (r["size"], account_id))

        await self._write(run)

    async def unsettled_blobs(self, older_than: int) -> list[BlobRow]:
        def run(c: Conn) -> list[BlobRow]:
            rows = c.execute(
                "SELECT * FROM blobs WHERE state!='present' AND created_at<=?", (older_than,)
            ).fetchall()
            return [
                BlobRow(r["account_id"], r["blob_id"], r["size"], r["state"], r["created_at"])
                for r in rows
            ]

        return await self._read(run)

    async def mark_unreferenced(self, older_than: int, limit: int) -> list[BlobRow]:
        def run(c: Conn) -> list[BlobRow]:
            rows = c.execute(
                "SELECT * FROM blobs b WHERE b.state='present' AND b.created_at<?"
                " AND NOT EXISTS (SELECT 1 FROM log_refs r"
                "   WHERE r.account_id=b.account_id AND r.blob_id=b.blob_id)"
                " AND NOT EXISTS (SELECT 1 FROM grant_blobs g"
                "   WHERE g.account_id=b.account_id AND g.blob_id=b.blob_id)"
                " LIMIT ?",
                (older_than, limit),
            ).fetchall()
            out = []
            for r in rows:
                c.execute(
                    "UPDATE blobs SET state='deleting' WHERE account_id=? AND blob_id=?",
                    (r["account_id"], r["blob_id"]),
                )
                out.append(
                    BlobRow(r["account_id"], r["blob_id"], r["size"], "deleting", r["created_at"])
                )
            return out

        return await self._write(run)

    # -- change log -------------------------------------------------------------------
    async def log_head(self, account_id: int) -> int:
        def run(c: Conn) -> int:
            r = c.execute("SELECT log_head FROM accounts WHERE id=?", (account_id,)).fetchone()
            return int(r[0]) if r else 0

        return await self._read(run)

    async def log_list(self, account_id: int, after: int, limit: int) -> tuple[list[LogEntry], int]:
        def run(c: Conn) -> tuple[list[LogEntry], int]:
            rows = c.execute(
                "SELECT seq, entry FROM log_entries WHERE account_id=? AND seq>?"
                " ORDER BY seq LIMIT ?",
                (account_id, after, limit),
            ).fetchall()
            head = c.execute("SELECT log_head FROM accounts WHERE id=?", (account_id,)).fetchone()
            return [LogEntry(r["seq"], r["entry"]) for r in rows], int(head[0]) if head else 0

        # One read transaction so the page and the head are consistent.
        def consistent(c: Conn) -> tuple[list[LogEntry], int]:
            c.execute("BEGIN")
            try:
                return run(c)
            finally:
                c.execute("COMMIT")

        return await self._read(consistent)

    async def log_append(
        self,
        account_id: int,
        expected_head: int,
        entries: Sequence[NewLogEntry],
        device_id: str | None,
        now: int,
    ) -> int:
        def run(c: Conn) -> int:
            r = c.execute("SELECT log_head FROM accounts WHERE id=?", (account_id,)).fetchone()
            head = int(r[0])
            if head != expected_head:
                raise HeadConflict(head)
            _check_present(c, account_id, [ref for e in entries for ref in e.refs])
            seq = head
            for e in entries:
                seq += 1
                c.execute(
                    "INSERT INTO log_entries (account_id, seq, entry, device_id, created_at)"
                    " VALUES (?,?,?,?,?)",
                    (account_id, seq, e.entry, device_id, now),
                )
                c.executemany(
                    "INSERT INTO log_refs (account_id, blob_id, seq) VALUES (?,?,?)",
                    [(account_id, ref, seq) for ref in sorted(set(e.refs))],
                )
            c.execute("UPDATE accounts SET log_head=? WHERE id=?", (seq, account_id))
            return seq

        return await self._write(run)

    # -- grants -----------------------------------------------------------------------
    async def create_grant(self, grant: Grant, blobs: Sequence[str]) -> None:
        g = grant

        def run(c: Conn) -> None:
            _check_present(c, g.owner_id, blobs)
            try:
                c.execute(
                    "INSERT INTO grants (id, owner_id, kind, to_account_id, access_hash,"
                    " expires_at, max_uses, uses, failed, password, header, payload, sealed_key,"
                    " revoked_at, created_at) VALUES (?,?,?,?,?,?,?,0,0,?,?,?,?,NULL,?)",
                    (
                        g.id,
                        g.owner_id,
                        g.kind,
                        g.to_account_id,
                        g.access_hash,
                        g.expires_at,
                        g.max_uses,
                        int(g.password),
                        g.header,
                        g.payload,
                        g.sealed_key,
                        g.created_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("grant id already exists") from None
            c.executemany(
                "INSERT INTO grant_blobs (grant_id, account_id, blob_id) VALUES (?,?,?)",
                [(g.id, g.owner_id, b) for b in sorted(set(blobs))],
            )

        await self._write(run)

    async def get_grant(self, grant_id: str) -> Grant | None:
        def run(c: Conn) -> Grant | None:
            r = c.execute("SELECT * FROM grants WHERE id=?", (grant_id,)).fetchone()
            return _grant(r) if r else None

        return await self._read(run)

    async def update_grant_payload(
        self,
        owner_id: int,
        grant_id: str,
        payload: bytes,
        blobs: Sequence[str],
        now: int,
        max_failed: int,
    ) -> None:
        def run(c: Conn) -> None:
            r = c.execute(
                "SELECT * FROM grants WHERE id=? AND owner_id=?", (grant_id, owner_id)
            ).fetchone()
            if r is None:
                raise NotFound()
            if _grant(r).state(now, max_failed) in ("revoked", "expired", "locked"):
                raise GrantUnavailable()
            _check_present(c, owner_id, blobs)
            c.execute("UPDATE grants SET payload=? WHERE id=?", (payload, grant_id))
            c.execute("DELETE FROM grant_blobs WHERE grant_id=?", (grant_id,))
            c.executemany(
                "INSERT INTO grant_blobs (grant_id, account_id, blob_id) VALUES (?,?,?)",
                [(grant_id, owner_id, b) for b in sorted(set(blobs))],
            )

        await self._write(run)

    async def revoke_grant(self, owner_id: int, grant_id: str, now: int) -> bool:
        def run(c: Conn) -> bool:
            cur = c.execute(
                "UPDATE grants SET revoked_at=COALESCE(revoked_at, ?) WHERE id=? AND owner_id=?",
                (now, grant_id, owner_id),
            )
            if cur.rowcount != 1:
                return False
            c.execute("DELETE FROM grant_sessions WHERE grant_id=?", (grant_id,))
            return True

        return await self._write(run)

    async def list_grants(self, owner_id: int) -> list[GrantListItem]:
        def run(c: Conn) -> list[GrantListItem]:
            rows = c.execute(
                _GRANT_SELECT + " WHERE g.owner_id=? ORDER BY g.created_at, g.id", (owner_id,)
            ).fetchall()
            return [GrantListItem(_grant(r), r["to_handle"], r["owner_handle"]) for r in rows]

        return await self._read(run)

    async def list_shared(self, to_account_id: int) -> list[GrantListItem]:
        def run(c: Conn) -> list[GrantListItem]:
            rows = c.execute(
                _GRANT_SELECT + " WHERE g.to_account_id=? AND g.kind='account'"
                " ORDER BY g.created_at, g.id",
                (to_account_id,),
            ).fetchall()
            return [GrantListItem(_grant(r), r["to_handle"], r["owner_handle"]) for r in rows]

        return await self._read(run)

    async def grant_failed_attempt(self, grant_id: str) -> int:
        def run(c: Conn) -> int:
            c.execute("UPDATE grants SET failed=failed+1 WHERE id=?", (grant_id,))
            r = c.execute("SELECT failed FROM grants WHERE id=?", (grant_id,)).fetchone()
            return int(r[0]) if r else 0

        return await self._write(run)

    async def grant_open(
        self, grant_id: str, now: int, max_failed: int, session: GrantSession
    ) -> Grant | None:
        def run(c: Conn) -> Grant | None:
            r = c.execute("SELECT * FROM grants WHERE id=?", (grant_id,)).fetchone()
            if r is None or _grant(r).state(now, max_failed) != "active":
                return None
            c.execute("UPDATE grants SET uses=uses+1 WHERE id=?", (grant_id,))
            c.execute(
                "INSERT INTO grant_sessions (token_hash, grant_id, account_id, expires_at)"
                " VALUES (?,?,?,?)",
                (session.token_hash, grant_id, session.account_id, session.expires_at),
            )
            c.execute(
                "INSERT INTO grant_access (grant_id, at, what, account_id) VALUES (?,?,?,?)",
                (grant_id, now, "open", session.account_id),
            )
            r = c.execute("SELECT * FROM grants WHERE id=?", (grant_id,)).fetchone()
            return _grant(r)

        return await self._write(run)

    async def get_grant_session(self, token_hash: bytes, now: int) -> GrantSession | None:
        def run(c: Conn) -> GrantSession | None:
            r = c.execute(
                "SELECT * FROM grant_sessions WHERE token_hash=? AND expires_at>?",
                (token_hash, now),
            ).fetchone()
            if r is None:
                return None
            return GrantSession(r["token_hash"], r["grant_id"], r["account_id"], r["expires_at"])

        return await self._read(run)

    async def grant_has_blob(self, grant_id: str, blob_id: str) -> bool:
        def run(c: Conn) -> bool:
            r = c.execute(
                "SELECT 1 FROM grant_blobs WHERE grant_id=? AND blob_id=?", (grant_id, blob_id)
            ).fetchone()
            return r is not None

        return await self._read(run)

    async def grant_log_access(
        self, grant_id: str, at: int, what: str, account_id: int | None
    ) -> None:
        def run(c: Conn) -> None:
            c.execute(
                "INSERT INTO grant_access (grant_id, at, what, account_id) VALUES (?,?,?,?)",
                (grant_id, at, what, account_id),
            )

        await self._write(run)

    async def grant_access_log(self, owner_id: int, grant_id: str) -> list[GrantAccess] | None:
        def run(c: Conn) -> list[GrantAccess] | None:
            g = c.execute(
                "SELECT 1 FROM grants WHERE id=? AND owner_id=?", (grant_id, owner_id)
            ).fetchone()
            if g is None:
                return None
            rows = c.execute(
                "SELECT a.at, a.what, u.handle FROM grant_access a"
                " LEFT JOIN accounts u ON u.id = a.account_id"
                " WHERE a.grant_id=? ORDER BY a.rowid",
                (grant_id,),
            ).fetchall()
            return [GrantAccess(r[0], r[1], r[2]) for r in rows]

        return await self._read(run)

    # -- inbox and requests -----------------------------------------------------------
    async def add_deposit(self, deposit: Deposit, max_items: int) -> None:
        d = deposit

        def run(c: Conn) -> None:
            r = c.execute(
                "SELECT COUNT(*) FROM deposits WHERE recipient_id=?", (d.recipient_id,)
            ).fetchone()
            if int(r[0]) >= max_items:
                raise QuotaExceeded("inbox full")
            try:
                c.execute(
                    "INSERT INTO deposits (id, recipient_id, sender_id, envelope, received_at)"
                    " VALUES (?,?,?,?,?)",
                    (d.id, d.recipient_id, d.sender_id, d.envelope, d.received_at),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("deposit id already exists") from None

        await self._write(run)

    async def list_deposits(self, recipient_id: int) -> list[DepositInfo]:
        def run(c: Conn) -> list[DepositInfo]:
            rows = c.execute(
                "SELECT d.id, a.handle, d.received_at, length(d.envelope) FROM deposits d"
                " JOIN accounts a ON a.id = d.sender_id WHERE d.recipient_id=?"
                " ORDER BY d.received_at, d.id",
                (recipient_id,),
            ).fetchall()
            return [DepositInfo(r[0], r[1], r[2], r[3]) for r in rows]

        return await self._read(run)

    async def get_deposit(self, recipient_id: int, deposit_id: str) -> Deposit | None:
        def run(c: Conn) -> Deposit | None:
            r = c.execute(
                "SELECT d.*, a.handle AS sender_handle FROM deposits d"
                " JOIN accounts a ON a.id = d.sender_id WHERE d.id=? AND d.recipient_id=?",
                (deposit_id, recipient_id),
            ).fetchone()
            if r is None:
                return None
            return Deposit(
                r["id"],
                r["recipient_id"],
                r["sender_id"],
                r["sender_handle"],
                r["envelope"],
                r["received_at"],
            )

        return await self._read(run)

    async def delete_deposit(self, recipient_id: int, deposit_id: str) -> bool:
        def run(c: Conn) -> bool:
            cur = c.execute(
                "DELETE FROM deposits WHERE id=? AND recipient_id=?", (deposit_id, recipient_id)
            )
            return cur.rowcount == 1

        return await self._write(run)

    async def add_request(self, request: DocRequest) -> None:
        q = request

        def run(c: Conn) -> None:
            try:
                c.execute(
                    "INSERT INTO requests (id, recipient_id, sender_id, envelope, due_at,"
                    " created_at) VALUES (?,?,?,?,?,?)",
                    (q.id, q.recipient_id, q.sender_id, q.envelope, q.due_at, q.created_at),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("request id already exists") from None

        await self._write(run)

    async def list_requests(self, account_id: int, sent: bool) -> list[DocRequest]:
        column = "sender_id" if sent else "recipient_id"

        def run(c: Conn) -> list[DocRequest]:
            rows = c.execute(
                f"{_REQUEST_SELECT} WHERE q.{column}=? ORDER BY q.created_at, q.id",
                (account_id,),
            ).fetchall()
            return [_request(r) for r in rows]

        return await self._read(run)

    async def answer_request(
        self, recipient_id: int, request_id: str, grant_id: str, envelope: bytes | None, now: int
    ) -> DocRequest | None:
        def run(c: Conn) -> DocRequest | None:
            g = c.execute(
                "SELECT 1 FROM grants WHERE id=? AND owner_id=?", (grant_id, recipient_id)
            ).fetchone()
            if g is None:
                raise BadRequest("unknown grant")
            cur = c.execute(
                "UPDATE requests SET answer_grant_id=?, answer_envelope=?, answered_at=?"
                " WHERE id=? AND recipient_id=?",
                (grant_id, envelope, now, request_id, recipient_id),
            )
            if cur.rowcount != 1:
                return None
            r = c.execute(_REQUEST_SELECT + " WHERE q.id=?", (request_id,)).fetchone()
            return _request(r)

        return await self._write(run)

    # -- housekeeping -----------------------------------------------------------------
    async def purge_expired(self, now: int, rate_window: int) -> None:
        def run(c: Conn) -> None:
            c.execute("DELETE FROM challenges WHERE expires_at<=?", (now,))
            c.execute("DELETE FROM sessions WHERE expires_at<=?", (now,))
            c.execute("DELETE FROM grant_sessions WHERE expires_at<=?", (now,))
            c.execute("DELETE FROM rate_events WHERE at<=?", (now - rate_window,))

        await self._write(run)
