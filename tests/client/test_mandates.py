"""Helper mandates (issue 21), real server and real CLI with several profiles: Jean gives
Gaëlle a mandate; she answers a request of the CAF for him, adds a document to his vault and
accepts a deposit, each with her own account and passphrase; Jean's sync gets what she added,
his `vault status` and `vault mandate log` say in French what she did; outside the scope, after
expiry, after revocation: exit 5 and nothing changed, and what Jean writes after revocation is
out of her reach; bad input: one line and the contract's exit code."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from vault_core.errors import EXIT_ACCESS, EXIT_FAILURE, EXIT_INTEGRITY, EXIT_USAGE

from .test_deposits import grant_issuer

FR = {"LANG": "fr_FR.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
CAF = "la CAF du Rhône"
FACTURE = b"%PDF-1.4 facture EDF de Jean, 3 rue des Lilas, Villeurbanne"


def _last(proc) -> str:
    return proc.stdout.strip().splitlines()[-1]


def _one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def _head(server, handle: str = "jean") -> int:
    db = sqlite3.connect(server.data / "vault.sqlite3", isolation_level=None, timeout=30)
    try:
        row = db.execute("SELECT log_head FROM accounts WHERE handle=?", (handle,)).fetchone()
        return int(row[0])
    finally:
        db.close()


@pytest.fixture
def family(server, account, make_device, tmp_path):
    """An authority; the CAF, a certified issuer; Jean trusting the authority, with his papers;
    Gaëlle, his daughter, with an account of her own (another passphrase)."""
    auth = make_device("authority")
    auth_pk = _last(auth.run("authority", "init"))
    caf, _ = account("caf", name="C")
    grant_issuer(server, "caf")
    issuer_pk = _last(caf.run("issuer", "init", "--name", CAF))
    cert = tmp_path / "caf.cert.json"
    auth.run("authority", "certify", "--issuer-key", issuer_pk, "--name", CAF, "--valid", "30d",
             "--out", str(cert))  # fmt: skip
    caf.run("issuer", "set-cert", str(cert))
    jean, _ = account("jean", name="A")
    jean.run("trust", "add", auth_pk, "--name", "Préfecture")
    jean.write("Papiers/facture-edf.pdf", FACTURE)
    jean.write("Papiers/impots-2026.pdf", b"%PDF avis d'imposition")
    jean.write("Santé/ordonnance.pdf", b"%PDF ordonnance")
    jean.sync()
    gaelle = make_device("G")
    gaelle.passphrase = "une autre phrase de passe, celle de Gaëlle"  # (not Jean's)
    gaelle.run("init", "--server", server.url, "--user", "gaelle", "--folder", str(gaelle.folder))
    return {"auth_pk": auth_pk, "caf": caf, "jean": jean, "gaelle": gaelle, "tmp": tmp_path}


def _grant(jean, *scopes: str, duration: str = "30d") -> str:
    args = ["mandate", "grant", "--to", "gaelle", "--duration", duration, "--name", "Gaëlle"]
    for s in scopes:
        args += ["--scope", s]
    out = jean.run(*args)
    assert "gaelle" in out.stderr  # her fingerprint, pinned on first use
    return _last(out)


def _request(caf) -> str:
    message = "Merci d'envoyer un justificatif de domicile."
    out = caf.run("issuer", "request", "--to", "jean", "--need", "proof-of-address", "--due",
                  "2030-01-31", "--message", message)  # fmt: skip
    return _last(out)


def test_gaelle_answers_a_request_for_jean(family, server) -> None:
    caf, jean, gaelle, tmp = family["caf"], family["jean"], family["gaelle"], family["tmp"]
    mid = _grant(jean, "read:Papiers", "requests")
    assert len(mid) == 32
    (given,) = json.loads(jean.run("mandates", "--json").stdout)
    assert (given["id"], given["role"], given["helper"], given["name"], given["state"]) == (
        mid, "given", "gaelle", "Gaëlle", "active",
    )  # fmt: skip
    assert given["scopes"] == ["read:Papiers", "requests"] and given["grant"]
    (mine,) = json.loads(gaelle.run("mandates", "--json").stdout)
    assert (mine["id"], mine["role"], mine["owner"], mine["state"]) == (
        mid, "received", "jean", "active",
    )  # fmt: skip

    rid = _request(caf)
    jean.sync()  # one of Jean's devices forwards the request to her
    (seen,) = json.loads(gaelle.run("act-for", "jean", "requests", "--json").stdout)
    assert seen["id"] == rid and seen["valid"] is True and seen["requester"] == CAF
    assert seen["needs"] == ["proof-of-address"] and seen["account"] == "caf"

    # she answers with her own passphrase: Jean's is not in her environment
    out = gaelle.run("act-for", "jean", "requests", "answer", rid, "Papiers/facture-edf.pdf")
    gid = _last(out)
    assert len(gid) == 32

    # the CAF's side sees it answered, by a grant it redeems
    (sent,) = json.loads(caf.run("issuer", "requests", "--json").stdout)
    assert (sent["id"], sent["state"], sent["grant"], sent["problem"]) == (
        rid, "answered", gid, None,
    )  # fmt: skip
    got = tmp / "caf-got"
    caf.run("redeem", gid, "--out", str(got))
    assert (got / "Papiers" / "facture-edf.pdf").read_bytes() == FACTURE

    # Jean sees it: answered in his requests, the answer grant among his shares, and the line
    (req,) = json.loads(jean.run("requests", "--json").stdout)
    assert req["state"] == "answered" and req["problem"] is None and req["grant"] == gid
    assert gid in {s["id"] for s in json.loads(jean.run("share", "list", "--json").stdout)}
    line = f"Gaëlle a répondu à la demande de {CAF}"
    assert line in jean.run("status", env=FR).stdout
    assert line in jean.run("mandate", "log", mid, env=FR).stdout
    (act,) = json.loads(jean.run("mandate", "log", mid, "--json").stdout)
    assert (act["action"], act["helper"], act["request"], act["requester"], act["grant"]) == (
        "answer", "Gaëlle", rid, CAF, gid,
    )  # fmt: skip
    assert act["documents"] == ["Papiers/facture-edf.pdf"]

    # a document outside her read scope: exit 5, nothing changed (no entry, no grant)
    head = _head(server)
    shares = jean.run("share", "list", "--json").stdout
    out = gaelle.run("act-for", "jean", "requests", "answer", rid, "Santé/ordonnance.pdf",
                     check=False)  # fmt: skip
    assert out.returncode == EXIT_ACCESS and "outside your mandate" in _one_line(out)
    assert _head(server) == head and jean.run("share", "list", "--json").stdout == shares


def test_upload_lands_in_jeans_vault_signed_by_her(family, server) -> None:
    jean, gaelle, tmp = family["jean"], family["gaelle"], family["tmp"]
    mid = _grant(jean, "upload:Papiers/CAF")
    doc = tmp / "attestation-caf.pdf"
    doc.write_bytes(b"%PDF attestation de paiement" + bytes(range(256)) * 400)  # two chunks' worth
    out = gaelle.run("act-for", "jean", "upload", str(doc), "--to", "Papiers/CAF")
    assert "Papiers/CAF/attestation-caf.pdf" in out.stdout
    small = tmp / "note.txt"
    small.write_text("Rappeler la CAF lundi")
    gaelle.run("act-for", "jean", "upload", str(small), "--to", "Papiers/CAF/2026")
    jean.sync()
    assert jean.read("Papiers/CAF/attestation-caf.pdf") == doc.read_bytes()
    assert jean.read("Papiers/CAF/2026/note.txt") == small.read_bytes()
    acts = json.loads(jean.run("mandate", "log", mid, "--json").stdout)
    assert [(a["action"], a["helper"], a["path"]) for a in acts] == [
        ("upload", "Gaëlle", "Papiers/CAF/attestation-caf.pdf"),
        ("upload", "Gaëlle", "Papiers/CAF/2026/note.txt"),
    ]
    text = jean.run("mandate", "log", mid, env=FR).stdout
    assert "Gaëlle a ajouté Papiers/CAF/attestation-caf.pdf" in text
    # Jean changes it afterwards like any of his files; another device of his gets both
    jean.write("Papiers/CAF/2026/note.txt", "Rappeler la CAF lundi — fait")
    jean.sync()

    # outside the scope: exit 5 with one line, nothing sent, nothing changed
    head = _head(server)
    for to in ("Papiers", "Papiers/CAFE", "Santé"):
        out = gaelle.run("act-for", "jean", "upload", str(small), "--to", to, check=False)
        assert out.returncode == EXIT_ACCESS, out.stderr
        assert "outside your mandate" in _one_line(out)
    out = gaelle.run("act-for", "jean", "requests", check=False)
    assert out.returncode == EXIT_ACCESS and "does not cover requests" in _one_line(out)
    out = gaelle.run("act-for", "jean", "inbox", "--json", check=False)
    assert out.returncode == EXIT_ACCESS and "does not cover inbox" in _one_line(out)
    out = gaelle.run("act-for", "bouchra", "upload", str(small), "--to", "x", check=False)
    assert out.returncode == EXIT_ACCESS and "bouchra has given you no mandate" in _one_line(out)
    assert _head(server) == head
    jean.sync()
    assert "Papiers/note.txt" not in jean.tree()


def test_gaelle_accepts_a_deposit(family, server) -> None:
    caf, jean, gaelle, tmp = family["caf"], family["jean"], family["gaelle"], family["tmp"]
    mid = _grant(jean, "inbox")
    doc = tmp / "attestation.pdf"
    doc.write_bytes(b"%PDF-1.4 attestation de droits CAF de Jean")
    did = _last(caf.run("issuer", "deposit", "--to", "jean", "--type", "benefit-certificate",
                        str(doc), "--title", "Attestation de droits"))  # fmt: skip
    assert json.loads(gaelle.run("act-for", "jean", "inbox", "--json").stdout) == []
    jean.sync()  # forwarded
    (dep,) = json.loads(gaelle.run("act-for", "jean", "inbox", "--json").stdout)
    assert dep["id"] == did and dep["valid"] is True and dep["issuer"] == CAF
    assert dep["type"] == "benefit-certificate" and dep["filename"] == "attestation.pdf"
    path = _last(gaelle.run("act-for", "jean", "inbox", "accept", did))
    assert path == f"Courrier/{CAF}/attestation.pdf"
    assert json.loads(jean.run("inbox", "--json").stdout) == []  # out of his inbox
    jean.sync()
    assert jean.read(path) == doc.read_bytes()
    assert CAF in jean.run("verify", path).stdout  # certified, from the owner-signed record
    (act,) = json.loads(jean.run("mandate", "log", mid, "--json").stdout)
    assert (act["action"], act["path"]) == ("accept", path)
    assert f"Gaëlle a accepté un dépôt : {path}" in jean.run("status", env=FR).stdout


def test_revocation_is_immediate_and_new_content_out_of_reach(family, server) -> None:
    caf, jean, gaelle, tmp = family["caf"], family["jean"], family["gaelle"], family["tmp"]
    mid = _grant(jean, "read:Papiers", "requests", "upload:Papiers/CAF")
    (given,) = json.loads(jean.run("mandates", "--json").stdout)
    read_grant = given["grant"]
    # while it lives she reads Papiers through her grant (a live folder grant)
    gaelle.run("redeem", read_grant, "--out", str(tmp / "before"))
    assert (tmp / "before" / "Papiers" / "facture-edf.pdf").read_bytes() == FACTURE

    assert f"mandate {mid} revoked" in jean.run("mandate", "revoke", mid).stdout
    (given,) = json.loads(jean.run("mandates", "--json").stdout)
    assert given["state"] == "revoked"
    (mine,) = json.loads(gaelle.run("mandates", "--json").stdout)
    assert mine["state"] == "revoked"

    head = _head(server)
    note = tmp / "note.txt"
    note.write_text("après la révocation")
    for args in (
        ("upload", str(note), "--to", "Papiers/CAF"),
        ("requests",),
        ("requests", "answer", "0" * 32, "Papiers/facture-edf.pdf"),
    ):
        out = gaelle.run("act-for", "jean", *args, check=False)
        assert out.returncode == EXIT_ACCESS, (args, out.stderr)
        assert f"jean revoked your mandate {mid}" in _one_line(out)
    assert _head(server) == head

    # what Jean writes now is never readable by her: her read grant is gone...
    jean.write("Papiers/nouveau.pdf", b"%PDF ecrit apres la revocation")
    jean.sync()
    out = gaelle.run("redeem", read_grant, "--out", str(tmp / "after"), check=False)
    assert out.returncode == EXIT_ACCESS
    assert not (tmp / "after" / "Papiers" / "nouveau.pdf").exists()
    # ...and nothing new is forwarded to her
    _request(caf)
    jean.sync()
    db = sqlite3.connect(server.data / "vault.sqlite3", isolation_level=None, timeout=30)
    try:
        assert db.execute("SELECT COUNT(*) FROM mandate_forwards").fetchone()[0] == 0
    finally:
        db.close()
    # a second revocation is harmless; the log holds one mandate-end
    jean.run("mandate", "revoke", mid)


def test_expiry(family, server) -> None:
    jean, gaelle, tmp = family["jean"], family["gaelle"], family["tmp"]
    _grant(jean, "upload:Papiers/CAF", duration="3s")
    started = time.monotonic()
    pinned = gaelle.run("mandates")  # she pins Jean's key (and sees its fingerprint) once
    assert "pinned jean" in pinned.stderr
    note = tmp / "note.txt"
    note.write_text("trop tard")
    while time.monotonic() - started < 4:
        time.sleep(0.5)
    head = _head(server)
    out = gaelle.run("act-for", "jean", "upload", str(note), "--to", "Papiers/CAF", check=False)
    assert out.returncode == EXIT_ACCESS and "expired on" in _one_line(out)
    assert _head(server) == head
    (given,) = json.loads(jean.run("mandates", "--json").stdout)
    assert given["state"] == "expired"
    # French, one line
    out = gaelle.run("act-for", "jean", "upload", str(note), "--to", "Papiers/CAF", check=False,
                     env=FR)  # fmt: skip
    assert out.returncode == EXIT_ACCESS and "a expiré" in _one_line(out)


def test_bad_input(family, server) -> None:
    jean, tmp = family["jean"], family["tmp"]
    head = _head(server)
    base = ["mandate", "grant", "--to", "gaelle", "--duration", "30d"]
    outside = tmp / "ailleurs"
    outside.mkdir()
    for extra, why in (
        (["--scope", "read"], "bad scope"),
        (["--scope", "write:Papiers"], "bad scope"),
        (["--scope", "inbox:Papiers"], "bad scope"),
        (["--scope", f"read:{outside}"], "not inside the synced folder"),
        (["--scope", "upload:../../etc"], "not inside the synced folder"),
    ):
        out = jean.run(*base, *extra, check=False)
        assert out.returncode == EXIT_USAGE, (extra, out.stderr)
        assert why in _one_line(out)
    for bad in ("15x", "0d", "1.5d", "20y", ""):
        out = jean.run("mandate", "grant", "--to", "gaelle", "--scope", "requests",
                       "--duration", bad, check=False)  # fmt: skip
        assert out.returncode == EXIT_USAGE, (bad, out.stderr)
        _one_line(out)
    out = jean.run("mandate", "grant", "--to", "personne", "--scope", "requests", "--duration",
                   "1d", check=False)  # fmt: skip
    assert out.returncode == EXIT_FAILURE and "no account personne" in _one_line(out)
    out = jean.run("mandate", "grant", "--to", "jean", "--scope", "requests", "--duration", "1d",
                   check=False)  # fmt: skip
    assert out.returncode == EXIT_USAGE and "another account" in _one_line(out)
    out = jean.run("mandate", "revoke", "0" * 32, check=False)
    assert out.returncode == EXIT_FAILURE and "no mandate" in _one_line(out)
    out = jean.run("mandate", "revoke", "../devices", check=False)
    assert out.returncode == EXIT_USAGE
    assert _head(server) == head and json.loads(jean.run("mandates", "--json").stdout) == []

    # a helper whose key changed since Jean pinned it: refused (exit 4) until re-verified
    _grant(jean, "requests")
    contacts = Path(jean.home) / "contacts.json"
    pins = json.loads(contacts.read_text())
    pins["gaelle"] = pins["caf"] if "caf" in pins else _caf_pin(jean)
    contacts.write_text(json.dumps(pins))
    head = _head(server)
    out = jean.run(*base, "--scope", "inbox", check=False)
    assert out.returncode == EXIT_INTEGRITY and "changed" in _one_line(out)
    assert _head(server) == head
    assert len(json.loads(jean.run("mandates", "--json").stdout)) == 1


def _caf_pin(jean) -> dict:
    jean.run("share", "create", "Papiers/facture-edf.pdf", "--expires", "1d", "--to", "caf")
    return json.loads((Path(jean.home) / "contacts.json").read_text())["caf"]
