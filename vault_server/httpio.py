"""Request/response helpers shared by the route modules: bounded body reading, JSON answers,
path parameters and authentication."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from vault_core.encoding import unb64u
from vault_core.errors import AuthError, BadRequest, FormatError, TooLarge
from vault_core.login import token_hash

from . import validate
from .context import ctx
from .storage.base import Account, Session


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"),
        status=status,
        content_type="application/json",
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it exceeds ``limit`` bytes."""
    length = request.content_length
    if length is not None and length > limit:
        raise TooLarge()
    buf = bytearray()
    async for chunk in request.content.iter_any():
        buf += chunk
        if len(buf) > limit:
            raise TooLarge()
    return bytes(buf)


async def read_json(request: web.Request, limit: int | None = None) -> dict[str, Any]:
    lim = ctx(request).config.limits
    raw = await read_body(request, limit or lim.json_body)
    return validate.parse_json(raw, lim.json_depth, lim.list_items)


def path_handle(request: web.Request) -> str:
    return validate.handle(request.match_info["handle"])


def path_id(request: web.Request) -> str:
    return validate.hex_id(request.match_info["id"])


def path_blob_id(request: web.Request) -> str:
    return validate.blob_id(request.match_info["blob_id"])


def authorization(request: web.Request) -> tuple[str, str] | None:
    """(scheme, credentials) from the Authorization header, or None."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, cred = header.partition(" ")
    return scheme.strip(), cred.strip()


def parse_token(cred: str) -> bytes | None:
    try:
        return unb64u(cred, 32, "token")
    except FormatError:
        return None


@dataclass(frozen=True)
class Caller:
    account: Account
    session: Session
    token_hash: bytes = field(repr=False)


async def caller_from_token(request: web.Request, cred: str) -> Caller:
    c = ctx(request)
    token = parse_token(cred)
    if token is None:
        raise AuthError()
    th = token_hash(token)
    now = c.clock.now()
    session = await c.meta.get_session(th, now)
    if session is None:
        raise AuthError()
    if session.idle_timeout is not None and session.expires_at - now < session.idle_timeout - 30:
        # an ephemeral device's idle time slides with use (written at most every 30 s)
        await c.meta.extend_session(th, now + session.idle_timeout)
    account = await c.meta.get_account(session.account_id)
    if account is None:
        raise AuthError()
    return Caller(account, session, th)


async def bearer(request: web.Request) -> Caller:
    auth = authorization(request)
    if auth is None or auth[0].lower() != "bearer":
        raise AuthError()
    return await caller_from_token(request, auth[1])


def remote_address(request: web.Request, trusted_proxies: frozenset[str] = frozenset()) -> str:
    """The client's address: the TCP peer, or, when the peer is a trusted reverse proxy, the
    nearest address in ``X-Forwarded-For`` that is not a trusted proxy (the one the proxy
    itself saw). A client that is not a trusted proxy cannot choose its address this way."""
    peer = _normal_ip(request.remote or "unknown")
    if peer not in trusted_proxies:
        return peer
    hops = ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    for hop in reversed(hops):
        addr = _normal_ip(hop.strip())
        if addr and addr not in trusted_proxies:
            return addr[:64]
    return peer


def _normal_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def require(cond: bool, message: str) -> None:
    if not cond:
        raise BadRequest(message)
