"""The app's routes for « Aidants » (helper mandates: given, received, and the helper acting for
the owner) and « Récupération » (trusted contacts, this account's recoveries and their veto, the
recoveries a contact is asked to approve). Thin, as the other route files: each handler reads
its fields and calls the service function the CLI's ``vault mandate``, ``vault act-for`` and
``vault recovery`` commands call (vault_client/service/mandates.py, act_for.py, recovery.py).

A helper's upload comes as multipart (``folder`` then ``file``), written to a private folder of
the profile's temporary folder under the name the browser gave (the service names the document
after the file), and removed whatever happens."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from vault_core import mandates as md
from vault_core.errors import UsageError

from ..service import act_for, mandates, recovery
from .daemon import Daemon
from .http import Route, body, number, paths_of, reply, text
from .routes_issuer import _field, _upload

HANDLE = 64


def add_helper_routes(
    route: Callable[[str, str], Callable[[Route], Route]], daemon: Daemon
) -> None:
    ctx = daemon.ctx

    # -- Aidants: the owner's side, and the mandates received -----------------------------------

    @route("GET", "/api/mandates")
    async def list_mandates(request: web.Request) -> web.StreamResponse:
        return reply(await mandates.list_mandates(ctx))

    @route("POST", "/api/mandates")
    async def grant(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        scopes = data.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise UsageError("scopes: a list of read:PATH, upload:PATH, requests or inbox")
        given = await mandates.grant(
            ctx,
            text(data, "to", limit=HANDLE).strip(),
            [s.strip() for s in scopes],
            md.parse_duration(text(data, "duration", limit=16)),
            text(data, "name", required=False, limit=200).strip() or None,
        )
        return reply(given)

    @route("DELETE", "/api/mandates/{id}")
    async def revoke(request: web.Request) -> web.StreamResponse:
        await mandates.revoke(ctx, request.match_info["id"])
        return reply({"ok": True})

    @route("GET", "/api/mandates/{id}/log")
    async def mandate_log(request: web.Request) -> web.StreamResponse:
        return reply(await mandates.log(ctx, request.match_info["id"]))

    # -- Aidants: the helper acting for an owner (« J'aide … ») ---------------------------------

    def owner_of(request: web.Request) -> str:
        owner = request.match_info["owner"]
        recovery.check_handle(owner)
        return owner

    @route("GET", "/api/act-for/{owner}/requests")
    async def their_requests(request: web.Request) -> web.StreamResponse:
        return reply(await act_for.requests(ctx, owner_of(request)))

    @route("GET", "/api/act-for/{owner}/documents")
    async def their_documents(request: web.Request) -> web.StreamResponse:
        return reply(await act_for.readable(ctx, owner_of(request)))

    @route("POST", "/api/act-for/{owner}/requests/{id}/answer")
    async def answer(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        expires_in = number(data, "expires_in") or 30 * 86400
        if expires_in <= 0:
            raise UsageError("duration must be positive")
        grant_id = await act_for.answer(
            ctx, owner_of(request), request.match_info["id"], paths_of(data), expires_in
        )
        return reply({"grant_id": grant_id})

    @route("GET", "/api/act-for/{owner}/inbox")
    async def their_inbox(request: web.Request) -> web.StreamResponse:
        return reply(await act_for.inbox(ctx, owner_of(request)))

    @route("POST", "/api/act-for/{owner}/inbox/{id}/accept")
    async def accept(request: web.Request) -> web.StreamResponse:
        path = await act_for.accept(ctx, owner_of(request), request.match_info["id"])
        return reply({"path": path})

    @route("POST", "/api/act-for/{owner}/upload")
    async def upload(request: web.Request) -> web.StreamResponse:
        owner = owner_of(request)
        async with _upload(request, daemon) as (fields, file, name):
            folder = _field(fields, "folder")
            with _named(daemon, file, name) as local:
                path = await act_for.upload(ctx, owner, local, folder)
        return reply({"path": path})

    # -- Récupération: the owner's contacts and recoveries, a contact's approvals ---------------

    @route("GET", "/api/recovery/contacts")
    async def contacts(request: web.Request) -> web.StreamResponse:
        return reply(await recovery.list_contacts(ctx))

    @route("PUT", "/api/recovery/contacts")
    async def set_contacts(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        handles = data.get("handles")
        if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
            raise UsageError("handles: a list of accounts")
        threshold = number(data, "threshold")
        if threshold is None:
            raise UsageError("threshold: a number is needed")
        delay = number(data, "delay")
        return reply(
            await recovery.set_contacts(
                ctx,
                [h.strip() for h in handles],
                threshold,
                *([] if delay is None else [delay]),
            )
        )

    @route("GET", "/api/recovery/account")
    async def account_recoveries(request: web.Request) -> web.StreamResponse:
        return reply(await recovery.account_recoveries(ctx))

    @route("POST", "/api/recovery/{id}/veto")
    async def veto(request: web.Request) -> web.StreamResponse:
        return reply({"id": await recovery.veto(ctx, request.match_info["id"])})

    @route("GET", "/api/recovery/pending")
    async def pending(request: web.Request) -> web.StreamResponse:
        return reply(await recovery.pending(ctx))

    @route("POST", "/api/recovery/{id}/approve")
    async def approve(request: web.Request) -> web.StreamResponse:
        return reply(await recovery.approve(ctx, request.match_info["id"]))


@contextlib.contextmanager
def _named(daemon: Daemon, file: Path, name: str) -> Any:
    """The upload moved into a private folder of its own under the browser's name (the
    service names the document after its file); the folder is removed on the way out."""
    if name in ("", ".", "..") or name.startswith("."):
        raise UsageError("refused file name")
    folder = Path(daemon.tmp) / f"named-{os.urandom(8).hex()}"
    folder.mkdir(mode=0o700)
    try:
        local = folder / name
        os.replace(file, local)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)
