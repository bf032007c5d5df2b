"""Explicit input limits of API.md: JSON depth, list length, body size, types, ids."""

from __future__ import annotations

import asyncio
import json
import os

from srv_helpers import Srv, blob, expect

from vault_core.encoding import b64u


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


async def test_out_of_space_is_said_not_an_internal_error(srv: Srv) -> None:
    """A server whose storage is full answers 503 "unavailable" saying so (not a 500
    "internal error"), stores nothing half, and works again once there is room."""
    alice = await srv.user("alice")
    meta = srv.ctx.meta

    import sqlite3

    def cap(c) -> None:
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        c.execute(f"PRAGMA max_page_count = {pages}")

    def room(c) -> None:
        c.execute("DROP TABLE filler")
        c.execute("PRAGMA max_page_count = 1073741823")

    # the database is compacted (full pages), may not grow, and a filler table takes its free
    # pages (each insert its own transaction, through the server's connection and helper)
    await meta._read(lambda c: c.execute("VACUUM"))  # type: ignore[attr-defined]
    await meta._write(lambda c: c.execute("CREATE TABLE filler (x BLOB)"))  # type: ignore[attr-defined]
    await meta._write(cap)  # type: ignore[attr-defined]
    for size in (65536, 4096, 512, 64, 1):
        while True:
            try:
                await meta._write(  # type: ignore[attr-defined]
                    lambda c, n=size: c.execute("INSERT INTO filler VALUES (zeroblob(?))", (n,))
                )
            except sqlite3.OperationalError as exc:  # the helper let SQLite's error through
                assert exc.sqlite_errorcode == sqlite3.SQLITE_FULL, exc
                break
    # now SQLite's own "database or disk is full" (SQLITE_FULL) meets the upload
    # (an append of a 100 kB entry needs new pages: the entry is stored in the database)
    append = {"expected_head": 0, "entries": [{"entry": b64u(os.urandom(100_000)), "refs": []}]}
    r = await srv.client.post("/v1/log", json=append, headers=alice.h)
    body = await expect(r, 503, "unavailable")
    assert "storage space" in body["message"]
    head = await expect(await srv.client.get("/v1/log/head", headers=alice.h), 200)
    assert head["seq"] == 0  # nothing half-stored
    await meta._write(room)  # type: ignore[attr-defined]
    r = await srv.client.post("/v1/log", json=append, headers=alice.h)
    assert (await expect(r, 201))["head"] == 1


def test_a_full_device_is_out_of_space() -> None:
    """The OS's ENOSPC, as /dev/full gives it, is recognised as a full disk."""
    from vault_server.app import _out_of_space

    try:
        with open("/dev/full", "wb") as f:
            f.write(b"x")
    except OSError as exc:
        assert _out_of_space(exc)
    else:
        raise AssertionError("/dev/full accepted a write")
    assert not _out_of_space(OSError(2, "No such file or directory"))
    assert not _out_of_space(ValueError("other"))
