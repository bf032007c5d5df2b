"""The aiohttp application: middlewares, route table, lifecycle of stores and background GC.

Theory of operation
-------------------
``build_app`` wires a :class:`ServerContext` (config, stores, clock, event hub, server secret)
into an aiohttp app whose routes all come from one table (``ALL_ROUTES``, also the source of the
OpenAPI document). Three middlewares wrap every handler:

* ``idle_trim``: notes when requests start and end, so that the heap's free memory goes back to
  the system once the server is idle (memory.py).

* ``access_log``: one JSON line per request on the ``vault_server.access`` logger (method, route
  pattern, path without query string, status, duration). Never headers, tokens or bodies.
* ``errors``: turns every :class:`VaultError` into ``{"code","message"}`` with its status,
  aiohttp's own HTTP errors (unknown route, wrong method, bad framing) into the same shape, and
  anything unexpected into a generic 500 whose traceback goes to the server log only.

``open_context`` opens the stores the configuration names (storage/backends.py: by default the
embedded SQLite + files under the data directory, creating it), loads or creates the server
secret (a file for the embedded store, a database row for a shared one), starts the event hub
(with its cross-process relay for a shared store) and settles uploads a crash left half-done:
all of them for the embedded store, which one process owns; only those older than an hour for
a shared one, where other processes may be uploading.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from aiohttp import web, web_protocol, web_server
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from vault_core.errors import IntegrityError, ServerUnavailable, TooLarge, VaultError

from . import (
    gc,
    limits,
    routes_accounts,
    routes_asks,
    routes_blobs,
    routes_devices,
    routes_events,
    routes_grants,
    routes_inbox,
    routes_log,
    routes_mandates,
    routes_recovery,
    routes_trust,
    routes_web,
    routes_webapp,
)
from .clock import Clock, SystemClock
from .config import ServerConfig
from .context import CTX, ServerContext
from .events import EventHub, EventRelay
from .httpio import json_response
from .memory import IdleTrim
from .openapi import build_openapi
from .routing import PathTable, Route, register
from .schemas import answer
from .storage.backends import open_stores
from .storage.base import STALE_UPLOAD

access_log = logging.getLogger("vault_server.access")
server_log = logging.getLogger("vault_server")

API_VERSION = 1
OPENAPI_KEY = web.AppKey("vault_openapi", bytes)
PATHS_KEY = web.AppKey("vault_paths", PathTable)
IDLE_TRIM = web.AppKey("vault_idle_trim", IdleTrim)


@runtime_checkable
class SecretHolder(Protocol):
    """A shared metadata store that keeps the server secret and relays events."""

    async def server_secret(self, candidate: bytes) -> bytes: ...
    def relay(self) -> EventRelay: ...


async def health(request: web.Request) -> web.StreamResponse:
    return json_response({"status": "ok", "version": API_VERSION})


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.Response(body=request.app[OPENAPI_KEY], content_type="application/json")


META_ROUTES = [
    Route(
        "GET",
        "/v1/health",
        health,
        "Liveness",
        "meta",
        auth="none",
        response=answer({"status": {"const": "ok"}, "version": {"const": API_VERSION}}),
    ),
    Route(
        "GET",
        "/v1/openapi.json",
        openapi,
        "This OpenAPI document",
        "meta",
        auth="none",
        response={"type": "object", "required": ["openapi", "paths"]},
    ),
]

ALL_ROUTES: list[Route] = [
    *META_ROUTES,
    *routes_accounts.ROUTES,
    *routes_devices.ROUTES,
    *routes_blobs.ROUTES,
    *routes_log.ROUTES,
    *routes_grants.ROUTES,
    *routes_inbox.ROUTES,
    *routes_events.ROUTES,
    *routes_web.ROUTES,
    *routes_webapp.ROUTES,
    *routes_recovery.ROUTES,
    *routes_asks.ROUTES,
    *routes_trust.ROUTES,
    *routes_mandates.ROUTES,
]

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",
    409: "conflict",
    410: "grant_unavailable",
    413: "too_large",
    429: "rate_limited",
}


def _error(status: int, code: str, message: str) -> web.Response:
    return json_response({"code": code, "message": message}, status)


def _out_of_space(exc: BaseException) -> bool:
    """A full disk or quota, as the OS (ENOSPC, EDQUOT) or SQLite (SQLITE_FULL) says it."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except IntegrityError:
        return _error(400, "bad_request", "invalid input")
    except VaultError as e:
        resp = json_response(e.to_wire(), e.http_status)
        if isinstance(e, limits.Throttled):
            resp.headers["Retry-After"] = str(e.retry_after)
        if isinstance(e, TooLarge):
            resp.force_close()  # do not linger reading the rest of a huge body
        return resp
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = _STATUS_CODES.get(e.status, "bad_request" if e.status < 500 else "internal")
        message = e.reason if e.status != 404 else "Not found."
        resp = _error(e.status, code, message)
        if e.status == 405:
            # the methods of the document's path item (aiohttp's own Allow is the union over
            # every route whose template matches, /v1/requests/sent's POST included)
            methods = request.app[PATHS_KEY].allowed(request.path)
            allow = ",".join(sorted(methods)) if methods else e.headers.get("Allow", "")
            resp.headers["Allow"] = allow
        return resp
    except HttpProcessingError:
        resp = _error(400, "bad_request", "malformed request body")
        resp.force_close()
        return resp
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception as e:  # noqa: BLE001 - last resort: never a traceback in a response
        if _out_of_space(e):
            # an operational condition, not a bug: said as such (the request failed; of a
            # batch, the records before the failing one may be stored)
            server_log.error("out of storage space on %s %s: %s", request.method, request.path, e)
            full = ServerUnavailable("the server is out of storage space; try later")
            return json_response(full.to_wire(), full.http_status)
        server_log.exception("unexpected error on %s %s", request.method, request.path)
        return _error(500, "internal", "internal error")


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    status = 500
    try:
        resp = await handler(request)
        status = resp.status
        return resp
    finally:
        route = request.match_info.route.resource
        access_log.info(
            json.dumps(
                {
                    "ts": round(time.time(), 3),
                    "method": request.method,
                    "route": route.canonical if route is not None else None,
                    "path": request.path,
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 2),
                    "remote": request.remote,
                },
                separators=(",", ":"),
            )
        )


