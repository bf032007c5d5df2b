"""The account's change log: head, paged listing, compare-and-swap append."""

from __future__ import annotations

from aiohttp import web

from vault_core.encoding import b64u

from . import validate
from .context import ctx
from .httpio import bearer, json_response, read_body
from .routing import Route
from .storage.base import NewLogEntry

# One file record references every blob of its version: the manifest and each chunk, about
# 4,100 for a 1 GiB file (CDC average 256 KiB). The generic 1000-items bound of JSON bodies
# would make files above ~250 MiB impossible to sync; for refs the bound is this one, and the
# body limit (log_body, 8 MiB: ~120,000 ids) still caps the total work of one append.
MAX_REFS = 131_072


async def log_head(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    return json_response({"seq": await c.meta.log_head(caller.account.id)})


async def log_list(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    page = c.config.limits.log_page
    after = validate.query_int(request.query.get("after"), "after", 0, 0, validate.MAX_INT)
    limit = validate.query_int(request.query.get("limit"), "limit", page, 1, page)
    entries, head = await c.meta.log_list(caller.account.id, after, limit)
    return json_response(
        {"entries": [{"seq": e.seq, "entry": b64u(e.entry)} for e in entries], "head": head}
    )


async def log_append(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    lim = c.config.limits
    raw = await read_body(request, lim.log_body)
    body = validate.parse_json(raw, lim.json_depth, max(lim.list_items, MAX_REFS))
    expected = validate.integer(body.get("expected_head"), "expected_head")
    items = validate.array(body.get("entries"), "entries", lim.list_items, min_items=1)
    entries = []
    for item in items:
        e = validate.obj(item, "entries[]")
        refs = validate.array(e.get("refs", []), "entries[].refs", max(lim.list_items, MAX_REFS))
        entries.append(
            NewLogEntry(
                entry=validate.b64(e.get("entry"), "entries[].entry", max_size=lim.log_body),
                refs=tuple(validate.blob_id(r, "entries[].refs") for r in refs),
            )
        )
    head = await c.meta.log_append(
        caller.account.id, expected, entries, caller.session.device_id, c.clock.now()
    )
    await c.hub.publish(caller.account.id, {"type": "log", "head": head})
    return json_response({"head": head}, 201)


ROUTES = [
    Route("GET", "/v1/log/head", log_head, "Current log head", "log", errors=(401,)),
    Route(
        "GET",
        "/v1/log",
        log_list,
        "Log entries after a sequence number",
        "log",
        errors=(401,),
        query=("after", "limit"),
    ),
    Route(
        "POST",
        "/v1/log",
        log_append,
        "Append entries if the head is still expected_head",
        "log",
        body="json",
        status=201,
        errors=(401, 409, 413),
        required=("expected_head", "entries"),
    ),
]
