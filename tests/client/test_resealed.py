"""A changed file the scan cut is uploaded from the scan's chunk refs: only the chunks the
server lacks are read again (by offset), each checked against its hash (issue 8: a 1 MiB change
in a 250 MiB file read and cut the whole file twice)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from vault_client import sync as syncmod
from vault_client.account import open_api
from vault_client.profile import Profile
from vault_client.sync import SyncEngine, SyncReport

from .conftest import PASS

MIB = 1024 * 1024


def engine_sync(dev: Any, after_scan: Any = None) -> SyncReport:
    prof = Profile(dev.home)
    prof.unlock(PASS)

    async def run() -> SyncReport:
        api = await open_api(prof)
        async with api:
            eng = SyncEngine(prof, api, warn=lambda msg: None)
            if after_scan is not None:
                scan = eng.scan

                def scanned(*args: Any, **kwargs: Any) -> Any:
                    out = scan(*args, **kwargs)
                    after_scan()
                    return out

                eng.scan = scanned  # type: ignore[method-assign]
            try:
                return await eng.sync()
            finally:
                eng.close()

    return asyncio.run(run())


def _overwrite_keeping_stat(path: os.PathLike[str], offset: int, data: bytes) -> None:
    """Other bytes, same size, inode and mtime: nothing a stat can see."""
    st = os.stat(path)
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns


def test_a_changed_large_file_is_not_cut_again(
    account: Any, second_device: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = account()
    data = bytearray(os.urandom(12 * MIB))
    a.write("big.bin", bytes(data))
    a.write("note.txt", "x")
    engine_sync(a)
    data[6 * MIB : 7 * MIB] = os.urandom(MIB)
    data[11 * MIB : 11 * MIB + 10] = os.urandom(10)
    a.write("big.bin", bytes(data))
    read_again: list[int] = []
    real_pread = os.pread

    def pread(fd: int, n: int, offset: int) -> bytes:
        read_again.append(n)
        return real_pread(fd, n, offset)

    def cut_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the upload cut the whole file again")

    monkeypatch.setattr(syncmod.ChunkPipeline, "seal_stream", cut_again)
    monkeypatch.setattr(syncmod.os, "pread", pread)
    report = engine_sync(a)
    assert report.uploaded == ["big.bin"] and report.skipped == []
    # the new chunks only: the changed MiB and the 10 bytes, each with its chunk's neighbours
    assert MIB < sum(read_again) < 5 * MIB
    assert sum(read_again) < report.bytes_uploaded < sum(read_again) + 200_000
    monkeypatch.undo()
    b = second_device()
    b.sync()
    assert b.read("big.bin") == bytes(data)
    assert engine_sync(a).uploaded == []


def test_a_chunk_that_no_longer_matches_its_hash_is_not_uploaded(
    account: Any, second_device: Any
) -> None:
    a, _ = account()
    data = bytearray(os.urandom(8 * MIB))
    path = a.write("big.bin", bytes(data))
    engine_sync(a)
    data[3 * MIB : 3 * MIB + 100] = os.urandom(100)
    a.write("big.bin", bytes(data))
    # between the scan and the upload, the changed region changes again, unseen by stat
    late = os.urandom(100)
    report = engine_sync(a, after_scan=lambda: _overwrite_keeping_stat(path, 3 * MIB, late))
    assert report.uploaded == [] and report.skipped == ["big.bin"]
    data[3 * MIB : 3 * MIB + 100] = late
    b = second_device()
    b.sync()
    assert b.read("big.bin") != bytes(data)  # still the first version
    os.utime(path)  # the next sync sees a change and uploads what is there
    assert engine_sync(a).uploaded == ["big.bin"]
    b.sync()
    assert b.read("big.bin") == bytes(data)
