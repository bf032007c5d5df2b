"""The sync engine: pull and verify the log, scan, plan, execute, commit.

Theory of operation (one ``vault sync``)::

    pull     GET /v1/log/head; a head below the device's checkpoint is a rollback (exit 4);
             fetch and verify every new entry with LogVerifier (hash chain, signatures,
             device certificates); commit verified records + checkpoint in one transaction.
    scan     walk the folder; hash (chunk) only files whose size/mtime/inode changed.
    plan     vault_core.planner.plan(base, local, remote heads) — pure.
    remote   seal and upload missing chunks in batches ("which are missing?" first, so a
             resumed sync uploads nothing twice), upload manifests, then append the signed
             entries in order by compare-and-swap on the log head (APPEND_BATCH entries per
             append; with the large-file helper, the small files' entries while the large
             files upload). A 409 means another device moved the head: pull again and
             re-plan (nothing is lost: entries appended before are in the log, uploaded blobs
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
import dataclasses
import os
import struct
import sys
import time
import types
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vault_core import chunks as chunkmod
from vault_core import keys
from vault_core.encoding import b64u
from vault_core.errors import (
    Conflict,
    IntegrityError,
    LocalError,
    NotFound,
    UsageError,
    VaultError,
)
from vault_core.log import FileRecord, LogVerifier, check_head, entry_hash, make_entry

from .api import Api, dec
from .folder import Folder, LocalFile
from .profile import Profile
from .state import State, same_as_scanned

if TYPE_CHECKING:
    from vault_core.manifest import Manifest
    from vault_core.planner import Action, RemoteFile

    from . import large as large_mod

# The planner, manifests and the helper are imported where a sync has something to do: a
# sync that finds nothing changed (the common case, every few minutes) never loads them.

BATCH_BYTES = 8 * 1024 * 1024  # one /v1/blobs/batch body (server limit: 32 MiB)
BATCH_COUNT = 1000  # records per batch body (server limit: 1000)
UPLOADS_IN_FLIGHT = 4  # batch bodies being sent while the pipeline goes on
APPEND_BATCH = 1000  # log entries per compare-and-swap (server limit: 1000)
APPEND_BYTES = 4 * 1024 * 1024  # body of one append (server limit: 8 MiB)
FETCH_WINDOW = 8
MAX_ROUNDS = 8
READ_BLOCK = 8 * 1024 * 1024  # bytes read at once by the chunking pipeline
INLINE_CHUNK = 64 * 1024  # smaller jobs are hashed/sealed on the calling thread
JOB_BYTES = 2 * 1024 * 1024  # chunks hashed or sealed by one worker job
LARGE_FILE = 4 * 1024 * 1024  # files from this size are uploaded alongside the others
# A changed file's chunk refs from the scan are kept for its upload (which then reads again only
# the chunks the server lacks) up to this many refs in all (~64 GiB of changed files, ~20 MB),
# and used when those chunks come to at most RESEAL_BYTES; else the upload cuts it again.
KEEP_REFS = 1 << 18
RESEAL_BYTES = 64 * 1024 * 1024
RESEAL_WINDOW = 4  # chunks read and sealed at once (on the pipeline's workers)
# Refs are kept only for a file last written this long before the scan read it ("racy" files,
# as git calls them: a write in the same tick of a coarse clock could leave the stat as it
# was, and the upload would trust a torn read); 2 s where the time has no fraction of a
# second (FAT, ext3, HFS+ store whole or even seconds).
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000
_RECORD_HEAD = struct.Struct(">B64sI")
SWITCH_INTERVAL = 0.0002  # seconds (sys.setswitchinterval) while transfers run
# Content "hash" of a new file the scan did not hash: it is hashed once, while uploaded.
PENDING = "pending:"  # batch upload record: idlen | id | blob length


class Readable(Protocol):
    def readinto(self, b: memoryview, /) -> int | None: ...

    def fileno(self) -> int: ...


def _append_batches(refs: list[list[str]]) -> Iterator[tuple[int, int]]:
    """[start, stop) slices of at most APPEND_BATCH entries and about APPEND_BYTES of body."""
    start, size = 0, 0
    for i, r in enumerate(refs):
        cost = 2048 + 67 * len(r)  # an entry is ~1-2 KB of JSON; each ref 64 hex + quotes
        if i > start and (i - start >= APPEND_BATCH or size + cost > APPEND_BYTES):
            yield start, i
            start, size = i, 0
        size += cost
    if start < len(refs):
        yield start, len(refs)


async def _together(*coros: Any) -> None:
    """Run coroutines concurrently; the first failure cancels the others and is raised as is."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in tasks:
            exc = t.exception() if t.done() and not t.cancelled() else None
            if exc is not None:
                raise exc
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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


