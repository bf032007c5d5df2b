"""``vault status``: what a sync would do now, without doing it."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from vault_core.planner import PlanInput, plan

from .profile import Profile


def _describe(action: Any) -> dict[str, Any]:
    kind = type(action).__name__
    names = {
        "Upload": "upload",
        "Download": "download",
        "DeleteLocal": "delete-local",
        "DeleteRemote": "delete-remote",
        "ConflictCopy": "conflict",
        "RemoteConflictCopy": "conflict",
        "Adopt": "adopt",
    }
    return {"id": action.path, "path": action.path, "action": names.get(kind, kind)}


async def status(profile: Profile, as_json: bool) -> None:
    from .account import open_api
    from .sync import SyncEngine

    profile.require_account()
    api = await open_api(profile)
    async with api:
        engine = SyncEngine(profile, api)
        try:
            await engine.pull()
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
        finally:
            engine.close()
        pending = [_describe(a) for a in the_plan.actions if type(a).__name__ != "Adopt"]
        extra: list[dict[str, Any]] = []
        try:
            from .inbox import status_items

            extra = await status_items(profile, api)
        except ImportError:
            pass
    items = pending + extra
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False))
        return
    if not pending:
        click.echo("up to date")
    for it in pending:
        click.echo(f"{it['action']:<14} {it['path']}")
    for it in extra:
        click.echo(it.get("text", json.dumps(it)))
