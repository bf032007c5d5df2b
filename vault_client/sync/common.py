"""What several parts of the sync share: its report, the constants, small helpers.

Theory of operation
-------------------
Nothing here does I/O. :class:`SyncReport` is what a sync did (the CLI prints its summary);
:class:`ContentChanged` is how the upload side says that a local file is not, or no longer,
the one the scan saw: the file is skipped quietly and the next sync picks it up. ``PENDING``
marks the content of a new file the scan did not hash (its upload hashes it once, see
:mod:`.scan`); files from ``LARGE_FILE`` bytes are the large ones (uploaded alongside the
others, possibly by the helper process of :mod:`.helper`); ``SWITCH_INTERVAL`` is the
interpreter's thread switch interval while transfers run (in the helper process too).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

MAX_ROUNDS = 8  # pulls and re-plans when another device keeps moving the log head
LARGE_FILE = 4 * 1024 * 1024  # files from this size are uploaded alongside the others
SWITCH_INTERVAL = 0.0002  # seconds (sys.setswitchinterval) while transfers run
# Content "hash" of a new file the scan did not hash: it is hashed once, while uploaded.
PENDING = "pending:"


class ContentChanged(Exception):
    """A local file changed while it was being uploaded; the next sync picks it up."""


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    deleted_local: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    by_helper: int = 0  # large files chunked and uploaded by the helper process

    def summary(self) -> str:
        parts = [
            f"{len(self.uploaded)} uploaded",
            f"{len(self.downloaded)} downloaded",
            f"{len(self.deleted_local) + len(self.deleted_remote)} deleted",
        ]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict copies")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        parts.append(f"{self.bytes_uploaded} bytes sent")
        return "synced: " + ", ".join(parts)


def now_ms() -> int:
    return int(time.time() * 1000)


def today() -> str:
    return time.strftime("%Y-%m-%d")


def _done(value: Any) -> Future[Any]:
    fut: Future[Any] = Future()
    fut.set_result(value)
    return fut


async def _together(*coros: Any) -> None:
    """Run coroutines concurrently; the first failure cancels the others and is raised as is."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in tasks:
            exc = t.exception() if t.done() and not t.cancelled() else None
            if exc is not None:
                raise exc
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
