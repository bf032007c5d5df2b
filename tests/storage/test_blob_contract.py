"""Contract of :class:`BlobStore`, run over every backend (files always; S3 on Ceph RGW)."""

from __future__ import annotations

import os
import time

import pytest
from helpers_storage import blob_id

from vault_core.errors import NotFound
from vault_server.storage.base import BlobStore


async def put(store: BlobStore, account_id: int, bid: str, data: bytes, step: int = 65536) -> None:
    up = await store.begin(account_id, bid)
    for i in range(0, len(data), step):
        await up.write(data[i : i + step])
    await up.finish()
    assert up.size == len(data)
    await up.publish()


async def read_all(store: BlobStore, account_id: int, bid: str) -> tuple[bytes, int]:
    parts = [c async for c in store.read(account_id, bid)]
    return b"".join(parts), len(parts)


async def test_round_trip(blobs: BlobStore) -> None:
    data = os.urandom(300_000)
    bid = blob_id(data)
    await put(blobs, 1, bid, data)
    assert await blobs.exists(1, bid)
    assert await blobs.size(1, bid) == len(data)
    assert (await read_all(blobs, 1, bid))[0] == data


async def test_large_blob_streams_in_chunks(blobs: BlobStore) -> None:
    data = os.urandom(8 * 1024 * 1024)  # the API's largest blob
    bid = blob_id(data)
    await put(blobs, 7, bid, data, step=1 << 20)
    got, chunks = await read_all(blobs, 7, bid)
    assert got == data and chunks > 1


async def test_empty_blob(blobs: BlobStore) -> None:
    bid = blob_id(b"")
    await put(blobs, 1, bid, b"")
    assert await blobs.size(1, bid) == 0
    assert (await read_all(blobs, 1, bid))[0] == b""


async def test_invisible_until_published(blobs: BlobStore) -> None:
    data = os.urandom(5000)
    bid = blob_id(data)
    up = await blobs.begin(1, bid)
    await up.write(data)
    await up.finish()
    assert not await blobs.exists(1, bid)
    assert await blobs.size(1, bid) is None
    await up.publish()
    assert await blobs.exists(1, bid)


async def test_discarded_upload_leaves_nothing(blobs: BlobStore) -> None:
    bid = blob_id()
    up = await blobs.begin(1, bid)
    await up.write(b"x" * 2_000_000)
    await up.discard()
    assert not await blobs.exists(1, bid)
    with pytest.raises(NotFound):
        await read_all(blobs, 1, bid)


async def test_missing_blob(blobs: BlobStore) -> None:
    bid = blob_id()
    assert not await blobs.exists(3, bid)
    assert await blobs.size(3, bid) is None
    with pytest.raises(NotFound):
        await read_all(blobs, 3, bid)
    await blobs.delete(3, bid)  # deleting nothing is fine


async def test_delete(blobs: BlobStore) -> None:
    bid = blob_id()
    await put(blobs, 1, bid, b"bytes")
    await blobs.delete(1, bid)
    assert not await blobs.exists(1, bid)
    await blobs.delete(1, bid)


async def test_accounts_never_share_bytes(blobs: BlobStore) -> None:
    bid = blob_id()
    await put(blobs, 1, bid, b"alice's")
    assert not await blobs.exists(2, bid)
    await put(blobs, 2, bid, b"bob's!")
    assert (await read_all(blobs, 1, bid))[0] == b"alice's"
    assert (await read_all(blobs, 2, bid))[0] == b"bob's!"
    await blobs.delete(2, bid)
    assert await blobs.exists(1, bid)


async def test_publishing_the_same_bytes_again_is_harmless(blobs: BlobStore) -> None:
    data = os.urandom(70_000)
    bid = blob_id(data)
    await put(blobs, 1, bid, data)
    await put(blobs, 1, bid, data)
    assert (await read_all(blobs, 1, bid))[0] == data


async def test_another_process_sees_published_blobs(open_blobs) -> None:
    a, b = await open_blobs(), await open_blobs()
    data = os.urandom(1000)
    bid = blob_id(data)
    await put(a, 5, bid, data)
    assert (await read_all(b, 5, bid))[0] == data
    await b.delete(5, bid)
    assert not await a.exists(5, bid)


async def test_sweep_staging_removes_only_old_uploads(blobs: BlobStore, blob_backend: str) -> None:
    old = await blobs.begin(1, blob_id())
    await old.write(b"abandoned" * 300_000)  # streamed past what is kept in memory: a file
    await old.finish()
    removed = await blobs.sweep_staging(int(time.time()) + 1)
    if blob_backend == "files":
        assert removed == 1  # a staged file of a crashed request
    else:
        assert removed == 0  # S3 stages nothing in the bucket
    young = await blobs.begin(1, blob_id())
    await young.write(b"in flight")
    assert await blobs.sweep_staging(int(time.time()) - 3600) == 0
    await young.discard()


# -- S3 only: the conditional PUT ---------------------------------------------------------
# (the files backend has no conditional PUT; these run on S3 only, never skipped)
s3_only = pytest.mark.parametrize("blob_backend", ["s3"])


@s3_only
async def test_s3_store_honours_if_none_match(blobs) -> None:
    from botocore.exceptions import ClientError

    bid = blob_id()
    await put(blobs, 1, bid, b"first")
    with pytest.raises(ClientError) as e:
        await blobs._client.put_object(
            Bucket=blobs.target.bucket, Key=blobs.key(1, bid), Body=b"second", IfNoneMatch="*"
        )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert (await read_all(blobs, 1, bid))[0] == b"first"


