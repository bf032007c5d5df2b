"""A local file, or an existing record, made into sealed blobs and a new record.

Theory of operation
-------------------
:meth:`PublishMixin.build_upload` opens the file the scan saw (:func:`.opened_as_seen`: a
file gone, replaced or written to while read raises ContentChanged, and is left for the next
sync), and queues its chunks on the :class:`.uploader.Uploader`: the chunks the server
lacks of a changed file the scan cut already, else the whole file through the pipeline; a
file smaller than a minimum chunk is read in one go and its bytes go inside its manifest
(one blob instead of two). :meth:`PublishMixin.record_for` seals and queues the manifest
under a fresh file key and makes the record (its type and certificate carried over from the
version it replaces); the content found must be the one the plan expected, or, for
a new file the scan did not hash, it is remembered as its scan result (written by
:meth:`PublishMixin.flush_scans`). :meth:`PublishMixin.republish` gives the content of an
existing record a new path or version without reading it again (conflict copies made on the
remote side, history restores). Nothing is appended to the log here: records go back to the
caller, which appends them once their blobs are on the server.
"""

from __future__ import annotations

import os
from typing import Any

from vault_core import chunks as chunkmod
from vault_core.log import FileRecord

from ..folder import LocalFile
from .common import PENDING, ContentChanged
from .download import DownloadMixin
from .pipeline import ChunkPipeline, opened_as_seen, queue_chunks, queue_scanned_chunks
from .uploader import Uploader


class PublishMixin(DownloadMixin):
    """The upload part of :class:`~.engine.SyncEngine` (which sets these attributes)."""

    pipeline: ChunkPipeline
    hashed: dict[str, str]
    _scan_rows: list[tuple[str, int, int, int, str]]
    _scanned: dict[str, list[chunkmod.ChunkRef]]

    def flush_scans(self) -> None:
        """Write the scan-cache rows found while uploading, in one transaction."""
        rows, self._scan_rows = self._scan_rows, []
        if rows:
            self.state.set_scans(rows)

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
