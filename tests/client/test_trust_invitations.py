"""Trust without typing keys (issue 20): an authority writes a signed invitation (file and
`vault-trust:` URI) with its fingerprint as six French words; an owner pins it from the file or
the URI and sees the same words; an altered or swapped invitation is refused (exit 4) and pins
nothing; the old `vault trust add KEY --name N` keeps working; a deposit certified under an
authority pinned from its invitation is shown as certified."""

from __future__ import annotations

import json
import subprocess
import sys

from vault_core.errors import EXIT_INTEGRITY, EXIT_USAGE


def _authority(make_device, label: str = "authority"):
    auth = make_device(label)
    pk = auth.run("authority", "init").stdout.strip().splitlines()[-1]
    return auth, pk


def _invite(auth, path, *extra: str):
    res = auth.run("authority", "invite", "--out", str(path), *extra)
    uri = res.stdout.strip().splitlines()[-1]
    words = next(
        line.split("fingerprint: ", 1)[1].split("  (")[0]
        for line in res.stderr.splitlines()
        if line.startswith("fingerprint: ")
    )
    return uri, words


def _words_of(res) -> str:
    return next(
        line.split("fingerprint: ", 1)[1]
        for line in res.stdout.splitlines()
        if line.startswith("fingerprint: ")
    )


def test_invitation_file_and_uri_pin_the_same_authority_with_the_same_words(
    account, make_device, tmp_path
):
    auth, pk = _authority(make_device)
    inv = tmp_path / "invitation-mairie.json"
    uri, words = _invite(auth, inv, "--name", "Mairie de Lyon — État civil")
    assert uri.startswith("vault-trust:" + pk + "?name=Mairie%20de%20Lyon")
    assert len(words.split()) == 6
    assert json.loads(inv.read_text())["invitation"]["authority_pk"] == pk

    jean, _ = account("jean", name="A")
    res = jean.run("trust", "add", str(inv))
    assert res.stdout.splitlines()[0] == "trusting Mairie de Lyon — État civil"
    assert _words_of(res) == words
    listed = json.loads(jean.run("trust", "list", "--json").stdout)
    assert [(a["public_key"], a["name"], a["words"]) for a in listed] == [
        (pk, "Mairie de Lyon — État civil", words)
    ]

    alice, _ = account("alice", name="B")
    res = alice.run("trust", "add", uri)
    assert _words_of(res) == words
    assert json.loads(alice.run("trust", "list", "--json").stdout)[0]["public_key"] == pk

    # the name is remembered for the next invitation; the words are the key's, not the name's
    uri2, words2 = _invite(auth, tmp_path / "again.json")
    assert "name=Mairie%20de%20Lyon" in uri2 and words2 == words


def test_an_altered_or_swapped_invitation_is_refused_and_pins_nothing(
    account, make_device, tmp_path
):
    auth, pk = _authority(make_device)
    inv = tmp_path / "inv.json"
    uri, _ = _invite(auth, inv, "--name", "Mairie de Lyon")
    rogue, rogue_pk = _authority(make_device, "rogue")
    rogue_uri, rogue_words = _invite(rogue, tmp_path / "rogue.json", "--name", "Mairie de Lyon")
    jean, _ = account("jean", name="A")

    data = inv.read_bytes()
    for altered in (
        data.replace(b"Lyon", b"Lyom"),  # the name
        data.replace(pk.encode(), rogue_pk.encode()),  # another key under the same signature
        data.replace(b'"created":', b'"created": '),  # not canonical
        data[:-10],  # truncated
    ):
        bad = tmp_path / "bad.json"
        bad.write_bytes(altered)
        res = jean.run("trust", "add", str(bad), check=False)
        assert res.returncode == EXIT_INTEGRITY, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    for bad_uri in (
        uri.replace("Lyon", "Lyom"),
        uri.replace(pk, rogue_pk),
        uri + "&extra=1",
        uri.replace("%20", "+"),
    ):
        res = jean.run("trust", "add", bad_uri, check=False)
        assert res.returncode == EXIT_INTEGRITY, (bad_uri, res.stderr)
    assert json.loads(jean.run("trust", "list", "--json").stdout) == []

    # a swapped invitation (the rogue's key, the same name) is valid but shows other words
    res = jean.run("trust", "add", rogue_uri)
    assert _words_of(res) == rogue_words
    good_words = _words_of(account("alice", name="B")[0].run("trust", "add", uri))
    assert rogue_words != good_words


