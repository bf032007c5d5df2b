"""Choosing and opening the storage backends named by a :class:`StorageConfig`.

``sqlite`` + ``file`` is the embedded installation (one process owns ``DATA``);
``postgresql`` metadata makes an installation *shared*: several processes may serve it, so
start-up recovery must leave other processes' uploads alone, the server secret lives in the
database, and change events are relayed between processes (LISTEN/NOTIFY).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config import StorageConfig
from .base import BlobStore, MetadataStore
from .file_blobs import FileBlobStore
from .sqlite_meta import SqliteMetadataStore
from .urls import StorageError


class StorageConfigError(StorageError, ValueError):
    """A storage URL or combination that cannot work (the message is safe to show)."""


@dataclass
class Stores:
    meta: MetadataStore
    blobs: BlobStore
    shared: bool


def _file_url_path(url: str, kind: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise StorageConfigError(f"{kind} URL must look like {parts.scheme}:///absolute/path")
    return Path(unquote(parts.path))


def metadata_kind(url: str | None) -> str:
    if not url:
        return "sqlite"
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise StorageConfigError("metadata URL must start with postgresql:// or sqlite:///")


def blobs_kind(url: str | None) -> str:
    if not url:
        return "file"
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("s3", "file"):
        return scheme
    raise StorageConfigError("blobs URL must start with s3:// or file:///")


def check(storage: StorageConfig, data_dir: Path | None) -> None:
    """Refuse unknown URL kinds and a missing data directory before anything is opened."""
    metadata_kind(storage.metadata)
    blobs_kind(storage.blobs)
    if data_dir is None and (metadata_kind(storage.metadata) != "postgresql" or not storage.blobs):
        raise StorageConfigError(
            "--data is required unless --metadata names a PostgreSQL database and --blobs"
            " names where blobs live"
        )


async def open_metadata(storage: StorageConfig, data_dir: Path | None) -> MetadataStore:
    if metadata_kind(storage.metadata) == "postgresql":
        from .postgres import PostgresMetadataStore

        assert storage.metadata is not None
        try:
            return await PostgresMetadataStore.connect(storage.metadata)
        except ValueError as e:
            raise StorageConfigError(f"metadata URL: {e}") from None
    if storage.metadata:
        path = _file_url_path(storage.metadata, "metadata")
    else:
        assert data_dir is not None
        path = data_dir / "vault.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteMetadataStore(path)


async def open_blobs(storage: StorageConfig, data_dir: Path | None) -> BlobStore:
    if blobs_kind(storage.blobs) == "s3":
        from .s3_blobs import S3BlobStore, parse_s3_url

        assert storage.blobs is not None
        try:
            target = parse_s3_url(storage.blobs, storage.s3_access_key, storage.s3_secret_key)
        except ValueError as e:
            raise StorageConfigError(f"blobs URL: {e}") from None
        return await S3BlobStore.open(target)
    if storage.blobs:
        root = _file_url_path(storage.blobs, "blobs")
    else:
        assert data_dir is not None
        root = data_dir / "blobs"
    return FileBlobStore(root)


async def open_stores(storage: StorageConfig, data_dir: Path | None) -> Stores:
    check(storage, data_dir)
    meta = await open_metadata(storage, data_dir)
    try:
        blobs = await open_blobs(storage, data_dir)
    except BaseException:
        await meta.close()
        raise
    return Stores(meta, blobs, shared=metadata_kind(storage.metadata) == "postgresql")
