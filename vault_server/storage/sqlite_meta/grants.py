"""Grants, their blob sets, sessions and access log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from vault_core.errors import AlreadyExists, GrantUnavailable, NotFound

from ..base import (
    Grant,
    GrantAccess,
    GrantListItem,
    GrantSession,
)
from .core import (
    _GRANT_SELECT,
    Conn,
    SqliteCore,
    _check_present,
    _grant,
)


class GrantsPart(SqliteCore):
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
            # a revoked grant serves nothing again: its blob set no longer holds blobs for GC
            c.execute("DELETE FROM grant_blobs WHERE grant_id=?", (grant_id,))
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
