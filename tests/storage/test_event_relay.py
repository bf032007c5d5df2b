"""The event hub's cross-process relay on PostgreSQL LISTEN/NOTIFY (two hubs = two processes):
delivery, no echo, remote session re-checks and device revocation, and recovery after the
listening connection is killed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers_storage import T0, new_account

from vault_server.clock import ManualClock
from vault_server.events import EventHub, Subscriber
from vault_server.storage.base import MetadataStore


class FakeWs:
    """What the hub uses of a WebSocketResponse."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = False
        self.close_code: int | None = None

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.sent.put(message)

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        self.closed, self.close_code = True, code


async def got(ws: FakeWs, timeout: float = 5.0) -> dict[str, Any]:
    return await asyncio.wait_for(ws.sent.get(), timeout)


pytestmark = pytest.mark.parametrize("backend", ["postgres"])


@pytest.fixture
async def hubs(open_meta, monkeypatch) -> AsyncIterator[tuple[MetadataStore, EventHub, EventHub]]:
    from vault_server.storage.postgres import relay

    monkeypatch.setattr(relay, "PING_EVERY", 0.3)
    m1, m2 = await open_meta(), await open_meta()
    clock = ManualClock(T0)
    h1 = EventHub(m1.relay(), m1, clock)  # type: ignore[attr-defined]
    h2 = EventHub(m2.relay(), m2, clock)  # type: ignore[attr-defined]
    await h1.start()
    await h2.start()
    yield m1, h1, h2
    await h1.aclose()
    await h2.aclose()


def subscribe(hub: EventHub, account_id: int, token: bytes, device: str | None = None) -> FakeWs:
    ws = FakeWs()
    hub.add(Subscriber(ws, account_id, device, token))  # type: ignore[arg-type]
    return ws


async def test_events_cross_processes_without_echo(hubs) -> None:
    meta, h1, h2 = hubs
    a, d, s = new_account("alice")
    aid = await meta.create_account(a, d, s)
    here, there = subscribe(h1, aid, s.token_hash), subscribe(h2, aid, s.token_hash)
    other = subscribe(h2, aid + 1, os.urandom(32))
    for head in (1, 2, 3):
        await h1.publish(aid, {"type": "log", "head": head})
    assert [await got(there) for _ in range(3)] == [{"type": "log", "head": h} for h in (1, 2, 3)]
    assert [await got(here) for _ in range(3)] == [{"type": "log", "head": h} for h in (1, 2, 3)]
    await asyncio.sleep(0.3)
    assert here.sent.empty() and other.sent.empty()  # no echo, no other account


async def test_session_ends_and_revocations_cross_processes(hubs) -> None:
    meta, h1, h2 = hubs
    a, d, s = new_account("alice")
    aid = await meta.create_account(a, d, s)
    gone = os.urandom(32)
    from vault_server.storage.base import Session

    await meta.create_session(Session(gone, aid, None, T0 + 3600))
    keep_ws = subscribe(h2, aid, s.token_hash, d.id)
    gone_ws = subscribe(h2, aid, gone)
    await meta.delete_session(gone)  # logout through process 1
    await h1.close_where(aid, lambda sub: sub.token_hash == gone)
    for _ in range(50):
        if gone_ws.closed:
            break
        await asyncio.sleep(0.05)
    assert gone_ws.close_code == 4401 and not keep_ws.closed
    await meta.revoke_device(aid, d.id, T0)
    await h1.device_revoked(aid, d.id)
    assert await got(keep_ws) == {"type": "device_revoked"}
    for _ in range(50):
        if keep_ws.closed:
            break
        await asyncio.sleep(0.05)
    assert keep_ws.close_code == 4401


async def test_listener_killed_reconnects_and_resyncs(hubs) -> None:
    import asyncpg
    from storage_backends import pg_dsn

    meta, h1, h2 = hubs
    a, d, s = new_account("alice")
    aid = await meta.create_account(a, d, s)
    there = subscribe(h2, aid, s.token_hash)
    channel = meta.target.channel  # type: ignore[attr-defined]
    c = await asyncpg.connect(pg_dsn())
    try:
        # the listening connections' last statement is their LISTEN (fresh schema: ours only)
        killed = await c.fetchval(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
            f'LISTEN "{channel}"',
        )
    finally:
        await c.close()
    assert killed >= 1
    # the watchdog notices, reconnects and tells the sockets to re-read
    resync = [await got(there) for _ in range(3)]
    assert resync == [{"type": "log", "head": 0}, {"type": "inbox"}, {"type": "request"}]
    await h1.publish(aid, {"type": "inbox"})
    assert await got(there) == {"type": "inbox"}
