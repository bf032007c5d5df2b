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

Stopping (SIGTERM, Ctrl-C): the watch is cancelled at its next await (what the server
confirmed stays confirmed; downloads go through temporary files), the HTTP server closes, the
temporary folder of the profile is emptied, the lock is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from vault_core.errors import Cancelled, VaultError

from ..profile import write_private
from ..service import Context, syncing
from ..service import settings as settings_service
from ..service.events import (
    CONFLICT,
    PROGRESS_ADVANCE,
    PROGRESS_START,
    PROGRESS_STOP,
    SERVER_UNAVAILABLE,
    SYNC_DONE,
    Cancellation,
    Event,
)
from .security import CONTROL_HEADER, Guard, middleware

RETRY_MAX = 60.0


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
        self.ctx.bus.subscribe(self.status.observe)
        self.wake = asyncio.Event()
        self.last_activity = time.monotonic()
        self._watch: asyncio.Task[None] | None = None
        self._cancel: Cancellation | None = None
        self.stopping = asyncio.Event()

    # -- the keys ----------------------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        return self.ctx.profile.unlocked

    def unlock(self, passphrase: str) -> None:
        self.ctx.unlock(passphrase)
        self.start_watch()

    async def lock(self) -> None:
        await self.stop_watch()
        self.ctx.profile.lock()
        self.status = SyncStatus()
        self.ctx.bus.subscribe(self.status.observe)

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
                await syncing.watch(self.ctx, None, cancel, self.wake)
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


# -- one daemon per profile ---------------------------------------------------------------------


def _running(home: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((home / "app.json").read_text("utf-8")))
    except (OSError, ValueError):
        return None


def _ask_running(home: Path) -> str | None:
    """A fresh launch URL from the daemon already running on this profile."""
    info = _running(home)
    if not info:
        return None
    port = int(info.get("port", 0))
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/control/launch",
        method="POST",
        headers={CONTROL_HEADER: str(info.get("control", ""))},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as res:  # noqa: S310
            url = json.loads(res.read())["url"]
    except (OSError, ValueError, KeyError):
        return None
    return str(url)


def _print_url(url: str) -> None:
    print(url, flush=True)


def run(home: Path, port: int = 0, open_browser: bool = True) -> int:
    """``vault app``: start the daemon (or point at the running one); the exit code."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    lock_fd = os.open(home / "app.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock_fd)
        for _ in range(50):  # the running one may still be starting
            url = _ask_running(home)
            if url:
                _print_url(url)
                return 0
            time.sleep(0.1)
        print("error: another 'vault app' holds this profile but does not answer", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_serve(home, port, open_browser))
    finally:
        with contextlib.suppress(OSError):
            (home / "app.json").unlink()
        os.close(lock_fd)


async def _serve(home: Path, port: int, open_browser: bool) -> int:
    from .routes import build_app

    daemon = Daemon(home)
    daemon.clean_tmp()
    app = build_app(daemon)
    app.middlewares.insert(0, middleware(daemon.guard))  # type: ignore[arg-type]
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=False)
    await site.start()
    server = site._server
    assert server is not None
    daemon.guard.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    write_private(
        home / "app.json",
        json.dumps({"port": daemon.guard.port, "control": daemon.guard.control}).encode(),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.stopping.set)
    autolock = asyncio.create_task(daemon.autolock_loop())
    url = daemon.guard.launch_url()
    _print_url(url)
    if open_browser:
        import webbrowser

        with contextlib.suppress(Exception):  # no browser here: the URL was printed
            webbrowser.open(url)
    try:
        await daemon.stopping.wait()
    finally:
        autolock.cancel()
        await daemon.stop_watch()
        await runner.cleanup()
        daemon.clean_tmp()
    return 0
