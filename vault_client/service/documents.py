"""Documents and their history: every version stays in the verified log.

A vault path is a file's path inside the synced folder, with ``/`` separators. History is read
from the local mirror of the verified log (no server needed); a restore republishes an old
version (its manifest and chunks are already on the server) as a new version of the file,
then syncs.
"""

from __future__ import annotations

import dataclasses
import os
import re
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


# -- the folder as the vault knows it -----------------------------------------------------------


@dataclass(frozen=True)
class Document:
    path: str
    name: str
    folder: str
    size: int
    modified: int  # epoch milliseconds
    type: str | None
    version: int
    certified_by: str | None  # the certified issuer (chain checked here), else None
    certificate_problem: str | None  # a certificate is there and fails: say so, never a badge


@dataclass(frozen=True)
class Deleted:
    path: str
    size: int
    deleted_version: int  # the tombstone's number in `history`
    last_version: int  # the last version with content (what Restaurer brings back)


def _heads(profile: Profile) -> dict[str, FileRecord]:
    state = State(profile.home / "state.db")
    try:
        return state.heads()
    finally:
        state.close()


def list_documents(ctx: Context, query: str = "") -> list[Document]:
    """Every live file of the vault as last synced, sorted by path; ``query`` keeps those whose
    path contains it (case- and accent-insensitive). Certified documents are checked here
    against the pinned authorities (without their bytes; ``inbox.verify`` checks those)."""
    import json

    from vault_core.errors import IntegrityError

    from ..certificates import verify_certificate

    profile = ctx.account()
    trusted = profile.trusted_authorities()
    owner, sign_pk = profile.handle, profile.bundle.identity_sign[0]
    needle = _fold(query.strip())
    state = State(profile.home / "state.db")
    try:
        rows = state.live_listing()
    finally:
        state.close()
    out = []
    for path, size, mtime, doc_type, version, cert in rows:
        if needle and needle not in _fold(path):
            continue
        certified_by = problem = None
        if cert is not None:
            try:
                certified_by = verify_certificate(json.loads(cert), trusted, owner, sign_pk, None)
            except (IntegrityError, ValueError, TypeError) as exc:
                problem = exc.message if isinstance(exc, IntegrityError) else "malformed"
        folder, _, name = path.rpartition("/")
        out.append(
            Document(path, name, folder, size, mtime, doc_type, version, certified_by, problem)
        )
    return out


def listing_version(ctx: Context) -> tuple[object, ...]:
    """Changes whenever :func:`list_documents` could answer differently (the verified log grew,
    the trusted authorities changed): a face may keep an answer as long as this is equal."""
    profile = ctx.profile
    state = State(profile.home / "state.db")
    try:
        row = state.db.execute("SELECT MAX(seq), COUNT(*) FROM records").fetchone()
    finally:
        state.close()
    try:
        trust = (profile.home / "trust.json").stat().st_mtime_ns
    except OSError:
        trust = 0
    return (str(profile.home), tuple(row), trust)


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def trash(ctx: Context) -> list[Deleted]:
    """Deleted files that have a version to bring back (``restore`` does it)."""
    profile = ctx.profile
    profile.require_account()
    state = State(profile.home / "state.db")
    try:
        out = []
        for path, rec in sorted(state.heads().items()):
            if not rec.deleted:
                continue
            hist = state.history(path)
            live = [n for n, (_, r) in enumerate(hist, start=1) if not r.deleted]
            if live:
                last = hist[live[-1] - 1][1]
                out.append(Deleted(path, last.size, len(hist), live[-1]))
        return out
    finally:
        state.close()


def local_file(ctx: Context, vpath: str) -> Path:
    """The file of the synced folder at ``vpath`` (refused outside it or through a link)."""
    from ..folder import Folder

    profile = ctx.account()
    target = Folder(profile.folder).join(vpath)
    if not target.is_file():
        raise NotFound(f"{vpath} is not a file of the synced folder")
    return target


def _free_name(folder: Path, rel: str, taken: set[str]) -> str:
    """``rel``, or ``name (2).ext``… when the folder or this batch already has it."""
    stem, dot, ext = rel.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = rel, ""
    n = 1
    candidate = rel
    while candidate in taken or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
    return candidate


