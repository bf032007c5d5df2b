"""Account B, with valid credentials, can reach none of account A's objects by any id."""

from __future__ import annotations

import hashlib
import os

from srv_helpers import Srv, expect, hex_id

from vault_core.encoding import b64u


async def test_other_account_reaches_nothing(srv: Srv) -> None:
    a = await srv.user("alice")
    b = await srv.user("bob")
    city = await srv.user("cityhall")
    await srv.ctx.meta.set_issuer("cityhall", True)
    secret = b"alice's secret chunk"
    bid = await srv.put_blob(a, secret)
    await srv.append(a, 0, [b"alice entry"], refs=[bid])
    token = os.urandom(32)
    link = hex_id()
    await expect(
        await srv.client.post(
            "/v1/grants",
            headers=a.h,
            json={
                "id": link,
                "kind": "link",
                "access_hash": b64u(hashlib.sha256(token).digest()),
                "expires_at": srv.clock.now() + 600,
                "password": False,
                "header": "AA",
                "payload": "AA",
                "blobs": [bid],
            },
        ),
        201,
    )
    dep = hex_id()
    await expect(
        await srv.client.post(
            "/v1/inbox/alice", headers=city.h, json={"id": dep, "envelope": "AA"}
        ),
        201,
    )
    req = hex_id()
    await expect(
        await srv.client.post(
            "/v1/requests/alice", headers=city.h, json={"id": req, "envelope": "AA", "due_at": 1}
        ),
        201,
    )
    own_grant = hex_id()
    await expect(
        await srv.client.post(
            "/v1/grants",
            headers=b.h,
            json={
                "id": own_grant,
                "kind": "link",
                "access_hash": b64u(bytes(32)),
                "expires_at": srv.clock.now() + 600,
                "password": False,
                "header": "AA",
                "payload": "AA",
                "blobs": [],
            },
        ),
        201,
    )

    c, h = srv.client, b.h
    # blobs: per account, no cross-account dedup
    await expect(await c.get(f"/v1/blobs/{bid}", headers=h), 404)
    missing = await expect(await c.post("/v1/blobs/missing", json={"ids": [bid]}, headers=h), 200)
    assert missing["missing"] == [bid]
    # log: B's log is its own
    assert (await expect(await c.get("/v1/log/head", headers=h), 200))["seq"] == 0
    assert (await expect(await c.get("/v1/log", headers=h), 200))["entries"] == []
    r = await c.post(
        "/v1/log", headers=h, json={"expected_head": 0, "entries": [{"entry": "AA", "refs": [bid]}]}
    )
    await expect(r, 400)  # A's blob is no ref of B's
    # grants: neither list, log, update, revoke, blob fetch with B's bearer
    assert [g["id"] for g in await expect(await c.get("/v1/grants", headers=h), 200)] == [own_grant]
    await expect(await c.get(f"/v1/grants/{link}/log", headers=h), 404)
    await expect(
        await c.put(f"/v1/grants/{link}/payload", headers=h, json={"payload": "AA", "blobs": []}),
        404,
    )
    await expect(await c.delete(f"/v1/grants/{link}", headers=h), 404)
    await expect(await c.get(f"/v1/grants/{link}/blobs/{bid}", headers=h), 410)
    await expect(await c.post(f"/v1/grants/{link}/open", headers=h), 410)  # looks unknown
    assert await expect(await c.get("/v1/shared", headers=h), 200) == []
    # B's own grant cannot name A's blob
    await expect(
        await c.put(
            f"/v1/grants/{own_grant}/payload", headers=h, json={"payload": "AA", "blobs": [bid]}
        ),
        400,
    )
    # inbox and requests
    assert await expect(await c.get("/v1/inbox", headers=h), 200) == []
    await expect(await c.get(f"/v1/inbox/{dep}", headers=h), 404)
    await expect(await c.delete(f"/v1/inbox/{dep}", headers=h), 404)
    assert await expect(await c.get("/v1/requests", headers=h), 200) == []
    await expect(
        await c.post(f"/v1/requests/{req}/answer", headers=h, json={"grant_id": own_grant}), 404
    )
    # devices
    devices = await expect(await c.get("/v1/devices", headers=h), 200)
    assert [d["id"] for d in devices] == [b.device_id]
    await expect(
        await c.put(f"/v1/devices/{a.device_id}/cert", headers=h, json={"cert": "AA"}), 404
    )
    await expect(await c.delete(f"/v1/devices/{a.device_id}", headers=h), 404)
    # and A still has everything
    r = await c.get(f"/v1/blobs/{bid}", headers=a.h)
    assert await r.read() == secret
    assert (await expect(await c.get("/v1/log/head", headers=a.h), 200))["seq"] == 1
    await expect(await c.get(f"/v1/inbox/{dep}", headers=a.h), 200)
    await expect(await c.get("/v1/log/head", headers=a.h), 200)
    # device login with A's device id under B's handle fails
    b.device_id, saved = a.device_id, b.device_id
    await expect(await srv.login(b, "device"), 401)
    b.device_id = saved
