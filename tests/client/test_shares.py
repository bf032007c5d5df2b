"""Share grants end to end with a real server: scope, live folders, expiry, revocation,
use limits, wrong secrets, passwords, account grants with key pinning, the access log, and
the link secret never reaching the server."""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.error
import urllib.request

import pytest

from vault_core.errors import EXIT_ACCESS, EXIT_AUTH, EXIT_INTEGRITY, EXIT_USAGE


@pytest.fixture
def jean(account):
    a, _ = account("jean")
    a.write("papiers/acte.txt", "acte de naissance")
    a.write("papiers/avis.pdf", os.urandom(150_000))
    a.write("dossier/caf.txt", "attestation caf")
    a.write("dossier/loyer.txt", "quittance")
    a.write("prive.txt", "ne pas partager")
    a.sync()
    return a


def link_of(res) -> str:
    return res.stdout.strip().splitlines()[-1]


def redeem(dev, link, out, *extra, check=False, env=None):
    return dev.run("redeem", link, "--out", str(out), *extra, check=check, env=env)


def test_link_covers_exactly_scope(jean, make_device, tmp_path, server):
    link = link_of(jean.run("share", "create", "papiers/acte.txt", "--expires", "1h"))
    assert link.startswith(server.url + "/s/") and "#" in link
    bouchra = make_device("bouchra")
    out = tmp_path / "out"
    res = redeem(bouchra, link, out, check=True)
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert files == {"acte.txt": b"acte de naissance"}
    assert "acte.txt" in res.stdout
    listing = json.loads(bouchra.run("redeem", link, "--list", "--json", check=True).stdout)
    assert [i["name"] for i in listing] == ["acte.txt"]


def _open(server, link):
    """Open a link through the raw API (as a counsellor who keeps tokens)."""
    from vault_client.service.redeem import parse_link
    from vault_core.encoding import b64u
    from vault_core.grants import link_secrets

    parsed = parse_link(link)
    gid, secret = parsed.grant_id, parsed.secret
    req = urllib.request.Request(
        f"{server.url}/v1/grants/{gid}/open",
        method="POST",
        data=b"",
        headers={"Authorization": f"Grant {b64u(link_secrets(secret).access_token)}"},
    )
    with urllib.request.urlopen(req) as r:
        return gid, json.loads(r.read())


