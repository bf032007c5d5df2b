"""Edge cases of the desktop client: ignore rules, temporary files, passphrase change,
status, names a file system cannot hold, and bounded memory on a large file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from vault_core.errors import EXIT_AUTH

from .conftest import PASS


def test_ignore_rules_and_partial_files(account, second_device):
    a, _ = account()
    a.write(".vaultignore", "brouillons/\n*.bak\n")
    a.write("brouillons/note.txt", "draft")
    a.write("lettre.bak", "old")
    a.write("download.pdf.part", "half")
    a.write("~$lettre.docx", "office lock")
    a.write("lettre.txt", "kept")
    a.sync()
    b = second_device()
    b.sync()
    assert set(b.tree()) == {".vaultignore", "lettre.txt"}


def test_status_lists_pending(account):
    a, _ = account()
    a.write("a.txt", "a")
    items = json.loads(a.run("status", "--json").stdout)
    assert {"id": "a.txt", "path": "a.txt", "action": "upload"} in items
    a.sync()
    assert [i for i in json.loads(a.run("status", "--json").stdout) if i.get("action")] == []
    assert "up to date" in a.run("status").stdout


def test_passphrase_change(server, account, make_device):
    a, _ = account()
    a.run("passphrase", env={"VAULT_NEW_PASSPHRASE": "une nouvelle phrase secrète"})
    a.passphrase = "une nouvelle phrase secrète"
    a.write("x.txt", "x")
    a.sync()  # this device keeps working with the new passphrase
    old = make_device("old")
    res = old.run(
        "login", "--server", server.url, "--user", "jean", "--folder", str(old.folder), check=False
    )
    assert res.returncode == EXIT_AUTH
    new = make_device("new")
    new.passphrase = "une nouvelle phrase secrète"
    new.run("login", "--server", server.url, "--user", "jean", "--folder", str(new.folder))
    new.sync()
    assert new.read("x.txt") == b"x"


def test_name_too_long_for_the_file_system(server, account, second_device):
    """A record whose name the local file system cannot hold is skipped with a warning, not
    crashed on, and the rest of the sync completes."""
    import asyncio

    from vault_client.profile import Profile
    from vault_client.session import open_api
    from vault_client.sync import SyncEngine, Uploader

    a, _ = account()
    b = second_device()
    a.write("normal.txt", "ok")
    a.write("short.txt", "deep content")
    a.sync()
    # a valid vault path (< 4096 bytes, components < 256 bytes) whose absolute form on B
    # exceeds Linux's PATH_MAX: published by A's engine from its local "short.txt"
    deep = "/".join(["x" * 254] * 16) + "/f.txt"
    prof = Profile(a.home)
    prof.unlock(PASS)

    async def publish() -> None:
        api = await open_api(prof)
        async with api:
            eng = SyncEngine(prof, api)
            try:
                v = await eng.pull()
                lf = eng.folder.stat("short.txt")
                up = Uploader(api, eng.state)
                rec, refs = await eng.build_upload(
                    up, "short.txt", deep, eng.hash_file(lf), None, 0, lf, None
                )
                await up.flush()
                await eng.append(v, [rec], [refs])
            finally:
                eng.close()

    asyncio.run(publish())
    res = b.run("sync", check=False)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "skipped" in res.stderr
    assert b.read("normal.txt") == b"ok"
    assert b.read("short.txt") == b"deep content"


def _peak_rss_kib(pid: int, stop: threading.Event, out: list[int]) -> None:
    peak = 0
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.05)
    out.append(peak)


@pytest.mark.slow
def test_two_gib_file_bounded_memory(server, account, second_device):
    a, _ = account()
    size = 2 * 1024**3
    block = os.urandom(1 << 20)
    with open(a.folder / "grand.bin", "wb") as f:
        for i in range(size // len(block)):
            f.write(block[:-8] + i.to_bytes(8, "big"))  # no two MiB alike: no dedup
    env = {**os.environ, "VAULT_PASSPHRASE": PASS}
    results: dict[str, int] = {}
    for name, dev in (("upload", a), ("download", None)):
        if dev is None:
            dev = second_device()
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault_client.cli", "--home", str(dev.home), "sync"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stop = threading.Event()
        client_peak: list[int] = []
        server_peak: list[int] = []
        threads = [
            threading.Thread(target=_peak_rss_kib, args=(proc.pid, stop, client_peak)),
            threading.Thread(target=_peak_rss_kib, args=(server.proc.pid, stop, server_peak)),
        ]
        for t in threads:
            t.start()
        _, err = proc.communicate(timeout=600)
        stop.set()
        for t in threads:
            t.join()
        assert proc.returncode == 0, err
        results[f"{name}_client_mib"] = client_peak[0] // 1024
        results[f"{name}_server_mib"] = server_peak[0] // 1024
    print(results)
    assert all(v < 200 for v in results.values()), results
    b_file = next(p for p in (a.folder.parent).rglob("grand.bin") if "folder-B" in str(p))
    assert b_file.stat().st_size == size
    assert re.search(r"\d+ downloaded", err)


def test_large_and_small_files_upload_together(account, second_device):
    """Large files stream through the chunk pipeline while the small ones go alongside; a
    deletion in the same sync and every file's bytes come out right on another device."""
    a, _ = account()
    a.write("gone.txt", "deleted in the same sync")
    a.sync()
    (a.folder / "gone.txt").unlink()
    for i in range(2):
        a.write(f"big/{i}.bin", os.urandom(5 * 1024 * 1024 + i))
    for i in range(150):
        a.write(f"small/{i:03d}.txt", f"small file {i}\n" * (i + 1))
    res = a.sync()
    assert "152 uploaded" in res.stderr and "1 deleted" in res.stderr, res.stderr
    b = second_device()
    b.sync()
    assert b.tree() == a.tree()
    assert "gone.txt" not in b.tree()
    # nothing left to do on either side
    assert "0 uploaded, 0 downloaded, 0 deleted" in a.sync().stderr


async def test_together_raises_the_first_failure_as_is_and_cancels_the_rest():
    import asyncio

    from vault_client.sync import _together
    from vault_core.errors import Conflict

    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        raise Conflict("moved")

    with pytest.raises(Conflict):  # not wrapped in an ExceptionGroup: the sync re-plans on it
        await _together(slow(), fails())
    assert cancelled.is_set()
    done: list[int] = []

    async def ok(n: int) -> None:
        await asyncio.sleep(0)
        done.append(n)

    await _together(ok(1), ok(2))
    assert sorted(done) == [1, 2]


def test_new_device_asks_before_sending_chunks_the_account_has(server, account, make_device):
    """A device's first sync on an account that already holds files asks which blobs are
    missing: its own copy of a document, edited at the end, costs the changed chunks, not the
    whole file again."""
    a, _ = account()
    data = os.urandom(6 * 1024 * 1024)
    a.write("scan.pdf", data)
    a.sync()
    b = make_device("B")
    b.write("scan.pdf", data[: -64 * 1024] + os.urandom(64 * 1024))  # before the login
    b.run("login", "--server", server.url, "--user", "jean", "--folder", str(b.folder))
    res = b.sync()
    sent = int(re.search(r"(\d+) bytes sent", res.stderr).group(1))
    assert 0 < sent < 2 * 1024 * 1024, sent  # (6 MiB if it resent every chunk)
    names = sorted(p.name for p in b.folder.iterdir() if not p.name.startswith("."))
    assert len(names) == 2 and "scan.pdf" in names  # the two versions are kept side by side
