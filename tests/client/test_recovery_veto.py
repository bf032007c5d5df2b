"""The veto of a trusted-contact recovery counts only when it is signed (issue 21, SPEC §Trusted
contacts): a real server whose SQLite is edited under it, several CLI profiles.

Every view of a recovery verifies the veto the server shows under the owner's account key,
bound to that recovery and its request: the finishing device (``vault recovery finish``), the
contacts (``vault recovery pending``) and the owner's devices (``vault status``). A forged
veto, or a state "vetoed" with no veto, is reported as forged (exit 4) and nothing changes; a
signed veto stops the recovery whatever state the server claims; the device that vetoed sees a
server that stops showing its veto (which the finishing device alone cannot see).
"""

from __future__ import annotations

import json
import time
from typing import Any

from vault_core import keys
from vault_core import recovery as rc

from .conftest import Device, Server
from .test_recovery_contacts import _db, _finish, _old_passphrase_works, _people

FORGED = "is not signed by jean (forged or missing)"


def _start(server: Server, make_device: Any, name: str = "newphone") -> tuple[Device, str]:
    new = make_device(name)
    out = new.run("recovery", "start", "--server", server.url, "--user", "jean")
    rid = out.stdout.strip().splitlines()[-1]
    assert len(rid) == 32
    return new, rid


def _approved(
    server: Server, account: Any, make_device: Any
) -> tuple[Device, list[Device], Device, str]:
    """jean's contacts alice, bob, carol (2 of 3, delay 1 s); a recovery alice and bob
    approved, past its delay: without a veto it would finish now."""
    jean, contacts = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1s")  # fmt: skip
    new, rid = _start(server, make_device)
    contacts[0].run("recovery", "approve", rid)
    contacts[1].run("recovery", "approve", rid)
    time.sleep(1.5)
    return jean, contacts, new, rid


def _forge_veto(server: Server, rid: str, state: str) -> None:
    """The server stores a well-formed veto of this very recovery, signed by a key that is not
    jean's, and sets the recovery's state."""
    impostor = keys.new_bundle("jean", bytes(range(1, 97)), 0).identity_sign[1]
    with _db(server) as db:
        (request,) = db.execute("SELECT request FROM recoveries WHERE id=?", (rid,)).fetchone()
        statement, sig = rc.make_veto("jean", request, int(time.time()), impostor)
        db.execute(
            "UPDATE recoveries SET state=?, veto=?, veto_sig=? WHERE id=?",
            (state, statement, sig, rid),
        )


def _not_finished(server: Server, make_device: Any, new: Device) -> None:
    assert not (new.home / "config.json").exists()
    _old_passphrase_works(server, make_device)


def test_a_forged_veto_is_reported_not_honoured(server, account, make_device):
    """A veto not signed by jean's key, with the state "vetoed": the finishing device reports
    a forgery (exit 4) instead of obeying it (exit 5), and jean's status says so too."""
    jean, _contacts, new, rid = _approved(server, account, make_device)
    _forge_veto(server, rid, "vetoed")
    proc = _finish(new, rid)
    assert proc.returncode == 4, proc.stderr
    assert FORGED in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    status = jean.run("status").stdout
    assert (
        f"recovery {rid} of this account: the server shows a veto this account did not sign"
        in status
    )
    _not_finished(server, make_device, new)


def test_vetoed_without_a_signed_veto_is_forged(server, account, make_device):
    """The server only says "vetoed" (no veto stored): the finishing device and jean's status
    report a forgery; the server cannot veto in jean's name."""
    jean, _contacts, new, rid = _approved(server, account, make_device)
    with _db(server) as db:
        db.execute("UPDATE recoveries SET state='vetoed' WHERE id=?", (rid,))
    proc = _finish(new, rid)
    assert proc.returncode == 4, proc.stderr
    assert FORGED in proc.stderr and "Traceback" not in proc.stderr
    assert "did not sign (forged)" in jean.run("status").stdout
    _not_finished(server, make_device, new)


