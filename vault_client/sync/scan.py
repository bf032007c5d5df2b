"""The local side of a sync: walk the folder, decide what changed, hash it; the remote map.

Theory of operation
-------------------
``vault sync`` starts :func:`prewalk` before the profile is unlocked: the folder's stat walk
runs on a thread while Argon2id derives the key. The no-change check
(:meth:`ScanMixin.settled`) then compares that walk with the scan cache: when the last sync
left base, folder and remote equal and nothing moved since, the sync is over without loading
the planner, the manifests or the chunker.

Otherwise :meth:`ScanMixin.scan` goes on from the same walk and hashes (chunks, see
:mod:`.pipeline`) only files whose size, mtime or inode changed since the scan cache. A new
file (a path neither the base nor the log knows) is not hashed: the plan can only upload it,
and the upload hashes it anyway, so it gets the placeholder ``PENDING + path``; when such new
files make a helper process worth it (:mod:`.helper`), one is started right away and loads
its modules while the scan goes on. A changed file's chunk refs are kept for its upload
(which then reads again only the chunks the server lacks), up to ``KEEP_REFS`` in all, and
only for a file not written to shortly before it was read ("racy", ``RACY_NS``).

:meth:`ScanMixin.remote_map` is the remote side the planner needs: path → (file id, version,
content) from the state's log mirror, with full records parsed only for the paths looked up
(:class:`LazyHeads`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_core import chunks as chunkmod
from vault_core.log import FileRecord, LogVerifier

from ..api import Api
from ..folder import Folder, LocalFile
from ..state import State, same_as_scanned
from .common import LARGE_FILE, PENDING, _done
from .pipeline import ChunkPipeline

if TYPE_CHECKING:
    from vault_core.planner import RemoteFile

    from .helper import Helper

# A changed file's chunk refs from the scan are kept for its upload (which then reads again only
# the chunks the server lacks) up to this many refs in all (~64 GiB of changed files, ~20 MB),
# and used when those chunks come to at most pipeline.RESEAL_BYTES; else the upload cuts it again.
KEEP_REFS = 1 << 18
# Refs are kept only for a file last written this long before the scan read it ("racy" files,
# as git calls them: a write in the same tick of a coarse clock could leave the stat as it
# was, and the upload would trust a torn read); 2 s where the time has no fraction of a
# second (FAT, ext3, HFS+ store whole or even seconds).
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000


def prewalk(folder: Path, state_db: Path) -> Future[tuple[list[LocalFile], list[str]]]:
    """Walk ``folder`` on a thread (files and warnings): started before the profile is
    unlocked, the no-change check's stat walk runs while Argon2id (which releases the GIL)
    derives the key, instead of after it. When the folder is not as the last scan left it
    (``state_db``'s scan cache), the sync will upload: the HTTP client's import starts then
    (:meth:`Api.prepare`), not on the event loop at the first upload."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="vault-walk")

    def walk() -> tuple[list[LocalFile], list[str]]:
        warnings: list[str] = []
        files = list(Folder(folder).walk(warnings.append))
        with contextlib.suppress(Exception):  # (a hint: the walk is what the sync needs)
            stats = State.scan_stats_at(state_db)
            if stats is None or not same_as_scanned(files, stats):
                Api.prepare()
        return files, warnings

    try:
        return pool.submit(walk)
    finally:
        pool.shutdown(wait=False)


class LazyHeads(Mapping[str, FileRecord]):
    """Path → latest record, parsed from the state only for the paths looked up."""

    def __init__(self, state: State, paths: Mapping[str, Any]) -> None:
        self._state = state
        self._paths = paths
        self._cache: dict[str, FileRecord] = {}

    def __getitem__(self, path: str) -> FileRecord:
        rec = self._cache.get(path)
        if rec is None:
            if path not in self._paths:
                raise KeyError(path)
            found = self._state.head(path)
            if found is None:
                raise KeyError(path)
            rec = self._cache[path] = found
        return rec

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


class ScanMixin:
    """The scan's part of :class:`~.engine.SyncEngine` (which sets these attributes)."""

    api: Api
    state: State
    folder: Folder
    warn: Callable[[str], None]
    pipeline: ChunkPipeline
    unreadable: set[str]
    _prewalk: Future[tuple[list[LocalFile], list[str]]] | None
    _spare: Helper | None
    _scanned: dict[str, list[chunkmod.ChunkRef]]
    _scanned_refs: int

    def hash_file(self, lf: LocalFile, keep: bool = False) -> str:
        """Content hash (manifest.content_hash, hex) of a local file, by chunking it; with
        ``keep``, its chunk refs are kept for its upload (queue_scanned_chunks)."""
        from vault_core.manifest import Manifest

        with open(self.folder.join(lf.path), "rb") as fh:
            opened = time.time_ns()
            before = os.fstat(fh.fileno())
            refs = self.pipeline.hash_stream(fh)
            after = os.fstat(fh.fileno())
        seen = (lf.size, lf.mtime_ns, lf.ino)
        racy = RACY_COARSE_NS if lf.mtime_ns % 1_000_000_000 == 0 else RACY_NS
        if (
            keep
            and (before.st_size, before.st_mtime_ns, before.st_ino) == seen
            and (after.st_size, after.st_mtime_ns) == seen[:2]  # (not written to meanwhile)
            and lf.mtime_ns < opened - racy
            and self._scanned_refs + len(refs) <= KEEP_REFS
        ):
            self._scanned[lf.path] = refs
            self._scanned_refs += len(refs)
        return Manifest.build(bytes(16), 1, refs).content.hex()

    def scan(
        self, defer: Callable[[str], bool] | None = None
    ) -> tuple[dict[str, str], dict[str, LocalFile]]:
        """Content hash and stat of every file, hashing only files whose stat changed.

        ``defer(path)`` true: a changed file is not hashed now but gets the placeholder
        ``PENDING + path``. The sync passes paths that neither the base nor the log knows: the
        plan can only upload those, whatever their content, and the upload hashes them anyway,
        so each byte of a new file is read and hashed once instead of twice.
        """
        from .helper import Helper, wanted

        cache = self.state.scan_cache()
        self.unreadable.clear()
        self._scanned.clear()
        self._scanned_refs = 0
        local: dict[str, str] = {}
        stats: dict[str, LocalFile] = {}
        seen: set[str] = set()
        # new files the sync will upload: when a helper will pay for them, it starts now and
        # loads its modules while the scan goes on
        new_large = new_other = 0
        ahead = self._spare is None
        with self.state.transaction():
            for lf in self._walked():  # (the walk made during the unlock, if not used yet)
                seen.add(lf.path)
                cached = cache.get(lf.path)
                if cached and cached[:3] == (lf.size, lf.mtime_ns, lf.ino):
                    content = cached[3]
                elif defer is not None and defer(lf.path):
                    content = PENDING + lf.path
                    self.api.prepare()  # a new file: the sync will upload it
                    if ahead:
                        if lf.size >= LARGE_FILE:
                            new_large += lf.size
                        else:
                            new_other += 1
                        if wanted(new_large, new_other, auto_only=True):
                            self._spare = Helper.spawn()
                            ahead = False
                else:
                    self.api.prepare()  # a changed file: the sync may upload it
                    try:
                        content = self.hash_file(lf, keep=True)
                    except OSError as exc:
                        self.warn(f"skipped {lf.path}: {exc.strerror}")
                        self.unreadable.add(lf.path)
                        continue
                    self.state.set_scan(lf.path, lf.size, lf.mtime_ns, lf.ino, content)
                local[lf.path] = content
                stats[lf.path] = lf
            for path in cache.keys() - seen:
                self.state.drop_scan(path)
        return local, stats

    def settled(self, v: LogVerifier) -> bool:
        """The fast no-change path: True when a sync now would find nothing to do.

        That is the case when the last sync left the three sides equal (base == folder ==
        remote, recorded as ``settled`` at that log position), no entry was appended since
        (the server's head is still there: ``pull`` checked it), and every file still has the
        size, mtime and inode recorded then, with no file added or removed. Any change to the
        scan cache, the base or the log mirror clears the mark (State), so a stale mark cannot
        hide a change.
        """
        mark = self.state.get_meta("settled")
        if not isinstance(mark, dict) or mark.get("seq") != v.seq:
            return False
        files = list(self._walked())
        if same_as_scanned(files, self.state.scan_stats()):
            return True
        self._prewalk = _done((files, []))  # this round's scan goes on from the same walk
        return False

    def _walked(self) -> Iterable[LocalFile]:
        """The folder's files: the walk :func:`prewalk` started before the profile was
        unlocked (once: by the no-change check and, when it finds a change, by the scan
        right after; its warnings said once), else a walk now."""
        pre, self._prewalk = self._prewalk, None
        if pre is None:
            return self.folder.walk(self.warn)
        try:
            files, warnings = pre.result()
        except OSError:
            return self.folder.walk(self.warn)
        for w in warnings:
            self.warn(w)
        return files

    def remote_map(self) -> tuple[dict[str, RemoteFile], LazyHeads]:
        from vault_core.planner import RemoteFile

        lite = self.state.head_summaries()
        remote = {
            p: RemoteFile(fid, version, None if deleted else content)
            for p, (fid, version, deleted, content) in lite.items()
        }
        return remote, LazyHeads(self.state, lite)
