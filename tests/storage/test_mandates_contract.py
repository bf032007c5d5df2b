"""Contract of the helper mandates part of :class:`MetadataStore` (issue 21), over every
backend: a mandate is stored once and listed on both sides with its handles and kinds; an
owner holds at most ``max_active`` mandates in force; revocation is the owner's only, keeps its
first time and drops the forwards; forwards are stored once per (kind, item), never for a
revoked mandate, and listed by kind."""

from __future__ import annotations

import pytest
from helpers_storage import T0, hex_id, new_account

from vault_core.errors import AlreadyExists, QuotaExceeded
from vault_server.storage.base import MandateRow, MetadataStore


async def _accounts(meta: MetadataStore) -> dict[str, int]:
    out = {}
    for h in ("jean", "gaelle", "alice"):
        a, d, s = new_account(h)
        out[h] = await meta.create_account(a, d, s)
    return out


def _mandate(
    ids: dict[str, int], owner: str = "jean", helper: str = "gaelle", at: int = T0, life: int = 99
) -> MandateRow:
    return MandateRow(
        id=hex_id(),
        owner_id=ids[owner],
        owner_handle=owner,
        helper_id=ids[helper],
        helper_handle=helper,
        kinds=("inbox", "read", "requests"),
        grant_id=hex_id(),
        copy=b"sealed-copy",
        created_at=at,
        expires_at=at + life,
    )


async def test_mandate_stored_listed_and_revoked_once(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    first, second = _mandate(ids), _mandate(ids, helper="alice", at=T0 + 1)
    await meta.add_mandate(first, 10)
    await meta.add_mandate(second, 10)
    with pytest.raises(AlreadyExists):
        await meta.add_mandate(first, 10)
    given = await meta.list_mandates(ids["jean"], given=True)
    assert [m.id for m in given] == [first.id, second.id]
    got = given[0]
    assert got == first  # every field back as written (handles, kinds, grant, copy, times)
    assert got.state(T0) == "active" and got.state(T0 + 99) == "expired"
    assert [m.id for m in await meta.list_mandates(ids["gaelle"], given=False)] == [first.id]
    assert await meta.list_mandates(ids["gaelle"], given=True) == []
    assert await meta.get_mandate(first.id) == first
    assert await meta.get_mandate(hex_id()) is None

    assert await meta.revoke_mandate(ids["gaelle"], first.id, T0 + 5) is None  # not hers
    assert (await meta.get_mandate(first.id)).revoked_at is None  # type: ignore[union-attr]
    done = await meta.revoke_mandate(ids["jean"], first.id, T0 + 5)
    assert done is not None and done.revoked_at == T0 + 5 and done.state(T0 + 6) == "revoked"
    again = await meta.revoke_mandate(ids["jean"], first.id, T0 + 50)
    assert again is not None and again.revoked_at == T0 + 5  # the first time stays
    assert (await meta.get_mandate(second.id)).revoked_at is None  # type: ignore[union-attr]


async def test_mandates_in_force_are_limited(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    a, b = _mandate(ids), _mandate(ids, helper="alice")
    await meta.add_mandate(a, 2)
    await meta.add_mandate(b, 2)
    with pytest.raises(QuotaExceeded):
        await meta.add_mandate(_mandate(ids), 2)
    assert len(await meta.list_mandates(ids["jean"], given=True)) == 2
    await meta.revoke_mandate(ids["jean"], a.id, T0 + 1)  # a revoked one no longer counts
    await meta.add_mandate(_mandate(ids), 2)
    # nor an expired one: b (and the new one) ended by T0 + 99
    await meta.add_mandate(_mandate(ids, at=T0 + 200), 2)
    await meta.add_mandate(_mandate(ids, at=T0 + 200), 2)
    with pytest.raises(QuotaExceeded):
        await meta.add_mandate(_mandate(ids, at=T0 + 200), 2)


async def test_forwards_once_by_kind_and_dropped_at_revocation(meta: MetadataStore) -> None:
    ids = await _accounts(meta)
    m = _mandate(ids)
    await meta.add_mandate(m, 10)
    r1, r2, d1 = hex_id(), hex_id(), hex_id()
    items = [("request", r1, b"f-r1"), ("request", r2, b"f-r2"), ("deposit", d1, b"f-d1")]
    assert await meta.put_forwards(m.id, items, T0) == 3
    # a forward already there is kept (a second device forwarding the same item)
    assert await meta.put_forwards(m.id, [("request", r1, b"other")], T0 + 1) == 0
    assert await meta.list_forwards(m.id, "request") == {r1: b"f-r1", r2: b"f-r2"}
    assert await meta.list_forwards(m.id, "deposit") == {d1: b"f-d1"}
    other = _mandate(ids, helper="alice")
    await meta.add_mandate(other, 10)
    assert await meta.list_forwards(other.id, "request") == {}
    await meta.revoke_mandate(ids["jean"], m.id, T0 + 2)
    assert await meta.list_forwards(m.id, "request") == {}
    assert await meta.list_forwards(m.id, "deposit") == {}
    assert await meta.put_forwards(m.id, [("request", hex_id(), b"late")], T0 + 3) == 0
    assert await meta.list_forwards(m.id, "request") == {}
    assert await meta.put_forwards(hex_id(), [("request", r1, b"nobody")], T0 + 3) == 0
