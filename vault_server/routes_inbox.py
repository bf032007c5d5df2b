"""Inbox deposits and document requests: issuers send, the recipient reads and answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vault_core.encoding import b64u
from vault_core.errors import AccessDenied, BadRequest, NotFound, TooLarge

from . import limits, validate
from .config import Limits
from .context import ServerContext, ctx
from .httpio import Caller, bearer, json_response, no_content, path_handle, path_id, read_json
from .routing import Route
from .schemas import (
    HANDLE,
    HEX_ID,
    TIME,
    answer,
    answer_list,
    array,
    b64,
    integer,
    nullable,
    obj,
)
from .storage.base import Account, Deposit, DocRequest


async def _issuer_to(request: web.Request) -> tuple[ServerContext, Caller, Account]:
    c = ctx(request)
    caller = await bearer(request)
    handle = path_handle(request)
    if not caller.account.is_issuer:
        raise AccessDenied("issuer role required")
    recipient = await c.meta.get_account_by_handle(handle)
    if recipient is None:
        raise NotFound()
    await limits.take_issuer(c, caller.account.id)
    return c, caller, recipient


async def deposit(request: web.Request) -> web.StreamResponse:
    c, caller, recipient = await _issuer_to(request)
    body = await read_json(request)
    dep = Deposit(
        id=validate.hex_id(body.get("id")),
        recipient_id=recipient.id,
        sender_id=caller.account.id,
        sender_handle=caller.account.handle,
        envelope=validate.b64(body.get("envelope"), "envelope", min_size=1),
        received_at=c.clock.now(),
    )
    await c.meta.add_deposit(dep, c.config.limits.inbox_items)
    await c.hub.publish(recipient.id, {"type": "inbox"})
    return json_response({"id": dep.id}, 201)


BATCH_OUTCOMES = ("created", "exists", "unknown_recipient", "inbox_full", "too_large")


def batch_envelope_chars(lim: Limits) -> int:
    """The longest envelope (base64 characters) one deposit of a batch may carry: what the
    one-deposit route's body (``json_body``) could hold."""
    return lim.json_body


async def deposit_batch(request: web.Request) -> web.StreamResponse:
    """Many deposits in one request, answered one by one, stored in one transaction."""
    c = ctx(request)
    caller = await bearer(request)
    if not caller.account.is_issuer:
        raise AccessDenied("issuer role required")
    lim = c.config.limits
    body = await read_json(request, lim.deposit_batch_body)
    items = validate.array(body.get("deposits"), "deposits", lim.list_items, min_items=1)
    most = limits.batch_items(lim)
    if len(items) > most:
        raise TooLarge(f"at most {most} deposits per request")
    longest = batch_envelope_chars(lim)
    wanted: list[tuple[str, str, bytes | None]] = []  # (to, id, envelope; None: too large)
    for i, item in enumerate(items):
        o = validate.obj(item, f"deposits[{i}]")
        to = validate.handle(o.get("to"), f"deposits[{i}].to")
        dep_id = validate.hex_id(o.get("id"), f"deposits[{i}].id")
        text = o.get("envelope")
        raw = validate.b64(text, f"deposits[{i}].envelope", min_size=1)
        fits = isinstance(text, str) and len(text) <= longest
        wanted.append((to, dep_id, raw if fits else None))
    await limits.take_issuer(c, caller.account.id, len(wanted))
    recipients: dict[str, Account | None] = {}
    for to, _, _ in wanted:
        if to not in recipients:
            recipients[to] = await c.meta.get_account_by_handle(to)
    now = c.clock.now()
    results: list[str] = []
    stored: list[Deposit] = []
    where: list[int] = []  # the index in results of each stored deposit
    for to, dep_id, kept in wanted:
        recipient = recipients[to]
        if recipient is None:
            results.append("unknown_recipient")
        elif kept is None:
            results.append("too_large")
        else:
            where.append(len(results))
            results.append("")
            stored.append(
                Deposit(
                    id=dep_id,
                    recipient_id=recipient.id,
                    sender_id=caller.account.id,
                    sender_handle=caller.account.handle,
                    envelope=kept,
                    received_at=now,
                )
            )
    outcomes = await c.meta.add_deposits(stored, lim.inbox_items)
    notify: set[int] = set()
    for at, d, outcome in zip(where, stored, outcomes, strict=True):
        results[at] = outcome
        if outcome == "created":
            notify.add(d.recipient_id)
    for rid in sorted(notify):  # one event per recipient, however many deposits it got
        await c.hub.publish(rid, {"type": "inbox"})
    return json_response(
        {
            "results": [
                {"id": dep_id, "status": status}
                for (_, dep_id, _), status in zip(wanted, results, strict=True)
            ]
        }
    )


