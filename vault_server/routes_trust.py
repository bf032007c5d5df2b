"""The trust roots an operator ships with a deployment (``vault-server serve --trust-roots``).

The server only hands out the signed file it was started with (SPEC §Trust roots): clients
verify it, show it, and pin it only when their owner accepts; a list that changes later is
refused by them until accepted again. The server cannot make a client trust anything."""

from __future__ import annotations

from aiohttp import web

from vault_core.errors import NotFound

from .context import ctx
from .routing import Route
from .schemas import answer


async def trust_roots(request: web.Request) -> web.StreamResponse:
    data = ctx(request).config.trust_roots
    if data is None:
        raise NotFound("this server ships no trust roots")
    return web.Response(
        body=data, content_type="application/json", headers={"Cache-Control": "no-cache"}
    )


ROUTES = [
    Route(
        "GET",
        "/v1/trust-roots",
        trust_roots,
        "The operator's signed list of trust roots (authorities), if any",
        "trust",
        auth="none",
        errors=(404,),
        response=answer(
            {
                "roots": {"type": "object", "required": ["deployment", "issued", "roots"]},
                "signer": {"type": "string"},
                "sig": {"type": "string"},
            }
        ),
    ),
]
