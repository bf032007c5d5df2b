"""Request checklists answered item by item (issue 20): the owner answers one item today and
the other later; `vault requests --json` gives each item's state, the request is answered only
when every item is provided; the issuer sees the same progress from the owner's signed
answer; each answer grants every document given so far and ends the last grant; an answer the
server swaps is shown as a problem on both sides."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .test_deposits import admin  # noqa: F401 (the fixture)


def _request(mairie) -> str:
    out = mairie.run("issuer", "request", "--to", "jean", "--need", "proof-of-address",
                     "--need", "tax-notice", "--due", "2030-01-15",
                     "--message", "Dossier RSA")  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def test_answered_in_two_steps_seen_by_both(admin, tmp_path):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    doc = tmp_path / "justificatif.pdf"
    doc.write_bytes(b"%PDF justificatif")
    dep_id = mairie.run("issuer", "deposit", "--to", "jean", "--type", "proof-of-address",
                        str(doc)).stdout.strip().splitlines()[-1]  # fmt: skip
    typed = jean.run("inbox", "accept", dep_id).stdout.strip().splitlines()[-1]
    jean.sync()
    req_id = _request(mairie)

    # day 1: the proof of address (its type is known: it answers that item only)
    first = jean.run("requests", "answer", req_id, typed).stdout.strip().splitlines()[-1]
    (r,) = json.loads(jean.run("requests", "--json").stdout)
    assert r["items"] == [{"type": "proof-of-address", "state": "provided"},
                          {"type": "tax-notice", "state": "missing"}]  # fmt: skip
    assert r["state"] == "partial" and r["grant"] == first
    listed = jean.run("requests").stdout
    assert "item tax-notice: missing" in listed and "item proof-of-address: provided" in listed
    (sent,) = json.loads(mairie.run("issuer", "requests", "--json").stdout)
    assert sent["provided"] == {"proof-of-address": [typed]} and sent["problem"] is None

    # day 2: the tax notice, a file of no type, said to answer that item
    jean.write("impots/avis-2026.pdf", b"%PDF avis")
    jean.sync()
    second = jean.run("requests", "answer", req_id, "impots/avis-2026.pdf", "--for",
                      "tax-notice").stdout.strip().splitlines()[-1]  # fmt: skip
    (r,) = json.loads(jean.run("requests", "--json").stdout)
    assert r["state"] == "answered" and r["grant"] == second
    assert all(i["state"] == "provided" for i in r["items"])
    (sent,) = json.loads(mairie.run("issuer", "requests", "--json").stdout)
    assert sent["provided"] == {"proof-of-address": [typed],
                                "tax-notice": ["impots/avis-2026.pdf"]}  # fmt: skip
    # the new grant covers both documents; the first one is over
    out = tmp_path / "recu"
    mairie.run("redeem", second, "--out", str(out))
    assert (out / "avis-2026.pdf").read_bytes() == b"%PDF avis"
    assert (out / Path(typed).name).read_bytes() == b"%PDF justificatif"
    old = mairie.run("redeem", first, "--out", str(tmp_path / "old"), check=False)
    assert old.returncode == 5, old.stderr
    wrong = jean.run("requests", "answer", req_id, typed, "--for", "id-card", check=False)
    assert (
        wrong.returncode == 2 and "this request needs proof-of-address, tax-notice" in wrong.stderr
    )


def test_an_answer_swapped_by_the_server_is_a_problem(admin, server):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    jean.write("a.pdf", b"a")
    jean.sync()
    one, two = _request(mairie), _request(mairie)
    jean.run("requests", "answer", one, "a.pdf")
    jean.run("requests", "answer", two, "a.pdf")
    # the server puts request one's signed answer on request two
    db = sqlite3.connect(Path(server.data) / "vault.sqlite3")
    with db:
        (env,) = db.execute("SELECT answer_envelope FROM requests WHERE id = ?", (one,)).fetchone()
        db.execute("UPDATE requests SET answer_envelope = ? WHERE id = ?", (env, two))
    db.close()
    by_id = {r["id"]: r for r in json.loads(jean.run("requests", "--json").stdout)}
    assert by_id[one]["problem"] is None and by_id[one]["state"] == "answered"
    assert by_id[two]["problem"] == "the answer the server shows is not one this account signed"
    assert by_id[two]["items"][0]["state"] == "missing"
    sent = {r["id"]: r for r in json.loads(mairie.run("issuer", "requests", "--json").stdout)}
    assert sent[two]["problem"] and sent[two]["provided"] is None
    assert sent[one]["provided"] == {"proof-of-address": ["a.pdf"], "tax-notice": ["a.pdf"]}
