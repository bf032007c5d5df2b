"""Giving freed memory back once the server is idle.

Theory of operation: the server keeps freed buffers in its heap while it works
(``vault_core._malloc.keep_freed_memory``: no page fault and zeroing for every piece of an
upload). Without more, a long-running server would hold its high-water mark for ever: the
10,000 small files of a first sync leave ~70 MB of free heap behind, resident during every
later request. :class:`IdleTrim` counts requests as they start and end; once a request has
ended and none has started or ended for ``idle`` seconds, it hands the free heap back
(``malloc_trim``, a few milliseconds, on a worker thread). Long-lived requests (an open event
stream) do not keep it from trimming: only starts and ends count as activity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from vault_core._malloc import give_back_freed_memory

IDLE_SECONDS = 1.0
log = logging.getLogger("vault_server")


class IdleTrim:
    def __init__(
        self,
        idle: float = IDLE_SECONDS,
        trim: Callable[[], object] = give_back_freed_memory,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle, self._trim, self._now = idle, trim, now
        self.last_activity = now()
        self.pending = False  # a request ended since the last trim
        self.trims = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.last_activity = self._now()
        try:
            return await handler(request)
        finally:
            self.last_activity = self._now()
            self.pending = True

    def due(self) -> bool:
        """Whether to trim now (and, if so, the trim counts as done)."""
        if not self.pending or self._now() - self.last_activity < self.idle:
            return False
        self.pending = False
        self.trims += 1
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.idle / 2)
            if self.due():
                try:
                    await asyncio.to_thread(self._trim)
                except Exception:  # (memory stays as it is; the server goes on)
                    log.exception("giving freed memory back failed")