def load_secret(data_dir: Path) -> bytes:
    """The server secret (HMAC key for fake login salts), created once, owner-only."""
    path = data_dir / "server.secret"
    try:
        secret = path.read_bytes()
        if len(secret) == 32:
            return secret
        raise RuntimeError(f"{path} is damaged (expected 32 bytes)")
    except FileNotFoundError:
        pass
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, os.urandom(32))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path.read_bytes()


async def open_context(config: ServerConfig, clock: Clock | None = None) -> ServerContext:
    data = config.data_dir
    if data is not None:
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
    clock = clock or SystemClock()
    stores = await open_stores(config.storage, data)
    meta, blobs = stores.meta, stores.blobs
    try:
        relay = None
        if isinstance(meta, SecretHolder):
            # Shared installation: one secret for every process (fake salts must agree).
            secret = await meta.server_secret(os.urandom(32))
            relay = meta.relay()
        else:
            assert data is not None
            secret = load_secret(data)
        hub = EventHub(relay, meta, clock)
        await hub.start()
    except BaseException:
        await meta.close()
        await blobs.close()
        raise
    c = ServerContext(config, meta, blobs, clock, hub, secret)
    if stores.shared:
        # Other processes may be uploading right now: settle only what is surely abandoned.
        report = await gc.recover(meta, blobs, older_than=clock.now() - STALE_UPLOAD)
        await blobs.sweep_staging(int(time.time()) - STALE_UPLOAD)
    else:
        # The embedded server owns its data directory: settle everything a crash left behind
        # (repacking waits for the periodic GC: it would only delay the start).
        report = await gc.recover(meta, blobs, older_than=2**62)
        await blobs.sweep_staging(int(time.time()) + 1, repack=False)
    if report.promoted or report.released:
        server_log.info("recovered uploads: %s", report)
    return c


