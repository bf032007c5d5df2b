"""Helper mandates (SPEC §Mandates): the owner gives, lists and revokes them; the helper acts
under one with her own session.

Theory of operation
-------------------
The server holds, per mandate, the owner, the helper, the scope *kinds* (``read``, ``upload``,
``requests``, ``inbox``: never a path, which is a name of the owner's files), the expiry, the
account grant serving the ``read`` scopes and the statement sealed to the helper (``copy``),
which it cannot read. Every helper call names the mandate and is refused (403) unless the
caller is its helper, it is neither revoked nor expired by this server's clock, and it covers
the call's kind: appending an entry to the owner's log (with the kind of its action: the entry
itself is sealed to the owner), uploading blobs into his account, listing the requests and
deposits his devices forwarded to her, answering one of those requests (a grant kept in the
owner's account, so that its blobs are his and he sees and can revoke it), removing a deposit
she accepted. Revocation is immediate: the row is marked, the forwards and the read grant go,
and every later call is refused. What the server cannot check (a path outside a scope, an
action signed by someone else) the helper's client and the owner's clients refuse.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vault_core import mandates as md
from vault_core.encoding import b64u
from vault_core.errors import AccessDenied, BadRequest, IntegrityError, NotFound, TooLarge
from vault_core.log import LogEntry

from . import validate
from .context import ServerContext, ctx
from .httpio import Caller, bearer, json_response, no_content, path_blob_id, path_id, read_body
from .httpio import read_json as _read_json
from .routes_blobs import _receive
from .routes_inbox import _REQUEST_VIEW, _request_view
from .routes_log import max_entry, max_refs
from .routing import Route
from .schemas import (
    BLOB_ID,
    HANDLE,
    HEX_ID,
    NULL_TIME,
    TIME,
    answer,
    answer_list,
    array,
    b64,
    integer,
    nullable,
    obj,
)
from .storage.base import Grant, MandateRow, NewLogEntry

MAX_ACTIVE = 32  # mandates in force per owner
FORWARD_KINDS = {"request": "requests", "deposit": "inbox"}  # forward kind -> scope kind
_COPY_MIN = 1  # (the helper's client opens and checks it)


def _copy_max(c: ServerContext) -> int:
    return c.config.limits.small_blob_field


# -- the owner ------------------------------------------------------------------------------


def _view(c: ServerContext, m: MandateRow, received: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id,
        "owner": m.owner_handle,
        "helper": m.helper_handle,
        "kinds": list(m.kinds),
        "grant_id": m.grant_id,
        "created_at": m.created_at,
        "expires_at": m.expires_at,
        "revoked_at": m.revoked_at,
        "state": m.state(c.clock.now()),
    }
    if received:
        out["copy"] = b64u(m.copy)
    return out


async def create_mandate(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await _read_json(request)
    now = c.clock.now()
    mandate_id = validate.hex_id(body.get("id"))
    handle = validate.handle(body.get("helper"), "helper")
    helper = await c.meta.get_account_by_handle(handle)
    if helper is None:
        raise NotFound(f"no account {handle}")
    if helper.id == caller.account.id:
        raise AccessDenied("a mandate is given to another account")
    listed = validate.array(body.get("kinds"), "kinds", 2 * len(md.KINDS), 1)
    if not all(isinstance(k, str) and k in md.KINDS for k in listed):
        raise BadRequest("kinds: among inbox, read, requests, upload")
    kinds = sorted({str(k) for k in listed})
    expires_at = validate.integer(body.get("expires_at"), "expires_at", now + 1)
    expires_at = min(expires_at, now + md.MAX_LIFE)  # (the clients hold the signed expiry)
    grant_id = None
    if body.get("grant_id") is not None:  # (revoked with the mandate)
        grant_id = validate.hex_id(body.get("grant_id"), "grant_id")
        g = await c.meta.get_grant(grant_id)
        if g is None or g.owner_id != caller.account.id or g.to_account_id != helper.id:
            raise NotFound("no such account grant of this owner to the helper")
    row = MandateRow(
        id=mandate_id,
        owner_id=caller.account.id,
        owner_handle=caller.account.handle,
        helper_id=helper.id,
        helper_handle=helper.handle,
        kinds=tuple(kinds),
        grant_id=grant_id,
        copy=validate.b64(body.get("copy"), "copy", min_size=_COPY_MIN, max_size=_copy_max(c)),
        created_at=now,
        expires_at=expires_at,
    )
    await c.meta.add_mandate(row, MAX_ACTIVE)
    await c.hub.publish(helper.id, {"type": "mandate"})
    return json_response({"id": mandate_id}, 201)


async def mandates_given(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    rows = await c.meta.list_mandates(caller.account.id, given=True)
    return json_response([_view(c, m, received=False) for m in rows])


async def mandates_received(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    rows = await c.meta.list_mandates(caller.account.id, given=False)
    return json_response([_view(c, m, received=True) for m in rows])


async def _owners(request: web.Request) -> tuple[ServerContext, Caller, MandateRow]:
    c = ctx(request)
    caller = await bearer(request)
    m = await c.meta.get_mandate(path_id(request))
    if m is not None and m.helper_id == caller.account.id:
        raise AccessDenied("only its owner changes a mandate")
    if m is None or m.owner_id != caller.account.id:
        raise NotFound("no such mandate")
    return c, caller, m


async def revoke_mandate(request: web.Request) -> web.StreamResponse:
    c, caller, m = await _owners(request)
    now = c.clock.now()
    done = await c.meta.revoke_mandate(caller.account.id, m.id, now)
    if done is None:
        raise NotFound("no such mandate")
    if done.grant_id is not None:  # her read grant ends with it (and her grant sessions)
        await c.meta.revoke_grant(caller.account.id, done.grant_id, now)
    await c.hub.publish(done.helper_id, {"type": "mandate"})
    return no_content()


async def put_forwards(request: web.Request) -> web.StreamResponse:
    c, caller, m = await _owners(request)
    if m.state(c.clock.now()) != "active":
        raise AccessDenied(f"this mandate is {m.state(c.clock.now())}")
    body = await _read_json(request)
    items = validate.array(body.get("items"), "items", c.config.limits.list_items, 1)
    requests = {r.id for r in await c.meta.list_requests(caller.account.id, sent=False)}
    out: list[tuple[str, str, bytes]] = []
    for item in items:
        it = validate.obj(item, "items[]")
        kind = it.get("kind")
        if not isinstance(kind, str) or kind not in FORWARD_KINDS:
            raise BadRequest("items[].kind: request or deposit")
        if FORWARD_KINDS[kind] not in m.kinds:
            raise AccessDenied(f"this mandate does not cover {FORWARD_KINDS[kind]}")
        item_id = validate.hex_id(it.get("id"), "items[].id")
        fw = validate.b64(it.get("forward"), "items[].forward", min_size=1, max_size=_copy_max(c))
        if kind == "request" and item_id not in requests:
            continue  # (gone meanwhile: nothing to forward)
        if kind == "deposit" and await c.meta.get_deposit(caller.account.id, item_id) is None:
            continue
        out.append((kind, item_id, fw))
    stored = await c.meta.put_forwards(m.id, out, c.clock.now())
    if stored:
        await c.hub.publish(m.helper_id, {"type": "mandate"})
    return json_response({"stored": stored})


# -- the helper -----------------------------------------------------------------------------


async def _helpers(request: web.Request, *kinds: str) -> tuple[ServerContext, Caller, MandateRow]:
    """The mandate of the path, if the caller is its helper, it is in force by this server's
    clock and it covers one of ``kinds`` (any kind when none is named); else 404 or 403."""
    c = ctx(request)
    caller = await bearer(request)
    m = await c.meta.get_mandate(path_id(request))
    if m is not None and m.owner_id == caller.account.id:
        raise AccessDenied("only its helper acts under a mandate")
    if m is None or m.helper_id != caller.account.id:
        raise NotFound("no such mandate")
    state = m.state(c.clock.now())
    if state != "active":
        raise AccessDenied(f"this mandate is {state}")
    if kinds and not set(kinds) & set(m.kinds):
        raise AccessDenied(f"this mandate does not cover {' or '.join(kinds)}")
    return c, caller, m


async def helper_log_head(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request)
    for _ in range(5):
        head = await c.meta.log_head(m.owner_id)
        if head == 0:
            return json_response({"seq": 0, "entry": None})
        entries, now_head = await c.meta.log_list(m.owner_id, head - 1, 1)
        if now_head == head and entries and entries[0].seq == head:
            return json_response({"seq": head, "entry": b64u(entries[0].entry)})
    raise BadRequest("the log kept moving; try again")


async def helper_log_append(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request)
    lim = c.config.limits
    raw = await read_body(request, lim.log_body)
    body = validate.parse_json(raw, lim.json_depth, max_refs(lim))
    action = body.get("action")
    if not isinstance(action, str) or action not in md.ACTIONS:
        raise BadRequest("action: upload, accept or answer")
    if md.ACTIONS[action] not in m.kinds:
        raise AccessDenied(f"this mandate does not cover {md.ACTIONS[action]}")
    expected = validate.integer(body.get("expected_head"), "expected_head")
    entry = validate.b64(body.get("entry"), "entry", min_size=1, max_size=max_entry(lim))
    try:
        decoded = LogEntry.decode(entry)
    except IntegrityError:
        raise BadRequest("entry: not a log entry") from None
    if decoded.device_id != m.id:
        raise BadRequest("entry: a helper's entry names her mandate")
    refs = validate.array(body.get("refs", []), "refs", max_refs(lim))
    new = NewLogEntry(entry=entry, refs=tuple(validate.blob_id(r, "refs") for r in refs))
    head = await c.meta.log_append(m.owner_id, expected, [new], m.id, c.clock.now())
    await c.hub.publish(m.owner_id, {"type": "log", "head": head})
    return json_response({"head": head}, 201)


async def helper_put_blob(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request, "upload", "inbox")
    blob_id = path_blob_id(request)
    length = request.content_length
    if length is not None and length > c.config.limits.blob_size:
        raise TooLarge()
    if await c.meta.blob_size(m.owner_id, blob_id) is not None:
        return json_response({"id": blob_id, "created": False}, 200)
    created = await _receive(c, request.content, m.owner_id, blob_id)
    return json_response({"id": blob_id, "created": created}, 201 if created else 200)


async def helper_requests(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request, "requests")
    forwards = await c.meta.list_forwards(m.id, "request")
    out = []
    for r in await c.meta.list_requests(m.owner_id, sent=False):
        if r.id in forwards:
            out.append({**_request_view(c, r), "forward": b64u(forwards[r.id])})
    return json_response(out)


async def helper_inbox(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request, "inbox")
    forwards = await c.meta.list_forwards(m.id, "deposit")
    out = []
    for info in await c.meta.list_deposits(m.owner_id):
        d = await c.meta.get_deposit(m.owner_id, info.id) if info.id in forwards else None
        if d is not None:
            out.append(
                {
                    "id": d.id,
                    "from": d.sender_handle,
                    "received_at": d.received_at,
                    "envelope": b64u(d.envelope),
                    "forward": b64u(forwards[d.id]),
                }
            )
    return json_response(out)


async def helper_remove_deposit(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request, "inbox")
    body = await _read_json(request)
    deposit_id = validate.hex_id(body.get("deposit"), "deposit")
    if deposit_id not in await c.meta.list_forwards(m.id, "deposit"):
        raise NotFound("no such deposit forwarded to this mandate")
    if not await c.meta.delete_deposit(m.owner_id, deposit_id):
        raise NotFound("no such deposit")
    await c.hub.publish(m.owner_id, {"type": "inbox"})
    return no_content()


async def helper_answer(request: web.Request) -> web.StreamResponse:
    c, _, m = await _helpers(request, "requests")
    body = await _read_json(request)
    request_id = validate.hex_id(body.get("request"), "request")
    if request_id not in await c.meta.list_forwards(m.id, "request"):
        raise NotFound("no such request forwarded to this mandate")
    doc = next(
        (r for r in await c.meta.list_requests(m.owner_id, sent=False) if r.id == request_id),
        None,
    )
    if doc is None:
        raise NotFound("no such request")
    now = c.clock.now()
    g = validate.obj(body.get("grant"), "grant")
    blobs = validate.array(g.get("blobs"), "grant.blobs", c.config.limits.list_items)
    grant = Grant(
        id=validate.hex_id(g.get("id"), "grant.id"),
        owner_id=m.owner_id,  # the blobs are the owner's; he sees and can revoke it
        kind="account",
        to_account_id=doc.sender_id,
        access_hash=None,
        expires_at=validate.integer(g.get("expires_at"), "grant.expires_at", now + 1),
        max_uses=None,
        uses=0,
        failed=0,
        password=False,
        header=validate.b64(g.get("header"), "grant.header"),
        payload=validate.b64(g.get("payload"), "grant.payload"),
        sealed_key=validate.b64(
            g.get("sealed_key"), "grant.sealed_key", min_size=1, max_size=_copy_max(c)
        ),
        revoked_at=None,
        created_at=now,
    )
    envelope = validate.b64(body.get("envelope"), "envelope", min_size=1)
    await c.meta.create_grant(grant, [validate.blob_id(b, "grant.blobs") for b in blobs])
    answered = await c.meta.answer_request(m.owner_id, request_id, grant.id, envelope, now)
    if answered is None:
        raise NotFound("no such request")
    await c.hub.publish(answered.sender_id, {"type": "request"})
    await c.hub.publish(m.owner_id, {"type": "request"})
    return json_response({"grant_id": grant.id}, 201)


# -- the table -------------------------------------------------------------------------------

_KINDS = array({"enum": list(md.KINDS)}, 2 * len(md.KINDS), 1)
_STATE = {"enum": ["active", "expired", "revoked"]}
_COMMON = {
    "id": HEX_ID,
    "owner": HANDLE,
    "helper": HANDLE,
    "kinds": _KINDS,
    "grant_id": nullable(HEX_ID),
    "created_at": TIME,
    "expires_at": TIME,
    "revoked_at": NULL_TIME,
    "state": _STATE,
}
_GIVEN = answer(_COMMON)
_RECEIVED = answer({**_COMMON, "copy": b64()})
_FORWARDED_REQUEST = {
    **_REQUEST_VIEW,
    "required": [*_REQUEST_VIEW["required"], "forward"],
    "properties": {**_REQUEST_VIEW["properties"], "forward": b64()},
}
_FORWARDED_DEPOSIT = answer(
    {"id": HEX_ID, "from": HANDLE, "received_at": TIME, "envelope": b64(), "forward": b64()}
)
_HELPER = "403 unless this account is the mandate's helper (its owner included), the mandate is "
_HELPER += "neither revoked nor expired (by the server's clock) and covers the call's kind; 404 "
_HELPER += "for another account's mandate."


def _append(lim: Any) -> dict[str, Any]:
    n = max_refs(lim)
    return obj(
        lim,
        1,
        {
            "action": {"enum": list(md.ACTIONS)},
            "expected_head": integer(),
            "entry": b64(min_size=1, max_size=max_entry(lim)),
        },
        {"refs": array(BLOB_ID, n)},
        items=n,
    )


ROUTES = [
    Route(
        "POST",
        "/v1/mandates",
        create_mandate,
        "Give a helper a mandate",
        "mandates",
        body="json",
        status=201,
        errors=(400, 401, 403, 404, 409, 507),
        request=lambda lim: obj(
            lim,
            1,
            {
                "id": HEX_ID,
                "helper": HANDLE,
                "kinds": _KINDS,
                "expires_at": TIME,
                "copy": b64(min_size=_COPY_MIN, max_size=lim.small_blob_field),
            },
            {"grant_id": nullable(HEX_ID)},
        ),
        response=answer({"id": HEX_ID}),
        description="`copy`: the owner-signed statement sealed to the helper (SPEC §Mandates); "
        "`kinds` the scope kinds, never a path; `grant_id` the owner's account grant to the "
        "helper serving the read scopes, revoked with the mandate (404 when it is not one). 403 "
        f"for a mandate to oneself, 507 with {MAX_ACTIVE} mandates in force.",
    ),
    Route(
        "GET",
        "/v1/mandates",
        mandates_given,
        "Mandates this account gave",
        "mandates",
        errors=(401,),
        response=answer_list(_GIVEN),
    ),
    Route(
        "GET",
        "/v1/mandates/received",
        mandates_received,
        "Mandates this account received, with their sealed statements",
        "mandates",
        errors=(401,),
        response=answer_list(_RECEIVED),
    ),
    Route(
        "DELETE",
        "/v1/mandates/{id}",
        revoke_mandate,
        "Revoke a mandate at once (and its read grant)",
        "mandates",
        status=204,
        errors=(401, 403, 404),
    ),
    Route(
        "POST",
        "/v1/mandates/{id}/forwards",
        put_forwards,
        "Forward requests and deposits to the mandate's helper (owner)",
        "mandates",
        body="json",
        errors=(400, 401, 403, 404),
        request=lambda lim: obj(
            lim,
            1,
            {
                "items": array(
                    obj(
                        lim,
                        3,
                        {
                            "kind": {"enum": list(FORWARD_KINDS)},
                            "id": HEX_ID,
                            "forward": b64(min_size=1, max_size=lim.small_blob_field),
                        },
                    ),
                    lim.list_items,
                    1,
                )
            },
        ),
        response=answer({"stored": integer()}),
        description="A forward already stored is kept, one of an item no longer there is "
        "dropped; 403 for a kind the mandate lacks.",
    ),
    Route(
        "GET",
        "/v1/mandates/{id}/log/head",
        helper_log_head,
        "The owner's log head and its last entry (helper)",
        "mandates",
        errors=(401, 403, 404),
        response=answer({"seq": integer(), "entry": nullable(b64())}),
        description=_HELPER,
    ),
    Route(
        "POST",
        "/v1/mandates/{id}/log",
        helper_log_append,
        "Append the helper's entry to the owner's log if the head is still expected_head",
        "mandates",
        body="json",
        status=201,
        errors=(400, 401, 403, 404, 409, 413),
        request=_append,
        response=answer({"head": integer()}),
        description=_HELPER + " The action's kind: upload, accept (inbox), answer (requests).",
    ),
    Route(
        "PUT",
        "/v1/mandates/{id}/blobs/{blob_id}",
        helper_put_blob,
        "Upload one blob into the owner's account (helper, upload or inbox)",
        "mandates",
        body="raw",
        body_required=False,
        request={"type": "string", "format": "binary", "description": "at most blob_size bytes"},
        status=201,
        also=(200,),
        errors=(401, 403, 404, 409, 413, 507),
        response=answer({"id": BLOB_ID, "created": {"type": "boolean"}}),
        description=_HELPER,
    ),
    Route(
        "GET",
        "/v1/mandates/{id}/requests",
        helper_requests,
        "The owner's requests forwarded to the helper",
        "mandates",
        errors=(401, 403, 404),
        response=answer_list(_FORWARDED_REQUEST),
        description=_HELPER,
    ),
    Route(
        "POST",
        "/v1/mandates/{id}/answer",
        helper_answer,
        "Answer a forwarded request with a grant kept in the owner's account (helper)",
        "mandates",
        body="json",
        status=201,
        errors=(400, 401, 403, 404, 409),
        request=lambda lim: obj(
            lim,
            1,
            {
                "request": HEX_ID,
                "grant": obj(
                    lim,
                    2,
                    {
                        "id": HEX_ID,
                        "expires_at": TIME,
                        "header": b64(),
                        "payload": b64(),
                        "sealed_key": b64(min_size=1, max_size=lim.small_blob_field),
                        "blobs": array(BLOB_ID, lim.list_items),
                    },
                ),
                "envelope": b64(min_size=1),
            },
        ),
        response=answer({"grant_id": HEX_ID}),
        description=_HELPER + " The grant goes to the request's sender; its blobs must be the "
        "owner's.",
    ),
    Route(
        "GET",
        "/v1/mandates/{id}/inbox",
        helper_inbox,
        "The owner's deposits forwarded to the helper",
        "mandates",
        errors=(401, 403, 404),
        response=answer_list(_FORWARDED_DEPOSIT),
        description=_HELPER,
    ),
    Route(
        "POST",
        "/v1/mandates/{id}/accepted",
        helper_remove_deposit,
        "Remove a forwarded deposit the helper accepted from the owner's inbox",
        "mandates",
        body="json",
        status=204,
        errors=(400, 401, 403, 404),
        request=lambda lim: obj(lim, 1, {"deposit": HEX_ID}),
        description=_HELPER,
    ),
]
