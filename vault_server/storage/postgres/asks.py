"""Citizens' asks (SPEC §Asks): an owner's sealed ask to an issuer account, and its link to
the certified deposit that fulfils it."""

from __future__ import annotations

import asyncpg

from vault_core.errors import AlreadyExists, BadRequest, Conflict, QuotaExceeded

from ..base import AskRow
from .core import PgCore, Record, _lock_account

_ASK_SELECT = (
    "SELECT k.*, s.handle AS sender_handle, r.handle AS recipient_handle FROM asks k"
    " JOIN accounts s ON s.id = k.sender_id JOIN accounts r ON r.id = k.recipient_id"
)


def _ask(r: Record) -> AskRow:
    reply = r["reply"]
    return AskRow(
        id=r["id"],
        sender_id=r["sender_id"],
        sender_handle=r["sender_handle"],
        recipient_id=r["recipient_id"],
        recipient_handle=r["recipient_handle"],
        envelope=bytes(r["envelope"]),
        own_copy=bytes(r["own_copy"]),
        created_at=r["created_at"],
        deposit_id=r["deposit_id"],
        reply=bytes(reply) if reply is not None else None,
        fulfilled_at=r["fulfilled_at"],
    )


class AsksPart(PgCore):
    async def add_ask(self, ask: AskRow, max_open: int) -> None:
        k = ask
        async with self._tx() as c:
            # The sender's row lock makes count-then-insert atomic across processes.
            await _lock_account(c, k.sender_id)
            n = await c.fetchval(
                "SELECT COUNT(*) FROM asks WHERE sender_id=$1 AND deposit_id IS NULL",
                k.sender_id,
            )
            if int(n) >= max_open:
                raise QuotaExceeded("too many asks waiting for an answer")
            try:
                await c.execute(
                    "INSERT INTO asks (id, sender_id, recipient_id, envelope, own_copy,"
                    " created_at) VALUES ($1,$2,$3,$4,$5,$6)",
                    k.id,
                    k.sender_id,
                    k.recipient_id,
                    k.envelope,
                    k.own_copy,
                    k.created_at,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("ask id already exists") from None

    async def list_asks(self, account_id: int, sent: bool) -> list[AskRow]:
        column = "sender_id" if sent else "recipient_id"
        rows = await self.pool.fetch(
            f"{_ASK_SELECT} WHERE k.{column}=$1 ORDER BY k.created_at, k.id", account_id
        )
        return [_ask(r) for r in rows]

    async def fulfil_ask(
        self, recipient_id: int, ask_id: str, deposit_id: str, reply: bytes, now: int
    ) -> AskRow | None:
        async with self._tx() as c:
            # The ask's row lock: two concurrent fulfilments cannot both see it open.
            row = await c.fetchrow(
                "SELECT sender_id, deposit_id FROM asks WHERE id=$1 AND recipient_id=$2 FOR UPDATE",
                ask_id,
                recipient_id,
            )
            if row is None:
                return None
            if row["deposit_id"] is not None:
                raise Conflict("this ask is already fulfilled")
            # FOR SHARE: the owner accepting (deleting) the deposit meanwhile waits for the link
            d = await c.fetchval(
                "SELECT 1 FROM deposits WHERE id=$1 AND sender_id=$2 AND recipient_id=$3 FOR SHARE",
                deposit_id,
                recipient_id,
                row["sender_id"],
            )
            if d is None:
                raise BadRequest("unknown deposit")
            await c.execute(
                "UPDATE asks SET deposit_id=$1, reply=$2, fulfilled_at=$3 WHERE id=$4",
                deposit_id,
                reply,
                now,
                ask_id,
            )
            r = await c.fetchrow(_ASK_SELECT + " WHERE k.id=$1", ask_id)
            return _ask(r)
