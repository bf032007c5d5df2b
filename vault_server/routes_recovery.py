"""Trusted-contact recovery (SPEC §Trusted contacts): sets, recoveries, approvals, vetoes.

Theory of operation
-------------------
The owner uploads a set signed by the account's identity key, with one share per contact
sealed to that contact's key and the bundle wrapped under the contacts KEK; the server checks
the signature and the shape with the same core code as the clients (vault_core.recovery) and
keeps the threshold and delay in columns. A new device starts a recovery with its request
(unauthenticated, at most ``MAX_PENDING`` pending per account) and the owner's sockets are
told. A contact approves with a signed approval and its share re-sealed to the request's key;
the server verifies both against the contact's account key before storing (a signature that
does not verify is 403: a schema-valid body this account may not send). The owner vetoes
with a signed veto. ``GET /v1/recovery/{id}`` shows everything signed; the bundle only once the
server's own clock says the delay has passed after the threshold-th approval, with no veto.
``finish`` takes a proof by the contacts login key (bound to the recovery, the new device and
the host), closes the recovery and opens a session for the new device. The clients re-check
every signature and the delay from the signed times: this server's word is a hint.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vault_core import recovery as rc
from vault_core.encoding import b64u
from vault_core.errors import AccessDenied, BadRequest, IntegrityError, NotFound

from . import validate
from .context import ServerContext, ctx
from .httpio import bearer, json_response, no_content, path_id, read_json
from .routes_accounts import _device, _identity
from .routing import Route
from .schemas import (
    HANDLE,
    HEX_ID,
    NULL_TIME,
    SIG,
    TIME,
    answer,
    answer_list,
    array,
    b64,
    device,
    integer,
    nullable,
    obj,
)
from .sessions import issue_session
from .storage.base import (
    ApprovalRow,
    RecoveryRow,
    RecoverySetRow,
    RecoveryShareRow,
)

MAX_PENDING = 3
_STATEMENT = 64 * 1024
_SEALED = 1024


def _b64(body: dict[str, Any], name: str, max_size: int = _STATEMENT) -> bytes:
    return validate.b64(body.get(name), name, min_size=1, max_size=max_size)


def _ready_at(r: RecoveryRow, s: RecoverySetRow | None, approvals: list[ApprovalRow]) -> int | None:
    """The server's own reading: its reception times and its delay column."""
    if s is None or s.set_id != r.set_id or len(approvals) < s.threshold:
        return None
    nth = sorted(a.received_at for a in approvals)[s.threshold - 1]
    return max(r.created_at, nth) + s.delay


