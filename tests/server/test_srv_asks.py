"""The asks routes (SPEC §Asks) on an in-process server: only an issuer account takes asks;
each side lists its own; a fulfilment links only this issuer's deposit to the asker that
waits in the asker's inbox, once; the envelopes are bounded; the asking account is paced;
the issuer hears of a new ask and the asker of its fulfilment on the events socket."""

from __future__ import annotations

import asyncio

from srv_helpers import Srv, expect, hex_id

from vault_core.encoding import b64u, unb64u


async def _issuer(srv: Srv, handle: str = "cityhall"):
    user = await srv.user(handle)
    assert await srv.ctx.meta.set_issuer(handle, True)
    return user


def _ask() -> dict[str, str]:
    return {"id": hex_id(), "envelope": b64u(b"sealed ask"), "copy": b64u(b"own copy")}


async def _next(ws) -> dict:
    msg = await asyncio.wait_for(ws.receive_json(), 5)
    assert isinstance(msg, dict)
    return msg


async def test_asks_to_issuers_only_and_fulfilled_once(srv: Srv) -> None:
    alice = await srv.user("alice")
    bob = await srv.user("bob")
    city = await _issuer(srv)
    ask = _ask()
    await expect(await srv.client.post("/v1/asks/bob", json=ask, headers=alice.h), 403)
    await expect(await srv.client.post("/v1/asks/nobody", json=ask, headers=alice.h), 404)
    await expect(await srv.client.post("/v1/asks/cityhall", json=ask), 401)
    ws_city = await srv.client.ws_connect("/v1/events", headers=city.h)
    ws_alice = await srv.client.ws_connect("/v1/events", headers=alice.h)
    await expect(await srv.client.post("/v1/asks/cityhall", json=ask, headers=alice.h), 201)
    assert await _next(ws_city) == {"type": "ask"}
    await expect(await srv.client.post("/v1/asks/cityhall", json=ask, headers=alice.h), 409)
    got = await expect(await srv.client.get("/v1/asks/received", headers=city.h), 200)
    assert [(a["id"], a["from"], a["to"], a["state"]) for a in got] == [
        (ask["id"], "alice", "cityhall", "open")
    ]
    assert unb64u(got[0]["envelope"]) == b"sealed ask" and "copy" not in got[0]
    mine = await expect(await srv.client.get("/v1/asks/sent", headers=alice.h), 200)
    assert unb64u(mine[0]["copy"]) == b"own copy" and "envelope" not in mine[0]
    assert await expect(await srv.client.get("/v1/asks/received", headers=bob.h), 200) == []

    dep = {"id": hex_id(), "envelope": b64u(b"sealed document")}
    await expect(await srv.client.post("/v1/inbox/alice", json=dep, headers=city.h), 201)
    assert await _next(ws_alice) == {"type": "inbox"}
    fulfil = {"deposit_id": dep["id"], "reply": b64u(b"sealed reply")}
    url = f"/v1/asks/{ask['id']}/fulfil"
    await expect(await srv.client.post(url, json=fulfil, headers=bob.h), 403)  # not an issuer
    other = await _issuer(srv, "prefecture")  # an issuer, but not the one asked
    await expect(await srv.client.post(url, json=fulfil, headers=other.h), 404)
    unknown = {**fulfil, "deposit_id": hex_id()}
    await expect(await srv.client.post(url, json=unknown, headers=city.h), 404)
    done = await expect(await srv.client.post(url, json=fulfil, headers=city.h), 200)
    assert done["state"] == "fulfilled" and done["fulfilment"]["deposit_id"] == dep["id"]
    assert await _next(ws_alice) == {"type": "ask"}
    await expect(await srv.client.post(url, json=fulfil, headers=city.h), 409)
    (mine,) = await expect(await srv.client.get("/v1/asks/sent", headers=alice.h), 200)
    assert mine["state"] == "fulfilled"
    assert unb64u(mine["fulfilment"]["reply"]) == b"sealed reply"
    (theirs,) = await expect(await srv.client.get("/v1/asks/received", headers=city.h), 200)
    assert "reply" not in theirs["fulfilment"]
    await ws_city.close()
    await ws_alice.close()


async def test_ask_limits(make_srv) -> None:
    srv = await make_srv(asks_per_minute=2, asks_open=3, ask_envelope=64)
    alice = await srv.user("alice")
    await _issuer(srv)
    big = {**_ask(), "envelope": b64u(b"x" * 65)}
    await expect(await srv.client.post("/v1/asks/cityhall", json=big, headers=alice.h), 400)
    await expect(await srv.client.post("/v1/asks/cityhall", json=_ask(), headers=alice.h), 201)
    await expect(
        await srv.client.post("/v1/asks/cityhall", json=_ask(), headers=alice.h),
        429,
        "rate_limited",
    )
    srv.clock.advance(61)
    await expect(await srv.client.post("/v1/asks/cityhall", json=_ask(), headers=alice.h), 201)
    await expect(await srv.client.post("/v1/asks/cityhall", json=_ask(), headers=alice.h), 201)
    srv.clock.advance(61)
    await expect(await srv.client.post("/v1/asks/cityhall", json=_ask(), headers=alice.h), 507)
    no_copy = {k: v for k, v in _ask().items() if k != "copy"}
    srv.clock.advance(61)
    await expect(await srv.client.post("/v1/asks/cityhall", json=no_copy, headers=alice.h), 400)
