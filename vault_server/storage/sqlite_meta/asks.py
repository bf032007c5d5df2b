"""Citizens' asks (SPEC §Asks): an owner's sealed ask to an issuer account, and its link to
the certified deposit that fulfils it."""

from __future__ import annotations

import sqlite3

from vault_core.errors import AlreadyExists, BadRequest, Conflict, QuotaExceeded

from ..base import AskRow
from .core import Conn, SqliteCore

_ASK_SELECT = (
    "SELECT k.*, s.handle AS sender_handle, r.handle AS recipient_handle FROM asks k"
    " JOIN accounts s ON s.id = k.sender_id JOIN accounts r ON r.id = k.recipient_id"
)


def _ask(r: sqlite3.Row) -> AskRow:
    return AskRow(
        id=r["id"],
        sender_id=r["sender_id"],
        sender_handle=r["sender_handle"],
        recipient_id=r["recipient_id"],
        recipient_handle=r["recipient_handle"],
        envelope=r["envelope"],
        own_copy=r["own_copy"],
        created_at=r["created_at"],
        deposit_id=r["deposit_id"],
        reply=r["reply"],
        fulfilled_at=r["fulfilled_at"],
    )


class AsksPart(SqliteCore):
    async def add_ask(self, ask: AskRow, max_open: int) -> None:
        k = ask

        def run(c: Conn) -> None:
            r = c.execute(
                "SELECT COUNT(*) FROM asks WHERE sender_id=? AND deposit_id IS NULL",
                (k.sender_id,),
            ).fetchone()
            if int(r[0]) >= max_open:
                raise QuotaExceeded("too many asks waiting for an answer")
            try:
                c.execute(
                    "INSERT INTO asks (id, sender_id, recipient_id, envelope, own_copy,"
                    " created_at) VALUES (?,?,?,?,?,?)",
                    (k.id, k.sender_id, k.recipient_id, k.envelope, k.own_copy, k.created_at),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists("ask id already exists") from None

        await self._write(run)

    async def list_asks(self, account_id: int, sent: bool) -> list[AskRow]:
        column = "sender_id" if sent else "recipient_id"

        def run(c: Conn) -> list[AskRow]:
            rows = c.execute(
                f"{_ASK_SELECT} WHERE k.{column}=? ORDER BY k.created_at, k.id", (account_id,)
            ).fetchall()
            return [_ask(r) for r in rows]

        return await self._read(run)

    async def fulfil_ask(
        self, recipient_id: int, ask_id: str, deposit_id: str, reply: bytes, now: int
    ) -> AskRow | None:
        def run(c: Conn) -> AskRow | None:
            row = c.execute(
                "SELECT sender_id, deposit_id FROM asks WHERE id=? AND recipient_id=?",
                (ask_id, recipient_id),
            ).fetchone()
            if row is None:
                return None
            if row["deposit_id"] is not None:
                raise Conflict("this ask is already fulfilled")
            d = c.execute(
                "SELECT 1 FROM deposits WHERE id=? AND sender_id=? AND recipient_id=?",
                (deposit_id, recipient_id, row["sender_id"]),
            ).fetchone()
            if d is None:
                raise BadRequest("unknown deposit")
            c.execute(
                "UPDATE asks SET deposit_id=?, reply=?, fulfilled_at=? WHERE id=?",
                (deposit_id, reply, now, ask_id),
            )
            return _ask(c.execute(_ASK_SELECT + " WHERE k.id=?", (ask_id,)).fetchone())

        return await self._write(run)
