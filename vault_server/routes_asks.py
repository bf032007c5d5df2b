"""Citizens' asks (SPEC §Asks): an owner asks an issuer account for a document; the issuer
fulfils it with a certified deposit it links here.

The server sees who asked whom and when, two opaque envelopes (the ask sealed to the issuer
account, and the asker's own copy) and, once fulfilled, the deposit id and the issuer's reply
sealed to the asker: never the document type nor the message. It refuses an ask to an account
without the issuer role (403), and a fulfilment whose deposit is not, from this issuer to the
asker, in the asker's inbox. It cannot forge the link: the asker's client believes it only
from the issuer's signed reply.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vault_core.encoding import b64u
from vault_core.errors import AccessDenied, BadRequest, NotFound

from . import limits, validate
from .context import ctx
from .httpio import bearer, json_response, path_handle, path_id, read_json
from .routing import Route
from .schemas import HANDLE, HEX_ID, TIME, answer, answer_list, b64, obj
from .storage.base import AskRow


async def send_ask(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    target = await c.meta.get_account_by_handle(path_handle(request))
    if target is None:
        raise NotFound("no such account")
    if not target.is_issuer:
        raise AccessDenied("this account is not an administration (issuer): it takes no asks")
    if target.id == caller.account.id:
        raise BadRequest("an account cannot ask itself")
    await limits.take_asker(c, caller.account.id)
    body = await read_json(request)
    size = c.config.limits.ask_envelope
    row = AskRow(
        id=validate.hex_id(body.get("id")),
        sender_id=caller.account.id,
        sender_handle=caller.account.handle,
        recipient_id=target.id,
        recipient_handle=target.handle,
        envelope=validate.b64(body.get("envelope"), "envelope", min_size=1, max_size=size),
        own_copy=validate.b64(body.get("copy"), "copy", min_size=1, max_size=size),
        created_at=c.clock.now(),
    )
    await c.meta.add_ask(row, c.config.limits.asks_open)
    await c.hub.publish(target.id, {"type": "ask"})
    return json_response({"id": row.id}, 201)


def _view(a: AskRow, sent: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id,
        "from": a.sender_handle,
        "to": a.recipient_handle,
        "created_at": a.created_at,
        "state": "fulfilled" if a.deposit_id is not None else "open",
    }
    if sent:
        out["copy"] = b64u(a.own_copy)
    else:
        out["envelope"] = b64u(a.envelope)
    if a.deposit_id is not None:
        done: dict[str, Any] = {"deposit_id": a.deposit_id, "fulfilled_at": a.fulfilled_at}
        if sent and a.reply is not None:
            done["reply"] = b64u(a.reply)
        out["fulfilment"] = done
    return out


async def asks_received(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_asks(caller.account.id, sent=False)
    return json_response([_view(a, sent=False) for a in items])


async def asks_sent(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_asks(caller.account.id, sent=True)
    return json_response([_view(a, sent=True) for a in items])


async def fulfil_ask(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    ask_id = path_id(request)
    if not caller.account.is_issuer:
        raise AccessDenied("issuer role required")
    await limits.take_issuer(c, caller.account.id)
    body = await read_json(request)
    deposit_id = validate.hex_id(body.get("deposit_id"), "deposit_id")
    reply = validate.b64(
        body.get("reply"), "reply", min_size=1, max_size=c.config.limits.ask_envelope
    )
    try:
        done = await c.meta.fulfil_ask(caller.account.id, ask_id, deposit_id, reply, c.clock.now())
    except BadRequest:  # the store's "unknown deposit": not this issuer's, to this asker
        raise NotFound("unknown deposit") from None
    if done is None:
        raise NotFound("no such ask")
    await c.hub.publish(done.sender_id, {"type": "ask"})
    return json_response(_view(done, sent=False))


_FULFILMENT = answer({"deposit_id": HEX_ID, "fulfilled_at": TIME})
_STATE = {"enum": ["open", "fulfilled"]}
_COMMON = {"id": HEX_ID, "from": HANDLE, "to": HANDLE, "created_at": TIME, "state": _STATE}
_RECEIVED = answer({**_COMMON, "envelope": b64()}, {"fulfilment": _FULFILMENT})
_SENT = answer(
    {**_COMMON, "copy": b64()},
    {"fulfilment": answer({"deposit_id": HEX_ID, "fulfilled_at": TIME}, {"reply": b64()})},
)

ROUTES = [
    Route(
        "POST",
        "/v1/asks/{handle}",
        send_ask,
        "Ask an administration (an issuer account) for a document",
        "asks",
        body="json",
        status=201,
        errors=(401, 403, 404, 409, 429, 507),
        request=lambda lim: obj(
            lim,
            1,
            {
                "id": HEX_ID,
                "envelope": b64(min_size=1, max_size=lim.ask_envelope),
                "copy": b64(min_size=1, max_size=lim.ask_envelope),
            },
        ),
        response=answer({"id": HEX_ID}),
        description="`envelope`: the ask sealed to the issuer account; `copy`: the same ask "
        "sealed to the asker (SPEC §Asks). 403 when the account is not an issuer; 429 over "
        "`asks_per_minute`; 507 with `asks_open` asks of this account not yet fulfilled.",
    ),
    Route(
        "GET",
        "/v1/asks/received",
        asks_received,
        "Asks received (issuer)",
        "asks",
        errors=(401,),
        response=answer_list(_RECEIVED),
    ),
    Route(
        "GET",
        "/v1/asks/sent",
        asks_sent,
        "Asks sent, with the issuer's sealed reply once fulfilled",
        "asks",
        errors=(401,),
        response=answer_list(_SENT),
    ),
    Route(
        "POST",
        "/v1/asks/{id}/fulfil",
        fulfil_ask,
        "Link the deposit that fulfils an ask (issuer role)",
        "asks",
        body="json",
        errors=(401, 403, 404, 409, 429),
        request=lambda lim: obj(
            lim,
            1,
            {"deposit_id": HEX_ID, "reply": b64(min_size=1, max_size=lim.ask_envelope)},
        ),
        response=_RECEIVED,
        description="The deposit must be this issuer's, to the asker, still in the asker's "
        "inbox (else 404); an ask is fulfilled once (else 409).",
    ),
]
