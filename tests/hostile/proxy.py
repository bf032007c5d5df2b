"""A tampering reverse proxy between the clients and a real server.

The proxy is an aiohttp application running on its own event loop in a background thread.
It listens on one port per *door*; every door forwards to an upstream server (the real one by
default) and a test points each device at its own door (``vault init --server DOOR_URL``), so
that it can show different devices different servers (forks) or tamper with one device only.

Requests and responses are streamed through unchanged, Host header included (login proofs are
bound to the Host the client sends), unless a *hook* matches. A hook names a method and a path
pattern (a regular expression matched against the whole path), optionally a door, and says
what to do:

* ``request``: ``fn(Exchange) -> None`` may rewrite ``method``, ``path``, ``query``,
  ``headers`` or ``body`` before the request is forwarded (the body is then buffered);
* ``response``: ``fn(Exchange) -> None`` may rewrite ``status``, ``headers`` or
  ``resp_body`` of the upstream answer (buffered) before it reaches the client;
* ``reply``: ``fn(Exchange) -> None`` answers without asking upstream at all (a forged
  answer, or ``ex.replay(record)``: an answer recorded earlier);
* ``drop``: ``"502"`` answers 502 without forwarding, ``"reset"`` closes the connection
  without an answer;
* ``truncate``: forward, then send only the first N bytes of the body while announcing the full
  length, and cut the connection (a stream that ends early);
* ``stream``: ``fn(Exchange) -> AsyncIterator[bytes]`` replaces the response body with a
  generated stream (an endless answer); ``sent`` on the hook counts the bytes that went out;
* ``delay``: seconds to wait before forwarding;
* ``times``: how many matching requests the hook applies to (then it stays inert).

Every exchange is recorded (``proxy.log``: door, method, path, status, request and, when
buffered, response bodies up to 1 MiB), so a test can capture a token or replay an answer.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
_RECORD_MAX = 1024 * 1024
_PIECE = 64 * 1024


@dataclass
class Exchange:
    """One request through the proxy, as hooks see and change it."""

    door: str
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes | None = None  # request body (None: streamed through, not buffered)
    status: int = 0
    resp_headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    resp_body: bytes | None = None
    match: re.Match[str] | None = None

    def json(self) -> Any:
        import json

        return json.loads(self.resp_body or b"null")

    def set_json(self, value: Any) -> None:
        import json

        self.resp_body = json.dumps(value).encode()
        self.resp_headers["Content-Type"] = "application/json"

    def replay(self, record: Record) -> None:
        """Answer with a response recorded earlier (a replayed answer)."""
        self.status = record.status
        self.resp_body = record.resp_body
        self.resp_headers = CIMultiDict(record.resp_headers)

    def req_json(self) -> Any:
        import json

        return json.loads(self.body or b"null")

    def set_req_json(self, value: Any) -> None:
        import json

        self.body = json.dumps(value).encode()


Fn = Callable[[Exchange], Any]


@dataclass
class Hook:
    method: str
    pattern: re.Pattern[str]
    door: str | None = None
    request: Fn | None = None
    response: Fn | None = None
    reply: Fn | None = None
    drop: str | None = None
    truncate: int | None = None
    stream: Callable[[Exchange], AsyncIterator[bytes]] | None = None
    delay: float = 0.0
    times: int | None = None
    hits: int = 0
    sent: int = 0

    def matches(self, door: str, method: str, path: str) -> re.Match[str] | None:
        if self.door is not None and self.door != door:
            return None
        if self.method != "*" and self.method != method:
            return None
        if self.times is not None and self.hits >= self.times:
            return None
        return self.pattern.fullmatch(path)


@dataclass
class Record:
    door: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes | None
    status: int = 0
    resp_body: bytes | None = None
    resp_headers: dict[str, str] = field(default_factory=dict)


class TamperProxy:
    """Doors (listening ports) forwarding to upstream servers, with per-route hooks."""

    def __init__(self, upstream: str) -> None:
        self.default_upstream = upstream.rstrip("/")
        self.upstreams: dict[str, str] = {}
        self.doors: dict[str, str] = {}
        self.hooks: list[Hook] = []
        self.log: list[Record] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None

    # -- life cycle ---------------------------------------------------------------------

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def door(self, name: str) -> str:
        """The URL of door ``name`` (created on first use)."""
        if name not in self.doors:
            self.doors[name] = self._call(self._open_door(name))
        return self.doors[name]

    async def _open_door(self, name: str) -> str:
        app = web.Application(client_max_size=1 << 40)
        app.router.add_route("*", "/{tail:.*}", self._handler(name))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        async def stop() -> None:
            for r in self._runners:
                await r.cleanup()
            if self._session is not None:
                await self._session.close()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # -- configuration ------------------------------------------------------------------

    def set_upstream(self, url: str | None, door: str | None = None) -> None:
        """Where a door (or, with ``door=None``, every door without its own) forwards."""
        with self._lock:
            if door is None:
                if url is not None:
                    self.default_upstream = url.rstrip("/")
            elif url is None:
                self.upstreams.pop(door, None)
            else:
                self.upstreams[door] = url.rstrip("/")

    def on(self, method: str, path: str, **kw: Any) -> Hook:
        hook = Hook(method=method, pattern=re.compile(path), **kw)
        with self._lock:
            self.hooks.append(hook)
        return hook

    def clear(self) -> None:
        """Stop tampering: no hooks, every door back to the default upstream."""
        with self._lock:
            self.hooks.clear()
            self.upstreams.clear()

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def records(self, method: str | None = None, path: str | None = None) -> list[Record]:
        pat = re.compile(path) if path else None
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method) and (pat is None or pat.fullmatch(r.path))
            ]

    # -- the handler ----------------------------------------------------------------------

    def _find(self, door: str, method: str, path: str) -> tuple[Hook | None, re.Match[str] | None]:
        with self._lock:
            for hook in self.hooks:
                m = hook.matches(door, method, path)
                if m is not None:
                    hook.hits += 1
                    return hook, m
        return None, None

    def _handler(self, door: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(door, request)

        return handle

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_read=120),
            )
        return self._session

    async def _handle(self, door: str, request: web.Request) -> web.StreamResponse:
        hook, match = self._find(door, request.method, request.path)
        ex = Exchange(
            door=door,
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=CIMultiDict(request.headers),
            match=match,
        )
        rec = Record(door, ex.method, ex.path, ex.query, dict(request.headers), None)
        with self._lock:
            self.log.append(rec)
        if hook is not None and hook.delay:
            await asyncio.sleep(hook.delay)
        if hook is not None and hook.drop is not None:
            if hook.drop == "reset":
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("dropped by the proxy")
            rec.status = 502
            return web.Response(status=502, text="dropped by the proxy")
        buffered = hook is not None and (
            hook.request is not None or hook.reply is not None or request.body_exists is False
        )
        if buffered or (
            request.content_length is not None and request.content_length < _RECORD_MAX
        ):
            ex.body = await request.read()
            rec.body = ex.body
        if hook is not None and hook.request is not None:
            hook.request(ex)
        if hook is not None and hook.reply is not None:
            ex.status = 200
            hook.reply(ex)
            return self._send_buffered(ex, rec)
        with self._lock:
            upstream = self.upstreams.get(door, self.default_upstream)
        headers = CIMultiDict((k, v) for k, v in ex.headers.items() if k.lower() not in HOP_BY_HOP)
        url = upstream + ex.path + (("?" + ex.query) if ex.query else "")
        data: Any
        if ex.body is not None:
            data = ex.body
        elif request.body_exists:
            if request.content_length is not None:
                headers["Content-Length"] = str(request.content_length)
            data = request.content.iter_chunked(_PIECE)
        else:
            data = None
        try:
            async with self.session.request(
                ex.method, url, headers=headers, data=data, allow_redirects=False
            ) as up:
                ex.status = up.status
                ex.resp_headers = CIMultiDict(
                    (k, v) for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP
                )
                if hook is not None and (hook.response is not None or hook.truncate is not None):
                    ex.resp_body = await up.read()
                    if hook.response is not None:
                        hook.response(ex)
                    if hook.truncate is not None:
                        return await self._send_truncated(request, ex, hook.truncate, rec)
                    return self._send_buffered(ex, rec)
                if hook is not None and hook.stream is not None:
                    return await self._send_stream(request, ex, hook, rec)
                return await self._pass_through(request, ex, up, rec)
        except (aiohttp.ClientError, OSError) as exc:
            rec.status = 502
            return web.Response(status=502, text=f"upstream failed: {type(exc).__name__}")

    def _send_buffered(self, ex: Exchange, rec: Record) -> web.Response:
        rec.status = ex.status
        rec.resp_body = ex.resp_body
        rec.resp_headers = dict(ex.resp_headers)
        return web.Response(status=ex.status, headers=ex.resp_headers, body=ex.resp_body or b"")

    async def _pass_through(
        self, request: web.Request, ex: Exchange, up: aiohttp.ClientResponse, rec: Record
    ) -> web.StreamResponse:
        rec.status = ex.status
        rec.resp_headers = dict(ex.resp_headers)
        resp = web.StreamResponse(status=ex.status, headers=ex.resp_headers)
        if up.content_length is not None:
            resp.content_length = up.content_length
        await resp.prepare(request)
        small = bytearray()
        async for piece in up.content.iter_chunked(_PIECE):
            if len(small) < _RECORD_MAX:
                small += piece
            await resp.write(piece)
        await resp.write_eof()
        rec.resp_body = bytes(small) if len(small) < _RECORD_MAX else None
        return resp

    async def _send_truncated(
        self, request: web.Request, ex: Exchange, keep: int, rec: Record
    ) -> web.StreamResponse:
        body = ex.resp_body or b""
        rec.status = ex.status
        resp = web.StreamResponse(status=ex.status, headers=ex.resp_headers)
        resp.content_length = len(body)
        await resp.prepare(request)
        await resp.write(body[:keep])
        await asyncio.sleep(0.05)
        if request.transport is not None:
            request.transport.abort()
        return resp

    async def _send_stream(
        self, request: web.Request, ex: Exchange, hook: Hook, rec: Record
    ) -> web.StreamResponse:
        assert hook.stream is not None
        rec.status = ex.status
        resp = web.StreamResponse(status=ex.status, headers=ex.resp_headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            async for piece in hook.stream(ex):
                await resp.write(piece)
                hook.sent += len(piece)
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: what we wanted to see
        return resp
