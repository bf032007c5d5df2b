"""Starting and stopping ``vault app``: one daemon per profile, its local HTTP server.

Theory of operation. A lock file in the profile (``app.lock``, flock) makes the daemon one per
profile; the running one writes its port and a control secret into ``app.json`` (0600). A
second ``vault app`` on the profile cannot take the lock: it asks the running daemon, over its
control endpoint with that secret, for a fresh launch URL, prints it and exits 0. The server
binds 127.0.0.1 (``--port 0``: a free port), prints the launch URL as the last line of stdout
once it accepts requests, and opens the browser unless told not to. SIGTERM or Ctrl-C stop it
cleanly: the watch is cancelled, the HTTP server closes, the profile's temporary folder is
emptied, ``app.json`` goes and the lock is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from ..profile import write_private
from .daemon import Daemon
from .routes import build_app
from .security import CONTROL_HEADER, middleware


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
    daemon = Daemon(home)
    for path in daemon.ctx.check_permissions():
        print(f"warning: open to other users: {path}", file=sys.stderr)
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
