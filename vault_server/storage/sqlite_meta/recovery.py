"""Trusted-contact recovery: contact sets, their sealed shares, recoveries and approvals."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from vault_core.errors import AlreadyExists, RateLimited

from ..base import ApprovalRow, RecoveryRow, RecoverySetRow, RecoveryShareRow
from .core import Conn, SqliteCore

_RECOVERY_SELECT = (
    "SELECT r.*, a.handle AS account_handle FROM recoveries r"
    " JOIN accounts a ON a.id = r.account_id"
)


def _recovery(r: sqlite3.Row) -> RecoveryRow:
    return RecoveryRow(
        id=r["id"],
        account_id=r["account_id"],
        account_handle=r["account_handle"],
        set_id=r["set_id"],
        request=r["request"],
        created_at=r["created_at"],
        state=r["state"],
        veto=r["veto"],
        veto_sig=r["veto_sig"],
        closed_at=r["closed_at"],
    )


def _set(r: sqlite3.Row) -> RecoverySetRow:
    return RecoverySetRow(
        account_id=r["account_id"],
        set_id=r["set_id"],
        statement=r["statement"],
        sig=r["sig"],
        bundle=r["bundle"],
        login_pk=r["login_pk"],
        threshold=r["threshold"],
        delay=r["delay"],
        created_at=r["created_at"],
    )


class RecoveryPart(SqliteCore):
    async def put_recovery_set(
        self, row: RecoverySetRow, shares: Sequence[RecoveryShareRow], now: int
    ) -> None:
        def run(c: Conn) -> None:
            old = c.execute(
                "SELECT set_id FROM recovery_sets WHERE account_id=?", (row.account_id,)
            ).fetchone()
            if old is not None:
                c.execute("DELETE FROM recovery_shares WHERE set_id=?", (old[0],))
                c.execute(
                    "UPDATE recoveries SET state='cancelled', closed_at=?"
                    " WHERE set_id=? AND state='pending'",
                    (now, old[0]),
                )
                c.execute("DELETE FROM recovery_sets WHERE account_id=?", (row.account_id,))
            try:
                c.execute(
                    "INSERT INTO recovery_sets (account_id, set_id, statement, sig, bundle,"
                    " login_pk, threshold, delay, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        row.account_id,
                        row.set_id,
                        row.statement,
                        row.sig,
                        row.bundle,
                        row.login_pk,
                        row.threshold,
                        row.delay,
                        row.created_at,
                    ),
                )
                c.executemany(
                    "INSERT INTO recovery_shares (set_id, contact_id, x, sealed) VALUES (?,?,?,?)",
                    [(s.set_id, s.contact_id, s.x, s.sealed) for s in shares],
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("recovery set id already exists") from None

        await self._write(run)

    async def get_recovery_set(self, account_id: int) -> RecoverySetRow | None:
        def run(c: Conn) -> RecoverySetRow | None:
            r = c.execute("SELECT * FROM recovery_sets WHERE account_id=?", (account_id,))
            row = r.fetchone()
            return _set(row) if row is not None else None

        return await self._read(run)

    async def get_recovery_share(self, set_id: str, contact_id: int) -> RecoveryShareRow | None:
        def run(c: Conn) -> RecoveryShareRow | None:
            r = c.execute(
                "SELECT s.*, a.handle FROM recovery_shares s JOIN accounts a ON a.id = s.contact_id"
                " WHERE s.set_id=? AND s.contact_id=?",
                (set_id, contact_id),
            ).fetchone()
            if r is None:
                return None
            return RecoveryShareRow(r["set_id"], r["contact_id"], r["handle"], r["x"], r["sealed"])

        return await self._read(run)

    async def create_recovery(self, row: RecoveryRow, max_pending: int) -> None:
        def run(c: Conn) -> None:
            n = c.execute(
                "SELECT COUNT(*) FROM recoveries WHERE account_id=? AND state='pending'",
                (row.account_id,),
            ).fetchone()[0]
            if int(n) >= max_pending:
                raise RateLimited("too many pending recoveries for this account")
            try:
                c.execute(
                    "INSERT INTO recoveries (id, account_id, set_id, request, created_at, state)"
                    " VALUES (?,?,?,?,?,'pending')",
                    (row.id, row.account_id, row.set_id, row.request, row.created_at),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("recovery id already exists") from None

        await self._write(run)

    async def get_recovery(self, recovery_id: str) -> RecoveryRow | None:
        def run(c: Conn) -> RecoveryRow | None:
            r = c.execute(_RECOVERY_SELECT + " WHERE r.id=?", (recovery_id,)).fetchone()
            return _recovery(r) if r is not None else None

        return await self._read(run)

    async def list_recoveries(self, account_id: int) -> list[RecoveryRow]:
        def run(c: Conn) -> list[RecoveryRow]:
            rows = c.execute(
                _RECOVERY_SELECT + " WHERE r.account_id=? ORDER BY r.created_at, r.id",
                (account_id,),
            ).fetchall()
            return [_recovery(r) for r in rows]

        return await self._read(run)

    async def list_contact_recoveries(self, contact_id: int) -> list[RecoveryRow]:
        def run(c: Conn) -> list[RecoveryRow]:
            rows = c.execute(
                _RECOVERY_SELECT + " JOIN recovery_shares s ON s.set_id = r.set_id"
                " WHERE s.contact_id=? AND r.state='pending' ORDER BY r.created_at, r.id",
                (contact_id,),
            ).fetchall()
            return [_recovery(r) for r in rows]

        return await self._read(run)

    async def add_recovery_approval(self, row: ApprovalRow) -> bool:
        def run(c: Conn) -> bool:
            r = c.execute("SELECT state FROM recoveries WHERE id=?", (row.recovery_id,)).fetchone()
            if r is None or r[0] != "pending":
                return False
            try:
                c.execute(
                    "INSERT INTO recovery_approvals (recovery_id, contact_id, statement, sig,"
                    " resealed, received_at) VALUES (?,?,?,?,?,?)",
                    (
                        row.recovery_id,
                        row.contact_id,
                        row.statement,
                        row.sig,
                        row.resealed,
                        row.received_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("this contact already approved this recovery") from None
            return True

        return await self._write(run)

    async def list_recovery_approvals(self, recovery_id: str) -> list[ApprovalRow]:
        def run(c: Conn) -> list[ApprovalRow]:
            rows = c.execute(
                "SELECT p.*, a.handle FROM recovery_approvals p"
                " JOIN accounts a ON a.id = p.contact_id WHERE p.recovery_id=?"
                " ORDER BY p.received_at, a.handle",
                (recovery_id,),
            ).fetchall()
            return [
                ApprovalRow(
                    r["recovery_id"],
                    r["contact_id"],
                    r["handle"],
                    r["statement"],
                    r["sig"],
                    r["resealed"],
                    r["received_at"],
                )
                for r in rows
            ]

        return await self._read(run)

    async def close_recovery(
        self,
        recovery_id: str,
        state: str,
        now: int,
        veto: bytes | None = None,
        veto_sig: bytes | None = None,
    ) -> bool:
        def run(c: Conn) -> bool:
            cur = c.execute(
                "UPDATE recoveries SET state=?, closed_at=?, veto=?, veto_sig=?"
                " WHERE id=? AND state='pending'",
                (state, now, veto, veto_sig, recovery_id),
            )
            return cur.rowcount == 1

        return await self._write(run)
