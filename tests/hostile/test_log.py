"""The change log under a hostile server: replayed, dropped, reordered, swapped, spliced,
injected and flipped entries; a rolled-back server; a fork shown to two devices.

Device ``b`` has verified the log up to its own device record (seq 7); the server holds three
more entries by device ``a`` (seq 8-10: ``lag/big.bin``, ``lag/small.txt``, ``notes.txt`` v2).
Each attack shows ``b`` a forged log; ``b`` must refuse (exit 4, naming the log entry), write
nothing, keep its high-water mark, append nothing; once the tampering stops it syncs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from vault_core.encoding import b64u, canonical_json
from vault_core.errors import EXIT_INTEGRITY

from .harness import World, assert_refused
from .helpers import decode_entry, encode_entry

Log = list[bytes]


def serve_log(world: World, forged: Log, door: str = "b", head: int | None = None) -> None:
    """The proxy shows door ``door`` the log ``forged`` instead of the real one."""

    def head_reply(ex: Any) -> None:
        ex.set_json({"seq": len(forged) if head is None else head})

    def list_reply(ex: Any) -> None:
        from urllib.parse import parse_qs

        q = parse_qs(ex.query)
        after = int(q.get("after", ["0"])[0])
        limit = int(q.get("limit", ["1000"])[0])
        page = forged[after : after + limit]
        ex.set_json(
            {
                "entries": [{"seq": after + i + 1, "entry": b64u(e)} for i, e in enumerate(page)],
                "head": len(forged) if head is None else head,
            }
        )

    world.proxy.on("GET", r"/v1/log/head", door=door, reply=head_reply)
    world.proxy.on("GET", r"/v1/log", door=door, reply=list_reply)


def _swap_member(e1: bytes, e2: bytes, member: str) -> tuple[bytes, bytes]:
    o1, o2 = decode_entry(e1), decode_entry(e2)
    o1[member], o2[member] = o2[member], o1[member]
    return encode_entry(o1), encode_entry(o2)


def _garbage_after(prev_entry: bytes, seq: int, device: str) -> bytes:
    from vault_core.log import LogEntry

    prev = LogEntry.decode(prev_entry).hash()
    return canonical_json(
        {
            "device": device,
            "prev": b64u(prev),
            "rec": b64u(b"VR1" + os.urandom(200)),
            "seq": seq,
            "sig": b64u(os.urandom(64)),
            "time": 1,
            "v": 1,
        }
    )


def forged_logs(world: World) -> dict[str, Callable[[Log], Log]]:
    alice = [e for _, e in world.store.log("alice")]
    dev_b = world.facts["device_b"]

    def swap_recs(g: Log) -> Log:
        e8, e9 = _swap_member(g[7], g[8], "rec")
        return [*g[:7], e8, e9, g[9]]

    def forged_author(g: Log) -> Log:
        o = decode_entry(g[7])
        o["device"] = dev_b  # a known device of the account, not the author
        return [*g[:7], encode_entry(o), *g[8:]]

    def bitflip(g: Log) -> Log:
        o = decode_entry(g[8])
        rec = bytearray(o["rec"].encode())
        rec[40] = ord("A") if rec[40] != ord("A") else ord("B")
        o["rec"] = rec.decode()
        return [*g[:8], encode_entry(o), g[9]]

    return {
        "replayed-entry": lambda g: [*g[:9], g[8]],
        "replayed-old-entry": lambda g: [*g[:7], g[2], *g[8:]],
        "dropped-entry": lambda g: [*g[:8], g[9]],
        "reordered": lambda g: [*g[:7], g[8], g[7], g[9]],
        "swapped-records": swap_recs,
        "forged-author": forged_author,
        "spliced-from-alice": lambda g: [*g[:7], alice[-1], *g[8:]],
        "injected-entry": lambda g: [*g, _garbage_after(g[-1], len(g) + 1, dev_b)],
        "bit-flip": bitflip,
        "seen-entry-deleted": lambda g: [*g[:3], *g[4:]],
    }


CASES = [
    "replayed-entry",
    "replayed-old-entry",
    "dropped-entry",
    "reordered",
    "swapped-records",
    "forged-author",
    "spliced-from-alice",
    "injected-entry",
    "bit-flip",
    "seen-entry-deleted",
]


def attack_forged_log(world: World, case: str) -> dict[str, Any]:
    genuine = [e for _, e in world.store.log("jean")]
    assert len(genuine) == 10
    serve_log(world, forged_logs(world)[case](genuine))
    server_before = world.store.fingerprint()
    cp = world.b.checkpoint()
    res = world.b.run("sync")
    return {"res": res, "cp": cp, "server": server_before}


def check_refused_log(world: World, out: dict[str, Any]) -> None:
    b = world.b
    assert_refused(out["res"], EXIT_INTEGRITY, names=("log entry", "rollback", "log"))
    assert b.tree() == world.facts["b_tree"], "the forged log changed the folder"
    assert b.checkpoint() == out["cp"], "the high-water mark moved past a forged entry"
    assert not b.leftovers()
    assert world.store.fingerprint() == out["server"], "the refused sync wrote to the server"


def check_resumes(world: World) -> None:
    world.proxy.clear()
    world.b.ok("sync")
    assert world.b.tree() == world.a.tree() == world.facts["a_tree"]


@pytest.mark.parametrize("case", CASES)
def test_forged_log_refused(world: World, case: str) -> None:
    out = attack_forged_log(world, case)
    check_refused_log(world, out)
    check_resumes(world)


@pytest.mark.parametrize(
    "case,head,page",
    [
        ("listing-shorter-than-head", 10, 0),
        ("head-below-high-water-mark", 5, 5),
        ("malformed-head", "10", 10),
        ("negative-head", -1, 10),
    ],
)
def test_lying_log_head(world: World, case: str, head: Any, page: int) -> None:
    """The head and the listing disagree, or the head went back in time (a replayed old head
    answer): truncation or rollback, refused before anything is applied."""
    genuine = [e for _, e in world.store.log("jean")]
    serve_log(world, genuine[: max(page, 7)], head=head)
    cp = world.b.checkpoint()
    res = world.b.run("sync")
    assert_refused(res, EXIT_INTEGRITY, names=("log", "rollback"))
    assert world.b.tree() == world.facts["b_tree"]
    assert world.b.checkpoint() == cp
    check_resumes(world)


def test_replayed_old_answers(world: World) -> None:
    """The network replays answers recorded earlier: an old head, an old listing. Device a,
    which has seen more since, refuses them as a rollback; nothing is applied or lost."""
    a = world.a
    a.ok("sync")
    old_head = world.proxy.records("GET", r"/v1/log/head")[-1]
    a.write("papiers/plus-tard.txt", "written after the recorded answers")
    a.ok("sync")
    world.proxy.on("GET", r"/v1/log/head", door="a", reply=lambda ex: ex.replay(old_head))
    tree, cp = a.tree(), a.checkpoint()
    assert_refused(a.run("sync"), EXIT_INTEGRITY, names=("rollback",))
    assert a.tree() == tree and a.checkpoint() == cp
    world.proxy.clear()
    a.ok("sync")
    world.b.ok("sync")
    assert world.b.read("papiers/plus-tard.txt") == b"written after the recorded answers"


# -- the same attacks on the server's own storage -----------------------------------------------


STORAGE_CASES: dict[str, Callable[[Log, Log], Log]] = {
    "rows-swapped": lambda g, a: [*g[:7], g[8], g[7], g[9]],
    "row-dropped-and-renumbered": lambda g, a: [*g[:8], g[9]],
    "row-from-another-account": lambda g, a: [*g[:8], a[-1], g[9]],
    "seen-row-deleted": lambda g, a: [*g[:4], *g[5:]],
    "records-swapped": lambda g, a: [*g[:7], *_swap_member(g[7], g[8], "rec"), g[9]],
}


@pytest.mark.parametrize("case", sorted(STORAGE_CASES))
def test_edited_log_rows_refused(world: World, case: str) -> None:
    genuine = [e for _, e in world.store.log("jean")]
    alice = [e for _, e in world.store.log("alice")]
    world.store.replace_log("jean", STORAGE_CASES[case](genuine, alice))
    out = {"res": None, "cp": world.b.checkpoint(), "server": world.store.fingerprint()}
    out["res"] = world.b.run("sync")
    check_refused_log(world, out)
    # device a saw all of it: a shorter log is a rollback; an edit below its high-water mark
    # is never shown to it (it does not read its verified history again)
    res = world.a.run("sync")
    if len(world.store.log("jean")) < 10:
        assert_refused(res, EXIT_INTEGRITY, names=("rollback",))
    else:
        assert res.returncode == 0, res.stderr
    assert world.a.tree() == world.facts["a_tree"]
    world.store.replace_log("jean", genuine)  # the tampering stops
    check_resumes(world)


# -- rollback of the whole server ---------------------------------------------------------------


def test_rollback_of_whole_server(world: World) -> None:
    a, b = world.a, world.b
    world.store.snapshot("old", world.root / "snapshots" / "old-server")
    b.ok("sync")
    a.write("papiers/nouveau.txt", "written after the snapshot")
    a.ok("sync")
    b.ok("sync")
    world.store.snapshot("new", world.root / "snapshots" / "new-server")
    a.write("papiers/local-edit.txt", "not yet synced")  # a pending local change
    trees = {a.name: a.tree(), b.name: b.tree()}
    cps = {a.name: a.checkpoint(), b.name: b.checkpoint()}
    world.store.restore("old")  # the server forgets the last entries
    rolled = world.store.fingerprint()
    for dev in (a, b):
        msg = assert_refused(dev.run("sync"), EXIT_INTEGRITY, names=("rollback",))
        assert "older" in msg or "rollback" in msg
        assert dev.tree() == trees[dev.name]
        assert dev.checkpoint() == cps[dev.name]
    # other commands that read the log refuse as well
    assert_refused(a.run("status"), EXIT_INTEGRITY, names=("rollback",))
    assert_refused(
        a.run("share", "create", "papiers/acte.txt", "--expires", "1h"),
        EXIT_INTEGRITY,
        names=("rollback",),
    )
    assert world.store.fingerprint() == rolled, "a refused command wrote to the server"
    world.store.restore("new")  # the tampering stops
    a.ok("sync")
    b.ok("sync")
    assert a.tree() == b.tree()
    assert a.read("papiers/local-edit.txt") == b"not yet synced"
    assert b.read("papiers/nouveau.txt") == b"written after the snapshot"


# -- a fork: two devices shown two histories ----------------------------------------------------


def test_fork_between_two_devices(world: World, tmp_path: Any) -> None:
    a, b = world.a, world.b
    b.ok("sync")  # both devices at the same head
    other = world.second_server("fork")
    world.proxy.set_upstream(other.url, door="b")  # b now talks to a copy of the server
    a.write("branch-a.txt", "only on the real server")
    a.ok("sync")
    b.write("branch-b.txt", "only on the copy")
    b.ok("sync")  # each branch looks fine on its own
    # equal lengths: each device, shown the other branch, sees "nothing new" (a fork is only
    # detected once a device is shown an entry of the other branch; SPEC residual risks)
    world.proxy.set_upstream(world.server.url, door="b")
    b.ok("sync")
    assert "branch-a.txt" not in b.tree()
    world.proxy.set_upstream(other.url, door="b")
    # the real branch grows: a device of the other branch now sees a foreign entry
    a.write("branch-a2.txt", "more on the real server")
    a.ok("sync")
    trees = {"a": a.tree(), "b": b.tree()}
    world.proxy.set_upstream(world.server.url, door="b")
    world.proxy.set_upstream(other.url, door="a")
    assert_refused(b.run("sync"), EXIT_INTEGRITY, names=("log entry",))  # forked history
    assert_refused(a.run("sync"), EXIT_INTEGRITY, names=("rollback",))  # shorter branch
    for dev in (a, b):
        assert dev.tree() == trees[dev.name], "a forked entry reached the folder"
    assert "branch-a.txt" not in b.tree() and "branch-b.txt" not in a.tree()
    # the tampering stops: a is on the real server again and fine; b's branch is lost to the
    # server but not to its owner: a new device on b's folder brings its file back
    world.proxy.set_upstream(world.server.url, door="a")
    a.ok("sync")
    b2 = world.device("b2")
    for rel, data in b.tree().items():  # the owner moves b's folder to a new device
        b2.write(rel, data)
    b2.ok("login", "--server", b2.url, "--user", "jean", "--folder", str(b2.folder))
    b2.ok("sync")
    a.ok("sync")
    assert a.read("branch-b.txt") == b"only on the copy"
    assert b2.read("branch-a2.txt") == b"more on the real server"
    assert a.tree() == b2.tree()
