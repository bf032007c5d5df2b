"""Grants, their blob sets, sessions and access log."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vault_core.errors import AlreadyExists, GrantUnavailable, NotFound

from ..base import Grant, GrantAccess, GrantListItem, GrantSession
from .core import _GRANT_SELECT, Conn, PgCore, _check_present, _grant, _lock_account, _rowcount


async def _set_grant_blobs(c: Conn, grant_id: str, owner_id: int, blobs: Sequence[str]) -> None:
    await c.executemany(
        "INSERT INTO grant_blobs (grant_id, account_id, blob_id) VALUES ($1,$2,$3)",
        [(grant_id, owner_id, b) for b in sorted(set(blobs))],
    )


class GrantsPart(PgCore):
    # -- grants -----------------------------------------------------------------------
    async def create_grant(self, grant: Grant, blobs: Sequence[str]) -> None:
        g = grant
        async with self._tx() as c:
            # The owner's lock orders this against GC marking one of these blobs.
            await _lock_account(c, g.owner_id)
            await _check_present(c, g.owner_id, blobs)
            try:
                await c.execute(
                    "INSERT INTO grants (id, owner_id, kind, to_account_id, access_hash,"
                    " expires_at, max_uses, uses, failed, password, header, payload, sealed_key,"
                    " revoked_at, created_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,0,0,$8,$9,$10,$11,NULL,$12)",
                    g.id,
                    g.owner_id,
                    g.kind,
                    g.to_account_id,
                    g.access_hash,
                    g.expires_at,
                    g.max_uses,
                    g.password,
                    g.header,
                    g.payload,
                    g.sealed_key,
                    g.created_at,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("grant id already exists") from None
            await _set_grant_blobs(c, g.id, g.owner_id, blobs)

    async def get_grant(self, grant_id: str) -> Grant | None:
        r = await self.pool.fetchrow("SELECT * FROM grants WHERE id=$1", grant_id)
        return _grant(r) if r else None

    async def update_grant_payload(
        self,
        owner_id: int,
        grant_id: str,
        payload: bytes,
        blobs: Sequence[str],
        now: int,
        max_failed: int,
    ) -> None:
        async with self._tx() as c:
            await _lock_account(c, owner_id)
            r = await c.fetchrow(
                "SELECT * FROM grants WHERE id=$1 AND owner_id=$2 FOR UPDATE", grant_id, owner_id
            )
            if r is None:
                raise NotFound()
            if _grant(r).state(now, max_failed) in ("revoked", "expired", "locked"):
                raise GrantUnavailable()
            await _check_present(c, owner_id, blobs)
            await c.execute("UPDATE grants SET payload=$1 WHERE id=$2", payload, grant_id)
            await c.execute("DELETE FROM grant_blobs WHERE grant_id=$1", grant_id)
            await _set_grant_blobs(c, grant_id, owner_id, blobs)

    async def revoke_grant(self, owner_id: int, grant_id: str, now: int) -> bool:
        async with self._tx() as c:
            status = await c.execute(
                "UPDATE grants SET revoked_at=COALESCE(revoked_at, $1) WHERE id=$2 AND owner_id=$3",
                now,
                grant_id,
                owner_id,
            )
            if _rowcount(status) != 1:
                return False
            await c.execute("DELETE FROM grant_sessions WHERE grant_id=$1", grant_id)
            # a revoked grant serves nothing again: its blob set no longer holds blobs for GC
            await c.execute("DELETE FROM grant_blobs WHERE grant_id=$1", grant_id)
            return True

    async def list_grants(self, owner_id: int) -> list[GrantListItem]:
        rows = await self.pool.fetch(
            _GRANT_SELECT + " WHERE g.owner_id=$1 ORDER BY g.created_at, g.id", owner_id
        )
        return [GrantListItem(_grant(r), r["to_handle"], r["owner_handle"]) for r in rows]

    async def list_shared(self, to_account_id: int) -> list[GrantListItem]:
        rows = await self.pool.fetch(
            _GRANT_SELECT + " WHERE g.to_account_id=$1 AND g.kind='account'"
            " ORDER BY g.created_at, g.id",
            to_account_id,
        )
        return [GrantListItem(_grant(r), r["to_handle"], r["owner_handle"]) for r in rows]

    async def grant_failed_attempt(self, grant_id: str) -> int:
        failed = await self.pool.fetchval(
            "UPDATE grants SET failed=failed+1 WHERE id=$1 RETURNING failed", grant_id
        )
        return int(failed) if failed is not None else 0

    async def grant_open(
        self, grant_id: str, now: int, max_failed: int, session: GrantSession
    ) -> Grant | None:
        async with self._tx() as c:
            # The row lock orders concurrent opens (any process): each sees the uses the
            # previous one counted, so at most max_uses succeed.
            r = await c.fetchrow("SELECT * FROM grants WHERE id=$1 FOR UPDATE", grant_id)
            if r is None or _grant(r).state(now, max_failed) != "active":
                return None
            r = await c.fetchrow("UPDATE grants SET uses=uses+1 WHERE id=$1 RETURNING *", grant_id)
            await c.execute(
                "INSERT INTO grant_sessions (token_hash, grant_id, account_id, expires_at)"
                " VALUES ($1,$2,$3,$4)",
                session.token_hash,
                grant_id,
                session.account_id,
                session.expires_at,
            )
            await c.execute(
                "INSERT INTO grant_access (grant_id, at, what, account_id) VALUES ($1,$2,$3,$4)",
                grant_id,
                now,
                "open",
                session.account_id,
            )
            return _grant(r)

    async def get_grant_session(self, token_hash: bytes, now: int) -> GrantSession | None:
        r = await self.pool.fetchrow(
            "SELECT * FROM grant_sessions WHERE token_hash=$1 AND expires_at>$2", token_hash, now
        )
        if r is None:
            return None
        return GrantSession(bytes(r["token_hash"]), r["grant_id"], r["account_id"], r["expires_at"])

    async def grant_has_blob(self, grant_id: str, blob_id: str) -> bool:
        r = await self.pool.fetchval(
            "SELECT 1 FROM grant_blobs WHERE grant_id=$1 AND blob_id=$2", grant_id, blob_id
        )
        return r is not None

    async def grant_log_access(
        self, grant_id: str, at: int, what: str, account_id: int | None
    ) -> None:
        await self.pool.execute(
            "INSERT INTO grant_access (grant_id, at, what, account_id) VALUES ($1,$2,$3,$4)",
            grant_id,
            at,
            what,
            account_id,
        )

    async def grant_access_log(self, owner_id: int, grant_id: str) -> list[GrantAccess] | None:
        async with self._snapshot() as c:
            g = await c.fetchval(
                "SELECT 1 FROM grants WHERE id=$1 AND owner_id=$2", grant_id, owner_id
            )
            if g is None:
                return None
            rows = await c.fetch(
                "SELECT a.at, a.what, u.handle FROM grant_access a"
                " LEFT JOIN accounts u ON u.id = a.account_id"
                " WHERE a.grant_id=$1 ORDER BY a.id",
                grant_id,
            )
        return [GrantAccess(r[0], r[1], r[2]) for r in rows]
