"""Documents and their history: every version stays in the verified log.

A vault path is a file's path inside the synced folder, with ``/`` separators. History is read
from the local mirror of the verified log (no server needed); a restore republishes an old
version (its manifest and chunks are already on the server) as a new version of the file,
then syncs.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from vault_core.errors import Conflict, NotFound, UsageError
from vault_core.log import FileRecord

from ..profile import Profile
from ..state import State
from ..sync import MAX_ROUNDS, SyncReport, Uploader
from .context import Context


@dataclass(frozen=True)
class Version:
    id: int
    version: int
    seq: int
    file_id: str
    deleted: bool
    size: int
    modified: str | None
    content: str | None
    type: str | None
    certified: bool


@dataclass(frozen=True)
class Restored:
    path: str
    from_version: int
    report: SyncReport


def vault_path(profile: Profile, path: str, cwd: Path | None = None) -> str:
    """A PATH argument (relative to ``cwd``, default the current directory, or absolute) as a
    vault path."""
    folder = profile.folder.resolve()
    p = Path(path)
    candidate = (p if p.is_absolute() else (cwd or Path.cwd()) / p).resolve()
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


def _version(n: int, seq: int, rec: FileRecord) -> Version:
    return Version(
        id=n,
        version=n,
        seq=seq,
        file_id=rec.file_id,
        deleted=rec.deleted,
        size=rec.size,
        modified=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(rec.mtime / 1000))
        if rec.mtime
        else None,
        content=rec.content.hex() if rec.content else None,
        type=rec.doc_type,
        certified=rec.certificate is not None,
    )


def history(ctx: Context, path: str) -> list[Version]:
    """The versions of a file, a deleted one too (as last synced; no passphrase needed)."""
    profile = ctx.profile
    profile.require_account()
    vp = vault_path(profile, path)
    state = State(profile.home / "state.db")
    try:
        items = [_version(n, seq, rec) for n, (seq, rec) in enumerate(state.history(vp), 1)]
    finally:
        state.close()
    if not items:
        raise NotFound(f"no history for {vp} (run 'vault sync' first?)")
    return items


def _pick(
    hist: list[tuple[int, FileRecord]], vp: str, version: int | None
) -> tuple[int, FileRecord]:
    live = [(n, rec) for n, (_, rec) in enumerate(hist, start=1) if not rec.deleted]
    if version is None:
        latest = hist[-1][1]
        older = [x for x in live if x[0] < len(hist)] if not latest.deleted else live
        if not older:
            raise UsageError(f"{vp} has no earlier version to restore")
        return older[-1]
    match = [x for x in live if x[0] == version]
    if not match:
        raise UsageError(f"{vp} has no version {version} with content")
    return match[0]


async def restore(ctx: Context, path: str, version: int | None = None) -> Restored:
    """Bring back a version (default: the one before the latest), or a deleted file, as a new
    version; then sync."""
    profile = ctx.account()
    vp = vault_path(profile, path)
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            for _ in range(MAX_ROUNDS):
                v = await engine.pull()
                hist = engine.state.history(vp)
                if not hist:
                    raise NotFound(f"no history for {vp}")
                n, source = _pick(hist, vp, version)
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
            ctx.warn(f"restored {vp} from version {n}")
            report = await engine.sync()
    return Restored(vp, n, report)
