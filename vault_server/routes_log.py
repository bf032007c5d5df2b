"""The account's change log: head, paged listing, compare-and-swap append."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vault_core.encoding import b64u

from . import validate
from .config import Limits
from .context import ctx
from .httpio import bearer, json_response, read_body
from .routing import Route
from .schemas import BLOB_ID, MAX_INT, answer, array, b64, integer, obj
from .storage.base import NewLogEntry


# One file record references every blob of its version: the manifest and each chunk, about
# 4,100 for a 1 GiB file (CDC average 256 KiB). The generic 1000-items bound of JSON bodies
# would make files above ~250 MiB impossible to sync; for refs the bound is this one, and the
# body limit (log_body, 8 MiB: ~120,000 ids) still caps the total work of one append.
# (Limits.log_refs, 131,072 by default.)
def max_refs(lim: Limits) -> int:
    return max(lim.list_items, lim.log_refs)


def max_entry(lim: Limits) -> int:
    """The largest entry, in bytes, that fits a body (base64url of it is 4/3 as long)."""
    return (lim.log_body - 64) * 3 // 4


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
    body = validate.parse_json(raw, lim.json_depth, max_refs(lim))
    expected = validate.integer(body.get("expected_head"), "expected_head")
    items = validate.array(body.get("entries"), "entries", lim.list_items, min_items=1)
    entries = []
    for item in items:
        e = validate.obj(item, "entries[]")
        refs = validate.array(e.get("refs", []), "entries[].refs", max_refs(lim))
        entries.append(
            NewLogEntry(
                entry=validate.b64(e.get("entry"), "entries[].entry", max_size=max_entry(lim)),
                refs=tuple(validate.blob_id(r, "entries[].refs") for r in refs),
            )
        )
    head = await c.meta.log_append(
        caller.account.id, expected, entries, caller.session.device_id, c.clock.now()
    )
    await c.hub.publish(caller.account.id, {"type": "log", "head": head})
    return json_response({"head": head}, 201)


def _append_body(lim: Limits) -> dict[str, Any]:
    n = max_refs(lim)
    entry = obj(
        lim,
        3,
        {"entry": b64(max_size=max_entry(lim))},
        {"refs": array(BLOB_ID, n)},
        items=n,
    )
    return obj(
        lim,
        1,
        {"expected_head": integer(), "entries": array(entry, lim.list_items, min_items=1)},
        items=n,
    )


ROUTES = [
    Route(
        "GET",
        "/v1/log/head",
        log_head,
        "Current log head",
        "log",
        errors=(401,),
        response=answer({"seq": integer()}),
    ),
    Route(
        "GET",
        "/v1/log",
        log_list,
        "Log entries after a sequence number",
        "log",
        errors=(401,),
        query=(
            ("after", integer(0, MAX_INT), False),
            ("limit", lambda lim: integer(1, lim.log_page), False),
        ),
        response=answer(
            {
                "entries": {
                    "type": "array",
                    "items": answer({"seq": integer(1), "entry": b64()}),
                },
                "head": integer(),
            }
        ),
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
        request=_append_body,
        response=answer({"head": integer()}),
    ),
]
