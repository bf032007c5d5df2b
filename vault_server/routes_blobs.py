"""Blobs of the caller's account: missing check, streamed upload (single and batch), download.

Theory of operation (upload)
----------------------------
1. The body is streamed into a staging upload; the size limit is enforced while reading, so a
   huge body is cut off (413) after at most ``blob_size`` bytes and is never buffered whole.
2. ``finish`` fsyncs the staged bytes.
3. ``reserve_blob`` inserts a *pending* row and charges the quota in one transaction
   (QuotaExceeded → 507, nothing charged). If the blob is already present we answer 200 and drop
   the staged copy; if another upload of the same id is in flight we wait for it.
4. ``publish`` renames the staged file onto its final name (atomic), then the row becomes
   *present* and we answer 201. A crash between 3 and 4 leaves a pending row that recovery
   settles at start (gc.recover): promoted if the final file exists, released otherwise.

Batch uploads are pipelined: while record *n* is being made durable (fsync, reservation,
rename), record *n+1* is already read from the socket, and up to ``_BATCH_PARALLEL`` records
settle at once, so their fsyncs overlap instead of queueing one after the other. The
semantics stay those of a sequential loop: reservations (the quota check) are taken strictly
in record order, a record is acknowledged only once durable, and after a failing record no
later record is stored; the answer comes when every record has settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

from aiohttp import StreamReader, web

from vault_core.errors import BadRequest, Conflict, NotFound, TooLarge

from . import validate
from .context import ServerContext, ctx
from .httpio import bearer, json_response, path_blob_id, read_json
from .routing import Route
from .storage.base import BlobUpload

_CHUNK = 64 * 1024
_WHOLE = 1024 * 1024  # records up to this size are read in one call
_BUSY_WAIT = 0.05
_BUSY_TRIES = 200
_BATCH_PARALLEL = 16  # records of one batch settling at once


async def store_staged(
    c: ServerContext,
    account_id: int,
    blob_id: str,
    up: BlobUpload,
    reserved: asyncio.Future[None] | None = None,
) -> bool:
    """Make a finished staged upload visible; True when created, False when already there.

    ``reserved`` (if given) is resolved as soon as the reservation is settled (taken, or the
    blob found present), before the file is published.
    """
    try:
        for _ in range(_BUSY_TRIES):
            result = await c.meta.reserve_blob(account_id, blob_id, up.size, c.clock.now())
            if result == "present":
                await up.discard()
                return False
            if result == "reserved":
                break
            await asyncio.sleep(_BUSY_WAIT)
        else:
            await up.discard()
            raise Conflict("another upload of this blob is in progress")
    finally:
        if reserved is not None and not reserved.done():
            reserved.set_result(None)
    try:
        await up.publish()
    except BaseException:
        await up.discard()
        await c.meta.release_blob(account_id, blob_id)
        raise
    await c.meta.publish_blob(account_id, blob_id)
    return True


async def _receive(
    c: ServerContext, reader: StreamReader, account_id: int, blob_id: str, size: int | None
) -> bool:
    """Stream one blob from ``reader`` (``size`` bytes, or to EOF when None) and store it."""
    limit = c.config.limits.blob_size
    up = await c.blobs.begin(account_id, blob_id)
    try:
        if size is None:
            async for chunk in reader.iter_chunked(_CHUNK):
                if up.size + len(chunk) > limit:
                    raise TooLarge()
                await up.write(chunk)
        else:
            left = size
            while left:
                chunk = await reader.read(min(left, _CHUNK))
                if not chunk:
                    raise BadRequest("truncated record")
                left -= len(chunk)
                await up.write(chunk)
        await up.finish()
    except BaseException:
        await up.discard()
        raise
    return await store_staged(c, account_id, blob_id, up)


async def missing(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await read_json(request)
    ids = validate.array(body.get("ids"), "ids", c.config.limits.list_items)
    blob_ids = [validate.blob_id(i, "ids") for i in ids]
    return json_response({"missing": await c.meta.blobs_missing(caller.account.id, blob_ids)})


async def put_blob(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    blob_id = path_blob_id(request)
    length = request.content_length
    if length is not None and length > c.config.limits.blob_size:
        raise TooLarge()
    if await c.meta.blob_size(caller.account.id, blob_id) is not None:
        return json_response({"id": blob_id, "created": False}, 200)
    created = await _receive(c, request.content, caller.account.id, blob_id, None)
    return json_response({"id": blob_id, "created": created}, 201 if created else 200)


async def _read_exact(reader: StreamReader, n: int, at_start: bool = False) -> bytes | None:
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError as e:
        if at_start and not e.partial:
            return None
        raise BadRequest("truncated record") from None


class _BatchState:
    """Shared by the records of one batch: a failure stops every later record."""

    def __init__(self) -> None:
        self.failed = False
        self.slots = asyncio.Semaphore(_BATCH_PARALLEL)


async def _settle(
    c: ServerContext,
    account_id: int,
    blob_id: str,
    up: BlobUpload,
    after: asyncio.Future[None] | None,
    reserved: asyncio.Future[None],
    state: _BatchState,
) -> None:
    """fsync (in parallel with the other records), then reserve in record order, publish."""
    try:
        try:
            await up.finish()
            if after is not None:
                await after
            if state.failed:
                await up.discard()
                return
            await store_staged(c, account_id, blob_id, up, reserved)
        except BaseException:
            state.failed = True
            with contextlib.suppress(Exception):
                await up.discard()
            raise
        finally:
            if not reserved.done():
                reserved.set_result(None)
    finally:
        state.slots.release()


async def _stage(
    c: ServerContext, reader: StreamReader, account_id: int, blob_id: str, size: int
) -> BlobUpload:
    """Read one record's bytes into a staged (not yet durable) upload."""
    up = await c.blobs.begin(account_id, blob_id)
    try:
        if size <= _WHOLE:
            data = await _read_exact(reader, size) if size else b""
            assert data is not None
            if data:
                await up.write(data)
        else:
            left = size
            while left:
                chunk = await reader.read(min(left, _CHUNK))
                if not chunk:
                    raise BadRequest("truncated record")
                left -= len(chunk)
                await up.write(chunk)
    except BaseException:
        await up.discard()
        raise
    return up


