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
"""

from __future__ import annotations

import asyncio
import struct

from aiohttp import StreamReader, web

from vault_core.errors import BadRequest, Conflict, NotFound, TooLarge

from . import validate
from .context import ServerContext, ctx
from .httpio import bearer, json_response, path_blob_id, read_json
from .routing import Route
from .storage.base import BlobUpload

_CHUNK = 64 * 1024
_BUSY_WAIT = 0.05
_BUSY_TRIES = 200


async def store_staged(c: ServerContext, account_id: int, blob_id: str, up: BlobUpload) -> bool:
    """Make a finished staged upload visible; True when created, False when already there."""
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


async def batch_upload(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    lim = c.config.limits
    length = request.content_length
    if length is not None and length > lim.batch_body:
        raise TooLarge()
    reader = request.content
    consumed = 0
    stored = 0
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
        await _receive(c, reader, caller.account.id, blob_id, size)
        stored += 1
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
