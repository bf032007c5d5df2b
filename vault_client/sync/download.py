"""The download side: fetch and verify a manifest and its chunks, into the folder.

Theory of operation
-------------------
A file is downloaded only after the server confirmed the sync's own appends (the local side
of a plan comes last), and only where the target still holds what the plan expected (both
checked by :mod:`.apply`). Its manifest is fetched and opened under the key of its record,
and must commit to the record's content and size (:meth:`DownloadMixin.fetch_manifest`);
then :func:`write_chunks` fetches its chunks with a bounded window of requests
(``FETCH_WINDOW``), verifies each one (AEAD and content hash) and writes them in order into a
temp file inside the folder, which is fsynced and renamed into place
(:meth:`vault_client.folder.Folder.install`). A chunk that is missing, tampered with, swapped
or cut short fails the download (IntegrityError, NotFound) before a byte of that file reaches
its place. Shares use :func:`write_chunks` too, with a grant.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Any

from vault_core import chunks as chunkmod
from vault_core.errors import IntegrityError, NotFound
from vault_core.log import FileRecord

from ..api import Api
from ..folder import Folder
from ..state import State

if TYPE_CHECKING:
    from vault_core.manifest import Manifest

FETCH_WINDOW = 8  # chunk fetches in flight


class DownloadMixin:
    """The download part of :class:`~.engine.SyncEngine` (which sets these attributes)."""

    api: Api
    folder: Folder
    state: State

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
