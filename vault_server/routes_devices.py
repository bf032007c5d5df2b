"""Devices of the caller's account: list, certificate update, revocation."""

from __future__ import annotations

from aiohttp import web

from vault_core.encoding import b64u
from vault_core.errors import NotFound

from . import validate
from .context import ctx
from .httpio import bearer, json_response, no_content, path_id, read_json
from .routing import Route
from .schemas import HEX_ID, NULL_TIME, TIME, answer, answer_list, b64, obj


async def list_devices(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    devices = await c.meta.list_devices(caller.account.id)
    return json_response(
        [
            {
                "id": d.id,
                "name": d.name,
                "sign_pk": b64u(d.sign_pk),
                "cert": b64u(d.cert),
                "created_at": d.created_at,
                "revoked_at": d.revoked_at,
            }
            for d in devices
        ]
    )


async def put_device_cert(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    device_id = path_id(request)
    body = await read_json(request)
    cert = validate.b64(body.get("cert"), "cert", max_size=c.config.limits.small_blob_field)
    if not await c.meta.set_device_cert(caller.account.id, device_id, cert):
        raise NotFound()
    return no_content()


async def revoke_device(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    device_id = path_id(request)
    if not await c.meta.revoke_device(caller.account.id, device_id, c.clock.now()):
        raise NotFound()
    await c.hub.device_revoked(caller.account.id, device_id)
    return no_content()


ROUTES = [
    Route(
        "GET",
        "/v1/devices",
        list_devices,
        "Devices of this account",
        "devices",
        errors=(401,),
        response=answer_list(
            answer(
                {
                    "id": HEX_ID,
                    "name": {"type": "string"},
                    "sign_pk": b64(32),
                    "cert": b64(),
                    "created_at": TIME,
                    "revoked_at": NULL_TIME,
                }
            )
        ),
    ),
    Route(
        "PUT",
        "/v1/devices/{id}/cert",
        put_device_cert,
        "Replace a device certificate",
        "devices",
        body="json",
        status=204,
        errors=(401, 404),
        request=lambda lim: obj(lim, 1, {"cert": b64(max_size=lim.small_blob_field)}),
    ),
    Route(
        "DELETE",
        "/v1/devices/{id}",
        revoke_device,
        "Revoke a device; its sessions end at once",
        "devices",
        status=204,
        errors=(401, 404),
    ),
]