async def list_inbox(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_deposits(caller.account.id)
    return json_response(
        [
            {"id": d.id, "from": d.sender_handle, "received_at": d.received_at, "size": d.size}
            for d in items
        ]
    )


async def get_deposit(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    d = await c.meta.get_deposit(caller.account.id, path_id(request))
    if d is None:
        raise NotFound()
    return json_response(
        {
            "id": d.id,
            "from": d.sender_handle,
            "received_at": d.received_at,
            "envelope": b64u(d.envelope),
        }
    )


async def delete_deposit(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    if not await c.meta.delete_deposit(caller.account.id, path_id(request)):
        raise NotFound()
    return no_content()


async def send_request(request: web.Request) -> web.StreamResponse:
    c, caller, recipient = await _issuer_to(request)
    body = await read_json(request)
    req = DocRequest(
        id=validate.hex_id(body.get("id")),
        recipient_id=recipient.id,
        recipient_handle=recipient.handle,
        sender_id=caller.account.id,
        sender_handle=caller.account.handle,
        envelope=validate.b64(body.get("envelope"), "envelope", min_size=1),
        due_at=validate.integer(body.get("due_at"), "due_at"),
        created_at=c.clock.now(),
    )
    await c.meta.add_request(req)
    await c.hub.publish(recipient.id, {"type": "request"})
    return json_response({"id": req.id}, 201)


def _request_view(c: ServerContext, r: DocRequest) -> dict[str, Any]:
    if r.answer_grant_id is not None:
        state = "answered"
    elif c.clock.now() > r.due_at:
        state = "overdue"
    else:
        state = "open"
    out: dict[str, Any] = {
        "id": r.id,
        "from": r.sender_handle,
        "to": r.recipient_handle,
        "envelope": b64u(r.envelope),
        "due_at": r.due_at,
        "created_at": r.created_at,
        "state": state,
    }
    if r.answer_grant_id is not None:
        answer: dict[str, Any] = {"grant_id": r.answer_grant_id, "answered_at": r.answered_at}
        if r.answer_envelope is not None:
            answer["envelope"] = b64u(r.answer_envelope)
        out["answer"] = answer
    return out


async def list_received(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_requests(caller.account.id, sent=False)
    return json_response([_request_view(c, r) for r in items])


async def list_sent(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_requests(caller.account.id, sent=True)
    return json_response([_request_view(c, r) for r in items])


async def answer_request(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    request_id = path_id(request)
    body = await read_json(request)
    grant_id = validate.hex_id(body.get("grant_id"), "grant_id")
    envelope = None
    if body.get("envelope") is not None:
        envelope = validate.b64(body.get("envelope"), "envelope")
    try:
        answered = await c.meta.answer_request(
            caller.account.id, request_id, grant_id, envelope, c.clock.now()
        )
    except BadRequest:  # the store's "unknown grant": a reference to nothing of this account
        raise NotFound("unknown grant") from None
    if answered is None:
        raise NotFound()
    await c.hub.publish(answered.sender_id, {"type": "request"})
    return no_content()


_REQUEST_VIEW = answer(
    {
        "id": HEX_ID,
        "from": HANDLE,
        "to": HANDLE,
        "envelope": b64(),
        "due_at": TIME,
        "created_at": TIME,
        "state": {"enum": ["open", "answered", "overdue"]},
    },
    {"answer": answer({"grant_id": HEX_ID, "answered_at": TIME}, {"envelope": b64()})},
)


def _batch_request(lim: Limits) -> dict[str, Any]:
    most = limits.batch_items(lim)
    item = obj(lim, 3, {"to": HANDLE, "id": HEX_ID, "envelope": b64(min_size=1)})
    out = obj(lim, 1, {"deposits": array(item, most, min_items=1)})
    out["description"] = (
        f"at most {most} deposits and {lim.deposit_batch_body} bytes of JSON per request "
        f"(over either: 413); an envelope over {batch_envelope_chars(lim)} characters is "
        "answered too_large, the others go on"
    )
    return out


ROUTES = [
    Route(
        "POST",
        "/v1/inbox/{handle}",
        deposit,
        "Deposit a document (issuer role)",
        "inbox",
        body="json",
        status=201,
        errors=(401, 403, 404, 409, 429, 507),
        request=lambda lim: obj(lim, 1, {"id": HEX_ID, "envelope": b64(min_size=1)}),
        response=answer({"id": HEX_ID}),
    ),
    Route(
        "POST",
        "/v1/inbox-batch",
        deposit_batch,
        "Deposit many documents in one request (issuer role)",
        "inbox",
        body="json",
        errors=(401, 403, 413, 429),
        request=_batch_request,
        response=answer(
            {
                "results": answer_list(
                    answer({"id": HEX_ID, "status": {"enum": list(BATCH_OUTCOMES)}})
                )
            }
        ),
        description=(
            "Each deposit is answered in order: created; exists (its id is already held: "
            "posting a batch again is safe); unknown_recipient; inbox_full (the recipient "
            "holds inbox_items); too_large (its envelope is over json_body characters, what "
            "POST /v1/inbox/{handle} could take). The deposits are stored in one transaction "
            "and each counts against the issuer's pace (429 for the whole request when they "
            "do not all fit; Retry-After: when they do). Per request: at most the deposits "
            "the request schema's maxItems says and deposit_batch_body bytes of body (413)."
        ),
    ),
    Route(
        "GET",
        "/v1/inbox",
        list_inbox,
        "Deposits waiting in this account's inbox",
        "inbox",
        errors=(401,),
        response=answer_list(
            answer({"id": HEX_ID, "from": HANDLE, "received_at": TIME, "size": integer()})
        ),
    ),
    Route(
        "GET",
        "/v1/inbox/{id}",
        get_deposit,
        "One deposit",
        "inbox",
        errors=(401, 404),
        response=answer({"id": HEX_ID, "from": HANDLE, "received_at": TIME, "envelope": b64()}),
    ),
    Route(
        "DELETE",
        "/v1/inbox/{id}",
        delete_deposit,
        "Remove a deposit",
        "inbox",
        status=204,
        errors=(401, 404),
    ),
    Route(
        "POST",
        "/v1/requests/{handle}",
        send_request,
        "Request documents (issuer role)",
        "requests",
        body="json",
        status=201,
        errors=(401, 403, 404, 409, 429),
        request=lambda lim: obj(
            lim, 1, {"id": HEX_ID, "envelope": b64(min_size=1), "due_at": integer()}
        ),
        response=answer({"id": HEX_ID}),
    ),
    Route(
        "GET",
        "/v1/requests",
        list_received,
        "Requests received",
        "requests",
        errors=(401,),
        response=answer_list(_REQUEST_VIEW),
    ),
    Route(
        "GET",
        "/v1/requests/sent",
        list_sent,
        "Requests sent (issuer)",
        "requests",
        errors=(401,),
        response=answer_list(_REQUEST_VIEW),
    ),
    Route(
        "POST",
        "/v1/requests/{id}/answer",
        answer_request,
        "Answer a request with a grant",
        "requests",
        body="json",
        status=204,
        errors=(401, 404),
        request=lambda lim: obj(lim, 1, {"grant_id": HEX_ID}, {"envelope": nullable(b64())}),
    ),
]
