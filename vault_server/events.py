"""Change notifications over WebSockets (``GET /v1/events``), across server processes.

Theory of operation
-------------------
Each connected socket is registered under its account with the session that opened it. Writers
(log append, inbox, requests, grant access, device revocation) call :meth:`EventHub.publish`
after their transaction committed; the hub sends a small JSON message naming only the kind of
change (never content) to every socket of the account in this process. A socket whose session
ends (device revoked, logout, passphrase change, expiry) is closed at once.

With several processes (shared PostgreSQL), the hub has a *relay* (storage/postgres/relay.py,
LISTEN/NOTIFY). Every publish and every session ending is also sent through it as one of:

* ``{"k": "event", "a": account, "m": message}``: deliver ``message`` to the account's sockets;
* ``{"k": "revoked", "a": account, "d": device}``: ``device_revoked`` to every socket of the
  account, then close the device's sockets;
* ``{"k": "recheck", "a": account}``: sessions of the account ended (logout, passphrase change):
  each process re-reads the sessions of its sockets of that account from the store and closes
  the dead ones (a predicate cannot travel, a store lookup can).

The relay drops a process's own messages (already delivered locally). Relayed messages are
hints: one lost while a listener reconnects is made up by ``resync`` (every socket is told to
re-read its log head, inbox and requests, and sessions are re-checked), and every socket handler
still re-checks its session every 30 s on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from .clock import Clock
    from .storage.base import MetadataStore

log = logging.getLogger("vault_server.events")


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    account_id: int
    device_id: str | None
    token_hash: bytes = field(repr=False)


class EventRelay(Protocol):
    """Carries hub messages to the other server processes of one installation."""

    async def start(
        self,
        on_message: Callable[[dict[str, Any]], Awaitable[None]],
        on_resync: Callable[[], Awaitable[None]],
    ) -> None: ...

    async def send(self, message: dict[str, Any]) -> None: ...
    async def close(self) -> None: ...


class EventHub:
    def __init__(
        self,
        relay: EventRelay | None = None,
        meta: MetadataStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._subs: dict[int, set[Subscriber]] = {}
        self._relay = relay
        self._meta = meta
        self._clock = clock

    async def start(self) -> None:
        if self._relay is not None:
            await self._relay.start(self._on_relayed, self.resync)

    async def aclose(self) -> None:
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.close()

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

    # -- what writers call ------------------------------------------------------------
    async def publish(self, account_id: int, message: dict[str, Any]) -> None:
        await self._deliver(account_id, message)
        await self._send({"k": "event", "a": account_id, "m": message})

    async def close_where(self, account_id: int, pred: Callable[[Subscriber], bool]) -> None:
        await self._close_local(account_id, pred)
        await self._send({"k": "recheck", "a": account_id})

    async def device_revoked(self, account_id: int, device_id: str) -> None:
        await self._revoked_local(account_id, device_id)
        await self._send({"k": "revoked", "a": account_id, "d": device_id})

    async def close_all(self) -> None:
        subs = [s for group in self._subs.values() for s in group]
        await asyncio.gather(
            *(s.ws.close(code=1001, message=b"server shutdown") for s in subs),
            return_exceptions=True,
        )

    # -- local delivery ---------------------------------------------------------------
    async def _deliver(self, account_id: int, message: dict[str, Any]) -> None:
        for sub in list(self._subs.get(account_id, ())):
            if sub.ws.closed:
                continue
            try:
                await sub.ws.send_json(message)
            except (ConnectionError, RuntimeError) as e:  # peer went away mid-send
                log.debug("event send failed: %s", type(e).__name__)

    async def _close_local(self, account_id: int, pred: Callable[[Subscriber], bool]) -> None:
        for sub in list(self._subs.get(account_id, ())):
            if pred(sub):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await sub.ws.close(code=4401, message=b"session ended")

    async def _revoked_local(self, account_id: int, device_id: str) -> None:
        await self._deliver(account_id, {"type": "device_revoked"})
        await self._close_local(account_id, lambda s: s.device_id == device_id)

    async def _recheck(self, account_id: int) -> None:
        if self._meta is None or self._clock is None:
            return
        for sub in list(self._subs.get(account_id, ())):
            if await self._meta.get_session(sub.token_hash, self._clock.now()) is None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await sub.ws.close(code=4401, message=b"session ended")

    # -- the relay --------------------------------------------------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        if self._relay is not None:
            await self._relay.send(message)

    async def _on_relayed(self, msg: dict[str, Any]) -> None:
        account_id = msg.get("a")
        if not isinstance(account_id, int) or account_id not in self._subs:
            return
        kind = msg.get("k")
        if kind == "event" and isinstance(msg.get("m"), dict):
            await self._deliver(account_id, msg["m"])
        elif kind == "revoked" and isinstance(msg.get("d"), str):
            await self._revoked_local(account_id, msg["d"])
        elif kind == "recheck":
            await self._recheck(account_id)

    async def resync(self) -> None:
        """After relay messages may have been lost: every socket re-reads, sessions re-checked."""
        for account_id in list(self._subs):
            await self._recheck(account_id)
            if self._meta is not None:
                head = await self._meta.log_head(account_id)
                await self._deliver(account_id, {"type": "log", "head": head})
            await self._deliver(account_id, {"type": "inbox"})
            await self._deliver(account_id, {"type": "request"})
