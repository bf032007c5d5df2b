"""Contract of the batched storage operations, run over every backend.

``MetadataStore.reserve_blobs`` / ``publish_blobs`` (one transaction each) and
``BlobStore.finish_many`` / ``publish_many`` must mean exactly a loop of the single-blob
operations in record order: the batch upload route relies on it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from helpers_storage import T0, blob_id, new_account

from vault_core.errors import NotFound
from vault_server.storage.base import BlobStore, BlobUpload, MetadataStore


async def account(meta: MetadataStore, handle: str = "alice", quota: int = 10_000) -> int:
    a, d, s = new_account(handle, quota)
    return await meta.create_account(a, d, s)


async def used(meta: MetadataStore, aid: int) -> int:
    a = await meta.get_account(aid)
    assert a is not None
    return a.used


# -- metadata ----------------------------------------------------------------------------
async def test_reserve_blobs_in_order_then_publish(meta: MetadataStore) -> None:
    aid = await account(meta, quota=1000)
    old = blob_id()
    assert await meta.reserve_blob(aid, old, 100, T0) == "reserved"
    await meta.publish_blob(aid, old)
    ids = [blob_id() for _ in range(3)]
    got = await meta.reserve_blobs(aid, [(ids[0], 10), (old, 100), (ids[1], 20), (ids[2], 0)], T0)
    assert got == ["reserved", "present", "reserved", "reserved"]
    assert await used(meta, aid) == 130
    assert await meta.blobs_missing(aid, ids) == ids  # pending is invisible
    await meta.publish_blobs(aid, ids)
    assert await meta.blobs_missing(aid, ids) == []
    assert [await meta.blob_size(aid, b) for b in ids] == [10, 20, 0]
    assert await meta.reserve_blobs(aid, [], T0) == []
    await meta.publish_blobs(aid, [])
    # published rows are settled: nothing for recovery
    assert await meta.unsettled_blobs(T0 + 10) == []


async def test_reserve_blobs_stops_at_quota(meta: MetadataStore) -> None:
    aid = await account(meta, quota=100)
    a, b, c, d = (blob_id() for _ in range(4))
    got = await meta.reserve_blobs(aid, [(a, 40), (b, 50), (c, 20), (d, 5)], T0)
    # strictly in order: c does not fit, and d (which would) is not even looked at
    assert got == ["reserved", "reserved", "quota"]
    assert await used(meta, aid) == 90
    rows = {r.blob_id: r.state for r in await meta.unsettled_blobs(T0)}
    assert rows == {a: "pending", b: "pending"}
    # the first record over the quota: nothing reserved at all
    assert await meta.reserve_blobs(aid, [(c, 11), (d, 5)], T0) == ["quota"]
    assert await used(meta, aid) == 90
    assert await meta.reserve_blobs(aid, [(d, 10)], T0) == ["reserved"]
    assert await used(meta, aid) == 100


async def test_reserve_blobs_stops_at_busy(meta: MetadataStore) -> None:
    aid = await account(meta, quota=1000)
    a, b, c = blob_id(), blob_id(), blob_id()
    assert await meta.reserve_blob(aid, b, 10, T0) == "reserved"  # another upload in flight
    got = await meta.reserve_blobs(aid, [(a, 10), (b, 10), (c, 10)], T0)
    assert got == ["reserved", "busy"]
    assert await used(meta, aid) == 20  # c is not reserved (it would jump b's turn)
    # the same id twice in one call: the second sees the first one's pending row
    d = blob_id()
    assert await meta.reserve_blobs(aid, [(d, 5), (d, 5)], T0) == ["reserved", "busy"]
    assert await used(meta, aid) == 25
    await meta.publish_blobs(aid, [b, d])
    assert await meta.reserve_blobs(aid, [(b, 10), (d, 5), (c, 10)], T0) == [
        "present",
        "present",
        "reserved",
    ]
    assert await used(meta, aid) == 35


async def test_reserve_blobs_unknown_account(meta: MetadataStore) -> None:
    with pytest.raises(NotFound):
        await meta.reserve_blobs(987_654, [(blob_id(), 1)], T0)


async def test_batch_blob_rows_are_per_account(meta: MetadataStore) -> None:
    a1, a2 = await account(meta, "alice", quota=100), await account(meta, "bob", quota=100)
    b = blob_id()
    assert await meta.reserve_blobs(a1, [(b, 60)], T0) == ["reserved"]
    await meta.publish_blobs(a2, [b])  # bob has no such row: nothing happens to alice's
    assert await meta.blob_size(a1, b) is None
    assert await meta.reserve_blobs(a2, [(b, 60)], T0) == ["reserved"]
    await meta.publish_blobs(a1, [b])
    assert await meta.blob_size(a1, b) == 60 and await meta.blob_size(a2, b) is None
    assert await used(meta, a1) == 60 and await used(meta, a2) == 60


async def test_publish_blobs_touches_only_pending_rows(meta: MetadataStore) -> None:
    aid = await account(meta, quota=100)
    b = blob_id()
    await meta.reserve_blobs(aid, [(b, 10)], T0)
    await meta.release_blob(aid, b)
    await meta.publish_blobs(aid, [b, blob_id()])  # released / unknown: no row appears
    assert await meta.blob_size(aid, b) is None
    assert await used(meta, aid) == 0


async def test_batch_quota_holds_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1, quota=1000)

    async def reserve(m: MetadataStore) -> list[str]:
        return list(await m.reserve_blobs(aid, [(blob_id(), 100) for _ in range(3)], T0))

    got = await asyncio.gather(*(reserve(m) for m in [m1, m2] * 4))
    flat = [r for g in got for r in g]
    assert flat.count("reserved") == 10
    assert await used(m2, aid) == 1000
    for g in got:  # every answer is a reserved prefix, then at most one "quota"
        assert g.count("quota") <= 1 and (not g.count("quota") or g[-1] == "quota")


async def test_same_blob_in_concurrent_batches_reserved_once(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1)
    b = blob_id()
    got = await asyncio.gather(*(m.reserve_blobs(aid, [(b, 10)], T0) for m in [m1, m2] * 4))
    flat = [r for g in got for r in g]
    assert flat.count("reserved") == 1 and flat.count("busy") == 7
    assert await used(m1, aid) == 10


# -- blob bytes --------------------------------------------------------------------------
async def staged(store: BlobStore, account_id: int, datas: list[bytes]) -> list[BlobUpload]:
    ups = []
    for d in datas:
        up = await store.begin(account_id, blob_id(d))
        await up.write(d)
        ups.append(up)
    return ups


async def read(store: BlobStore, account_id: int, bid: str) -> bytes:
    return b"".join([c async for c in store.read(account_id, bid)])


async def test_many_round_trip(blobs: BlobStore) -> None:
    datas = [os.urandom(n) for n in (0, 1, 5000, 2_000_000, 300)]
    ups = await staged(blobs, 4, datas)
    await blobs.finish_many(ups)
    for d in datas:  # finished is not visible
        assert not await blobs.exists(4, blob_id(d))
    assert not any(up.published for up in ups)
    await blobs.publish_many(ups)
    assert all(up.published for up in ups)
    for d in datas:
        assert await blobs.size(4, blob_id(d)) == len(d)
        assert await read(blobs, 4, blob_id(d)) == d
    await blobs.finish_many([])
    await blobs.publish_many([])


async def test_many_keeps_accounts_apart(blobs: BlobStore) -> None:
    bid = blob_id()
    ups = [await blobs.begin(1, bid), await blobs.begin(2, bid)]
    await ups[0].write(b"alice's")
    await ups[1].write(b"bob's!")
    await blobs.finish_many(ups)
    await blobs.publish_many(ups)
    assert await read(blobs, 1, bid) == b"alice's"
    assert await read(blobs, 2, bid) == b"bob's!"


async def test_discard_after_finish_many_leaves_nothing(blobs: BlobStore) -> None:
    datas = [os.urandom(100) for _ in range(3)]
    ups = await staged(blobs, 1, datas)
    await blobs.finish_many(ups)
    await blobs.publish_many(ups[:1])
    for up in ups[1:]:
        await up.discard()
    assert await blobs.exists(1, blob_id(datas[0]))
    assert not await blobs.exists(1, blob_id(datas[1]))
    assert not await blobs.exists(1, blob_id(datas[2]))


def _break(up: BlobUpload, blob_backend: str) -> None:
    """Make publishing this upload fail (a lost staging file / a failing PUT)."""

    def boom(*args: Any) -> Any:
        raise OSError("injected failure")

    if blob_backend == "files":
        up._rename_sync = boom  # type: ignore[attr-defined]  (a file)
        up._row = boom  # type: ignore[attr-defined]  (a row of small.db: small or packed)
    else:

        async def fail() -> None:
            boom()

        up.publish = fail  # type: ignore[method-assign]


async def test_publish_many_failure_keeps_exactly_the_prefix(
    blobs: BlobStore, blob_backend: str
) -> None:
    datas = [os.urandom(1000 + i) for i in range(12)]
    ups = await staged(blobs, 1, datas)
    await blobs.finish_many(ups)
    _break(ups[5], blob_backend)
    with pytest.raises(OSError, match="injected"):
        await blobs.publish_many(ups)
    assert [up.published for up in ups] == [True] * 5 + [False] * 7
    for up in ups[5:]:
        await up.discard()
    for i, d in enumerate(datas):
        if i < 5:
            assert await read(blobs, 1, blob_id(d)) == d
        else:
            assert not await blobs.exists(1, blob_id(d)), i
