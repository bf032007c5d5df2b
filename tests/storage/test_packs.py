"""Pack files of the files backend: one per group of large blobs, and their whole life.

A pack is written and fsynced at finish, becomes visible through its index rows at publish,
and its space comes back when its blobs go: at once when every upload of it is discarded, by a
delete that empties an old pack, and by the sweep (empty packs and mostly dead ones, repacked),
never while this process may still publish into it or while it is younger than the horizon.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from helpers_storage import blob_id

from vault_server.storage.file_blobs import FileBlobStore

KIB = 1024


def pack_files(store: FileBlobStore) -> list[Path]:
    return sorted(p for p in store.packs.rglob("*") if p.is_file())


async def staged(store: FileBlobStore, datas: list[bytes], account: int = 4) -> list:
    ups = []
    for d in datas:
        up = await store.begin(account, blob_id(d))
        await up.write(d)
        ups.append(up)
    await store.finish_many(ups)
    return ups


async def read(store: FileBlobStore, data: bytes, account: int = 4) -> bytes:
    return b"".join([c async for c in store.read(account, blob_id(data))])


def age(path: Path, seconds: int) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


async def test_a_group_is_one_pack_and_each_blob_a_slice(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        datas = [os.urandom(100 * KIB + i) for i in range(16)]
        ups = await staged(store, datas)
        (pack,) = pack_files(store)
        assert pack.read_bytes() == b"".join(datas)
        assert not any([await store.exists(4, blob_id(d)) for d in datas])  # not published
        await store.publish_many(ups)
        for d in datas:
            assert await read(store, d) == d
            assert await store.size(4, blob_id(d)) == len(d)
        assert not await store.exists(5, blob_id(datas[0]))  # per account
    finally:
        await store.close()


async def test_a_pack_whose_uploads_are_all_discarded_is_removed(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        datas = [os.urandom(200 * KIB) for _ in range(3)]
        ups = await staged(store, datas)
        assert len(pack_files(store)) == 1
        for up in ups[:2]:
            await up.discard()
        assert len(pack_files(store)) == 1  # one upload may still be published
        await ups[2].discard()
        assert pack_files(store) == []
        # published uploads keep their pack when the others are discarded
        ups = await staged(store, datas)
        await store.publish_many(ups[1:2])
        await ups[0].discard()
        await ups[2].discard()
        assert len(pack_files(store)) == 1
        assert await read(store, datas[1]) == datas[1]
        assert not await store.exists(4, blob_id(datas[0]))
    finally:
        await store.close()


async def test_an_orphan_pack_of_a_crashed_process_is_swept_when_old(tmp_path: Path) -> None:
    crashed = FileBlobStore(tmp_path / "blobs")
    datas = [os.urandom(300 * KIB) for _ in range(2)]
    await staged(crashed, datas)  # finished, never published: the process died
    await crashed.close()
    store = FileBlobStore(tmp_path / "blobs")  # the restart
    try:
        (orphan,) = pack_files(store)
        assert await store.sweep_staging(int(time.time()) - 3600) == 0  # young: kept
        assert orphan.exists()
        assert await store.sweep_staging(int(time.time()) + 1) == 1
        assert pack_files(store) == []
    finally:
        await store.close()


async def test_the_sweep_leaves_packs_this_process_may_still_publish(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        datas = [os.urandom(300 * KIB) for _ in range(2)]
        ups = await staged(store, datas)
        assert await store.sweep_staging(int(time.time()) + 1) == 0
        await store.publish_many(ups)
        assert [await read(store, d) for d in datas] == datas
    finally:
        await store.close()


async def test_deletes_empty_a_pack_which_goes_when_old(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        datas = [os.urandom(150 * KIB) for _ in range(4)]
        await store.publish_many(await staged(store, datas))
        (young,) = pack_files(store)
        for d in datas:
            await store.delete(4, blob_id(d))
        assert young.exists()  # too young to be sure no other process publishes into it
        assert await store.sweep_staging(int(time.time()) - 3600) == 0
        assert await store.sweep_staging(int(time.time()) + 1) == 1
        assert not young.exists()
        # an old pack goes with its last blob
        await store.publish_many(await staged(store, datas))
        (old,) = pack_files(store)
        age(old, 7200)
        for d in datas[:3]:
            await store.delete(4, blob_id(d))
        assert old.exists()
        await store.delete(4, blob_id(datas[3]))
        assert not old.exists()
    finally:
        await store.close()


async def test_a_mostly_dead_pack_is_repacked(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        datas = [os.urandom(100 * KIB + i) for i in range(8)]
        await store.publish_many(await staged(store, datas))
        (first,) = pack_files(store)
        for d in datas[:4]:  # half dead: kept as it is
            await store.delete(4, blob_id(d))
        age(first, 7200)
        assert await store.sweep_staging(int(time.time()) - 3600) == 0
        assert pack_files(store) == [first]
        await store.delete(4, blob_id(datas[4]))  # now 3 of 8 live
        # the embedded server's start-up sweep leaves repacking to the periodic GC
        assert await store.sweep_staging(int(time.time()) + 1, repack=False) == 0
        assert pack_files(store) == [first]
        assert await store.sweep_staging(int(time.time()) - 3600) == 0
        (second,) = [p for p in pack_files(store) if p != first]
        assert second.read_bytes() == b"".join(datas[5:])
        # the emptied pack stays until the next sweep (a running backup may still copy it)
        assert first.exists()
        assert await store.sweep_staging(int(time.time()) - 3600) == 1
        assert pack_files(store) == [second]
        for d in datas[5:]:
            assert await read(store, d) == d
        for d in datas[:5]:
            assert not await store.exists(4, blob_id(d))
        # the new pack is young: nothing more to do
        assert await store.sweep_staging(int(time.time()) - 3600) == 0
    finally:
        await store.close()


async def test_a_read_that_races_a_repack_finds_the_new_place(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        datas = [os.urandom(100 * KIB) for _ in range(3)]
        await store.publish_many(await staged(store, datas))
        real = store._small.locate
        stale = [("0" * 32, 0, len(datas[0]))]  # a pack the repack has just removed

        def locate(*args, **kw):  # type: ignore[no-untyped-def]
            return stale.pop() if stale else real(*args, **kw)

        store._small.locate = locate  # type: ignore[method-assign]
        assert await read(store, datas[0]) == datas[0]
        assert not stale
    finally:
        await store.close()
