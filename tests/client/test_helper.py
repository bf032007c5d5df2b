"""The helper process for large files (vault_client.sync.helper), against a real server.

The helper must give exactly what the in-process pipeline gives (another device gets the same
bytes, nothing is sent twice, a later sync finds nothing to do), skip only what changed or
cannot be read, and never be needed: when it fails, the parent uploads the files itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import time

import pytest

from vault_client.profile import Profile
from vault_client.session import open_api
from vault_client.sync import SyncEngine
from vault_client.sync import helper as large

from .conftest import PASS, engine_sync

MIB = 1024 * 1024


@pytest.fixture
def helper_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_HELPER", "1")


def test_large_files_through_the_helper(helper_on, account, second_device) -> None:
    a, _ = account()
    bigs = {f"films/{n}.bin": os.urandom(n * MIB + 123) for n in (5, 6, 9)}
    for rel, data in bigs.items():
        a.write(rel, data)
    for i in range(20):
        a.write(f"notes/{i}.txt", f"note {i}")
    report = engine_sync(a)
    assert report.by_helper in (2, 3)  # two handed out at once; the third maybe kept here
    assert sorted(report.uploaded) == sorted([*bigs, *(f"notes/{i}.txt" for i in range(20))])
    assert report.bytes_uploaded >= sum(map(len, bigs.values()))
    b = second_device()
    b.sync()
    assert b.tree() == a.tree()
    # nothing left to do: the helper's hashes went to the scan cache like the pipeline's
    again = engine_sync(a)
    assert again.uploaded == [] and again.bytes_uploaded == 0
    # a small change in one large file: only the changed chunks are sent again, by this
    # process (the scan cut the file: only those chunks are read again, no helper needed)
    data = bytearray(bigs["films/9.bin"])
    data[4 * MIB : 4 * MIB + 1000] = os.urandom(1000)
    path = a.write("films/9.bin", bytes(data))
    when = time.time_ns() - 60 * 10**9  # (not "racy": see sync.scan.RACY_NS)
    os.utime(path, ns=(when, when))
    a.write("notes/new.txt", "one more")
    changed = engine_sync(a)
    assert changed.by_helper == 0
    assert 0 < changed.bytes_uploaded < 3 * MIB
    b.sync()
    assert b.read("films/9.bin") == bytes(data)


def test_the_helper_answers_changed_and_unreadable_files(helper_on, account) -> None:
    """Per file, the helper says what it could not upload; the rest goes on."""
    a, _ = account()
    good = a.write("good.bin", os.urandom(5 * MIB))
    moved = a.write("moved.bin", os.urandom(5 * MIB))
    (a.folder / "adir").mkdir()
    prof = Profile(a.home)
    prof.unlock(PASS)

    async def run() -> list[large.FileDone]:
        api = await open_api(prof)
        async with api:
            await api.get("/v1/account")  # a live session token
            eng = SyncEngine(prof, api)
            try:
                g, m = os.stat(good), os.stat(moved)
                files = [
                    ("good.bin", str(good), g.st_size, g.st_mtime_ns, g.st_ino),
                    # the scan saw another file than the one there now
                    ("moved.bin", str(moved), 1, m.st_mtime_ns, m.st_ino),
                    ("adir", str(a.folder / "adir"), 0, 0, os.stat(a.folder / "adir").st_ino),
                ]
                job = large.Job(
                    server=api.server,
                    token=api.token or "",
                    chunk_id_key=eng.vk.chunk_id_key,
                    chunk_key_key=eng.vk.chunk_key_key,
                    cdc_seed=eng.vk.cdc_seed,
                    state_db=str(eng.state.path),
                )
                helper = large.Helper.start(job)
                assert helper is not None
                try:
                    assert all(helper.give(f) for f in files)
                    helper.end()
                    got = [d async for d in helper.answers()]
                    assert helper.finished and helper.bytes_sent >= 5 * MIB
                finally:
                    helper.stop()
                return got
            finally:
                eng.close()

    got = asyncio.run(run())
    assert [d.path for d in got] == ["good.bin", "moved.bin", "adir"]
    assert got[0].refs and sum(r.size for r in got[0].refs) == 5 * MIB
    assert got[1].refs is None and got[1].problem == "changed"
    # a folder where a file was: open() fails (as root, permissions would not)
    assert got[2].refs is None and got[2].problem not in (None, "changed")


def test_a_failing_helper_leaves_the_work_to_the_parent(
    helper_on, account, second_device, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper that cannot upload (here: a session the server refuses) stops; the parent
    uploads every large file itself and the sync succeeds."""
    start = large.Helper.start

    def with_bad_token(job: large.Job, spare: large.Helper | None = None) -> large.Helper | None:
        return start(dataclasses.replace(job, token="not-a-session"), spare)

    monkeypatch.setattr(large.Helper, "start", staticmethod(with_bad_token))
    a, _ = account()
    bigs = {f"{n}.bin": os.urandom(n * MIB) for n in (5, 7)}
    for rel, data in bigs.items():
        a.write(rel, data)
    a.write("small.txt", "small")
    report = engine_sync(a)
    assert report.by_helper == 0
    assert sorted(report.uploaded) == ["5.bin", "7.bin", "small.txt"]
    b = second_device()
    b.sync()
    assert b.tree() == a.tree()


