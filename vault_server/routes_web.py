"""The share-link page: ``GET /s/{id}`` and its static files, with strict security headers.

Theory of operation
-------------------
A link is ``<server>/s/<grant id>#<secret>``. The browser asks for ``/s/<grant id>`` only (a
URL fragment never leaves the browser); the server answers with the same static page for every
grant id: the page reads the secret from the fragment and does everything else in the browser
(web/src/, built by scripts/build-web.sh into ``vault_server/static/``). The server never sees
the secret, the password or any plaintext.

Static files are content-addressed: ``GET /s/assets/{blob_id}`` serves the file whose SHA-256 is
``blob_id``, as listed in ``static/assets.json`` (each file is checked against its hash when
first loaded; a mismatch is not served). Nothing is read from a path the request names, so
there is no path to traverse.

Headers: a Content-Security-Policy with no inline script or style, no third-party origin and
Trusted Types; ``Referrer-Policy: no-referrer`` (the page's URL names the grant); no framing;
``nosniff``. The page is ``no-store``; assets, named by their hash, are immutable. The scripts
carry Subresource Integrity hashes in the page (and the worker script in ``app.js``).

Accepted and documented (SPEC §Residual risks): the page is only as trustworthy as the server
that serves it; ``vault redeem`` does not have this exposure.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from vault_core.errors import NotFound, ServerUnavailable

from .httpio import path_blob_id, path_id
from .routing import Route

log = logging.getLogger("vault_server")

STATIC_DIR = Path(__file__).resolve().parent / "static"

# 'wasm-unsafe-eval' lets the worker compile libsodium's WebAssembly; it does not allow eval()
# of JavaScript. The worker runs from a blob: URL made from a script fetched with SRI; previews
# are blob: URLs (images in <img>, PDFs in a frame).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "worker-src blob:",
        "frame-src blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types vault",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=()",
    "X-Robots-Tag": "noindex, nofollow",
}

PAGE_CACHE = "no-store"
ASSET_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class StaticFiles:
    page: bytes
    assets: dict[str, Asset]


_loaded: StaticFiles | None = None


def load_static(directory: Path = STATIC_DIR) -> StaticFiles:
    """Read the built page and its assets, each checked against its SHA-256 (assets.json)."""
    try:
        manifest = json.loads((directory / "assets.json").read_text(encoding="utf-8"))
        page = (directory / str(manifest["page"])).read_bytes()
        if hashlib.sha256(page).hexdigest() != manifest["page_sha256"]:
            raise ValueError("index.html does not match assets.json")
        assets: dict[str, Asset] = {}
        for digest, info in manifest["assets"].items():
            name = str(info["file"])
            if "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"bad asset name {name!r}")
            body = (directory / name).read_bytes()
            if hashlib.sha256(body).hexdigest() != digest:
                raise ValueError(f"{name} does not match its hash in assets.json")
            assets[digest] = Asset(body, str(info["type"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.error("share page unavailable: %s (run scripts/build-web.sh)", exc)
        raise ServerUnavailable("the share page is not built on this server") from None
    return StaticFiles(page, assets)


def static_files() -> StaticFiles:
    """The built files, loaded once (a server that lacks them answers 503 until they exist)."""
    global _loaded
    if _loaded is None:
        _loaded = load_static(STATIC_DIR)
    return _loaded


def _secured(resp: web.Response, cache: str) -> web.Response:
    resp.headers.update(SECURITY_HEADERS)
    resp.headers["Cache-Control"] = cache
    return resp


async def share_page(request: web.Request) -> web.StreamResponse:
    path_id(request)  # the grant id grammar; the page itself does not depend on it
    files = static_files()
    resp = web.Response(body=files.page, content_type="text/html", charset="utf-8")
    return _secured(resp, PAGE_CACHE)


async def share_asset(request: web.Request) -> web.StreamResponse:
    digest = path_blob_id(request)
    asset = static_files().assets.get(digest)
    if asset is None:
        raise NotFound("no such file")
    resp = web.Response(body=asset.body)
    resp.headers["Content-Type"] = asset.content_type
    return _secured(resp, ASSET_CACHE)


ASSET_TYPES = (
    "text/css",
    "text/javascript",
    "image/svg+xml",
    "image/png",
    "application/wasm",
    "font/woff2",
)

ROUTES = [
    Route(
        "GET",
        "/s/{id}",
        share_page,
        "Share-link page (HTML): opens the link and decrypts in the browser",
        "web",
        auth="none",
        errors=(400, 503),
        media="text/html",
    ),
    Route(
        "GET",
        "/s/assets/{blob_id}",
        share_asset,
        "Static file of the share-link page, by the SHA-256 of its content",
        "web",
        auth="none",
        errors=(400, 404, 503),
        media=ASSET_TYPES,
    ),
]
