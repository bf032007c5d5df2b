"""The chunking and sealing pipeline, and the files it reads.

Theory of operation
-------------------
:class:`ChunkPipeline` is read → FastCDC → SHA-256 and keyed id/key → seal, on a small pool
of threads: the file is read in large blocks (``READ_BLOCK``) one block ahead of the caller,
cut with the vault's chunker, and its chunks hashed (and sealed) in jobs of about
``JOB_BYTES`` on worker threads; hashlib, the chunker and the AEAD release the GIL, so the
reading, cutting, hashing, sealing and the uploading on the event loop run in parallel, with
bounded memory. The scan uses :meth:`ChunkPipeline.hash_stream` (refs only), an upload
:meth:`ChunkPipeline.seal_stream` (refs and ready-to-send batch records, see
:mod:`.uploader`).

A file is read only if it is the one the scan saw (:func:`opened_as_seen`: same size, mtime
and inode, not written to while read; else :class:`ContentChanged`). :func:`queue_chunks`
cuts it again and queues the chunks the uploader needs; :func:`queue_scanned_chunks`, for a
changed file the scan cut already, reads again by offset only the chunks the server lacks
(at most ``RESEAL_BYTES``), each checked against its ref.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from vault_core import chunks as chunkmod

from .common import ContentChanged, _done
from .uploader import Uploader, seal_record

READ_BLOCK = 8 * 1024 * 1024  # bytes read at once by the chunking pipeline
INLINE_CHUNK = 64 * 1024  # smaller jobs are hashed/sealed on the calling thread
JOB_BYTES = 2 * 1024 * 1024  # chunks hashed or sealed by one worker job
# A changed file's chunk refs from the scan are used for its upload when the chunks the
# server lacks come to at most RESEAL_BYTES (see scan.KEEP_REFS); else the upload cuts it again.
RESEAL_BYTES = 64 * 1024 * 1024
RESEAL_WINDOW = 4  # chunks read and sealed at once (on the pipeline's workers)


class Readable(Protocol):
    def readinto(self, b: memoryview, /) -> int | None: ...

    def fileno(self) -> int: ...


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