@contextlib.contextmanager
def opened_as_seen(
    path: str | Path, seen: tuple[int, int, int] | None, vault_path: str
) -> Iterator[tuple[Any, os.stat_result]]:
    """The file open for reading and its stat, if it is the one the scan saw (``seen``: size,
    mtime_ns, inode; None: any). ContentChanged when it is gone or another file, and when it
    was written to while the caller read it (checked as the block ends without an error)."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise ContentChanged(vault_path) from None
    with fh:
        st = os.fstat(fh.fileno())
        if seen is not None and (st.st_size, st.st_mtime_ns, st.st_ino) != seen:
            raise ContentChanged(vault_path)  # not the file the scan saw
        yield fh, st
        after = os.fstat(fh.fileno())
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        raise ContentChanged(vault_path)  # written to while being read: maybe torn


async def queue_scanned_chunks(
    pipeline: ChunkPipeline,
    up: Uploader,
    fh: Any,
    refs: list[chunkmod.ChunkRef],
    vault_path: str,
) -> list[chunkmod.ChunkRef] | None:
    """Queue the chunks ``up`` needs of a file the scan cut into ``refs``, still the file the
    scan saw (the caller opened it so): only those chunks are read again, by offset, and each
    must hash to its ref (else ContentChanged). None, with nothing queued, when they are more
    than ``RESEAL_BYTES``: the full pipeline is faster then."""
    missing, new_bytes = up.unsent(refs)
    if new_bytes > RESEAL_BYTES:
        return None
    # the workers read from their own descriptor: one still reading when this is cancelled
    # (and the caller closes ``fh``) must not read whatever file gets that number next
    fd = os.dup(fh.fileno())
    loop = asyncio.get_running_loop()
    window: deque[tuple[str, asyncio.Future[bytearray]]] = deque()

    def reseal(ref: chunkmod.ChunkRef, offset: int) -> bytearray:
        data = os.pread(fd, ref.size, offset)
        if len(data) != ref.size or chunkmod.plaintext_hash(data) != ref.hash:
            raise ContentChanged(vault_path)
        return seal_record(ref, data)

    async def emit() -> None:
        blob_id, fut = window.popleft()
        await up.add_record(blob_id, await fut)

    try:
        offset = 0
        for ref in refs:
            # (need(): not queued meanwhile by another file, nor twice from this one)
            if ref.id in missing and up.need(ref.id):
                window.append((ref.id, loop.run_in_executor(pipeline.pool, reseal, ref, offset)))
                if len(window) >= RESEAL_WINDOW:
                    await emit()
            offset += ref.size
        while window:
            await emit()
    finally:
        running = [fut for _, fut in window if not fut.done()]
        for _, fut in window:  # (results and failures of reads nobody waits for any more)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        if running:
            asyncio.gather(*running, return_exceptions=True).add_done_callback(
                lambda _: os.close(fd)
            )
        else:
            os.close(fd)
    return refs


async def queue_chunks(pipeline: ChunkPipeline, up: Uploader, fh: Any) -> list[chunkmod.ChunkRef]:
    """Cut, hash and seal a stream through the pipeline, queueing the chunks ``up`` needs."""
    refs: list[chunkmod.ChunkRef] = []
    # closed here, not whenever the loop gets round to it: a failed upload leaves the
    # pipeline's read of ``fh`` in flight, and the caller closes ``fh`` next
    stream = pipeline.seal_stream(fh, up.need, seal_all=up.none_known)
    async with contextlib.aclosing(stream):
        async for ref, record in stream:
            refs.append(ref)
            if record is not None:
                await up.add_record(ref.id, record)
    return refs


def _as_stat(lf: LocalFile) -> Any:
    return types.SimpleNamespace(st_size=lf.size, st_mtime_ns=lf.mtime_ns, st_ino=lf.ino)


def _unknown_to(known: set[str]) -> Callable[[str], bool]:
    return lambda path: path not in known


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
    by_helper: int = 0  # large files chunked and uploaded by the helper process

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


# -- the chunking / sealing pipeline ---------------------------------------------------------


def seal_record(ref: chunkmod.ChunkRef, plaintext: bytes | bytearray | memoryview) -> bytearray:
    """A ready-to-send batch record: ``u8 64 | id | u32 len | sealed chunk``, sealed in place.

    The chunk is sealed exactly as :func:`vault_core.chunks.seal_chunk` does (fresh random
    nonce, AD naming the chunk id), straight into the record buffer: no copy of the plaintext
    nor of the ciphertext.
    """
    size = chunkmod.sealed_size(len(plaintext))
    out = bytearray(_RECORD_HEAD.size + size)
    _RECORD_HEAD.pack_into(out, 0, 64, ref.id.encode("ascii"), size)
    chunkmod.seal_chunk_into(ref, plaintext, os.urandom(24), out, _RECORD_HEAD.size)
    return out


def blob_record(blob_id: str, blob: bytes) -> bytearray:
    out = bytearray(_RECORD_HEAD.size + len(blob))
    _RECORD_HEAD.pack_into(out, 0, len(blob_id), blob_id.encode("ascii"), len(blob))
    out[_RECORD_HEAD.size :] = blob
    return out


def _done(value: Any) -> Future[Any]:
    fut: Future[Any] = Future()
    fut.set_result(value)
    return fut


class ChunkPipeline:
    """read → FastCDC → SHA-256 and keyed id/key → seal, on a small pool of threads.

    The file is read in large blocks and cut with the vault's chunker; a cut depends only on
    the next ``CDC_MAX`` bytes (or the end of the file), so cutting a block while at least that
    much remains — and carrying the rest over to the next block — gives exactly the chunks
    ``chunks.cut_stream`` gives. Chunk views point into the block, which stays alive (and is
    never written again) while a worker uses them: nothing is copied between the read and the
    encryption. Blocks are read and cut on a reader thread one block ahead of the caller, and
    hashlib and the chunker release the GIL, so reading, cutting, hashing and the uploading on
    the main thread run in parallel, and so does sealing (libcrypto or libsodium through
    cffi, which releases the GIL during the call, see vault_core._crypto). Results come back in
    file order; at most a few blocks and sealed chunks are alive at once (bounded memory).
    """

    def __init__(self, vault_keys: Any, workers: int | None = None) -> None:
        self.id_key: bytes = vault_keys.chunk_id_key
        self.key_key: bytes = vault_keys.chunk_key_key
        self._seed: int = vault_keys.cdc_seed
        self._chunker: Any = None
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.window = self.workers + 1  # jobs in flight at each stage
        self._pool: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._free: list[bytearray] = []

    @property
    def chunker(self) -> Any:
        if self._chunker is None:  # (made when first needed: a sync with nothing to do never is)
            self._chunker = chunkmod.new_chunker(self._seed)
        return self._chunker

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            # where sealed chunks start to come and go (not at start-up: a sync with nothing
            # to do never gets here, and loading ctypes costs it ~4 ms); the pipeline
            # benchmark runs this same code
            from vault_core._malloc import keep_freed_memory

            keep_freed_memory()
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="vault-chunk")
        return self._pool

    @property
    def reader(self) -> ThreadPoolExecutor:
        """One thread reading and cutting the block after the one being worked on."""
        if self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="vault-read")
        return self._reader

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._reader is not None:
            self._reader.shutdown(wait=True)
            self._reader = None

    def blocks(self, fh: Readable, size_hint: int | None = None) -> Iterator[_Block]:
        """The chunks of ``fh``, a block at a time (views into the block's buffer).

        Full-size block buffers are recycled once every chunk of the block is done
        (:meth:`_release`): reading into memory already mapped avoids a page fault per 4 KiB.
        """
        if size_hint is None:
            try:
                size_hint = os.fstat(fh.fileno()).st_size
            except (AttributeError, OSError, ValueError):
                size_hint = READ_BLOCK
        cmax = chunkmod.CDC_MAX
        carry = b""
        eof = False
        want = min(READ_BLOCK, max(size_hint, 0) + 1)
        while not eof:
            pooled = want == READ_BLOCK
            if pooled and self._free:
                buf = self._free.pop()
            elif pooled:
                buf = bytearray(READ_BLOCK + cmax)
            else:
                buf = bytearray(len(carry) + want)
            buf[: len(carry)] = carry
            view = memoryview(buf)
            filled = len(carry)
            end = len(carry) + want
            while filled < end:
                n = fh.readinto(view[filled:end])
                if not n:
                    eof = True
                    break
                filled += n
            data = view[:filled]
            pieces: list[memoryview] = []
            pos = 0
            if filled:
                for c in self.chunker.cut_buf(data):
                    if not eof and filled - pos < cmax:
                        break  # the cut could depend on bytes not read yet
                    pieces.append(data[pos : pos + c.length])
                    pos += c.length
            carry = bytes(data[pos:])
            block = _Block(buf if pooled else None, pieces)
            if pieces:
                yield block
            elif pooled:
                self._free.append(buf)
            want = READ_BLOCK

    async def _blocks_ahead(self, fh: Readable) -> AsyncGenerator[_Block, None]:
        """:meth:`blocks`, each one read and cut on a reader thread while the caller works on
        the one before (the event loop keeps sending meanwhile; read and cut release the GIL)."""
        loop = asyncio.get_running_loop()
        it = self.blocks(fh)
        nxt = loop.run_in_executor(self.reader, next, it, None)
        try:
            while True:
                block = await nxt
                if block is None:
                    return
                nxt = loop.run_in_executor(self.reader, next, it, None)
                yield block
        finally:
            # stopped early: let the read in flight end before the caller closes the file
            # (cancelled again meanwhile: still wait, then pass the cancellation on)
            cancelled: BaseException | None = None
            while not nxt.done():
                try:
                    with contextlib.suppress(Exception):  # (the read's own failure)
                        await asyncio.shield(nxt)
                except asyncio.CancelledError as exc:
                    cancelled = exc
            if nxt.done() and not nxt.cancelled():
                nxt.exception()  # (retrieved: never reported as "never retrieved")
            if cancelled is not None:
                raise cancelled

    def _release(self, block: _Block) -> None:
        block.left -= 1
        if block.left == 0 and block.buf is not None and len(self._free) < 4:
            self._free.append(block.buf)
            block.buf = None

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.pool.submit(fn, *args)

    def _jobs(self, block: _Block) -> Iterator[list[memoryview]]:
        """The block's chunks in runs of about ``JOB_BYTES``: one worker job each (a job per
        chunk cost more Python than hashing a 256 KiB chunk)."""
        job: list[memoryview] = []
        size = 0
        for view in block.pieces:
            job.append(view)
            size += len(view)
            if size >= JOB_BYTES:
                yield job
                job, size = [], 0
        if job:
            yield job

    def _refs_of(self, views: list[memoryview]) -> list[chunkmod.ChunkRef]:
        return [chunkmod.chunk_ref(self.id_key, self.key_key, v) for v in views]

    def _job(self, size: int, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """``fn(*args)`` on a worker, or here (done) for less than INLINE_CHUNK bytes."""
        if size < INLINE_CHUNK:
            return _done(fn(*args))
        return self._submit(fn, *args)

    def _hash(self, views: list[memoryview]) -> Future[list[chunkmod.ChunkRef]]:
        return self._job(sum(len(v) for v in views), self._refs_of, views)

    def hash_stream(self, fh: Readable) -> list[chunkmod.ChunkRef]:
        """Chunk refs of a whole stream (no sealing): what a scan needs."""
        refs: list[chunkmod.ChunkRef] = []
        window: deque[tuple[_Block, Future[list[chunkmod.ChunkRef]]]] = deque()

        def pop() -> None:
            block, fut = window.popleft()
            got = fut.result()
            refs.extend(got)
            for _ in got:
                self._release(block)

        it = self.blocks(fh)
        nxt = self.reader.submit(next, it, None)  # the next block is read while this one hashes
        try:
            while (block := nxt.result()) is not None:
                nxt = self.reader.submit(next, it, None)
                for job in self._jobs(block):
                    window.append((block, self._hash(job)))
                    while len(window) > self.window:
                        pop()
        finally:
            with contextlib.suppress(BaseException):
                nxt.result()  # stopped early: let the read in flight end
        while window:
            pop()
        return refs

    def _hash_seal(
        self, views: list[memoryview]
    ) -> tuple[list[chunkmod.ChunkRef], list[bytearray]]:
        refs = self._refs_of(views)
        return refs, _seal_records(list(zip(refs, views, strict=True)))

    async def seal_stream(
        self,
        fh: Readable,
        need: Callable[[str], bool] | None = None,
        seal_all: bool = False,
    ) -> AsyncGenerator[tuple[chunkmod.ChunkRef, bytearray | None], None]:
        """(ref, sealed batch record) per chunk, in order; record None when ``need`` says no.

        Where (almost) every chunk will be wanted (``need`` is None, or ``seal_all``: nothing
        is known on the server yet), a worker hashes and seals a job's chunks in one go, each
        chunk sealed while still in the core's cache, and ``need`` only drops the records of
        chunks met twice. Otherwise chunks are hashed first and only those ``need`` wants are
        sealed."""
        Refs = list[chunkmod.ChunkRef]
        Hashing = tuple[_Block, list[memoryview], Future[Refs]]
        Sealing = tuple[_Block, Refs | None, list[bool], Future[Any] | None]
        hashing: deque[Hashing] = deque()
        sealing: deque[Sealing] = deque()
        fused = need is None or seal_all
        ahead = 2 * self.window if fused else self.window

        async def result(fut: Future[Any]) -> Any:
            if fut.done():
                return fut.result()
            return await asyncio.wrap_future(fut)

        async def advance() -> None:
            block, views, hfut = hashing.popleft()
            refs: Refs = await result(hfut)
            wanted = [need is None or need(r.id) for r in refs]
            todo = [(r, v) for r, v, w in zip(refs, views, wanted, strict=True) if w]
            sfut = self._job(sum(len(v) for _, v in todo), _seal_records, todo) if todo else None
            sealing.append((block, refs, wanted, sfut))

        async def emit() -> list[tuple[chunkmod.ChunkRef, bytearray | None]]:
            block, refs, wanted, sfut = sealing.popleft()
            if refs is None:  # hashed and sealed together
                assert sfut is not None
                refs, sealed = await result(sfut)
                out = [
                    (r, s if need is None or need(r.id) else None)
                    for r, s in zip(refs, sealed, strict=True)
                ]
            else:
                records = iter(await result(sfut) if sfut is not None else [])
                out = [(r, next(records) if w else None) for r, w in zip(refs, wanted, strict=True)]
            for _ in refs:
                self._release(block)
            return out

        blocks = self._blocks_ahead(fh)
        async with contextlib.aclosing(blocks):  # the read in flight ends when this does
            async for block in blocks:
                for job in self._jobs(block):
                    if fused:
                        size = sum(len(v) for v in job)
                        sealing.append((block, None, [], self._job(size, self._hash_seal, job)))
                    else:
                        hashing.append((block, job, self._hash(job)))
                        if len(hashing) > self.window:
                            await advance()
                    if len(sealing) > ahead:
                        for item in await emit():
                            yield item
        while hashing:
            await advance()
            if len(sealing) > self.window:
                for item in await emit():
                    yield item
        while sealing:
            for item in await emit():
                yield item


def _seal_records(
    todo: list[tuple[chunkmod.ChunkRef, memoryview]],
) -> list[bytearray]:
    return [seal_record(ref, view) for ref, view in todo]


class _Block:
    """One read block: its buffer (None if not recycled) and chunks not finished yet."""

    __slots__ = ("buf", "left", "pieces")

    def __init__(self, buf: bytearray | None, pieces: list[memoryview]) -> None:
        self.buf = buf
        self.pieces = pieces
        self.left = len(pieces)


class Uploader:
    """Collects sealed blobs across files and uploads them in batches, skipping known ones.

    A batch goes out as soon as it is full, while the pipeline keeps sealing the next one
    (at most ``UPLOADS_IN_FLIGHT`` batches on the wire, so memory stays bounded). Each batch
    first asks the server which of its blobs are missing, then sends only those; blob ids are
    recorded as known only once the server has answered, in one transaction when the uploads
    are flushed (not one per batch on the event loop: if the sync dies first, the next one
    asks the server about them, see State.has_blobs). :meth:`flush` waits for every batch and
    raises the first failure: nothing is appended to the log before that.
    """

    def __init__(self, api: Api, state: State) -> None:
        self.api = api
        self.state = state
        self.batch: list[tuple[str, bytearray]] = []
        self.batch_bytes = 0
        self.queued: set[str] = set()
        self.bytes_sent = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(UPLOADS_IN_FLIGHT)
        self._error: BaseException | None = None
        self._answered: list[str] = []  # ids the server has, not yet recorded in the state
        # blobs are only recorded as known by this uploader's batches, after need() said yes
        self.none_known = not state.has_blobs()
        self._unmarked = self.none_known  # begin_uploads() not called yet

    def need(self, blob_id: str) -> bool:
        """True (once) for a blob this sync must seal: not queued yet, not known on the server."""
        if blob_id in self.queued:
            return False
        self.queued.add(blob_id)
        if self.none_known:  # a first sync: no query per blob
            return True
        return not self.state.known_blobs([blob_id])

    def unsent(self, refs: Sequence[chunkmod.ChunkRef]) -> tuple[set[str], int]:
        """The ids among ``refs`` that :meth:`need` would say yes to (nothing is marked), and
        the bytes of those chunks."""
        ids = {r.id for r in refs} - self.queued
        if not self.none_known:
            ids -= self.state.known_blobs(ids)
        return ids, sum(r.size for r in refs if r.id in ids)

    async def add_chunk(self, ref: chunkmod.ChunkRef, plaintext: bytes | memoryview) -> None:
        if self.need(ref.id):
            await self.add_record(ref.id, seal_record(ref, plaintext))

    async def add_blob(self, blob_id: str, blob: bytes) -> None:
        self.queued.add(blob_id)
        await self.add_record(blob_id, blob_record(blob_id, blob))

    async def add_record(self, blob_id: str, record: bytearray) -> None:
        self.queued.add(blob_id)
        self.batch.append((blob_id, record))
        self.batch_bytes += len(record)
        if self.batch_bytes >= BATCH_BYTES or len(self.batch) >= BATCH_COUNT:
            await self._launch()

    async def _launch(self) -> None:
        if self._error is not None:
            raise self._error
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        if not batch:
            return
        await self._slots.acquire()
        task = asyncio.ensure_future(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._error is None:
            self._error = task.exception()

    async def _send(self, batch: list[tuple[str, bytearray]]) -> None:
        try:
            ids = [i for i, _ in batch]
            # a first sync (no blob known yet) does not ask: the server would say "all of
            # them", and one it has already is answered "present" and dropped
            missing = set(ids) if self.none_known else await self.api.missing(ids)
            records = [r for i, r in batch if i in missing]
            if records and self._unmarked:
                self.state.begin_uploads()
                self._unmarked = False
            if records:
                await self.api.upload_records(records)
                self.bytes_sent += sum(len(r) - _RECORD_HEAD.size for r in records)
            self._answered.extend(ids)
        finally:
            self._slots.release()

    async def flush_now(self) -> None:
        """Send what is queued and wait for the batches on the wire now (not later ones)."""
        await self._launch()
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks)
        self._record_answered()
        if self._error is not None:
            raise self._error

    async def flush(self) -> None:
        await self._launch()
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        self._record_answered()
        if self._error is not None:
            raise self._error

    def _record_answered(self) -> None:
        if self._answered:
            ids, self._answered = self._answered, []
            self.state.add_blobs(ids)

    def absorb(self, bytes_sent: int, uploaded: list[str]) -> None:
        """Count what a helper process uploaded (every batch of it answered by the server)."""
        self.bytes_sent += bytes_sent
        self.queued.update(uploaded)
        self.state.add_blobs(uploaded)

    def abort(self) -> None:
        """Cancel batches still in flight (the sync failed before
        flushing), record what the server has answered so far (best effort: the failure being
        raised matters more)."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            self._record_answered()


