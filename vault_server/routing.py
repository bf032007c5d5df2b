"""The route table: one list of :class:`Route` drives both aiohttp registration and the
OpenAPI document, so the two cannot drift apart (a test checks it)."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11

from .config import Limits

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthKind = Literal["none", "bearer", "bearer_optional", "grant_or_bearer", "websocket"]
BodyKind = Literal["none", "json", "raw"]
# a JSON Schema, or how to make one from the server's limits
SchemaSource = dict[str, Any] | Callable[[Limits], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """One operation: how aiohttp serves it and what the OpenAPI document says of it.

    ``request``: the schema of the body (JSON, or the raw bytes); ``response``: the schema of
    the JSON answer with ``status`` (None: no body, or ``media`` bytes); ``also``: other
    success statuses with the same answer; ``query`` and ``headers``: their parameters
    (name, schema, required)."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: AuthKind = "bearer"
    body: BodyKind = "none"
    request: SchemaSource | None = None
    body_required: bool = True
    status: int = 200
    also: tuple[int, ...] = ()
    response: SchemaSource | None = None
    media: str | tuple[str, ...] = "application/json"
    errors: tuple[int, ...] = field(default=(400,))
    query: tuple[tuple[str, SchemaSource, bool], ...] = ()
    headers: tuple[tuple[str, dict[str, Any], bool], ...] = ()
    description: str = ""


_SEGMENT = re.compile(r"\{[a-z_]+\}")


def _path_regex(path: str) -> re.Pattern[str]:
    """How aiohttp (and OpenAPI) match a path template: a placeholder is one segment."""
    parts = _SEGMENT.split(path)
    return re.compile("^" + "[^{}/]+".join(re.escape(p) for p in parts) + "$")


class PathTable:
    """Which documented path item a request path falls in, as OpenAPI reads the document: a
    literal path wins over templates (``/v1/blobs/missing`` is not a blob id), and templates of
    the same shape (``/v1/inbox/{handle}`` and ``/v1/inbox/{id}``) are one path item."""

    def __init__(self, routes: list[Route]) -> None:
        self.literal: dict[str, set[str]] = {}
        self.templated: list[tuple[re.Pattern[str], str, set[str]]] = []
        shapes: dict[str, set[str]] = {}
        for r in routes:
            if "{" in r.path:
                shapes.setdefault(_SEGMENT.sub("{}", r.path), set()).add(r.method)
            else:
                self.literal.setdefault(r.path, set()).add(r.method)
        for shape, methods in shapes.items():
            self.templated.append((_path_regex(shape.replace("{}", "{x}")), shape, methods))

    def allowed(self, path: str) -> set[str] | None:
        """The methods the document lists for ``path`` (None: no path item matches)."""
        if path in self.literal:
            return self.literal[path]
        for regex, _, methods in self.templated:
            if regex.match(path):
                return methods
        return None

    def shadowed(self, route: Route, path: str) -> set[str] | None:
        """For a templated route: the methods of the literal path item ``path`` belongs to
        instead (then the route must not serve it), else None."""
        if "{" in route.path and path in self.literal:
            return self.literal[path]
        return None


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


def _guarded(table: PathTable, route: Route) -> Handler:
    """A templated route's handler, refusing with 405 the paths of a literal path item
    (``PUT /v1/blobs/missing``, ``POST /v1/requests/sent``): OpenAPI's reading, not the
    first template that matches."""

    @functools.wraps(route.handler)
    async def handler(request: web.Request) -> web.StreamResponse:
        methods = table.shadowed(route, request.path)
        if methods is not None:
            raise web.HTTPMethodNotAllowed(request.method, sorted(methods))
        return await route.handler(request)

    return handler


def register(app: web.Application, routes: list[Route]) -> None:
    table = PathTable(routes)
    for r in routes:
        handler = _guarded(table, r) if "{" in r.path else r.handler
        app.router.add_route(r.method, r.path, handler, expect_handler=expect_handler)
