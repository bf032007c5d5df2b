"""Contract of the trusted-contact recovery part of :class:`MetadataStore` (issue 21), over
every backend: a set replaces the previous one with its shares and cancels its pending
recoveries; a contact sees only recoveries of sets it holds a share of; one approval per
contact, none once closed; closing is pending -> state once."""

from __future__ import annotations

import pytest
from helpers_storage import T0, hex_id, new_account

from vault_core.errors import AlreadyExists, RateLimited
from vault_server.storage.base import (
    ApprovalRow,
    MetadataStore,
    RecoveryRow,
    RecoverySetRow,
    RecoveryShareRow,
)


async def _accounts(meta: MetadataStore) -> dict[str, int]:
    out = {}
    for h in ("jean", "alice", "bob", "carol"):
        a, d, s = new_account(h)
        out[h] = await meta.create_account(a, d, s)
    return out


async def _set(meta: MetadataStore, ids: dict[str, int], contacts: list[str]) -> str:
    set_id = hex_id()
    row = RecoverySetRow(ids["jean"], set_id, b"statement", b"s" * 64, b"bundle", b"p" * 32, 2,
                         60, T0)  # fmt: skip
    shares = [
        RecoveryShareRow(set_id, ids[h], h, i + 1, f"sealed-{h}".encode())
        for i, h in enumerate(contacts)
    ]
    await meta.put_recovery_set(row, shares, T0)
    return set_id


def _recovery(ids: dict[str, int], set_id: str) -> RecoveryRow:
    return RecoveryRow(hex_id(), ids["jean"], "jean", set_id, b"request", T0, "pending")


def _approval(ids: dict[str, int], rid: str, h: str) -> ApprovalRow:
    return ApprovalRow(rid, ids[h], h, b"approval", b"g" * 64, b"resealed", T0 + 1)


async def test_recovery_lifecycle(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    assert await meta.get_recovery_set(ids["jean"]) is None
    first = await _set(meta, ids, ["alice", "bob"])
    got = await meta.get_recovery_set(ids["jean"])
    assert got is not None and (got.set_id, got.threshold, got.delay, got.bundle) == (
        first, 2, 60, b"bundle",
    )  # fmt: skip
    share = await meta.get_recovery_share(first, ids["bob"])
    assert share is not None and (share.x, share.sealed, share.contact_handle) == (
        2, b"sealed-bob", "bob",
    )  # fmt: skip
    assert await meta.get_recovery_share(first, ids["carol"]) is None

    r = _recovery(ids, first)
    await meta.create_recovery(r, 3)
    with pytest.raises(AlreadyExists):
        await meta.create_recovery(r, 3)
    assert await meta.get_recovery(r.id) == r
    assert [x.id for x in await meta.list_contact_recoveries(ids["alice"])] == [r.id]
    assert await meta.list_contact_recoveries(ids["carol"]) == []
    assert [x.id for x in await meta.list_recoveries(ids["jean"])] == [r.id]

    assert await meta.add_recovery_approval(_approval(ids, r.id, "alice"))
    with pytest.raises(AlreadyExists):
        await meta.add_recovery_approval(_approval(ids, r.id, "alice"))
    approvals = await meta.list_recovery_approvals(r.id)
    assert [(a.contact_handle, a.statement, a.resealed) for a in approvals] == [
        ("alice", b"approval", b"resealed")
    ]

    assert await meta.close_recovery(r.id, "vetoed", T0 + 5, b"veto", b"v" * 64)
    assert not await meta.close_recovery(r.id, "finished", T0 + 6)
    closed = await meta.get_recovery(r.id)
    assert closed is not None and (closed.state, closed.veto, closed.closed_at) == (
        "vetoed", b"veto", T0 + 5,
    )  # fmt: skip
    assert not await meta.add_recovery_approval(_approval(ids, r.id, "bob"))
    assert await meta.list_contact_recoveries(ids["alice"]) == []


async def test_a_new_set_replaces_the_old_and_cancels_its_recoveries(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    first = await _set(meta, ids, ["alice", "bob"])
    r = _recovery(ids, first)
    await meta.create_recovery(r, 3)
    second = await _set(meta, ids, ["bob", "carol"])
    got = await meta.get_recovery_set(ids["jean"])
    assert got is not None and got.set_id == second
    assert await meta.get_recovery_share(first, ids["alice"]) is None
    cancelled = await meta.get_recovery(r.id)
    assert cancelled is not None and cancelled.state == "cancelled"
    assert await meta.list_contact_recoveries(ids["bob"]) == []


async def test_pending_recoveries_are_limited(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    set_id = await _set(meta, ids, ["alice", "bob"])
    for _ in range(2):
        await meta.create_recovery(_recovery(ids, set_id), 2)
    with pytest.raises(RateLimited):
        await meta.create_recovery(_recovery(ids, set_id), 2)
