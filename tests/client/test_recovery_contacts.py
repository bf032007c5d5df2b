"""Trusted-contact recovery end to end (issue 21): a real server, several CLI profiles.

Jean names three contacts (2 of 3, a short delay); a new empty profile starts a recovery; the
contacts see the code and approve; after the delay the new profile finishes with a new
passphrase and the old one stops working. One approval is not enough; a veto stops it; a
server that counts a forged approval or shortens the delay (its SQLite edited under it) is
caught by the finishing client (exit 4) and nothing changes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from .conftest import Device, Server

NEW_PASS = "a brand new passphrase for jean"


def _people(server: Server, account: Any, make_device: Any) -> tuple[Device, list[Device]]:
    jean, _ = account("jean", "jean")
    contacts = [account(h, h)[0] for h in ("alice", "bob", "carol")]
    return jean, contacts


def _start(server: Server, make_device: Any) -> tuple[Device, str, str]:
    new = make_device("newphone")
    out = new.run("recovery", "start", "--server", server.url, "--user", "jean")
    lines = out.stdout.strip().splitlines()
    rid = lines[-1]
    code = lines[-2].removeprefix("code: ")
    assert len(rid) == 32 and len(code) == 11
    return new, rid, code


def _finish(new: Device, rid: str, **kw: Any) -> Any:
    return new.run(
        "recovery",
        "finish",
        rid,
        "--folder",
        str(new.folder),
        check=False,
        env={"VAULT_PASSPHRASE": NEW_PASS},
        **kw,
    )


def _until_not_early(new: Device, rid: str, deadline: float = 60) -> Any:
    """Finish, retrying while the answer is 'not yet' (exit 5 with a time)."""
    end = time.monotonic() + deadline
    while True:
        proc = _finish(new, rid)
        if proc.returncode != 5 or "can finish at" not in proc.stderr:
            return proc
        assert time.monotonic() < end, proc.stderr
        time.sleep(0.5)


def _old_passphrase_works(server: Server, make_device: Any) -> None:
    """Nothing changed on the server: the old passphrase still logs in."""
    dev = make_device()
    dev.run("login", "--server", server.url, "--user", "jean", "--folder", str(dev.folder))


def _db(server: Server) -> sqlite3.Connection:
    conn = sqlite3.connect(server.data / "vault.sqlite3", timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def test_two_of_three_recover_after_the_delay(server, account, make_device):
    jean, (alice, bob, _carol) = _people(server, account, make_device)
    jean.write("Papiers/acte.txt", "acte de naissance")
    jean.sync()
    out = jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
                   "--delay", "2s")  # fmt: skip
    assert "pinned alice: fingerprint" in out.stderr
    listed = json.loads(jean.run("recovery", "contacts", "--json").stdout)
    assert [c["handle"] for c in listed] == ["alice", "bob", "carol"]
    assert {c["threshold"] for c in listed} == {2} and {c["delay"] for c in listed} == {2}

    new, rid, code = _start(server, make_device)
    # the owner's devices are told: a line in vault status
    status = jean.run("status").stdout
    assert f"recovery {rid}" in status and "vault recovery veto" in status

    seen = json.loads(alice.run("recovery", "pending", "--json").stdout)
    assert [(p["id"], p["account"], p["code"]) for p in seen] == [(rid, "jean", code)]
    alice.run("recovery", "approve", rid)
    # approving twice: one line, nothing changed
    again = alice.run("recovery", "approve", rid, check=False)
    assert again.returncode == 1 and "already approved" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    # one approval: not enough (exit 5, says what is missing)
    early = _finish(new, rid)
    assert early.returncode == 5 and "1 of 2 approvals" in early.stderr
    bob.run("recovery", "approve", rid)

    done = _until_not_early(new, rid)
    assert done.returncode == 0, done.stderr
    assert "recovered jean" in done.stdout
    new.passphrase = NEW_PASS
    new.sync()
    assert new.read("Papiers/acte.txt") == b"acte de naissance"

    # the old passphrase stops working, the new one works
    other = make_device("other")
    old = other.run("login", "--server", server.url, "--user", "jean", check=False)
    assert old.returncode == 3
    other.passphrase = NEW_PASS
    other.run("login", "--server", server.url, "--user", "jean", "--folder", str(other.folder))
    # a finished recovery cannot be finished again
    assert _finish(new, rid).returncode != 0


def test_one_of_three_cannot(server, account, make_device):
    jean, (alice, _bob, _carol) = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1s")  # fmt: skip
    new, rid, _ = _start(server, make_device)
    alice.run("recovery", "approve", rid)
    time.sleep(1.5)
    proc = _finish(new, rid)
    assert proc.returncode == 5 and "1 of 2 approvals" in proc.stderr
    assert not (new.home / "config.json").exists()  # nothing changed
    jean.run("status")  # the owner's passphrase still works


def test_a_veto_stops_it(server, account, make_device):
    jean, (alice, bob, _carol) = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1s")  # fmt: skip
    new, rid, _ = _start(server, make_device)
    alice.run("recovery", "approve", rid)
    bob.run("recovery", "approve", rid)
    jean.run("recovery", "veto", rid)
    time.sleep(1.5)
    proc = _finish(new, rid)
    assert proc.returncode == 5 and "vetoed" in proc.stderr
    assert not (new.home / "config.json").exists()
    jean.run("status")


def test_server_counting_a_forged_approval_is_caught(server, account, make_device):
    jean, (alice, _bob, _carol) = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1s")  # fmt: skip
    new, rid, _ = _start(server, make_device)
    alice.run("recovery", "approve", rid)
    # the server adds an approval "by bob": alice's statement and share under bob's name
    with _db(server) as db:
        bob_id = db.execute("SELECT id FROM accounts WHERE handle='bob'").fetchone()[0]
        row = db.execute(
            "SELECT statement, sig, resealed, received_at FROM recovery_approvals"
            " WHERE recovery_id=?",
            (rid,),
        ).fetchone()
        db.execute(
            "INSERT INTO recovery_approvals (recovery_id, contact_id, statement, sig, resealed,"
            " received_at) VALUES (?,?,?,?,?,?)",
            (rid, bob_id, *row),
        )
    time.sleep(1.5)
    proc = _finish(new, rid)
    assert proc.returncode == 4, proc.stderr
    assert "failed verification" in proc.stderr and "Traceback" not in proc.stderr
    assert not (new.home / "config.json").exists()
    assert (
        f"recovery {rid} of this account: the server lists approvals" in jean.run("status").stdout
    )
    _old_passphrase_works(server, make_device)


def test_server_shortening_the_delay_is_caught(server, account, make_device):
    jean, (alice, bob, _carol) = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1h")  # fmt: skip
    new, rid, _ = _start(server, make_device)
    alice.run("recovery", "approve", rid)
    bob.run("recovery", "approve", rid)
    early = _finish(new, rid)
    assert early.returncode == 5 and "can finish at" in early.stderr
    with _db(server) as db:
        db.execute("UPDATE recovery_sets SET delay=0")
    proc = _finish(new, rid)
    assert proc.returncode == 4, proc.stderr
    assert "would let recovery" in proc.stderr and "Traceback" not in proc.stderr
    assert not (new.home / "config.json").exists()
    _old_passphrase_works(server, make_device)


def test_bad_input(server, account, make_device):
    jean, (alice, _bob, _carol) = _people(server, account, make_device)

    def refused(*args: str) -> Any:
        proc = jean.run("recovery", "contacts", "set", *args, check=False)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return proc

    assert refused("--threshold", "0", "alice", "bob").returncode == 2
    assert refused("--threshold", "3", "alice", "bob").returncode == 2
    assert refused("--threshold", "2", "alice", "jean").returncode == 2
    nobody = refused("--threshold", "2", "alice", "nobody")
    assert nobody.returncode == 1 and "nobody has no account" in nobody.stderr
    assert json.loads(jean.run("recovery", "contacts", "--json").stdout) == []
    pins = jean.home / "contacts.json"
    assert not pins.exists() or "alice" not in json.loads(pins.read_text())  # nothing pinned

    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob")
    before = jean.run("recovery", "contacts", "--json").stdout
    # the server now gives bob another (validly self-signed) key
    from vault_core import keys

    fake = keys.new_bundle("bob", bytes(range(1, 97)), 0).public_identity()
    with _db(server) as db:
        db.execute(
            "UPDATE accounts SET sign_pk=?, box_pk=?, identity_sig=? WHERE handle='bob'",
            (fake.sign_pk, fake.box_pk, fake.sig),
        )
    changed = refused("--threshold", "2", "alice", "bob")
    assert changed.returncode == 4 and "bob changed" in changed.stderr
    assert jean.run("recovery", "contacts", "--json").stdout == before  # nothing changed
    # an id that is not one
    bad = alice.run("recovery", "approve", "../x", check=False)
    assert bad.returncode == 2
    unknown = alice.run("recovery", "approve", "0" * 32, check=False)
    assert unknown.returncode == 1 and "no recovery" in unknown.stderr


def test_start_needs_contacts(server, account, make_device):
    account("jean", "jean")
    new = make_device("newphone")
    proc = new.run("recovery", "start", "--server", server.url, "--user", "jean", check=False)
    assert proc.returncode == 1 and "no trusted contacts" in proc.stderr
    assert not (new.home / "recovery.json").exists()


def test_an_older_set_replayed_by_the_server_is_refused(server, account, make_device):
    jean, (alice, _bob, _carol) = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "--delay", "1h")
    with _db(server) as db:
        old_set = db.execute("SELECT * FROM recovery_sets").fetchone()
        old_shares = db.execute("SELECT * FROM recovery_shares").fetchall()
    _, first, _ = _start(server, make_device)
    assert [p["id"] for p in json.loads(alice.run("recovery", "pending", "--json").stdout)] == [
        first
    ]
    time.sleep(1.1)  # (set times are whole seconds)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "carol", "--delay", "1h")
    _, second, _ = _start(server, make_device)
    alice.run("recovery", "pending")  # sees the new set
    # the server puts the old set (shorter-lived, other contacts) and its shares back
    with _db(server) as db:
        new_id = db.execute("SELECT set_id FROM recovery_sets").fetchone()[0]
        db.execute("DELETE FROM recovery_sets")
        db.execute("INSERT INTO recovery_sets VALUES (?,?,?,?,?,?,?,?,?)", old_set)
        db.executemany("INSERT INTO recovery_shares VALUES (?,?,?,?)", old_shares)
        db.execute("UPDATE recoveries SET set_id=? WHERE set_id=?", (old_set[1], new_id))
    proc = alice.run("recovery", "approve", second, check=False)
    assert proc.returncode == 4 and "older trusted-contact set" in proc.stderr
    listed = alice.run("recovery", "pending", check=False)
    assert listed.returncode == 4
