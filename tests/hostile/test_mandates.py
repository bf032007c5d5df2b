"""Helper mandates against a hostile server (SPEC §Mandates): a helper action the server
forges (an entry in the owner's log under the mandate, sealed to him as hers are, but not
signed by her key), one it hides (her entry dropped from the log), a revoked helper the server
lets in again, scopes the server widens, a forward it tampers with. Each time: refused loudly
(exit 4 or 5, one line), nothing fake written or shown as genuine, nothing lost once the
tampering stops.

Jean (devices ``a`` and ``b``) gives Bouchra (device ``c``, who already pinned his key) a
mandate; she acts with her own account.
"""

from __future__ import annotations

import os
import time

from vault_core import _crypto
from vault_core.encoding import unb64u
from vault_core.errors import EXIT_ACCESS, EXIT_INTEGRITY
from vault_core.log import FileRecord, HelperRecord, LogEntry, entry_hash, make_helper_entry

from .harness import World, assert_refused


def _grant(world: World, *scopes: str) -> str:
    args = ["mandate", "grant", "--to", "bouchra", "--duration", "30d", "--name", "Bouchra"]
    for s in scopes:
        args += ["--scope", s]
    return world.a.last_line(*args)


def _upload(world: World, name: str, data: bytes, to: str = "dossier") -> None:
    local = world.root / "bouchra-files" / name
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    world.c.ok("act-for", "jean", "upload", str(local), "--to", to)


def _append_row(world: World, entry: bytes, device_id: str) -> None:
    acc = world.store.account_id("jean")
    with world.store.tx() as conn:
        (head,) = conn.execute("SELECT log_head FROM accounts WHERE id=?", (acc,)).fetchone()
        conn.execute(
            "INSERT INTO log_entries(account_id, seq, entry, device_id, created_at)"
            " VALUES(?,?,?,?,0)",
            (acc, head + 1, entry, device_id),
        )
        conn.execute("UPDATE accounts SET log_head=? WHERE id=?", (head + 1, acc))


def _forged_entry(world: World, mandate_id: str, path: str) -> bytes:
    """What the server can make: a helper record sealed to Jean's public box key, chained to
    the head it holds, signed by a key of its own (not Bouchra's)."""
    log = world.store.log("jean")
    seq, last = log[-1]
    owner_box_pk = unb64u(world.store.identity("jean")["box_pk"])
    _, server_sk = _crypto.sign_keypair(os.urandom(32))
    record = HelperRecord(
        mandate_id,
        "upload",
        {},
        FileRecord(
            file_id=os.urandom(16).hex(),
            version=1,
            path=path,
            deleted=False,
            size=5,
            mtime=int(time.time() * 1000),
            content=os.urandom(32),
            manifest=os.urandom(32).hex(),
            key=os.urandom(32),
        ),
    )
    entry = make_helper_entry(
        handle="jean",
        owner_box_pk=owner_box_pk,
        helper_sign_sk=server_sk,
        seq=seq + 1,
        prev=entry_hash(last),
        time=int(time.time() * 1000),
        record=record,
        ephemeral=os.urandom(32),
    )
    return entry.encode()


def test_helper_action_forged_by_the_server_is_refused(world: World) -> None:
    mid = _grant(world, "upload:dossier")
    _upload(world, "vrai.txt", b"un vrai document de Bouchra\n")
    world.a.ok("sync")
    assert world.a.read("dossier/vrai.txt") == b"un vrai document de Bouchra\n"
    a_tree, a_cp, b_tree = world.a.tree(), world.a.checkpoint(), world.b.tree()

    forged = _forged_entry(world, mid, "dossier/faux.txt")
    _append_row(world, forged, mid)
    for dev in (world.a, world.b):
        assert_refused(dev.run("sync"), EXIT_INTEGRITY, names=("log entry",))
    assert world.a.tree() == a_tree and world.a.checkpoint() == a_cp
    assert world.b.tree() == b_tree and "dossier/faux.txt" not in world.b.tree()
    out = world.a.run("mandate", "log", mid)
    assert_refused(out, EXIT_INTEGRITY)

    # nothing lost: once the server stops, both devices go on and hold her genuine document
    world.store.execute(
        "DELETE FROM log_entries WHERE account_id=? AND entry=?", world.store.account_id("jean"),
        forged,
    )  # fmt: skip
    world.store.execute("UPDATE accounts SET log_head=log_head-1 WHERE handle=?", "jean")
    world.a.ok("sync")
    world.b.ok("sync")
    assert world.b.read("dossier/vrai.txt") == b"un vrai document de Bouchra\n"
    assert "Bouchra added dossier/vrai.txt" in world.a.ok("mandate", "log", mid)