async def batch_upload(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    lim = c.config.limits
    length = request.content_length
    if length is not None and length > lim.batch_body:
        raise TooLarge()
    reader = request.content
    account_id = caller.account.id
    loop = asyncio.get_running_loop()
    state = _BatchState()
    tasks: list[asyncio.Task[None]] = []
    previous: asyncio.Future[None] | None = None
    consumed = 0
    stored = 0
    try:
        while True:
            head = await _read_exact(reader, 1, at_start=True)
            if head is None:
                break
            raw_id = await _read_exact(reader, head[0])
            assert raw_id is not None
            try:
                blob_id = validate.blob_id(raw_id.decode("ascii"), "record id")
            except UnicodeDecodeError:
                raise BadRequest("record id: invalid blob id") from None
            size_raw = await _read_exact(reader, 4)
            assert size_raw is not None
            (size,) = struct.unpack(">I", size_raw)
            if size > lim.blob_size:
                raise TooLarge()
            consumed += 1 + head[0] + 4 + size
            if consumed > lim.batch_body:
                raise TooLarge()
            if stored >= lim.list_items:
                raise BadRequest("too many records")
            if state.failed:
                break
            up = await _stage(c, reader, account_id, blob_id, size)
            await state.slots.acquire()
            reserved: asyncio.Future[None] = loop.create_future()
            tasks.append(
                asyncio.ensure_future(
                    _settle(c, account_id, blob_id, up, previous, reserved, state)
                )
            )
            previous = reserved
            stored += 1
    finally:
        # every record read so far settles (or is dropped after a failure) before the answer;
        # the failure of an earlier record is the one reported
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
    return json_response({"stored": stored})


async def get_blob(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    blob_id = path_blob_id(request)
    return await stream_blob(request, c, caller.account.id, blob_id)


async def stream_blob(
    request: web.Request, c: ServerContext, account_id: int, blob_id: str
) -> web.StreamResponse:
    size = await c.meta.blob_size(account_id, blob_id)
    if size is None:
        raise NotFound()
    chunks = c.blobs.read(account_id, blob_id)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except BaseException:
        await chunks.aclose()
        raise
    try:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.content_length = size
        await resp.prepare(request)
        await resp.write(first)
        async for chunk in chunks:
            await resp.write(chunk)
        await resp.write_eof()
    finally:
        await chunks.aclose()
    return resp


ROUTES = [
    Route(
        "POST",
        "/v1/blobs/missing",
        missing,
        "Which of these blobs the server lacks",
        "blobs",
        body="json",
        errors=(401,),
        required=("ids",),
    ),
    Route(
        "POST",
        "/v1/blobs/batch",
        batch_upload,
        "Upload several blobs in one body",
        "blobs",
        body="raw",
        errors=(401, 409, 413, 507),
    ),
    Route(
        "PUT",
        "/v1/blobs/{blob_id}",
        put_blob,
        "Upload one blob (streamed)",
        "blobs",
        body="raw",
        status=201,
        errors=(401, 409, 413, 507),
    ),
    Route(
        "GET",
        "/v1/blobs/{blob_id}",
        get_blob,
        "Download one blob (streamed)",
        "blobs",
        errors=(401, 404),
    ),
]
