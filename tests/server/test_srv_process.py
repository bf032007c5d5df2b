"""The real `vault-server` process: start, SIGTERM, kill -9 during writes, CLI commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
from srv_helpers import blob, new_user, run_cli, start_process

from vault_core.encoding import b64u, unb64u


async def _account(s: aiohttp.ClientSession, url: str, handle: str) -> dict[str, str]:
    _, body = new_user(handle)
    async with s.post(f"{url}/v1/accounts", json=body) as r:
        assert r.status == 201, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_serve_sigterm_keeps_acknowledged_writes(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    p = await start_process(data)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{p.url}/v1/health") as r:
            assert r.status == 200 and await r.json() == {"status": "ok", "version": 1}
        h = await _account(s, p.url, "alice")
        payload = os.urandom(300_000)
        async with s.put(f"{p.url}/v1/blobs/{blob(payload)}", data=payload, headers=h) as r:
            assert r.status == 201
        async with s.post(
            f"{p.url}/v1/log",
            headers=h,
            json={"expected_head": 0, "entries": [{"entry": "AQ", "refs": [blob(payload)]}]},
        ) as r:
            assert r.status == 201
        async with s.get(f"{p.url}/v1/events?token={h['Authorization'][7:]}") as r:
            pass  # a plain GET without upgrade: refused, but must not log the token
        ws = await s.ws_connect(f"{p.url}/v1/events", headers=h)
        p.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(p.proc.wait(), 20) == 0
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await ws.close()
    logs = p.stderr_path.read_text()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    access = [x for x in lines if "route" in x]
    assert {"method", "route", "path", "status", "ms"} <= set(access[0])
    assert any(x["route"] == "/v1/blobs/{blob_id}" for x in access)
    token = h["Authorization"][7:]
    assert token not in logs and "Bearer" not in logs

    p = await start_process(data)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{p.url}/v1/blobs/{blob(payload)}", headers=h) as r:
            assert await r.read() == payload
        async with s.get(f"{p.url}/v1/log/head", headers=h) as r:
            assert (await r.json())["seq"] == 1
    p.proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(p.proc.wait(), 20) == 0


async def _worker(s: aiohttp.ClientSession, url: str, handle: str, acked: dict[str, Any]) -> None:
    h = await _account(s, url, handle)
    acked[handle] = {"h": h, "blobs": {}, "log": {}}
    head = 0
    i = 0
    while True:
        i += 1
        # small blobs (rows of small.db), packed blobs of 128 KiB-512 KiB, and now and then
        # a streamed one (a file)
        if i % 2:
            payload = os.urandom(1000 + i)
        elif i % 10 == 0:
            payload = os.urandom(_STREAMED + i)
        else:
            payload = os.urandom(64 * 1024 * (1 + i % 8))
        bid = blob(payload)
        async with s.put(f"{url}/v1/blobs/{bid}", data=payload, headers=h) as r:
            if r.status != 201:
                return
        acked[handle]["blobs"][bid] = payload
        entry = os.urandom(40)
        async with s.post(
            f"{url}/v1/log",
            headers=h,
            json={"expected_head": head, "entries": [{"entry": b64u(entry), "refs": [bid]}]},
        ) as r:
            if r.status != 201:
                return
            head = (await r.json())["head"]
        acked[handle]["log"][head] = entry


_STREAMED = 2 * 1024 * 1024 + 1  # file_blobs._FLUSH + 1: an upload that becomes a file


async def test_kill_9_during_uploads_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    p = await start_process(data)
    acked: dict[str, Any] = {}
    async with aiohttp.ClientSession() as s:
        tasks = [asyncio.create_task(_worker(s, p.url, f"user{i}", acked)) for i in range(8)]
        await asyncio.sleep(2.0)
        p.proc.send_signal(signal.SIGKILL)
        await p.proc.wait()
        await asyncio.gather(*tasks, return_exceptions=True)
    total_blobs = sum(len(a["blobs"]) for a in acked.values())
    assert total_blobs > 10, "the load did not get going"

    p = await start_process(data)
    async with aiohttp.ClientSession() as s:
        for a in acked.values():
            for bid, payload in a["blobs"].items():
                async with s.get(f"{p.url}/v1/blobs/{bid}", headers=a["h"]) as r:
                    assert r.status == 200 and await r.read() == payload
            async with s.get(f"{p.url}/v1/log", headers=a["h"]) as r:
                got = {e["seq"]: unb64u(e["entry"]) for e in (await r.json())["entries"]}
            for seq, entry in a["log"].items():
                assert got[seq] == entry
    p.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(p.proc.wait(), 20) == 0
    # no partial blob anywhere: every file is whole (its name is its SHA-256 here), every row
    # is settled and has its bytes (a row of small.db, a slice of a pack or a file), every
    # pack is named by the index (orphans are swept at start), nothing is left in staging
    db = sqlite3.connect(data / "vault.sqlite3")
    rows = db.execute("SELECT account_id, blob_id, size, state FROM blobs").fetchall()
    assert all(state == "present" for *_, state in rows)
    used = dict(db.execute("SELECT id, used FROM accounts").fetchall())
    small_db = sqlite3.connect(data / "blobs" / "small.db")
    small = {(a, b): bytes(d) for a, b, d in small_db.execute("SELECT * FROM small")}
    packed = {(a, b): (p, o, n) for a, b, p, o, n in small_db.execute("SELECT * FROM packed")}
    small_db.close()
    packs = {f.name: f for f in (data / "blobs" / "packs").rglob("*") if f.is_file()}
    assert set(packs) == {p for p, _, _ in packed.values()}
    files = 0
    for account_id, bid, size, _ in rows:
        if (account_id, bid) in small:
            assert len(small[account_id, bid]) == size and blob(small[account_id, bid]) == bid
        elif (account_id, bid) in packed:
            p, o, n = packed[account_id, bid]
            assert n == size and blob(packs[p].read_bytes()[o : o + n]) == bid
        else:
            f = data / "blobs" / str(account_id) / bid[:2] / bid
            assert f.stat().st_size == size
            files += 1
    assert small and packed and files, "the load must write rows, packs and files"
    for account_id in used:
        assert used[account_id] == sum(r[2] for r in rows if r[0] == account_id)
    for f in (data / "blobs").rglob("*"):
        if f.is_file() and not f.name.startswith("small.db") and f.name not in packs:
            assert ".staging" not in f.parts
            assert blob(f.read_bytes()) == f.name
    db.close()


async def test_cli_grant_issuer_and_gc(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    p = await start_process(data)
    async with aiohttp.ClientSession() as s:
        h = await _account(s, p.url, "cityhall")
        code, out, err = await run_cli("grant-issuer", "--data", str(data), "cityhall")
        assert code == 0, err
        async with s.get(f"{p.url}/v1/account", headers=h) as r:
            assert (await r.json())["is_issuer"] is True
    code, out, err = await run_cli("grant-issuer", "--data", str(data), "nobody")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, out, err = await run_cli("gc", "--data", str(data))
    assert code == 0, err
    assert "deleted 0 blobs" in out
    p.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(p.proc.wait(), 20) == 0
