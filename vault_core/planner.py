# Theory of operation
# ===================
#
# The sync planner is sans-I/O (in the style of h11): it never touches the disk, the network,
# a clock or a random source. It is one pure function, `plan(PlanInput) -> Plan`, from three
# snapshots to a list of actions, plus `apply_base`, which computes the next "base" from the
# actions an executor reports as done. Same input, same output, byte for byte.
#
# The three snapshots map a vault path ('/'-separated, relative) to a content hash:
#
# * base   - what both sides agreed on at the end of the last sync (every value in it is in
#            the server's history, because it was either uploaded and confirmed or downloaded);
# * local  - what is on disk now (absent = no file);
# * remote - the head of each path in the verified change log (a tombstone has content None).
#
# Each path gets a three-way merge (B = base, L = local, R = remote, None = absent):
#
#   L == R                    -> Adopt (record in base) if B differs, else nothing;
#   L == B, R != B            -> remote changed: Download, or DeleteLocal if R is None;
#   R == B, L != B            -> local changed: Upload, or DeleteRemote if L is None;
#   both changed, L != R      -> an edit beats a delete (Download / Upload that re-creates),
#                                two edits give a ConflictCopy: the local content moves to
#                                "name (conflict, DEVICE, YYYY-MM-DD).ext" and is uploaded
#                                there as a new file, the remote head is downloaded to the path.
#
# The merged tree must be a tree: a file `a` and a file `a/b` cannot both exist. Every live
# path that has a live descendant after the merge is "clashing"; the file moves aside to a
# conflict-copy name (the folder wins, nothing is dropped): kept local content goes with a
# ConflictCopy whose `remote` is None, a kept remote head with a RemoteConflictCopy (re-published
# under the copy name, tombstoned at the path, downloaded under the copy name), and a side whose
# content is superseded (equal to base, or equal to the content kept) is deleted. Copy names
# avoid every path and folder known in base, local, remote (tombstones included) and every copy
# already chosen, adding " 2", " 3", ... inside the parentheses; paths are visited in sorted
# order, so the choice is deterministic.
#
# Safety argument ("never plan a loss"): remote heads are never lost (history is append-only;
# a tombstone only appends). Local content is only removed or overwritten when it equals the
# base (DeleteLocal, Download with `replaces`), hence is in the server's history; otherwise it
# is uploaded first (Upload, ConflictCopy). Actions carry the content they expect to find, so
# an executor refuses to act on a file that changed since the scan.
#
# Mass-deletion guard: when the plan deletes (DeleteLocal + DeleteRemote) more than
# `delete_guard_ratio` of the files known and at least `delete_guard_min` files, the plan is
# flagged `needs_confirmation`; it is still returned, the executor decides.
#
# Execution (by the caller): remote changes (Upload, DeleteRemote, the uploads and tombstones of
# ConflictCopy / RemoteConflictCopy) go in compare-and-swap appends on the log head, in order,
# each after the blobs it names are stored; on a conflict, re-read the log and plan again.
# Locally, do removals and moves first (DeleteLocal, ConflictCopy) and writes after (Download,
# RemoteConflictCopy), each write atomic; actions on a file whose content is not the expected
# one are skipped, and only the actions actually done are passed to `apply_base`. Actions are
# sorted by path; a path can carry two actions only when it clashes (e.g. ConflictCopy with
# remote None + DeleteRemote); their effects are independent.
"""Pure three-way sync planner: (base, local, remote) -> actions. See the comment above."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from .errors import FormatError

__all__ = [
    "Action",
    "Adopt",
    "ConflictCopy",
    "DeleteLocal",
    "DeleteRemote",
    "Download",
    "Plan",
    "PlanInput",
    "RemoteConflictCopy",
    "RemoteFile",
    "Upload",
    "apply_base",
    "conflict_name",
    "plan",
]

_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:]")
_MAX_DEVICE_NAME = 64


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """Head of one path in the server's (already verified) change log."""

    file_id: str  # stable id of the file across versions
    version: int  # version number of the head (1, 2, ...)
    content: str | None  # content hash of the head; None = deleted (tombstone)


