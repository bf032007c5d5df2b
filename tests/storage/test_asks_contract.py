"""Contract of the citizens' asks part of :class:`MetadataStore` (issue 20), over every
backend: an ask is stored once and listed on both sides with its handles; a sender holds at
most ``max_open`` asks not yet fulfilled; a fulfilment links only a deposit the issuer made to
the asker that waits in the asker's inbox, only by the ask's recipient, only once, and writes
nothing when refused."""

from __future__ import annotations

import pytest
from helpers_storage import T0, hex_id, new_account

from vault_core.errors import AlreadyExists, BadRequest, Conflict, QuotaExceeded
from vault_server.storage.base import AskRow, Deposit, MetadataStore


async def _accounts(meta: MetadataStore) -> dict[str, int]:
    out = {}
    for h in ("jean", "mairie", "alice"):
        a, d, s = new_account(h)
        out[h] = await meta.create_account(a, d, s)
    return out


def _ask(ids: dict[str, int], sender: str = "jean", to: str = "mairie", at: int = T0) -> AskRow:
    return AskRow(hex_id(), ids[sender], sender, ids[to], to, b"sealed-ask", b"own-copy", at)


async def _deposit(meta: MetadataStore, ids: dict[str, int], frm: str, to: str) -> str:
    dep = Deposit(hex_id(), ids[to], ids[frm], frm, b"envelope", T0 + 5)
    await meta.add_deposit(dep, 100)
    return dep.id


async def test_ask_stored_listed_and_fulfilled_once(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    first, second = _ask(ids), _ask(ids, at=T0 + 1)
    await meta.add_ask(first, 10)
    await meta.add_ask(second, 10)
    with pytest.raises(AlreadyExists):
        await meta.add_ask(first, 10)
    sent = await meta.list_asks(ids["jean"], sent=True)
    assert [a.id for a in sent] == [first.id, second.id]
    got = sent[0]
    assert (got.sender_handle, got.recipient_handle, got.envelope, got.own_copy) == (
        "jean", "mairie", b"sealed-ask", b"own-copy",
    )  # fmt: skip
    assert got.deposit_id is None and got.reply is None and got.fulfilled_at is None
    assert [a.id for a in await meta.list_asks(ids["mairie"], sent=False)] == [first.id, second.id]
    assert await meta.list_asks(ids["mairie"], sent=True) == []
    assert await meta.list_asks(ids["alice"], sent=False) == []

    dep = await _deposit(meta, ids, "mairie", "jean")
    done = await meta.fulfil_ask(ids["mairie"], first.id, dep, b"reply", T0 + 9)
    assert done is not None and (done.deposit_id, done.reply, done.fulfilled_at) == (
        dep, b"reply", T0 + 9,
    )  # fmt: skip
    assert done.sender_id == ids["jean"]
    listed = {a.id: a for a in await meta.list_asks(ids["jean"], sent=True)}
    assert listed[first.id].deposit_id == dep and listed[first.id].reply == b"reply"
    assert listed[second.id].deposit_id is None
    again = await _deposit(meta, ids, "mairie", "jean")
    with pytest.raises(Conflict):  # once only: the first link stays
        await meta.fulfil_ask(ids["mairie"], first.id, again, b"other", T0 + 10)
    listed = {a.id: a for a in await meta.list_asks(ids["jean"], sent=True)}
    assert listed[first.id].deposit_id == dep and listed[first.id].reply == b"reply"


async def test_fulfilment_refused_writes_nothing(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    ask = _ask(ids)
    await meta.add_ask(ask, 10)
    to_alice = await _deposit(meta, ids, "mairie", "alice")  # to someone else
    by_alice = await _deposit(meta, ids, "alice", "jean")  # by someone else
    for dep in (to_alice, by_alice, hex_id()):
        with pytest.raises(BadRequest):
            await meta.fulfil_ask(ids["mairie"], ask.id, dep, b"reply", T0 + 9)
    mine = await _deposit(meta, ids, "mairie", "jean")
    # only the ask's recipient fulfils it; an unknown ask is None
    assert await meta.fulfil_ask(ids["alice"], ask.id, mine, b"reply", T0 + 9) is None
    assert await meta.fulfil_ask(ids["mairie"], hex_id(), mine, b"reply", T0 + 9) is None
    (still,) = await meta.list_asks(ids["jean"], sent=True)
    assert still.deposit_id is None and still.reply is None
    # a deposit that already left the inbox (accepted or refused) links nothing
    assert await meta.delete_deposit(ids["jean"], mine)
    with pytest.raises(BadRequest):
        await meta.fulfil_ask(ids["mairie"], ask.id, mine, b"reply", T0 + 9)


async def test_open_asks_are_capped_per_sender(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    a, b = _ask(ids), _ask(ids)
    await meta.add_ask(a, 2)
    await meta.add_ask(b, 2)
    with pytest.raises(QuotaExceeded):
        await meta.add_ask(_ask(ids), 2)
    await meta.add_ask(_ask(ids, sender="alice"), 2)  # another sender has its own count
    dep = await _deposit(meta, ids, "mairie", "jean")
    assert await meta.fulfil_ask(ids["mairie"], a.id, dep, b"r", T0 + 3) is not None
    await meta.add_ask(_ask(ids), 2)  # a fulfilled ask no longer counts
    assert len(await meta.list_asks(ids["jean"], sent=True)) == 3
