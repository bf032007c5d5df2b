"""The local server is an attack surface: this module makes it a hard one.

Theory of operation. Any web page the person opens can make their browser send requests to
127.0.0.1; any process of the machine can connect too. So:

- the server binds 127.0.0.1 only, and answers only requests whose ``Host`` is
  ``127.0.0.1:PORT`` or ``localhost:PORT`` (a DNS-rebinding page sends its own host name): 403;
- a launch token (256 bits, single use, two minutes) is printed in the launch URL's fragment
  (never sent in a request line, never logged); the page trades it for a session cookie
  (HttpOnly: no script can read it; SameSite=Strict: no other site's request carries it);
  every API request without a valid session: 401;
- every state-changing request needs the app's own ``Origin`` and the ``X-Vault-CSRF: 1``
  header (a cross-site form cannot set a header, and a cross-site fetch that sets one needs a
  CORS preflight this server never grants: it sends no CORS header at all): 403;
- every response carries a strict Content-Security-Policy (no inline script, no plugin, no
  framing), nosniff, no referrer, and no caching of anything but the UI's static files.

Sessions and tokens are kept as SHA-256 digests and compared in constant time; they live in
this process's memory only (a restart signs the page out).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

LAUNCH_TTL = 120.0  # seconds a launch token may wait for its page
SESSION_COOKIE = "vault_session"
CSRF_HEADER = "X-Vault-CSRF"
CONTROL_HEADER = "X-Vault-Control"
CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_API = frozenset({"/api/session"})  # reachable without a session (with Origin + CSRF)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Guard:
    """Launch tokens, sessions and the allowed hosts of one daemon."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.port = 0
        self._clock = clock
        self._launch: dict[bytes, float] = {}  # digest -> expiry
        self._sessions: set[bytes] = set()
        self.control = secrets.token_urlsafe(32)  # for a second `vault app` of this profile

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    def new_launch_token(self) -> str:
        now = self._clock()
        self._launch = {d: t for d, t in self._launch.items() if t > now}
        token = secrets.token_urlsafe(32)
        self._launch[_digest(token)] = now + LAUNCH_TTL
        return token

    def launch_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/#{self.new_launch_token()}"

    def exchange(self, token: str) -> str | None:
        """A new session for a valid launch token (which is spent), else None."""
        expiry = self._launch.pop(_digest(token), None)
        if expiry is None or expiry <= self._clock():
            return None
        session = secrets.token_urlsafe(32)
        self._sessions.add(_digest(session))
        return session

    def valid_session(self, cookie: str | None) -> bool:
        if not cookie:
            return False
        d = _digest(cookie)
        return any(hmac.compare_digest(d, s) for s in self._sessions)

    def end_sessions(self) -> None:
        self._sessions.clear()

    def control_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.control.encode())


def _refuse(status: int, code: str, message: str, message_en: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "message_en": message_en}, status=status
    )


def headers(response: web.StreamResponse, path: str) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if not path.startswith("/assets/"):
        response.headers["Cache-Control"] = "no-store"
    for name in [h for h in response.headers if h.lower().startswith("access-control-")]:
        del response.headers[name]


def middleware(guard: Guard) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await _check(guard, request, handler)
        headers(response, request.path)
        return response

    return guarded


async def _check(guard: Guard, request: web.Request, handler: Handler) -> web.StreamResponse:
    host = request.headers.get("Host", "")
    if host not in guard.hosts:
        return _refuse(
            403, "forbidden", "Adresse refusée.", "This address is not the app's (Host refused)."
        )
    path = request.path
    if path.startswith("/control/"):
        if not guard.control_ok(request.headers.get(CONTROL_HEADER)):
            return _refuse(403, "forbidden", "Accès refusé.", "Control access refused.")
        return await handler(request)
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is None or origin.removeprefix("http://") != host:
            return _refuse(
                403, "forbidden", "Requête refusée (origine).", "Request refused: foreign origin."
            )
        if request.headers.get(CSRF_HEADER) != "1":
            return _refuse(
                403, "forbidden", "Requête refusée (jeton).", "Request refused: no CSRF header."
            )
    if path.startswith("/api/") and path not in PUBLIC_API:
        if not guard.valid_session(request.cookies.get(SESSION_COOKIE)):
            return _refuse(
                401,
                "session",
                "Votre session a expiré : rouvrez l'application depuis son lien.",
                "No valid session: open the app again from its launch link.",
            )
    return await handler(request)
