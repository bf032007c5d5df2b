from __future__ import annotations

import asyncio
import os
import struct

from srv_helpers import Srv, blob, expect

from vault_core.encoding import b64u
from vault_server import gc


async def test_upload_get_missing(srv: Srv) -> None:
    alice = await srv.user("alice")
    data = os.urandom(100_000)
    bid = blob(data)
    other = blob(b"other")
    body = await expect(
        await srv.client.post("/v1/blobs/missing", json={"ids": [bid, other]}, headers=alice.h), 200
    )
    assert body == {"missing": [bid, other]}
    await expect(await srv.client.put(f"/v1/blobs/{bid}", data=data, headers=alice.h), 201)
    await expect(await srv.client.put(f"/v1/blobs/{bid}", data=data, headers=alice.h), 200)
    r = await srv.client.get(f"/v1/blobs/{bid}", headers=alice.h)
    assert r.status == 200 and await r.read() == data
    body = await expect(
        await srv.client.post("/v1/blobs/missing", json={"ids": [bid, other]}, headers=alice.h), 200
    )
    assert body == {"missing": [other]}
    usage = await expect(await srv.client.get("/v1/account", headers=alice.h), 200)
    assert usage["used"] == len(data)
    # empty blob
    await expect(await srv.client.put(f"/v1/blobs/{blob(b'')}", data=b"", headers=alice.h), 201)
    r = await srv.client.get(f"/v1/blobs/{blob(b'')}", headers=alice.h)
    assert r.status == 200 and await r.read() == b""
    await expect(await srv.client.get(f"/v1/blobs/{other}", headers=alice.h), 404)
    await expect(await srv.client.get("/v1/blobs/nothex", headers=alice.h), 400)
    # no partial or staging file is left
    assert not list((srv.data / "blobs" / ".staging").iterdir())


async def test_size_limit_by_header(make_srv) -> None:
    srv = await make_srv(blob_size=1000)
    alice = await srv.user("alice")
    await expect(
        await srv.client.put(f"/v1/blobs/{'a' * 64}", data=b"x" * 1001, headers=alice.h),
        413,
        "too_large",
    )
    await expect(
        await srv.client.put(f"/v1/blobs/{'a' * 64}", data=b"x" * 1000, headers=alice.h), 201
    )


async def _raw_put(srv: Srv, token: str, path: str, headers: str, total: int) -> tuple[bytes, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.client.port)
    writer.write(
        (
            f"PUT {path} HTTP/1.1\r\nHost: {srv.host}\r\nAuthorization: Bearer {token}\r\n"
            f"{headers}\r\n"
        ).encode()
    )
    chunk = b"x" * 65536
    sent = 0
    response = asyncio.create_task(reader.read(4096))
    try:
        while sent < total and not response.done():
            if "chunked" in headers:
                writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            else:
                writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0)
    except ConnectionError:
        pass
    data = await asyncio.wait_for(response, 10)
    writer.close()
    return data, sent


async def test_streaming_limit_cuts_off_huge_chunked_body(srv: Srv) -> None:
    alice = await srv.user("alice")
    huge = 4 * 2**30  # 4 GiB announced by nothing: chunked
    data, sent = await _raw_put(
        srv, alice.token, f"/v1/blobs/{'b' * 64}", "Transfer-Encoding: chunked\r\n", huge
    )
    assert data.startswith(b"HTTP/1.1 413"), data[:100]
    assert sent < 64 * 2**20  # cut off early, never read (or buffered) whole
    assert not list((srv.data / "blobs" / ".staging").iterdir())
    # a lying Content-Length is refused before the body is read
    data, sent = await _raw_put(
        srv, alice.token, f"/v1/blobs/{'b' * 64}", f"Content-Length: {huge}\r\n", huge
    )
    assert data.startswith(b"HTTP/1.1 413")
    assert sent < 64 * 2**20


async def test_quota_is_atomic(make_srv) -> None:
    srv = await make_srv(quota=100_000)
    alice = await srv.user("alice")
    bodies = [os.urandom(30_000) for _ in range(10)]
    results = await asyncio.gather(
        *(srv.client.put(f"/v1/blobs/{blob(b)}", data=b, headers=alice.h) for b in bodies)
    )
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 3 and statuses.count(507) == 7, statuses
    for r in results:
        if r.status == 507:
            assert (await r.json())["code"] == "quota_exceeded"
    usage = await expect(await srv.client.get("/v1/account", headers=alice.h), 200)
    assert usage["used"] == 90_000
    # the other account is unaffected
    bob = await srv.user("bob")
    await expect(
        await srv.client.put(f"/v1/blobs/{blob(bodies[0])}", data=bodies[0], headers=bob.h), 201
    )