async def _periodic_gc(c: ServerContext) -> None:
    lim = c.config.limits
    while True:
        await asyncio.sleep(lim.gc_interval)
        try:
            report = await gc.collect(
                c.meta, c.blobs, c.clock.now(), lim.gc_grace, limits.rate_window(lim)
            )
            server_log.info("gc: %s", report)
        except Exception:  # noqa: BLE001 - the background task must outlive one failed run
            server_log.exception("gc failed")


def uncopied_request_bodies() -> None:
    """Parse requests with aiohttp's pure-Python parser, which hands each received piece of a
    body on as it is, where its C parser copies every piece (6 % of the server's CPU on a
    1 GiB upload). Both parsers apply the same rules and pass the same upstream tests; headers
    cost a little more in Python, but uploads come in few requests of up to 32 MiB. Measured:
    server CPU per GiB 1.52 -> 1.37 s, the 1 GiB sync 2.84 -> 2.73 s, the tree no slower.
    (aiohttp makes the parser of each connection from this module attribute.)"""
    from aiohttp import http_parser, web_protocol

    web_protocol.HttpRequestParser = http_parser.HttpRequestParserPy  # type: ignore[attr-defined]


class QuietRequestHandler(web_protocol.RequestHandler):
    """aiohttp's connection handler, with its errors said the API's way (issue 24).

    A request aiohttp's parser refuses (a NUL or a bare CR in a header, a line over 8 KiB,
    bad chunked framing, a bad method or version...) never reaches the app: aiohttp answers
    it itself, with a text body that echoes the offending bytes (an Authorization header's
    token included) and a traceback logged as "Error handling request". A client that goes
    away in the middle of its body is logged the same way. Neither is a fault of the server:
    here the answer is the API's JSON error (no echo) and the log one JSON line naming the
    error class. Anything else that escapes the app is still logged with its traceback."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, HttpProcessingError):
            status = exc.code if 400 <= exc.code < 500 else 400
            server_log.info("refused a malformed request (%s)", type(exc).__name__)
        elif isinstance(exc, ConnectionError):
            server_log.info("the client went away during its request")
        elif status >= 500:
            server_log.error("unhandled error in the HTTP layer", exc_info=exc)
        if request.writer.output_size > 0:
            # some of the answer is out already: the connection is broken (logged quietly)
            raise ConnectionError("the answer had begun; connection closed")
        code = _STATUS_CODES.get(status, "bad_request" if status < 500 else "internal")
        text = "malformed request" if status < 500 else "internal error"
        resp = _error(status, code, text)
        resp.force_close()
        return resp

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        if isinstance(exc, HttpProcessingError | ConnectionError):
            server_log.info("connection closed (%s)", type(exc).__name__)
            return
        server_log.error("unhandled error in the HTTP layer", exc_info=exc or True)


def quiet_malformed_requests() -> None:
    """Serve every connection with :class:`QuietRequestHandler` (aiohttp's ``Server`` makes
    the handler of each connection from this module attribute)."""
    web_server.RequestHandler = QuietRequestHandler  # type: ignore[attr-defined]


def build_app(c: ServerContext, *, own_stores: bool = True) -> web.Application:
    uncopied_request_bodies()
    quiet_malformed_requests()
    idle_trim = IdleTrim()
    app = web.Application(
        middlewares=[idle_trim.middleware, access_log_middleware, errors_middleware],
        client_max_size=c.config.limits.json_body,
    )
    app[CTX] = c
    app[IDLE_TRIM] = idle_trim
    app[OPENAPI_KEY] = json.dumps(build_openapi(ALL_ROUTES, c.config.limits), indent=1).encode()
    app[PATHS_KEY] = PathTable(ALL_ROUTES)
    register(app, ALL_ROUTES)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(idle_trim.run())]
        if c.config.periodic_gc:
            tasks.append(asyncio.create_task(_periodic_gc(c)))
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await c.hub.aclose()
        if own_stores:
            await c.meta.close()
            await c.blobs.close()

    async def on_shutdown(app: web.Application) -> None:
        await c.hub.close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    return app


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path pattern) of every route aiohttp serves (for the OpenAPI test)."""
    out = set()
    for route in app.router.routes():
        info = route.resource.canonical if route.resource is not None else ""
        out.add((route.method, info))
    return out
