"""Deposits and requests under a hostile server and bad issuers (T1, T4): minted, re-targeted,
re-labelled, flipped and re-keyed envelopes; back-dated, self-certified and unsafe statements;
forged and re-targeted requests. A deposit that fails is never shown or accepted as certified;
a request that is not certified for this owner is never answered with a grant.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

import pytest

from vault_core import deposits as dep
from vault_core.encoding import unb64u
from vault_core.errors import EXIT_INTEGRITY

from .harness import Device, World, assert_refused
from .helpers import flip, profile

DOC = b"%PDF-1.4 forged document\n"


def ident(world: World, handle: str) -> tuple[bytes, bytes]:
    i = world.store.identity(handle)
    return unb64u(i["sign_pk"]), unb64u(i["box_pk"])


def issuer_material(world: World) -> tuple[bytes, dep.IssuerCert]:
    prof = profile(world.m)
    sk = dep.issuer_keypair(prof.secrets.issuer_seed)[1]
    return sk, dep.IssuerCert.from_json(prof.config["issuer"]["cert"])


def rogue_cert(name: str = "Mairie de Lyon") -> tuple[bytes, dep.IssuerCert]:
    """An issuer key certified by an authority nobody pinned (the server's own)."""
    a_pk, a_sk = dep.authority_keypair(os.urandom(32))
    i_pk, i_sk = dep.issuer_keypair(os.urandom(32))
    now = int(time.time())
    return i_sk, dep.IssuerCert.issue(a_sk, a_pk, i_pk, name, now - 60, now + 86400)


def make_deposit(
    world: World,
    *,
    to: str = "jean",
    sealed_to: str | None = None,
    document: bytes = DOC,
    issued: int | None = None,
    filename: str = "doc.pdf",
    signer: tuple[bytes, dep.IssuerCert] | None = None,
    deposit_id: str | None = None,
    check: bool = True,
) -> tuple[str, bytes]:
    sk, cert = signer or issuer_material(world)
    to_sign_pk, _ = ident(world, to)
    _, box_pk = ident(world, sealed_to or to)
    deposit_id = deposit_id or os.urandom(16).hex()
    st = dep.DepositStatement(
        deposit_id=deposit_id,
        to=to,
        to_sign_pk=to_sign_pk,
        doc_sha256=hashlib.sha256(document).digest(),
        doc_type="tax-notice",
        title="Avis",
        filename=filename,
        issued=int(time.time()) if issued is None else issued,
        size=len(document),
        issuer_pk=cert.issuer_pk,
    )
    proof = dep.DepositProof.sign(st, sk, cert)
    env = dep.seal_envelope(
        "deposit",
        deposit_id,
        box_pk,
        {"proof": proof.to_json()},
        document,
        os.urandom(32),
        os.urandom(32),
        os.urandom(24),
    )
    return deposit_id, env


def put_deposit(
    world: World, recipient: str, deposit_id: str, envelope: bytes, sender: str = "mairie"
) -> None:
    world.store.execute(
        "INSERT INTO deposits(id, recipient_id, sender_id, envelope, received_at)"
        " VALUES(?,?,?,?,?)",
        deposit_id,
        world.store.account_id(recipient),
        world.store.account_id(sender),
        envelope,
        int(time.time()),
    )


def inbox(dev: Device) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in json.loads(dev.ok("inbox", "--json"))}


def accept_refused(world: World, deposit_id: str) -> None:
    jean = world.a
    before = jean.tree()
    res = jean.run("inbox", "accept", deposit_id)
    assert_refused(res, EXIT_INTEGRITY, names=(deposit_id, "deposit"))
    assert jean.tree() == before, "a refused deposit reached the folder"
    assert deposit_id in world.store.deposits("jean"), "the refused deposit was deleted"


def genuine_still_accepted(world: World) -> None:
    """Nothing lost: the genuine deposit is still there and verifies."""
    path = world.a.last_line("inbox", "accept", world.facts["deposit_jean"])
    assert "Mairie de Lyon" in path
    assert "Mairie de Lyon" in world.a.ok("verify", path)


def test_deposit_minted_by_the_server(world: World) -> None:
    """The server seals its own document to jean, "from Mairie de Lyon", with a key certified by
    an authority of its own: listed as not certified, never under the claimed name; if jean
    accepts it anyway it lands apart and ``vault verify`` refuses it."""
    dep_id, env = make_deposit(world, signer=rogue_cert())
    put_deposit(world, "jean", dep_id, env)
    item = inbox(world.a)[dep_id]
    assert item["certified"] is False and item["issuer"] is None
    assert item["claimed_issuer"] == "Mairie de Lyon"
    assert "NOT CERTIFIED" in world.a.ok("inbox")
    path = world.a.last_line("inbox", "accept", dep_id)
    assert "Mairie de Lyon" not in path and "non certifi" in path
    assert_refused(world.a.run("verify", path), EXIT_INTEGRITY, names=(path,))
    genuine_still_accepted(world)