async def test_a_batch_over_the_quota_keeps_exactly_the_records_before(make_srv) -> None:
    # 20 MiB of chunk-sized records: three groups settle (8 MiB each); the quota runs out at
    # record 17, in the third group: the two groups before it are published, and in the third
    # exactly the records before the failing one
    mib = 1 << 20
    srv = await make_srv(quota=17 * mib + mib // 2)
    alice = await srv.user("alice")
    items = [os.urandom(mib) for _ in range(20)]
    body = b"".join(_record(d) for d in items)
    res = await srv.client.post("/v1/blobs/batch", data=body, headers=alice.h)
    assert res.status == 507, await res.text()
    assert (await res.json())["code"] == "quota_exceeded"
    ids = [blob(d) for d in items]
    missing = await expect(
        await srv.client.post("/v1/blobs/missing", json={"ids": ids}, headers=alice.h), 200
    )
    assert missing["missing"] == ids[17:]
    usage = await expect(await srv.client.get("/v1/account", headers=alice.h), 200)
    assert usage["used"] == 17 * mib
    for d in (items[0], items[9], items[16]):
        r = await srv.client.get(f"/v1/blobs/{blob(d)}", headers=alice.h)
        assert await r.read() == d


def _record(data: bytes, bid: str | None = None) -> bytes:
    bid = bid or blob(data)
    return bytes([len(bid)]) + bid.encode() + struct.pack(">I", len(data)) + data


async def test_batch_upload(srv: Srv) -> None:
    alice = await srv.user("alice")
    items = [os.urandom(n) for n in (0, 10, 70_000, 300_000)]
    body = b"".join(_record(d) for d in items)
    res = await expect(await srv.client.post("/v1/blobs/batch", data=body, headers=alice.h), 200)
    assert res == {"stored": 4}
    for d in items:
        r = await srv.client.get(f"/v1/blobs/{blob(d)}", headers=alice.h)
        assert await r.read() == d
    # truncated record: earlier records are stored, the truncated one is not
    good, cut = os.urandom(50), os.urandom(500)
    body = _record(good) + _record(cut)[:-10]
    await expect(await srv.client.post("/v1/blobs/batch", data=body, headers=alice.h), 400)
    missing = await expect(
        await srv.client.post(
            "/v1/blobs/missing", json={"ids": [blob(good), blob(cut)]}, headers=alice.h
        ),
        200,
    )
    assert missing["missing"] == [blob(cut)]
    await expect(
        await srv.client.post("/v1/blobs/batch", data=_record(b"x", "zz"), headers=alice.h), 400
    )


async def test_a_large_batch_is_parsed_by_the_uncopying_parser(srv: Srv) -> None:
    # the server parses requests with aiohttp's pure-Python parser (see
    # uncopied_request_bodies); a body of megabyte records arrives in many socket reads
    from aiohttp import http_parser, web_protocol

    assert web_protocol.HttpRequestParser is http_parser.HttpRequestParserPy  # type: ignore[attr-defined]
    alice = await srv.user("alice")
    items = [os.urandom(n) for n in (1 << 20, 3 << 20, 5, (1 << 20) + 7, 2 << 20)]
    body = b"".join(_record(d) for d in items)
    res = await expect(await srv.client.post("/v1/blobs/batch", data=body, headers=alice.h), 200)
    assert res == {"stored": len(items)}
    for d in items:
        r = await srv.client.get(f"/v1/blobs/{blob(d)}", headers=alice.h)
        assert await r.read() == d


async def test_batch_size_limits(make_srv) -> None:
    srv = await make_srv(blob_size=1000, batch_body=5000)
    alice = await srv.user("alice")
    await expect(
        await srv.client.post("/v1/blobs/batch", data=_record(b"x" * 1001), headers=alice.h), 413
    )
    body = b"".join(_record(os.urandom(900)) for _ in range(8))
    await expect(await srv.client.post("/v1/blobs/batch", data=body, headers=alice.h), 413)


async def test_gc_deletes_only_unreferenced_old_blobs(srv: Srv) -> None:
    alice = await srv.user("alice")
    kept_log = await srv.put_blob(alice, b"in the log")
    kept_grant = await srv.put_blob(alice, b"in a grant")
    doomed = await srv.put_blob(alice, b"nobody wants me")
    await srv.append(alice, 0, [b"e1"], refs=[kept_log])
    await expect(
        await srv.client.post(
            "/v1/grants",
            headers=alice.h,
            json={
                "id": "ab" * 16,
                "kind": "link",
                "access_hash": b64u(bytes(32)),
                "expires_at": srv.clock.now() + 10**6,
                "password": False,
                "header": b64u(b"h"),
                "payload": b64u(b"p"),
                "blobs": [kept_grant],
            },
        ),
        201,
    )
    c = srv.ctx
    report = await gc.collect(c.meta, c.blobs, srv.clock.now(), 24 * 3600, 900)
    assert report.deleted == 0  # too young
    srv.clock.advance(25 * 3600)
    report = await gc.collect(c.meta, c.blobs, srv.clock.now(), 24 * 3600, 900)
    assert report.deleted == 1
    alice.token = (await expect(await srv.login(alice), 200))["token"]
    missing = await expect(
        await srv.client.post(
            "/v1/blobs/missing", json={"ids": [kept_log, kept_grant, doomed]}, headers=alice.h
        ),
        200,
    )
    assert missing["missing"] == [doomed]
    usage = await expect(await srv.client.get("/v1/account", headers=alice.h), 200)
    assert usage["used"] == len(b"in the log") + len(b"in a grant")
    assert not (srv.data / "blobs" / "1" / doomed[:2] / doomed).exists()