def test_bare_keys_still_work_and_bad_input_is_one_line(account, make_device, tmp_path):
    auth, pk = _authority(make_device)
    jean, _ = account("jean", name="A")
    res = jean.run("trust", "add", pk, "--name", "Préfecture")
    assert res.stdout.splitlines()[0] == "trusting Préfecture"
    assert len(_words_of(res).split()) == 6
    for args in (
        ("trust", "add", pk),  # a bare key needs a name
        ("trust", "add", "not-a-key", "--name", "X"),
        ("trust", "add", str(tmp_path / "missing.json")),
        ("trust", "add", pk, "--name", "Bad\u0007name"),
    ):
        res = jean.run(*args, check=False)
        assert res.returncode == EXIT_USAGE, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    # invite: no authority key, no name, a folder as --out
    res = jean.run("authority", "invite", "--out", str(tmp_path / "x.json"), check=False)
    assert res.returncode == EXIT_USAGE and not (tmp_path / "x.json").exists()
    res = auth.run("authority", "invite", "--out", str(tmp_path / "y.json"), check=False)
    assert res.returncode == EXIT_USAGE and "--name" in res.stderr
    res = auth.run("authority", "invite", "--out", str(tmp_path), "--name", "M", check=False)
    assert res.returncode == EXIT_USAGE


def test_a_key_starting_with_a_dash_is_pinned_whole(make_device):
    """A base64url key can start with "-" (1 key in 64) and hold an "h": it is the key, not the
    help option nor a cluster of options (a fixture once printed the help, exited 0 and pinned
    nothing)."""
    import base64

    from nacl.signing import SigningKey

    keys = []
    while len(keys) < 2:
        pk = SigningKey.generate().verify_key.encode()
        text = base64.urlsafe_b64encode(pk).rstrip(b"=").decode()
        if text.startswith("-") and ("h" in text) == (len(keys) == 0):
            keys.append(text)
    owner = make_device("A")
    for n, key in enumerate(keys):
        res = owner.run("trust", "add", key, "--name", f"Autorité {n}")
        assert res.stdout.splitlines()[0] == f"trusting Autorité {n}", res.stdout
    pinned = json.loads(owner.run("trust", "list", "--json").stdout)
    assert sorted(a["public_key"] for a in pinned) == sorted(keys)
    assert "Usage:" in owner.run("trust", "add", "--help").stdout


def test_a_deposit_certified_under_an_invited_authority(server, account, make_device, tmp_path):
    auth, _ = _authority(make_device)
    inv = tmp_path / "inv.json"
    _invite(auth, inv, "--name", "Préfecture du Rhône")
    mairie, _ = account("mairie", name="M")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vault_server",
            "grant-issuer",
            "--data",
            str(server.data),
            "mairie",
        ],
        check=True,
        capture_output=True,
    )
    issuer_pk = mairie.run("issuer", "init", "--name", "Mairie de Lyon").stdout.split()[-1]
    cert = tmp_path / "cert.json"
    auth.run(
        "authority", "certify", "--issuer-key", issuer_pk, "--name", "Mairie de Lyon",
        "--out", str(cert),
    )  # fmt: skip
    mairie.run("issuer", "set-cert", str(cert))
    jean, _ = account("jean", name="A")
    jean.run("trust", "add", str(inv))
    doc = tmp_path / "acte.pdf"
    doc.write_bytes(b"%PDF-1.4 acte")
    mairie.run("issuer", "deposit", "--to", "jean", "--type", "birth-certificate", str(doc))
    items = json.loads(jean.run("inbox", "--json").stdout)
    assert items[0]["certified"] and items[0]["issuer"] == "Mairie de Lyon"
    # and offline: the export's verification takes the invitation as --trust
    path = jean.run("inbox", "accept", items[0]["id"]).stdout.strip().splitlines()[-1]
    out = tmp_path / "export"
    jean.run("export", "--out", str(out))
    res = jean.run("verify", "--offline", str(out / "documents" / path), "--trust", str(inv))
    assert "Mairie de Lyon" in res.stdout
    altered = tmp_path / "altered.json"
    altered.write_bytes(inv.read_bytes().replace(b"Rh", b"RH"))
    res = jean.run(
        "verify", "--offline", str(out / "documents" / path), "--trust", str(altered), check=False
    )
    assert res.returncode == EXIT_INTEGRITY
