"""Trusted-contact recovery: contact sets, their sealed shares, recoveries and approvals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from vault_core.errors import AlreadyExists, RateLimited

from ..base import ApprovalRow, RecoveryRow, RecoverySetRow, RecoveryShareRow
from .core import PgCore, _lock_account, _rowcount

_RECOVERY_SELECT = (
    "SELECT r.*, a.handle AS account_handle FROM recoveries r"
    " JOIN accounts a ON a.id = r.account_id"
)


def _b(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _recovery(r: Any) -> RecoveryRow:
    return RecoveryRow(
        id=r["id"],
        account_id=r["account_id"],
        account_handle=r["account_handle"],
        set_id=r["set_id"],
        request=bytes(r["request"]),
        created_at=r["created_at"],
        state=r["state"],
        veto=_b(r["veto"]),
        veto_sig=_b(r["veto_sig"]),
        closed_at=r["closed_at"],
    )


class RecoveryPart(PgCore):
    async def put_recovery_set(
        self, row: RecoverySetRow, shares: Sequence[RecoveryShareRow], now: int
    ) -> None:
        async with self._tx() as c:
            await _lock_account(c, row.account_id)
            old = await c.fetchval(
                "SELECT set_id FROM recovery_sets WHERE account_id=$1", row.account_id
            )
            if old is not None:
                await c.execute("DELETE FROM recovery_shares WHERE set_id=$1", old)
                await c.execute(
                    "UPDATE recoveries SET state='cancelled', closed_at=$1"
                    " WHERE set_id=$2 AND state='pending'",
                    now,
                    old,
                )
                await c.execute("DELETE FROM recovery_sets WHERE account_id=$1", row.account_id)
            try:
                await c.execute(
                    "INSERT INTO recovery_sets (account_id, set_id, statement, sig, bundle,"
                    " login_pk, threshold, delay, created_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                    row.account_id,
                    row.set_id,
                    row.statement,
                    row.sig,
                    row.bundle,
                    row.login_pk,
                    row.threshold,
                    row.delay,
                    row.created_at,
                )
                await c.executemany(
                    "INSERT INTO recovery_shares (set_id, contact_id, x, sealed)"
                    " VALUES ($1,$2,$3,$4)",
                    [(s.set_id, s.contact_id, s.x, s.sealed) for s in shares],
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("recovery set id already exists") from None

    async def get_recovery_set(self, account_id: int) -> RecoverySetRow | None:
        r = await self.pool.fetchrow("SELECT * FROM recovery_sets WHERE account_id=$1", account_id)
        if r is None:
            return None
        return RecoverySetRow(
            account_id=r["account_id"],
            set_id=r["set_id"],
            statement=bytes(r["statement"]),
            sig=bytes(r["sig"]),
            bundle=bytes(r["bundle"]),
            login_pk=bytes(r["login_pk"]),
            threshold=r["threshold"],
            delay=r["delay"],
            created_at=r["created_at"],
        )

    async def get_recovery_share(self, set_id: str, contact_id: int) -> RecoveryShareRow | None:
        r = await self.pool.fetchrow(
            "SELECT s.*, a.handle FROM recovery_shares s JOIN accounts a ON a.id = s.contact_id"
            " WHERE s.set_id=$1 AND s.contact_id=$2",
            set_id,
            contact_id,
        )
        if r is None:
            return None
        return RecoveryShareRow(
            r["set_id"], r["contact_id"], r["handle"], r["x"], bytes(r["sealed"])
        )

    async def create_recovery(self, row: RecoveryRow, max_pending: int) -> None:
        async with self._tx() as c:
            await _lock_account(c, row.account_id)
            n = await c.fetchval(
                "SELECT COUNT(*) FROM recoveries WHERE account_id=$1 AND state='pending'",
                row.account_id,
            )
            if int(n) >= max_pending:
                raise RateLimited("too many pending recoveries for this account")
            try:
                await c.execute(
                    "INSERT INTO recoveries (id, account_id, set_id, request, created_at, state)"
                    " VALUES ($1,$2,$3,$4,$5,'pending')",
                    row.id,
                    row.account_id,
                    row.set_id,
                    row.request,
                    row.created_at,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("recovery id already exists") from None

    async def get_recovery(self, recovery_id: str) -> RecoveryRow | None:
        r = await self.pool.fetchrow(_RECOVERY_SELECT + " WHERE r.id=$1", recovery_id)
        return _recovery(r) if r is not None else None

    async def list_recoveries(self, account_id: int) -> list[RecoveryRow]:
        rows = await self.pool.fetch(
            _RECOVERY_SELECT + " WHERE r.account_id=$1 ORDER BY r.created_at, r.id", account_id
        )
        return [_recovery(r) for r in rows]

    async def list_contact_recoveries(self, contact_id: int) -> list[RecoveryRow]:
        rows = await self.pool.fetch(
            _RECOVERY_SELECT + " JOIN recovery_shares s ON s.set_id = r.set_id"
            " WHERE s.contact_id=$1 AND r.state='pending' ORDER BY r.created_at, r.id",
            contact_id,
        )
        return [_recovery(r) for r in rows]

    async def add_recovery_approval(self, row: ApprovalRow) -> bool:
        async with self._tx() as c:
            state = await c.fetchval(
                "SELECT state FROM recoveries WHERE id=$1 FOR UPDATE", row.recovery_id
            )
            if state != "pending":
                return False
            try:
                await c.execute(
                    "INSERT INTO recovery_approvals (recovery_id, contact_id, statement, sig,"
                    " resealed, received_at) VALUES ($1,$2,$3,$4,$5,$6)",
                    row.recovery_id,
                    row.contact_id,
                    row.statement,
                    row.sig,
                    row.resealed,
                    row.received_at,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("this contact already approved this recovery") from None
            return True

    async def list_recovery_approvals(self, recovery_id: str) -> list[ApprovalRow]:
        rows = await self.pool.fetch(
            "SELECT p.*, a.handle FROM recovery_approvals p"
            " JOIN accounts a ON a.id = p.contact_id WHERE p.recovery_id=$1"
            " ORDER BY p.received_at, a.handle",
            recovery_id,
        )
        return [
            ApprovalRow(
                r["recovery_id"],
                r["contact_id"],
                r["handle"],
                bytes(r["statement"]),
                bytes(r["sig"]),
                bytes(r["resealed"]),
                r["received_at"],
            )
            for r in rows
        ]

    async def close_recovery(
        self,
        recovery_id: str,
        state: str,
        now: int,
        veto: bytes | None = None,
        veto_sig: bytes | None = None,
    ) -> bool:
        status = await self.pool.execute(
            "UPDATE recoveries SET state=$1, closed_at=$2, veto=$3, veto_sig=$4"
            " WHERE id=$5 AND state='pending'",
            state,
            now,
            veto,
            veto_sig,
            recovery_id,
        )
        return _rowcount(status) == 1