@s3_only
async def test_s3_orphan_with_our_bytes_is_adopted(blobs) -> None:
    """A PUT whose answer was lost left the object: publishing the same bytes succeeds."""
    data = os.urandom(3000)
    bid = blob_id(data)
    await blobs._client.put_object(Bucket=blobs.target.bucket, Key=blobs.key(1, bid), Body=data)
    await put(blobs, 1, bid, data)
    assert (await read_all(blobs, 1, bid))[0] == data


@s3_only
async def test_s3_orphan_with_other_bytes_is_replaced(blobs) -> None:
    """An orphan that is not our blob (no metadata row owns it) is replaced, not adopted."""
    data = os.urandom(3000)
    bid = blob_id(data)
    await blobs._client.put_object(
        Bucket=blobs.target.bucket, Key=blobs.key(1, bid), Body=b"truncated"
    )
    await put(blobs, 1, bid, data)
    assert (await read_all(blobs, 1, bid))[0] == data


@s3_only
async def test_s3_repr_and_url_hold_no_credentials(blobs) -> None:
    from storage_backends import s3_env

    env = s3_env()
    assert env.secret_key not in repr(blobs) and env.access_key not in repr(blobs)
    assert env.secret_key not in repr(blobs.target)


async def test_three_tiers_rows_packs_and_files(tmp_path) -> None:
    """The files backend keeps blobs up to SMALL_MAX as rows of small.db, larger ones still in
    memory at finish in one pack per group, and streamed ones as files: same contract."""
    from vault_server.storage.file_blobs import _FLUSH, SMALL_MAX, FileBlobStore

    store = FileBlobStore(tmp_path / "blobs")
    try:
        sizes = [0, 1, SMALL_MAX, SMALL_MAX + 1, 1024 * 1024 + 43, _FLUSH + 1]
        datas = [os.urandom(n) for n in sizes]
        ups = []
        for d in datas:
            up = await store.begin(9, blob_id(d))
            await up.write(d)
            ups.append(up)
        await store.finish_many(ups)
        assert len(os.listdir(store.staging)) == 1  # only the streamed one is staged
        packs = [p for p in store.packs.rglob("*") if p.is_file()]
        assert len(packs) == 1 and packs[0].stat().st_size == sizes[3] + sizes[4]
        await store.publish_many(ups)
        for d in datas:
            assert await store.size(9, blob_id(d)) == len(d)
            assert (await read_all(store, 9, blob_id(d)))[0] == d
        as_files = [store.path(9, blob_id(d)).is_file() for d in datas]
        assert as_files == [False] * 5 + [True]
        assert packs[0].read_bytes() == datas[3] + datas[4]
        # a second store on the same directory (a restart) reads and deletes the rows
        again = FileBlobStore(tmp_path / "blobs")
        for d in datas[1], datas[4]:
            assert (await read_all(again, 9, blob_id(d)))[0] == d
            await again.delete(9, blob_id(d))
        await again.close()
        assert not await store.exists(9, blob_id(datas[1]))
        assert not await store.exists(9, blob_id(datas[4]))
        assert (await read_all(store, 9, blob_id(datas[3])))[0] == datas[3]
    finally:
        await store.close()


@pytest.mark.parametrize("mode", ["direct-io", "page-cache", "direct-io-refused"])
async def test_large_blobs_of_any_size_and_write_pattern(tmp_path, monkeypatch, mode) -> None:
    """Files and packs are written in whole 4 KiB blocks with O_DIRECT (the remainder carried
    to the next flush, the last one through the page cache), or all through the page cache
    (turned off, or refused by the file system when probed): the bytes are the same whatever
    the writes."""
    from vault_server.storage import file_blobs
    from vault_server.storage.file_blobs import SMALL_MAX, FileBlobStore

    monkeypatch.setenv("VAULT_DIRECT_IO", "0" if mode == "page-cache" else "1")
    if mode == "direct-io-refused":  # a flag the probe's open() refuses, as some file systems do
        monkeypatch.setattr(file_blobs, "_O_DIRECT", os.O_DIRECT | os.O_DIRECTORY)
    direct = mode == "direct-io"
    store = FileBlobStore(tmp_path / "blobs")
    try:
        cases = [
            (SMALL_MAX + 1, 65536),
            (4096 * 300, 4096),
            (1024 * 1024 + 4095, 7000),
            (3 * 1024 * 1024 + 1, 1024 * 1024),
            (2 * 1024 * 1024, 999_999),
        ]
        ups = []
        datas = []
        for size, step in cases:
            data = os.urandom(size)
            up = await store.begin(3, blob_id(data))
            for i in range(0, size, step):
                await up.write(data[i : i + step])
            ups.append(up)
            datas.append(data)
        await store.finish_many(ups)
        files = [up for up in ups if up._pack is None]
        assert len(files) == 2 and len(ups) - len(files) == 3  # both kinds of large write
        assert all(up._direct == direct for up in files)
        assert store.direct_io() == direct
        assert not [n for n in os.listdir(store.staging) if n.startswith("probe-")]
        await store.publish_many(ups)
        for up, d in zip(ups, datas, strict=True):
            if up._pack is None:
                assert store.path(3, blob_id(d)).read_bytes() == d
            else:
                with open(store.pack_path(up._pack), "rb") as f:
                    f.seek(up._off)
                    assert f.read(len(d)) == d
            assert (await read_all(store, 3, blob_id(d)))[0] == d
    finally:
        await store.close()
