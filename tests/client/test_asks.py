"""Citizens' asks (issue 20), real server and real CLI: an owner asks an administration for a
document, the administration lists it and fulfils it with a certified deposit, the owner sees
it fulfilled with the deposit waiting in the inbox; the server never holds the type nor the
message in the clear; a server that links another deposit (or drops or swaps the issuer's
reply) is caught; bad input gives one line and the contract's exit code, nothing stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from vault_core.errors import EXIT_ACCESS, EXIT_FAILURE, EXIT_USAGE

from .test_deposits import admin  # noqa: F401 (the fixture)

MESSAGE = "Bonjour, une copie intégrale de mon acte de naissance pour mon dossier CAF."


def _db(server) -> sqlite3.Connection:
    return sqlite3.connect(server.data / "vault.sqlite3", isolation_level=None, timeout=30)


def _last(proc) -> str:
    return proc.stdout.strip().splitlines()[-1]


def _ask(jean, doc_type: str = "birth-certificate", message: str = MESSAGE) -> str:
    args = ["ask", "--to", "mairie", "--type", doc_type]
    return _last(jean.run(*args, "--message", message) if message else jean.run(*args))


def test_ask_fulfilled_end_to_end(admin, server, tmp_path):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    ask_id = _ask(jean)
    assert len(ask_id) == 32
    (mine,) = json.loads(jean.run("asks", "--json").stdout)
    assert (mine["id"], mine["to"], mine["type"], mine["message"], mine["state"]) == (
        ask_id, "mairie", "birth-certificate", MESSAGE, "open",
    )  # fmt: skip
    assert mine["deposit"] is None
    (got,) = json.loads(mairie.run("issuer", "asks", "--json").stdout)
    assert got["valid"] is True and got["from"] == "jean" and got["id"] == ask_id
    assert got["type"] == "birth-certificate" and got["message"] == MESSAGE
    assert got["state"] == "open"
    listing = mairie.run("issuer", "asks").stdout
    assert ask_id in listing and "from jean" in listing and MESSAGE in listing

    doc = tmp_path / "acte.pdf"
    doc.write_bytes(b"%PDF-1.4 copie integrale de l'acte de naissance de Jean")
    deposit_id = _last(mairie.run("issuer", "fulfil", ask_id, str(doc)))
    assert len(deposit_id) == 32

    (mine,) = json.loads(jean.run("asks", "--json").stdout)
    assert mine["state"] == "fulfilled" and mine["deposit"] == deposit_id
    assert mine["issuer"] == "Mairie de Lyon" and mine["in_inbox"] is True
    assert mine["problem"] is None
    assert f"deposit {deposit_id} (in your inbox)" in jean.run("asks").stdout
    (waiting,) = json.loads(jean.run("inbox", "--json").stdout)
    assert waiting["id"] == deposit_id and waiting["certified"] is True
    assert waiting["issuer"] == "Mairie de Lyon" and waiting["type"] == "birth-certificate"
    (theirs,) = json.loads(mairie.run("issuer", "asks", "--json").stdout)
    assert theirs["state"] == "fulfilled" and theirs["deposit"] == deposit_id

    # fulfilled once: a second answer is refused and deposits nothing
    again = mairie.run("issuer", "fulfil", ask_id, str(doc), check=False)
    assert again.returncode == EXIT_FAILURE and "already fulfilled" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert len(json.loads(jean.run("inbox", "--json").stdout)) == 1

    # the server's files hold neither the message nor the asked type in the clear
    for f in Path(server.data).rglob("*"):
        if f.is_file():
            raw = f.read_bytes()
            assert MESSAGE.encode() not in raw and b"CAF" not in raw, f
            assert b"birth-certificate" not in raw, f

    # accepted: still fulfilled, no longer in the inbox
    path = _last(jean.run("inbox", "accept", deposit_id))
    assert jean.read(path) == doc.read_bytes()
    (mine,) = json.loads(jean.run("asks", "--json").stdout)
    assert mine["state"] == "fulfilled" and mine["in_inbox"] is False


def test_bad_asks_one_line_and_nothing_stored(admin, account, server):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    account("alice", name="X")  # an account without the issuer role
    not_issuer = jean.run("ask", "--to", "alice", "--type", "birth-certificate", check=False)
    assert not_issuer.returncode == EXIT_ACCESS, not_issuer.stderr
    assert not_issuer.stderr.strip().splitlines()[-1] == (
        "error: alice is not an administration: only an issuer account takes asks"
    )
    bad_type = jean.run("ask", "--to", "mairie", "--type", "Acte de naissance", check=False)
    assert bad_type.returncode == EXIT_USAGE and bad_type.stderr.count("\n") == 1
    assert "--type" in bad_type.stderr
    too_long = jean.run("ask", "--to", "mairie", "--type", "passport", "--message", "m" * 4001,
                        check=False)  # fmt: skip
    assert too_long.returncode == EXIT_USAGE and "4000" in too_long.stderr
    unknown = jean.run("ask", "--to", "personne", "--type", "passport", check=False)
    assert unknown.returncode == EXIT_FAILURE
    assert unknown.stderr == "error: no account personne on this server\n"
    # nothing half-written: no ask stored anywhere
    assert json.loads(jean.run("asks", "--json").stdout) == []
    assert json.loads(mairie.run("issuer", "asks", "--json").stdout) == []
    assert _db(server).execute("SELECT COUNT(*) FROM asks").fetchone() == (0,)
    # an owner is not an issuer: 'vault issuer asks' is a usage error
    assert jean.run("issuer", "asks", check=False).returncode == EXIT_USAGE
    # fulfilling an ask that does not exist: one line, nothing deposited
    missing = mairie.run("issuer", "fulfil", "0" * 32, __file__, check=False)
    assert missing.returncode == EXIT_FAILURE and "no ask" in missing.stderr
    assert json.loads(jean.run("inbox", "--json").stdout) == []


def test_a_server_that_links_another_deposit_is_caught(admin, server, tmp_path):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    first, second = _ask(jean), _ask(jean, "id-card", "")
    acte, carte = tmp_path / "acte.pdf", tmp_path / "carte.pdf"
    acte.write_bytes(b"%PDF acte")
    carte.write_bytes(b"%PDF carte")
    dep_first = _last(mairie.run("issuer", "fulfil", first, str(acte)))
    dep_second = _last(mairie.run("issuer", "fulfil", second, str(carte)))
    # and an ordinary certified deposit of the same type, linked to no ask
    other = _last(mairie.run("issuer", "deposit", "--to", "jean", "--type",
                             "birth-certificate", str(acte)))  # fmt: skip
    states = {a["id"]: a for a in json.loads(jean.run("asks", "--json").stdout)}
    assert states[first]["state"] == states[second]["state"] == "fulfilled"
    db = _db(server)
    (reply_first,) = db.execute("SELECT reply FROM asks WHERE id=?", (first,)).fetchone()
    (reply_second,) = db.execute("SELECT reply FROM asks WHERE id=?", (second,)).fetchone()

    def view() -> dict:
        return {a["id"]: a for a in json.loads(jean.run("asks", "--json").stdout)}

    # 1. the server links the other deposit to the first ask
    db.execute("UPDATE asks SET deposit_id=? WHERE id=?", (other, first))
    got = view()[first]
    assert got["state"] == "forged" and got["deposit"] is None, got
    assert "does not name" in got["problem"]
    assert "FORGED" in jean.run("asks").stdout
    # 2. the second ask's deposit and reply put on the first ask (a replayed reply)
    db.execute("UPDATE asks SET deposit_id=?, reply=? WHERE id=?",
               (dep_second, reply_second, first))  # fmt: skip
    assert view()[first]["state"] == "forged"
    # 3. fulfilled without the issuer's reply
    db.execute("UPDATE asks SET deposit_id=?, reply=NULL WHERE id=?", (dep_first, first))
    assert view()[first]["state"] == "forged"
    # the true link verifies again (the checks above failed for what the server changed)
    db.execute("UPDATE asks SET reply=? WHERE id=?", (reply_first, first))
    assert view()[first]["state"] == "fulfilled"
    # 4. the right link and reply, but another deposit's envelope under the linked id
    (envelope,) = db.execute("SELECT envelope FROM deposits WHERE id=?", (other,)).fetchone()
    db.execute("UPDATE deposits SET envelope=? WHERE id=?", (envelope, dep_second))
    got = view()[second]
    assert got["state"] == "forged" and "not the one" in got["problem"]
    assert view()[first]["state"] == "fulfilled"


def test_the_servers_ask_event_is_announced(tmp_path):
    """{"type": "ask"} on the events socket (a new ask for the issuer, a fulfilment for the
    asker) reaches the service's bus as ASK_NEW, with a sentence naming the commands."""
    from vault_client.service import Context
    from vault_client.service.events import ASK_NEW
    from vault_client.service.syncing import _announce

    ctx = Context(tmp_path / "home", passphrase=lambda: "x")
    seen = []
    ctx.bus.subscribe(seen.append, [ASK_NEW])
    _announce(ctx, '{"type": "ask"}')
    assert [e.kind for e in seen] == [ASK_NEW] and "'vault asks'" in seen[0].text
