"""Blob bytes as files, ``DIR/blobs/<account>/<ab>/<blob id>``, small blobs in ``small.db``.

Theory of operation
-------------------
An upload is written to a fresh file in ``DIR/blobs/.staging`` (same file system), fsynced,
then renamed onto its final name and the directory fsynced: a reader sees either no file or the
whole blob, never a prefix, even after kill -9 or power loss. Leftover staging files belong to
crashed requests and are swept at start and by GC. Writes are buffered up to 1 MiB and every
blocking call runs in a worker thread, the staging file's creation included (on the first
flush: creating a file in a directory other uploads are fsyncing can block for a while).

Small blobs (at most ``SMALL_MAX`` bytes: whole small files, file tails, manifests) never
become files: their bytes stay in the upload's buffer until published, then go into one SQLite
table (``DIR/blobs/small.db``, WAL, ``synchronous=FULL``) in one transaction per group. A file
per small blob costs a create, a write, an fsync, a rename and a directory fsync, several
hundred microseconds of kernel time each; a row costs a few microseconds and a group shares one
commit. Durability and atomicity are SQLite's: a reader sees a committed row or none. Reads,
sizes and deletes look in the table first, then for a file (a blob never changes tier once
stored, but either tier may hold a blob id).

Batches (``finish_many`` / ``publish_many``) do the same per upload in one worker thread: every
staged file is written and fsynced, then every file is renamed in order and each directory
touched is fsynced once, so a group of small blobs costs two thread hops, not two per blob.
A rename whose directory fsync failed is undone by ``discard`` (the name is ours: the row is
pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import mmap
import os
import sqlite3
import sys
import threading
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

if sys.platform != "win32":
    import fcntl

from vault_core.errors import NotFound

from .base import BlobUpload

_FLUSH = 1024 * 1024
_READ = 256 * 1024
_IOV_MAX = 512  # buffers per writev (Linux allows 1024)
# Large blobs are written with O_DIRECT where the file system allows it (Linux): straight from
# an aligned buffer to the device, in whole 4 KiB blocks, without copying every byte into the
# page cache first (measured here: the page-cache copy was most of the server's CPU time on a
# 1 GiB upload). The durability rule is unchanged: fsync before the rename.
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_ALIGN = 4096
_DIRECT_BUF = 1024 * 1024
SMALL_MAX = 64 * 1024  # blobs up to this size are rows of small.db (a full chunk is larger)
assert SMALL_MAX < _FLUSH  # a small upload never reached its staging file


class _SmallDb:
    """The small-blob table; one connection, used from worker threads under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS small (account_id INTEGER NOT NULL,"
                " blob_id TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (account_id, blob_id))"
            )
            self._db = db
        return self._db

    def insert(self, rows: Sequence[tuple[int, str, bytes]]) -> None:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO small (account_id, blob_id, data) VALUES (?,?,?)", rows
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def get(self, account_id: int, blob_id: str) -> bytes | None:
        with self._lock:
            r = (
                self._conn()
                .execute(
                    "SELECT data FROM small WHERE account_id=? AND blob_id=?", (account_id, blob_id)
                )
                .fetchone()
            )
        return None if r is None else bytes(r[0])

    def size(self, account_id: int, blob_id: str) -> int | None:
        with self._lock:
            r = (
                self._conn()
                .execute(
                    "SELECT length(data) FROM small WHERE account_id=? AND blob_id=?",
                    (account_id, blob_id),
                )
                .fetchone()
            )
        return None if r is None else int(r[0])

    def delete(self, account_id: int, blob_id: str) -> None:
        with self._lock:
            self._conn().execute(
                "DELETE FROM small WHERE account_id=? AND blob_id=?", (account_id, blob_id)
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _probe_direct(folder: Path, buffers: _AlignedBuffers) -> bool:
    probe = folder / f"probe-{os.urandom(8).hex()}"
    buf = buffers.take()
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_DIRECT, 0o600)
        try:
            _write_all(fd, memoryview(buf)[:_ALIGN])
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        return False
    finally:
        buffers.give(buf)
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return True


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _AlignedBuffers:
    """Page-aligned buffers for direct I/O, reused: a fresh buffer's first touch costs a page
    fault per 4 KiB, more than the copy it saves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[mmap.mmap] = []

    def take(self) -> mmap.mmap:
        with self._lock:
            if self._free:
                return self._free.pop()
        return mmap.mmap(-1, _DIRECT_BUF)

    def give(self, buf: mmap.mmap) -> None:
        with self._lock:
            if len(self._free) < 8:
                self._free.append(buf)
                return
        buf.close()


def _writev(fd: int, views: list[memoryview]) -> int:
    if hasattr(os, "writev"):
        return os.writev(fd, views)
    return os.write(fd, views[0])  # no writev (Windows): one buffer at a time


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileUpload:
    def __init__(self, store: FileBlobStore, account_id: int, blob_id: str) -> None:
        self._store = store
        self._small_db = store._small
        self._key = (account_id, blob_id)
        self._small = False  # decided at finish: the bytes go to small.db, not to a file
        # created on the first flush, in a worker thread: a file creation in a directory that
        # other uploads are fsyncing can block, and must not stall the event loop
        self._fd: int | None = None
        self._created = False
        # bytes written and not flushed yet, kept as given (no copy; written with writev)
        self._parts: list[bytes] = []
        self._pending = 0
        self._direct = False  # the staging file was opened with O_DIRECT
        self._tail = b""  # direct I/O: bytes after the last whole block written
        self._renamed = False
        self.published = False
        self.size = 0

    def __repr__(self) -> str:
        return f"FileUpload({self._key[1]!r}, size={self.size})"

    # paths only when the upload becomes a file (most small uploads never do)
    @functools.cached_property
    def _final(self) -> Path:
        return self._store.path(*self._key)

    @functools.cached_property
    def _tmp(self) -> Path:
        return self._store.staging / os.urandom(16).hex()

    def _open_sync(self) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        if self._store.direct_io():
            self._direct = True
            return os.open(self._tmp, flags | _O_DIRECT, 0o600)
        return os.open(self._tmp, flags, 0o600)

    def _flush_sync(self, parts: list[bytes], final: bool = False) -> None:
        if not self._created:
            self._fd = self._open_sync()
            self._created = True
        assert self._fd is not None
        if self._direct:
            self._direct_write(parts, final)
            return
        views = [memoryview(p) for p in parts if p]
        while views:
            n = _writev(self._fd, views[:_IOV_MAX])
            while views and n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            if n:
                views[0] = views[0][n:]

    def _direct_write(self, parts: list[bytes], final: bool) -> None:
        """Write whole 4 KiB blocks straight to the device (no page-cache copy), from a
        recycled aligned buffer; the remainder waits for the next flush, and the last one
        is written through the page cache after direct I/O is switched off."""
        assert self._fd is not None
        fd = self._fd
        buf = self._store._buffers.take()
        try:
            view = memoryview(buf)
            filled = len(self._tail)
            view[:filled] = self._tail
            for part in parts:
                src = memoryview(part)
                while src:
                    n = min(len(src), _DIRECT_BUF - filled)
                    view[filled : filled + n] = src[:n]
                    filled += n
                    src = src[n:]
                    if filled == _DIRECT_BUF:
                        _write_all(fd, view[:filled])
                        filled = 0
            whole = filled - filled % _ALIGN
            if whole:
                _write_all(fd, view[:whole])
            self._tail = bytes(view[whole:filled])
            view.release()
        finally:
            self._store._buffers.give(buf)
        if final and self._tail:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)
            _write_all(fd, memoryview(self._tail))
            self._tail = b""

    def _take(self) -> list[bytes]:
        parts, self._parts, self._pending = self._parts, [], 0
        return parts

    async def write(self, data: bytes) -> None:
        data = bytes(data)  # the same object when it is bytes already: no copy
        self._parts.append(data)
        self._pending += len(data)
        self.size += len(data)
        if self._pending >= _FLUSH:
            await asyncio.to_thread(self._flush_sync, self._take())

    def _finish_sync(self) -> None:
        if not self._created and self.size <= SMALL_MAX:
            self._small = True  # stays in memory until published
            return
        self._flush_sync(self._take(), final=True)
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None

    def _rename_sync(self) -> Path:
        """Rename onto the final name (not yet durable); returns the directory to fsync."""
        parent = self._final.parent
        if not parent.is_dir():
            parent.mkdir(parents=True, exist_ok=True)
            _fsync_dir(parent.parent)
            _fsync_dir(parent.parent.parent)
        os.replace(self._tmp, self._final)
        self._renamed = True
        return parent

    async def finish(self) -> None:
        await asyncio.to_thread(self._finish_sync)

    def _small_row(self) -> tuple[int, str, bytes]:
        parts = self._parts
        return self._key[0], self._key[1], parts[0] if len(parts) == 1 else b"".join(parts)

    async def publish(self) -> None:
        await asyncio.to_thread(_publish_sync, [self])

    async def discard(self) -> None:
        self._take()  # a small upload's bytes (a published row stays)

        def run() -> None:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._created:
                try:
                    os.unlink(self._tmp)
                except FileNotFoundError:
                    pass
            if self._renamed and not self.published:
                # renamed but never made durable: the final name is ours (pending row)
                try:
                    os.unlink(self._final)
                except FileNotFoundError:
                    pass
                self._renamed = False

        await asyncio.to_thread(run)


def _finish_sync(uploads: Sequence[FileUpload]) -> None:
    for up in uploads:
        up._finish_sync()


def _commit_small(rows: list[tuple[FileUpload, tuple[int, str, bytes]]]) -> None:
    if not rows:
        return
    batch = rows[:]
    rows.clear()
    batch[0][0]._small_db.insert([row for _, row in batch])
    for up, _ in batch:
        up.published = True
        up._take()


def _publish_sync(uploads: Sequence[FileUpload]) -> None:
    """Publish in order: runs of small uploads as one transaction, files by rename, then fsync
    each directory once. The uploads before a failing one are published even so (the
    exception propagates after their rows are committed and their directories synced)."""
    dirs: dict[Path, None] = {}
    renamed: list[FileUpload] = []
    rows: list[tuple[FileUpload, tuple[int, str, bytes]]] = []
    try:
        for up in uploads:
            if up._small:
                rows.append((up, up._small_row()))
                continue
            _commit_small(rows)  # keep the order: earlier small rows before this file
            dirs[up._rename_sync()] = None
            renamed.append(up)
    finally:
        try:
            _commit_small(rows)
        finally:
            for d in dirs:
                _fsync_dir(d)
            for up in renamed:
                up.published = True


def _own(uploads: Sequence[BlobUpload]) -> list[FileUpload]:
    out = []
    for up in uploads:
        if not isinstance(up, FileUpload):
            raise TypeError(f"not an upload of this store: {up!r}")
        out.append(up)
    return out


class FileBlobStore:
    """Embedded blob store on the local file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        self._small = _SmallDb(root / "small.db")
        # None: not probed yet (on the first large upload, in a worker thread)
        wanted = bool(_O_DIRECT) and os.environ.get("VAULT_DIRECT_IO", "1") != "0"
        self._direct: bool | None = None if wanted else False
        self._buffers = _AlignedBuffers()

    def direct_io(self) -> bool:
        """Whether large blobs are written with O_DIRECT: the first call writes, fsyncs and
        removes one aligned block with it in the staging folder; any error (a file system
        that refuses the flag at open or at write) means buffered writes from then on."""
        if self._direct is None:
            self._direct = _probe_direct(self.staging, self._buffers)
        return self._direct

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def path(self, account_id: int, blob_id: str) -> Path:
        # blob_id is validated by the caller (64 hex digits): it can never escape root.
        return self.root / str(int(account_id)) / blob_id[:2] / blob_id

    async def begin(self, account_id: int, blob_id: str) -> FileUpload:
        return FileUpload(self, account_id, blob_id)

    async def finish_many(self, uploads: Sequence[BlobUpload]) -> None:
        own = _own(uploads)
        if own:
            await asyncio.to_thread(_finish_sync, own)

    async def publish_many(self, uploads: Sequence[BlobUpload]) -> None:
        own = _own(uploads)
        if own:
            await asyncio.to_thread(_publish_sync, own)

    async def exists(self, account_id: int, blob_id: str) -> bool:
        return await self.size(account_id, blob_id) is not None

    async def size(self, account_id: int, blob_id: str) -> int | None:
        def run() -> int | None:
            small = self._small.size(account_id, blob_id)
            if small is not None:
                return small
            try:
                return self.path(account_id, blob_id).stat().st_size
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(run)

    async def read(self, account_id: int, blob_id: str) -> AsyncGenerator[bytes, None]:
        path = self.path(account_id, blob_id)

        def open_() -> tuple[bytes | None, Any]:
            small = self._small.get(account_id, blob_id)
            if small is not None:
                return small, None
            return None, open(path, "rb")

        try:
            small, f = await asyncio.to_thread(open_)
        except FileNotFoundError:
            raise NotFound() from None
        if small is not None:
            yield small
            return
        try:
            while True:
                chunk = await asyncio.to_thread(f.read, _READ)
                if not chunk:
                    return
                yield chunk
        finally:
            f.close()

    async def delete(self, account_id: int, blob_id: str) -> None:
        def run() -> None:
            self._small.delete(account_id, blob_id)
            try:
                os.unlink(self.path(account_id, blob_id))
            except FileNotFoundError:
                pass

        await asyncio.to_thread(run)

    async def sweep_staging(self, older_than: int) -> int:
        def run() -> int:
            removed = 0
            for entry in os.scandir(self.staging):
                try:
                    if entry.stat().st_mtime <= older_than:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
            return removed

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        await asyncio.to_thread(self._small.close)
