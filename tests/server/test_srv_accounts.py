from __future__ import annotations

from srv_helpers import Srv, expect, hex_id, keypair, new_user

from vault_core.encoding import b64u
from vault_core.login import sign_login_proof


async def test_health(srv: Srv) -> None:
    body = await expect(await srv.client.get("/v1/health"), 200)
    assert body == {"status": "ok", "version": 1}


async def test_create_account_and_duplicate(srv: Srv) -> None:
    alice = await srv.user("alice")
    body = await expect(await srv.client.get("/v1/account", headers=alice.h), 200)
    assert body == {"handle": "alice", "quota": 10 * 2**30, "used": 0, "is_issuer": False}
    _, again = new_user("alice")
    await expect(await srv.client.post("/v1/accounts", json=again), 409, "exists")


async def test_bad_handles_and_keys(srv: Srv) -> None:
    for handle in ["A", "x", "-ab", "a" * 33, "ab/c", "ab\n", "é"]:
        _, body = new_user("ok")
        body["handle"] = handle
        await expect(await srv.client.post("/v1/accounts", json=body), 400, "bad_request")
    _, body = new_user("zeros")
    body["login_pk"] = b64u(bytes(32))
    await expect(await srv.client.post("/v1/accounts", json=body), 400, "bad_request")


async def test_login_purposes(srv: Srv) -> None:
    alice = await srv.user("alice")
    body = await expect(await srv.login(alice, "passphrase"), 200)
    assert body["bundle"] and body["kdf"]["alg"] == "argon2id" and "identity" in body
    body = await expect(await srv.login(alice, "recovery"), 200)
    assert "bundle" in body
    body = await expect(await srv.login(alice, "device"), 200)
    assert body["device_id"] == alice.device_id and "bundle" not in body
    # a new device added at passphrase login
    pk, _ = keypair()
    dev = {"id": hex_id(), "name": "phone", "sign_pk": b64u(pk), "cert": b64u(b"c")}
    body = await expect(await srv.login(alice, "passphrase", device=dev), 200)
    assert body["device_id"] == dev["id"]
    devices = await expect(await srv.client.get("/v1/devices", headers=alice.h), 200)
    assert {d["id"] for d in devices} == {alice.device_id, dev["id"]}


async def test_login_failures_look_alike(srv: Srv) -> None:
    alice = await srv.user("alice")
    _, wrong = keypair()
    b1 = await expect(await srv.login(alice, "passphrase", sk=wrong), 401, "unauthorized")
    ghost, _ = new_user("ghost")
    b2 = await expect(await srv.login(ghost, "passphrase"), 401, "unauthorized")
    assert b1 == b2
    # unknown handle: same shape, stable salt
    r1 = await expect(
        await srv.client.post("/v1/login/start", json={"handle": "ghost", "purpose": "passphrase"}),
        200,
    )
    r2 = await expect(
        await srv.client.post("/v1/login/start", json={"handle": "ghost", "purpose": "passphrase"}),
        200,
    )
    real = await expect(
        await srv.client.post("/v1/login/start", json={"handle": "alice", "purpose": "passphrase"}),
        200,
    )
    assert r1["kdf"] == r2["kdf"] and set(r1) == set(real) and set(r1["kdf"]) == set(real["kdf"])
    assert r1["challenge"] != r2["challenge"]


