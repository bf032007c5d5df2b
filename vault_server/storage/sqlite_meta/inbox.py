"""Inbox deposits, document requests and housekeeping."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from vault_core.errors import AlreadyExists, BadRequest, QuotaExceeded

from ..base import (
    Deposit,
    DepositInfo,
    DepositOutcome,
    DocRequest,
)
from .core import (
    _REQUEST_SELECT,
    Conn,
    SqliteCore,
    _request,
)


class InboxPart(SqliteCore):
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

    async def add_deposits(
        self, deposits: Sequence[Deposit], max_items: int
    ) -> list[DepositOutcome]:
        def run(c: Conn) -> list[DepositOutcome]:
            held: dict[int, int] = {}  # per recipient: deposits held, counting these
            out: list[DepositOutcome] = []
            for d in deposits:
                if d.recipient_id not in held:
                    r = c.execute(
                        "SELECT COUNT(*) FROM deposits WHERE recipient_id=?", (d.recipient_id,)
                    ).fetchone()
                    held[d.recipient_id] = int(r[0])
                if c.execute("SELECT 1 FROM deposits WHERE id=?", (d.id,)).fetchone():
                    out.append("exists")
                    continue
                if held[d.recipient_id] >= max_items:
                    out.append("inbox_full")
                    continue
                c.execute(
                    "INSERT INTO deposits (id, recipient_id, sender_id, envelope, received_at)"
                    " VALUES (?,?,?,?,?)",
                    (d.id, d.recipient_id, d.sender_id, d.envelope, d.received_at),
                )
                held[d.recipient_id] += 1
                out.append("created")
            return out

        if not deposits:
            return []
        return await self._write(run)

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
            # an ephemeral device left idle (no live session) is revoked: it never gets another
            c.execute(
                "UPDATE devices SET revoked_at=? WHERE idle_timeout IS NOT NULL"
                " AND revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM sessions s"
                " WHERE s.device_id = devices.id AND s.expires_at>?)",
                (now, now),
            )
            c.execute("DELETE FROM sessions WHERE expires_at<=?", (now,))
            c.execute("DELETE FROM grant_sessions WHERE expires_at<=?", (now,))
            c.execute(
                "DELETE FROM grant_blobs WHERE grant_id IN"
                " (SELECT id FROM grants WHERE expires_at<=?)",
                (now,),
            )
            c.execute("DELETE FROM rate_events WHERE at<=?", (now - rate_window,))

        await self._write(run)