def test_the_helper_is_used_only_when_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_HELPER", raising=False)
    many = large.HELPER_OTHERS
    assert large.wanted(large.HELPER_BYTES, many) == ((os.cpu_count() or 1) >= 2)
    assert not large.wanted(large.HELPER_BYTES - 1, many)  # too little to gain
    assert not large.wanted(large.HELPER_BYTES, many - 1)  # nothing to overlap with
    monkeypatch.setenv("VAULT_HELPER", "0")
    assert not large.wanted(10 * large.HELPER_BYTES, 10 * many)
    monkeypatch.setenv("VAULT_HELPER", "1")
    assert large.wanted(1, 0) and not large.wanted(0, 0)


def _helpers_of_this_process() -> list[int]:
    """Live helper processes started by this test process."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if (
            int(fields[1]) == os.getpid()
            and fields[0] != "Z"
            and b"vault_client.sync.helper" in cmd
        ):
            found.append(int(d))
    return found


def test_the_scan_starts_the_helper_early_and_the_sync_uses_it(
    account, second_device, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the automatic rule (here with small thresholds), the helper is started while the
    scan finds the new files, then given the job; nothing is left running afterwards."""
    monkeypatch.delenv("VAULT_HELPER", raising=False)
    monkeypatch.setattr(large, "HELPER_BYTES", 8 * MIB)
    monkeypatch.setattr(large, "HELPER_OTHERS", 10)
    spawned: list[str] = []  # where each helper was started from
    spawn = large.Helper.spawn

    def counted() -> large.Helper | None:
        spawned.append(inspect.stack()[1].function)
        return spawn()

    monkeypatch.setattr(large.Helper, "spawn", staticmethod(counted))
    a, _ = account()
    for n in (5, 6):
        a.write(f"big{n}.bin", os.urandom(n * MIB))
    for i in range(12):
        a.write(f"small/{i}.txt", f"small {i}")
    report = engine_sync(a)
    assert spawned == ["scan"] and report.by_helper >= 1
    assert _helpers_of_this_process() == []
    b = second_device()
    b.sync()
    assert b.tree() == a.tree()


def test_a_helper_started_ahead_and_not_needed_is_stopped(account) -> None:
    a, _ = account()
    a.write("only-small.txt", "small")
    prof = Profile(a.home)
    prof.unlock(PASS)

    async def run() -> large.Helper:
        api = await open_api(prof)
        async with api:
            eng = SyncEngine(prof, api, warn=lambda msg: None)
            try:
                spare = large.Helper.spawn()
                assert spare is not None
                eng._spare = spare
                report = await eng.sync()
                assert report.uploaded == ["only-small.txt"] and report.by_helper == 0
                return spare
            finally:
                eng.close()

    spare = asyncio.run(run())
    assert spare.proc.poll() is not None
    assert _helpers_of_this_process() == []