def _envelope_cases(world: World) -> dict[str, Any]:
    store = world.store

    def envelope_of(dep_id: str) -> bytes:
        return bytes(store.query("SELECT envelope FROM deposits WHERE id=?", dep_id)[0][0])

    genuine = envelope_of(world.facts["deposit_jean"])

    def retargeted() -> str:  # alice's deposit moved into jean's inbox
        store.execute(
            "UPDATE deposits SET recipient_id=? WHERE id=?",
            store.account_id("jean"),
            world.facts["deposit_alice"],
        )
        return str(world.facts["deposit_alice"])

    def relabelled() -> str:  # jean's genuine envelope under another id
        new = os.urandom(16).hex()
        put_deposit(world, "jean", new, genuine)
        return new

    def flipped() -> str:
        new = os.urandom(16).hex()
        put_deposit(world, "jean", new, flip(genuine, len(genuine) // 2))
        return new

    def rekeyed() -> str:
        # a genuine proof for jean (seen somewhere), re-sealed by the server under a key of its
        # choosing around another document
        dep_id, _ = make_deposit(world)
        _sk, _cert = issuer_material(world)
        st_id, env = make_deposit(world, deposit_id=dep_id, document=DOC)
        meta, _ = dep.open_envelope("deposit", st_id, profile(world.a).bundle.identity_box[1], env)
        _, box_pk = ident(world, "jean")
        forged = dep.seal_envelope(
            "deposit",
            dep_id,
            box_pk,
            meta,
            b"another document",
            os.urandom(32),
            os.urandom(32),
            os.urandom(24),
        )
        put_deposit(world, "jean", dep_id, forged)
        return dep_id

    def truncated() -> str:
        new = os.urandom(16).hex()
        put_deposit(world, "jean", new, genuine[:60])
        return new

    def sealed_to_alice() -> str:  # addressed to jean, sealed to alice's key
        dep_id, env = make_deposit(world, sealed_to="alice")
        put_deposit(world, "jean", dep_id, env)
        return dep_id

    return {
        "moved-from-another-inbox": retargeted,
        "relabelled-id": relabelled,
        "bit-flip": flipped,
        "re-keyed-around-another-document": rekeyed,
        "truncated": truncated,
        "sealed-to-another-key": sealed_to_alice,
    }


ENVELOPE_CASES = [
    "moved-from-another-inbox",
    "relabelled-id",
    "bit-flip",
    "re-keyed-around-another-document",
    "truncated",
    "sealed-to-another-key",
]


@pytest.mark.parametrize("case", ENVELOPE_CASES)
def test_tampered_deposit_envelope(world: World, case: str) -> None:
    dep_id = _envelope_cases(world)[case]()
    item = inbox(world.a)[dep_id]
    assert item["valid"] is False and not item.get("certified")
    accept_refused(world, dep_id)
    genuine_still_accepted(world)


def _statement_cases(world: World) -> dict[str, dict[str, Any]]:
    day = 86400
    now = int(time.time())
    _, cert = issuer_material(world)
    _sk, _ = issuer_material(world)
    _other_pk, other_sk = dep.issuer_keypair(os.urandom(32))
    return {
        # the issuer's certificate was not valid when the statement claims it was issued
        "back-dated": {"issued": now - 10 * day},
        # dated in the future (more than a day after its reception)
        "post-dated": {"issued": now + 3 * day},
        # signed by a key that is not the certified one
        "signed-by-other-key": {"signer": (other_sk, cert)},
        # addressed to alice, sealed to jean
        "addressed-to-another-person": {"to": "alice", "sealed_to": "jean"},
    }


STATEMENT_CASES = ["back-dated", "post-dated", "signed-by-other-key", "addressed-to-another-person"]


@pytest.mark.parametrize("case", STATEMENT_CASES)
def test_bad_issuer_statement_not_certified(world: World, case: str) -> None:
    """A genuine issuer acting badly (T4): its deposits are never shown as certified."""
    dep_id, env = make_deposit(world, **_statement_cases(world)[case])
    put_deposit(world, "jean", dep_id, env)
    item = inbox(world.a)[dep_id]
    assert not item.get("certified") and item.get("issuer") is None, item
    res = world.a.run("inbox", "accept", dep_id)
    if res.returncode == 0:  # accepted as a plain, uncertified document
        path = res.stdout.strip().splitlines()[-1]
        assert "Mairie de Lyon" not in path
        assert_refused(world.a.run("verify", path), EXIT_INTEGRITY, names=(path,))
    else:
        assert_refused(res, EXIT_INTEGRITY, names=(dep_id, "deposit"))
    genuine_still_accepted(world)


# -- requests -----------------------------------------------------------------------------------


def make_request(
    world: World,
    *,
    to: str = "jean",
    sealed_to: str | None = None,
    requester: str = "mairie",
    due: int | None = None,
    signer: tuple[bytes, dep.IssuerCert] | None = None,
) -> tuple[str, bytes, int]:
    sk, cert = signer or issuer_material(world)
    to_sign_pk, _ = ident(world, to)
    _, box_pk = ident(world, sealed_to or to)
    req_id = os.urandom(16).hex()
    due = due or int(time.time()) + 30 * 86400
    st = dep.RequestStatement(
        request_id=req_id,
        to=to,
        to_sign_pk=to_sign_pk,
        needs=("proof-of-address",),
        due=due,
        message="Envoyez-nous",
        created=int(time.time()),
        issuer_pk=cert.issuer_pk,
        requester=requester,
    )
    env = dep.build_request(
        statement=st,
        issuer_sk=sk,
        cert=cert,
        recipient_box_pk=box_pk,
        key=os.urandom(32),
        ephemeral=os.urandom(32),
        nonce=os.urandom(24),
    )
    return req_id, env, due


def put_request(
    world: World, recipient: str, req_id: str, env: bytes, due: int, sender: str = "mairie"
) -> None:
    world.store.execute(
        "INSERT INTO requests(id, recipient_id, sender_id, envelope, due_at, created_at)"
        " VALUES(?,?,?,?,?,?)",
        req_id,
        world.store.account_id(recipient),
        world.store.account_id(sender),
        env,
        due,
        int(time.time()),
    )


REQUEST_CASES = [
    "minted-by-the-server",
    "addressed-to-another-person",
    "moved-from-alice",
]


def _request_case(world: World, case: str) -> str:
    if case == "minted-by-the-server":
        # "CAF" asks jean for documents, answer to alice (an accomplice account)
        req_id, env, due = make_request(world, requester="alice", signer=rogue_cert("CAF"))
    elif case == "addressed-to-another-person":
        req_id, env, due = make_request(world, to="alice", sealed_to="jean")
    else:
        req_id, env, due = make_request(world, to="alice")
        put_request(world, "alice", req_id, env, due)
        world.store.execute(
            "UPDATE requests SET recipient_id=? WHERE id=?", world.store.account_id("jean"), req_id
        )
        return req_id
    put_request(world, "jean", req_id, env, due)
    return req_id


@pytest.mark.parametrize("case", REQUEST_CASES)
def test_forged_request_never_answered(world: World, case: str) -> None:
    req_id = _request_case(world, case)
    listed = {r["id"]: r for r in json.loads(world.a.ok("requests", "--json"))}
    assert not listed[req_id].get("certified") and listed[req_id].get("requester") is None
    grants = world.store.grant_ids("jean")
    res = world.a.run("requests", "answer", req_id, "papiers/acte.txt")
    assert_refused(res, EXIT_INTEGRITY, names=(req_id, "request"))
    assert world.store.grant_ids("jean") == grants, "a grant was made for a forged request"
    # the genuine request is still answerable
    grant = world.a.last_line("requests", "answer", world.facts["request"], "papiers/acte.txt")
    assert grant in world.store.grant_ids("jean")


def test_request_due_date_changed_by_server(world: World) -> None:
    req = world.facts["request"]
    world.store.execute("UPDATE requests SET due_at=due_at-86400*365 WHERE id=?", req)
    listed = {r["id"]: r for r in json.loads(world.a.ok("requests", "--json"))}
    item = listed[req]
    assert item["due"] == "2031-01-15" or item["due"].startswith("2031-01-1"), item
    assert "differs" in (item.get("problem") or "")
    assert item["certified"] is True


@pytest.mark.parametrize("filename", ["releve.tmp", "Thumbs.db", "avis.pdf.part"])
def test_deposit_named_like_an_ignored_file_is_not_lost(world: World, filename: str) -> None:
    """An issuer (T4) names its document like a file the sync ignores: once accepted, the
    document must stay in the vault (a later sync must not turn "ignored on disk" into a
    deletion) and reach the owner's other devices."""
    dep_id, env = make_deposit(world, filename=filename)
    put_deposit(world, "jean", dep_id, env)
    path = world.a.last_line("inbox", "accept", dep_id)
    world.a.ok("sync")
    world.b.ok("sync")
    world.b.ok("sync")
    history = json.loads(world.a.ok("history", path, "--json"))
    assert not history[-1]["deleted"], f"the accepted {path} was deleted by the next sync"
    assert world.b.read(path) == DOC