class EntryChain:
    """Signed log entries for records, chained from a given head (seq, hash)."""

    def __init__(self, engine: SyncEngine, seq: int, head: bytes) -> None:
        self.engine = engine
        self.start = (seq, head)
        self.seq, self.prev = seq, head
        self.records: list[Any] = []
        self.encoded: list[bytes] = []
        self.hashes: list[bytes] = []

    def follows(self, v: LogVerifier) -> bool:
        return self.start == (v.seq, v.head)

    def after(self, n: int) -> EntryChain:
        """The entries after the first ``n`` (once those are appended), as a chain."""
        head = self.hashes[n - 1] if n else self.start[1]
        rest = EntryChain(self.engine, self.start[0] + n, head)
        rest.records = self.records[n:]
        rest.encoded = self.encoded[n:]
        rest.hashes = self.hashes[n:]
        return rest

    def add(self, rec: Any) -> None:
        e = self.engine
        self.seq += 1
        entry = make_entry(
            handle=e.handle,
            record_key=e.vk.record_key,
            device_id=e.device_id,
            device_sk=e.device_sk,
            seq=self.seq,
            prev=self.prev,
            time=now_ms(),
            record=rec,
            nonce=os.urandom(24),
        )
        encoded = entry.encode()
        self.prev = entry_hash(encoded)
        self.records.append(rec)
        self.encoded.append(encoded)
        self.hashes.append(self.prev)


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


