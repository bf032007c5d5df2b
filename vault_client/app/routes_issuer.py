"""The app's routes for the issuer desk (« Espace administration », shown when the profile
holds an issuer key): deposit a certified document, send a request (a checklist or chosen
documents), book an appointment, the requests sent and their items, the citizens' asks and
their fulfilment. Thin, as the other route files: each handler reads its fields and calls the
service function the CLI's ``vault issuer ...`` calls.

A document comes as multipart (``to``, ``type``, ``title`` then ``file``); it is written to
the profile's temporary folder, given to the service with the name the browser sent, and
removed whatever happens. Writing stops one byte past the deposit limit (the rest of the
upload is read and dropped): the service then refuses the document as too large, in its own
words."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.multipart import BodyPartReader

from vault_core.deposits import MAX_DEPOSIT_SIZE
from vault_core.errors import UsageError

from ..service import appointments, asks, issuer
from ..service.values import parse_due
from .daemon import Daemon
from .http import Route, body, number, reply, text

FIELDS = 4096  # the longest text field of a multipart form (a title, a handle)


def add_issuer_routes(
    route: Callable[[str, str], Callable[[Route], Route]], daemon: Daemon
) -> None:
    ctx = daemon.ctx

    @route("GET", "/api/issuer")
    async def desk(request: web.Request) -> web.StreamResponse:
        return reply({"issuer": issuer.info(ctx), "templates": issuer.templates(ctx)})

    @route("POST", "/api/issuer/deposit")
    async def deposit(request: web.Request) -> web.StreamResponse:
        async with _upload(request, daemon) as (fields, file, name):
            deposit_id = await issuer.deposit(
                ctx,
                _field(fields, "to"),
                _field(fields, "type"),
                file,
                fields.get("title", "").strip() or None,
                name,
            )
        return reply({"id": deposit_id})

    @route("GET", "/api/issuer/requests")
    async def sent(request: web.Request) -> web.StreamResponse:
        return reply(await issuer.sent_requests(ctx))

    @route("POST", "/api/issuer/requests")
    async def send_request(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        needs = data.get("needs") or []
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            raise UsageError("needs: a list of document types")
        message = data.get("message")
        sent_id = await issuer.request_from(
            ctx,
            text(data, "to", limit=64),
            needs,
            text(data, "template", required=False, limit=64) or None,
            text(data, "due", required=False, limit=40) or None,
            message if isinstance(message, str) and message.strip() else None,
        )
        return reply({"id": sent_id})

    @route("POST", "/api/issuer/appointments")
    async def book(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        bring = data.get("bring") or []
        if not isinstance(bring, list) or not all(isinstance(b, str) for b in bring):
            raise UsageError("bring: a list of document types")
        minutes = number(data, "duration_minutes")
        booked = await appointments.book(
            ctx,
            text(data, "to", limit=64),
            parse_due(text(data, "at", limit=40)),
            text(data, "place", limit=1000),
            bring,
            text(data, "message", required=False, limit=4000),
            **({"duration": minutes * 60} if minutes else {}),
        )
        return reply({"id": booked})

    @route("GET", "/api/issuer/asks")
    async def received(request: web.Request) -> web.StreamResponse:
        return reply(await asks.received(ctx))

    @route("POST", "/api/issuer/asks/{id}/fulfil")
    async def fulfil(request: web.Request) -> web.StreamResponse:
        async with _upload(request, daemon) as (fields, file, name):
            deposit_id = await asks.fulfil(
                ctx, request.match_info["id"], file, fields.get("title", "").strip() or None, name
            )
        return reply({"deposit_id": deposit_id})


def _field(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise UsageError(f"{name}: a text is needed")
    return value


@contextlib.asynccontextmanager
async def _upload(request: web.Request, daemon: Daemon) -> Any:
    """The form's text fields, the document written to a private temporary file, and the
    name the browser gave it; the file is removed on the way out."""
    fields: dict[str, str] = {}
    tmp = Path(daemon.tmp) / f"upload-{os.urandom(8).hex()}"
    name = ""
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise UsageError("nested multipart")
            if part.name != "file":
                value = bytearray()
                while chunk := await part.read_chunk(FIELDS + 1):
                    value += chunk
                    if len(value) > FIELDS:
                        raise UsageError("request too large")
                fields[str(part.name)] = value.decode("utf-8", errors="replace")
                continue
            if name or not part.filename:
                raise UsageError("a file has no name")
            name = Path(part.filename.replace("\\", "/")).name
            await _save(part, tmp)
        if not name:
            raise UsageError("choose a file")
        yield fields, tmp, name
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


async def _save(part: BodyPartReader, tmp: Path) -> None:
    """The part into ``tmp``, up to one byte past the deposit limit; the rest is read and
    dropped (the browser gets its answer once it has sent the whole form)."""
    with open(tmp, "xb", opener=lambda p, flags: os.open(p, flags, 0o600)) as out:
        written = 0
        while chunk := await part.read_chunk(1 << 20):
            if written <= MAX_DEPOSIT_SIZE:
                await asyncio.to_thread(out.write, chunk[: MAX_DEPOSIT_SIZE + 1 - written])
            written += len(chunk)
