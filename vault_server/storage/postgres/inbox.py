"""Inbox deposits, document requests and housekeeping."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vault_core.errors import AlreadyExists, BadRequest, QuotaExceeded

from ..base import Deposit, DepositInfo, DepositOutcome, DocRequest
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

    async def add_deposits(
        self, deposits: Sequence[Deposit], max_items: int
    ) -> list[DepositOutcome]:
        if not deposits:
            return []
        async with self._tx() as c:
            # The recipients' locks (in id order: no deadlock between two batches) make the
            # counts and inserts atomic across processes, as in add_deposit.
            recipients = sorted({d.recipient_id for d in deposits})
            for rid in recipients:
                await _lock_account(c, rid)
            rows = await c.fetch(
                "SELECT recipient_id, COUNT(*) FROM deposits"
                " WHERE recipient_id = ANY($1::bigint[]) GROUP BY recipient_id",
                recipients,
            )
            held = {rid: 0 for rid in recipients}
            held.update({int(r[0]): int(r[1]) for r in rows})
            taken = {
                r[0]
                for r in await c.fetch(
                    "SELECT id FROM deposits WHERE id = ANY($1::text[])",
                    sorted({d.id for d in deposits}),
                )
            }
            out: list[DepositOutcome] = []
            new: list[Deposit] = []
            for d in deposits:
                if d.id in taken:
                    out.append("exists")
                elif held[d.recipient_id] >= max_items:
                    out.append("inbox_full")
                else:
                    taken.add(d.id)
                    held[d.recipient_id] += 1
                    new.append(d)
                    out.append("created")
            if new:
                # ON CONFLICT: an id another recipient's batch took meanwhile (never under
                # these locks) is skipped rather than aborting the whole transaction
                await c.executemany(
                    "INSERT INTO deposits (id, recipient_id, sender_id, envelope, received_at)"
                    " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (id) DO NOTHING",
                    [(d.id, d.recipient_id, d.sender_id, d.envelope, d.received_at) for d in new],
                )
            return out

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
            # an ephemeral device left idle (no live session) is revoked: it never gets another
            await c.execute(
                "UPDATE devices SET revoked_at=$1 WHERE idle_timeout IS NOT NULL"
                " AND revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM sessions s"
                " WHERE s.device_id = devices.id AND s.expires_at>$1)",
                now,
            )
            await c.execute("DELETE FROM sessions WHERE expires_at<=$1", now)
            await c.execute("DELETE FROM grant_sessions WHERE expires_at<=$1", now)
            await c.execute(
                "DELETE FROM grant_blobs WHERE grant_id IN"
                " (SELECT id FROM grants WHERE expires_at<=$1)",
                now,
            )
            await c.execute("DELETE FROM rate_events WHERE at<=$1", now - rate_window)
