"""Sync and status: one two-way sync, the watch loop, what a sync would do now.

Theory of operation of :func:`watch`: after a first sync, the loop waits for a reason to sync
again, from three sources that share one wake-up: local edits (watchfiles, debounced: a burst
of writes gives one sync), the server's event stream (a WebSocket that says only "something
changed", and which grant was opened), and a reminder check every ten minutes (reminders
follow the owner's cadence, never more often). When the server goes away the loop keeps
watching the folder and reconnects with a growing delay. Everything worth telling a person is
published on the context's bus (``sync.done``, ``share.opened``, ``reminder``,
``server.unavailable``); an integrity failure ends the loop (the face reports it, exit 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vault_core.errors import IntegrityError, ServerUnavailable, VaultError

from ..sync import SyncEngine, SyncReport, prewalk
from .context import Context
from .events import (
    ASK_NEW,
    CONFLICT,
    DEPOSIT_NEW,
    DEVICE_REVOKED,
    PROGRESS_ADVANCE,
    RECOVERY,
    REMINDER,
    REQUEST_NEW,
    SERVER_CHANGED,
    SERVER_UNAVAILABLE,
    SHARE_OPENED,
    SYNC_DONE,
    BusProgress,
    Cancellation,
    cancellable,
)

if TYPE_CHECKING:
    from .requests import Notice

DEBOUNCE = 1.0
REMINDER_CHECK = 600.0

Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class PendingAction:
    id: str
    path: str
    action: str  # upload | download | delete-local | delete-remote | conflict


@dataclass(frozen=True)
class Status:
    pending: list[PendingAction]
    notices: list[Notice]  # inbox items, open requests, reminders due


def _progress(ctx: Context) -> BusProgress | None:
    # progress events only when a face listens for them (the engine skips the calls otherwise)
    return BusProgress(ctx.bus) if ctx.bus.listening(PROGRESS_ADVANCE) else None


async def _round(ctx: Context, engine: SyncEngine, confirm: Confirm | None) -> SyncReport:
    try:
        report = await engine.sync(confirm=confirm)
    finally:
        if engine.progress is not None:
            engine.progress.stop()
    for path in report.conflicts:
        ctx.bus.emit(CONFLICT, f"conflict: {path}", path=path)
    if ctx.profile.secrets.extra.get("grants"):  # (no import without shares)
        from . import shares

        await shares.update_live(ctx, engine)
    if _has_mandates(engine):  # (no import without mandates)
        from . import mandates

        await mandates.forward(ctx, engine)
    return report


def _has_mandates(engine: SyncEngine) -> bool:
    """Whether the verified log holds a mandate (SPEC §Mandates): forwards, helper lines."""
    return "mandates" in (engine.state.get_meta("checkpoint") or {})


async def sync(
    ctx: Context, confirm: Confirm | None = None, cancellation: Cancellation | None = None
) -> SyncReport:
    """One two-way sync of the folder. ``confirm(question)`` decides a sync that would delete
    most of the folder (None: refuse it, nothing changed)."""
    profile = ctx.profile
    profile.require_account()
    folder = profile.config.get("folder")
    # the no-change check's stat walk, on a thread while the key is derived
    walk = prewalk(Path(folder), profile.home / "state.db") if folder else None
    async with ctx.api() as api:
        with ctx.engine(api, prewalk=walk, progress=_progress(ctx)) as engine:
            return await cancellable(_round(ctx, engine, confirm), cancellation)


async def watch(
    ctx: Context,
    confirm: Confirm | None = None,
    cancellation: Cancellation | None = None,
    wake: asyncio.Event | None = None,
    standing: bool = False,
) -> None:
    """Sync, then keep syncing on local edits and server events until cancelled; setting
    ``wake`` asks for a sync now (the app does, after adding documents). ``standing``: the
    first reminder check also announces the reminders already shown in their current interval
    (a face that starts again, the app after a restart, has not shown them yet)."""
    ctx.profile.require_account()
    async with ctx.api() as api:
        with ctx.engine(api, progress=_progress(ctx)) as engine:
            report = await cancellable(_round(ctx, engine, confirm), cancellation)
            ctx.bus.emit(SYNC_DONE, report.summary(), first=True, **counts(report))
            await cancellable(_watch_loop(ctx, engine, confirm, wake, standing), cancellation)


def counts(report: SyncReport) -> dict[str, int | bool]:
    """A sync round in numbers (what ``sync.done`` events carry)."""
    return {
        "changed": _changed(report),
        "uploaded": len(report.uploaded),
        "downloaded": len(report.downloaded),
        "deleted": len(report.deleted_local) + len(report.deleted_remote),
        "conflicts": len(report.conflicts),
        "skipped": len(report.skipped),
        "bytes": report.bytes_uploaded,
    }


def _changed(report: SyncReport) -> bool:
    return bool(
        report.uploaded or report.downloaded or report.deleted_local or report.deleted_remote
    )


def _announce(ctx: Context, data: str) -> None:
    """Events carry no content; a share being opened is worth telling the owner at once."""
    try:
        event = json.loads(data)
    except ValueError:
        return
    if isinstance(event, dict) and event.get("type") == "grant_access":
        grant = str(event.get("grant", ""))[:32]
        text = f"share {grant} was just accessed ('vault share log {grant}')"
        ctx.bus.emit(SHARE_OPENED, text, grant=grant)
    elif isinstance(event, dict) and event.get("type") in _SERVER_KINDS:
        kind, text = _SERVER_KINDS[event["type"]]
        ctx.bus.emit(kind, text)
    else:
        server_type = event.get("type") if isinstance(event, dict) else None
        ctx.bus.emit(SERVER_CHANGED, type=str(server_type)[:40] if server_type else None)


_SERVER_KINDS = {
    "inbox": (DEPOSIT_NEW, "a document was deposited in your inbox ('vault inbox')"),
    "request": (REQUEST_NEW, "a request for documents changed ('vault requests')"),
    "ask": (ASK_NEW, "an ask for a document changed ('vault asks', 'vault issuer asks')"),
    "device_revoked": (DEVICE_REVOKED, "a device of this account was revoked"),
    "recovery": (
        RECOVERY,
        "a recovery of this account by its trusted contacts changed: if it is not you, "
        "'vault status' then 'vault recovery veto ID'",
    ),
}


async def _server_events(ctx: Context, engine: SyncEngine, wake: asyncio.Event) -> None:
    import aiohttp  # here, not at the top: a no-change `vault sync` never loads the HTTP client

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
                        _announce(ctx, msg.data)
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


async def _local_events(engine: SyncEngine, wake: asyncio.Event) -> None:
    from watchfiles import awatch

    async for changes in awatch(engine.folder.root, debounce=int(DEBOUNCE * 1000)):
        if any(".vault" not in path.split("/") for _, path in changes):
            wake.set()


async def _reminders(ctx: Context, standing: bool, every: float = REMINDER_CHECK) -> None:
    """Announce requests that are due soon, as often as the owner chose (never more)."""
    from . import requests as requests_service

    while True:
        with contextlib.suppress(VaultError):
            again = await requests_service.standing(ctx) if standing else []
            standing = False
            due = [(n, True) for n in again]
            due += [(n, False) for n in await requests_service.reminders(ctx)]
            for notice, shown in due:
                ctx.bus.emit(REMINDER, notice.text, id=notice.id, overdue=notice.overdue,
                             again=shown)  # fmt: skip
        await asyncio.sleep(every)


async def _watch_loop(
    ctx: Context,
    engine: SyncEngine,
    confirm: Confirm | None,
    wake: asyncio.Event | None,
    standing: bool = False,
) -> None:
    wake = wake or asyncio.Event()
    tasks = [
        asyncio.create_task(_server_events(ctx, engine, wake)),
        asyncio.create_task(_local_events(engine, wake)),
        asyncio.create_task(_reminders(ctx, standing)),
    ]
    try:
        while True:
            await wake.wait()
            await asyncio.sleep(DEBOUNCE)
            wake.clear()
            try:
                report = await _round(ctx, engine, confirm)
                ctx.bus.emit(SYNC_DONE, report.summary(), first=False, **counts(report))
            except ServerUnavailable as exc:
                ctx.bus.emit(SERVER_UNAVAILABLE, f"server unavailable, will retry: {exc.message}")
            except IntegrityError:
                raise
    finally:
        for t in tasks:
            t.cancel()


_ACTIONS = {
    "Upload": "upload",
    "Download": "download",
    "DeleteLocal": "delete-local",
    "DeleteRemote": "delete-remote",
    "ConflictCopy": "conflict",
    "RemoteConflictCopy": "conflict",
    "Adopt": "adopt",
}


async def status(ctx: Context) -> Status:
    """What a sync would do now, without doing it; inbox items, requests, reminders due."""
    from vault_core.planner import PlanInput, plan

    from . import requests as requests_service

    profile = ctx.account()
    helpers: list[Notice] = []
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            await engine.pull()
            if _has_mandates(engine):
                from . import mandates

                await mandates.forward(ctx, engine)
                helpers = await mandates.notices(ctx, engine)
            local, _ = engine.scan()
            remote, _ = engine.remote_map()
            base = {p: c for p, (c, _, _) in engine.state.base().items()}
            the_plan = plan(
                PlanInput(
                    base=base,
                    local=local,
                    remote=remote,
                    device_name=profile.config.get("device_name", "device"),
                    today=time.strftime("%Y-%m-%d"),
                )
            )
        pending = []
        for a in the_plan.actions:
            kind = type(a).__name__
            if kind != "Adopt":
                pending.append(PendingAction(a.path, a.path, _ACTIONS.get(kind, kind)))
        notices = await requests_service.notices(ctx)
        from . import recovery as recovery_service

        notices += await recovery_service.notices(ctx)
    return Status(pending, notices + helpers)