@dataclass(frozen=True, slots=True)
class PlanInput:
    base: Mapping[str, str]  # path -> content hash both sides agreed on at the last sync
    local: Mapping[str, str]  # path -> content hash now on disk (absent = no file)
    remote: Mapping[str, RemoteFile]  # path -> head (includes tombstones)
    device_name: str  # this device's name, for conflict-copy names
    today: str  # "YYYY-MM-DD", passed in (no clock)
    delete_guard_ratio: float = 0.5  # guard fires when a plan deletes more than this share ...
    delete_guard_min: int = 5  # ... and at least this many files (local+remote deletions)


@dataclass(frozen=True, slots=True)
class Upload:
    """Upload the local file at `path` (which must have `content`) as a new version.

    `file_id` None = a new file (`parent_version` 0); otherwise the version is appended after
    `parent_version` of `file_id` (compare-and-swap), which may be a tombstone (re-creation).
    """

    path: str
    content: str
    file_id: str | None
    parent_version: int


@dataclass(frozen=True, slots=True)
class Download:
    """Write the remote head to `path` (atomically).

    `replaces` is the content the local file must still have (None = no file there); it is
    always None or the base content, which the server's history keeps.
    """

    path: str
    remote: RemoteFile
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteLocal:
    """Remove the local file at `path` if it still has `expected_content` (kept in history)."""

    path: str
    expected_content: str


@dataclass(frozen=True, slots=True)
class DeleteRemote:
    """Append a signed tombstone for `file_id` after `parent_version`."""

    path: str
    file_id: str
    parent_version: int


@dataclass(frozen=True, slots=True)
class ConflictCopy:
    """Move the local file at `path` (content `content`) to `copy_path`, upload it there as a
    new file (file_id None, parent_version 0), then download `remote` to `path`.

    `remote` None (folder/file clash): `path` stays absent locally; this action does not touch
    the remote side of `path` (a separate DeleteRemote / RemoteConflictCopy does, if needed).
    """

    path: str
    copy_path: str
    content: str
    remote: RemoteFile | None


@dataclass(frozen=True, slots=True)
class RemoteConflictCopy:
    """Folder/file clash, remote side: the remote head of `path` (`remote`, live) is
    re-published as a new file at `copy_path` (same content, file_id None, parent_version 0),
    tombstoned at `path` (after `remote.version`), and downloaded to `copy_path`.

    The local file at `path`, if any, is handled by a separate action of the same plan.
    """

    path: str
    copy_path: str
    remote: RemoteFile


@dataclass(frozen=True, slots=True)
class Adopt:
    """Both sides already agree on `content` at `path`: only record it in base.

    `content` None: both sides have no file; the base entry is forgotten.
    """

    path: str
    content: str | None


Action: TypeAlias = (
    Upload | Download | DeleteLocal | DeleteRemote | ConflictCopy | RemoteConflictCopy | Adopt
)


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    needs_confirmation: bool  # mass-deletion guard fired
    deletions: int  # DeleteLocal + DeleteRemote actions
    total: int  # files known: max of base, local, live remote sizes


# --------------------------------------------------------------------------- helpers


def _check_path(path: str) -> None:
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise FormatError("bad path")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise FormatError("bad path")


def _ancestors(path: str) -> Iterable[str]:
    """Proper folder prefixes of `path`: 'a/b/c' -> 'a', 'a/b'."""
    index = path.find("/")
    while index != -1:
        yield path[:index]
        index = path.find("/", index + 1)


def _clean_device_name(name: str) -> str:
    cleaned = _BAD_NAME_CHARS.sub("_", name).strip()[:_MAX_DEVICE_NAME]
    return cleaned or "device"


