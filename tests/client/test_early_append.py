"""Records appended in the background while a sync still uploads (SyncEngine._execute).

A sync of many files appends their signed entries in several compare-and-swap appends as they
pile up, not in one at the end. The log must come out the same: every file once, in order,
readable by another device, and a sync after it with nothing to do; an append refused because
another device moved the head makes the sync re-plan, losing nothing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from vault_client import sync as sync_mod
from vault_client.account import open_api
from vault_client.profile import Profile
from vault_client.sync import SyncEngine, SyncReport

from .conftest import PASS


def engine_sync(dev: Any, on_append: Any = None) -> tuple[SyncReport, list[int]]:
    """One sync of ``dev`` in this process; the number of entries of each log append."""
    prof = Profile(dev.home)
    prof.unlock(PASS)
    appends: list[int] = []

    async def run() -> SyncReport:
        api = await open_api(prof)
        post = api.post

        async def counting_post(path: str, body: Any = None, **kw: Any) -> Any:
            if path == "/v1/log":
                if on_append is not None:
                    await asyncio.to_thread(on_append, len(appends))
                appends.append(len(body["entries"]))
            return await post(path, body, **kw)

        api.post = counting_post  # type: ignore[method-assign]
        async with api:
            eng = SyncEngine(prof, api, warn=lambda msg: None)
            try:
                return await eng.sync()
            finally:
                eng.close()

    return asyncio.run(run()), appends


@pytest.fixture
def small_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_mod, "EARLY_APPEND", 7)
    monkeypatch.setattr(sync_mod, "BATCH_COUNT", 5)  # several batches on the wire at once


def test_entries_appended_while_uploading(small_early, account, second_device) -> None:
    a, _ = account()
    files = {f"notes/{i:02}.txt": f"note {i}" for i in range(40)}
    for rel, text in files.items():
        a.write(rel, text)
    report, appends = engine_sync(a)
    assert sorted(report.uploaded) == sorted(files)
    assert len(appends) >= 3 and sum(appends) == 40, appends  # several appends, each file once
    assert "0 uploaded, 0 downloaded" in a.sync().stderr
    b = second_device()
    b.sync()
    assert {rel: b.read(rel).decode() for rel in files} == files
    for rel in files:  # one version each: no entry appended twice
        assert len(json.loads(a.run("history", rel, "--json").stdout)) == 1


def test_append_refused_mid_sync_replans(small_early, account, second_device) -> None:
    a, _ = account()
    a.write("seed.txt", "seed")
    a.sync()
    b = second_device()
    b.sync()
    files = {f"docs/{i:02}.txt": f"doc {i}" for i in range(30)}
    for rel, text in files.items():
        a.write(rel, text)

    def other_device_first(n: int) -> None:
        if n == 0:  # before the first append of a's sync: b moves the head
            b.write("from-b.txt", "b")
            b.sync()

    report, appends = engine_sync(a, other_device_first)
    assert set(report.uploaded) == set(files)
    assert len(appends) >= 2  # the refused one, then the re-planned ones
    assert a.read("from-b.txt") == b"b"  # the re-plan pulled b's file
    b.sync()
    assert {rel: b.read(rel).decode() for rel in files} == files
    for rel in files:  # each file once in the log, whatever was appended before the refusal
        assert len(json.loads(a.run("history", rel, "--json").stdout)) == 1