def test_helper_action_hidden_by_the_server_is_caught(world: World) -> None:
    mid = _grant(world, "upload:dossier")
    _upload(world, "un.txt", b"premier\n")
    _upload(world, "deux.txt", b"second\n")
    world.a.ok("sync")  # device a has seen both of her entries
    b_tree, b_cp = world.b.tree(), world.b.checkpoint()
    log = world.store.log("jean")
    hers = [i for i, (_, e) in enumerate(log) if LogEntry.decode(e).device_id == mid]
    assert len(hers) == 2

    # her first entry dropped (the later ones renumbered): device b, which never saw the log
    # past its checkpoint, finds the chain broken; device a, which saw the head, a rollback
    entries = [e for i, (_, e) in enumerate(log) if i != hers[0]]
    world.store.replace_log("jean", entries)
    assert_refused(world.b.run("sync"), EXIT_INTEGRITY, names=("log",))
    assert world.b.tree() == b_tree and world.b.checkpoint() == b_cp
    assert_refused(world.a.run("sync"), EXIT_INTEGRITY, names=("log",))

    # her last entry dropped after device a saw it: a rollback for a
    world.store.replace_log("jean", [e for _, e in log[:-1]])
    assert_refused(world.a.run("sync"), EXIT_INTEGRITY, names=("log",))
    # the genuine log back: nothing lost
    world.store.replace_log("jean", [e for _, e in log])
    world.b.ok("sync")
    assert world.b.read("dossier/un.txt") == b"premier\n"
    assert world.b.read("dossier/deux.txt") == b"second\n"


def test_revoked_helper_let_in_by_the_server_is_caught(world: World) -> None:
    mid = _grant(world, "upload:dossier")
    world.a.ok("mandate", "revoke", mid)
    world.a.ok("sync")
    a_tree, a_cp = world.a.tree(), world.a.checkpoint()
    # her client refuses on the server's word (revoked)...
    local = world.root / "late.txt"
    local.write_bytes(b"after the revocation\n")
    out = world.c.run("act-for", "jean", "upload", str(local), "--to", "dossier")
    assert_refused(out, EXIT_ACCESS, names=("revoked",))
    # ...and when the server says "active" again and takes her entry, Jean's devices refuse it:
    # the log ended the mandate before it
    world.store.execute("UPDATE mandates SET revoked_at=NULL WHERE id=?", mid)
    world.c.ok("act-for", "jean", "upload", str(local), "--to", "dossier")
    assert_refused(world.a.run("sync"), EXIT_INTEGRITY, names=("log entry",))
    assert world.a.tree() == a_tree and world.a.checkpoint() == a_cp
    assert "dossier/late.txt" not in world.b.tree()
    assert_refused(world.b.run("sync"), EXIT_INTEGRITY, names=("log entry",))
    assert "dossier/late.txt" not in world.b.tree()


def test_scopes_widened_by_the_server_do_not_widen_her_mandate(world: World) -> None:
    mid = _grant(world, "upload:dossier")
    world.store.execute("UPDATE mandates SET kinds=? WHERE id=?", "inbox,read,requests,upload", mid)
    head = world.store.log("jean")[-1][0]
    for args in (("requests",), ("inbox",)):
        out = world.c.run("act-for", "jean", *args)
        assert_refused(out, EXIT_ACCESS, names=("does not cover",))
    local = world.root / "ailleurs.txt"
    local.write_bytes(b"hors du dossier\n")
    out = world.c.run("act-for", "jean", "upload", str(local), "--to", "papiers")
    assert_refused(out, EXIT_ACCESS, names=("outside your mandate",))
    assert world.store.log("jean")[-1][0] == head


def test_forward_tampered_by_the_server_is_refused(world: World) -> None:
    mid = _grant(world, "requests", "read:dossier")
    world.a.ok("sync")  # forwards Mairie's request to her
    request = world.facts["request"]
    rows = world.store.query(
        "SELECT forward FROM mandate_forwards WHERE mandate_id=? AND item_id=?", mid, request
    )
    assert len(rows) == 1
    genuine = bytes(rows[0][0])
    listed = world.c.ok("act-for", "jean", "requests", "--json")
    assert '"valid": true' in listed and request in listed
    # the forward's signed envelope hash no longer matches, or its bytes are flipped
    flipped = bytearray(genuine)
    flipped[len(flipped) // 2] ^= 1
    world.store.execute(
        "UPDATE mandate_forwards SET forward=? WHERE mandate_id=?", bytes(flipped), mid
    )
    listed = world.c.ok("act-for", "jean", "requests", "--json")
    assert '"valid": true' not in listed and "failed verification" in listed
    head = world.store.log("jean")[-1][0]
    out = world.c.run("act-for", "jean", "requests", "answer", request, "dossier/caf.txt")
    assert_refused(out, EXIT_INTEGRITY, names=(request,))
    assert world.store.log("jean")[-1][0] == head
    # the genuine forward back: she answers
    world.store.execute("UPDATE mandate_forwards SET forward=? WHERE mandate_id=?", genuine, mid)
    world.c.ok("act-for", "jean", "requests", "answer", request, "dossier/caf.txt")
