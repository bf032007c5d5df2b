"""The sync engine: pull and verify the log, scan, plan, execute, commit.

Theory of operation (one ``vault sync``)::

    pull     GET /v1/log/head; a head below the device's checkpoint is a rollback (exit 4);
             fetch and verify every new entry with LogVerifier (hash chain, signatures,
             device certificates); commit verified records + checkpoint in one transaction.
    scan     walk the folder; hash (chunk) only files whose size/mtime/inode changed.
    plan     vault_core.planner.plan(base, local, remote heads) — pure.
    remote   seal and upload missing chunks in batches ("which are missing?" first, so a
             resumed sync uploads nothing twice), upload manifests, then append all signed
             entries in ONE compare-and-swap on the log head. A 409 means another device
             moved the head: pull again and re-plan (nothing is lost; blobs already uploaded
             are known).
    local    only after the server confirmed: delete/move/download, each download verified
             chunk by chunk into a temp file inside the folder, fsynced, renamed into place,
             and only if the target still holds what the plan expected.
    base     the new base is computed from the actions actually done (planner.apply_base).

Any integrity failure aborts the sync with IntegrityError (exit 4) before a byte of the
object concerned reaches the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vault_core import chunks as chunkmod
from vault_core import keys
from vault_core.encoding import b64u
from vault_core.errors import Conflict, IntegrityError, LocalError, UsageError, VaultError
from vault_core.log import FileRecord, LogVerifier, check_head, make_entry
from vault_core.manifest import Manifest, open_manifest, seal_manifest
from vault_core.planner import (
    Action,
    Adopt,
    ConflictCopy,
    DeleteLocal,
    DeleteRemote,
    Download,
    PlanInput,
    RemoteConflictCopy,
    RemoteFile,
    Upload,
    apply_base,
    plan,
)

from .api import Api, dec
from .folder import Folder, LocalFile
from .profile import Profile
from .state import State

BATCH_BYTES = 8 * 1024 * 1024
BATCH_COUNT = 512
APPEND_BATCH = 400
FETCH_WINDOW = 8
MAX_ROUNDS = 8


def now_ms() -> int:
    return int(time.time() * 1000)


class ContentChanged(Exception):
    """A local file changed while it was being uploaded; the next sync picks it up."""


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    deleted_local: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0

    def summary(self) -> str:
        parts = [
            f"{len(self.uploaded)} uploaded",
            f"{len(self.downloaded)} downloaded",
            f"{len(self.deleted_local) + len(self.deleted_remote)} deleted",
        ]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict copies")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        parts.append(f"{self.bytes_uploaded} bytes sent")
        return "synced: " + ", ".join(parts)


class Uploader:
    """Collects sealed blobs across files and uploads them in batches, skipping known ones."""

    def __init__(self, api: Api, state: State) -> None:
        self.api = api
        self.state = state
        self.pending: list[tuple[chunkmod.ChunkRef, bytes]] = []
        self.sealed: list[tuple[str, bytes]] = []
        self.pending_bytes = 0
        self.queued: set[str] = set()
        self.bytes_sent = 0

    async def add_chunk(self, ref: chunkmod.ChunkRef, plaintext: bytes | memoryview) -> None:
        if ref.id in self.queued:
            return
        self.queued.add(ref.id)
        self.pending.append((ref, bytes(plaintext)))
        self.pending_bytes += ref.size
        if self.pending_bytes >= BATCH_BYTES or len(self.pending) + len(self.sealed) >= BATCH_COUNT:
            await self.flush()

    async def add_blob(self, blob_id: str, blob: bytes) -> None:
        self.queued.add(blob_id)
        self.sealed.append((blob_id, blob))
        self.pending_bytes += len(blob)
        if self.pending_bytes >= BATCH_BYTES or len(self.pending) + len(self.sealed) >= BATCH_COUNT:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending and not self.sealed:
            return
        ids = [ref.id for ref, _ in self.pending]
        known = self.state.known_blobs(ids)
        candidates = [i for i in ids if i not in known]
        missing = await self.api.missing(candidates) if candidates else set()
        batch = [
            (ref.id, chunkmod.seal_chunk(ref, plain, os.urandom(24)))
            for ref, plain in self.pending
            if ref.id in missing
        ]
        batch.extend(self.sealed)
        if batch:
            await self.api.upload_batch(batch)
            self.bytes_sent += sum(len(b) for _, b in batch)
        self.state.add_blobs(ids)
        self.state.add_blobs(i for i, _ in self.sealed)
        self.pending.clear()
        self.sealed.clear()
        self.pending_bytes = 0


class SyncEngine:
    def __init__(
        self,
        profile: Profile,
        api: Api,
        warn: Callable[[str], None] | None = None,
        progress: Any = None,
    ) -> None:
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
        self._chunker = chunkmod.new_chunker(self.vk.cdc_seed)

    def close(self) -> None:
        self.state.close()

    # -- log ---------------------------------------------------------------------------------

    def verifier(self) -> LogVerifier:
        cp = self.state.get_meta("checkpoint")
        sign_pk = self.bundle.identity_sign[0]
        if cp is None:
            return LogVerifier(self.handle, sign_pk, self.vk.record_key)
        return LogVerifier.from_state(self.handle, sign_pk, self.vk.record_key, cp)

    async def remote_head(self) -> int:
        res = await self.api.get("/v1/log/head")
        head = res.get("seq") if isinstance(res, dict) else None
        if not isinstance(head, int) or head < 0:
            raise IntegrityError("the server sent a malformed log head")
        return head

    async def pull(self) -> LogVerifier:
        v = self.verifier()
        head = await self.remote_head()
        check_head(head, v.seq)
        while v.seq < head:
            res = await self.api.get("/v1/log", params={"after": str(v.seq), "limit": "1000"})
            entries = res.get("entries") if isinstance(res, dict) else None
            if not isinstance(entries, list) or not entries:
                raise IntegrityError(
                    f"the server's log stops at entry {v.seq} although it announced {head} "
                    "(truncated log)"
                )
            records: list[tuple[int, FileRecord]] = []
            try:
                for item in entries:
                    if not isinstance(item, dict) or item.get("seq") != v.seq + 1:
                        raise IntegrityError()
                    _, rec = v.feed(dec(item["entry"]))
                    if isinstance(rec, FileRecord):
                        records.append((v.seq, rec))
            except IntegrityError:
                raise IntegrityError(
                    f"log entry {v.seq + 1} from the server failed verification "
                    "(forged, replayed, reordered, dropped or forked history)"
                ) from None
            self.state.commit_verified(v.state(), records)
            new_head = res.get("head")
            if isinstance(new_head, int) and new_head > head:
                head = new_head
        return v

    async def append(self, v: LogVerifier, records: list[Any], refs: list[list[str]]) -> None:
        """Sign and append records after the verified head, in one CAS per batch."""
        for start in range(0, len(records), APPEND_BATCH):
            part = records[start : start + APPEND_BATCH]
            part_refs = refs[start : start + APPEND_BATCH]
            seq, prev = v.seq, v.head
            encoded = []
            for rec in part:
                seq += 1
                entry = make_entry(
                    handle=self.handle,
                    record_key=self.vk.record_key,
                    device_id=self.device_id,
                    device_sk=self.device_sk,
                    seq=seq,
                    prev=prev,
                    time=now_ms(),
                    record=rec,
                    nonce=os.urandom(24),
                )
                prev = entry.hash()
                encoded.append(entry.encode())
            await self.api.post(
                "/v1/log",
                {
                    "expected_head": v.seq,
                    "entries": [
                        {"entry": b64u(e), "refs": r}
                        for e, r in zip(encoded, part_refs, strict=True)
                    ],
                },
            )
            verified: list[tuple[int, FileRecord]] = []
            for e in encoded:
                _, rec = v.feed(e)
                if isinstance(rec, FileRecord):
                    verified.append((v.seq, rec))
            self.state.commit_verified(v.state(), verified)

    async def append_device_record(self, kind: str, device_id: str, cert: bytes) -> None:
        from vault_core.log import DeviceRecord

        for _ in range(MAX_ROUNDS):
            v = await self.pull()
            try:
                await self.append(v, [DeviceRecord(kind, device_id, cert)], [[]])
                return
            except Conflict:
                continue
        raise Conflict("the log kept moving; try again")

    # -- scan -------------------------------------------------------------------------------

    def hash_file(self, lf: LocalFile) -> str:
        """Content hash (manifest.content_hash, hex) of a local file, by chunking it."""
        refs = []
        with open(self.folder.join(lf.path), "rb") as fh:
            for view in chunkmod.cut_stream(self._chunker, fh):
                refs.append(chunkmod.chunk_ref(self.vk.chunk_id_key, self.vk.chunk_key_key, view))
        return Manifest.build(bytes(16), 1, refs).content.hex()

    def scan(self) -> tuple[dict[str, str], dict[str, LocalFile]]:
        cache = self.state.scan_cache()
        local: dict[str, str] = {}
        stats: dict[str, LocalFile] = {}
        seen: set[str] = set()
        with self.state.transaction():
            for lf in self.folder.walk(self.warn):
                seen.add(lf.path)
                cached = cache.get(lf.path)
                if cached and cached[:3] == (lf.size, lf.mtime_ns, lf.ino):
                    content = cached[3]
                else:
                    try:
                        content = self.hash_file(lf)
                    except OSError as exc:
                        self.warn(f"skipped {lf.path}: {exc.strerror}")
                        continue
                    self.state.set_scan(lf.path, lf.size, lf.mtime_ns, lf.ino, content)
                local[lf.path] = content
                stats[lf.path] = lf
            for path in cache.keys() - seen:
                self.state.drop_scan(path)
        return local, stats

    def remote_map(self) -> tuple[dict[str, RemoteFile], dict[str, FileRecord]]:
        heads = self.state.heads()
        remote = {
            p: RemoteFile(r.file_id, r.version, None if r.deleted else r.content.hex())
            for p, r in heads.items()
        }
        return remote, heads

    # -- upload -----------------------------------------------------------------------------

    async def build_upload(
        self,
        up: Uploader,
        disk_path: str,
        vault_path: str,
        expected: str,
        file_id: str | None,
        parent_version: int,
        stat_: LocalFile | None,
        old: FileRecord | None,
    ) -> tuple[FileRecord, list[str]]:
        fid = file_id or os.urandom(16).hex()
        version = parent_version + 1
        refs: list[chunkmod.ChunkRef] = []
        target = self.folder.join(disk_path)
        with open(target, "rb") as fh:
            st = os.fstat(fh.fileno())
            for view in chunkmod.cut_stream(self._chunker, fh):
                ref = chunkmod.chunk_ref(self.vk.chunk_id_key, self.vk.chunk_key_key, view)
                refs.append(ref)
                await up.add_chunk(ref, view)
        manifest = Manifest.build(bytes.fromhex(fid), version, refs)
        if manifest.content.hex() != expected:
            raise ContentChanged(vault_path)
        file_key = os.urandom(32)
        manifest_id, blob = seal_manifest(manifest, file_key, os.urandom(24))
        await up.add_blob(manifest_id, blob)
        rec = FileRecord(
            file_id=fid,
            version=version,
            path=vault_path,
            deleted=False,
            size=manifest.size,
            mtime=max(0, st.st_mtime_ns // 1_000_000),
            content=manifest.content,
            manifest=manifest_id,
            key=file_key,
            doc_type=old.doc_type if old else None,
            certificate=old.certificate if old else None,
        )
        return rec, [manifest_id, *sorted({r.id for r in refs})]

    async def republish(
        self,
        up: Uploader,
        source: FileRecord,
        path: str,
        file_id: str | None,
        parent_version: int,
    ) -> tuple[FileRecord, list[str]]:
        """A new version (or new file) with the content of an existing record."""
        manifest = await self.fetch_manifest(source)
        fid = file_id or os.urandom(16).hex()
        version = parent_version + 1
        new_manifest = Manifest(
            bytes.fromhex(fid), version, manifest.size, manifest.content, manifest.chunks
        )
        key = os.urandom(32)
        manifest_id, blob = seal_manifest(new_manifest, key, os.urandom(24))
        await up.add_blob(manifest_id, blob)
        rec = FileRecord(
            file_id=fid,
            version=version,
            path=path,
            deleted=False,
            size=source.size,
            mtime=source.mtime,
            content=source.content,
            manifest=manifest_id,
            key=key,
            doc_type=source.doc_type,
            certificate=source.certificate,
        )
        return rec, [manifest_id, *sorted({c.id for c in manifest.chunks})]

    # -- download ---------------------------------------------------------------------------

    async def fetch_manifest(self, rec: FileRecord, grant: str | None = None) -> Manifest:
        blob = await self.api.blob(rec.manifest)
        try:
            m = open_manifest(blob, rec.manifest, rec.key, bytes.fromhex(rec.file_id), rec.version)
        except IntegrityError:
            raise IntegrityError(f"the manifest of {rec.path} failed verification") from None
        if m.content != rec.content or m.size != rec.size:
            raise IntegrityError(f"the manifest of {rec.path} does not match its record")
        return m

    async def download_to_temp(self, rec: FileRecord) -> Any:
        manifest = await self.fetch_manifest(rec)
        fd, tmp = self.folder.temp_file()
        try:
            await write_chunks(self.api, manifest, fd, rec.path)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        return tmp

    # -- the whole sync ---------------------------------------------------------------------

    async def sync(self, confirm: Callable[[str], bool] | None = None) -> SyncReport:
        report = SyncReport()
        for _ in range(MAX_ROUNDS):
            v = await self.pull()
            local, stats = self.scan()
            remote, heads = self.remote_map()
            base = {p: c for p, (c, _, _) in self.state.base().items()}
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

    async def execute(
        self,
        v: LogVerifier,
        actions: tuple[Action, ...],
        local: dict[str, str],
        stats: dict[str, LocalFile],
        heads: dict[str, FileRecord],
        base: dict[str, str],
        report: SyncReport,
    ) -> None:
        up = Uploader(self.api, self.state)
        records: list[Any] = []
        refs: list[list[str]] = []
        done: list[Action] = []
        remote_done: list[Action] = []
        moved: list[ConflictCopy] = []
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
        # 2. remote side: uploads, tombstones, re-publications
        for a in actions:
            try:
                if isinstance(a, Upload):
                    if not self._unchanged(a.path, stats):
                        raise ContentChanged(a.path)
                    old = heads.get(a.path)
                    rec, r = await self.build_upload(
                        up,
                        a.path,
                        a.path,
                        a.content,
                        a.file_id,
                        a.parent_version,
                        stats.get(a.path),
                        old if old and a.file_id == old.file_id else None,
                    )
                    records.append(rec)
                    refs.append(r)
                    remote_done.append(a)
                    report.uploaded.append(a.path)
                elif isinstance(a, DeleteRemote):
                    old = heads[a.path]
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
            except ContentChanged:
                report.skipped.append(a.path)
                continue
        for a in moved:
            try:
                rec, r = await self.build_upload(
                    up, a.copy_path, a.copy_path, a.content, None, 0, None, None
                )
            except ContentChanged:
                report.skipped.append(a.copy_path)
                continue
            records.append(rec)
            refs.append(r)
        await up.flush()
        report.bytes_uploaded += up.bytes_sent
        if records:
            await self.append(v, records, refs)  # Conflict propagates: re-plan
        done.extend(remote_done)
        # 3. local side, only after the server confirmed
        new_heads = self.state.heads()
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
                elif isinstance(a, ConflictCopy) and a in moved:
                    if a.remote is not None and a.remote.content is not None:
                        await self._download(heads[a.path], a.path)
                        report.downloaded.append(a.path)
                    done.append(a)
                elif isinstance(a, RemoteConflictCopy):
                    copy = new_heads.get(a.copy_path)
                    if copy is not None and not copy.deleted:
                        await self._download(copy, a.copy_path)
                    done.append(a)
            except LocalError as exc:
                self.warn(f"skipped {a.path}: {exc.message}")
                report.skipped.append(a.path)
            except OSError as exc:
                self.warn(f"skipped {a.path}: {exc.strerror or exc}")
                report.skipped.append(a.path)
        new_base = apply_base(base, done)
        with self.state.transaction():
            self.state.db.execute("DELETE FROM base")
            for p, c in new_base.items():
                self.state.set_base(p, c)

    def _unchanged(self, path: str, stats: dict[str, LocalFile]) -> bool:
        """True when the file on disk is still the one the scan saw (or still absent)."""
        now = self.folder.stat(path)
        seen = stats.get(path)
        if now is None or seen is None:
            return now is None and seen is None
        return (now.size, now.mtime_ns, now.ino) == (seen.size, seen.mtime_ns, seen.ino)

    async def _download(self, rec: FileRecord, path: str) -> None:
        tmp = await self.download_to_temp(rec)
        try:
            lf = self.folder.install(tmp, path, rec.mtime)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.state.set_scan(path, lf.size, lf.mtime_ns, lf.ino, rec.content.hex())


async def write_chunks(
    api: Api,
    manifest: Manifest,
    fd: int,
    name: str,
    grant: str | None = None,
    auth: str | None = None,
) -> None:
    """Fetch, verify and write every chunk in order, with a bounded window of fetches."""
    pending: list[asyncio.Task[bytes]] = []
    refs = list(manifest.chunks)
    index = 0

    def launch() -> None:
        nonlocal index
        while index < len(refs) and len(pending) < FETCH_WINDOW:
            pending.append(asyncio.ensure_future(api.blob(refs[index].id, auth=auth, grant=grant)))
            index += 1

    launch()
    position = 0
    try:
        while pending:
            blob = await pending.pop(0)
            ref = refs[position]
            try:
                plain = chunkmod.open_chunk(ref, blob)
            except IntegrityError:
                raise IntegrityError(
                    f"chunk {position + 1} of {name} failed verification "
                    "(tampered, swapped or truncated)"
                ) from None
            view = memoryview(plain)
            while view:
                view = view[os.write(fd, view) :]
            position += 1
            launch()
    finally:
        for task in pending:
            task.cancel()
    if position != len(refs):
        raise IntegrityError(f"{name} is incomplete")


def today() -> str:
    return time.strftime("%Y-%m-%d")


__all__ = ["SyncEngine", "SyncReport", "VaultError", "write_chunks"]
