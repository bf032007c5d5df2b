"""The route table: one list of :class:`Route` drives both aiohttp registration and the
OpenAPI document, so the two cannot drift apart (a test checks it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthKind = Literal["none", "bearer", "bearer_optional", "grant_or_bearer", "websocket"]
BodyKind = Literal["none", "json", "raw"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: AuthKind = "bearer"
    body: BodyKind = "none"
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    status: int = 200
    errors: tuple[int, ...] = field(default=(400,))
    query: tuple[str, ...] = ()


async def expect_handler(request: web.Request) -> None:
    """``Expect: 100-continue`` as aiohttp answers it; any other expectation is a 417 in the
    API's error shape (aiohttp's own 417 is text that echoes the header)."""
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version != HttpVersion11:
        return
    if expect.lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the answer proper has not begun
        return
    raise web.HTTPExpectationFailed(
        text='{"code":"bad_request","message":"unsupported expectation"}',
        content_type="application/json",
    )


def register(app: web.Application, routes: list[Route]) -> None:
    for r in routes:
        app.router.add_route(r.method, r.path, r.handler, expect_handler=expect_handler)
