"""Accounts, login (challenge + signed proof), logout, passphrase change, usage, public keys.

Theory of operation (login)
---------------------------
``/login/start`` always stores a fresh single-use challenge (5 min) and answers with the
account's KDF parameters; an unknown handle gets fixed parameters and a salt derived by HMAC
from the server secret and the handle, so known and unknown handles look alike and stay stable.
``/login/finish`` first refuses with 429 when the handle or the client address has too many
recent failures, then consumes the challenge, picks the key the purpose names (login key,
recovery login key, or a non-revoked device key) and always verifies a signature (against a
dummy key when there is nothing to check), so failures cost about the same work whatever failed.
Every failure is the same 401 and is counted for the rate limits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from typing import Any

from aiohttp import web

from vault_core import _crypto
from vault_core.encoding import b64u
from vault_core.errors import AuthError, BadRequest, IntegrityError, NotFound
from vault_core.login import LOGIN_PURPOSES, verify_login_proof

from . import limits, validate
from .config import Limits
from .context import ServerContext, ctx
from .httpio import (
    authorization,
    bearer,
    caller_from_token,
    json_response,
    no_content,
    path_handle,
    read_json,
    remote_address,
)
from .routing import Route
from .schemas import (
    BOX_PK,
    HANDLE,
    HEX_ID,
    SIG,
    SIGN_PK,
    TIME,
    answer,
    any_json,
    b64,
    device,
    kdf,
    nullable,
    obj,
)
from .sessions import issue_session, new_session
from .storage.base import Account, Device, NewAccount

# What an unknown handle's login/start answers (with an HMAC-derived salt). Clients should
# create accounts with these parameters so the answers cannot be told apart.
FAKE_KDF = {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1}
_DUMMY_PK = _crypto.sign_keypair(hashlib.sha256(b"vault.v1/dummy-login-key").digest())[0]
_BUNDLE_MAX = 64 * 1024


def _fake_kdf(c: ServerContext, handle: str) -> dict[str, Any]:
    salt = hmac.digest(c.secret, b"vault.v1/fake-salt\x00" + handle.encode(), "sha256")[:16]
    return {**FAKE_KDF, "salt": b64u(salt)}


def _identity(a: Account) -> dict[str, str]:
    return {"sign_pk": b64u(a.sign_pk), "box_pk": b64u(a.box_pk), "sig": b64u(a.identity_sig)}


def _device(c: ServerContext, value: object, account_id: int) -> Device:
    d = validate.obj(value, "device")
    lim = c.config.limits
    return Device(
        id=validate.hex_id(d.get("id"), "device.id"),
        account_id=account_id,
        name=validate.text(d.get("name"), "device.name", lim.device_name),
        sign_pk=validate.sign_pk(d.get("sign_pk"), "device.sign_pk"),
        # At login the device cannot hold a certificate yet (the identity key is inside the
        # bundle it is about to receive): it sends it afterwards with PUT /v1/devices/{id}/cert.
        cert=(
            validate.b64(d.get("cert"), "device.cert", max_size=lim.small_blob_field)
            if d.get("cert") is not None
            else b""
        ),
        created_at=c.clock.now(),
        # web access: a browser's device lives only as long as its session (idle expiry)
        idle_timeout=lim.web_idle
        if d.get("ephemeral") is not None
        and validate.boolean(d.get("ephemeral"), "device.ephemeral")
        else None,
    )


async def create_account(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await read_json(request)
    identity = validate.obj(body.get("identity"), "identity")
    account = NewAccount(
        handle=validate.handle(body.get("handle")),
        kdf=validate.kdf(body.get("kdf")),
        login_pk=validate.sign_pk(body.get("login_pk"), "login_pk"),
        recovery_login_pk=validate.sign_pk(body.get("recovery_login_pk"), "recovery_login_pk"),
        bundle_pass=validate.b64(body.get("bundle_pass"), "bundle_pass", max_size=_BUNDLE_MAX),
        bundle_recovery=validate.b64(
            body.get("bundle_recovery"), "bundle_recovery", max_size=_BUNDLE_MAX
        ),
        sign_pk=validate.sign_pk(identity.get("sign_pk"), "identity.sign_pk"),
        box_pk=validate.box_pk(identity.get("box_pk"), "identity.box_pk"),
        identity_sig=validate.b64(identity.get("sig"), "identity.sig", size=64),
        quota=c.config.limits.quota,
        created_at=c.clock.now(),
    )
    device = _device(c, body.get("device"), 0)
    token, session = new_session(c, device.id)
    await c.meta.create_account(account, device, session)
    return json_response(
        {"token": token, "expires_at": session.expires_at, "device_id": device.id}, 201
    )


async def login_start(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await read_json(request)
    handle = validate.handle(body.get("handle"))
    purpose = body.get("purpose")
    if purpose not in LOGIN_PURPOSES:
        raise BadRequest("purpose: unknown")
    if body.get("device_id") is not None:
        validate.hex_id(body.get("device_id"), "device_id")
    account = await c.meta.get_account_by_handle(handle)
    kdf = account.kdf if account is not None else _fake_kdf(c, handle)
    challenge = os.urandom(32)
    expires = c.clock.now() + c.config.limits.challenge_lifetime
    await c.meta.put_challenge(challenge, handle, str(purpose), expires)
    return json_response({"challenge": b64u(challenge), "kdf": kdf})


async def login_finish(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await read_json(request)
    handle = validate.handle(body.get("handle"))
    purpose = body.get("purpose")
    if purpose not in LOGIN_PURPOSES:
        raise BadRequest("purpose: unknown")
    challenge = validate.b64(body.get("challenge"), "challenge", size=32)
    signature = validate.b64(body.get("signature"), "signature", size=64)
    device_id: str | None = None
    if purpose == "device":
        device_id = validate.hex_id(body.get("device_id"), "device_id")
    new_device = None
    if purpose != "device" and body.get("device") is not None:
        new_device = _device(c, body.get("device"), 0)

    address = remote_address(request, c.config.trusted_proxies)
    await limits.check_login(c, handle, address, str(purpose))
    fresh = await c.meta.take_challenge(challenge, handle, str(purpose), c.clock.now())
    account = await c.meta.get_account_by_handle(handle)
    key: bytes | None = None
    if account is not None:
        if purpose == "passphrase":
            key = account.login_pk
        elif purpose == "recovery":
            key = account.recovery_login_pk
        elif device_id is not None:
            dev = await c.meta.get_device(account.id, device_id)
            # an ephemeral device never renews its session: it signs in with the passphrase
            if dev is not None and dev.revoked_at is None and dev.idle_timeout is None:
                key = dev.sign_pk
    host = c.config.public_host or request.host
    try:
        verify_login_proof(key or _DUMMY_PK, handle, host, str(purpose), challenge, signature)
        proof_ok = key is not None
    except IntegrityError:
        proof_ok = False
    if not fresh or not proof_ok or account is None:
        await limits.login_failed(c, handle, address, str(purpose))
        raise AuthError("login failed")

    if new_device is not None:
        new_device = dataclasses.replace(new_device, account_id=account.id)
        device_id = new_device.id
    idle = new_device.idle_timeout if new_device is not None else None
    token, expires_at = await issue_session(c, account.id, device_id, new_device, idle)
    answer: dict[str, Any] = {
        "token": token,
        "expires_at": expires_at,
        "kdf": account.kdf,
        "identity": _identity(account),
        "device_id": device_id,
    }
    if purpose == "passphrase":
        answer["bundle"] = b64u(account.bundle_pass)
    elif purpose == "recovery":
        answer["bundle"] = b64u(account.bundle_recovery)
    return json_response(answer)


async def logout(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    await c.meta.delete_session(caller.token_hash)
    await c.hub.close_where(caller.account.id, lambda s: s.token_hash == caller.token_hash)
    return no_content()


async def change_passphrase(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    caller = await bearer(request)
    body = await read_json(request)
    kdf = validate.kdf(body.get("kdf"))
    login_pk = validate.sign_pk(body.get("login_pk"), "login_pk")
    bundle_pass = validate.b64(body.get("bundle_pass"), "bundle_pass", max_size=_BUNDLE_MAX)
    recovery_pk = None
    if body.get("recovery_login_pk") is not None:
        recovery_pk = validate.sign_pk(body.get("recovery_login_pk"), "recovery_login_pk")
    bundle_recovery = None
    if body.get("bundle_recovery") is not None:
        bundle_recovery = validate.b64(
            body.get("bundle_recovery"), "bundle_recovery", max_size=_BUNDLE_MAX
        )
    await c.meta.change_passphrase(
        caller.account.id,
        kdf,
        login_pk,
        bundle_pass,
        recovery_pk,
        bundle_recovery,
        caller.token_hash,
    )
    await c.hub.close_where(caller.account.id, lambda s: s.token_hash != caller.token_hash)
    return no_content()


async def account_usage(request: web.Request) -> web.StreamResponse:
    caller = await bearer(request)
    a = caller.account
    return json_response(
        {"handle": a.handle, "quota": a.quota, "used": a.used, "is_issuer": a.is_issuer}
    )


async def user_keys(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    handle = path_handle(request)
    auth = authorization(request)
    if auth is not None and auth[0].lower() == "bearer":
        await caller_from_token(request, auth[1])  # a bad token is refused, not ignored
    account = await c.meta.get_account_by_handle(handle)
    if account is None:
        raise NotFound()
    return json_response({"handle": account.handle, **_identity(account)})


def _identity_schema(lim: Limits, depth: int) -> dict[str, Any]:
    return obj(lim, depth, {"sign_pk": SIGN_PK, "box_pk": BOX_PK, "sig": SIG})


_BUNDLE = b64(max_size=_BUNDLE_MAX)
_KDF_ANSWER = answer(
    {
        "alg": {"const": "argon2id"},
        "m_kib": {"type": "integer"},
        "t": {"type": "integer"},
        "p": {"type": "integer"},
        "salt": b64(16),
    }
)
_IDENTITY_ANSWER = answer({"sign_pk": b64(32), "box_pk": b64(32), "sig": b64(64)})
_PURPOSE = {"enum": list(LOGIN_PURPOSES)}


def _login_finish_body(lim: Limits) -> dict[str, Any]:
    proof = {"handle": HANDLE, "challenge": b64(32), "signature": SIG}
    return {
        "oneOf": [
            obj(
                lim,
                1,
                {**proof, "purpose": {"const": "device"}, "device_id": HEX_ID},
                {"device": any_json(lim.json_depth - 1, lim.list_items)},
            ),
            obj(
                lim,
                1,
                {**proof, "purpose": {"enum": [p for p in LOGIN_PURPOSES if p != "device"]}},
                {
                    "device": nullable(device(lim, 2)),
                    "device_id": any_json(lim.json_depth - 1, lim.list_items),
                },
            ),
        ]
    }


ROUTES = [
    Route(
        "POST",
        "/v1/accounts",
        create_account,
        "Create an account with its first device",
        "accounts",
        auth="none",
        body="json",
        status=201,
        errors=(409,),
        request=lambda lim: obj(
            lim,
            1,
            {
                "handle": HANDLE,
                "kdf": kdf(lim, 2),
                "login_pk": SIGN_PK,
                "recovery_login_pk": SIGN_PK,
                "bundle_pass": _BUNDLE,
                "bundle_recovery": _BUNDLE,
                "identity": _identity_schema(lim, 2),
                "device": device(lim, 2),
            },
        ),
        response=answer({"token": b64(32), "expires_at": TIME, "device_id": HEX_ID}),
    ),
    Route(
        "POST",
        "/v1/login/start",
        login_start,
        "Get a login challenge and KDF parameters",
        "accounts",
        auth="none",
        body="json",
        request=lambda lim: obj(
            lim, 1, {"handle": HANDLE, "purpose": _PURPOSE}, {"device_id": nullable(HEX_ID)}
        ),
        response=answer({"challenge": b64(32), "kdf": _KDF_ANSWER}),
    ),
    Route(
        "POST",
        "/v1/login/finish",
        login_finish,
        "Prove a login key; get a session",
        "accounts",
        auth="none",
        body="json",
        errors=(401, 409, 429),
        request=_login_finish_body,
        response=answer(
            {
                "token": b64(32),
                "expires_at": TIME,
                "kdf": _KDF_ANSWER,
                "identity": _IDENTITY_ANSWER,
                "device_id": nullable(HEX_ID),
            },
            {"bundle": b64()},
        ),
    ),
    Route("POST", "/v1/logout", logout, "End this session", "accounts", status=204, errors=(401,)),
    Route(
        "POST",
        "/v1/account/passphrase",
        change_passphrase,
        "Change the passphrase; ends every other session",
        "accounts",
        body="json",
        status=204,
        errors=(401,),
        request=lambda lim: obj(
            lim,
            1,
            {"kdf": kdf(lim, 2), "login_pk": SIGN_PK, "bundle_pass": _BUNDLE},
            {"recovery_login_pk": nullable(SIGN_PK), "bundle_recovery": nullable(_BUNDLE)},
        ),
    ),
    Route(
        "GET",
        "/v1/account",
        account_usage,
        "Quota and usage",
        "accounts",
        errors=(401,),
        response=answer(
            {
                "handle": HANDLE,
                "quota": {"type": "integer"},
                "used": {"type": "integer"},
                "is_issuer": {"type": "boolean"},
            }
        ),
    ),
    Route(
        "GET",
        "/v1/users/{handle}/keys",
        user_keys,
        "An account's public identity keys",
        "accounts",
        auth="bearer_optional",
        errors=(401, 404),
        response=answer({"handle": HANDLE, "sign_pk": b64(32), "box_pk": b64(32), "sig": b64(64)}),
    ),
]
