"""Helper mandates (SPEC §Mandates): who may act for whom, of which kinds, until when, and
the requests and deposits the owner's devices forwarded to the helper."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from vault_core.errors import AlreadyExists, QuotaExceeded

from ..base import MandateRow
from .core import Conn, SqliteCore

_SELECT = (
    "SELECT m.*, o.handle AS owner_handle, h.handle AS helper_handle FROM mandates m"
    " JOIN accounts o ON o.id = m.owner_id JOIN accounts h ON h.id = m.helper_id"
)


def _mandate(r: sqlite3.Row) -> MandateRow:
    return MandateRow(
        id=r["id"],
        owner_id=r["owner_id"],
        owner_handle=r["owner_handle"],
        helper_id=r["helper_id"],
        helper_handle=r["helper_handle"],
        kinds=tuple(r["kinds"].split(",")),
        grant_id=r["grant_id"],
        copy=r["copy"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
    )


class MandatesPart(SqliteCore):
    async def add_mandate(self, row: MandateRow, max_active: int) -> None:
        m = row

        def run(c: Conn) -> None:
            n = c.execute(
                "SELECT COUNT(*) FROM mandates WHERE owner_id=? AND revoked_at IS NULL"
                " AND expires_at>?",
                (m.owner_id, m.created_at),
            ).fetchone()
            if int(n[0]) >= max_active:
                raise QuotaExceeded("too many mandates in force")
            try:
                c.execute(
                    "INSERT INTO mandates (id, owner_id, helper_id, kinds, grant_id, copy,"
                    " created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        m.id,
                        m.owner_id,
                        m.helper_id,
                        ",".join(m.kinds),
                        m.grant_id,
                        m.copy,
                        m.created_at,
                        m.expires_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("mandate id already exists") from None

        await self._write(run)

    async def get_mandate(self, mandate_id: str) -> MandateRow | None:
        def run(c: Conn) -> MandateRow | None:
            r = c.execute(_SELECT + " WHERE m.id=?", (mandate_id,)).fetchone()
            return _mandate(r) if r is not None else None

        return await self._read(run)

    async def list_mandates(self, account_id: int, given: bool) -> list[MandateRow]:
        column = "owner_id" if given else "helper_id"

        def run(c: Conn) -> list[MandateRow]:
            rows = c.execute(
                f"{_SELECT} WHERE m.{column}=? ORDER BY m.created_at, m.id", (account_id,)
            ).fetchall()
            return [_mandate(r) for r in rows]

        return await self._read(run)

    async def revoke_mandate(self, owner_id: int, mandate_id: str, now: int) -> MandateRow | None:
        def run(c: Conn) -> MandateRow | None:
            cur = c.execute(
                "UPDATE mandates SET revoked_at=COALESCE(revoked_at, ?) WHERE id=? AND owner_id=?",
                (now, mandate_id, owner_id),
            )
            if cur.rowcount != 1:
                return None
            c.execute("DELETE FROM mandate_forwards WHERE mandate_id=?", (mandate_id,))
            return _mandate(c.execute(_SELECT + " WHERE m.id=?", (mandate_id,)).fetchone())

        return await self._write(run)

    async def put_forwards(
        self, mandate_id: str, items: Sequence[tuple[str, str, bytes]], now: int
    ) -> int:
        def run(c: Conn) -> int:
            live = c.execute(
                "SELECT 1 FROM mandates WHERE id=? AND revoked_at IS NULL", (mandate_id,)
            ).fetchone()
            if live is None:
                return 0
            stored = 0
            for kind, item_id, forward in items:
                cur = c.execute(
                    "INSERT OR IGNORE INTO mandate_forwards (mandate_id, kind, item_id, forward,"
                    " created_at) VALUES (?,?,?,?,?)",
                    (mandate_id, kind, item_id, forward, now),
                )
                stored += cur.rowcount
            return stored

        return await self._write(run)

    async def list_forwards(self, mandate_id: str, kind: str) -> dict[str, bytes]:
        def run(c: Conn) -> dict[str, bytes]:
            rows = c.execute(
                "SELECT item_id, forward FROM mandate_forwards WHERE mandate_id=? AND kind=?",
                (mandate_id, kind),
            ).fetchall()
            return {r["item_id"]: r["forward"] for r in rows}

        return await self._read(run)
