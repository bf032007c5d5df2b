"""``GET /v1/events``: the WebSocket that tells an account's devices something changed."""

from __future__ import annotations

import contextlib

from aiohttp import WSMsgType, web

from vault_core.errors import AuthError

from .context import ctx
from .events import Subscriber
from .httpio import authorization, caller_from_token
from .routing import Route

RECHECK_SECONDS = 30.0


async def events(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    auth = authorization(request)
    if auth is not None and auth[0].lower() == "bearer":
        cred = auth[1]
    elif "token" in request.query:
        cred = request.query["token"]
    else:
        raise AuthError()
    caller = await caller_from_token(request, cred)
    ws = web.WebSocketResponse(heartbeat=RECHECK_SECONDS, max_msg_size=4096)
    await ws.prepare(request)
    sub = Subscriber(ws, caller.account.id, caller.session.device_id, caller.token_hash)
    c.hub.add(sub)
    try:
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=RECHECK_SECONDS)
            except TimeoutError:
                # Sessions may end elsewhere (expiry, another process): re-check.
                if await c.meta.get_session(caller.token_hash, c.clock.now()) is None:
                    await ws.close(code=4401, message=b"session ended")
                    break
                continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            # Client messages carry nothing; ignore them.
    finally:
        c.hub.remove(sub)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close()
    return ws


_WS_HEADERS = (
    ("Upgrade", {"type": "string", "const": "websocket"}, True),
    ("Connection", {"type": "string", "const": "Upgrade"}, True),
    ("Sec-WebSocket-Version", {"type": "string", "const": "13"}, True),
    ("Sec-WebSocket-Key", {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"}, True),
)

ROUTES = [
    Route(
        "GET",
        "/v1/events",
        events,
        "WebSocket of change notifications (Bearer header or ?token=)",
        "events",
        auth="websocket",
        status=101,
        errors=(401,),
        query=(("token", {"type": "string"}, False),),
        headers=_WS_HEADERS,
        description="Without the WebSocket handshake's headers: 400.",
    ),
]