async def test_challenge_single_use_and_expiry(srv: Srv) -> None:
    from vault_core.login import sign_login_proof

    alice = await srv.user("alice")
    ch = await srv.challenge("alice", "passphrase")
    body = {
        "handle": "alice",
        "purpose": "passphrase",
        "challenge": b64u(ch),
        "signature": b64u(sign_login_proof(alice.login_sk, "alice", srv.host, "passphrase", ch)),
    }
    await expect(await srv.client.post("/v1/login/finish", json=body), 200)
    await expect(await srv.client.post("/v1/login/finish", json=body), 401)
    ch = await srv.challenge("alice", "passphrase")
    body["challenge"] = b64u(ch)
    body["signature"] = b64u(sign_login_proof(alice.login_sk, "alice", srv.host, "passphrase", ch))
    srv.clock.advance(301)
    await expect(await srv.client.post("/v1/login/finish", json=body), 401)
    # a proof for another purpose or host does not verify
    ch = await srv.challenge("alice", "passphrase")
    body["challenge"] = b64u(ch)
    body["signature"] = b64u(sign_login_proof(alice.login_sk, "alice", "evil:1", "passphrase", ch))
    await expect(await srv.client.post("/v1/login/finish", json=body), 401)


async def test_token_expiry_logout(srv: Srv) -> None:
    alice = await srv.user("alice")
    await expect(await srv.client.get("/v1/log/head", headers=alice.h), 200)
    srv.clock.advance(3601)
    await expect(await srv.client.get("/v1/log/head", headers=alice.h), 401, "unauthorized")
    alice.token = (await expect(await srv.login(alice), 200))["token"]
    await expect(await srv.client.post("/v1/logout", headers=alice.h), 204)
    await expect(await srv.client.get("/v1/log/head", headers=alice.h), 401)
    for bad in ["", "Bearer", "Bearer x", "Basic abc", "Bearer " + "A" * 43]:
        await expect(await srv.client.get("/v1/log/head", headers={"Authorization": bad}), 401)


async def test_revocation_and_passphrase_change_end_sessions(srv: Srv) -> None:
    alice = await srv.user("alice")
    other = (await expect(await srv.login(alice, "passphrase"), 200))["token"]
    dev_session = (await expect(await srv.login(alice, "device"), 200))["token"]
    await expect(
        await srv.client.delete(
            f"/v1/devices/{alice.device_id}", headers={"Authorization": f"Bearer {other}"}
        ),
        204,
    )
    # the device's sessions (the original one and the refreshed one) end at once
    await expect(await srv.client.get("/v1/log/head", headers=alice.h), 401)
    await expect(
        await srv.client.get("/v1/log/head", headers={"Authorization": f"Bearer {dev_session}"}),
        401,
    )
    await expect(await srv.login(alice, "device"), 401)
    devices = await expect(
        await srv.client.get("/v1/devices", headers={"Authorization": f"Bearer {other}"}), 200
    )
    assert devices[0]["revoked_at"] == srv.clock.now()
    # passphrase change ends every other session
    third = (await expect(await srv.login(alice, "passphrase"), 200))["token"]
    new_pk, new_sk = keypair()
    change = {
        "kdf": {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1, "salt": b64u(b"s" * 16)},
        "login_pk": b64u(new_pk),
        "bundle_pass": b64u(b"new bundle"),
    }
    await expect(
        await srv.client.post(
            "/v1/account/passphrase", json=change, headers={"Authorization": f"Bearer {other}"}
        ),
        204,
    )
    await expect(
        await srv.client.get("/v1/log/head", headers={"Authorization": f"Bearer {third}"}), 401
    )
    await expect(
        await srv.client.get("/v1/log/head", headers={"Authorization": f"Bearer {other}"}), 200
    )
    await expect(await srv.login(alice, "passphrase"), 401)
    body = await expect(await srv.login(alice, "passphrase", sk=new_sk), 200)
    assert body["bundle"] == b64u(b"new bundle")


async def test_device_cert_and_keys(srv: Srv) -> None:
    alice = await srv.user("alice")
    await expect(
        await srv.client.put(
            f"/v1/devices/{alice.device_id}/cert", json={"cert": b64u(b"new cert")}, headers=alice.h
        ),
        204,
    )
    devices = await expect(await srv.client.get("/v1/devices", headers=alice.h), 200)
    assert devices[0]["cert"] == b64u(b"new cert")
    await expect(
        await srv.client.put(
            f"/v1/devices/{hex_id()}/cert", json={"cert": b64u(b"x")}, headers=alice.h
        ),
        404,
    )
    keys = await expect(await srv.client.get("/v1/users/alice/keys"), 200)
    assert set(keys) == {"handle", "sign_pk", "box_pk", "sig"}
    await expect(await srv.client.get("/v1/users/nobody/keys"), 404, "not_found")


