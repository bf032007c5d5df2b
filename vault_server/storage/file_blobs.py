"""Blob bytes as files: ``DIR/blobs/<account>/<ab>/<blob id>``.

Theory of operation
-------------------
An upload is written to a fresh file in ``DIR/blobs/.staging`` (same file system), fsynced,
then renamed onto its final name and the directory fsynced: a reader sees either no file or the
whole blob, never a prefix, even after kill -9 or power loss. Leftover staging files belong to
crashed requests and are swept at start and by GC. Writes are buffered up to 1 MiB and every
blocking call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from pathlib import Path

from vault_core.errors import NotFound

_FLUSH = 1024 * 1024
_READ = 256 * 1024


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileUpload:
    def __init__(self, staging: Path, final: Path) -> None:
        self._final = final
        self._tmp = staging / os.urandom(16).hex()
        self._fd: int | None = os.open(
            self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
        )
        self._buf = bytearray()
        self.size = 0

    def __repr__(self) -> str:
        return f"FileUpload({self._final.name!r}, size={self.size})"

    def _flush_sync(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    async def write(self, data: bytes) -> None:
        self._buf += data
        self.size += len(data)
        if len(self._buf) >= _FLUSH:
            chunk, self._buf = bytes(self._buf), bytearray()
            await asyncio.to_thread(self._flush_sync, chunk)

    async def finish(self) -> None:
        chunk, self._buf = bytes(self._buf), bytearray()

        def run() -> None:
            self._flush_sync(chunk)
            assert self._fd is not None
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

        await asyncio.to_thread(run)

    async def publish(self) -> None:
        def run() -> None:
            parent = self._final.parent
            if not parent.is_dir():
                parent.mkdir(parents=True, exist_ok=True)
                _fsync_dir(parent.parent)
                _fsync_dir(parent.parent.parent)
            os.replace(self._tmp, self._final)
            _fsync_dir(parent)

        await asyncio.to_thread(run)

    async def discard(self) -> None:
        def run() -> None:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass

        await asyncio.to_thread(run)


class FileBlobStore:
    """Embedded blob store on the local file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".staging"
        self.staging.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def path(self, account_id: int, blob_id: str) -> Path:
        # blob_id is validated by the caller (64 hex digits): it can never escape root.
        return self.root / str(int(account_id)) / blob_id[:2] / blob_id

    async def begin(self, account_id: int, blob_id: str) -> FileUpload:
        return FileUpload(self.staging, self.path(account_id, blob_id))

    async def exists(self, account_id: int, blob_id: str) -> bool:
        return await asyncio.to_thread(self.path(account_id, blob_id).is_file)

    async def size(self, account_id: int, blob_id: str) -> int | None:
        def run() -> int | None:
            try:
                return self.path(account_id, blob_id).stat().st_size
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(run)

    async def read(self, account_id: int, blob_id: str) -> AsyncGenerator[bytes, None]:
        path = self.path(account_id, blob_id)
        try:
            f = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise NotFound() from None
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
        return None
