"""A changed file the scan cut is uploaded from the scan's chunk refs: only the chunks the
server lacks are read again (by offset), each checked against its hash (issue 8: a 1 MiB change
in a 250 MiB file read and cut the whole file twice)."""

from __future__ import annotations

import errno
import os
import time
from typing import Any

import pytest

from vault_client.sync import SyncEngine
from vault_client.sync import pipeline as pipelinemod

from .conftest import engine_sync

MIB = 1024 * 1024


def _settle(path: os.PathLike[str]) -> None:
    """Dated a minute back: not "racy" (written just before the scan, see RACY_NS)."""
    when = time.time_ns() - 60 * 10**9
    os.utime(path, ns=(when, when))


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
    _settle(a.write("big.bin", bytes(data)))
    read_again: list[int] = []
    real_pread = os.pread

    def pread(fd: int, n: int, offset: int) -> bytes:
        read_again.append(n)
        return real_pread(fd, n, offset)

    def cut_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the upload cut the whole file again")

    monkeypatch.setattr(pipelinemod.ChunkPipeline, "seal_stream", cut_again)
    monkeypatch.setattr(pipelinemod.os, "pread", pread)
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
    _settle(a.write("big.bin", bytes(data)))
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


def test_a_file_written_just_before_the_scan_is_cut_again(
    account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A "racy" file (last written within RACY_NS of the scan: a write in the same tick of a
    coarse clock could leave its stat as it was) is not uploaded from the scan's refs."""
    a, _ = account()
    data = bytearray(os.urandom(6 * MIB))
    path = a.write("big.bin", bytes(data))
    engine_sync(a)
    data[MIB : MIB + 10] = os.urandom(10)
    a.write("big.bin", bytes(data))
    future = time.time_ns() + 60 * 10**9
    os.utime(path, ns=(future, future))  # as if written while the scan read it
    cuts: list[int] = []
    real = pipelinemod.ChunkPipeline.seal_stream

    def counted(*args: Any, **kwargs: Any) -> Any:
        cuts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipelinemod.ChunkPipeline, "seal_stream", counted)
    assert engine_sync(a).uploaded == ["big.bin"]
    assert cuts == [1]


def test_a_changed_file_the_scan_cannot_read_is_left_alone(
    account: Any, second_device: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error while hashing a changed file skips it: it is not taken for a deletion
    (the server kept deleting a file that was there, only unreadable)."""
    a, _ = account()
    a.write("keep.bin", os.urandom(200_000))
    a.write("other.txt", "1")
    engine_sync(a)
    a.write("keep.bin", os.urandom(200_000))
    a.write("other.txt", "2")
    real = SyncEngine.hash_file

    def failing(self: SyncEngine, lf: Any, keep: bool = False) -> str:
        if lf.path == "keep.bin":
            raise OSError(errno.EIO, "Input/output error")
        return real(self, lf, keep)

    monkeypatch.setattr(SyncEngine, "hash_file", failing)
    report = engine_sync(a)
    assert report.uploaded == ["other.txt"] and report.skipped == ["keep.bin"]
    assert report.deleted_remote == []
    monkeypatch.undo()
    b = second_device()
    b.sync()
    assert sorted(b.tree()) == ["keep.bin", "other.txt"]  # still there, first version
    assert engine_sync(a).uploaded == ["keep.bin"]  # readable again: uploaded
    b.sync()
    assert b.read("keep.bin") == a.read("keep.bin")