class SyncEngine:
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
        self._spare: large_mod.Helper | None = None  # a helper started ahead of the plan
        self._scan_rows: list[tuple[str, int, int, int, str]] = []  # not yet in the scan cache
        # disk path -> chunk refs of a changed file this round's scan cut, as the walk saw it
        self._scanned: dict[str, list[chunkmod.ChunkRef]] = {}
        self._scanned_refs = 0
        self.unreadable: set[str] = set()  # changed files the last scan could not read

    def flush_scans(self) -> None:
        """Write the scan-cache rows found while uploading, in one transaction."""
        rows, self._scan_rows = self._scan_rows, []
        if rows:
            self.state.set_scans(rows)

    def close(self) -> None:
        self.pipeline.close()
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
        if not isinstance(head, int) or isinstance(head, bool) or head < 0:
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

    def chain(self, v: LogVerifier) -> EntryChain:
        return EntryChain(self, v.seq, v.head)

    async def append(
        self,
        v: LogVerifier,
        records: list[Any],
        refs: list[list[str]],
        chain: EntryChain | None = None,
    ) -> None:
        """Sign and append records after the verified head, in one CAS per batch.

        ``chain`` holds the entries of ``records`` already signed (the sync signs each one as
        soon as its record exists, while the uploads are on the wire); it is used only if it
        starts at the verifier's head and begins with exactly these records.

        Entries this device has just made and the server accepted at the expected head need no
        re-verification of their own signatures: the verifier's head simply moves to their
        hash (device records still go through the full check, as they change the key set).
        """
        if chain is None or not chain.follows(v) or chain.records[: len(records)] != records:
            chain = self.chain(v)
            for rec in records:
                chain.add(rec)
        for start, stop in _append_batches(refs):
            part = records[start:stop]
            part_refs = refs[start:stop]
            encoded = chain.encoded[start:stop]
            hashes = chain.hashes[start:stop]
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
            for rec, e, h in zip(part, encoded, hashes, strict=True):
                if isinstance(rec, FileRecord):
                    v.seq += 1
                    v.head = h
                    verified.append((v.seq, rec))
                else:
                    v.feed(e)
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
        from . import large as large_mod

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
                        if large_mod.wanted(new_large, new_other, auto_only=True):
                            self._spare = large_mod.Helper.spawn()
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
        """Seal and queue the chunks and manifest of one local file; its record and refs.

        ``stat_`` is what the scan saw: a file that is no longer that one (or is gone) raises
        ContentChanged, and so does one written to while it was read. A file smaller than a
        minimum chunk is read in one go: its bytes go inside its manifest (record_for).
        """
        fid = file_id or os.urandom(16).hex()
        version = parent_version + 1
        refs: list[chunkmod.ChunkRef] = []
        data = b""
        seen = None if stat_ is None else (stat_.size, stat_.mtime_ns, stat_.ino)
        with opened_as_seen(self.folder.join(disk_path), seen, vault_path) as (fh, st):
            if st.st_size < chunkmod.CDC_MIN:
                data = fh.read(chunkmod.CDC_MIN)
                if len(data) != st.st_size:
                    raise ContentChanged(vault_path)  # written to while being read: maybe torn
            else:
                # refs of the file as the walk saw it (``seen``, checked by opened_as_seen);
                # without ``seen`` (a conflict copy) the file may be another one
                scanned = self._scanned.pop(disk_path, None)
                kept = None
                if scanned is not None and seen is not None:
                    kept = await queue_scanned_chunks(self.pipeline, up, fh, scanned, vault_path)
                refs = kept if kept is not None else await queue_chunks(self.pipeline, up, fh)
        return await self.record_for(
            up, disk_path, vault_path, expected, fid, version, st, refs, old, data
        )

    async def record_for(
        self,
        up: Uploader,
        disk_path: str,
        vault_path: str,
        expected: str,
        fid: str,
        version: int,
        st: Any,
        refs: list[chunkmod.ChunkRef],
        old: FileRecord | None,
        data: bytes = b"",
    ) -> tuple[FileRecord, list[str]]:
        """The manifest (sealed and queued) and record of a file whose chunks are queued or
        uploaded, or (``data``: a file smaller than a minimum chunk) whose bytes go inside its
        manifest; ``st`` is the file's stat while it was read."""
        from vault_core.manifest import Manifest, seal_manifest

        if data:
            manifest = Manifest.inline(bytes.fromhex(fid), version, data)
        else:
            manifest = Manifest.build(bytes.fromhex(fid), version, refs)
        content = manifest.content.hex()
        if expected.startswith(PENDING):
            # first hash of a new file: remember it, as the scan would have (written to the
            # scan cache in one transaction by flush_scans)
            self.hashed[disk_path] = content
            self._scan_rows.append((disk_path, st.st_size, st.st_mtime_ns, st.st_ino, content))
        elif content != expected:
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
            mtime=st.st_mtime_ns // 1_000_000,
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
        from vault_core.manifest import seal_manifest

        manifest = await self.fetch_manifest(source)
        fid = file_id or os.urandom(16).hex()
        version = parent_version + 1
        new_manifest = manifest.with_id(bytes.fromhex(fid), version)
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
        from vault_core.manifest import open_manifest

        try:
            blob = await self.api.blob(rec.manifest)
        except NotFound:
            raise NotFound(
                f"the manifest of {rec.path} is missing on the server (withheld or lost)"
            ) from None
        except IntegrityError as exc:
            raise IntegrityError(f"the manifest of {rec.path}: {exc.message}") from None
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

        def hand_out(helper: large_mod.Helper, n: int) -> None:
            while n > 0 and pending_large:
                a = pending_large.popleft()
                if not helper.give(helper_file(a)):
                    pending_large.appendleft(a)
                    return
                n -= 1
            if not pending_large:
                helper.end()

        async def by_helper(helper: large_mod.Helper, todo: list[Action]) -> None:
            """Large files through the helper process; whatever it did not finish, here."""
            answers: list[large_mod.FileDone] = []
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

        async def then_large(helper: large_mod.Helper) -> None:
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

        def helper_file(a: Action) -> large_mod.File:
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
    ) -> large_mod.Helper | None:
        """A helper process for the large uploads, when it pays (:mod:`vault_client.large`).
        (A name the folder refuses fails the sync when its file is handed out, as it does
        in-process.) ``first``: no blob of the account can be on the server yet, so the
        helper asks nothing (it is given no state to read)."""
        from . import large as large_mod

        total = sum(stats[a.path].size for a in big)
        spare, self._spare = self._spare, None
        if not self.api.token or not large_mod.wanted(total, others):
            if spare is not None:
                spare.stop()
            return None
        self.state.begin_uploads()  # the helper writes nothing here; committed before it sends
        return large_mod.Helper.start(
            large_mod.Job(
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
    """Fetch, verify and write every chunk in order, with a bounded window of fetches (or
    the bytes an inline manifest holds)."""
    if manifest.data is not None:
        _write_all(fd, manifest.data)
        return
    pending: list[asyncio.Task[bytes]] = []
    refs = list(manifest.chunks)
    index = 0

    def launch() -> None:
        nonlocal index
        while index < len(refs) and len(pending) < FETCH_WINDOW:
            ref = refs[index]
            limit = ref.size + chunkmod.CHUNK_OVERHEAD
            pending.append(
                asyncio.ensure_future(api.blob(ref.id, auth=auth, grant=grant, limit=limit))
            )
            index += 1

    launch()
    position = 0
    try:
        while pending:
            ref = refs[position]
            try:
                blob = await pending.pop(0)
            except NotFound:
                raise NotFound(
                    f"chunk {position + 1} of {name} is missing on the server (withheld or lost)"
                ) from None
            except IntegrityError as exc:
                raise IntegrityError(f"chunk {position + 1} of {name}: {exc.message}") from None
            try:
                plain = chunkmod.open_chunk(ref, blob)
            except IntegrityError:
                raise IntegrityError(
                    f"chunk {position + 1} of {name} failed verification "
                    "(tampered, swapped or truncated)"
                ) from None
            _write_all(fd, plain)
            position += 1
            launch()
    finally:
        for task in pending:
            task.cancel()
    if position != len(refs):
        raise IntegrityError(f"{name} is incomplete")


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def today() -> str:
    return time.strftime("%Y-%m-%d")


__all__ = ["SyncEngine", "SyncReport", "VaultError", "write_chunks"]
