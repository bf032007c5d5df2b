"""Helper mandates (SPEC §Mandates): who may act for whom, of which kinds, until when, and
the requests and deposits the owner's devices forwarded to the helper."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vault_core.errors import AlreadyExists, QuotaExceeded

from ..base import MandateRow
from .core import PgCore, Record, _lock_account

_SELECT = (
    "SELECT m.*, o.handle AS owner_handle, h.handle AS helper_handle FROM mandates m"
    " JOIN accounts o ON o.id = m.owner_id JOIN accounts h ON h.id = m.helper_id"
)


def _mandate(r: Record) -> MandateRow:
    return MandateRow(
        id=r["id"],
        owner_id=r["owner_id"],
        owner_handle=r["owner_handle"],
        helper_id=r["helper_id"],
        helper_handle=r["helper_handle"],
        kinds=tuple(r["kinds"].split(",")),
        grant_id=r["grant_id"],
        copy=bytes(r["copy"]),
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
    )


class MandatesPart(PgCore):
    async def add_mandate(self, row: MandateRow, max_active: int) -> None:
        m = row
        async with self._tx() as c:
            # The owner's row lock makes count-then-insert atomic across processes.
            await _lock_account(c, m.owner_id)
            n = await c.fetchval(
                "SELECT COUNT(*) FROM mandates WHERE owner_id=$1 AND revoked_at IS NULL"
                " AND expires_at>$2",
                m.owner_id,
                m.created_at,
            )
            if int(n) >= max_active:
                raise QuotaExceeded("too many mandates in force")
            try:
                await c.execute(
                    "INSERT INTO mandates (id, owner_id, helper_id, kinds, grant_id, copy,"
                    " created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                    m.id,
                    m.owner_id,
                    m.helper_id,
                    ",".join(m.kinds),
                    m.grant_id,
                    m.copy,
                    m.created_at,
                    m.expires_at,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("mandate id already exists") from None

    async def get_mandate(self, mandate_id: str) -> MandateRow | None:
        r = await self.pool.fetchrow(_SELECT + " WHERE m.id=$1", mandate_id)
        return _mandate(r) if r is not None else None

    async def list_mandates(self, account_id: int, given: bool) -> list[MandateRow]:
        column = "owner_id" if given else "helper_id"
        rows = await self.pool.fetch(
            f"{_SELECT} WHERE m.{column}=$1 ORDER BY m.created_at, m.id", account_id
        )
        return [_mandate(r) for r in rows]

    async def revoke_mandate(self, owner_id: int, mandate_id: str, now: int) -> MandateRow | None:
        async with self._tx() as c:
            done = await c.fetchval(
                "UPDATE mandates SET revoked_at=COALESCE(revoked_at, $1) WHERE id=$2"
                " AND owner_id=$3 RETURNING id",
                now,
                mandate_id,
                owner_id,
            )
            if done is None:
                return None
            await c.execute("DELETE FROM mandate_forwards WHERE mandate_id=$1", mandate_id)
            r = await c.fetchrow(_SELECT + " WHERE m.id=$1", mandate_id)
            return _mandate(r)

    async def put_forwards(
        self, mandate_id: str, items: Sequence[tuple[str, str, bytes]], now: int
    ) -> int:
        async with self._tx() as c:
            # FOR SHARE: a revocation meanwhile waits, and then finds every forward to drop
            live = await c.fetchval(
                "SELECT 1 FROM mandates WHERE id=$1 AND revoked_at IS NULL FOR SHARE", mandate_id
            )
            if live is None:
                return 0
            stored = 0
            for kind, item_id, forward in items:
                got = await c.fetchval(
                    "INSERT INTO mandate_forwards (mandate_id, kind, item_id, forward,"
                    " created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING RETURNING 1",
                    mandate_id,
                    kind,
                    item_id,
                    forward,
                    now,
                )
                stored += 1 if got is not None else 0
            return stored

    async def list_forwards(self, mandate_id: str, kind: str) -> dict[str, bytes]:
        rows = await self.pool.fetch(
            "SELECT item_id, forward FROM mandate_forwards WHERE mandate_id=$1 AND kind=$2",
            mandate_id,
            kind,
        )
        return {r["item_id"]: bytes(r["forward"]) for r in rows}
