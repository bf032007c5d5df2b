"""Change notifications over WebSockets (``GET /v1/events``).

Theory of operation
-------------------
Each connected socket is registered under its account with the session that opened it. Writers
(log append, inbox, requests, grant access, device revocation) call :meth:`EventHub.publish`
after their transaction committed; the hub sends a small JSON message naming only the kind of
change (never content) to every socket of the account. A socket whose session ends (device
revoked, logout, passphrase change, expiry) is closed: at once when the ending happens in this
process, otherwise at the next periodic re-check by its handler. The hub is in-process; several
server processes would relay through the metadata store (e.g. PostgreSQL LISTEN/NOTIFY).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger("vault_server.events")


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    account_id: int
    device_id: str | None
    token_hash: bytes = field(repr=False)


class EventHub:
    def __init__(self) -> None:
        self._subs: dict[int, set[Subscriber]] = {}

    def add(self, sub: Subscriber) -> None:
        self._subs.setdefault(sub.account_id, set()).add(sub)

    def remove(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.account_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.account_id]

    def count(self, account_id: int) -> int:
        return len(self._subs.get(account_id, ()))

    async def publish(self, account_id: int, message: dict[str, Any]) -> None:
        for sub in list(self._subs.get(account_id, ())):
            if sub.ws.closed:
                continue
            try:
                await sub.ws.send_json(message)
            except (ConnectionError, RuntimeError) as e:  # peer went away mid-send
                log.debug("event send failed: %s", type(e).__name__)

    async def close_where(self, account_id: int, pred: Callable[[Subscriber], bool]) -> None:
        for sub in list(self._subs.get(account_id, ())):
            if pred(sub):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await sub.ws.close(code=4401, message=b"session ended")

    async def device_revoked(self, account_id: int, device_id: str) -> None:
        await self.publish(account_id, {"type": "device_revoked"})
        await self.close_where(account_id, lambda s: s.device_id == device_id)

    async def close_all(self) -> None:
        subs = [s for group in self._subs.values() for s in group]
        await asyncio.gather(
            *(s.ws.close(code=1001, message=b"server shutdown") for s in subs),
            return_exceptions=True,
        )