def _get_blob(server, gid, session, blob_id):
    req = urllib.request.Request(
        f"{server.url}/v1/grants/{gid}/blobs/{blob_id}",
        headers={"Authorization": f"Grant {session}"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _all_blob_ids(server):
    conn = sqlite3.connect(server.data / "vault.sqlite3")
    return [r[0] for r in conn.execute("SELECT blob_id FROM blobs")]


def test_other_documents_unreachable_by_id(jean, server):
    link = link_of(jean.run("share", "create", "papiers/acte.txt", "--expires", "1h"))
    gid, opened = _open(server, link)
    conn = sqlite3.connect(server.data / "vault.sqlite3")
    granted = {
        r[0] for r in conn.execute("SELECT blob_id FROM grant_blobs WHERE grant_id=?", (gid,))
    }
    others = [b for b in _all_blob_ids(server) if b not in granted]
    assert granted and others
    for b in others:
        assert _get_blob(server, gid, opened["session"], b) == 404
    for b in granted:
        assert _get_blob(server, gid, opened["session"], b) == 200


def test_live_folder_grant(jean, make_device, tmp_path):
    link = link_of(jean.run("share", "create", "dossier", "--expires", "1h"))
    b = make_device("bouchra")
    names = [
        i["name"] for i in json.loads(b.run("redeem", link, "--list", "--json", check=True).stdout)
    ]
    assert names == ["dossier/caf.txt", "dossier/loyer.txt"]
    jean.write("dossier/impots.txt", "avis")
    jean.sync()
    names = [
        i["name"] for i in json.loads(b.run("redeem", link, "--list", "--json", check=True).stdout)
    ]
    assert names == ["dossier/caf.txt", "dossier/impots.txt", "dossier/loyer.txt"]


def test_expiry(jean, make_device, tmp_path, server):
    link = link_of(jean.run("share", "create", "papiers", "--expires", "3s"))
    gid, opened = _open(server, link)
    time.sleep(3.5)
    b = make_device("bouchra")
    out = tmp_path / "out"
    res = redeem(b, link, out)
    assert res.returncode == EXIT_ACCESS, res.stderr
    assert not out.exists() or not any(out.iterdir())
    # a session opened before expiry serves nothing after it
    granted = (
        sqlite3.connect(server.data / "vault.sqlite3")
        .execute("SELECT blob_id FROM grant_blobs WHERE grant_id=?", (gid,))
        .fetchone()[0]
    )
    assert _get_blob(server, gid, opened["session"], granted) == 410
    states = json.loads(jean.run("share", "list", "--json").stdout)
    assert states[0]["state"] == "expired"


def test_revocation_everywhere(jean, make_device, tmp_path, server):
    link = link_of(jean.run("share", "create", "papiers", "--expires", "1h"))
    gid, opened = _open(server, link)
    granted = [
        r[0]
        for r in sqlite3.connect(server.data / "vault.sqlite3").execute(
            "SELECT blob_id FROM grant_blobs WHERE grant_id=?", (gid,)
        )
    ]
    assert _get_blob(server, gid, opened["session"], granted[0]) == 200
    jean.run("share", "revoke", gid)
    for blob in granted:
        assert _get_blob(server, gid, opened["session"], blob) == 410
    b = make_device("bouchra")
    out = tmp_path / "out"
    res = redeem(b, link, out)
    assert res.returncode == EXIT_ACCESS
    assert not out.exists() or not any(out.iterdir())
    assert json.loads(jean.run("share", "list", "--json").stdout)[0]["state"] == "revoked"
    # the revoked grant holds no blob any more (GC may collect them), and content written
    # after revocation is never added to it
    jean.write("papiers/nouveau.txt", "after revocation")
    jean.sync()
    conn = sqlite3.connect(server.data / "vault.sqlite3")
    assert not conn.execute("SELECT blob_id FROM grant_blobs WHERE grant_id=?", (gid,)).fetchall()


def test_use_limit(jean, make_device, tmp_path):
    link = link_of(
        jean.run("share", "create", "papiers/acte.txt", "--expires", "1h", "--max-uses", "1")
    )
    b = make_device("bouchra")
    redeem(b, link, tmp_path / "one", check=True)
    res = redeem(b, link, tmp_path / "two")
    assert res.returncode == EXIT_ACCESS
    items = json.loads(jean.run("share", "list", "--json").stdout)
    assert items[0]["state"] == "used_up" and items[0]["remaining_uses"] == 0


def test_wrong_and_tampered_secret(jean, make_device, tmp_path):
    link = link_of(jean.run("share", "create", "papiers", "--expires", "1h"))
    b = make_device("bouchra")
    base, secret = link.split("#")
    wrong = base + "#" + ("A" if secret[0] != "A" else "B") + secret[1:]
    for bad in (wrong, base + "#" + secret[:-2], base + "#" + secret + "xx"):
        out = tmp_path / f"out{len(bad)}"
        res = redeem(b, bad, out)
        assert res.returncode == EXIT_INTEGRITY, (bad, res.stderr)
        assert not out.exists() or not any(out.iterdir())
        assert "Traceback" not in res.stderr
    unknown = base[:-32] + "0" * 32 + "#" + secret
    assert redeem(b, unknown, tmp_path / "u").returncode == EXIT_ACCESS


def test_password_link(jean, make_device, tmp_path):
    res = jean.run(
        "share",
        "create",
        "papiers/acte.txt",
        "--expires",
        "1h",
        "--password",
        env={"VAULT_LINK_PASSWORD": "mot de passe"},
    )
    link = link_of(res)
    b = make_device("bouchra")
    assert redeem(b, link, tmp_path / "x").returncode == EXIT_USAGE  # no password, no tty
    res = redeem(b, link, tmp_path / "w", env={"VAULT_LINK_PASSWORD": "faux"})
    assert res.returncode == EXIT_AUTH, res.stderr
    redeem(b, link, tmp_path / "ok", check=True, env={"VAULT_LINK_PASSWORD": "mot de passe"})
    assert (tmp_path / "ok" / "acte.txt").read_bytes() == b"acte de naissance"
    # the link alone (the fragment secret) does not open it: a password-less open is refused
    stripped = link.replace("#pw.", "#")
    assert redeem(b, stripped, tmp_path / "s").returncode == EXIT_INTEGRITY


def test_account_grant_and_pinning(jean, account, tmp_path, server):
    bouchra, _ = account("bouchra", name="C")
    res = jean.run("share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "bouchra")
    gid = res.stdout.strip().splitlines()[-1]
    assert "fingerprint" in res.stderr
    listed = json.loads(bouchra.run("shared", "--json").stdout)
    assert [g["id"] for g in listed] == [gid] and listed[0]["from"] == "jean"
    out = tmp_path / "b-out"
    bouchra.run("redeem", gid, "--out", str(out))
    assert (out / "acte.txt").read_bytes() == b"acte de naissance"
    log = json.loads(jean.run("share", "log", gid, "--json").stdout)
    assert any(e["document"] == "acte.txt" and e["account"] == "bouchra" for e in log)
    # the server substitutes bouchra's public keys with its own, validly self-signed for the
    # handle "bouchra": jean's pinned key no longer matches, he refuses (exit 4)
    from vault_core.keys import new_bundle

    fake = new_bundle("bouchra", os.urandom(96), 0).public_identity()
    conn = sqlite3.connect(server.data / "vault.sqlite3", isolation_level=None)
    conn.execute(
        "UPDATE accounts SET sign_pk=?, box_pk=?, identity_sig=? WHERE handle=?",
        (fake.sign_pk, fake.box_pk, fake.sig, "bouchra"),
    )
    res = jean.run(
        "share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "bouchra", check=False
    )
    assert res.returncode == EXIT_INTEGRITY, res.stderr
    assert "changed" in res.stderr
    # a forged (not self-signed) identity is refused as well
    conn.execute("UPDATE accounts SET identity_sig=? WHERE handle=?", (bytes(64), "bouchra"))
    res = jean.run(
        "share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "bouchra", check=False
    )
    assert res.returncode == EXIT_INTEGRITY, res.stderr


def test_access_log_and_secret_never_on_server(jean, make_device, tmp_path, server):
    link = link_of(jean.run("share", "create", "papiers", "--expires", "1h"))
    secret = link.split("#")[1]
    b = make_device("bouchra")
    redeem(b, link, tmp_path / "out", check=True)
    gid = link.split("/s/")[1].split("#")[0]
    log = json.loads(jean.run("share", "log", gid, "--json").stdout)
    docs = {e["document"] for e in log if e["event"] == "document"}
    assert docs == {"papiers/acte.txt", "papiers/avis.pdf"}
    assert any(e["event"] == "open" for e in log)
    server.stop()
    server.start()
    blobs = b"".join(p.read_bytes() for p in server.data.rglob("*") if p.is_file())
    logs = (server.data.parent / "server.log").read_bytes()
    for needle in (secret.encode(), secret[:20].encode()):
        assert needle not in blobs
        assert needle not in logs
