from __future__ import annotations

import asyncio
import hashlib
import os

from aiohttp import WSMsgType
from srv_helpers import Srv, expect, hex_id

from vault_core.encoding import b64u, unb64u


async def _issuer(srv: Srv, handle: str = "cityhall"):
    user = await srv.user(handle)
    assert await srv.ctx.meta.set_issuer(handle, True)
    return user


async def test_inbox_issuer_only(srv: Srv) -> None:
    alice = await srv.user("alice")
    mallory = await srv.user("mallory")
    city = await _issuer(srv)
    dep = {"id": hex_id(), "envelope": b64u(b"sealed document")}
    await expect(
        await srv.client.post("/v1/inbox/alice", json=dep, headers=mallory.h), 403, "forbidden"
    )
    await expect(await srv.client.post("/v1/inbox/nobody", json=dep, headers=city.h), 404)
    await expect(await srv.client.post("/v1/inbox/alice", json=dep, headers=city.h), 201)
    await expect(await srv.client.post("/v1/inbox/alice", json=dep, headers=city.h), 409)
    items = await expect(await srv.client.get("/v1/inbox", headers=alice.h), 200)
    assert items == [
        {
            "id": dep["id"],
            "from": "cityhall",
            "received_at": srv.clock.now(),
            "size": len(b"sealed document"),
        }
    ]
    one = await expect(await srv.client.get(f"/v1/inbox/{dep['id']}", headers=alice.h), 200)
    assert unb64u(one["envelope"]) == b"sealed document" and one["from"] == "cityhall"
    await expect(await srv.client.get(f"/v1/inbox/{dep['id']}", headers=city.h), 404)
    await expect(await srv.client.delete(f"/v1/inbox/{dep['id']}", headers=alice.h), 204)
    await expect(await srv.client.delete(f"/v1/inbox/{dep['id']}", headers=alice.h), 404)


async def test_inbox_quota_and_issuer_rate(make_srv) -> None:
    srv = await make_srv(inbox_items=3, issuer_per_minute=5)
    await srv.user("alice")
    city = await _issuer(srv)
    for _ in range(3):
        await expect(
            await srv.client.post(
                "/v1/inbox/alice", headers=city.h, json={"id": hex_id(), "envelope": "AA"}
            ),
            201,
        )
    await expect(
        await srv.client.post(
            "/v1/inbox/alice", headers=city.h, json={"id": hex_id(), "envelope": "AA"}
        ),
        507,
    )
    await expect(
        await srv.client.post(
            "/v1/requests/alice",
            headers=city.h,
            json={"id": hex_id(), "envelope": "AA", "due_at": 1},
        ),
        201,
    )
    await expect(
        await srv.client.post(
            "/v1/requests/alice",
            headers=city.h,
            json={"id": hex_id(), "envelope": "AA", "due_at": 1},
        ),
        429,
        "rate_limited",
    )
    srv.clock.advance(61)
    await expect(
        await srv.client.post(
            "/v1/requests/alice",
            headers=city.h,
            json={"id": hex_id(), "envelope": "AA", "due_at": 1},
        ),
        201,
    )