def conflict_name(path: str, device_name: str, today: str, n: int = 1) -> str:
    """'dir/avis.pdf' -> 'dir/avis (conflict, DEVICE, YYYY-MM-DD).pdf'; n > 1 adds ' n'.

    The extension is the last '.suffix' of the name (not for dot-files like '.profile').
    """
    folder, slash, name = path.rpartition("/")
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1:
        stem, ext = name[:dot], name[dot:]
    else:
        stem, ext = name, ""
    tag = f"conflict, {_clean_device_name(device_name)}, {today}"
    if n > 1:
        tag += f" {n}"
    return f"{folder}{slash}{stem} ({tag}){ext}"


class _Namer:
    """Chooses free conflict-copy names, deterministically, in call order."""

    def __init__(self, known: Iterable[str], device_name: str, today: str) -> None:
        self._taken: set[str] = set()
        for path in known:
            self._take(path)
        self._device = device_name
        self._today = today

    def _take(self, path: str) -> None:
        self._taken.add(path)
        self._taken.update(_ancestors(path))  # a folder name is taken too

    def pick(self, path: str) -> str:
        n = 1
        while True:
            candidate = conflict_name(path, self._device, self._today, n)
            if candidate not in self._taken:
                self._take(candidate)
                return candidate
            n += 1


class _Kind(Enum):
    NOOP = "noop"
    ADOPT = "adopt"
    DOWNLOAD = "download"
    DELETE_LOCAL = "delete_local"
    UPLOAD = "upload"
    DELETE_REMOTE = "delete_remote"
    CONFLICT = "conflict"


def _merge(base: str | None, loc: str | None, rem: str | None) -> tuple[_Kind, str | None]:
    """Three-way merge of one path: the outcome and the content the path ends with."""
    if loc == rem:
        return (_Kind.NOOP if base == loc else _Kind.ADOPT), loc
    if loc == base:  # only the remote side changed
        return (_Kind.DOWNLOAD, rem) if rem is not None else (_Kind.DELETE_LOCAL, None)
    if rem == base:  # only the local side changed
        return (_Kind.UPLOAD, loc) if loc is not None else (_Kind.DELETE_REMOTE, None)
    # both changed, differently: an edit beats a delete; two edits conflict
    if loc is None:
        return _Kind.DOWNLOAD, rem
    if rem is None:
        return _Kind.UPLOAD, loc
    return _Kind.CONFLICT, rem


_ORDER: dict[type[object], int] = {
    ConflictCopy: 0,
    DeleteLocal: 1,
    Upload: 2,
    Download: 3,
    RemoteConflictCopy: 4,
    DeleteRemote: 5,
    Adopt: 6,
}


def _sort_key(action: Action) -> tuple[str, int, str]:
    copy = action.copy_path if isinstance(action, ConflictCopy | RemoteConflictCopy) else ""
    return action.path, _ORDER[type(action)], copy


# --------------------------------------------------------------------------- planner


def plan(inp: PlanInput) -> Plan:
    """Plan one sync. Pure and deterministic; raises FormatError on malformed input."""
    if not _DATE.match(inp.today):
        raise FormatError("bad date")
    paths = sorted(set(inp.base) | set(inp.local) | set(inp.remote))
    for path in paths:
        _check_path(path)

    merged: dict[str, tuple[_Kind, str | None]] = {}
    for path in paths:
        head = inp.remote.get(path)
        merged[path] = _merge(
            inp.base.get(path), inp.local.get(path), head.content if head else None
        )

    # Folder/file clashes in the merged tree: a live file with a live file below it.
    live = {path for path, (_, target) in merged.items() if target is not None}
    clashing = {folder for path in live for folder in _ancestors(path) if folder in live}

    namer = _Namer(paths, inp.device_name, inp.today)
    actions: list[Action] = []
    for path in paths:
        kind, _ = merged[path]
        local = inp.local.get(path)
        head = inp.remote.get(path)
        if path in clashing:
            actions.extend(_move_aside(path, kind, local, head, namer))
        else:
            actions.extend(_act(path, kind, local, head, namer))
    actions.sort(key=_sort_key)

    deletions = sum(isinstance(a, DeleteLocal | DeleteRemote) for a in actions)
    live_remote = sum(head.content is not None for head in inp.remote.values())
    total = max(len(inp.base), len(inp.local), live_remote)
    needs_confirmation = (
        deletions >= inp.delete_guard_min and deletions > inp.delete_guard_ratio * total
    )
    return Plan(tuple(actions), needs_confirmation, deletions, total)


