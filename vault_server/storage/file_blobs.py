"""Blob bytes in ``DIR/blobs``: rows of ``small.db``, slices of pack files, or a file each.

Theory of operation
-------------------
Three tiers, chosen when an upload finishes; a blob never changes tier once stored (repacking
moves a packed blob to another pack), and reads, sizes and deletes look in ``small.db`` first
(small rows, then the pack index), then for a file.

* **Small blobs** (at most ``SMALL_MAX`` bytes: whole small files, file tails, manifests) stay
  in the upload's buffer until published, then go into one SQLite table (``small`` of
  ``DIR/blobs/small.db``, WAL, ``synchronous=FULL``) in one transaction per group. A file per
  small blob costs a create, a write, an fsync, a rename and a directory fsync, several hundred
  microseconds of kernel time each; a row costs a few microseconds and a group shares one
  commit. Durability and atomicity are SQLite's: a reader sees a committed row or none.
* **Packed blobs**: the larger uploads of one group that are still in memory when the group
  finishes (every chunk: a record is read whole, up to ``_FLUSH``) are written back to back
  into one new pack file ``DIR/blobs/packs/<ab>/<name>``, fsynced with its directory; publishing
  inserts one index row per blob (``packed``: pack, offset, length) in the same transaction as
  the group's small rows. A reader sees the index row (and the pack, durable before it) or
  nothing. An 8 MiB group of 256 KiB chunks costs one file creation and one fsync instead of
  32 of each (file creation was most of the server's kernel time on a 1 GiB upload).
* **Files**: an upload that grew past ``_FLUSH`` before finishing (a large single PUT) is
  streamed to a file in ``DIR/blobs/.staging`` (same file system), fsynced, renamed onto
  ``DIR/blobs/<account>/<ab>/<blob id>`` and the directory fsynced: a reader sees no file or the
  whole blob, even after kill -9 or power loss.

Large writes (files and packs) use O_DIRECT where the file system allows it (probed once): whole
4 KiB blocks go straight from a recycled aligned buffer to the device without a page-cache copy;
the tail goes through the page cache. The durability rule is unchanged: fsync before the blob
becomes visible.

Space and crashes. A pack is never written again once fsynced. A pack with no index row (its
uploads discarded, a crash before the index commit, or every blob deleted) is removed by the
sweep once older than the sweep's horizon, or at once when the last upload of a pack this
process wrote is discarded; a delete that leaves an old pack empty removes it. ``sweep_staging``
also *repacks*: a pack older than the horizon whose live blobs fill less than half of it has
them copied into a new pack (fsynced) and their index rows moved in one transaction; the old
pack, empty, goes at the next sweep. Leftover staging files belong to crashed requests and
are swept at start and by GC. Every blocking call runs in a worker thread.

Batches (``finish_many`` / ``publish_many``) handle a group in one worker thread each way:
files are fsynced, the group's pack written and fsynced; then, in order, runs of rows are
committed and files renamed, and each directory touched is fsynced once. A rename whose
directory fsync failed is undone by ``discard`` (the name is ours: the row is pending).
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
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

if sys.platform != "win32":
    import fcntl

from vault_core.errors import NotFound

from .base import STALE_UPLOAD, BlobUpload
from .migrations import immediate

T = TypeVar("T")

_FLUSH = 2 * 1024 * 1024  # an upload's bytes stay in memory up to this (a chunk record fits)
_READ = 256 * 1024
_IOV_MAX = 512  # buffers per writev (Linux allows 1024)
# Large blobs are written with O_DIRECT where the file system allows it (Linux): straight from
# an aligned buffer to the device, in whole 4 KiB blocks, without copying every byte into the
# page cache first (measured here: the page-cache copy was most of the server's CPU time on a
# 1 GiB upload). The durability rule is unchanged: fsync before the blob is visible.
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_ALIGN = 4096
_DIRECT_BUF = 1024 * 1024
SMALL_MAX = 64 * 1024  # blobs up to this size are rows of small.db (a full chunk is larger)
assert SMALL_MAX < _FLUSH  # a small upload never reached its staging file
PACKS = "packs"  # DIR/blobs/packs/<ab>/<pack name>
REPACK_BELOW = 0.5  # an old pack whose live blobs fill less than this share is rewritten

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS small (account_id INTEGER NOT NULL, blob_id TEXT NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY (account_id, blob_id))",
    "CREATE TABLE IF NOT EXISTS packed (account_id INTEGER NOT NULL, blob_id TEXT NOT NULL,"
    " pack TEXT NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, blob_id))",
    "CREATE INDEX IF NOT EXISTS packed_by_pack ON packed (pack)",
)

_DATA_OF_SMALL = "SELECT data FROM small WHERE account_id=? AND blob_id=?"
_SIZE_OF_SMALL = "SELECT length(data) FROM small WHERE account_id=? AND blob_id=?"

Buf = bytes | memoryview  # bytes of an upload, kept as received
SmallRow = tuple[int, str, bytes]
PackedRow = tuple[int, str, str, int, int]  # account, blob id, pack, offset, length
Where = bytes | tuple[str, int, int] | None  # small bytes, (pack, offset, length), or neither


class _SmallDb:
    """``small.db``: the small-blob table and the pack index; one connection, used from worker
    threads under a lock."""

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
            for statement in _SCHEMA:
                db.execute(statement)
            self._db = db
        return self._db

    def _tx(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return immediate(self._conn(), work)

    def insert(self, small: Sequence[SmallRow], packed: Sequence[PackedRow] = ()) -> None:
        def work(db: sqlite3.Connection) -> None:
            if small:
                db.executemany(
                    "INSERT OR REPLACE INTO small (account_id, blob_id, data) VALUES (?,?,?)",
                    small,
                )
            if packed:
                db.executemany(
                    "INSERT OR REPLACE INTO packed (account_id, blob_id, pack, off, len)"
                    " VALUES (?,?,?,?,?)",
                    packed,
                )

        self._tx(work)

    def locate(self, account_id: int, blob_id: str, size_only: bool = False) -> Where | int:
        """The blob's bytes (or size, with ``size_only``) if it is a row, its place if it is
        packed, None otherwise."""
        key = (account_id, blob_id)
        small = _SIZE_OF_SMALL if size_only else _DATA_OF_SMALL
        with self._lock:
            db = self._conn()
            r = db.execute(small, key).fetchone()
            if r is not None:
                return int(r[0]) if size_only else bytes(r[0])
            r = db.execute(
                "SELECT pack, off, len FROM packed WHERE account_id=? AND blob_id=?", key
            ).fetchone()
        if r is None:
            return None
        return int(r[2]) if size_only else (str(r[0]), int(r[1]), int(r[2]))

    def delete(self, account_id: int, blob_id: str) -> str | None:
        """Delete the blob's row (either table); the pack it leaves empty, if any."""
        key = (account_id, blob_id)

        def work(db: sqlite3.Connection) -> str | None:
            db.execute("DELETE FROM small WHERE account_id=? AND blob_id=?", key)
            r = db.execute(
                "SELECT pack FROM packed WHERE account_id=? AND blob_id=?", key
            ).fetchone()
            if r is None:
                return None
            db.execute("DELETE FROM packed WHERE account_id=? AND blob_id=?", key)
            left = db.execute("SELECT 1 FROM packed WHERE pack=? LIMIT 1", (r[0],)).fetchone()
            return None if left is not None else str(r[0])

        return self._tx(work)

    def live_bytes(self) -> dict[str, int]:
        """Bytes of live blobs per pack that has any."""
        with self._lock:
            rows = self._conn().execute("SELECT pack, SUM(len) FROM packed GROUP BY pack")
            return {str(p): int(n) for p, n in rows}

    def in_pack(self, pack: str) -> list[PackedRow]:
        with self._lock:
            rows = self._conn().execute(
                "SELECT account_id, blob_id, pack, off, len FROM packed WHERE pack=? ORDER BY off",
                (pack,),
            )
            return [(int(a), str(b), str(p), int(o), int(n)) for a, b, p, o, n in rows]

    def move(self, old: str, rows: Sequence[PackedRow]) -> None:
        """Point the given blobs (still in pack ``old``) at their new places, in one
        transaction; a blob deleted meanwhile stays deleted."""

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE packed SET pack=?, off=?, len=? WHERE account_id=? AND blob_id=?"
                " AND pack=?",
                [(p, o, n, a, b, old) for a, b, p, o, n in rows],
            )

        self._tx(work)

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


