from __future__ import annotations

import hashlib
import os
from typing import Any

from srv_helpers import Srv, User, blob, expect, hex_id

from vault_core.encoding import b64u, unb64u


async def _link_grant(srv: Srv, owner: User, blobs: list[str], **extra: Any) -> tuple[str, str]:
    token = os.urandom(32)
    gid = hex_id()
    body = {
        "id": gid,
        "kind": "link",
        "access_hash": b64u(hashlib.sha256(token).digest()),
        "expires_at": srv.clock.now() + 3600,
        "password": False,
        "header": b64u(b"header"),
        "payload": b64u(b"payload"),
        "blobs": blobs,
        **extra,
    }
    await expect(await srv.client.post("/v1/grants", json=body, headers=owner.h), 201)
    return gid, b64u(token)


async def _account_grant(srv: Srv, owner: User, to: str, blobs: list[str]) -> str:
    gid = hex_id()
    body = {
        "id": gid,
        "kind": "account",
        "to": to,
        "expires_at": srv.clock.now() + 100,
        "password": False,
        "header": b64u(b"h"),
        "payload": b64u(b"p"),
        "sealed_key": b64u(b"sealed"),
        "blobs": blobs,
    }
    await expect(await srv.client.post("/v1/grants", json=body, headers=owner.h), 201)
    return gid


def G(token: str) -> dict[str, str]:
    return {"Authorization": f"Grant {token}"}


async def _open(srv: Srv, gid: str, token: str, status: int = 200, code: str | None = None):
    return await expect(
        await srv.client.post(f"/v1/grants/{gid}/open", headers=G(token)), status, code
    )


async def test_link_grant_flow_and_log(srv: Srv) -> None:
    alice = await srv.user("alice")
    inside = await srv.put_blob(alice, b"granted bytes")
    outside = await srv.put_blob(alice, b"private bytes")
    gid, token = await _link_grant(srv, alice, [inside])
    opened = await _open(srv, gid, token)
    assert unb64u(opened["header"]) == b"header" and unb64u(opened["payload"]) == b"payload"
    session = opened["session"]
    r = await srv.client.get(f"/v1/grants/{gid}/blobs/{inside}", headers=G(session))
    assert r.status == 200 and await r.read() == b"granted bytes"
    await expect(await srv.client.get(f"/v1/grants/{gid}/blobs/{outside}", headers=G(session)), 404)
    # the access token is not a session, and a session is not an access token
    await expect(await srv.client.get(f"/v1/grants/{gid}/blobs/{inside}", headers=G(token)), 410)
    await _open(srv, gid, session, 403, "forbidden")
    grants = await expect(await srv.client.get("/v1/grants", headers=alice.h), 200)
    assert grants[0]["state"] == "active" and grants[0]["uses"] == 1
    log = await expect(await srv.client.get(f"/v1/grants/{gid}/log", headers=alice.h), 200)
    assert [e["what"] for e in log] == ["open", inside]
    # live payload update
    await expect(
        await srv.client.put(
            f"/v1/grants/{gid}/payload",
            headers=alice.h,
            json={"payload": b64u(b"p2"), "blobs": [inside, outside]},
        ),
        204,
    )
    r = await srv.client.get(f"/v1/grants/{gid}/blobs/{outside}", headers=G(session))
    assert r.status == 200


async def test_revocation_ends_sessions_obtained_before(srv: Srv) -> None:
    alice = await srv.user("alice")
    bid = await srv.put_blob(alice, b"doc")
    gid, token = await _link_grant(srv, alice, [bid])
    session = (await _open(srv, gid, token))["session"]
    await expect(await srv.client.delete(f"/v1/grants/{gid}", headers=alice.h), 204)
    await expect(
        await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=G(session)),
        410,
        "grant_unavailable",
    )
    await _open(srv, gid, token, 410, "grant_unavailable")
    await expect(
        await srv.client.put(
            f"/v1/grants/{gid}/payload", headers=alice.h, json={"payload": b64u(b"p2"), "blobs": []}
        ),
        410,
    )
    grants = await expect(await srv.client.get("/v1/grants", headers=alice.h), 200)
    assert grants[0]["state"] == "revoked"


async def test_revocation_checked_on_every_call_even_with_live_session_row(srv: Srv) -> None:
    """Even if a grant session row survived (another process, a race), the grant is
    re-checked on every fetch."""
    alice = await srv.user("alice")
    bid = await srv.put_blob(alice, b"doc")
    gid, token = await _link_grant(srv, alice, [bid])
    session = (await _open(srv, gid, token))["session"]
    # revoke behind the session table's back
    conn = srv.ctx.meta._conn  # type: ignore[attr-defined]
    conn.execute("UPDATE grants SET revoked_at=1 WHERE id=?", (gid,))
    await expect(await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=G(session)), 410)


async def test_expiry_on_open_and_on_fetch(srv: Srv) -> None:
    alice = await srv.user("alice")
    bid = await srv.put_blob(alice, b"doc")
    gid, token = await _link_grant(srv, alice, [bid])
    opened = await _open(srv, gid, token)
    assert opened["expires_at"] == srv.clock.now() + 3600
    srv.clock.advance(3599)
    r = await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=G(opened["session"]))
    assert r.status == 200
    srv.clock.advance(1)
    await expect(
        await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=G(opened["session"])), 410
    )
    await _open(srv, gid, token, 410)
    alice.token = (await expect(await srv.login(alice), 200))["token"]  # 1 h later
    grants = await expect(await srv.client.get("/v1/grants", headers=alice.h), 200)
    assert grants[0]["state"] == "expired"