def test_a_signed_veto_stops_it_whatever_state_the_server_claims(server, account, make_device):
    """jean vetoes; the server then marks the recovery pending again but still shows the
    veto (and would hand over the bundle): the finishing device obeys the signed veto (exit 5),
    the third contact is no longer asked, and jean's status shows no pending recovery."""
    jean, (_alice, _bob, carol), new, rid = _approved(server, account, make_device)
    jean.run("recovery", "veto", rid)
    with _db(server) as db:
        db.execute("UPDATE recoveries SET state='pending', closed_at=NULL WHERE id=?", (rid,))
        (veto,) = db.execute("SELECT veto FROM recoveries WHERE id=?", (rid,)).fetchone()
    assert veto is not None
    proc = _finish(new, rid)
    assert proc.returncode == 5, proc.stderr
    assert f"recovery {rid} was vetoed by a device of jean" in proc.stderr
    assert json.loads(carol.run("recovery", "pending", "--json").stdout) == []
    refused = carol.run("recovery", "approve", rid, check=False)
    assert refused.returncode == 1 and "no recovery" in refused.stderr
    status = jean.run("status").stdout
    assert f"recovery {rid}" not in status
    _not_finished(server, make_device, new)


def test_a_veto_of_another_recovery_does_not_count(server, account, make_device):
    """jean's genuine veto of a first recovery, copied by the server onto a second one: the
    veto is bound to its recovery and request, so the second finisher reports a forgery."""
    jean, _contacts, new, rid = _approved(server, account, make_device)
    _other, first = _start(server, make_device, "otherphone")
    jean.run("recovery", "veto", first)
    with _db(server) as db:
        veto, sig = db.execute(
            "SELECT veto, veto_sig FROM recoveries WHERE id=?", (first,)
        ).fetchone()
        db.execute(
            "UPDATE recoveries SET state='vetoed', veto=?, veto_sig=? WHERE id=?",
            (veto, sig, rid),
        )
    proc = _finish(new, rid)
    assert proc.returncode == 4, proc.stderr
    assert FORGED in proc.stderr
    _not_finished(server, make_device, new)


def test_contacts_verify_the_veto(server, account, make_device):
    """A pending recovery shown with a veto jean did not sign: the contact's 'pending' and
    'approve' report a forgery (exit 4) and approve nothing."""
    jean, (_alice, _bob, carol) = _people(server, account, make_device)
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1h")  # fmt: skip
    _new, rid = _start(server, make_device)
    _forge_veto(server, rid, "pending")
    listed = carol.run("recovery", "pending", check=False)
    assert listed.returncode == 4 and FORGED in listed.stderr, listed.stderr
    proc = carol.run("recovery", "approve", rid, check=False)
    assert proc.returncode == 4 and FORGED in proc.stderr, proc.stderr
    with _db(server) as db:
        assert db.execute("SELECT COUNT(*) FROM recovery_approvals").fetchone() == (0,)


def test_the_vetoing_device_sees_its_veto_hidden(server, account, make_device, second_device):
    """The server drops jean's veto and shows the recovery pending again: the finishing device
    cannot tell (SPEC residual), but the device that vetoed reports its veto hidden; jean's
    other device, which never saw the veto, shows the recovery as pending with its warning."""
    jean, _contacts = _people(server, account, make_device)
    other = second_device("jean", "B")
    jean.run("recovery", "contacts", "set", "--threshold", "2", "alice", "bob", "carol",
             "--delay", "1h")  # fmt: skip
    _new, rid = _start(server, make_device)
    jean.run("recovery", "veto", rid)
    assert f"recovery {rid}" not in jean.run("status").stdout  # vetoed: nothing to do
    with _db(server) as db:
        db.execute(
            "UPDATE recoveries SET state='pending', veto=NULL, veto_sig=NULL, closed_at=NULL"
            " WHERE id=?",
            (rid,),
        )
    status = jean.run("status").stdout
    assert (
        f"recovery {rid} of this account: the server no longer shows the veto this device "
        "made (hidden)" in status
    )
    seen = other.run("status").stdout
    assert f"recovery {rid} of this account started" in seen and "hidden" not in seen