async def put_set(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await read_json(request)
    statement = _b64(body, "statement")
    sig = validate.b64(body.get("sig"), "sig", size=64)
    bundle = _b64(body, "bundle")
    account = caller.account
    try:
        the_set = rc.open_set(statement, sig, account.sign_pk, account.handle)
    except IntegrityError:
        raise AccessDenied("statement: not a valid set signed by this account") from None
    items = validate.array(body.get("shares"), "shares", min(255, c.config.limits.list_items), 2)
    sealed: dict[str, bytes] = {}
    for item in items:
        it = validate.obj(item, "shares[]")
        handle = validate.handle(it.get("handle"), "shares[].handle")
        sealed[handle] = validate.b64(it.get("sealed"), "shares[].sealed", max_size=_SEALED)
    if set(sealed) != {k.handle for k in the_set.contacts} or len(items) != len(sealed):
        raise BadRequest("shares: one per contact of the set")
    shares = []
    for k in the_set.contacts:
        contact = await c.meta.get_account_by_handle(k.handle)
        if contact is None:
            raise NotFound(f"no account {k.handle}")
        shares.append(RecoveryShareRow(the_set.set_id, contact.id, k.handle, k.x, sealed[k.handle]))
    row = RecoverySetRow(
        account_id=account.id,
        set_id=the_set.set_id,
        statement=statement,
        sig=sig,
        bundle=bundle,
        login_pk=the_set.login_pk,
        threshold=the_set.threshold,
        delay=the_set.delay,
        created_at=c.clock.now(),
    )
    await c.meta.put_recovery_set(row, shares, c.clock.now())
    return no_content()


async def get_set(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    s = await c.meta.get_recovery_set(caller.account.id)
    if s is None:
        raise NotFound()
    return json_response({"statement": b64u(s.statement), "sig": b64u(s.sig)})


async def start(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await read_json(request)
    handle = validate.handle(body.get("handle"))
    raw = _b64(body, "request", 4096)
    try:
        req = rc.decode_request(raw)
    except IntegrityError:
        raise BadRequest("request: malformed") from None
    now = c.clock.now()
    if req.account != handle or abs(req.created - now) > rc.CLOCK_SKEW:
        raise BadRequest("request: another account, or a time far from the server's")
    account = await c.meta.get_account_by_handle(handle)
    s = await c.meta.get_recovery_set(account.id) if account is not None else None
    if account is None or s is None:
        raise NotFound("no trusted contacts for this account")
    row = RecoveryRow(req.recovery, account.id, handle, s.set_id, raw, now, "pending")
    await c.meta.create_recovery(row, MAX_PENDING)
    await c.hub.publish(account.id, {"type": "recovery"})
    return json_response({"id": req.recovery, "threshold": s.threshold, "delay": s.delay}, 201)


async def _view(c: ServerContext, r: RecoveryRow) -> dict[str, Any]:
    s = await c.meta.get_recovery_set(r.account_id)
    if s is not None and s.set_id != r.set_id:
        s = None
    approvals = await c.meta.list_recovery_approvals(r.id)
    ready = _ready_at(r, s, approvals) if r.state == "pending" else None
    give = ready is not None and c.clock.now() >= ready
    return {
        "id": r.id,
        "account": r.account_handle,
        "state": r.state,
        "created_at": r.created_at,
        "request": b64u(r.request),
        "set": {"statement": b64u(s.statement), "sig": b64u(s.sig)} if s is not None else None,
        "threshold": s.threshold if s is not None else None,
        "delay": s.delay if s is not None else None,
        "approvals": [
            {
                "contact": a.contact_handle,
                "statement": b64u(a.statement),
                "sig": b64u(a.sig),
                "share": b64u(a.resealed),
                "received_at": a.received_at,
            }
            for a in approvals
        ],
        "veto": (
            {"statement": b64u(r.veto), "sig": b64u(r.veto_sig)}
            if r.veto is not None and r.veto_sig is not None
            else None
        ),
        "ready_at": ready,
        "bundle": b64u(s.bundle) if give and s is not None else None,
    }


async def get_recovery(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    r = await c.meta.get_recovery(path_id(request))
    if r is None:
        raise NotFound()
    return json_response(await _view(c, r))


async def list_account(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    rows = await c.meta.list_recoveries(caller.account.id)
    return json_response([await _view(c, r) for r in rows])


async def list_pending(request: web.Request) -> web.StreamResponse:
    """The recoveries waiting for this caller as a contact, with its sealed share."""
    c = ctx(request)
    caller = await bearer(request)
    out = []
    for r in await c.meta.list_contact_recoveries(caller.account.id):
        share = await c.meta.get_recovery_share(r.set_id, caller.account.id)
        if share is None:
            continue
        view = await _view(c, r)
        view["my_share"] = b64u(share.sealed)
        view["approved"] = any(a["contact"] == caller.account.handle for a in view["approvals"])
        out.append(view)
    return json_response(out)


async def approve(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await read_json(request)
    r = await c.meta.get_recovery(path_id(request))
    share = await c.meta.get_recovery_share(r.set_id, caller.account.id) if r else None
    s = await c.meta.get_recovery_set(r.account_id) if r else None
    if r is None or share is None or s is None or s.set_id != r.set_id:
        raise NotFound()
    if r.state != "pending":
        raise AccessDenied(f"this recovery is {r.state}")
    owner = await c.meta.get_account(r.account_id)
    statement = _b64(body, "statement", 4096)
    sig = validate.b64(body.get("sig"), "sig", size=64)
    resealed = _b64(body, "share", _SEALED)
    try:
        assert owner is not None
        the_set = rc.open_set(s.statement, s.sig, owner.sign_pk, owner.handle)
        contact = the_set.contact(caller.account.handle)
        if contact.sign_pk != caller.account.sign_pk:
            raise IntegrityError()
        rc.check_approval(statement, sig, the_set, contact, r.request, resealed)
    except IntegrityError:
        raise AccessDenied("approval: not valid for this recovery and contact") from None
    row = ApprovalRow(
        r.id, caller.account.id, caller.account.handle, statement, sig, resealed, c.clock.now()
    )
    if not await c.meta.add_recovery_approval(row):
        raise AccessDenied("this recovery is no longer pending")
    await c.hub.publish(r.account_id, {"type": "recovery"})
    return no_content()


async def veto(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await read_json(request)
    r = await c.meta.get_recovery(path_id(request))
    if r is None or r.account_id != caller.account.id:
        raise NotFound()
    statement = _b64(body, "statement", 4096)
    sig = validate.b64(body.get("sig"), "sig", size=64)
    try:
        rc.check_veto(statement, sig, caller.account.sign_pk, r.request)
    except IntegrityError:
        raise AccessDenied("veto: not valid for this recovery") from None
    if not await c.meta.close_recovery(r.id, "vetoed", c.clock.now(), statement, sig):
        raise AccessDenied(f"this recovery is {r.state}")
    await c.hub.publish(r.account_id, {"type": "recovery"})
    return no_content()


async def finish(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await read_json(request)
    r = await c.meta.get_recovery(path_id(request))
    if r is None:
        raise NotFound()
    signature = validate.b64(body.get("signature"), "signature", size=64)
    new_device = _device(c, body.get("device"), r.account_id)
    s = await c.meta.get_recovery_set(r.account_id)
    approvals = await c.meta.list_recovery_approvals(r.id)
    ready = _ready_at(r, s, approvals)
    if r.state != "pending" or s is None or ready is None or c.clock.now() < ready:
        raise AccessDenied("this recovery cannot finish now")
    host = c.config.public_host or request.host
    try:
        rc.verify_finish(
            s.login_pk, r.account_handle, r.id, new_device.id, new_device.sign_pk, host, signature
        )
    except IntegrityError:
        raise AccessDenied("signature: not valid") from None
    account = await c.meta.get_account(r.account_id)
    if account is None or not await c.meta.close_recovery(r.id, "finished", c.clock.now()):
        raise AccessDenied("this recovery cannot finish now")
    token, expires_at = await issue_session(c, account.id, new_device.id, new_device)
    return json_response(
        {
            "token": token,
            "expires_at": expires_at,
            "kdf": account.kdf,
            "identity": _identity(account),
            "device_id": new_device.id,
            "bundle": b64u(s.bundle),
        }
    )


# -- the route table -------------------------------------------------------------------------

_SIGNED = answer({"statement": b64(), "sig": b64(64)})
_VIEW = answer(
    {
        "id": HEX_ID,
        "account": HANDLE,
        "state": {"enum": ["pending", "vetoed", "finished", "cancelled"]},
        "created_at": TIME,
        "request": b64(),
        "set": {"anyOf": [{"type": "null"}, _SIGNED]},
        "threshold": nullable(integer()),
        "delay": nullable(integer()),
        "approvals": answer_list(
            answer(
                {
                    "contact": HANDLE,
                    "statement": b64(),
                    "sig": b64(64),
                    "share": b64(),
                    "received_at": TIME,
                }
            )
        ),
        "veto": {"anyOf": [{"type": "null"}, _SIGNED]},
        "ready_at": NULL_TIME,
        "bundle": nullable(b64()),
    },
)
_PENDING_VIEW = {
    **_VIEW,
    "required": [*_VIEW["required"], "my_share", "approved"],
    "properties": {**_VIEW["properties"], "my_share": b64(), "approved": {"type": "boolean"}},
}
_STATEMENT_FIELD = b64(min_size=1, max_size=_STATEMENT)
_SMALL_STATEMENT = b64(min_size=1, max_size=4096)
_KDF_ANSWER = answer(
    {
        "alg": {"const": "argon2id"},
        "m_kib": {"type": "integer"},
        "t": {"type": "integer"},
        "p": {"type": "integer"},
        "salt": b64(16),
    }
)

ROUTES = [
    Route(
        "PUT",
        "/v1/recovery/set",
        put_set,
        "Set this account's trusted contacts (owner-signed set, sealed shares)",
        "recovery",
        body="json",
        status=204,
        errors=(400, 401, 403, 404, 409),
        request=lambda lim: obj(
            lim,
            1,
            {
                "statement": _STATEMENT_FIELD,
                "sig": SIG,
                "bundle": b64(min_size=1, max_size=_STATEMENT),
                "shares": array(
                    obj(
                        lim,
                        3,
                        {"handle": HANDLE, "sealed": b64(max_size=_SEALED)},
                    ),
                    min(255, lim.list_items),
                    2,
                ),
            },
        ),
    ),
    Route(
        "GET",
        "/v1/recovery/set",
        get_set,
        "This account's trusted-contact set",
        "recovery",
        errors=(401, 404),
        response=_SIGNED,
    ),
    Route(
        "POST",
        "/v1/recovery",
        start,
        "Start a recovery from a new device",
        "recovery",
        auth="none",
        body="json",
        status=201,
        errors=(400, 404, 409, 429),
        request=lambda lim: obj(
            lim, 1, {"handle": HANDLE, "request": b64(min_size=1, max_size=4096)}
        ),
        response=answer({"id": HEX_ID, "threshold": integer(), "delay": integer()}),
    ),
    Route(
        "GET",
        "/v1/recovery/account",
        list_account,
        "Recoveries of this account (for its devices: veto)",
        "recovery",
        errors=(401,),
        response=answer_list(_VIEW),
    ),
    Route(
        "GET",
        "/v1/recovery/pending",
        list_pending,
        "Recoveries waiting for this account as a trusted contact",
        "recovery",
        errors=(401,),
        response=answer_list(_PENDING_VIEW),
    ),
    Route(
        "GET",
        "/v1/recovery/{id}",
        get_recovery,
        "One recovery: request, set, approvals, veto, and the bundle once ready",
        "recovery",
        auth="none",
        errors=(400, 404),
        response=_VIEW,
    ),
    Route(
        "POST",
        "/v1/recovery/{id}/approve",
        approve,
        "Approve as a trusted contact (signed approval, share re-sealed to the new device)",
        "recovery",
        body="json",
        status=204,
        errors=(400, 401, 403, 404, 409),
        request=lambda lim: obj(
            lim,
            1,
            {"statement": _SMALL_STATEMENT, "sig": SIG, "share": b64(min_size=1, max_size=_SEALED)},
        ),
    ),
    Route(
        "POST",
        "/v1/recovery/{id}/veto",
        veto,
        "Veto a recovery of this account (owner-signed)",
        "recovery",
        body="json",
        status=204,
        errors=(400, 401, 403, 404),
        request=lambda lim: obj(lim, 1, {"statement": _SMALL_STATEMENT, "sig": SIG}),
    ),
    Route(
        "POST",
        "/v1/recovery/{id}/finish",
        finish,
        "Finish a recovery with the contacts login key; a session for the new device",
        "recovery",
        auth="none",
        body="json",
        errors=(400, 403, 404, 409),
        request=lambda lim: obj(lim, 1, {"signature": SIG, "device": device(lim, 2)}),
        response=answer(
            {
                "token": b64(32),
                "expires_at": TIME,
                "kdf": _KDF_ANSWER,
                "identity": answer({"sign_pk": b64(32), "box_pk": b64(32), "sig": b64(64)}),
                "device_id": HEX_ID,
                "bundle": b64(),
            }
        ),
    ),
]
