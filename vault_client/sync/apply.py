"""A plan carried out: conflict copies, the remote side, then the local side, then the base.

Theory of operation
-------------------
:meth:`ApplyMixin.execute` runs the actions the planner (``vault_core.planner``) chose, in
three steps, with a short thread switch interval while transfers run:

1. local moves that must precede the uploads: a conflict copy keeps the local edit under
   its copy name (only if the file is still the one the scan saw);
2. the remote side: uploads (:mod:`.publish`), tombstones, re-publications of remote
   conflict copies, each record signed as soon as it exists; large files
   (``LARGE_FILE``) go in one task while another does everything else, so the small files
   get the CPU whenever a large one waits for its threads or the network; with enough of
   them, a helper process uploads the large ones (:mod:`.helper`) and this process takes
   back whatever it has not started once its own uploads are done, appending the small
   files' entries meanwhile. A changed file whose new chunks are few is re-sealed from the
   scan's refs instead. Then every batch is flushed and the entries are appended; a
   Conflict goes up to the caller, which pulls again and re-plans;
3. the local side, only after the server confirmed: deletions, downloads
   (:mod:`.download`), each only if the file on disk is still what the plan expected; a
   file that is not is skipped, left for the next sync.

The new base is computed from the actions actually done (``planner.apply_base``); when
base, folder and remote heads are then equal and nothing was skipped, the sync is marked
settled at that log position (the next no-change check, see :mod:`.scan`). Conflict copies
have no module of their own: the planner names them (``vault_core.planner``), and each step
above does its share of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import types
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from vault_core.errors import LocalError
from vault_core.log import FileRecord, LogVerifier

from ..folder import LocalFile
from .common import LARGE_FILE, PENDING, SWITCH_INTERVAL, ContentChanged, SyncReport, _together
from .log import LogMixin
from .pipeline import RESEAL_BYTES
from .publish import PublishMixin
from .scan import LazyHeads
from .uploader import Uploader

if TYPE_CHECKING:
    from vault_core.planner import Action

    from .helper import File, FileDone, Helper


def _as_stat(lf: LocalFile) -> Any:
    return types.SimpleNamespace(st_size=lf.size, st_mtime_ns=lf.mtime_ns, st_ino=lf.ino)


class ApplyMixin(LogMixin, PublishMixin):
    """Plan application, part of :class:`~.engine.SyncEngine` (which sets these attributes)."""

    warn: Callable[[str], None]
    progress: Any
    _spare: Helper | None

    async def execute(
        self,
        v: LogVerifier,
        actions: tuple[Action, ...],
        local: dict[str, str],
        stats: dict[str, LocalFile],
        heads: Mapping[str, FileRecord],
        base: dict[str, str],
        report: SyncReport,
    ) -> None:
        up = Uploader(self.api, self.state)
        # the event loop, the reader and the sealing threads hand the GIL to each other
        # thousands of times a second while transfers run: a shorter switch interval than
        # CPython's 5 ms lets a thread back from a call that released it (a send, a seal) go
        # on sooner (measured: -4 % on a 1 GiB file, -2 % on the 1 GiB tree, less CPU)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            await self._execute(up, v, actions, local, stats, heads, base, report)
        finally:
            sys.setswitchinterval(interval)
            up.abort()

    async def _execute(
        self,
        up: Uploader,
        v: LogVerifier,
        actions: tuple[Action, ...],
        local: dict[str, str],
        stats: dict[str, LocalFile],
        heads: Mapping[str, FileRecord],
        base: dict[str, str],
        report: SyncReport,
    ) -> None:
        from vault_core.planner import (
            Adopt,
            ConflictCopy,
            DeleteLocal,
            DeleteRemote,
            Download,
            RemoteConflictCopy,
            Upload,
            apply_base,
        )

        records: list[Any] = []
        refs: list[list[str]] = []
        done: list[Action] = []
        remote_done: list[Action] = []
        moved: list[ConflictCopy] = []
        skipped = len(report.skipped)
        # each record is signed as soon as it exists, while batches of blobs are on the wire
        chain = self.chain(v)

        def sign_new_records() -> None:
            while len(chain.records) < len(records):
                chain.add(records[len(chain.records)])

        transfers = [
            a
            for a in actions
            if isinstance(a, Upload | Download | ConflictCopy | RemoteConflictCopy)
        ]
        if self.progress is not None and transfers:
            self.progress.start(len(transfers))
        # 1. local moves that must precede uploads (conflict copies keep the local edit)
        for a in actions:
            if isinstance(a, ConflictCopy):
                if local.get(a.path) != a.content or not self._unchanged(a.path, stats):
                    report.skipped.append(a.path)
                    continue
                self.folder.move(a.path, a.copy_path)
                self.state.drop_scan(a.path)
                moved.append(a)
                report.conflicts.append(a.copy_path)

        # 2. remote side: uploads, tombstones, re-publications. Large files go through the
        # chunk pipeline in one task while another handles everything else: whenever the
        # large file waits for its worker threads or the network, small files get the CPU.
        def previous(a: Upload) -> FileRecord | None:
            """The version an upload replaces (its type and certificate carry over)."""
            old = heads.get(a.path)
            return old if old and a.file_id == old.file_id else None

        def few_new_chunks(path: str) -> bool:
            refs, st = self._scanned.get(path), stats.get(path)
            if refs is None or st is None:
                return False
            return up.unsent(refs)[1] <= min(RESEAL_BYTES, st.size // 2)

        # a changed file the scan cut, whose new chunks are few, is uploaded here: only those
        # chunks are read again (queue_scanned_chunks), no helper needed
        resealed = {a.path for a in actions if isinstance(a, Upload) and few_new_chunks(a.path)}

        def large(a: Action) -> bool:
            st = stats.get(a.path) if isinstance(a, Upload) else None
            return st is not None and st.size >= LARGE_FILE and a.path not in resealed

        async def remote_side(todo: list[Action], pause_every: int) -> None:
            for i, a in enumerate(todo):
                if pause_every and i % pause_every == pause_every - 1:
                    await asyncio.sleep(0)  # let the other task resume its chunks
                try:
                    if isinstance(a, Upload):
                        rec, r = await self.build_upload(
                            up,
                            a.path,
                            a.path,
                            a.content,
                            a.file_id,
                            a.parent_version,
                            stats.get(a.path),
                            previous(a),
                        )
                        records.append(rec)
                        refs.append(r)
                        remote_done.append(a)
                        report.uploaded.append(a.path)
                        self._advance(a.path)
                    elif isinstance(a, DeleteRemote):
                        records.append(
                            FileRecord(
                                file_id=a.file_id,
                                version=a.parent_version + 1,
                                path=a.path,
                                deleted=True,
                            )
                        )
                        refs.append([])
                        remote_done.append(a)
                        report.deleted_remote.append(a.path)
                    elif isinstance(a, RemoteConflictCopy):
                        rec, r = await self.republish(up, heads[a.path], a.copy_path, None, 0)
                        records.append(rec)
                        refs.append(r)
                        records.append(
                            FileRecord(
                                file_id=a.remote.file_id,
                                version=a.remote.version + 1,
                                path=a.path,
                                deleted=True,
                            )
                        )
                        refs.append([])
                except (ContentChanged, OSError) as exc:
                    self._skip(report, a.path, exc)
                finally:
                    sign_new_records()

        # large files not handed to the helper yet: it takes them from the front, this
        # process from the back once its own uploads are done
        pending_large: deque[Action] = deque()

        def hand_out(helper: Helper, n: int) -> None:
            while n > 0 and pending_large:
                a = pending_large.popleft()
                if not helper.give(helper_file(a)):
                    pending_large.appendleft(a)
                    return
                n -= 1
            if not pending_large:
                helper.end()

        async def by_helper(helper: Helper, todo: list[Action]) -> None:
            """Large files through the helper process; whatever it did not finish, here."""
            answers: list[FileDone] = []
            pending_large.extend(todo)
            try:
                hand_out(helper, 2)  # one to work on, one ahead
                async for done in helper.answers():
                    answers.append(done)
                    hand_out(helper, 1)
                finished = helper.finished
            finally:
                helper.stop()
            by_path = {a.path: a for a in todo}
            if not finished:  # its batches may not all be on the server: redo all it had
                redo = [by_path[p] for p in helper.sent] + list(pending_large)
                pending_large.clear()
                await remote_side(redo, 0)
                return
            up.absorb(helper.bytes_sent, helper.uploaded)
            for done in answers:
                a = by_path[done.path]
                assert isinstance(a, Upload)
                try:
                    if done.refs is None:
                        if done.problem == "changed":
                            raise ContentChanged(a.path)
                        raise OSError(done.problem)
                    rec, r = await self.record_for(
                        up,
                        a.path,
                        a.path,
                        a.content,
                        a.file_id or os.urandom(16).hex(),
                        a.parent_version + 1,
                        _as_stat(stats[a.path]),  # what the helper checked it read
                        done.refs,
                        previous(a),
                    )
                    records.append(rec)
                    refs.append(r)
                    remote_done.append(a)
                    report.uploaded.append(a.path)
                    report.by_helper += 1
                    self._advance(a.path)
                except (ContentChanged, OSError) as exc:
                    self._skip(report, a.path, exc)
                finally:
                    sign_new_records()

        appended = 0  # records appended early (while the helper still works)

        async def append_early() -> None:
            """Append the records made so far once their blobs are on the server: the log
            append of thousands of small files then overlaps the large files' uploads."""
            nonlocal appended
            n = len(records)
            await up.flush_now()
            await self.append(v, records[:n], refs[:n], chain)
            appended = n

        async def then_large(helper: Helper) -> None:
            """The other uploads, then the large files the helper has not started."""
            await remote_side(rest, 8)
            early = asyncio.ensure_future(append_early()) if records else None
            try:
                while pending_large:
                    a = pending_large.pop()
                    if not pending_large:
                        helper.end()
                    await remote_side([a], 0)
            except BaseException:
                if early is not None:
                    early.cancel()
                    await asyncio.gather(early, return_exceptions=True)
                raise
            if early is not None:
                await early

        def helper_file(a: Action) -> File:
            st = stats[a.path]
            return (a.path, str(self.folder.join(a.path)), st.size, st.mtime_ns, st.ino)

        big = [a for a in actions if large(a)]
        rest = [a for a in actions if not large(a)]
        helper = self.start_helper(big, stats, len(rest), up.none_known)
        if helper is None:
            await _together(remote_side(big, 0), remote_side(rest, 8))
        else:
            await _together(by_helper(helper, big), then_large(helper))
        for a in moved:
            try:
                rec, r = await self.build_upload(
                    up, a.copy_path, a.copy_path, a.content, None, 0, None, None
                )
            except (ContentChanged, OSError) as exc:
                self._skip(report, a.copy_path, exc)
                continue
            records.append(rec)
            refs.append(r)
            sign_new_records()
        self.flush_scans()
        await up.flush()
        report.bytes_uploaded += up.bytes_sent
        if len(records) > appended:  # Conflict propagates: re-plan
            await self.append(v, records[appended:], refs[appended:], chain.after(appended))
        done.extend(remote_done)
        # 3. local side, only after the server confirmed
        for a in actions:
            try:
                if isinstance(a, Adopt):
                    done.append(a)
                elif isinstance(a, DeleteLocal):
                    if local.get(a.path) == a.expected_content and self._unchanged(a.path, stats):
                        self.folder.remove(a.path)
                        self.state.drop_scan(a.path)
                        report.deleted_local.append(a.path)
                        done.append(a)
                    else:
                        report.skipped.append(a.path)
                elif isinstance(a, Download):
                    if local.get(a.path) != a.replaces or not self._unchanged(a.path, stats):
                        report.skipped.append(a.path)
                        continue
                    await self._download(heads[a.path], a.path)
                    report.downloaded.append(a.path)
                    done.append(a)
                    self._advance(a.path)
                elif isinstance(a, ConflictCopy) and a in moved:
                    if a.remote is not None and a.remote.content is not None:
                        await self._download(heads[a.path], a.path)
                        report.downloaded.append(a.path)
                    done.append(a)
                elif isinstance(a, RemoteConflictCopy):
                    copy = self.state.head(a.copy_path)
                    if copy is not None and not copy.deleted:
                        await self._download(copy, a.copy_path)
                    done.append(a)
            except LocalError as exc:
                self.warn(f"skipped {a.path}: {exc.message}")
                report.skipped.append(a.path)
            except OSError as exc:
                self.warn(f"skipped {a.path}: {exc.strerror or exc}")
                report.skipped.append(a.path)
        new_base = apply_base(base, [r for r in map(self._resolved, done) if r is not None])
        self.state.update_base(
            [(p, c, "", 0) for p, c in new_base.items() if base.get(p) != c],
            base.keys() - new_base.keys(),
        )
        if len(report.skipped) == skipped:
            self._mark_settled(v, heads, records, new_base)

    def start_helper(
        self, big: list[Action], stats: dict[str, LocalFile], others: int, first: bool
    ) -> Helper | None:
        """A helper process for the large uploads, when it pays (:mod:`.helper`).
        (A name the folder refuses fails the sync when its file is handed out, as it does
        in-process.) ``first``: no blob of the account can be on the server yet, so the
        helper asks nothing (it is given no state to read)."""
        from .helper import Helper, Job, wanted

        total = sum(stats[a.path].size for a in big)
        spare, self._spare = self._spare, None
        if not self.api.token or not wanted(total, others):
            if spare is not None:
                spare.stop()
            return None
        self.state.begin_uploads()  # the helper writes nothing here; committed before it sends
        return Helper.start(
            Job(
                server=self.api.server,
                token=self.api.token,
                chunk_id_key=self.vk.chunk_id_key,
                chunk_key_key=self.vk.chunk_key_key,
                cdc_seed=self.vk.cdc_seed,
                state_db=None if first else str(self.state.path),
            ),
            spare,
        )

    def _skip(self, report: SyncReport, path: str, exc: BaseException) -> None:
        """A file left for the next sync: changed while read (quietly) or unreadable."""
        if isinstance(exc, OSError):
            self.warn(f"skipped {path}: {exc.strerror or exc}")
        report.skipped.append(path)

    def _advance(self, path: str) -> None:
        if self.progress is not None:
            self.progress.advance(path)

    def _resolved(self, a: Action) -> Action | None:
        """The action with the content hash found at upload in place of a placeholder.

        None (the action does not count as done) when its upload did not happen.
        """
        from vault_core.planner import ConflictCopy, Upload

        if isinstance(a, Upload) and a.content.startswith(PENDING):
            content = self.hashed.get(a.path)
            return None if content is None else dataclasses.replace(a, content=content)
        if isinstance(a, ConflictCopy) and a.content.startswith(PENDING):
            content = self.hashed.get(a.copy_path)
            return None if content is None else dataclasses.replace(a, content=content)
        return a

    def _mark_settled(
        self,
        v: LogVerifier,
        heads: Mapping[str, FileRecord],
        appended: list[Any],
        new_base: dict[str, str],
    ) -> None:
        """Record that base, folder (scan cache) and remote heads are now equal, if they are."""
        remote: dict[str, str | None] = {}
        if isinstance(heads, LazyHeads):
            remote = {p: (None if s[2] else s[3]) for p, s in heads._paths.items()}
        else:
            remote = {p: (None if r.deleted else r.content.hex()) for p, r in heads.items()}
        for rec in appended:
            if isinstance(rec, FileRecord):
                remote[rec.path] = None if rec.deleted else rec.content.hex()
        live = {p: c for p, c in remote.items() if c is not None and not self.folder.ignored(p)}
        if live == new_base == self.state.scan_contents():
            self.state.set_meta("settled", {"seq": v.seq})

    def _unchanged(self, path: str, stats: dict[str, LocalFile]) -> bool:
        """True when the file on disk is still the one the scan saw (or still absent)."""
        now = self.folder.stat(path)
        seen = stats.get(path)
        if now is None or seen is None:
            return now is None and seen is None
        return (now.size, now.mtime_ns, now.ino) == (seen.size, seen.mtime_ns, seen.ino)
