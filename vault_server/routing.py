"""The route table: one list of :class:`Route` drives both aiohttp registration and the
OpenAPI document, so the two cannot drift apart (a test checks it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

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


def register(app: web.Application, routes: list[Route]) -> None:
    for r in routes:
        app.router.add_route(r.method, r.path, r.handler)
