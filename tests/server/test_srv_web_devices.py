"""Ephemeral devices of web access (issue 19): a browser registers its device with
``"ephemeral": true``; its session lasts the server's idle time (``web_idle``), moved later by
each request; it can never renew with its device key; once idle its token is refused and the
periodic housekeeping revokes the device. An ordinary device is unchanged."""

from __future__ import annotations

from srv_helpers import Srv, hex_id, keypair

from vault_core.encoding import b64u
from vault_server.gc import collect


def web_device(name: str = "Navigateur — 2026-12-07 18:00") -> tuple[dict[str, object], bytes]:
    pk, sk = keypair()
    return {"id": hex_id(), "name": name, "sign_pk": b64u(pk), "ephemeral": True}, sk


async def test_web_device_idles_out_and_is_revoked(srv: Srv) -> None:
    jean = await srv.user("jean")
    dev, dev_sk = web_device()
    r = await srv.login(jean, device=dev)
    assert r.status == 200, await r.text()
    body = await r.json()
    token = {"Authorization": f"Bearer {body['token']}"}
    assert body["expires_at"] == srv.clock.now() + 900  # the idle time, not the hour
    # each request moves the end later: 14 minutes, a request, 14 minutes more, still in
    for _ in range(3):
        srv.clock.advance(14 * 60)
        r = await srv.client.get("/v1/log/head", headers=token)
        assert r.status == 200
    listed = await (await srv.client.get("/v1/devices", headers=jean.h)).json()
    assert next(d for d in listed if d["id"] == dev["id"])["revoked_at"] is None
    # the device key never renews the session (it signs in with the passphrase again)
    renew = await srv.login(jean, "device", sk=dev_sk)
    assert renew.status == 401
    # 15 minutes without a request: refused, and housekeeping revokes the device
    srv.clock.advance(15 * 60 + 1)
    assert (await srv.client.get("/v1/log/head", headers=token)).status == 401
    await collect(srv.ctx.meta, srv.ctx.blobs, srv.clock.now(), 86400, 3600)
    r = await srv.login(jean)
    jean.token = (await r.json())["token"]
    listed = await (await srv.client.get("/v1/devices", headers=jean.h)).json()
    assert next(d for d in listed if d["id"] == dev["id"])["revoked_at"] == srv.clock.now()


async def test_ordinary_device_keeps_its_hour_and_renews(srv: Srv) -> None:
    jean = await srv.user("jean")
    pk, sk = keypair()
    dev = {"id": hex_id(), "name": "laptop", "sign_pk": b64u(pk), "ephemeral": False}
    r = await srv.login(jean, device=dev)
    assert r.status == 200
    assert (await r.json())["expires_at"] == srv.clock.now() + 3600
    jean.device_id = str(dev["id"])
    assert (await srv.login(jean, "device", sk=sk)).status == 200


async def test_ephemeral_must_be_a_boolean(srv: Srv) -> None:
    jean = await srv.user("jean")
    dev, _ = web_device()
    dev["ephemeral"] = "yes"
    r = await srv.login(jean, device=dev)
    assert r.status == 400
    assert (await r.json())["code"] == "bad_request"
