"""Sealed blobs to the server in batches: the batch record format and the uploader.

Theory of operation
-------------------
A batch body (``POST /v1/blobs/batch``) is a run of records ``u8 idlen | id | u32 len |
blob``. A chunk is sealed straight into its record (:func:`seal_record`: no copy of the
plaintext nor of the ciphertext), a manifest is copied into one (:func:`blob_record`).

:class:`Uploader` collects records across files and sends a batch as soon as it is full
(``BATCH_BYTES`` or ``BATCH_COUNT``), while the chunk pipeline (:mod:`.pipeline`) keeps
sealing the next one, with at most ``UPLOADS_IN_FLIGHT`` batches on the wire. Each batch
first asks the server which of its blobs are missing ("which are missing?" first, so a
resumed sync uploads nothing twice), then sends only those. A blob is recorded as known
only once the server has answered, and nothing is appended to the log before
:meth:`Uploader.flush` has seen every batch through. The helper process (:mod:`.helper`)
runs this same class, over a read-only view of the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vault_core import chunks as chunkmod

if TYPE_CHECKING:
    from ..api import Api
    from ..state import State

BATCH_BYTES = 8 * 1024 * 1024  # one /v1/blobs/batch body (server limit: 32 MiB)
BATCH_COUNT = 1000  # records per batch body (server limit: 1000)
UPLOADS_IN_FLIGHT = 4  # batch bodies being sent while the pipeline goes on
_RECORD_HEAD = struct.Struct(">B64sI")  # batch upload record: idlen | id | blob length


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
