"""Inbox deposits, document requests and housekeeping."""

from __future__ import annotations

import asyncpg

from vault_core.errors import AlreadyExists, BadRequest, QuotaExceeded

from ..base import Deposit, DepositInfo, DocRequest
from .core import _REQUEST_SELECT, PgCore, _lock_account, _request, _rowcount


class InboxPart(PgCore):
    # -- inbox and requests -----------------------------------------------------------
    async def add_deposit(self, deposit: Deposit, max_items: int) -> None:
        d = deposit
        async with self._tx() as c:
            # The recipient's lock makes count-then-insert atomic across processes.
            await _lock_account(c, d.recipient_id)
            n = await c.fetchval(
                "SELECT COUNT(*) FROM deposits WHERE recipient_id=$1", d.recipient_id
            )
            if int(n) >= max_items:
                raise QuotaExceeded("inbox full")
            try:
                await c.execute(
                    "INSERT INTO deposits (id, recipient_id, sender_id, envelope, received_at)"
                    " VALUES ($1,$2,$3,$4,$5)",
                    d.id,
                    d.recipient_id,
                    d.sender_id,
                    d.envelope,
                    d.received_at,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("deposit id already exists") from None

    async def list_deposits(self, recipient_id: int) -> list[DepositInfo]:
        rows = await self.pool.fetch(
            "SELECT d.id, a.handle, d.received_at, octet_length(d.envelope) FROM deposits d"
            " JOIN accounts a ON a.id = d.sender_id WHERE d.recipient_id=$1"
            " ORDER BY d.received_at, d.id",
            recipient_id,
        )
        return [DepositInfo(r[0], r[1], r[2], r[3]) for r in rows]

    async def get_deposit(self, recipient_id: int, deposit_id: str) -> Deposit | None:
        r = await self.pool.fetchrow(
            "SELECT d.*, a.handle AS sender_handle FROM deposits d"
            " JOIN accounts a ON a.id = d.sender_id WHERE d.id=$1 AND d.recipient_id=$2",
            deposit_id,
            recipient_id,
        )
        if r is None:
            return None
        return Deposit(
            r["id"],
            r["recipient_id"],
            r["sender_id"],
            r["sender_handle"],
            bytes(r["envelope"]),
            r["received_at"],
        )

    async def delete_deposit(self, recipient_id: int, deposit_id: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM deposits WHERE id=$1 AND recipient_id=$2", deposit_id, recipient_id
        )
        return _rowcount(status) == 1

    async def add_request(self, request: DocRequest) -> None:
        q = request
        try:
            await self.pool.execute(
                "INSERT INTO requests (id, recipient_id, sender_id, envelope, due_at, created_at)"
                " VALUES ($1,$2,$3,$4,$5,$6)",
                q.id,
                q.recipient_id,
                q.sender_id,
                q.envelope,
                q.due_at,
                q.created_at,
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("request id already exists") from None

    async def list_requests(self, account_id: int, sent: bool) -> list[DocRequest]:
        column = "sender_id" if sent else "recipient_id"
        rows = await self.pool.fetch(
            f"{_REQUEST_SELECT} WHERE q.{column}=$1 ORDER BY q.created_at, q.id", account_id
        )
        return [_request(r) for r in rows]

    async def answer_request(
        self, recipient_id: int, request_id: str, grant_id: str, envelope: bytes | None, now: int
    ) -> DocRequest | None:
        async with self._tx() as c:
            g = await c.fetchval(
                "SELECT 1 FROM grants WHERE id=$1 AND owner_id=$2", grant_id, recipient_id
            )
            if g is None:
                raise BadRequest("unknown grant")
            status = await c.execute(
                "UPDATE requests SET answer_grant_id=$1, answer_envelope=$2, answered_at=$3"
                " WHERE id=$4 AND recipient_id=$5",
                grant_id,
                envelope,
                now,
                request_id,
                recipient_id,
            )
            if _rowcount(status) != 1:
                return None
            r = await c.fetchrow(_REQUEST_SELECT + " WHERE q.id=$1", request_id)
            return _request(r)

    # -- housekeeping -----------------------------------------------------------------
    async def purge_expired(self, now: int, rate_window: int) -> None:
        async with self._tx() as c:
            await c.execute("DELETE FROM challenges WHERE expires_at<=$1", now)
            await c.execute("DELETE FROM sessions WHERE expires_at<=$1", now)
            await c.execute("DELETE FROM grant_sessions WHERE expires_at<=$1", now)
            await c.execute(
                "DELETE FROM grant_blobs WHERE grant_id IN"
                " (SELECT id FROM grants WHERE expires_at<=$1)",
                now,
            )
            await c.execute("DELETE FROM rate_events WHERE at<=$1", now - rate_window)
