"""The parallel chunking pipeline gives exactly the chunks, refs and blobs of the plain path."""

from __future__ import annotations

import asyncio
import io
import os
import time

import pytest

from vault_client.sync import ChunkPipeline, queue_chunks, seal_record
from vault_core import chunks as chunkmod
from vault_core.keys import new_bundle

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def vk():  # type: ignore[no-untyped-def]
    return new_bundle("pipe", os.urandom(96), 0).vault_keys


def _data(size: int) -> bytes:
    # random with long repeats, so that chunk boundaries fall anywhere
    part = os.urandom(max(1, size // 3))
    return (part + os.urandom(size // 5) + part)[:size].ljust(size, b"z")


@pytest.mark.parametrize("seal_all", [False, True], ids=["hash-then-seal", "fused"])
@pytest.mark.parametrize(
    "size",
    [0, 1, 1000, chunkmod.CDC_MIN, chunkmod.CDC_MAX, 8 * MIB - 1, 8 * MIB + 1, 19 * MIB + 12345],
)
def test_blocks_cut_like_cut_stream(vk, size: int, seal_all: bool) -> None:  # type: ignore[no-untyped-def]
    data = _data(size)
    expected = [
        bytes(v) for v in chunkmod.cut_stream(chunkmod.new_chunker(vk.cdc_seed), io.BytesIO(data))
    ]
    pipe = ChunkPipeline(vk, workers=2)
    try:
        got = [bytes(v) for block in pipe.blocks(io.BytesIO(data)) for v in block.pieces]
        assert got == expected
        refs = pipe.hash_stream(io.BytesIO(data))
        assert refs == [chunkmod.chunk_ref(vk.chunk_id_key, vk.chunk_key_key, c) for c in expected]

        async def sealed() -> list[tuple[chunkmod.ChunkRef, bytearray | None]]:
            stream = pipe.seal_stream(io.BytesIO(data), lambda i: True, seal_all=seal_all)
            return [x async for x in stream]

        out = asyncio.run(sealed())
        assert [r for r, _ in out] == refs
        for (ref, record), plain in zip(out, expected, strict=True):
            assert record is not None
            assert record[0] == 64 and record[1:65].decode() == ref.id
            blob = bytes(record[69:])
            assert int.from_bytes(record[65:69], "big") == len(blob)
            assert chunkmod.open_chunk(ref, blob) == plain
    finally:
        pipe.close()


@pytest.mark.parametrize("seal_all", [False, True], ids=["hash-then-seal", "fused"])
def test_seal_stream_skips_unneeded(vk, seal_all: bool) -> None:  # type: ignore[no-untyped-def]
    data = _data(5 * MIB)
    pipe = ChunkPipeline(vk)
    try:

        async def run() -> list[tuple[chunkmod.ChunkRef, bytearray | None]]:
            stream = pipe.seal_stream(io.BytesIO(data), lambda i: False, seal_all=seal_all)
            return [x async for x in stream]

        assert all(rec is None for _, rec in asyncio.run(run()))
    finally:
        pipe.close()


@pytest.mark.parametrize("seal_all", [False, True], ids=["hash-then-seal", "fused"])
def test_seal_stream_gives_a_repeated_chunk_one_record(vk, seal_all: bool) -> None:  # type: ignore[no-untyped-def]
    """A chunk met twice in a stream is sealed for the first time only, in either mode (the
    uploader's need() says yes once per id), and every record opens against its ref."""
    part = os.urandom(3 * MIB)
    data = part + os.urandom(2 * MIB) + part
    seen: set[str] = set()

    def need(blob_id: str) -> bool:
        fresh = blob_id not in seen
        seen.add(blob_id)
        return fresh

    pipe = ChunkPipeline(vk)
    try:

        async def run() -> list[tuple[chunkmod.ChunkRef, bytearray | None]]:
            return [x async for x in pipe.seal_stream(io.BytesIO(data), need, seal_all=seal_all)]

        out = asyncio.run(run())
    finally:
        pipe.close()
    ids = [r.id for r, _ in out]
    assert len(set(ids)) < len(ids)  # the repeat made repeated chunks
    firsts = {i: ids.index(i) for i in ids}
    for n, (ref, record) in enumerate(out):
        assert (record is not None) == (firsts[ref.id] == n)
        if record is not None:
            chunkmod.open_chunk(ref, bytes(record[69:]))


def test_seal_record_nonces_are_fresh(vk) -> None:  # type: ignore[no-untyped-def]
    ref = chunkmod.chunk_ref(vk.chunk_id_key, vk.chunk_key_key, b"same")
    a, b = seal_record(ref, b"same"), seal_record(ref, b"same")
    assert a[69 + 3 : 69 + 27] != b[69 + 3 : 69 + 27]


class _SlowFile(io.FileIO):
    """A real file whose reads take a while, counting the reads in flight."""

    in_flight = 0
    late = 0  # reads begun after close

    def readinto(self, b):  # type: ignore[no-untyped-def]
        if self.closed:
            type(self).late += 1
        type(self).in_flight += 1
        try:
            time.sleep(0.05)
            return super().readinto(b)
        finally:
            type(self).in_flight -= 1


class _FailingUploads:
    """The uploader's side of queue_chunks, its first upload failing (the server is gone)."""

    none_known = True

    def need(self, blob_id: str) -> bool:
        return True

    async def add_record(self, blob_id: str, record: bytearray) -> None:
        raise ConnectionError("server gone")


@pytest.mark.parametrize("none_known", [False, True], ids=["hash-then-seal", "fused"])
def test_a_failed_upload_leaves_no_read_of_the_file_in_flight(
    vk, tmp_path, none_known: bool
) -> None:  # type: ignore[no-untyped-def]
    # the caller closes the file as soon as queue_chunks fails: a read still running then
    # fails on a closed file, and its exception is printed to the user as a traceback
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(48 * MIB))
    _SlowFile.in_flight = _SlowFile.late = 0
    up = _FailingUploads()
    up.none_known = none_known
    pipe = ChunkPipeline(vk, workers=2)
    try:
        with _SlowFile(path, "rb") as fh:
            with pytest.raises(ConnectionError):
                asyncio.run(queue_chunks(pipe, up, fh))  # type: ignore[arg-type]
            assert _SlowFile.in_flight == 0
    finally:
        pipe.close()
    assert _SlowFile.late == 0