async def test_max_uses(srv: Srv) -> None:
    alice = await srv.user("alice")
    bid = await srv.put_blob(alice, b"doc")
    gid, token = await _link_grant(srv, alice, [bid], max_uses=2)
    s1 = (await _open(srv, gid, token))["session"]
    await _open(srv, gid, token)
    await _open(srv, gid, token, 410, "grant_unavailable")
    # sessions counted within the limit keep working until they expire
    r = await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=G(s1))
    assert r.status == 200
    grants = await expect(await srv.client.get("/v1/grants", headers=alice.h), 200)
    assert grants[0]["state"] == "used_up" and grants[0]["uses"] == 2


async def test_wrong_token_locks_after_ten(srv: Srv) -> None:
    alice = await srv.user("alice")
    gid, token = await _link_grant(srv, alice, [])
    for _ in range(10):
        await _open(srv, gid, b64u(os.urandom(32)), 403, "forbidden")
    await _open(srv, gid, token, 410, "grant_unavailable")
    await _open(srv, gid, "junk", 410)
    await _open(srv, hex_id(), token, 410)  # unknown grant looks the same


async def test_account_grant(srv: Srv) -> None:
    alice = await srv.user("alice")
    bob = await srv.user("bob")
    carol = await srv.user("carol")
    bid = await srv.put_blob(alice, b"for bob")
    gid = await _account_grant(srv, alice, "bob", [bid])
    shared = await expect(await srv.client.get("/v1/shared", headers=bob.h), 200)
    assert shared == [
        {"id": gid, "from": "alice", "expires_at": srv.clock.now() + 100, "state": "active"}
    ]
    assert await expect(await srv.client.get("/v1/shared", headers=carol.h), 200) == []
    # bearer fetch needs an open first
    await expect(await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=bob.h), 410)
    await expect(await srv.client.post(f"/v1/grants/{gid}/open", headers=carol.h), 410)
    opened = await expect(await srv.client.post(f"/v1/grants/{gid}/open", headers=bob.h), 200)
    assert unb64u(opened["sealed_key"]) == b"sealed"
    r = await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=bob.h)
    assert await r.read() == b"for bob"
    await expect(await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=carol.h), 410)
    log = await expect(await srv.client.get(f"/v1/grants/{gid}/log", headers=alice.h), 200)
    assert log[0]["account"] == "bob" and log[1] == {
        "at": srv.clock.now(),
        "what": bid,
        "account": "bob",
    }
    srv.clock.advance(100)
    await expect(await srv.client.get(f"/v1/grants/{gid}/blobs/{bid}", headers=bob.h), 410)


async def test_grant_validation(srv: Srv) -> None:
    alice = await srv.user("alice")
    base = {
        "id": hex_id(),
        "kind": "link",
        "access_hash": b64u(bytes(32)),
        "expires_at": srv.clock.now() + 10,
        "password": False,
        "header": b64u(b"h"),
        "payload": b64u(b"p"),
        "blobs": [],
    }
    bad = [
        {"kind": "nope"},
        {"expires_at": srv.clock.now()},
        {"access_hash": b64u(b"short")},
        {"blobs": [blob(b"not uploaded")]},
        {"blobs": ["xyz"]},
        {"max_uses": 0},
        {"kind": "account", "to": "nobody", "access_hash": None},
    ]
    for change in bad:
        r = await srv.client.post("/v1/grants", headers=alice.h, json={**base, **change})
        assert 400 <= r.status < 500, change
    await expect(await srv.client.post("/v1/grants", headers=alice.h, json=base), 201)
    await expect(await srv.client.post("/v1/grants", headers=alice.h, json=base), 409)


async def test_open_status_does_not_reveal_whether_an_id_exists(srv: Srv) -> None:
    """Whatever the credential, a real grant of the other kind answers like an unknown id."""
    alice = await srv.user("alice")
    bob = await srv.user("bob")
    bid = await srv.put_blob(alice, b"x")
    link_id, _ = await _link_grant(srv, alice, [bid])
    acct_id = await _account_grant(srv, alice, "bob", [bid])
    unknown = hex_id()
    wrong_token = b64u(os.urandom(32))
    cases: list[tuple[dict[str, str], int]] = [
        ({}, 401),  # no credential
        ({"Authorization": "Basic eDp5"}, 401),  # another scheme
        ({"Authorization": f"Bearer {wrong_token}"}, 401),  # not a session
        (bob.h, 410),  # a valid session: a link grant looks unknown
        (G(wrong_token), 410),  # a Grant token: an account grant looks unknown
    ]
    for headers, status in cases:
        for gid in (unknown, link_id, acct_id):
            if (headers, status) == (G(wrong_token), 410) and gid == link_id:
                continue  # the real link grant checks the token: 403, counted (tested above)
            if headers == bob.h and gid == acct_id:
                continue  # Bob's own account grant opens
            r = await srv.client.post(f"/v1/grants/{gid}/open", headers=headers)
            assert r.status == status, (headers, gid, r.status)
