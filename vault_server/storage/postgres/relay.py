"""Event relay between server processes over PostgreSQL LISTEN/NOTIFY.

Theory of operation
-------------------
Every process LISTENs on its installation's channel (``vault_events_<schema>``) on one
dedicated connection, outside the request pool. :meth:`PgNotifyRelay.send` NOTIFYs a small JSON
message (an account id and the kind of change, never content; far below the 8000-byte payload
limit) tagged with this process's random origin id; each process drops its own messages (it has
already delivered them locally) and hands the others, in arrival order, to the event hub.
Sending does not hold up the request that published: messages go to a queue that one task
drains, NOTIFYing everything waiting in one statement (``pg_notify`` over ``unnest``), so a
burst costs one round trip and the order of a process's messages is kept.

NOTIFY is a wake-up hint, not a queue: a message sent while a listener is disconnected is lost.
A watchdog pings the listening connection every few seconds; when it is gone, the relay
reconnects (with back-off) and then calls ``on_resync`` so the hub tells its sockets to re-read
(devices fetch the log head and their inbox, and sessions are re-checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from .core import Conn, PgTarget, connect

log = logging.getLogger("vault_server.events")

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Resync = Callable[[], Awaitable[None]]

PING_EVERY = 5.0
PING_TIMEOUT = 5.0


class PgNotifyRelay:
    def __init__(self, target: PgTarget, pool: Any) -> None:
        self._target = target
        self._pool = pool
        self.origin = os.urandom(8).hex()
        self._conn: Conn | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_message: Handler | None = None
        self._on_resync: Resync | None = None

    def __repr__(self) -> str:
        return f"PgNotifyRelay({self._target.channel!r}, origin={self.origin!r})"

    async def start(self, on_message: Handler, on_resync: Resync) -> None:
        self._on_message = on_message
        self._on_resync = on_resync
        await self._listen()
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="vault-relay-dispatch"),
            asyncio.create_task(self._watchdog(), name="vault-relay-watchdog"),
            asyncio.create_task(self._sender(), name="vault-relay-sender"),
        ]

    async def _listen(self) -> None:
        conn = await connect(self._target)
        await conn.add_listener(self._target.channel, self._received)
        self._conn = conn

    def _received(self, conn: Conn, pid: int, channel: str, payload: str) -> None:
        try:
            msg = json.loads(payload)
        except ValueError:
            return
        if isinstance(msg, dict) and msg.get("o") != self.origin:
            self._queue.put_nowait(msg)

    async def _dispatch(self) -> None:
        while True:
            msg = await self._queue.get()
            if self._on_message is None:
                continue
            try:
                await self._on_message(msg)
            except Exception:
                log.exception("relayed event failed")

    async def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_TIMEOUT)
        except (OSError, TimeoutError) as e:
            log.warning("event listener connection lost: %s", type(e).__name__)
            return False
        except Exception as e:  # noqa: BLE001 - asyncpg raises many kinds when a link dies
            log.warning("event listener connection failed: %s", type(e).__name__)
            return False
        return True

    async def _watchdog(self) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(PING_EVERY if self._conn is not None else delay)
            if await self._alive():
                delay = 0.5
                continue
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.terminate()
                self._conn = None
            try:
                await self._listen()
            except Exception as e:  # noqa: BLE001 - keep retrying until the database is back
                log.warning("event listener reconnect failed: %s", type(e).__name__)
                delay = min(delay * 2, 10.0)
                continue
            log.info("event listener reconnected; resyncing sockets")
            if self._on_resync is not None:
                try:
                    await self._on_resync()
                except Exception:
                    log.exception("resync after reconnect failed")

    async def send(self, message: dict[str, Any]) -> None:
        self._outbox.put_nowait(json.dumps({"o": self.origin, **message}, separators=(",", ":")))

    async def _sender(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            await self._notify(batch)

    async def _notify(self, payloads: list[str]) -> None:
        try:
            await self._pool.execute(
                # unnest yields the payloads in order; PostgreSQL delivers one transaction's
                # notifications in order and folds identical ones (identical hints: harmless)
                "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                self._target.channel,
                payloads,
            )
        except Exception as e:  # noqa: BLE001 - a lost hint must not stop the relay
            log.warning("event relay send failed: %s", type(e).__name__)

    async def close(self) -> None:
        pending = []
        while not self._outbox.empty():
            pending.append(self._outbox.get_nowait())
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        if pending:
            await self._notify(pending)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 5)
            self._conn = None
