"""Accounts, devices, sessions, login challenges and rate-limit counters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from vault_core.errors import AlreadyExists

from ..base import Account, Device, NewAccount, Session
from .core import Conn, PgCore, _account, _device, _rowcount


async def _insert_device(c: Conn, d: Device, account_id: int) -> None:
    try:
        await c.execute(
            "INSERT INTO devices"
            " (id, account_id, name, sign_pk, cert, created_at, revoked_at, idle_timeout)"
            " VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
            d.id,
            account_id,
            d.name,
            d.sign_pk,
            d.cert,
            d.created_at,
            d.idle_timeout,
        )
    except asyncpg.UniqueViolationError:
        raise AlreadyExists("device id already exists") from None


async def _insert_session(c: Conn, s: Session, account_id: int) -> None:
    await c.execute(
        "INSERT INTO sessions (token_hash, account_id, device_id, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        s.token_hash,
        account_id,
        s.device_id,
        s.expires_at,
    )


class AccountsPart(PgCore):
    # -- accounts ---------------------------------------------------------------------
    async def create_account(self, account: NewAccount, device: Device, session: Session) -> int:
        a = account
        async with self._tx() as c:
            try:
                account_id = await c.fetchval(
                    "INSERT INTO accounts (handle, kdf, login_pk, recovery_login_pk, bundle_pass,"
                    " bundle_recovery, sign_pk, box_pk, identity_sig, quota, created_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
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
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("handle taken") from None
            await _insert_device(c, device, account_id)
            await _insert_session(
                c,
                Session(session.token_hash, account_id, device.id, session.expires_at),
                account_id,
            )
            return int(account_id)

    async def get_account(self, account_id: int) -> Account | None:
        r = await self.pool.fetchrow("SELECT * FROM accounts WHERE id=$1", account_id)
        return _account(r) if r else None

    async def get_account_by_handle(self, handle: str) -> Account | None:
        r = await self.pool.fetchrow("SELECT * FROM accounts WHERE handle=$1", handle)
        return _account(r) if r else None

    async def set_issuer(self, handle: str, is_issuer: bool) -> bool:
        status = await self.pool.execute(
            "UPDATE accounts SET is_issuer=$1 WHERE handle=$2", is_issuer, handle
        )
        return _rowcount(status) == 1

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
        async with self._tx() as c:
            await c.execute(
                "UPDATE accounts SET kdf=$1, login_pk=$2, bundle_pass=$3,"
                " recovery_login_pk=COALESCE($4, recovery_login_pk),"
                " bundle_recovery=COALESCE($5, bundle_recovery) WHERE id=$6",
                json.dumps(kdf, sort_keys=True),
                login_pk,
                bundle_pass,
                recovery_login_pk,
                bundle_recovery,
                account_id,
            )
            await c.execute(
                "DELETE FROM sessions WHERE account_id=$1 AND token_hash IS DISTINCT FROM $2",
                account_id,
                keep_token_hash,
            )

    # -- devices and sessions ---------------------------------------------------------
    async def get_device(self, account_id: int, device_id: str) -> Device | None:
        r = await self.pool.fetchrow(
            "SELECT * FROM devices WHERE id=$1 AND account_id=$2", device_id, account_id
        )
        return _device(r) if r else None

    async def list_devices(self, account_id: int) -> list[Device]:
        rows = await self.pool.fetch(
            "SELECT * FROM devices WHERE account_id=$1 ORDER BY created_at, id", account_id
        )
        return [_device(r) for r in rows]

    async def set_device_cert(self, account_id: int, device_id: str, cert: bytes) -> bool:
        status = await self.pool.execute(
            "UPDATE devices SET cert=$1 WHERE id=$2 AND account_id=$3", cert, device_id, account_id
        )
        return _rowcount(status) == 1

    async def revoke_device(self, account_id: int, device_id: str, now: int) -> bool:
        async with self._tx() as c:
            status = await c.execute(
                "UPDATE devices SET revoked_at=COALESCE(revoked_at, $1)"
                " WHERE id=$2 AND account_id=$3",
                now,
                device_id,
                account_id,
            )
            if _rowcount(status) != 1:
                return False
            await c.execute("DELETE FROM sessions WHERE device_id=$1", device_id)
            return True

    async def create_session(self, session: Session, new_device: Device | None = None) -> None:
        async with self._tx() as c:
            if new_device is not None:
                await _insert_device(c, new_device, new_device.account_id)
            await _insert_session(c, session, session.account_id)

    async def get_session(self, token_hash: bytes, now: int) -> Session | None:
        r = await self.pool.fetchrow(
            "SELECT s.*, d.idle_timeout FROM sessions s"
            " LEFT JOIN devices d ON d.id = s.device_id"
            " WHERE s.token_hash=$1 AND s.expires_at>$2"
            " AND (s.device_id IS NULL OR d.revoked_at IS NULL)",
            token_hash,
            now,
        )
        if r is None:
            return None
        return Session(
            bytes(r["token_hash"]),
            r["account_id"],
            r["device_id"],
            r["expires_at"],
            r["idle_timeout"],
        )

    async def delete_session(self, token_hash: bytes) -> None:
        await self.pool.execute("DELETE FROM sessions WHERE token_hash=$1", token_hash)

    async def extend_session(self, token_hash: bytes, expires_at: int) -> None:
        await self.pool.execute(
            "UPDATE sessions SET expires_at=$1 WHERE token_hash=$2 AND expires_at<$1",
            expires_at,
            token_hash,
        )

    # -- challenges and rate limits ---------------------------------------------------
    async def put_challenge(
        self, challenge: bytes, handle: str, purpose: str, expires_at: int
    ) -> None:
        await self.pool.execute(
            "INSERT INTO challenges (challenge, handle, purpose, expires_at) VALUES ($1,$2,$3,$4)",
            challenge,
            handle,
            purpose,
            expires_at,
        )

    async def take_challenge(self, challenge: bytes, handle: str, purpose: str, now: int) -> bool:
        # DELETE ... RETURNING is atomic: of two concurrent takes only one gets the row.
        r = await self.pool.fetchrow(
            "DELETE FROM challenges WHERE challenge=$1 RETURNING handle, purpose, expires_at",
            challenge,
        )
        if r is None:
            return False
        return bool(r["handle"] == handle and r["purpose"] == purpose and r["expires_at"] > now)

    async def rate_count(self, key: str, since: int) -> int:
        n = await self.pool.fetchval(
            "SELECT COUNT(*) FROM rate_events WHERE key=$1 AND at>$2", key, since
        )
        return int(n)

    async def rate_hit(self, keys: Sequence[str], at: int) -> None:
        async with self._tx() as c:
            await c.executemany(
                "INSERT INTO rate_events (key, at) VALUES ($1, $2)", [(k, at) for k in keys]
            )

    async def rate_take(self, key: str, now: int, window: int, limit: int, n: int = 1) -> bool:
        async with self._tx() as c:
            # Serialise takers of this key (across processes) for the count-then-insert.
            await c.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
            await c.execute("DELETE FROM rate_events WHERE key=$1 AND at<=$2", key, now - window)
            held = await c.fetchval(
                "SELECT COUNT(*) FROM rate_events WHERE key=$1 AND at>$2", key, now - window
            )
            if int(held) + n > limit:
                return False
            await c.executemany(
                "INSERT INTO rate_events (key, at) VALUES ($1, $2)", [(key, now)] * n
            )
            return True
