"""The daemon of ``vault app``: one profile, its keys, its sync, its local server.

Theory of operation. One process per profile (a lock file in the profile; a second
``vault app`` asks the running one for a fresh launch URL over its control endpoint and
exits). The daemon holds one service :class:`~vault_client.service.Context` without a
passphrase source: the page unlocks it (``POST /api/unlock``), and from then on the keys live
here until ``Verrouiller``, the idle auto-lock, or the end of the process. While unlocked and
when the profile has a folder, :func:`~vault_client.service.syncing.watch` runs in the
background (local edits, the server's event stream, reminders), restarted with a growing
delay when the server is away. Everything the service publishes on the context's bus feeds
:class:`SyncStatus` (the page's status region) and the page's event stream.

Stopping (:mod:`.server`): the watch is cancelled at its next await (what the server
confirmed stays confirmed; downloads go through temporary files).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault_core.errors import Cancelled, VaultError

from ..service import Context, documents, syncing
from ..service import settings as settings_service
from ..service.events import (
    CONFLICT,
    DEPOSIT_NEW,
    DEVICE_REVOKED,
    PROGRESS_ADVANCE,
    PROGRESS_START,
    PROGRESS_STOP,
    RECOVERY,
    REMINDER,
    REQUEST_NEW,
    SERVER_UNAVAILABLE,
    SHARE_OPENED,
    SYNC_DONE,
    Cancellation,
    Event,
)
from .security import Guard

RETRY_MAX = 60.0
NOTICES_KEPT = 50
NOTICE_KINDS = (
    SHARE_OPENED, DEPOSIT_NEW, REQUEST_NEW, REMINDER, DEVICE_REVOKED, CONFLICT, RECOVERY,
)  # fmt: skip


@dataclass
class SyncStatus:
    """What the page's status region shows."""

    state: str = "locked"  # locked | idle | syncing | offline | error | nofolder
    last_sync: float | None = None
    progress: dict[str, int] | None = None
    conflicts: set[str] = field(default_factory=set)
    message: str | None = None

    def observe(self, event: Event) -> None:
        kind = event.kind
        if kind == PROGRESS_START:
            self.state, self.progress = "syncing", {"done": 0, "total": event.data["total"]}
        elif kind == PROGRESS_ADVANCE:
            self.state = "syncing"
            self.progress = {"done": event.data["done"], "total": event.data["total"]}
        elif kind == PROGRESS_STOP:
            self.progress = None
        elif kind == SYNC_DONE:
            self.state, self.last_sync, self.message, self.progress = (
                "idle",
                time.time(),
                None,
                None,
            )
        elif kind == SERVER_UNAVAILABLE:
            self.state, self.message = "offline", event.text
        elif kind == CONFLICT:
            self.conflicts.add(str(event.data.get("path")))

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "last_sync": self.last_sync,
            "progress": self.progress,
            "conflicts": len(self.conflicts),
            "message": self.message,
        }


class Daemon:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.ctx = Context(home)
        self.guard = Guard()
        self.status = SyncStatus()
        self.ctx.bus.subscribe(lambda event: self.status.observe(event))
        self.ctx.bus.subscribe(self._count_conflicts, (SYNC_DONE,))
        self.notices: collections.deque[dict[str, Any]] = collections.deque(maxlen=NOTICES_KEPT)
        self._notice_ids = itertools.count(1)
        self.ctx.bus.subscribe(self._keep_notice, NOTICE_KINDS)
        self.wake = asyncio.Event()
        self.last_activity = time.monotonic()
        self._watch: asyncio.Task[None] | None = None
        self._cancel: Cancellation | None = None
        self.stopping = asyncio.Event()
        self.cache: dict[str, Any] = {}  # answers kept while unlocked (names: gone at lock)

    def _keep_notice(self, event: Event) -> None:
        """What a page opened later must still see (a reminder, a share opened, a deposit).
        A reminder announced again by a watch that started again (``again``) and already kept
        (over a lock, without its names) is not kept twice: it gets its text back."""
        if event.kind == REMINDER and event.data.get("again"):
            for kept in self.notices:
                if kept["kind"] == REMINDER and kept["data"].get("id") == event.data.get("id"):
                    kept["text"] = kept["text"] or event.text
                    return
        self.notices.append(
            {"id": next(self._notice_ids), "kind": event.kind, "text": event.text,
             "data": event.data, "at": event.at}
        )  # fmt: skip

    def _count_conflicts(self, _event: Event) -> None:
        """After each sync, the copies in the folder (made here, or arrived from a device that
        made them): the status region's count is what ``Conflits à régler`` lists."""
        with contextlib.suppress(VaultError, OSError):
            self.status.conflicts = {
                c.path for s in documents.conflicts(self.ctx) for c in s.copies
            }

    # -- the keys ----------------------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        return self.ctx.profile.unlocked

    def unlock(self, passphrase: str) -> None:
        self.ctx.unlock(passphrase)
        self.start_watch()

    async def lock(self) -> None:
        await self.stop_watch()
        self.cache.clear()
        # a reminder stays for the page after the next unlock (the service announces each one
        # once per interval of the owner's: it would not come back); its names go
        reminders = [{**n, "text": ""} for n in self.notices if n["kind"] == REMINDER]
        self.notices.clear()
        self.notices.extend(reminders)
        self.ctx.profile.lock()
        self.status = SyncStatus()

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    async def autolock_loop(self) -> None:
        while True:
            await asyncio.sleep(15)
            minutes = settings_service.autolock_minutes(self.ctx)
            if self.unlocked and time.monotonic() - self.last_activity > minutes * 60:
                await self.lock()

    # -- the sync ----------------------------------------------------------------------------

    def start_watch(self) -> None:
        profile = self.ctx.profile
        if self._watch is not None or not profile.has_account or not profile.unlocked:
            return
        if not profile.config.get("folder"):
            self.status.state = "nofolder"
            return
        self.status.state = "syncing"
        self._cancel = Cancellation()
        self._watch = asyncio.create_task(self._run_watch(self._cancel))

    async def _run_watch(self, cancel: Cancellation) -> None:
        delay = 2.0
        while not cancel.cancelled:
            try:
                await syncing.watch(self.ctx, None, cancel, self.wake, standing=True)
                return
            except Cancelled:
                return
            except VaultError as exc:
                from vault_core.errors import ServerUnavailable

                self.status.state = "offline" if isinstance(exc, ServerUnavailable) else "error"
                self.status.message = exc.message
            except OSError as exc:
                self.status.state, self.status.message = "error", str(exc.strerror or exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(cancel.wait(), timeout=delay)
            delay = min(delay * 2, RETRY_MAX)

    async def stop_watch(self) -> None:
        task, self._watch = self._watch, None
        if self._cancel is not None:
            self._cancel.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Cancelled):
                await task

    # -- files ---------------------------------------------------------------------------

    @property
    def tmp(self) -> Path:
        """Plaintext on its way to the page only: inside the profile (0700), emptied on exit."""
        d = self.home / "tmp"
        d.mkdir(mode=0o700, exist_ok=True)
        return d

    def clean_tmp(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.home / "tmp")
