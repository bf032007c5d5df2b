"""``vault sync --watch``: sync again on local edits (watchfiles) and server events.

Local events are debounced (a burst of writes gives one sync); the event stream is a
WebSocket that says only "something changed"; when the server goes away the loop keeps
watching the folder and reconnects with a growing delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from vault_core.errors import IntegrityError, ServerUnavailable, VaultError

DEBOUNCE = 1.0
REMINDER_CHECK = 600.0


def _announce(data: str) -> None:
    """Events carry no content; a share being opened is worth telling the owner at once."""
    try:
        event = json.loads(data)
    except ValueError:
        return
    if isinstance(event, dict) and event.get("type") == "grant_access":
        grant = str(event.get("grant", ""))[:32]
        notify(f"share {grant} was just accessed ('vault share log {grant}')")


async def _server_events(engine: Any, wake: asyncio.Event) -> None:
    delay = 1.0
    while True:
        try:
            url = engine.api.server.replace("http", "ws", 1) + "/v1/events"
            async with engine.api.session.ws_connect(
                url, headers={"Authorization": f"Bearer {engine.api.token}"}, heartbeat=30
            ) as ws:
                delay = 1.0
                wake.set()  # catch up on what happened while disconnected
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        _announce(msg.data)
                        wake.set()
                    elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        break
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
        # the token may have expired: a cheap authenticated call renews it
        with contextlib.suppress(VaultError):
            await engine.remote_head()


async def _local_events(engine: Any, wake: asyncio.Event) -> None:
    from watchfiles import awatch

    async for changes in awatch(engine.folder.root, debounce=int(DEBOUNCE * 1000)):
        if any(".vault" not in path.split("/") for _, path in changes):
            wake.set()


def notify(text: str) -> None:
    """One line on stderr, and a desktop notification where the desktop offers one."""
    print(text, file=sys.stderr, flush=True)
    if shutil.which("notify-send") and (
        os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("DISPLAY")
    ):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["notify-send", "Coffre-fort", text], timeout=5, check=False)


async def _reminders(engine: Any, every: float = REMINDER_CHECK) -> None:
    """Announce requests that are due soon, as often as the owner chose (never more)."""
    from .inbox import list_requests, reminders_now

    while True:
        with contextlib.suppress(VaultError):
            requests = await list_requests(engine.profile, engine.api)
            for item in reminders_now(engine.profile, requests, int(time.time()), record=True):
                notify(item["text"])
        await asyncio.sleep(every)


async def watch_loop(engine: Any, confirm: Callable[[str], bool]) -> None:
    from .shares import update_live_grants

    wake = asyncio.Event()
    tasks = [
        asyncio.create_task(_server_events(engine, wake)),
        asyncio.create_task(_local_events(engine, wake)),
        asyncio.create_task(_reminders(engine)),
    ]
    try:
        while True:
            await wake.wait()
            await asyncio.sleep(DEBOUNCE)
            wake.clear()
            try:
                report = await engine.sync(confirm=confirm)
                await update_live_grants(engine.profile, engine.api, engine)
                if (
                    report.uploaded
                    or report.downloaded
                    or report.deleted_local
                    or (report.deleted_remote)
                ):
                    print(report.summary(), file=sys.stderr, flush=True)
            except ServerUnavailable as exc:
                print(f"server unavailable, will retry: {exc.message}", file=sys.stderr, flush=True)
            except IntegrityError:
                raise
    finally:
        for t in tasks:
            t.cancel()
