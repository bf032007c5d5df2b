"""Two and three devices syncing through a real server: create, edit, rename, delete,
restore, conflicts, and the recovery / revocation flows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from vault_core.errors import EXIT_AUTH, EXIT_USAGE


def test_init_prints_recovery_key_last(account):
    dev, recovery = account()
    assert len(recovery.replace("-", "")) >= 54
    assert (dev.home / "secrets.bin").exists()
    mode = os.stat(dev.home / "secrets.bin").st_mode & 0o777
    assert mode == 0o600
    assert b"correct horse" not in (dev.home / "secrets.bin").read_bytes()
    dev.write("a.txt", "a")
    dev.sync()
    assert os.stat(dev.home).st_mode & 0o777 == 0o700
    for f in dev.home.iterdir():
        assert f.stat().st_mode & 0o077 == 0, f  # nothing readable by group or others


def test_two_devices_create_edit_delete(account, second_device):
    a, _ = account()
    a.write("papiers/acte.txt", "acte de naissance")
    a.write("avis.pdf", os.urandom(300_000))
    a.sync()
    b = second_device()
    b.sync()
    assert b.tree() == a.tree()

    b.write("papiers/acte.txt", "acte de naissance v2")
    b.sync()
    a.sync()
    assert a.read("papiers/acte.txt") == b"acte de naissance v2"

    (a.folder / "avis.pdf").unlink()
    a.sync()
    b.sync()
    assert not (b.folder / "avis.pdf").exists()
    assert b.tree() == a.tree()

    hist = json.loads(a.run("history", "avis.pdf", "--json").stdout)
    assert [h["deleted"] for h in hist] == [False, True]


def test_rename_and_restore(account, second_device):
    a, _ = account()
    a.write("x/old.txt", "contenu")
    a.sync()
    os.rename(a.folder / "x/old.txt", a.folder / "x/new.txt")
    a.sync()
    b = second_device()
    b.sync()
    assert b.tree() == {"x/new.txt": b"contenu"}
    # restore the deleted old name
    b.run("restore", "x/old.txt")
    assert b.read("x/old.txt") == b"contenu"
    a.sync()
    assert a.read("x/old.txt") == b"contenu"


def test_restore_previous_version(account):
    a, _ = account()
    a.write("f.txt", "v1")
    a.sync()
    a.write("f.txt", "v2 longer")
    a.sync()
    a.run("restore", "f.txt")
    assert a.read("f.txt") == b"v1"
    hist = json.loads(a.run("history", "f.txt", "--json").stdout)
    assert len(hist) == 3
    a.run("restore", "f.txt", "--version", "2")
    assert a.read("f.txt") == b"v2 longer"


def test_conflict_keeps_both(account, second_device):
    a, _ = account()
    a.write("avis.pdf", "original")
    a.sync()
    b = second_device()
    b.sync()
    a.write("avis.pdf", "edit from A")
    b.write("avis.pdf", "edit from B, longer")
    a.sync()
    b.sync()
    a.sync()
    tree_a, tree_b = a.tree(), b.tree()
    assert tree_a == tree_b
    assert tree_a["avis.pdf"] == b"edit from A"
    copies = [k for k in tree_a if k.startswith("avis (conflict, B, ")]
    assert len(copies) == 1 and copies[0].endswith(".pdf")
    assert tree_a[copies[0]] == b"edit from B, longer"


def test_folder_deleted_while_file_edited(account, second_device):
    a, _ = account()
    a.write("dossier/a.txt", "a")
    a.write("dossier/b.txt", "b")
    a.sync()
    b = second_device()
    b.sync()
    for name in ("a.txt", "b.txt"):
        (a.folder / "dossier" / name).unlink()
    (a.folder / "dossier").rmdir()
    b.write("dossier/a.txt", "a edited on B")
    a.sync()
    b.sync()
    a.sync()
    assert a.tree() == b.tree()
    assert a.tree()["dossier/a.txt"] == b"a edited on B"


def test_three_devices_converge(account, second_device):
    a, _ = account()
    b = second_device(name="B")
    c = second_device(name="C")
    a.write("1.txt", "one")
    b.write("2.txt", "two")
    c.write("3.txt", "three")
    for d in (a, b, c, a, b):
        d.sync()
    assert a.tree() == b.tree() == c.tree() == {"1.txt": b"one", "2.txt": b"two", "3.txt": b"three"}


def test_mass_delete_guard(account):
    a, _ = account()
    for i in range(10):
        a.write(f"doc{i}.txt", f"doc {i}")
    a.sync()
    for i in range(10):
        (a.folder / f"doc{i}.txt").unlink()
    r = a.run("sync", check=False)
    assert r.returncode == EXIT_USAGE
    assert "delete" in r.stderr
    a.sync("--yes")
    assert a.tree() == {}


def test_recovery_key_flow(server, account, make_device):
    a, recovery = account()
    a.write("f.txt", "keep me")
    a.sync()
    r = make_device("R")
    r.passphrase = "a brand new passphrase"
    r.run(
        "recover",
        "--server",
        server.url,
        "--user",
        "jean",
        "--folder",
        str(r.folder),
        env={"VAULT_RECOVERY_KEY": recovery},
    )
    r.sync()
    assert r.read("f.txt") == b"keep me"
    # the old passphrase no longer logs in
    old = make_device("old")
    res = old.run(
        "login", "--server", server.url, "--user", "jean", "--folder", str(old.folder), check=False
    )
    assert res.returncode == EXIT_AUTH, res.stderr
    assert "Traceback" not in res.stderr
    # the new one does
    new = make_device("new")
    new.passphrase = "a brand new passphrase"
    new.run("login", "--server", server.url, "--user", "jean", "--folder", str(new.folder))


def test_revoked_device_refused(account, second_device):
    a, _ = account()
    b = second_device()
    devices = json.loads(a.run("devices", "--json").stdout)
    b_id = next(d["id"] for d in devices if d["name"] == "B")
    a.run("devices", "revoke", b_id)
    res = b.run("sync", check=False)
    assert res.returncode == EXIT_AUTH, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_wrong_passphrase_exit_3(account):
    a, _ = account()
    a.passphrase = "wrong"
    res = a.run("sync", check=False)
    assert res.returncode == EXIT_AUTH
    assert "Traceback" not in res.stderr


def test_a_file_replaces_an_empty_folder_of_the_same_name(account, second_device):
    """Found by the stateful test: B's folder d/ emptied by deleting its files, A creates a
    file named d; B gets the file (an empty folder holds nothing synced), a non-empty one
    stays and the file arrives beside it as a conflict copy."""
    a, _ = account()
    b = second_device()
    b.write("d/c.txt", "soon gone")
    (b.folder / "d" / "c.txt").unlink()
    a.write("d", "a file named d")
    a.write("e", "another file")
    a.sync()
    (b.folder / "e").mkdir()
    b.write("e/kept.txt", "not synced yet")
    res = b.run("sync", check=False)
    assert b.read("d") == b"a file named d"
    assert (b.folder / "e").is_dir() and b.read("e/kept.txt") == b"not synced yet"
    assert res.returncode == 0 and "Traceback" not in res.stderr
    copies = [p for p in b.folder.iterdir() if p.name.startswith("e (conflict, ")]
    assert len(copies) == 1 and copies[0].read_bytes() == b"another file"


# modules a sync with nothing to do must not load (start-up time of the common case)
_LAZY = (
    "vault_core.planner",
    "vault_core.manifest",
    "vault_client.sync.helper",
    "vault_client.service.shares",
    "vault_core.grants",
    "pyfastcdc",
    "vault_core._malloc",  # (the allocator knob: where transfers start)
)


def _loaded_by_sync(dev, tmp_path) -> set[str]:
    out = tmp_path / "modules.txt"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(' '.join(sys.modules)))\n"
        "from vault_client.cli import main\n"
        f"sys.argv = ['vault', '--home', {str(dev.home)!r}, 'sync']\n"
        "main()\n"
    )
    env = {**os.environ, "VAULT_PASSPHRASE": dev.passphrase, **dev.env}
    env.pop("VAULT_HOME", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return set(out.read_text().split()) & set(_LAZY)


def test_no_change_sync_loads_only_what_it_needs(account, tmp_path):
    a, _ = account()
    a.write("doc.txt", "x")
    a.sync()
    # a sync with nothing to do: none of the planner, manifests, chunker, helper, shares
    assert _loaded_by_sync(a, tmp_path) == set()
    # and the check sees them when a sync has work (a new file, small: no chunker)
    a.write("new.txt", "y")
    assert {"vault_core.planner", "vault_core.manifest"} <= _loaded_by_sync(a, tmp_path)


def _sync_with_walk(dev, walk):
    """One sync of ``dev`` by an engine in this process, given the walk ``prewalk`` made."""
    import asyncio

    from vault_client.profile import Profile
    from vault_client.session import open_api
    from vault_client.sync import SyncEngine

    from .conftest import PASS

    prof = Profile(dev.home)
    prof.unlock(PASS)

    async def run():
        api = await open_api(prof)
        async with api:
            eng = SyncEngine(prof, api, warn=lambda msg: None, prewalk=walk)
            try:
                return await eng.sync()
            finally:
                eng.close()

    return asyncio.run(run())


def test_scan_uses_the_walk_made_during_the_unlock(account):
    """`vault sync` walks the folder while Argon2id runs; a sync that is not a no-change one
    scans from that walk instead of walking again (a file added after it waits for the
    next sync, as one added during any sync does)."""
    from vault_client.sync import prewalk

    a, _ = account()
    a.write("first.txt", "1")
    walk = prewalk(a.folder, a.home / "state.db")
    walk.result()
    a.write("later.txt", "2")  # after the walk
    assert _sync_with_walk(a, walk).uploaded == ["first.txt"]
    assert "1 uploaded" in a.sync().stderr  # later.txt, by the next sync


def test_when_the_no_change_check_finds_a_change_the_scan_uses_its_walk(account):
    """After a sync that left everything settled, the no-change check compares the walk with
    the scan cache; when a file changed, the scan goes on from that same walk (it walked the
    whole folder a second time: ~85 ms for 10,000 files)."""
    from vault_client.sync import prewalk

    a, _ = account()
    a.write("one.txt", "1")
    a.sync()
    a.write("one.txt", "one, edited")
    walk = prewalk(a.folder, a.home / "state.db")
    walk.result()
    a.write("later.txt", "2")  # after the walk: not seen by this sync
    assert _sync_with_walk(a, walk).uploaded == ["one.txt"]
    assert "1 uploaded" in a.sync().stderr  # later.txt, by the next sync


def test_the_http_client_is_imported_ahead_only_when_the_folder_changed(account):
    """The walk made during the unlock starts importing aiohttp when the folder is not as the
    last scan left it (the sync will upload), and not for a no-change sync."""
    import subprocess
    import sys

    a, _ = account()
    a.write("one.txt", "1")
    a.sync()
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from vault_client import api\n"
        "from vault_client.sync import prewalk\n"
        f"prewalk(Path({str(a.folder)!r}), Path({str(a.home / 'state.db')!r})).result()\n"
        "if api._preparing is not None:\n"
        "    api._preparing.join()\n"
        "print('aiohttp' in sys.modules)\n"
    )

    def imported() -> bool:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip() == "True"

    assert not imported()
    a.write("two.txt", "2")
    assert imported()
    a.sync()
    assert not imported()
    (a.folder / "one.txt").unlink()
    assert imported()


def test_small_files_travel_inside_their_manifests(account, second_device, server):
    """A file shorter than a minimum chunk (64 KiB) is one blob on the server, its manifest
    (SPEC §Manifests, inline); a larger one is its chunks plus a manifest. Both arrive whole on
    another device, and a new version of a small file is again one blob."""
    from .test_integrity import stored_blobs

    def present() -> int:
        return len(stored_blobs(server))

    a, _ = account()
    before = present()
    a.write("un-octet.txt", b"x")
    a.write("lettre.txt", os.urandom(1000))
    a.write("presque.bin", os.urandom(65535))
    a.sync()
    assert present() - before == 3  # one manifest each, no chunk
    a.write("grand.bin", os.urandom(70_000))  # two chunks at most: 64 KiB minimum
    a.sync()
    added = present() - before - 3
    assert 2 <= added <= 3  # its chunk(s) and its manifest
    b = second_device()
    b.sync()
    assert b.tree() == a.tree()
    b.write("lettre.txt", b"version 2")
    b.sync()
    assert present() - before - 3 - added == 1
    a.sync()
    assert a.read("lettre.txt") == b"version 2"


def test_a_no_change_sync_never_loads_the_http_client(account):
    """A whole `vault sync` with nothing to do goes over the one stdlib request and never
    imports aiohttp (a tenth of a second of start-up: session 8 lost it through one top-level
    import in the service layer, and the no-change re-sync went from 0.30 to 0.42 s)."""
    a, _ = account()
    a.write("one.txt", "1")
    a.sync()
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(f\"\\nAIOHTTP={'aiohttp' in sys.modules}\\n\"))\n"
        "sys.argv[0] = 'vault'\n"
        "from vault_client.cli import main\n"
        "main()\n"
    )
    out = a.run("sync")  # the same command, for its output
    assert "0 uploaded" in out.stderr
    proc = subprocess.run(
        [sys.executable, "-c", probe, "--home", str(a.home), "sync"],
        capture_output=True,
        text=True,
        env={**os.environ, "VAULT_PASSPHRASE": a.passphrase},
    )
    assert proc.returncode == 0, proc.stderr
    assert "AIOHTTP=False" in proc.stderr
    a.write("two.txt", "2")  # with something to send, the client is loaded (the probe can fail)
    proc = subprocess.run(
        [sys.executable, "-c", probe, "--home", str(a.home), "sync"],
        capture_output=True,
        text=True,
        env={**os.environ, "VAULT_PASSPHRASE": a.passphrase},
    )
    assert proc.returncode == 0, proc.stderr
    assert "AIOHTTP=True" in proc.stderr
