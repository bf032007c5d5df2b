"""Grants against an expired or revoked counsellor (T3), another user (T6) and a hostile server:
every grant endpoint re-checks expiry, revocation, uses and lock; ids do not widen a grant;
the grantee's client checks the signed expiry itself; a substituted payload is refused;
content written after revocation stays out of reach.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from vault_core.encoding import b64u, unb64u
from vault_core.errors import EXIT_ACCESS, EXIT_AUTH, EXIT_INTEGRITY
from vault_core.grants import link_secrets, parse_link

from .harness import World, assert_refused, tree_of
from .helpers import bearer, fresh_token, http, http_json


def link_parts(link: str) -> tuple[str, str, bytes]:
    server, gid, secret = parse_link(link)
    return server, gid, link_secrets(secret).access_token


def granted_blobs(world: World, gid: str) -> list[str]:
    return [
        r[0]
        for r in world.store.query(
            "SELECT blob_id FROM grant_blobs WHERE grant_id=? ORDER BY blob_id", gid
        )
    ]


def open_link(world: World, gid: str, access: bytes) -> tuple[int, Any]:
    return http_json(
        world.server.url,
        "POST",
        f"/v1/grants/{gid}/open",
        headers={"Authorization": f"Grant {b64u(access)}"},
    )


def get_blob(world: World, gid: str, blob: str, auth: str) -> int:
    status, _ = http(
        world.server.url, "GET", f"/v1/grants/{gid}/blobs/{blob}", headers={"Authorization": auth}
    )
    return status


def set_state(world: World, state: str, gids: list[str]) -> None:
    now = int(time.time())
    for gid in gids:
        if state == "expired":
            world.store.set_grant(gid, expires_at=now - 5)
        elif state == "revoked":
            world.a.ok("share", "revoke", gid)
        elif state == "used_up":
            world.store.set_grant(gid, max_uses=1, uses=1)
        elif state == "locked":
            world.store.set_grant(gid, failed=10)


@pytest.mark.parametrize("state", ["expired", "revoked", "used_up", "locked"])
def test_grant_unavailable_on_every_endpoint(world: World, state: str, tmp_path: Any) -> None:
    link_gid, acct_gid = world.facts["link_grant"], world.facts["account_grant"]
    _, _, access = link_parts(world.facts["link"])
    c_token = fresh_token(world.c)
    # sessions opened while the grants were active (a counsellor keeps them)
    st, opened = open_link(world, link_gid, access)
    assert st == 200
    link_session = f"Grant {opened['session']}"
    st, opened_a = http_json(
        world.server.url, "POST", f"/v1/grants/{acct_gid}/open", headers=bearer(c_token)
    )
    assert st == 200
    acct_session = f"Grant {opened_a['session']}"
    link_blob, acct_blob = granted_blobs(world, link_gid)[0], granted_blobs(world, acct_gid)[0]
    assert get_blob(world, link_gid, link_blob, link_session) == 200

    set_state(world, state, [link_gid, acct_gid])
    # counted sessions of a used-up grant still serve (API.md); nothing else does
    served = 200 if state == "used_up" else 410
    assert open_link(world, link_gid, access)[0] == 410
    assert (
        http(world.server.url, "POST", f"/v1/grants/{acct_gid}/open", headers=bearer(c_token))[0]
        == 410
    )
    assert get_blob(world, link_gid, link_blob, link_session) == served
    assert get_blob(world, acct_gid, acct_blob, acct_session) == served
    assert get_blob(world, acct_gid, acct_blob, f"Bearer {c_token}") == served
    a_token = fresh_token(world.a)
    status, _ = http_json(
        world.server.url,
        "PUT",
        f"/v1/grants/{link_gid}/payload",
        {"payload": b64u(b"x" * 120), "blobs": []},
        headers=bearer(a_token),
    )
    assert status == (204 if state == "used_up" else 410)
    # the real clients: refused with exit 5, nothing written
    for dev, target in ((world.c, acct_gid), (world.device("r"), world.facts["link"])):
        out = tmp_path / f"out-{dev.name}"
        assert_refused(dev.run("redeem", target, "--out", str(out)), EXIT_ACCESS)
        assert tree_of(out) == {}
    listed = {g["id"]: g["state"] for g in json.loads(world.a.ok("share", "list", "--json"))}
    assert listed[link_gid] == listed[acct_gid] == state


def test_client_checks_the_signed_expiry(world: World, tmp_path: Any) -> None:
    """The server keeps serving grants past their signed expiry (it extended its own
    ``expires_at``, colluding with the counsellor): the grantee's client refuses by its own
    clock (SPEC §Grants: MUST refuse an expired header), writing nothing."""
    link = world.a.last_line("share", "create", "papiers/acte.txt", "--expires", "2s")
    acct = world.a.last_line(
        "share", "create", "papiers/acte.txt", "--expires", "2s", "--to", "bouchra"
    )
    time.sleep(2.5)
    gid = link.split("/s/")[1].split("#")[0]
    for g in (gid, acct):
        world.store.set_grant(g, expires_at=int(time.time()) + 3600)
    for dev, target in ((world.device("r"), link), (world.c, acct)):
        out = tmp_path / f"out-{dev.name}"
        assert_refused(
            dev.run("redeem", target, "--out", str(out)), EXIT_ACCESS, names=("expired",)
        )
        assert tree_of(out) == {}


def test_grant_scope_escalation_by_id(world: World) -> None:
    link_gid, acct_gid = world.facts["link_grant"], world.facts["account_grant"]
    _, _, access = link_parts(world.facts["link"])
    _st, opened = open_link(world, link_gid, access)
    session = f"Grant {opened['session']}"
    granted = set(granted_blobs(world, link_gid))
    every = set(world.store.blob_ids("jean"))
    assert granted and every - granted
    for blob in sorted(every - granted):  # jean's other documents, by id
        assert get_blob(world, link_gid, blob, session) == 404
    for blob in sorted(granted):
        assert get_blob(world, link_gid, blob, session) == 200
    alice_blob = world.store.blob_ids("alice")[0]
    assert get_blob(world, link_gid, alice_blob, session) == 404
    # the session of one grant does not open another grant, nor the owner's API
    acct_blob = granted_blobs(world, acct_gid)[0]
    assert get_blob(world, acct_gid, acct_blob, session) == 410
    token = opened["session"]
    for path in (f"/v1/blobs/{acct_blob}", "/v1/log", "/v1/grants", "/v1/inbox"):
        assert http(world.server.url, "GET", path, headers=bearer(token))[0] == 401
    assert (
        http(
            world.server.url,
            "GET",
            f"/v1/blobs/{acct_blob}",
            headers={"Authorization": f"Grant {b64u(access)}"},
        )[0]
        == 401
    )
    # an account grant to bouchra is unknown to alice, whatever she knows of its id
    x_token, c_token = fresh_token(world.x), fresh_token(world.c)
    assert (
        http(world.server.url, "POST", f"/v1/grants/{acct_gid}/open", headers=bearer(x_token))[0]
        == 410
    )
    assert get_blob(world, acct_gid, acct_blob, f"Bearer {x_token}") == 410
    # bouchra's own account does not reach the link grant's blobs, nor the owner's endpoints
    assert get_blob(world, link_gid, sorted(granted)[0], f"Bearer {c_token}") == 410
    for method, path, body in (
        ("DELETE", f"/v1/grants/{acct_gid}", None),
        ("PUT", f"/v1/grants/{acct_gid}/payload", {"payload": b64u(b"x" * 120), "blobs": []}),
        ("GET", f"/v1/grants/{acct_gid}/log", None),
    ):
        assert http_json(world.server.url, method, path, body, headers=bearer(c_token))[0] == 404
    states = {g["id"]: g["state"] for g in json.loads(world.a.ok("share", "list", "--json"))}
    assert states[acct_gid] == states[link_gid] == "active"


def test_link_grant_id_used_as_account_grant(world: World, tmp_path: Any) -> None:
    out = tmp_path / "out"
    res = world.c.run("redeem", world.facts["link_grant"], "--out", str(out))
    assert_refused(res, (EXIT_AUTH, EXIT_ACCESS))
    assert tree_of(out) == {}


def _redeemer_link(world: World, link: str) -> str:
    """The same link through door r (the redeemer's own view of the server)."""
    return world.proxy.door("r") + "/s/" + link.split("/s/")[1]


@pytest.mark.parametrize(
    "case",
    [
        "other-grants-payload",
        "other-grants-header-and-payload",
        "flipped-payload",
        "flipped-header",
        "empty-payload",
    ],
)
def test_grant_payload_substitution(world: World, case: str, tmp_path: Any) -> None:
    link = world.facts["link"]
    gid = world.facts["link_grant"]
    other = world.a.last_line("share", "create", "notes.txt", "--expires", "1h")
    other_gid = other.split("/s/")[1].split("#")[0]
    ((hdr, pay),) = world.store.query("SELECT header, payload FROM grants WHERE id=?", other_gid)

    def response(ex: Any) -> None:
        body = ex.json()
        if case == "other-grants-payload":
            body["payload"] = b64u(bytes(pay))
        elif case == "other-grants-header-and-payload":
            body["header"], body["payload"] = b64u(bytes(hdr)), b64u(bytes(pay))
        elif case == "flipped-payload":
            raw = bytearray(unb64u(body["payload"]))
            raw[-3] ^= 1
            body["payload"] = b64u(bytes(raw))
        elif case == "flipped-header":
            body["header"] = b64u(
                unb64u(body["header"]).replace(b'"password":false', b'"password":true')
            )
        else:
            body["payload"] = ""
        ex.set_json(body)

    world.proxy.on("POST", rf"/v1/grants/{gid}/open", door="r", response=response)
    r = world.device("r")
    out = tmp_path / "out"
    res = r.run("redeem", _redeemer_link(world, link), "--out", str(out))
    assert_refused(res, EXIT_INTEGRITY, names=("shared documents", "grant"))
    assert tree_of(out) == {}
    world.proxy.clear()
    r.ok("redeem", _redeemer_link(world, link), "--out", str(out))
    assert tree_of(out) == {"acte.txt": b"acte de naissance de Jean\n"}


def test_content_after_revocation_stays_out_of_reach(world: World, tmp_path: Any) -> None:
    """Jean revokes bouchra's folder grant, then adds a document to the folder. The server
    colludes with her: it un-revokes the grant at once (so that jean's client would extend it
    with the new document) and adds every blob to it. She still cannot get the document: its
    file key is in no payload jean signed for her, and his client never extends a grant it
    revoked."""
    gid = world.facts["account_grant"]
    world.a.ok("share", "revoke", gid)
    world.store.set_grant(gid, revoked_at=None)
    world.a.write("dossier/apres.txt", "written after the revocation")
    world.a.ok("sync")
    for blob in world.store.blob_ids("jean"):
        world.store.execute(
            "INSERT OR IGNORE INTO grant_blobs(grant_id, account_id, blob_id) VALUES(?,?,?)",
            gid,
            world.store.account_id("jean"),
            blob,
        )
    out = tmp_path / "out"
    world.c.ok("redeem", gid, "--out", str(out))
    got = tree_of(out)
    assert all(b"written after the revocation" not in v for v in got.values())
    assert sorted(got) == ["dossier/caf.txt", "dossier/loyer.txt"]


def test_an_older_payload_revision_is_refused_once_a_newer_was_seen(
    world: World, tmp_path: Any
) -> None:
    """Jean adds a document to the folder he shares with bouchra; his client publishes a new
    revision of the grant's payload, which she opens. The server then serves the revision
    before it again (it would hide the new document, or show again one jean took out): her
    client, which remembers the revision it opened, refuses it (SPEC §Grants)."""
    gid = world.facts["account_grant"]
    ((old,),) = world.store.query("SELECT payload FROM grants WHERE id=?", gid)
    world.a.write("dossier/nouveau.txt", "ajouté ensuite\n")
    world.a.ok("sync")
    ((new,),) = world.store.query("SELECT payload FROM grants WHERE id=?", gid)
    assert bytes(new) != bytes(old)
    world.c.ok("redeem", gid, "--list")  # the new revision: seen
    world.store.set_grant(gid, payload=old)  # replayed
    out = tmp_path / "out"
    res = world.c.run("redeem", gid, "--out", str(out))
    assert_refused(res, EXIT_INTEGRITY, names=("revision", "replayed"))
    assert tree_of(out) == {}
    world.store.set_grant(gid, payload=new)
    world.c.ok("redeem", gid, "--out", str(out))
    assert "dossier/nouveau.txt" in tree_of(out)
