"""Grants: the owner creates, updates, revokes, lists and audits; the grantee opens and fetches.

Theory of operation
-------------------
A grant row holds the owner-signed header and encrypted payload (opaque to the server), its
limits (expiry, max uses), counters (uses, failed attempts) and its blob set. Opening checks
the access token (link grants: SHA-256 compared with ``access_hash``; account grants: the
grantee's bearer session) and then, in one transaction, re-checks that the grant is active,
counts the use, stores a grant session token (hashed) and logs the access. Every later call
(blob fetch) looks the grant up again and refuses unless it is still unrevoked, unexpired and
unlocked *now*; revocation also deletes the grant's sessions. A wrong link token counts a failed
attempt; at ``grant_failed_attempts`` the grant locks for good. Unknown, foreign and unavailable
grants all answer the same 410 to the grantee.
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from vault_core import _crypto
from vault_core.encoding import b64u
from vault_core.errors import AccessDenied, AuthError, BadRequest, GrantUnavailable, NotFound
from vault_core.login import token_hash

from . import validate
from .config import Limits
from .context import ServerContext, ctx
from .httpio import (
    Caller,
    authorization,
    bearer,
    caller_from_token,
    json_response,
    no_content,
    parse_token,
    path_blob_id,
    path_id,
    read_json,
)
from .routes_blobs import stream_blob
from .routing import Route
from .schemas import (
    BLOB_ID,
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
from .storage.base import Grant, GrantListItem, GrantSession


def _state(c: ServerContext, g: Grant) -> str:
    return g.state(c.clock.now(), c.config.limits.grant_failed_attempts)


def _blob_ids(c: ServerContext, value: object) -> list[str]:
    items = validate.array(value, "blobs", c.config.limits.list_items)
    return [validate.blob_id(b, "blobs") for b in items]


async def create_grant(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await read_json(request)
    now = c.clock.now()
    grant_id = validate.hex_id(body.get("id"))
    kind = body.get("kind")
    to_id: int | None = None
    access_hash: bytes | None = None
    if kind == "link":
        access_hash = validate.b64(body.get("access_hash"), "access_hash", size=32)
        if body.get("to") is not None:
            raise BadRequest("to: not allowed for a link grant")
    elif kind == "account":
        to = await c.meta.get_account_by_handle(validate.handle(body.get("to"), "to"))
        if to is None:
            raise NotFound("unknown recipient")
        to_id = to.id
        if body.get("access_hash") is not None:
            raise BadRequest("access_hash: not allowed for an account grant")
    else:
        raise BadRequest("kind: must be link or account")
    expires_at = validate.integer(body.get("expires_at"), "expires_at", now + 1)
    max_uses = None
    if body.get("max_uses") is not None:
        max_uses = validate.integer(body.get("max_uses"), "max_uses", 1)
    password = validate.boolean(body.get("password", False), "password")
    sealed_key = None
    if body.get("sealed_key") is not None:
        sealed_key = validate.b64(
            body.get("sealed_key"), "sealed_key", max_size=c.config.limits.small_blob_field
        )
    grant = Grant(
        id=grant_id,
        owner_id=caller.account.id,
        kind=kind,
        to_account_id=to_id,
        access_hash=access_hash,
        expires_at=expires_at,
        max_uses=max_uses,
        uses=0,
        failed=0,
        password=password,
        header=validate.b64(body.get("header"), "header"),
        payload=validate.b64(body.get("payload"), "payload"),
        sealed_key=sealed_key,
        revoked_at=None,
        created_at=now,
    )
    await c.meta.create_grant(grant, _blob_ids(c, body.get("blobs")))
    return json_response({"id": grant_id}, 201)


async def update_payload(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    grant_id = path_id(request)
    body = await read_json(request)
    payload = validate.b64(body.get("payload"), "payload")
    blobs = _blob_ids(c, body.get("blobs"))
    await c.meta.update_grant_payload(
        caller.account.id,
        grant_id,
        payload,
        blobs,
        c.clock.now(),
        c.config.limits.grant_failed_attempts,
    )
    return no_content()


async def revoke_grant(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    if not await c.meta.revoke_grant(caller.account.id, path_id(request), c.clock.now()):
        raise NotFound()
    return no_content()


def _owner_view(c: ServerContext, item: GrantListItem) -> dict[str, Any]:
    g = item.grant
    return {
        "id": g.id,
        "kind": g.kind,
        "to": item.to_handle,
        "expires_at": g.expires_at,
        "max_uses": g.max_uses,
        "uses": g.uses,
        "state": _state(c, g),
        "created_at": g.created_at,
    }


async def list_grants(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_grants(caller.account.id)
    return json_response([_owner_view(c, i) for i in items])


async def grant_log(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    entries = await c.meta.grant_access_log(caller.account.id, path_id(request))
    if entries is None:
        raise NotFound()
    out = []
    for e in entries:
        item: dict[str, Any] = {"at": e.at, "what": e.what}
        if e.account_handle is not None:
            item["account"] = e.account_handle
        out.append(item)
    return json_response(out)


async def list_shared(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    items = await c.meta.list_shared(caller.account.id)
    return json_response(
        [
            {
                "id": i.grant.id,
                "from": i.owner_handle,
                "expires_at": i.grant.expires_at,
                "state": _state(c, i.grant),
            }
            for i in items
        ]
    )


async def _grantee(request: web.Request, grant: Grant | None) -> tuple[Grant, Caller | None]:
    """Who asks to open ``grant``: for a link grant the access token must match."""
    c = ctx(request)
    auth = authorization(request)
    # The credential is judged before the grant is looked at, and a grant of the other kind
    # answers like an unknown one: the status never tells whether an id exists.
    scheme = auth[0].lower() if auth is not None else ""
    if auth is None or scheme not in ("bearer", "grant"):
        raise AuthError()
    if scheme == "bearer":
        caller = await caller_from_token(request, auth[1])
        if grant is None or grant.kind != "account" or caller.account.id != grant.to_account_id:
            raise GrantUnavailable()
        if _state(c, grant) != "active":
            raise GrantUnavailable()
        return grant, caller
    if grant is None or grant.kind != "link" or _state(c, grant) != "active":
        raise GrantUnavailable()
    token = parse_token(auth[1])
    given = token_hash(token if token is not None else b"")
    assert grant.access_hash is not None
    if token is None or not _crypto.equal(given, grant.access_hash):
        await c.meta.grant_failed_attempt(grant.id)
        raise AccessDenied()
    return grant, None


async def open_grant(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    grant_id = path_id(request)
    grant, caller = await _grantee(request, await c.meta.get_grant(grant_id))
    now = c.clock.now()
    token = os.urandom(32)
    account_id = caller.account.id if caller is not None else None
    expires_at = min(grant.expires_at, now + c.config.limits.token_lifetime)
    opened = await c.meta.grant_open(
        grant_id,
        now,
        c.config.limits.grant_failed_attempts,
        GrantSession(token_hash(token), grant_id, account_id, expires_at),
    )
    if opened is None:
        raise GrantUnavailable()
    await c.hub.publish(grant.owner_id, {"type": "grant_access", "grant": grant_id})
    answer: dict[str, Any] = {
        "header": b64u(opened.header),
        "payload": b64u(opened.payload),
        "session": b64u(token),
        "expires_at": expires_at,
    }
    if opened.sealed_key is not None:
        answer["sealed_key"] = b64u(opened.sealed_key)
    return json_response(answer)


async def grant_blob(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    grant_id = path_id(request)
    blob_id = path_blob_id(request)
    now = c.clock.now()
    auth = authorization(request)
    if auth is None:
        raise AuthError()
    scheme, cred = auth[0].lower(), auth[1]
    account_id: int | None = None
    if scheme == "grant":
        token = parse_token(cred)
        session = await c.meta.get_grant_session(token_hash(token), now) if token else None
        if session is None or session.grant_id != grant_id:
            raise GrantUnavailable()
        account_id = session.account_id
        grant = await c.meta.get_grant(grant_id)
    elif scheme == "bearer":
        caller = await caller_from_token(request, cred)
        account_id = caller.account.id
        grant = await c.meta.get_grant(grant_id)
        if grant is None or grant.kind != "account" or grant.to_account_id != account_id:
            raise GrantUnavailable()
        if grant.uses < 1:  # the grantee must have opened it (that counts the use)
            raise GrantUnavailable()
    else:
        raise AuthError()
    # Re-check at this instant: revoked, expired and locked grants serve nothing. A grant that
    # became used_up still serves the sessions that were counted within its limit.
    if grant is None or _state(c, grant) not in ("active", "used_up"):
        raise GrantUnavailable()
    if not await c.meta.grant_has_blob(grant_id, blob_id):
        raise NotFound()
    if await c.meta.blob_size(grant.owner_id, blob_id) is None:
        raise NotFound()
    await c.meta.grant_log_access(grant_id, now, blob_id, account_id)
    await c.hub.publish(grant.owner_id, {"type": "grant_access", "grant": grant_id})
    return await stream_blob(request, c, grant.owner_id, blob_id)


_STATES = {"enum": ["active", "expired", "revoked", "used_up", "locked"]}
_NULL = {"type": "null"}


def _create_body(lim: Limits) -> dict[str, Any]:
    common = {
        "id": HEX_ID,
        "expires_at": integer(what="Unix seconds, later than the server's clock"),
        "header": b64(),
        "payload": b64(),
        "blobs": array(BLOB_ID, lim.list_items),
    }
    optional = {
        "max_uses": nullable(integer(1)),
        "password": {"type": "boolean"},
        "sealed_key": nullable(b64(max_size=lim.small_blob_field)),
    }
    return {
        "oneOf": [
            obj(
                lim,
                1,
                {**common, "kind": {"const": "link"}, "access_hash": b64(32)},
                {**optional, "to": _NULL},
            ),
            obj(
                lim,
                1,
                {**common, "kind": {"const": "account"}, "to": HANDLE},
                {**optional, "access_hash": _NULL},
            ),
        ]
    }


ROUTES = [
    Route(
        "POST",
        "/v1/grants",
        create_grant,
        "Create a grant",
        "grants",
        body="json",
        status=201,
        errors=(401, 404, 409),
        request=_create_body,
        response=answer({"id": HEX_ID}),
    ),
    Route(
        "GET",
        "/v1/grants",
        list_grants,
        "Grants made by this account",
        "grants",
        errors=(401,),
        response=answer_list(
            answer(
                {
                    "id": HEX_ID,
                    "kind": {"enum": ["link", "account"]},
                    "to": nullable(HANDLE),
                    "expires_at": TIME,
                    "max_uses": nullable(integer(1)),
                    "uses": integer(),
                    "state": _STATES,
                    "created_at": TIME,
                }
            )
        ),
    ),
    Route(
        "PUT",
        "/v1/grants/{id}/payload",
        update_payload,
        "Replace a live grant's payload and blob set",
        "grants",
        body="json",
        status=204,
        errors=(401, 404, 410),
        request=lambda lim: obj(
            lim, 1, {"payload": b64(), "blobs": array(BLOB_ID, lim.list_items)}
        ),
    ),
    Route(
        "DELETE",
        "/v1/grants/{id}",
        revoke_grant,
        "Revoke a grant at once",
        "grants",
        status=204,
        errors=(401, 404),
    ),
    Route(
        "GET",
        "/v1/grants/{id}/log",
        grant_log,
        "Accesses to a grant",
        "grants",
        errors=(401, 404),
        response=answer_list(
            answer(
                {"at": TIME, "what": {"anyOf": [BLOB_ID, {"const": "open"}]}},
                {"account": HANDLE},
            )
        ),
    ),
    Route(
        "POST",
        "/v1/grants/{id}/open",
        open_grant,
        "Open a grant (counts one use)",
        "grants",
        auth="grant_or_bearer",
        errors=(401, 403, 410),
        response=answer(
            {"header": b64(), "payload": b64(), "session": b64(32), "expires_at": TIME},
            {"sealed_key": b64()},
        ),
    ),
    Route(
        "GET",
        "/v1/grants/{id}/blobs/{blob_id}",
        grant_blob,
        "Fetch a blob of the grant's blob set",
        "grants",
        auth="grant_or_bearer",
        errors=(401, 404, 410),
        media="application/octet-stream",
    ),
    Route(
        "GET",
        "/v1/shared",
        list_shared,
        "Grants made to this account",
        "grants",
        errors=(401,),
        response=answer_list(
            answer({"id": HEX_ID, "from": HANDLE, "expires_at": TIME, "state": _STATES})
        ),
    ),
]
