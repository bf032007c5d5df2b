"""Blob bytes in an S3-compatible object store (Ceph RGW, MinIO, Garage, AWS S3...).

Theory of operation
-------------------
Object key: ``<prefix><account id>/<first two hex digits>/<blob id>`` in one bucket, so
accounts never share an object. An upload is spooled (in memory up to 1 MiB, then in a
temporary file of this process) while its MD5 is computed; ``publish`` sends it in one PUT
with ``Content-MD5`` (the store rejects a body damaged in transit) and ``If-None-Match: *``:
S3 makes an object visible whole or not at all, and the condition means an existing object is
**never overwritten**. Blobs are at most 8 MiB, so one PUT per blob (no multipart upload that
could be left half-done).

A 412 (the key exists) can only come from an orphan: the metadata row for this id is ours
(``pending``, see routes_blobs.py), so no visible blob owns the key; the orphan is what a PUT
left when its request failed after the store had saved it. If its ETag is the MD5 of our bytes
it *is* our blob and publishing succeeds; otherwise it is removed and the conditional PUT is
tried once more. Stores that ignore ``If-None-Match`` stay correct for the same reason.

``publish_many`` sends the PUTs of a group concurrently (at most ``_PUT_PARALLEL`` at once);
when one fails, any later one that landed is deleted again, so exactly the uploads before the
failing one are published, as with a sequential loop. ``finish_many`` has nothing to do.

Nothing is staged in the bucket, so ``sweep_staging`` has nothing to do: spool files belong to
their request and are closed with it. Credentials come from the configuration (never from the
URL) or from the standard AWS chain; they are never logged or shown in a repr.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import tempfile
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from vault_core.errors import NotFound

from .base import BlobUpload

_SPOOL = 1024 * 1024
_READ = 256 * 1024
_PUT_PARALLEL = 8
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


@dataclass(frozen=True)
class S3Target:
    """``s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME&create=1&addressing=path``"""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    create_bucket: bool = True
    addressing: str = "path"
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The URL without credentials (safe to log)."""
        q = f"?endpoint={self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{q}"


def parse_s3_url(
    url: str, access_key: str | None = None, secret_key: str | None = None
) -> S3Target:
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ValueError("blobs URL must start with s3:// (or file://)")
    if "@" in parts.netloc:
        raise ValueError(
            "do not put S3 credentials in the URL: use VAULT_S3_ACCESS_KEY / VAULT_S3_SECRET_KEY,"
            " the config file, or the standard AWS variables"
        )
    bucket = parts.netloc
    if not bucket:
        raise ValueError("s3:// URL needs a bucket name")
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    q = dict(parse_qsl(parts.query))
    unknown = set(q) - {"endpoint", "region", "create", "addressing"}
    if unknown:
        raise ValueError(f"unknown s3:// parameters: {', '.join(sorted(unknown))}")
    addressing = q.get("addressing", "path")
    if addressing not in ("path", "virtual", "auto"):
        raise ValueError("addressing must be path, virtual or auto")
    return S3Target(
        bucket=bucket,
        prefix=prefix,
        endpoint=q.get("endpoint") or None,
        region=q.get("region") or None,
        create_bucket=q.get("create", "1") not in ("0", "false", "no"),
        addressing=addressing,
        access_key=access_key,
        secret_key=secret_key,
    )


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class _Skipped(Exception):
    """A PUT of ``publish_many`` not attempted because an earlier one failed."""


class S3Upload:
    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._attempted = False
        self.published = False
        self.size = 0

    def __repr__(self) -> str:
        return f"S3Upload({self._key!r}, size={self.size})"

    async def write(self, data: bytes | memoryview) -> None:
        self._md5.update(data)
        self.size += len(data)
        if self.size > _SPOOL:  # past the spool's memory part: a blocking file write
            await asyncio.to_thread(self._spool.write, data)
        else:
            self._spool.write(data)

    async def finish(self) -> None:
        return None  # durability comes with the PUT: S3 acknowledges stored objects only

    async def publish(self) -> None:
        self._attempted = True

        def body() -> bytes:
            self._spool.seek(0)
            return bytes(self._spool.read())

        data = await asyncio.to_thread(body)
        await self._store._put_new(self._key, data, self._md5)
        self.published = True
        self._spool.close()

    async def discard(self) -> None:
        self._spool.close()
        if self._attempted and not self.published:
            # The PUT may have landed before its answer was lost: the key is ours (pending
            # row), so remove it rather than leave an orphan.
            with contextlib.suppress(ClientError, OSError):
                await self._store._delete_key(self._key)