async def test_login_rate_limits(make_srv) -> None:
    srv = await make_srv(login_fail_per_handle=3, login_fail_per_address=5)
    alice = await srv.user("alice")
    bob = await srv.user("bob")
    _, wrong = keypair()
    for _ in range(3):
        await expect(await srv.login(alice, sk=wrong), 401)
    # even the right key is refused while limited
    await expect(await srv.login(alice), 429, "rate_limited")
    for _ in range(2):
        await expect(await srv.login(bob, sk=wrong), 401)
    # the address has 5 failures now: every handle is refused from here
    await expect(await srv.login(bob), 429)
    srv.clock.advance(15 * 60 + 1)
    await expect(await srv.login(alice), 200)
    await expect(await srv.login(bob), 200)


async def test_passphrase_guessing_does_not_lock_out_device_renewals(make_srv) -> None:
    srv = await make_srv(login_fail_per_handle=3, login_fail_per_address=7)
    alice = await srv.user("alice")
    _, wrong = keypair()
    for _ in range(3):
        await expect(await srv.login(alice, "passphrase", sk=wrong), 401)
    # the handle is locked for passphrase and recovery guesses...
    await expect(await srv.login(alice, "passphrase"), 429, "rate_limited")
    await expect(await srv.login(alice, "recovery"), 429, "rate_limited")
    # ...but Alice's enrolled device still renews its session with its own key
    body = await expect(await srv.login(alice, "device"), 200)
    assert body["device_id"] == alice.device_id
    # a wrong device key is refused, and does not count against the handle either
    srv.clock.advance(15 * 60 + 1)
    for _ in range(4):
        await expect(await srv.login(alice, "device", sk=wrong), 401)
    await expect(await srv.login(alice, "passphrase"), 200)
    # the per-address limit still covers device-key attempts: 4 + 3 = 7 in the window
    for _ in range(3):
        await expect(await srv.login(alice, "device", sk=wrong), 401)
    await expect(await srv.login(alice, "device"), 429, "rate_limited")


async def test_per_address_limit_behind_a_trusted_proxy(tmp_path) -> None:
    """Behind a reverse proxy the per-address limit counts each client, not the proxy; a
    client that is not a trusted proxy cannot pick its address with X-Forwarded-For."""
    from srv_helpers import start_srv

    srv = await start_srv(
        tmp_path / "behind",
        trusted_proxies=frozenset({"127.0.0.1"}),
        login_fail_per_handle=100,
        login_fail_per_address=3,
    )
    try:
        alice = await srv.user("alice")
        _, wrong = keypair()

        async def login(sk: bytes | None, forwarded: str) -> int:
            ch = await srv.challenge("alice", "passphrase")
            body = {
                "handle": "alice",
                "purpose": "passphrase",
                "challenge": b64u(ch),
                "signature": b64u(
                    sign_login_proof(sk or alice.login_sk, "alice", srv.host, "passphrase", ch)
                ),
            }
            r = await srv.client.post(
                "/v1/login/finish", json=body, headers={"X-Forwarded-For": forwarded}
            )
            return r.status

        for _ in range(3):  # the proxy appended the client's address last
            assert await login(wrong, "10.0.0.9, 198.51.100.7") == 401
        assert await login(None, "198.51.100.7") == 429  # that client is limited...
        assert await login(None, "203.0.113.5") == 200  # ...the other clients are not
        # an address the proxy did not add (the client's own header) is not believed
        assert await login(None, "203.0.113.5, 198.51.100.7") == 429
    finally:
        await srv.client.close()
