"""The app's routes for the owner's settings: devices, Paramètres (reminders, language,
auto-lock), trusted authorities (with their words before pinning, and the operator's trust
roots), and appointments. Thin: each handler reads its fields and calls the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from vault_core.errors import NotFound, UsageError

from ..service import account, settings
from .daemon import Daemon
from .files import send_bytes
from .http import Route, body, number, reply, text


def add_settings_routes(
    route: Callable[[str, str], Callable[[Route], Route]], daemon: Daemon
) -> None:
    ctx = daemon.ctx

    @route("GET", "/api/devices")
    async def devices(request: web.Request) -> web.StreamResponse:
        return reply(await account.list_devices(ctx))

    @route("DELETE", "/api/devices/{id}")
    async def revoke_device(request: web.Request) -> web.StreamResponse:
        await account.revoke_device(ctx, request.match_info["id"])
        return reply({"ok": True})

    @route("GET", "/api/settings")
    async def get_settings(request: web.Request) -> web.StreamResponse:
        return reply(settings.get(ctx))

    @route("PUT", "/api/settings")
    async def put_settings(request: web.Request) -> web.StreamResponse:
        data = await body(request)
        given = data.get("reminders")
        rem: dict[str, Any] = given if isinstance(given, dict) else {}
        enabled = rem.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise UsageError("reminders.enabled: true or false")
        language = data.get("language")
        return reply(
            settings.update(
                ctx,
                reminders_enabled=enabled,
                before_days=_days(rem.get("before_days")),
                every_days=_days(rem.get("every_days")),
                language=language if isinstance(language, str) else None,
                autolock=number(data, "autolock_minutes"),
            )
        )

    @route("POST", "/api/trust")
    async def add_trust(request: web.Request) -> web.StreamResponse:
        from ..service import trust

        data = await body(request)
        name = text(data, "name", required=False, limit=200).strip() or None
        # a bare key, or an invitation's vault-trust: URI (its name then comes with it)
        return reply(trust.add(ctx, text(data, "public_key", limit=2048), name))

    @route("POST", "/api/trust/preview")
    async def preview_trust(request: web.Request) -> web.StreamResponse:
        """The authority a key or an invitation URI names, with its words, not pinned: the
        page asks « Faire confiance à … ? » with them first."""
        from ..service import trust

        data = await body(request)
        name = text(data, "name", required=False, limit=200).strip() or None
        return reply(trust.preview(text(data, "public_key", limit=2048), name))

    @route("GET", "/api/trust/roots")
    async def trust_roots(request: web.Request) -> web.StreamResponse:
        from ..service import trust

        return reply(await trust.roots(ctx))

    @route("POST", "/api/trust/roots/accept")
    async def accept_trust_roots(request: web.Request) -> web.StreamResponse:
        from ..service import trust

        data = await body(request)
        return reply(await trust.accept_roots(ctx, text(data, "digest", limit=128)))

    @route("GET", "/api/appointments")
    async def list_appointments(request: web.Request) -> web.StreamResponse:
        from ..service import appointments

        return reply(await appointments.list_appointments(ctx))

    @route("GET", "/api/appointments/{id}/ics")
    async def appointment_ics(request: web.Request) -> web.StreamResponse:
        from ..service import appointments

        wanted = request.match_info["id"]
        found = {a.id: a for a in await appointments.list_appointments(ctx)}.get(wanted)
        if found is None:
            raise NotFound("no such appointment")
        data = appointments.calendar(found)
        return send_bytes(data, "rendez-vous.ics", False, "text/calendar; charset=utf-8")


def _days(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError("a number of days is needed")
    return float(value)
