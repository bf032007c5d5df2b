"""Accounts, devices, sessions, login challenges and rate-limit counters."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from vault_core.errors import AlreadyExists

from ..base import (
    Account,
    Device,
    NewAccount,
    Session,
)
from .core import (
    Conn,
    SqliteCore,
    _account,
    _device,
    _insert_device,
    _insert_session,
)


class AccountsPart(SqliteCore):
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
                "SELECT s.*, d.idle_timeout FROM sessions s"
                " LEFT JOIN devices d ON d.id = s.device_id"
                " WHERE s.token_hash=? AND s.expires_at>?"
                " AND (s.device_id IS NULL OR d.revoked_at IS NULL)",
                (token_hash, now),
            ).fetchone()
            if r is None:
                return None
            return Session(
                r["token_hash"], r["account_id"], r["device_id"], r["expires_at"], r["idle_timeout"]
            )

        return await self._read(run)

    async def extend_session(self, token_hash: bytes, expires_at: int) -> None:
        def run(c: Conn) -> None:
            c.execute(
                "UPDATE sessions SET expires_at=? WHERE token_hash=? AND expires_at<?",
                (expires_at, token_hash, expires_at),
            )

        await self._write(run)

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

    async def rate_take(self, key: str, now: int, window: int, limit: int, n: int = 1) -> bool:
        def run(c: Conn) -> bool:
            c.execute("DELETE FROM rate_events WHERE key=? AND at<=?", (key, now - window))
            r = c.execute(
                "SELECT COUNT(*) FROM rate_events WHERE key=? AND at>?", (key, now - window)
            ).fetchone()
            if int(r[0]) + n > limit:
                return False
            c.executemany("INSERT INTO rate_events (key, at) VALUES (?, ?)", [(key, now)] * n)
            return True

        return await self._write(run)
