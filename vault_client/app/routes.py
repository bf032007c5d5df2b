"""The app's HTTP API (docs/APP-API.md): each handler parses its request, calls one service
function and answers its dataclass as JSON; a failure is one French sentence
(:mod:`.messages`). No business logic here: what a handler would need that the service lacks
belongs in the service, where the CLI gets it too."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.multipart import BodyPartReader

from vault_core.errors import AuthError, UsageError, VaultError

from .. import i18n
from ..service import account, documents, inbox, redeem, requests, settings, shares, syncing
from ..service.events import WARNING
from ..service.results import to_json
from .daemon import Daemon
from .files import send_bytes, send_file
from .http import Route, body, number, paths_of, text
from .http import dumps as _dumps
from .http import reply as _json
from .messages import for_error
from .routes_helpers import add_helper_routes
from .routes_issuer import add_issuer_routes
from .routes_settings import add_settings_routes
from .security import SESSION_COOKIE

log = logging.getLogger("vault.app")
STATIC = Path(__file__).resolve().parent / "static"


def api(daemon: Daemon) -> Callable[[Route], Route]:
    """Errors as one French sentence; the daemon never dies from a request."""

    def wrap(fn: Route) -> Route:
        @functools.wraps(fn)
        async def handler(request: web.Request) -> web.StreamResponse:
            daemon.touch()
            try:
                return await fn(request)
            except web.HTTPException:
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — every failure becomes an answer
                status, body = for_error(exc)
                if status >= 500:
                    log.error("internal error in %s: %s", request.path, type(exc).__name__)
                return web.json_response(body, status=status, dumps=_dumps)

        return handler

    return wrap


def build_app(daemon: Daemon) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024 * 1024)
    ctx = daemon.ctx
    guarded = api(daemon)
    r = app.router

    def route(method: str, path: str) -> Callable[[Route], Route]:
        def add(fn: Route) -> Route:
            r.add_route(method, path, guarded(fn))
            return fn

        return add

    # -- the page and the session ---------------------------------------------------------------

    async def index(request: web.Request) -> web.StreamResponse:
        page = STATIC / "index.html"
        if not page.is_file():
            return web.Response(text=_PLACEHOLDER, content_type="text/html", charset="utf-8")
        return web.FileResponse(page, headers={"Content-Type": "text/html; charset=utf-8"})

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        allowed = {p.name for p in STATIC.iterdir()} if STATIC.is_dir() else set()
        if name not in allowed or name.startswith(".") or name == "index.html":
            raise web.HTTPNotFound()
        response = web.FileResponse(STATIC / name)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    r.add_get("/", index)
    r.add_get("/index.html", index)
    r.add_get("/assets/{name}", asset)

    @route("POST", "/control/launch")
    async def control_launch(request: web.Request) -> web.StreamResponse:
        return web.json_response({"url": daemon.guard.launch_url()})

    @route("POST", "/api/session")
    async def session(request: web.Request) -> web.StreamResponse:
        token = text(await body(request), "token", limit=200)
        cookie = daemon.guard.exchange(token)
        if cookie is None:
            raise AuthError("this launch link was already used or has expired")
        response = web.json_response({"ok": True})
        response.set_cookie(
            SESSION_COOKIE, cookie, httponly=True, samesite="Strict", path="/", secure=False
        )
        return response

    # -- the profile ----------------------------------------------------------------------------

    def profile_state() -> str:
        p = ctx.profile
        if not p.has_account:
            return "empty"
        return "unlocked" if p.unlocked else "locked"

    @route("GET", "/api/state")
    async def state(request: web.Request) -> web.StreamResponse:
        p = ctx.profile
        cfg = p.config
        return _json(
            {
                "profile": profile_state(),
                "handle": cfg.get("handle"),
                "server": cfg.get("server"),
                "folder": cfg.get("folder"),
                "device_id": cfg.get("device_id"),
                "issuer": bool(cfg.get("issuer")),
                "language": settings.language(ctx),
                "autolock_minutes": settings.autolock_minutes(ctx),
                "default_folder": str(Path.home() / "Coffre"),
            }
        )

    @route("GET", "/api/counts")
    async def counts(request: web.Request) -> web.StreamResponse:
        out = {"inbox": 0, "requests": 0, "shares": 0, "shared": 0, "recovery": 0}
        with contextlib.suppress(VaultError):
            out["inbox"] = len(await inbox.list_deposits(ctx))
            out["requests"] = sum(r.state != "answered" for r in await requests.list_requests(ctx))
            out["shares"] = sum(s.state == "active" for s in await shares.list_shares(ctx))
            out["shared"] = sum(g.state == "active" for g in await redeem.shared(ctx))
        with contextlib.suppress(VaultError):  # Récupération: what waits for this account
            from ..service import recovery

            mine = sum(
                r.state in ("pending", "forged") for r in await recovery.account_recoveries(ctx)
            )
            asked = sum(not p.approved for p in await recovery.pending(ctx))
            out["recovery"] = mine + asked
        return _json(out)

    @route("POST", "/api/passphrase-check")
    async def passphrase_check(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        strength = account.check_passphrase(
            text(data, "passphrase", required=False), text(data, "handle", required=False)
        )
        return _json(strength)

    def folder_of(data: dict[str, Any]) -> Path | None:
        value = text(data, "folder", required=False)
        return Path(value).expanduser() if value else None

    @route("POST", "/api/create")
    async def create(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        created = await account.init(
            ctx,
            text(data, "server"),
            text(data, "handle", limit=64),
            folder_of(data),
            text(data, "passphrase"),
            strong_only=True,
        )
        daemon.start_watch()
        return _json(
            {
                "handle": created.handle,
                "server": ctx.profile.server,
                "folder": created.folder,
                "device_id": created.device_id,
                "recovery_key": created.recovery_key,
                "created_at": int(time.time()),
            }
        )

    @route("POST", "/api/login")
    async def login(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        joined = await account.login(
            ctx,
            text(data, "server"),
            text(data, "handle", limit=64),
            folder_of(data),
            text(data, "passphrase"),
        )
        daemon.start_watch()
        return _json({**to_json(joined), "server": ctx.profile.server})

    @route("POST", "/api/recover")
    async def recover(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        new = text(data, "passphrase")
        strength = account.check_passphrase(new, text(data, "handle", limit=64))
        if not strength.ok:
            raise UsageError(strength.reason_en or "weak passphrase")
        joined = await account.recover(
            ctx,
            text(data, "server"),
            text(data, "handle", limit=64),
            folder_of(data),
            text(data, "recovery_key"),
            new,
        )
        daemon.start_watch()
        return _json({**to_json(joined), "server": ctx.profile.server})

    @route("POST", "/api/unlock")
    async def unlock(request: web.Request) -> web.StreamResponse:
        passphrase = text(await body(request), "passphrase")
        await asyncio.to_thread(daemon.ctx.unlock, passphrase)  # (Argon2id off the loop)
        daemon.start_watch()
        return _json({"ok": True})

    @route("POST", "/api/lock")
    async def lock(request: web.Request) -> web.StreamResponse:
        await daemon.lock()
        return _json({"ok": True})

    # -- sync status and events -----------------------------------------------------------------

    @route("GET", "/api/status")
    async def status(request: web.Request) -> web.StreamResponse:
        out = daemon.status.to_json()
        if not daemon.unlocked:
            out["state"] = "locked" if ctx.profile.has_account else "empty"
        return _json(out)

    @route("GET", "/api/notifications")
    async def notifications(request: web.Request) -> web.StreamResponse:
        after = request.query.get("after", "0")
        since = int(after) if after.isdigit() else 0
        return _json([n for n in daemon.notices if n["id"] > since])

    @route("GET", "/api/events")
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        async with ctx.bus.stream() as stream:
            await response.write(b": ok\n\n")
            iterator = stream.__aiter__()
            while not daemon.stopping.is_set():
                try:
                    event = await asyncio.wait_for(iterator.__anext__(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event.kind.startswith("progress."):
                    continue  # (the status region polls; no stream of per-file events)
                payload = {"kind": event.kind, "text": event.text, "data": event.data,
                           "at": event.at}  # fmt: skip
                if event.kind == WARNING:  # a note of the service, in the page's words
                    payload["sentences"] = {"en": event.text,
                                            "fr": i18n.translate(event.text, "fr")}  # fmt: skip
                await response.write(f"data: {_dumps(payload)}\n\n".encode())
        return response

    # -- documents ------------------------------------------------------------------------------

    @route("GET", "/api/documents")
    async def list_documents(request: web.Request) -> web.StreamResponse:
        query = request.query.get("q", "")
        if query:
            return _json(documents.list_documents(ctx, query))
        ctx.account()
        version = documents.listing_version(ctx)
        cached = daemon.cache.get("documents")
        if cached is None or cached[0] != version:  # (10,000 files: encoded once per change)
            cached = (version, _dumps(to_json(documents.list_documents(ctx))).encode())
            daemon.cache["documents"] = cached
        return web.Response(body=cached[1], content_type="application/json")

    @route("GET", "/api/documents/trash")
    async def trash(request: web.Request) -> web.StreamResponse:
        return _json(documents.trash(ctx))

    @route("GET", "/api/documents/history")
    async def history(request: web.Request) -> web.StreamResponse:
        ctx.account()
        return _json(documents.history(ctx, _vault_arg(request.query.get("path", ""))))

    @route("POST", "/api/documents/restore")
    async def restore(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        done = await documents.restore(ctx, _vault_arg(text(data, "path")), number(data, "version"))
        return _json({"path": done.path, "from_version": done.from_version})

    def _vault_arg(path: str) -> str:
        """A vault path from the page (never a path of the disk)."""
        clean = path.strip("/")
        if not clean or clean.startswith("..") or os.path.isabs(path):
            raise UsageError("refused file name")
        return str(ctx.profile.folder / clean)

    @route("GET", "/api/documents/file")
    async def document_file(request: web.Request) -> web.StreamResponse:
        vpath = request.query.get("path", "").strip("/")
        local = documents.local_file(ctx, vpath)
        return await send_file(request, local, vpath.rpartition("/")[2], _inline(request))

    @route("POST", "/api/documents/upload")
    async def upload(request: web.Request) -> web.StreamResponse:
        ctx.account()
        reader = await request.multipart()
        into = ""
        items: list[tuple[str, Path]] = []
        try:
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise UsageError("nested multipart")
                if part.name == "folder":
                    into = (await part.text()).strip("/")
                    continue
                if not part.filename:
                    raise UsageError("a file has no name")
                fd, tmp = documents.new_upload(ctx)
                items.append((part.filename, tmp))
                try:
                    while chunk := await part.read_chunk(1 << 20):
                        await asyncio.to_thread(_write_all, fd, chunk)
                    await asyncio.to_thread(os.fsync, fd)
                finally:
                    os.close(fd)
            added = documents.add_files(ctx, items, into)
        finally:
            for _, tmp in items:
                with contextlib.suppress(OSError):
                    tmp.unlink()  # (moved into place: gone already)
        daemon.wake.set()
        return _json({"added": added})

    # -- shares ---------------------------------------------------------------------------------

    @route("GET", "/api/contacts/{handle}")
    async def contact(request: web.Request) -> web.StreamResponse:
        return _json(await shares.contact_info(ctx, request.match_info["handle"][:64]))

    @route("GET", "/api/shares")
    async def list_shares(request: web.Request) -> web.StreamResponse:
        items = await shares.list_shares(ctx)
        return _json([{**to_json(s), "documents": shares.documents_of(ctx, s.id)} for s in items])

    @route("POST", "/api/shares")
    async def create_share(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        expires_in = number(data, "expires_in")
        expires_at = number(data, "expires_at")
        if expires_in is None and expires_at is not None:
            expires_in = expires_at - int(time.time())
        if expires_in is None or expires_in <= 0:
            raise UsageError("duration must be positive")
        created = await shares.create(
            ctx,
            paths_of(data),
            expires_in,
            to=text(data, "to", required=False, limit=64) or None,
            max_uses=number(data, "max_uses"),
            password=text(data, "password", required=False) or None,
        )
        return _json(created)

    @route("GET", "/api/shares/{id}/log")
    async def share_log(request: web.Request) -> web.StreamResponse:
        return _json(await shares.log(ctx, request.match_info["id"]))

    @route("DELETE", "/api/shares/{id}")
    async def revoke_share(request: web.Request) -> web.StreamResponse:
        await shares.revoke(ctx, request.match_info["id"])
        return _json({"ok": True})

    # -- inbox and requests ---------------------------------------------------------------------

    @route("GET", "/api/inbox")
    async def list_inbox(request: web.Request) -> web.StreamResponse:
        return _json(await inbox.list_deposits(ctx))

    @route("GET", "/api/inbox/{id}/file")
    async def inbox_file(request: web.Request) -> web.StreamResponse:
        name, data = await inbox.deposit_document(ctx, request.match_info["id"])
        return send_bytes(data, name, _inline(request))

    @route("POST", "/api/inbox/{id}/accept")
    async def accept(request: web.Request) -> web.StreamResponse:
        folder = text(await body(request), "folder", required=False).strip("/")
        path = await inbox.accept(ctx, request.match_info["id"], folder or None)
        return _json({"path": path})

    @route("POST", "/api/inbox/{id}/refuse")
    async def refuse(request: web.Request) -> web.StreamResponse:
        await inbox.refuse(ctx, request.match_info["id"])
        return _json({"ok": True})

    @route("GET", "/api/requests")
    async def list_requests(request: web.Request) -> web.StreamResponse:
        items = await requests.list_requests(ctx)
        return _json(
            [
                {**to_json(it), "suggested": requests.suggestions(ctx, it.needs or [])}
                for it in items
            ]
        )

    @route("POST", "/api/requests/{id}/answer")
    async def answer(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        expires_in = number(data, "expires_in") or 30 * 86400
        item = text(data, "item", required=False, limit=64) or None
        grant_id = await requests.answer(
            ctx, request.match_info["id"], paths_of(data), expires_in, item
        )
        return _json({"grant_id": grant_id})

    # -- asks: « Demander un document » ---------------------------------------------------------

    @route("GET", "/api/asks")
    async def list_asks(request: web.Request) -> web.StreamResponse:
        from ..service import asks

        return _json(await asks.sent(ctx))

    @route("POST", "/api/asks")
    async def send_ask(request: web.Request) -> web.StreamResponse:
        from ..service import asks

        data = await body(request)
        message = text(data, "message", required=False, limit=4000)
        sent = await asks.ask(
            ctx, text(data, "to", limit=64), text(data, "type", limit=64), message
        )
        return _json({"id": sent})

    # -- shared with me -------------------------------------------------------------------------

    @route("GET", "/api/shared")
    async def shared(request: web.Request) -> web.StreamResponse:
        return _json(await redeem.shared(ctx))

    @route("GET", "/api/shared/{id}")
    async def shared_items(request: web.Request) -> web.StreamResponse:
        done = await redeem.redeem(ctx, request.match_info["id"], None)
        return _json(
            {"grant_id": done.grant_id, "owner": done.owner, "expires": done.expires,
             "items": done.items}
        )  # fmt: skip

    @route("GET", "/api/shared/{id}/file")
    async def shared_file(request: web.Request) -> web.StreamResponse:
        name = request.query.get("name", "")
        out = Path(daemon.tmp) / os.urandom(8).hex()
        try:
            done = await redeem.redeem(ctx, request.match_info["id"], out, only={name})
            if name not in done.written:
                raise UsageError("no such document in this share")
            local = out.joinpath(*name.split("/"))
            return send_bytes(local.read_bytes(), name.rpartition("/")[2], _inline(request))
        finally:
            shutil.rmtree(out, ignore_errors=True)

    # -- devices, settings, trust, appointments: routes_settings.py; export, conflicts, sync ----

    add_settings_routes(route, daemon)
    add_issuer_routes(route, daemon)  # the issuer desk: routes_issuer.py
    add_helper_routes(route, daemon)  # Aidants and Récupération: routes_helpers.py

    @route("GET", "/api/export")
    async def export_all(request: web.Request) -> web.StreamResponse:
        """``Exporter tout mon coffre``: the zip is built in the profile's temporary folder,
        sent as a download (the browser saves it where the person chooses), then removed."""
        from ..service import export

        into = Path(daemon.tmp) / os.urandom(8).hex()
        into.mkdir(mode=0o700)
        try:
            report = await export.export_archive(ctx, into)
            zip_path = Path(report.out)
            return await send_file(request, zip_path, zip_path.name, False, "application/zip")
        finally:
            shutil.rmtree(into, ignore_errors=True)

    @route("GET", "/api/conflicts")
    async def list_conflicts(request: web.Request) -> web.StreamResponse:
        return _json(documents.conflicts(ctx))

    @route("POST", "/api/conflicts/resolve")
    async def resolve(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        kept = documents.resolve_conflict(
            ctx, text(data, "path"), text(data, "copy"), text(data, "keep", limit=10)
        )
        daemon.status.conflicts.discard(text(data, "copy"))
        daemon.wake.set()
        return _json({"path": kept})

    @route("POST", "/api/sync")
    async def sync_now(request: web.Request) -> web.StreamResponse:
        daemon.start_watch()
        daemon.wake.set()
        return _json({"ok": True})

    return app


def _inline(request: web.Request) -> bool:
    return request.query.get("inline") == "1"


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_PLACEHOLDER = """<!doctype html><html lang="fr"><meta charset="utf-8">
<title>Coffre</title><p>L'interface de l'application n'est pas construite
(scripts/build-web.sh).</p></html>"""

__all__ = ["build_app", "syncing"]