class S3BlobStore:
    """Shared blob store: open with ``await S3BlobStore.open(target)``."""

    def __init__(self, target: S3Target, client: Any, stack: contextlib.AsyncExitStack) -> None:
        self.target = target
        self._client = client
        self._stack = stack

    @classmethod
    async def open(cls, target: S3Target) -> S3BlobStore:
        config = Config(
            s3={"addressing_style": target.addressing},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=64,
            connect_timeout=10,
            read_timeout=60,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        stack = contextlib.AsyncExitStack()
        kwargs: dict[str, Any] = {"config": config, "region_name": target.region or "us-east-1"}
        if target.endpoint:
            kwargs["endpoint_url"] = target.endpoint
        if target.access_key and target.secret_key:
            kwargs["aws_access_key_id"] = target.access_key
            kwargs["aws_secret_access_key"] = target.secret_key
        client = await stack.enter_async_context(get_session().create_client("s3", **kwargs))
        store = cls(target, client, stack)
        try:
            await store._ensure_bucket()
        except BaseException:
            await stack.aclose()
            raise
        return store

    def __repr__(self) -> str:
        return f"S3BlobStore({self.target.url!r})"

    async def _ensure_bucket(self) -> None:
        t = self.target
        try:
            await self._client.head_bucket(Bucket=t.bucket)
            return
        except ClientError as e:
            if _code(e) not in _MISSING or not t.create_bucket:
                raise
        kwargs: dict[str, Any] = {"Bucket": t.bucket}
        if t.region and t.region not in ("us-east-1", "default"):
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": t.region}
        try:
            await self._client.create_bucket(**kwargs)
        except ClientError as e:
            if _code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def key(self, account_id: int, blob_id: str) -> str:
        # blob_id is validated by the caller (64 hex digits).
        return f"{self.target.prefix}{int(account_id)}/{blob_id[:2]}/{blob_id}"

    async def _put_new(self, key: str, data: bytes, md5: Any) -> None:
        content_md5 = base64.b64encode(md5.digest()).decode()
        for attempt in (1, 2):
            try:
                await self._client.put_object(
                    Bucket=self.target.bucket,
                    Key=key,
                    Body=data,
                    ContentMD5=content_md5,
                    IfNoneMatch="*",
                )
                return
            except ClientError as e:
                if _status(e) != 412 and _code(e) != "PreconditionFailed":
                    raise
            head = await self._head(key)
            etag = str(head.get("ETag", "")).strip('"') if head else ""
            if head is not None and etag == md5.hexdigest():
                return  # an orphan of an earlier attempt with exactly these bytes
            if head is not None and "-" in etag and head.get("ContentLength") == len(data):
                return  # not a plain MD5 ETag (multipart or SSE): the size is all we can check
            if attempt == 2:
                raise RuntimeError("S3 object exists and could not be replaced")
            await self._delete_key(key)

    async def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = await self._client.head_object(
                Bucket=self.target.bucket, Key=key
            )
        except ClientError as e:
            if _code(e) in _MISSING:
                return None
            raise
        return head

    async def _delete_key(self, key: str) -> None:
        await self._client.delete_object(Bucket=self.target.bucket, Key=key)

    async def begin(self, account_id: int, blob_id: str) -> S3Upload:
        return S3Upload(self, self.key(account_id, blob_id))

    async def finish_many(self, uploads: Sequence[BlobUpload]) -> None:
        for up in uploads:
            if not isinstance(up, S3Upload):
                raise TypeError(f"not an upload of this store: {up!r}")
        # durability comes with the PUT

    async def publish_many(self, uploads: Sequence[BlobUpload]) -> None:
        own: list[S3Upload] = []
        for up in uploads:
            if not isinstance(up, S3Upload):
                raise TypeError(f"not an upload of this store: {up!r}")
            own.append(up)
        slots = asyncio.Semaphore(_PUT_PARALLEL)
        failed = asyncio.Event()

        async def one(up: S3Upload) -> None:
            async with slots:
                if failed.is_set():
                    raise _Skipped()  # not attempted: an earlier one failed
                try:
                    await up.publish()
                except BaseException:
                    failed.set()
                    raise

        results = await asyncio.gather(*(one(up) for up in own), return_exceptions=True)
        first = next((i for i, r in enumerate(results) if isinstance(r, BaseException)), None)
        if first is None:
            return
        for up in own[first + 1 :]:
            if up.published:  # landed after an earlier failure: take it back
                with contextlib.suppress(ClientError, OSError):
                    await self._delete_key(up._key)
                up.published = False
        error = results[first]
        assert isinstance(error, BaseException)
        raise error

    async def exists(self, account_id: int, blob_id: str) -> bool:
        return await self._head(self.key(account_id, blob_id)) is not None

    async def size(self, account_id: int, blob_id: str) -> int | None:
        head = await self._head(self.key(account_id, blob_id))
        return int(head["ContentLength"]) if head is not None else None

    async def read(self, account_id: int, blob_id: str) -> AsyncGenerator[bytes, None]:
        try:
            resp = await self._client.get_object(
                Bucket=self.target.bucket, Key=self.key(account_id, blob_id)
            )
        except ClientError as e:
            if _code(e) in _MISSING:
                raise NotFound() from None
            raise
        body = resp["Body"]
        try:
            while True:
                chunk = await body.read(_READ)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def delete(self, account_id: int, blob_id: str) -> None:
        await self._delete_key(self.key(account_id, blob_id))

    async def sweep_staging(self, older_than: int, repack: bool = True) -> int:
        return 0

    async def list_blobs(self) -> AsyncGenerator[tuple[int, str, int], None]:
        """Every object under the prefix as (account id, blob id, size) (for migrate)."""
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.target.bucket, Prefix=self.target.prefix):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(self.target.prefix) :].split("/")
                if len(rest) == 3 and rest[0].isdigit():
                    yield int(rest[0]), rest[2], int(obj["Size"])

    async def close(self) -> None:
        await self._stack.aclose()
