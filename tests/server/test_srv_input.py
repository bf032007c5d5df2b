"""Explicit input limits of API.md: JSON depth, list length, body size, types, ids."""

from __future__ import annotations

import asyncio
import json
import os

from srv_helpers import Srv, blob, expect


async def test_json_limits(srv: Srv) -> None:
    alice = await srv.user("alice")
    post = srv.client.post
    deep = {"ids": []}
    cur: dict = deep
    for _ in range(8):
        cur["x"] = {}
        cur = cur["x"]
    await expect(await post("/v1/blobs/missing", json=deep, headers=alice.h), 400, "bad_request")
    ok = await post(
        "/v1/blobs/missing", json={"ids": [blob(b"%d" % i) for i in range(1000)]}, headers=alice.h
    )
    assert len((await expect(ok, 200))["missing"]) == 1000
    await expect(
        await post(
            "/v1/blobs/missing",
            json={"ids": [blob(b"%d" % i) for i in range(1001)]},
            headers=alice.h,
        ),
        400,
    )
    big = json.dumps({"ids": [], "pad": "x" * (1024 * 1024)})
    await expect(await post("/v1/blobs/missing", data=big, headers=alice.h), 413, "too_large")
    for raw in [
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"ids": 1.5}',
        b'{"ids": NaN}',
        b"\xff\xfe",
        b'{"ids": "' + b"a" * 64 + b'"}',
        b'{"ids": [1]}',
        b"[" * 100000,
    ]:
        await expect(await post("/v1/blobs/missing", data=raw, headers=alice.h), 400)
    # log append accepts up to 8 MiB
    entry = "A" * (2 * 1024 * 1024)
    r = await post(
        "/v1/log", headers=alice.h, json={"expected_head": 0, "entries": [{"entry": entry}]}
    )
    await expect(r, 201)
    r = await post(
        "/v1/log", headers=alice.h, json={"expected_head": 1, "entries": [{"entry": entry}] * 5}
    )
    await expect(r, 413)
    for bad in [
        {"expected_head": -1, "entries": [{"entry": "AA"}]},
        {"expected_head": True, "entries": [{"entry": "AA"}]},
        {"expected_head": 1, "entries": []},
        {"expected_head": 1, "entries": [{"entry": "A"}]},
        {"expected_head": 1, "entries": [{"entry": "AA="}]},
        {"expected_head": 1, "entries": ["AA"]},
    ]:
        await expect(await post("/v1/log", headers=alice.h, json=bad), 400)


async def test_same_blob_uploaded_concurrently_counts_once(srv: Srv) -> None:
    alice = await srv.user("alice")
    data = os.urandom(200_000)
    bid = blob(data)
    rs = await asyncio.gather(
        *(srv.client.put(f"/v1/blobs/{bid}", data=data, headers=alice.h) for _ in range(6))
    )
    statuses = sorted(r.status for r in rs)
    assert statuses[0] in (200, 201) and statuses.count(201) == 1, statuses
    usage = await expect(await srv.client.get("/v1/account", headers=alice.h), 200)
    assert usage["used"] == len(data)