def _direct_write(
    fd: int, buffers: _AlignedBuffers, tail: bytes, parts: Sequence[Buf], final: bool
) -> bytes:
    """Write ``tail`` + ``parts`` to an O_DIRECT ``fd`` in whole 4 KiB blocks from a recycled
    aligned buffer; returns the bytes after the last whole block. With ``final`` those are
    written too, through the page cache (direct I/O switched off on ``fd``)."""
    buf = buffers.take()
    try:
        view = memoryview(buf)
        filled = len(tail)
        view[:filled] = tail
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
        tail = bytes(view[whole:filled])
        view.release()
    finally:
        buffers.give(buf)
    if final and tail:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)
        _write_all(fd, memoryview(tail))
        tail = b""
    return tail


def _buffered_write(fd: int, parts: Sequence[Buf]) -> None:
    views = [memoryview(p) for p in parts if p]
    while views:
        n = _writev(fd, views[:_IOV_MAX])
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if n:
            views[0] = views[0][n:]


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


def _make_dir(path: Path) -> None:
    """Create ``path`` (two levels at most are new here) and make the new entries durable."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    _fsync_dir(path.parent)
    _fsync_dir(path.parent.parent)


class FileUpload:
    def __init__(self, store: FileBlobStore, account_id: int, blob_id: str) -> None:
        self._store = store
        self._key = (account_id, blob_id)
        self._small = False  # decided at finish: the bytes go to small.db, not to a file
        self._pack: str | None = None  # decided at finish: the bytes are in this pack
        self._off = 0
        # created on the first flush, in a worker thread: a file creation in a directory that
        # other uploads are fsyncing can block, and must not stall the event loop
        self._fd: int | None = None
        self._created = False
        # bytes written and not flushed yet, kept as given (no copy; written with writev)
        self._parts: list[Buf] = []
        self._pending = 0
        self._direct = False  # the staging file was opened with O_DIRECT
        self._tail = b""  # direct I/O: bytes after the last whole block written
        self._renamed = False
        self._discarded = False
        self.published = False
        self.size = 0

    def __repr__(self) -> str:
        return f"FileUpload({self._key[1]!r}, size={self.size})"

    # paths only when the upload becomes a file (most uploads never do)
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

    def _flush_sync(self, parts: list[Buf], final: bool = False) -> None:
        if not self._created:
            self._fd = self._open_sync()
            self._created = True
        assert self._fd is not None
        if self._direct:
            self._tail = _direct_write(self._fd, self._store._buffers, self._tail, parts, final)
        else:
            _buffered_write(self._fd, parts)

    def _take(self) -> list[Buf]:
        parts, self._parts, self._pending = self._parts, [], 0
        return parts

    async def write(self, data: bytes | memoryview) -> None:
        if type(data) is not memoryview:
            data = bytes(data)  # the same object when it is bytes already: no copy
        self._parts.append(data)
        self._pending += len(data)
        self.size += len(data)
        if self._pending >= _FLUSH:
            await asyncio.to_thread(self._flush_sync, self._take())

    def _finish_file(self) -> None:
        self._flush_sync(self._take(), final=True)
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None

    def _rename_sync(self) -> Path:
        """Rename onto the final name (not yet durable); returns the directory to fsync."""
        parent = self._final.parent
        _make_dir(parent)
        os.replace(self._tmp, self._final)
        self._renamed = True
        return parent

    async def finish(self) -> None:
        await asyncio.to_thread(_finish_sync, self._store, [self])

    def _row(self) -> Row:
        """The row of small.db this upload becomes: small bytes, or its place in its pack."""
        if self._small:
            parts = self._parts
            return self, (*self._key, b"".join(parts)), None
        assert self._pack is not None
        return self, None, (*self._key, self._pack, self._off, self.size)

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
            if self._pack is not None and not self.published and not self._discarded:
                self._discarded = True
                self._store._settled(self._pack, published=False)

        await asyncio.to_thread(run)


def _finish_sync(store: FileBlobStore, uploads: Sequence[FileUpload]) -> None:
    """Files are flushed and fsynced; small uploads stay in memory; the others (in memory,
    larger than SMALL_MAX) are written into one new pack, fsynced with its directory."""
    packing: list[FileUpload] = []
    for up in uploads:
        if up._created:
            up._finish_file()
        elif up.size <= SMALL_MAX:
            up._small = True  # stays in memory until published
        else:
            packing.append(up)
    if packing:
        store._write_pack(packing)


Row = tuple[FileUpload, SmallRow | None, PackedRow | None]


def _commit_rows(rows: list[Row]) -> None:
    if not rows:
        return
    batch = rows[:]
    rows.clear()
    small = [r for _, r, _ in batch if r is not None]
    packed = [r for _, _, r in batch if r is not None]
    batch[0][0]._store._small.insert(small, packed)
    for up, _, _ in batch:
        up.published = True
        up._take()
        if up._pack is not None:
            up._store._settled(up._pack, published=True)


def _publish_sync(uploads: Sequence[FileUpload]) -> None:
    """Publish in order: runs of rows (small and packed) as one transaction, files by rename,
    then fsync each directory once. The uploads before a failing one are published even so
    (the exception propagates after their rows are committed and their directories synced)."""
    dirs: dict[Path, None] = {}
    renamed: list[FileUpload] = []
    rows: list[Row] = []
    try:
        for up in uploads:
            if up._small or up._pack is not None:
                rows.append(up._row())
                continue
            _commit_rows(rows)  # keep the order: earlier rows before this file
            dirs[up._rename_sync()] = None
            renamed.append(up)
    finally:
        try:
            _commit_rows(rows)
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
        self.packs = root / PACKS
        self._small = _SmallDb(root / "small.db")
        # None: not probed yet (on the first large upload, in a worker thread)
        wanted = bool(_O_DIRECT) and os.environ.get("VAULT_DIRECT_IO", "1") != "0"
        self._direct: bool | None = None if wanted else False
        self._buffers = _AlignedBuffers()
        # packs written by this process with uploads neither published nor discarded yet
        # (never removed as empty), and whether any of their uploads was published
        self._packs_lock = threading.Lock()
        self._open_packs: dict[str, list[int]] = {}  # name -> [unsettled, published]

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

    def pack_path(self, pack: str) -> Path:
        # pack names are ours (32 hex digits)
        return self.packs / pack[:2] / pack

    # -- packs ------------------------------------------------------------------------------

    def _new_pack(self, parts: Sequence[Buf]) -> str:
        """Write ``parts`` back to back into a new pack, durable (file and directory fsynced)
        before this returns; its name."""
        name = os.urandom(16).hex()
        path = self.pack_path(name)
        _make_dir(path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        direct = self.direct_io()
        fd = os.open(path, flags | _O_DIRECT if direct else flags, 0o600)
        try:
            try:
                if direct:
                    _direct_write(fd, self._buffers, b"", parts, final=True)
                else:
                    _buffered_write(fd, parts)
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        return name

    def _write_pack(self, uploads: Sequence[FileUpload]) -> None:
        parts: list[Buf] = []
        offsets: list[int] = []
        off = 0
        for up in uploads:
            offsets.append(off)
            parts.extend(up._parts)
            off += up.size
        name = self._new_pack(parts)
        with self._packs_lock:
            self._open_packs[name] = [len(uploads), 0]
        for up, at in zip(uploads, offsets, strict=True):
            up._pack, up._off = name, at

    def _settled(self, pack: str, published: bool) -> None:
        """One upload of ``pack`` was published or discarded; a pack whose uploads were all
        discarded is removed (no index row can name it)."""
        with self._packs_lock:
            state = self._open_packs.get(pack)
            if state is None:
                return
            state[0] -= 1
            state[1] += int(published)
            if state[0] > 0:
                return
            del self._open_packs[pack]
            empty = state[1] == 0
        if empty:
            with contextlib.suppress(OSError):
                os.unlink(self.pack_path(pack))

    def _removable(self, pack: str, older_than: float, st: os.stat_result | None = None) -> bool:
        """A pack no upload of this process still needs, last written before ``older_than``
        (``st``: its stat, if the caller has it)."""
        with self._packs_lock:
            if pack in self._open_packs:
                return False
        try:
            return (st or self.pack_path(pack).stat()).st_mtime <= older_than
        except FileNotFoundError:
            return False

    def _repack(self, pack: str) -> None:
        """Copy the live blobs of ``pack`` into a new pack and point their rows at it. The old
        pack, now empty, is removed by the next sweep: a backup that copied small.db before
        the move still finds it while it copies the packs (DEPLOYMENT.md)."""
        rows = self._small.in_pack(pack)
        datas: list[bytes] = []
        with open(self.pack_path(pack), "rb") as f:
            for _, _, _, off, n in rows:
                f.seek(off)
                datas.append(f.read(n))
                if len(datas[-1]) != n:
                    raise OSError(f"pack {pack} is shorter than its index")
        new = self._new_pack(datas)
        moved: list[PackedRow] = []
        at = 0
        for a, b, _, _, n in rows:
            moved.append((a, b, new, at, n))
            at += n
        self._small.move(pack, moved)

    def _sweep_packs(self, older_than: int, repack: bool) -> int:
        """Remove packs without a live blob and (``repack``) repack mostly dead ones, both
        only when older than ``older_than`` and not in use by this process; how many were
        removed."""
        if not self.packs.is_dir():
            return 0
        live = self._small.live_bytes()
        removed = 0
        for sub in os.scandir(self.packs):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                name = entry.name
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                if not self._removable(name, older_than, st):
                    continue
                if name not in live:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
                elif repack and live[name] < st.st_size * REPACK_BELOW:
                    # (a GC of another process may empty and remove it meanwhile)
                    with contextlib.suppress(FileNotFoundError):
                        self._repack(name)
        return removed

    # -- the BlobStore interface ---------------------------------------------------------------

    async def begin(self, account_id: int, blob_id: str) -> FileUpload:
        return FileUpload(self, account_id, blob_id)

    async def finish_many(self, uploads: Sequence[BlobUpload]) -> None:
        own = _own(uploads)
        if own:
            await asyncio.to_thread(_finish_sync, self, own)

    async def publish_many(self, uploads: Sequence[BlobUpload]) -> None:
        own = _own(uploads)
        if own:
            await asyncio.to_thread(_publish_sync, own)

    async def exists(self, account_id: int, blob_id: str) -> bool:
        return await self.size(account_id, blob_id) is not None

    async def size(self, account_id: int, blob_id: str) -> int | None:
        def run() -> int | None:
            n = self._small.locate(account_id, blob_id, size_only=True)
            if n is not None:
                assert isinstance(n, int)
                return n
            try:
                return self.path(account_id, blob_id).stat().st_size
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(run)

    def _open(self, account_id: int, blob_id: str) -> tuple[bytes | None, Any, int]:
        """(small bytes, None, 0) or (None, open file positioned at the blob, its length)."""
        for _ in range(3):  # a repack may move a packed blob between the lookup and the open
            where = self._small.locate(account_id, blob_id)
            if isinstance(where, bytes):
                return where, None, 0
            if where is None:
                f = open(self.path(account_id, blob_id), "rb")  # closed by read()
                return None, f, os.fstat(f.fileno()).st_size
            assert isinstance(where, tuple)
            pack, off, size = where
            try:
                f = open(self.pack_path(pack), "rb")  # closed by read()
            except FileNotFoundError:
                continue
            f.seek(off)
            return None, f, size
        raise FileNotFoundError(blob_id)

    async def read(self, account_id: int, blob_id: str) -> AsyncGenerator[bytes, None]:
        try:
            small, f, size = await asyncio.to_thread(self._open, account_id, blob_id)
        except FileNotFoundError:
            raise NotFound() from None
        if small is not None:
            yield small
            return
        try:
            left = size
            while left:
                chunk = await asyncio.to_thread(f.read, min(_READ, left))
                if not chunk:
                    raise OSError(f"blob {blob_id} is shorter than recorded")
                left -= len(chunk)
                yield chunk
        finally:
            f.close()

    async def delete(self, account_id: int, blob_id: str) -> None:
        def run() -> None:
            empty = self._small.delete(account_id, blob_id)
            # a pack left empty goes at once only if older than STALE_UPLOAD: a younger one may
            # be one another process (a CLI GC beside the server) is still publishing into
            if empty is not None and self._removable(empty, time.time() - STALE_UPLOAD):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.pack_path(empty))
            try:
                os.unlink(self.path(account_id, blob_id))
            except FileNotFoundError:
                pass

        await asyncio.to_thread(run)

    async def sweep_staging(self, older_than: int, repack: bool = True) -> int:
        """Remove staging files older than ``older_than`` (crashed requests), packs without a
        live blob, and (``repack``) repack packs mostly dead, both last written before
        ``older_than``."""

        def run() -> int:
            removed = 0
            for entry in os.scandir(self.staging):
                try:
                    if entry.stat().st_mtime <= older_than:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
            return removed + self._sweep_packs(older_than, repack)

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        await asyncio.to_thread(self._small.close)
