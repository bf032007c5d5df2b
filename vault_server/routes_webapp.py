"""Owner web access: the app's page at ``/`` and ``/app/``, its files at ``/assets/{name}``, and
the French page on what web access protects against (``/securite-acces-web``).

Theory of operation
-------------------
The page is the desktop app's UI built with the in-browser engine (``web/build-app.mjs --web``
into ``vault_server/static/app/``): keys, tokens and plaintext live only in the engine's Web
Worker, which talks to this server's ``/v1`` API like any client. This module serves bytes that
were built and committed, each checked against its SHA-256 in ``assets.json`` when first loaded
(a file that does not match is not served, and the page answers 503). No path from a request
is ever opened: a name is looked up in that table.

Headers: a strict Content-Security-Policy (scripts and styles from this origin only, with
Subresource Integrity in the page, ``'wasm-unsafe-eval'`` for libsodium's WebAssembly and not
for JavaScript, the engine worker from a ``blob:`` URL of its integrity-checked script, no
framing, no form posts, no inline script), ``Integrity-Policy`` asking the browser to refuse any
script without integrity metadata, ``no-store`` on the pages (assets are revalidated, never
stored as immutable: an operator's new release takes effect on the next visit), no referrer.

What this cannot protect against, said plainly on ``/securite-acces-web``: a server that is
malicious at the moment the page is loaded can serve a page that steals the passphrase. The
desktop app, whose code is installed, does not have this weakness; ``vault web check`` compares
what a server serves with a signed release manifest.

The release manifest (SPEC §Release manifest): ``release.json`` beside the build, written by
``scripts/sign_release.py`` with a release key kept off the server, is served at
``/.well-known/vault-release.json`` as it is, but only when it verifies under the key it names
(checked when the build is loaded; a changed file answers 503, the page itself is still
served). When it verifies but does not list exactly the build's hashes (a build rebuilt and not
yet signed again, or changed), the server says so in its log, naming the files, and still
serves it: which files are not the signed release is ``vault web check``'s verdict to give, not
the server's to hide behind a 503. ``vault-server serve --web-dir DIR`` (``$VAULT_WEB_DIR``)
serves another build directory than the installed one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from vault_core import release as rel
from vault_core.errors import BadRequest, NotFound, ServerUnavailable, VaultError

from . import routes_web, schemas
from .context import ctx
from .routing import Route

log = logging.getLogger("vault_server")

APP_DIR = Path(__file__).resolve().parent / "static" / "app"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

# the share page's headers (no referrer, no framing, nosniff, isolation, no powerful
# features), with this page's own policy, and scripts refused without integrity metadata
SECURITY_HEADERS = {
    **routes_web.SECURITY_HEADERS,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Integrity-Policy": "blocked-destinations=(script)",
}
PAGE_CACHE = "no-store"
ASSET_CACHE = "no-cache"

_NAME = re.compile(schemas.ASSET_NAME["pattern"])


@dataclass(frozen=True)
class AppFiles:
    files: dict[str, tuple[bytes, str]]  # name -> (bytes, content type)
    directory: Path | None = None
    release: bytes | None = None  # release.json, its signature checked
    release_problem: str | None = None  # why release.json is not served (None: absent or ok)
    not_released: tuple[str, ...] = ()  # files of the build that release.json does not vouch for


RELEASE_FILE = "release.json"


def check_release(
    directory: Path, files: dict[str, tuple[bytes, str]]
) -> tuple[bytes | None, list[str]]:
    """``release.json`` of the build (None when there is none) once it verifies under the key
    it names (ValueError otherwise), and the names whose hash in the build is not the one it
    lists (or that only one of them has): empty when the build is the signed release."""
    path = directory / RELEASE_FILE
    if not path.exists():
        return None, []
    with path.open("rb") as fh:
        data = fh.read(rel.MAX_FILE + 1)
    try:
        signed = rel.Release.decode(data).hashes()
    except VaultError:
        raise ValueError(f"{RELEASE_FILE} is not a validly signed release manifest") from None
    built = {name: hashlib.sha256(body).hexdigest() for name, (body, _) in files.items()}
    return data, sorted(n for n in signed.keys() | built.keys() if signed.get(n) != built.get(n))


_loaded: AppFiles | None = None


def load_app(directory: Path = APP_DIR) -> AppFiles:
    """The built page's files, each checked against its SHA-256 (assets.json), and its
    release manifest, checked (:func:`check_release`)."""
    files = load_build(directory)
    try:
        release, differ = check_release(directory, files)
    except (OSError, ValueError) as exc:
        log.error("web access release manifest not served: %s", exc)
        return AppFiles(files, directory, None, str(exc))
    if differ:
        log.error(
            "web access: this build is not the signed release for %s; vault web check will "
            "report them (sign it again: python scripts/sign_release.py --key FILE)",
            ", ".join(differ),
        )
    return AppFiles(files, directory, release, None, tuple(differ))


def load_build(directory: Path) -> dict[str, tuple[bytes, str]]:
    """The built page's files (name -> bytes, type), each checked against its SHA-256 in
    assets.json (ServerUnavailable otherwise, logged)."""
    try:
        manifest = json.loads((directory / "assets.json").read_text(encoding="utf-8"))
        files: dict[str, tuple[bytes, str]] = {}
        for name, info in manifest["files"].items():
            if "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"bad file name {name!r}")
            body = (directory / name).read_bytes()
            if hashlib.sha256(body).hexdigest() != info["sha256"]:
                raise ValueError(f"{name} does not match its hash in assets.json")
            files[name] = (body, str(info["type"]))
        if "index.html" not in files or "securite.html" not in files:
            raise ValueError("index.html or securite.html missing")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.error("web access page unavailable: %s (run scripts/build-web.sh)", exc)
        raise ServerUnavailable("the web access page is not built on this server") from None
    return files


def app_files(directory: Path | None = None) -> AppFiles:
    """The build of ``directory`` (default: the installed one), loaded and checked once."""
    global _loaded
    directory = directory or APP_DIR
    if _loaded is None or _loaded.directory != directory:
        _loaded = load_app(directory)
    return _loaded


def _files(request: web.Request) -> AppFiles:
    return app_files(ctx(request).config.web_dir)


def _answer(request: web.Request, name: str, cache: str) -> web.Response:
    body, content_type = _files(request).files[name]
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = (
        f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type
    )
    resp.headers.update(SECURITY_HEADERS)
    resp.headers["Cache-Control"] = cache
    return resp


async def app_page(request: web.Request) -> web.StreamResponse:
    return _answer(request, "index.html", PAGE_CACHE)


async def security_page(request: web.Request) -> web.StreamResponse:
    return _answer(request, "securite.html", PAGE_CACHE)


async def app_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if not _NAME.fullmatch(name):
        raise BadRequest("name: invalid file name")
    files = _files(request).files
    if name not in files or name in ("index.html", "securite.html", "assets.json"):
        raise NotFound("no such file")
    return _answer(request, name, ASSET_CACHE)


async def release_manifest(request: web.Request) -> web.StreamResponse:
    loaded = _files(request)
    if loaded.release_problem is not None:
        raise ServerUnavailable("the release manifest of this server's web access is damaged")
    if loaded.release is None:
        raise NotFound("this server has no signed release manifest")
    resp = web.Response(body=loaded.release)
    resp.headers["Content-Type"] = "application/json"
    resp.headers.update(SECURITY_HEADERS)
    resp.headers["Cache-Control"] = PAGE_CACHE
    return resp


ROUTES = [
    Route(
        "GET",
        "/",
        app_page,
        "Owner web access: the app (HTML)",
        "web",
        auth="none",
        errors=(400, 503),
        media="text/html",
    ),
    Route(
        "GET",
        "/app/",
        app_page,
        "Owner web access: the app (HTML)",
        "web",
        auth="none",
        errors=(400, 503),
        media="text/html",
    ),
    Route(
        "GET",
        "/securite-acces-web",
        security_page,
        "What web access protects against, and what it does not (French, HTML)",
        "web",
        auth="none",
        errors=(400, 503),
        media="text/html",
    ),
    Route(
        "GET",
        "/assets/{name}",
        app_asset,
        "A file of the web access page (script, style sheet, icon)",
        "web",
        auth="none",
        errors=(400, 404, 503),
        media=("text/javascript", "text/css", "image/svg+xml"),
    ),
    Route(
        "GET",
        rel.WELL_KNOWN,
        release_manifest,
        "The signed release manifest of the web access page (SHA-256 of every file)",
        "web",
        auth="none",
        errors=(400, 404, 503),
        response={
            "type": "object",
            "required": ["created", "files", "key", "release", "sig", "v"],
        },
    ),
]
