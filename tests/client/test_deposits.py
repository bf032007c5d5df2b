"""Administrations end to end with a real server: authority -> issuer -> deposit -> inbox ->
accept -> sync to a second device -> verify there; forged chains refused or shown as not
certified; non-issuers refused; a request answered and redeemed by the requester."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from vault_core.errors import EXIT_ACCESS, EXIT_FAILURE, EXIT_INTEGRITY


def grant_issuer(server, handle: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "vault_server", "grant-issuer", "--data", str(server.data), handle],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def admin(server, account, make_device, tmp_path):
    """An authority, a certified issuer 'mairie', an owner 'jean' trusting the authority."""
    auth = make_device("authority")
    auth_pk = auth.run("authority", "init").stdout.strip().splitlines()[-1]
    mairie, _ = account("mairie", name="M")
    grant_issuer(server, "mairie")
    issuer_pk = (
        mairie.run("issuer", "init", "--name", "Mairie de Lyon").stdout.strip().splitlines()[-1]
    )
    cert = tmp_path / "mairie.cert.json"
    auth.run(
        "authority",
        "certify",
        "--issuer-key",
        issuer_pk,
        "--name",
        "Mairie de Lyon",
        "--valid",
        "30d",
        "--out",
        str(cert),
    )
    mairie.run("issuer", "set-cert", str(cert))
    jean, _ = account("jean", name="A")
    jean.run("trust", "add", auth_pk, "--name", "Préfecture")
    return {"auth": auth, "auth_pk": auth_pk, "mairie": mairie, "jean": jean, "cert": cert}


def test_full_flow_to_second_device(admin, second_device, tmp_path):
    mairie, jean = admin["mairie"], admin["jean"]
    doc = tmp_path / "acte-naissance.pdf"
    doc.write_bytes(b"%PDF-1.4 acte de naissance de Jean" + os.urandom(2000))
    dep_id = (
        mairie.run(
            "issuer",
            "deposit",
            "--to",
            "jean",
            "--type",
            "birth-certificate",
            str(doc),
            "--title",
            "Acte de naissance",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    items = json.loads(jean.run("inbox", "--json").stdout)
    assert [i["id"] for i in items] == [dep_id]
    assert items[0]["certified"] and items[0]["issuer"] == "Mairie de Lyon"
    path = jean.run("inbox", "accept", dep_id).stdout.strip().splitlines()[-1]
    assert jean.read(path) == doc.read_bytes()
    assert json.loads(jean.run("inbox", "--json").stdout) == []
    res = jean.run("verify", path)
    assert "Mairie de Lyon" in res.stdout
    b = second_device("jean", name="B")
    b.run("trust", "add", admin["auth_pk"], "--name", "Préfecture")
    b.sync()
    assert b.read(path) == doc.read_bytes()
    assert "Mairie de Lyon" in b.run("verify", path).stdout
    info = json.loads(b.run("verify", path, "--json").stdout)[0]
    assert info["issuer"] == "Mairie de Lyon" and info["type"] == "birth-certificate"
    # a modified copy no longer verifies
    b.write(path, b"forged content")
    assert b.run("verify", path, check=False).returncode == EXIT_INTEGRITY
    # a plain file is not a certified document
    b.write("notes.txt", "hello")
    b.sync()
    assert b.run("verify", "notes.txt", check=False).returncode == EXIT_FAILURE


def test_untrusted_authority_not_certified(admin, account, tmp_path):
    mairie = admin["mairie"]
    other, _ = account("alice", name="X")  # trusts nobody
    doc = tmp_path / "avis.pdf"
    doc.write_bytes(b"avis")
    dep_id = (
        mairie.run("issuer", "deposit", "--to", "alice", "--type", "tax-notice", str(doc))
        .stdout.strip()
        .splitlines()[-1]
    )
    items = json.loads(other.run("inbox", "--json").stdout)
    assert items[0]["certified"] is False and items[0]["issuer"] is None
    assert items[0]["claimed_issuer"] == "Mairie de Lyon"
    text = other.run("inbox").stdout
    assert "NOT CERTIFIED" in text
    path = other.run("inbox", "accept", dep_id).stdout.strip().splitlines()[-1]
    assert "non certifié" in path
    assert other.run("verify", path, check=False).returncode == EXIT_INTEGRITY


def test_self_signed_and_expired_certificates(admin, make_device, tmp_path):
    mairie, jean = admin["mairie"], admin["jean"]
    issuer_pk = json.loads(admin["cert"].read_text())["cert"]["issuer_pk"]
    # self-signed: the issuer runs its own authority, which jean does not trust
    rogue = make_device("rogue")
    rogue.run("authority", "init")
    cert = tmp_path / "self.json"
    rogue.run(
        "authority",
        "certify",
        "--issuer-key",
        issuer_pk,
        "--name",
        "Préfecture",
        "--out",
        str(cert),
    )
    mairie.run("issuer", "set-cert", str(cert))
    doc = tmp_path / "d.pdf"
    doc.write_bytes(b"doc")
    mairie.run("issuer", "deposit", "--to", "jean", "--type", "id-card", str(doc))
    # expired: a certificate valid for 2 seconds
    cert2 = tmp_path / "short.json"
    admin["auth"].run(
        "authority",
        "certify",
        "--issuer-key",
        issuer_pk,
        "--name",
        "Mairie de Lyon",
        "--valid",
        "2s",
        "--out",
        str(cert2),
    )
    mairie.run("issuer", "set-cert", str(cert2))
    time.sleep(2.5)
    mairie.run("issuer", "deposit", "--to", "jean", "--type", "id-card", str(doc))
    items = json.loads(jean.run("inbox", "--json").stdout)
    assert len(items) == 2
    assert all(not i["certified"] and i["issuer"] is None for i in items)


def _core_deposit(server, mairie_dev, statement_to, sealed_to_box_pk, signer_seed=None):
    """Build a deposit with vault_core directly (a misbehaving issuer) and post it."""
    from vault_client.profile import Profile
    from vault_client.session import open_api
    from vault_core import deposits as dep
    from vault_core.encoding import b64u

    prof = Profile(mairie_dev.home)
    prof.unlock(mairie_dev.passphrase)
    cert = dep.IssuerCert.from_json(prof.config["issuer"]["cert"])
    sk = dep.issuer_keypair(signer_seed or prof.secrets.issuer_seed)[1]
    document = b"forged deposit"
    import hashlib

    deposit_id = os.urandom(16).hex()

    async def go(to_handle, to_sign_pk):
        st = dep.DepositStatement(
            deposit_id,
            statement_to,
            to_sign_pk,
            hashlib.sha256(document).digest(),
            "tax-notice",
            "t",
            "x.pdf",
            int(time.time()),
            len(document),
            cert.issuer_pk,
        )
        proof = dep.DepositProof.sign(st, sk, cert)
        env = dep.seal_envelope(
            "deposit",
            deposit_id,
            sealed_to_box_pk,
            {"proof": proof.to_json()},
            document,
            os.urandom(32),
            os.urandom(32),
            os.urandom(24),
        )
        api = await open_api(prof)
        async with api:
            await api.post(f"/v1/inbox/{to_handle}", {"id": deposit_id, "envelope": b64u(env)})

    return go, deposit_id


def _identity(server, handle):
    import urllib.request

    from vault_core.keys import PublicIdentity

    with urllib.request.urlopen(f"{server.url}/v1/users/{handle}/keys") as r:
        return PublicIdentity.from_json({"handle": handle, **json.loads(r.read())})


def test_forged_signature_and_retargeted_deposit(admin, account, server):
    mairie, jean = admin["mairie"], admin["jean"]
    _alice, _ = account("alice", name="X")
    j, a = _identity(server, "jean"), _identity(server, "alice")
    # signed by another key than the certificate's
    go, dep1 = _core_deposit(server, mairie, "jean", j.box_pk, signer_seed=b"\x07" * 32)
    asyncio.run(go("jean", j.sign_pk))
    # addressed (and signed) to alice, but sealed to jean: re-targeted
    go2, dep2 = _core_deposit(server, mairie, "alice", j.box_pk)
    asyncio.run(go2("jean", a.sign_pk))
    items = {i["id"]: i for i in json.loads(jean.run("inbox", "--json").stdout)}
    assert items[dep1]["valid"] is False
    assert items[dep2]["certified"] is False and items[dep2]["issuer"] is None
    for dep_id in (dep1, dep2):
        res = jean.run("inbox", "accept", dep_id, check=False)
        assert res.returncode == EXIT_INTEGRITY, res.stderr
    assert jean.tree() == {}


def test_non_issuer_refused(account, server, tmp_path, admin):
    eve, _ = account("eve", name="E")
    pk = eve.run("issuer", "init", "--name", "Fake").stdout.strip().splitlines()[-1]
    cert = tmp_path / "eve.json"
    admin["auth"].run(
        "authority", "certify", "--issuer-key", pk, "--name", "Fake", "--out", str(cert)
    )
    eve.run("issuer", "set-cert", str(cert))
    doc = tmp_path / "d.pdf"
    doc.write_bytes(b"x")
    res = eve.run("issuer", "deposit", "--to", "jean", "--type", "id-card", str(doc), check=False)
    assert res.returncode == EXIT_ACCESS, res.stderr
    res = eve.run(
        "issuer", "request", "--to", "jean", "--need", "id-card", "--due", "2030-01-01",
        "--message", "hi", check=False,
    )  # fmt: skip
    assert res.returncode == EXIT_ACCESS


def test_request_answered_and_redeemed(admin, tmp_path):
    mairie, jean = admin["mairie"], admin["jean"]
    req_id = (
        mairie.run(
            "issuer",
            "request",
            "--to",
            "jean",
            "--need",
            "proof-of-address",
            "--need",
            "id-card",
            "--due",
            "2030-01-15",
            "--message",
            "Merci d'envoyer ces pièces",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    reqs = json.loads(jean.run("requests", "--json").stdout)
    assert reqs[0]["id"] == req_id and reqs[0]["requester"] == "Mairie de Lyon"
    assert reqs[0]["needs"] == ["proof-of-address", "id-card"] and reqs[0]["due"] == "2030-01-15"
    assert reqs[0]["state"] == "open"
    status = json.loads(jean.run("status", "--json").stdout)
    assert any(s.get("kind") == "request" and s["id"] == req_id for s in status)
    jean.write("justificatifs/facture-edf.pdf", b"facture")
    jean.sync()
    grant = (
        jean.run("requests", "answer", req_id, "justificatifs/facture-edf.pdf")
        .stdout.strip()
        .splitlines()[-1]
    )
    sent = json.loads(mairie.run("issuer", "requests", "--json").stdout)
    assert sent[0]["state"] == "answered" and sent[0]["grant"] == grant
    out = tmp_path / "recu"
    mairie.run("redeem", grant, "--out", str(out))
    assert (out / "facture-edf.pdf").read_bytes() == b"facture"


def test_reminder_shown_in_status(admin):
    mairie, jean = admin["mairie"], admin["jean"]
    due = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
    mairie.run(
        "issuer",
        "request",
        "--to",
        "jean",
        "--need",
        "tax-notice",
        "--due",
        due,
        "--message",
        "Avis d'imposition",
    )
    status = json.loads(jean.run("status", "--json").stdout)
    assert any(s.get("kind") == "reminder" for s in status)
    # shown once per interval: not again right away
    status = json.loads(jean.run("status", "--json").stdout)
    assert not any(s.get("kind") == "reminder" for s in status)
    jean.run("reminders", "--off")


def test_counsellor_sees_certification(admin, make_device, tmp_path):
    mairie, jean = admin["mairie"], admin["jean"]
    doc = tmp_path / "attestation.pdf"
    doc.write_bytes(b"%PDF attestation CAF")
    dep_id = (
        mairie.run("issuer", "deposit", "--to", "jean", "--type", "benefit-certificate", str(doc))
        .stdout.strip()
        .splitlines()[-1]
    )
    path = jean.run("inbox", "accept", dep_id).stdout.strip().splitlines()[-1]
    link = jean.run("share", "create", path, "--expires", "1h").stdout.strip().splitlines()[-1]
    bouchra = make_device("bouchra")
    listed = json.loads(bouchra.run("redeem", link, "--list", "--json").stdout)
    assert listed[0]["certified_by"] is None  # trusts no authority yet: never the claim
    bouchra.run("trust", "add", admin["auth_pk"], "--name", "Préfecture")
    listed = json.loads(bouchra.run("redeem", link, "--list", "--json").stdout)
    assert listed[0]["certified_by"] == "Mairie de Lyon"
    out = tmp_path / "b"
    res = bouchra.run("redeem", link, "--out", str(out))
    assert "certified by Mairie de Lyon" in res.stdout
    assert (out / "attestation.pdf").read_bytes() == doc.read_bytes()
