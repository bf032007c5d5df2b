from __future__ import annotations

import asyncio

from srv_helpers import Srv, blob, expect

from vault_core.encoding import b64u, unb64u


async def test_append_list_head(srv: Srv) -> None:
    alice = await srv.user("alice")
    assert (await expect(await srv.client.get("/v1/log/head", headers=alice.h), 200)) == {"seq": 0}
    bid = await srv.put_blob(alice, b"chunk")
    assert await srv.append(alice, 0, [b"one", b"two"], refs=[bid]) == 2
    assert await srv.append(alice, 2, [b"three"]) == 3
    body = await expect(await srv.client.get("/v1/log?after=1&limit=1", headers=alice.h), 200)
    assert body == {"entries": [{"seq": 2, "entry": b64u(b"two")}], "head": 3}
    body = await expect(await srv.client.get("/v1/log", headers=alice.h), 200)
    assert [unb64u(e["entry"]) for e in body["entries"]] == [b"one", b"two", b"three"]
    for q in ["after=-1", "after=x", "limit=0", "limit=1001", "after=1e3", "after=%201"]:
        await expect(await srv.client.get(f"/v1/log?{q}", headers=alice.h), 400)


async def test_conflict_and_refs(srv: Srv) -> None:
    alice = await srv.user("alice")
    await srv.append(alice, 0, [b"one"])
    r = await srv.client.post(
        "/v1/log", headers=alice.h, json={"expected_head": 0, "entries": [{"entry": b64u(b"x")}]}
    )
    body = await expect(r, 409, "conflict")
    assert body["head"] == 1
    r = await srv.client.post(
        "/v1/log",
        headers=alice.h,
        json={"expected_head": 1, "entries": [{"entry": b64u(b"x"), "refs": [blob(b"absent")]}]},
    )
    await expect(r, 400, "bad_request")
    assert (await expect(await srv.client.get("/v1/log/head", headers=alice.h), 200))["seq"] == 1


async def test_concurrent_appends_one_winner_nothing_lost(srv: Srv) -> None:
    alice = await srv.user("alice")
    n = 25

    async def post(i: int, expected: int):
        return await srv.client.post(
            "/v1/log",
            headers=alice.h,
            json={"expected_head": expected, "entries": [{"entry": b64u(f"entry-{i}".encode())}]},
        )

    first = await asyncio.gather(*(post(i, 0) for i in range(n)))
    statuses = [r.status for r in first]
    assert statuses.count(201) == 1 and statuses.count(409) == n - 1
    for r in first:
        if r.status == 409:
            assert (await r.json())["head"] == 1
    winner = statuses.index(201)

    async def until_done(i: int) -> None:
        while True:
            head = (await (await srv.client.get("/v1/log/head", headers=alice.h)).json())["seq"]
            r = await post(i, head)
            if r.status == 201:
                return
            assert r.status == 409

    await asyncio.gather(*(until_done(i) for i in range(n) if i != winner))
    body = await expect(await srv.client.get("/v1/log", headers=alice.h), 200)
    assert [e["seq"] for e in body["entries"]] == list(range(1, n + 1))
    got = sorted(unb64u(e["entry"]).decode() for e in body["entries"])
    assert got == sorted(f"entry-{i}" for i in range(n))
