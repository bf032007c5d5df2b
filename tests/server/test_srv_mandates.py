"""The server's side of helper mandates (issue 21; SPEC §Mandates), with its manual clock:
what it refuses by itself, whatever the clients check. A mandate is given only to an existing
other account, with well-formed kinds and its read grant exactly when it has ``read``; every
helper call is refused to another account (404), outside the mandate's kinds, after its expiry
by the server's clock or once revoked (403); the helper's entries land in the owner's log by
compare-and-swap under the mandate id, her blobs in the owner's account."""

from __future__ import annotations

import os

from srv_helpers import T0, Srv, User, expect, hex_id

from vault_core.encoding import b64u
from vault_core.log import LogEntry, genesis_hash


async def _mandate(srv: Srv, owner: User, helper: User, kinds: list[str], **over: object) -> str:
    mid = hex_id()
    body = {
        "id": mid,
        "helper": helper.handle,
        "kinds": kinds,
        "expires_at": T0 + 60,
        "copy": b64u(os.urandom(200)),
        **over,
    }
    await expect(await srv.client.post("/v1/mandates", json=body, headers=owner.h), 201)
    return mid


def _entry(seq: int, prev: bytes, device: str) -> bytes:
    rec = b"VH1" + os.urandom(80)
    return LogEntry(seq=seq, prev=prev, device_id=device, time=1, rec=rec, sig=bytes(64)).encode()


async def _append(
    srv: Srv, helper: User, mid: str, action: str, expected: int, entry: bytes
) -> object:
    body = {"action": action, "expected_head": expected, "entry": b64u(entry), "refs": []}
    return await srv.client.post(f"/v1/mandates/{mid}/log", json=body, headers=helper.h)


async def test_giving_a_mandate(srv: Srv) -> None:
    jean, gaelle = await srv.user("jean"), await srv.user("gaelle")
    post = srv.client.post
    bad = [
        ({"helper": "personne"}, 404),
        ({"helper": "jean"}, 403),
        ({"kinds": ["write"]}, 400),
        ({"kinds": []}, 400),
        ({"kinds": ["read"], "grant_id": hex_id()}, 404),  # a grant that is not the owner's
        ({"expires_at": T0}, 400),
        ({"copy": ""}, 400),
    ]
    for change, status in bad:
        body = {"id": hex_id(), "helper": "gaelle", "kinds": ["inbox"], "expires_at": T0 + 60,
                "copy": b64u(os.urandom(100)), **change}  # fmt: skip
        await expect(await post("/v1/mandates", json=body, headers=jean.h), status)
    mid = await _mandate(srv, jean, gaelle, ["upload", "inbox", "upload"])  # (as a set)
    given = await expect(await srv.client.get("/v1/mandates", headers=jean.h), 200)
    assert [(m["id"], m["helper"], m["kinds"], m["state"]) for m in given] == [
        (mid, "gaelle", ["inbox", "upload"], "active"),
    ]
    assert "copy" not in given[0]
    (got,) = await expect(await srv.client.get("/v1/mandates/received", headers=gaelle.h), 200)
    assert got["owner"] == "jean" and got["copy"]
    assert await expect(await srv.client.get("/v1/mandates/received", headers=jean.h), 200) == []
    srv.clock.advance(60)
    (given,) = await expect(await srv.client.get("/v1/mandates", headers=jean.h), 200)
    assert given["state"] == "expired"


async def test_helper_calls_refused_outside_the_mandate(srv: Srv) -> None:
    jean, gaelle, alice = await srv.user("jean"), await srv.user("gaelle"), await srv.user("alice")
    mid = await _mandate(srv, jean, gaelle, ["upload"])
    get, post = srv.client.get, srv.client.post
    # another account cannot act as the helper (not even seeing that the mandate exists), nor
    # can the owner; the helper cannot forward as the owner
    await expect(await get(f"/v1/mandates/{mid}/log/head", headers=alice.h), 404)
    await expect(await get(f"/v1/mandates/{mid}/log/head", headers=jean.h), 403)
    body = {"items": [{"kind": "deposit", "id": hex_id(), "forward": b64u(b"x")}]}
    await expect(await post(f"/v1/mandates/{mid}/forwards", json=body, headers=gaelle.h), 403)
    await expect(await srv.client.delete(f"/v1/mandates/{mid}", headers=gaelle.h), 403)
    # kinds the mandate lacks
    await expect(await get(f"/v1/mandates/{mid}/requests", headers=gaelle.h), 403, "forbidden")
    await expect(await get(f"/v1/mandates/{mid}/inbox", headers=gaelle.h), 403, "forbidden")
    genesis = genesis_hash("jean")
    for action in ("answer", "accept"):
        r = await _append(srv, gaelle, mid, action, 0, _entry(1, genesis, mid))
        await expect(r, 403, "forbidden")
    # an entry that names another device than the mandate
    await expect(await _append(srv, gaelle, mid, "upload", 0, _entry(1, genesis, hex_id())), 400)
    assert await expect(await srv.client.get("/v1/log/head", headers=jean.h), 200) == {"seq": 0}

    # in scope: the entry lands in the owner's log under the mandate id, by compare-and-swap
    head = await expect(await get(f"/v1/mandates/{mid}/log/head", headers=gaelle.h), 200)
    assert head == {"seq": 0, "entry": None}
    first = _entry(1, genesis, mid)
    await expect(await _append(srv, gaelle, mid, "upload", 0, first), 201)
    await expect(await _append(srv, gaelle, mid, "upload", 0, first), 409)  # the head moved
    head = await expect(await get(f"/v1/mandates/{mid}/log/head", headers=gaelle.h), 200)
    assert head == {"seq": 1, "entry": b64u(first)}
    page = await expect(await get("/v1/log", headers=jean.h), 200)
    assert [e["entry"] for e in page["entries"]] == [b64u(first)]
    # her blobs go into the owner's account
    data = b"VC1" + os.urandom(100)
    bid = "ab" * 32
    r = await srv.client.put(f"/v1/mandates/{mid}/blobs/{bid}", data=data, headers=gaelle.h)
    await expect(r, 201)
    assert await (await get(f"/v1/blobs/{bid}", headers=jean.h)).read() == data
    r = await get(f"/v1/blobs/{bid}", headers=gaelle.h)
    assert r.status == 404  # not in hers

    # after expiry by the server's clock, and after revocation: 403, nothing appended
    srv.clock.advance(60)
    await expect(await _append(srv, gaelle, mid, "upload", 1, _entry(2, b"\0" * 32, mid)), 403)
    srv.clock.advance(-60)
    await expect(await srv.client.delete(f"/v1/mandates/{mid}", headers=alice.h), 404)
    await expect(await srv.client.delete(f"/v1/mandates/{mid}", headers=jean.h), 204)
    body = await expect(await get(f"/v1/mandates/{mid}/log/head", headers=gaelle.h), 403)
    assert "revoked" in body["message"]
    r = await srv.client.put(f"/v1/mandates/{mid}/blobs/{'cd' * 32}", data=data, headers=gaelle.h)
    await expect(r, 403)
    await expect(await _append(srv, gaelle, mid, "upload", 1, _entry(2, b"\0" * 32, mid)), 403)
    assert (await expect(await get("/v1/log/head", headers=jean.h), 200))["seq"] == 1
    body = {"items": [{"kind": "request", "id": hex_id(), "forward": b64u(b"x")}]}
    await expect(await post(f"/v1/mandates/{mid}/forwards", json=body, headers=jean.h), 403)
