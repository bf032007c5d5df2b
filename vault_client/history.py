"""``vault history`` and ``vault restore``: every version stays in the verified log."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import click

from vault_core.errors import Conflict, NotFound, UsageError
from vault_core.log import FileRecord

from .profile import Profile
from .state import State


def vault_path(profile: Profile, path: str) -> str:
    """A PATH argument (relative to the cwd or absolute) as a vault path."""
    folder = profile.folder.resolve()
    p = Path(path)
    candidate = (p if p.is_absolute() else Path.cwd() / p).resolve()
    if candidate == folder:
        return ""
    try:
        return candidate.relative_to(folder).as_posix()
    except ValueError:
        pass
    # not under the folder: accept a vault path typed as is ("docs/avis.pdf")
    if not p.is_absolute() and (folder / p).resolve().is_relative_to(folder):
        return p.as_posix().strip("/")
    raise UsageError(f"{path} is not inside the synced folder {folder}")


def _items(history: list[tuple[int, FileRecord]]) -> list[dict[str, Any]]:
    out = []
    for n, (seq, rec) in enumerate(history, start=1):
        out.append(
            {
                "id": n,
                "version": n,
                "seq": seq,
                "file_id": rec.file_id,
                "deleted": rec.deleted,
                "size": rec.size,
                "modified": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(rec.mtime / 1000))
                if rec.mtime
                else None,
                "content": rec.content.hex() if rec.content else None,
                "type": rec.doc_type,
                "certified": rec.certificate is not None,
            }
        )
    return out


def history(profile: Profile, path: str, as_json: bool) -> None:
    profile.require_account()
    vp = vault_path(profile, path)
    state = State(profile.home / "state.db")
    try:
        items = _items(state.history(vp))
    finally:
        state.close()
    if not items:
        raise NotFound(f"no history for {vp} (run 'vault sync' first?)")
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False))
        return
    for it in items:
        what = "deleted" if it["deleted"] else f"{it['size']} bytes, modified {it['modified']}"
        click.echo(f"{it['version']:>3}  {what}")


async def restore(profile: Profile, path: str, version: int | None) -> None:
    from .account import open_api
    from .sync import MAX_ROUNDS, SyncEngine, Uploader

    profile.require_account()
    vp = vault_path(profile, path)
    api = await open_api(profile)
    async with api:
        engine = SyncEngine(profile, api, warn=lambda m: click.echo(m, err=True))
        try:
            for _ in range(MAX_ROUNDS):
                v = await engine.pull()
                hist = engine.state.history(vp)
                if not hist:
                    raise NotFound(f"no history for {vp}")
                live = [(n, rec) for n, (_, rec) in enumerate(hist, start=1) if not rec.deleted]
                if version is None:
                    latest = hist[-1][1]
                    older = [x for x in live if x[0] < len(hist)] if not latest.deleted else live
                    if not older:
                        raise UsageError(f"{vp} has no earlier version to restore")
                    n, source = older[-1]
                else:
                    match = [x for x in live if x[0] == version]
                    if not match:
                        raise UsageError(f"{vp} has no version {version} with content")
                    n, source = match[0]
                head = engine.state.heads().get(vp)
                # Restore as a new version of the file that now holds the path (or of the
                # source's file when the path's head is that file).
                file_id = head.file_id if head else source.file_id
                parent = head.version if head else 0
                up = Uploader(api, engine.state)
                rec, refs = await engine.republish(up, source, vp, file_id, parent)
                rec = dataclasses.replace(rec, mtime=int(time.time() * 1000))
                await up.flush()
                try:
                    await engine.append(v, [rec], [refs])
                except Conflict:
                    continue
                break
            else:
                raise Conflict("the log kept moving; try again")
            click.echo(f"restored {vp} from version {n}", err=True)
            report = await engine.sync()
            click.echo(report.summary(), err=True)
        finally:
            engine.close()