def _live(head: RemoteFile | None) -> RemoteFile:
    if head is None or head.content is None:  # pragma: no cover - guarded by _merge
        raise AssertionError("planner invariant: expected a live remote head")
    return head


def _act(
    path: str, kind: _Kind, local: str | None, head: RemoteFile | None, namer: _Namer
) -> list[Action]:
    if kind is _Kind.NOOP:
        return []
    if kind is _Kind.ADOPT:
        return [Adopt(path, local)]
    if kind is _Kind.DOWNLOAD:
        return [Download(path, _live(head), replaces=local)]
    if kind is _Kind.DELETE_LOCAL:
        assert local is not None
        return [DeleteLocal(path, local)]
    if kind is _Kind.UPLOAD:
        assert local is not None
        if head is None:
            return [Upload(path, local, None, 0)]
        return [Upload(path, local, head.file_id, head.version)]
    if kind is _Kind.DELETE_REMOTE:
        head = _live(head)
        return [DeleteRemote(path, head.file_id, head.version)]
    assert local is not None  # CONFLICT
    return [ConflictCopy(path, namer.pick(path), local, _live(head))]


def _move_aside(
    path: str, kind: _Kind, local: str | None, head: RemoteFile | None, namer: _Namer
) -> list[Action]:
    """`path` must become a folder: move its file aside, keeping every content worth keeping.

    Only kinds whose merged content is live reach here (NOOP/ADOPT with a live file, UPLOAD,
    DOWNLOAD, CONFLICT). Local content is kept unless superseded by a remote change (it then
    equals base); the remote head is kept unless superseded by a local change (equals base)
    or equal to the local content already kept.
    """
    actions: list[Action] = []
    keep_local = local is not None and kind is not _Kind.DOWNLOAD
    keep_remote = kind in (_Kind.DOWNLOAD, _Kind.CONFLICT)
    if keep_local:
        assert local is not None
        actions.append(ConflictCopy(path, namer.pick(path), local, None))
    elif local is not None:
        actions.append(DeleteLocal(path, local))
    if keep_remote:
        actions.append(RemoteConflictCopy(path, namer.pick(path), _live(head)))
    elif head is not None and head.content is not None:
        actions.append(DeleteRemote(path, head.file_id, head.version))
    return actions


def apply_base(base: Mapping[str, str], done: Iterable[Action]) -> dict[str, str]:
    """The new base once the actions in `done` (those confirmed executed) have been applied.

    Pass only the actions that succeeded; a skipped action leaves its path's base unchanged,
    which is always safe (every base value stays in the server's history).
    """
    new = dict(base)
    for action in done:
        match action:
            case Adopt(path=path, content=content):
                if content is None:
                    new.pop(path, None)
                else:
                    new[path] = content
            case Upload(path=path, content=content):
                new[path] = content
            case Download(path=path, remote=remote):
                _set(new, path, remote.content)
            case DeleteLocal(path=path) | DeleteRemote(path=path):
                new.pop(path, None)
            case ConflictCopy(path=path, copy_path=copy_path, content=content, remote=remote):
                new[copy_path] = content
                _set(new, path, remote.content if remote is not None else None)
            case RemoteConflictCopy(path=path, copy_path=copy_path, remote=remote):
                _set(new, copy_path, remote.content)
                new.pop(path, None)
    return new


def _set(base: dict[str, str], path: str, content: str | None) -> None:
    if content is None:
        base.pop(path, None)
    else:
        base[path] = content
