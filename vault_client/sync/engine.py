"""The sync engine: pull and verify the log, scan, plan, execute, commit.

Theory of operation (one ``vault sync``)::

    pull     GET /v1/log/head; a head below the device's checkpoint is a rollback (exit 4);
             fetch and verify every new entry with LogVerifier (hash chain, signatures,
             device certificates); commit verified records + checkpoint in one transaction
             (log.py).
    settled  nothing changed on either side since the last full sync: done (scan.py).
    scan     walk the folder; hash (chunk) only files whose size/mtime/inode changed (scan.py).
    plan     vault_core.planner.plan(base, local, remote heads) — pure.
    remote   seal and upload missing chunks in batches ("which are missing?" first, so a
             resumed sync uploads nothing twice), upload manifests, then append the signed
             entries in order by compare-and-swap on the log head (APPEND_BATCH entries per
             append; with the large-file helper, the small files' entries while the large
             files upload). A 409 means another device moved the head: pull again and
             re-plan (nothing is lost: entries appended before are in the log, uploaded blobs
             are known). (apply.py, publish.py, pipeline.py, uploader.py, helper.py, log.py)
    local    only after the server confirmed: delete/move/download, each download verified
             chunk by chunk into a temp file inside the folder, fsynced, renamed into place,
             and only if the target still holds what the plan expected (apply.py,
             download.py).
    base     the new base is computed from the actions actually done (planner.apply_base).

Any integrity failure aborts the sync with IntegrityError (exit 4) before a byte of the
object concerned reaches the folder.

:class:`SyncEngine` is composed of the parts in those modules (mixin classes, each declaring
the attributes it uses, which this class sets); none of them imports this module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from vault_core import chunks as chunkmod
from vault_core import keys
from vault_core.errors import Conflict, UsageError

from ..api import Api
from ..folder import Folder, LocalFile
from ..profile import Profile
from ..state import State
from .apply import ApplyMixin
from .common import MAX_ROUNDS, SyncReport
from .pipeline import ChunkPipeline
from .scan import ScanMixin

if TYPE_CHECKING:
    from .helper import Helper

# The planner, manifests and the helper are imported where a sync has something to do: a
# sync that finds nothing changed (the common case, every few minutes) never loads them.


def _unknown_to(known: set[str]) -> Callable[[str], bool]:
    return lambda path: path not in known


class SyncEngine(ScanMixin, ApplyMixin):
    def __init__(
        self,
        profile: Profile,
        api: Api,
        warn: Callable[[str], None] | None = None,
        progress: Any = None,
        prewalk: Future[tuple[list[LocalFile], list[str]]] | None = None,
    ) -> None:
        self._prewalk = prewalk
        self.profile = profile
        self.api = api
        self.handle = profile.handle
        self.bundle = profile.bundle
        self.vk = self.bundle.vault_keys
        self.device_id = profile.device_id
        self.device_sk = keys.device_keypair(profile.secrets.device_seed)[1]
        self.state = State(profile.home / "state.db")
        self.folder = Folder(profile.folder)
        self.warn = warn or (lambda msg: print(msg, file=sys.stderr))
        self.progress = progress
        self.pipeline = ChunkPipeline(self.vk)
        self.hashed: dict[str, str] = {}  # disk path -> content hash found while uploading
        self._spare: Helper | None = None  # a helper started ahead of the plan
        self._scan_rows: list[tuple[str, int, int, int, str]] = []  # not yet in the scan cache
        # disk path -> chunk refs of a changed file this round's scan cut, as the walk saw it
        self._scanned: dict[str, list[chunkmod.ChunkRef]] = {}
        self._scanned_refs = 0
        self.unreadable: set[str] = set()  # changed files the last scan could not read

    def close(self) -> None:
        self.pipeline.close()
        self.state.close()

    async def sync(self, confirm: Callable[[str], bool] | None = None) -> SyncReport:
        try:
            return await self._sync(confirm)
        finally:
            if self._spare is not None:
                self._spare.stop()
                self._spare = None

    async def _sync(self, confirm: Callable[[str], bool] | None) -> SyncReport:
        report = SyncReport()
        for _ in range(MAX_ROUNDS):
            v = await self.pull()
            if self.settled(v):
                return report  # nothing changed on either side since the last full sync
            from vault_core.planner import PlanInput, plan

            remote, heads = self.remote_map()
            base = {p: c for p, (c, _, _) in self.state.base().items()}
            # a path this folder ignores is out of sight: never downloaded, and never read
            # as a local deletion of what another device (or an accepted deposit) synced
            ignored = self.folder.ignored
            remote = {p: r for p, r in remote.items() if not ignored(p)}
            base = {p: c for p, c in base.items() if not ignored(p)}
            local, stats = self.scan(defer=_unknown_to(base.keys() | remote.keys()))
            if self.unreadable:
                # out of sight this round, as an ignored path is: not taken for a local
                # deletion (it is there, unread), nor replaced by a download
                remote = {p: r for p, r in remote.items() if p not in self.unreadable}
                base = {p: c for p, c in base.items() if p not in self.unreadable}
                report.skipped.extend(sorted(self.unreadable - set(report.skipped)))
            the_plan = plan(
                PlanInput(
                    base=base,
                    local=local,
                    remote=remote,
                    device_name=self.profile.config.get("device_name", "device"),
                    today=time.strftime("%Y-%m-%d"),
                )
            )
            if the_plan.needs_confirmation:
                question = f"this sync would delete {the_plan.deletions} of {the_plan.total} files"
                if confirm is None or not confirm(question):
                    raise UsageError(
                        f"{question}; nothing was changed. Run 'vault sync --yes' to confirm"
                    )
            try:
                await self.execute(v, the_plan.actions, local, stats, heads, base, report)
            except Conflict:
                continue  # another device moved the head: re-pull and re-plan
            return report
        raise Conflict("the log kept moving during the sync; run it again")