async def test_requests_and_answers(srv: Srv) -> None:
    alice = await srv.user("alice")
    city = await _issuer(srv)
    rid = hex_id()
    due = srv.clock.now() + 86400
    await expect(
        await srv.client.post(
            f"/v1/requests/{alice.handle}",
            headers=city.h,
            json={"id": rid, "envelope": b64u(b"need"), "due_at": due},
        ),
        201,
    )
    await expect(
        await srv.client.post(
            "/v1/requests/alice",
            headers=alice.h,
            json={"id": hex_id(), "envelope": "AA", "due_at": due},
        ),
        403,
    )
    got = await expect(await srv.client.get("/v1/requests", headers=alice.h), 200)
    assert got[0]["id"] == rid and got[0]["state"] == "open" and got[0]["from"] == "cityhall"
    gid = hex_id()
    await expect(
        await srv.client.post(
            "/v1/grants",
            headers=alice.h,
            json={
                "id": gid,
                "kind": "account",
                "to": "cityhall",
                "expires_at": due,
                "password": False,
                "header": "AA",
                "payload": "AA",
                "blobs": [],
            },
        ),
        201,
    )
    # city cannot answer on alice's behalf, alice cannot answer with someone else's grant:
    # a grant the caller does not have is not found (404, as the document says)
    await expect(
        await srv.client.post(f"/v1/requests/{rid}/answer", headers=city.h, json={"grant_id": gid}),
        404,
    )
    await expect(
        await srv.client.post(
            f"/v1/requests/{rid}/answer", headers=alice.h, json={"grant_id": hex_id()}
        ),
        404,
    )
    await expect(
        await srv.client.post(
            f"/v1/requests/{rid}/answer",
            headers=alice.h,
            json={"grant_id": gid, "envelope": b64u(b"here")},
        ),
        204,
    )
    sent = await expect(await srv.client.get("/v1/requests/sent", headers=city.h), 200)
    assert sent[0]["state"] == "answered" and sent[0]["answer"]["grant_id"] == gid
    assert await expect(await srv.client.get("/v1/requests/sent", headers=alice.h), 200) == []
    # overdue
    rid2 = hex_id()
    await expect(
        await srv.client.post(
            "/v1/requests/alice",
            headers=city.h,
            json={"id": rid2, "envelope": "AA", "due_at": srv.clock.now() + 10},
        ),
        201,
    )
    srv.clock.advance(11)
    got = await expect(await srv.client.get("/v1/requests", headers=alice.h), 200)
    assert {r["id"]: r["state"] for r in got} == {rid: "answered", rid2: "overdue"}


async def _next(ws) -> dict:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.TEXT, msg
    return msg.json()


async def test_events(srv: Srv) -> None:
    alice = await srv.user("alice")
    city = await _issuer(srv)
    await expect(await srv.client.get("/v1/events"), 401)
    ws = await srv.client.ws_connect("/v1/events", headers=alice.h)
    ws2 = await srv.client.ws_connect(f"/v1/events?token={alice.token}")
    await srv.append(alice, 0, [b"e"])
    assert await _next(ws) == {"type": "log", "head": 1}
    assert await _next(ws2) == {"type": "log", "head": 1}
    await expect(
        await srv.client.post(
            "/v1/inbox/alice", headers=city.h, json={"id": hex_id(), "envelope": "AA"}
        ),
        201,
    )
    assert await _next(ws) == {"type": "inbox"}
    await expect(
        await srv.client.post(
            "/v1/requests/alice",
            headers=city.h,
            json={"id": hex_id(), "envelope": "AA", "due_at": 5},
        ),
        201,
    )
    assert await _next(ws) == {"type": "request"}
    token = os.urandom(32)
    gid = hex_id()
    await expect(
        await srv.client.post(
            "/v1/grants",
            headers=alice.h,
            json={
                "id": gid,
                "kind": "link",
                "access_hash": b64u(hashlib.sha256(token).digest()),
                "expires_at": srv.clock.now() + 60,
                "password": True,
                "header": "AA",
                "payload": "AA",
                "blobs": [],
            },
        ),
        201,
    )
    await expect(
        await srv.client.post(
            f"/v1/grants/{gid}/open", headers={"Authorization": f"Grant {b64u(token)}"}
        ),
        200,
    )
    assert await _next(ws) == {"type": "grant_access", "grant": gid}
    # revoking the device: everyone hears it, the device's sockets are closed
    other = (await expect(await srv.login(alice), 200))["token"]
    ws3 = await srv.client.ws_connect("/v1/events", headers={"Authorization": f"Bearer {other}"})
    await expect(
        await srv.client.delete(
            f"/v1/devices/{alice.device_id}", headers={"Authorization": f"Bearer {other}"}
        ),
        204,
    )
    assert await _next(ws3) == {"type": "device_revoked"}
    assert await _next(ws) == {"type": "device_revoked"}
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert not ws3.closed
    for s in (ws, ws2, ws3):
        await s.close()