def add_files(ctx: Context, items: list[tuple[str, Path]], into: str = "") -> list[str]:
    """Move uploaded files (``(relative name, temp file)``; the temp files must be on the
    folder's file system, e.g. from ``new_upload``) into the synced folder under ``into``,
    without replacing anything there; the vault paths they got. The next sync uploads them."""
    from vault_core.errors import FormatError
    from vault_core.log import check_path

    from ..folder import Folder

    profile = ctx.account()
    folder = Folder(profile.folder)
    base = into.strip("/")
    planned: list[tuple[str, Path]] = []
    taken: set[str] = set()
    for name, tmp in items:
        rel = "/".join(p for p in name.replace("\\", "/").split("/") if p)
        vpath = f"{base}/{rel}" if base else rel
        try:
            check_path(vpath)
        except FormatError:
            raise UsageError(f"refused file name {name!r}") from None
        if folder.ignored(vpath):
            raise UsageError(f"{name!r} is a name the sync ignores (temporary or system file)")
        vpath = _free_name(profile.folder, vpath, taken)
        taken.add(vpath)
        planned.append((vpath, tmp))
    added = []
    for vpath, tmp in planned:
        target = folder.join(vpath, create_parents=True)
        if target.exists():  # appeared meanwhile: never replaced
            vpath = _free_name(profile.folder, vpath, taken)
            target = folder.join(vpath, create_parents=True)
        os.replace(tmp, target)
        added.append(vpath)
    return added


def new_upload(ctx: Context) -> tuple[int, Path]:
    """A private temp file (fd, path) on the synced folder's file system, for ``add_files``."""
    from ..folder import Folder

    return Folder(ctx.account().folder).temp_file()


# -- conflicts ----------------------------------------------------------------------------------

_CONFLICT = re.compile(
    r"^(?P<stem>.+) \(conflict, (?P<device>[^,()]+), (?P<date>\d{4}-\d{2}-\d{2})(?: \d+)?\)"
    r"(?P<ext>\.[^./ ]+)?$"
)


@dataclass(frozen=True)
class ConflictCopy:
    path: str
    device: str
    date: str
    size: int
    modified: int


@dataclass(frozen=True)
class ConflictSet:
    path: str  # the file as it is now
    exists: bool  # (it may have been deleted meanwhile)
    copies: list[ConflictCopy]  # the other versions the sync kept beside it


def conflicts(ctx: Context) -> list[ConflictSet]:
    """Files with conflict copies beside them (``name (conflict, DEVICE, DATE).ext``, made by
    a sync when two devices changed the same file): both versions are kept until the owner
    chooses."""
    live = {d.path: d for d in list_documents(ctx)}
    groups: dict[str, list[ConflictCopy]] = {}
    for path, doc in live.items():
        folder, slash, name = path.rpartition("/")
        m = _CONFLICT.match(name)
        if m is None:
            continue
        original = f"{folder}{slash}{m['stem']}{m['ext'] or ''}"
        copy = ConflictCopy(path, m["device"], m["date"], doc.size, doc.modified)
        groups.setdefault(original, []).append(copy)
    return [
        ConflictSet(p, p in live, sorted(c, key=lambda x: x.path))
        for p, c in sorted(groups.items())
    ]


def resolve_conflict(ctx: Context, path: str, copy: str, keep: str) -> str:
    """``keep="this"``: ``copy`` becomes the file at ``path`` (the current version stays in its
    history); ``keep="current"``: the copy goes (to the trash, restorable); ``keep="both"``: the
    copy is renamed to a plain name beside it. The next sync publishes it; the path kept."""
    from ..folder import Folder

    sets = {c.path: c for c in conflicts(ctx)}
    found = sets.get(path)
    if found is None or copy not in {c.path for c in found.copies}:
        raise NotFound(f"no conflict copy {copy!r} of {path!r}")
    folder = Folder(ctx.profile.folder)
    source = folder.join(copy)
    if keep == "this":
        os.replace(source, folder.join(path, create_parents=True))
        return path
    if keep == "current":
        source.unlink()
        return path
    if keep == "both":
        stem, dot, ext = path.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = path, ""
        target = _free_name(
            ctx.profile.folder, f"{stem} (2).{ext}" if ext else f"{stem} (2)", set()
        )
        os.replace(source, folder.join(target, create_parents=True))
        return target
    raise UsageError("keep: this, current or both")
