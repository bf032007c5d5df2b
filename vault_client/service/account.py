"""Account and devices: create an account, join one, recover it, change the passphrase,
list and revoke devices.

Each call draws its randomness from os.urandom, talks to the server through the API and keeps
the profile. Nothing secret is ever sent: the server receives public keys, wrapped bundles and
login proofs.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_core import keys
from vault_core.encoding import b64u
from vault_core.errors import IntegrityError, UsageError, VaultError
from vault_core.keys import AccountBundle, DeviceCert, KdfParams, PublicIdentity

from ..api import Api, dec, host_of
from ..identity import check_id
from ..profile import Profile, Secrets
from ..session import fetch_kdf, login_with
from ..sync import SyncEngine
from .context import Context


@dataclass(frozen=True)
class AccountCreated:
    handle: str
    device_id: str
    folder: str
    recovery_key: str  # printable; shown once


@dataclass(frozen=True)
class DeviceJoined:
    handle: str
    device_id: str
    folder: str


@dataclass(frozen=True)
class Device:
    id: str
    name: str | None
    created_at: Any
    revoked_at: Any
    verified: bool  # its certificate is in the signed log (else: injected by the server)
    this: bool


def now_ms() -> int:
    return int(time.time() * 1000)


def default_device_name() -> str:
    return os.environ.get("VAULT_DEVICE_NAME") or socket.gethostname() or "device"


def default_folder() -> Path:
    return Path.home() / "Vault"


def _new_device() -> tuple[str, bytes, bytes]:
    device_id = os.urandom(16).hex()
    seed = os.urandom(32)
    pk, _ = keys.device_keypair(seed)
    return device_id, seed, pk


def _prepare_folder(folder: Path | None, home: Path) -> Path:
    path = (folder or default_folder()).expanduser().resolve()
    if path == home.resolve() or home.resolve() in path.parents:
        raise UsageError("the synced folder cannot be inside the profile")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _refuse_existing(profile: Profile) -> None:
    if profile.has_account:
        raise UsageError(f"profile {profile.home} already holds account {profile.handle}")


def _account_body(
    bundle: AccountBundle,
    pkeys: keys.PassphraseKeys,
    params: KdfParams,
    rkeys: keys.RecoveryKeys,
    device: dict[str, Any],
) -> dict[str, Any]:
    return {
        "handle": bundle.handle,
        "kdf": params.to_json(),
        "login_pk": b64u(pkeys.login_keypair[0]),
        "recovery_login_pk": b64u(rkeys.login_keypair[0]),
        "bundle_pass": b64u(keys.wrap_bundle(bundle, pkeys.kek, "passphrase", os.urandom(24))),
        "bundle_recovery": b64u(keys.wrap_bundle(bundle, rkeys.kek, "recovery", os.urandom(24))),
        "identity": bundle.public_identity().to_json(),
        "device": device,
    }


def _keep(
    profile: Profile,
    api: Api,
    handle: str,
    folder: Path,
    device_id: str,
    name: str,
    passphrase: str,
    secrets: Secrets,
) -> None:
    profile.config.update(
        {
            "server": api.server,
            "handle": handle,
            "folder": str(folder),
            "device_id": device_id,
            "device_name": name,
        }
    )
    profile.ensure_dir()
    profile.create_secrets(passphrase, secrets)


async def init(
    ctx: Context,
    server: str,
    handle: str,
    folder: Path | None,
    passphrase: str,
    strong_only: bool = False,
) -> AccountCreated:
    """Create the account; this profile becomes its first device. ``strong_only`` refuses a
    passphrase that :func:`check_passphrase` finds weak (the app's onboarding)."""
    profile = ctx.profile
    _refuse_existing(profile)
    if strong_only:
        strength = check_passphrase(passphrase, handle)
        if not strength.ok:
            raise UsageError(strength.reason_en or "weak passphrase")
    host_of(server)
    folder_path = _prepare_folder(folder, profile.home)
    params = KdfParams(salt=os.urandom(16))
    pkeys = keys.derive_passphrase_keys(passphrase, params)
    recovery = os.urandom(32)
    rkeys = keys.derive_recovery_keys(recovery)
    bundle = keys.new_bundle(handle, os.urandom(96), int(time.time()))
    device_id, seed, device_pk = _new_device()
    name = default_device_name()
    cert = DeviceCert.issue(bundle, device_id, name, device_pk, now_ms())
    device = {
        "id": device_id,
        "name": name,
        "sign_pk": b64u(device_pk),
        "cert": b64u(cert.encode()),
    }
    async with Api(server) as api:
        res = await api.post("/v1/accounts", _account_body(bundle, pkeys, params, rkeys, device))
        secrets = Secrets(seed, bundle, res["token"], int(res.get("expires_at", 0)))
        _keep(profile, api, handle, folder_path, device_id, name, passphrase, secrets)
        api.token = res["token"]
        await _announce_device(profile, api, cert)
    return AccountCreated(handle, device_id, str(folder_path), keys.format_recovery_key(recovery))


async def login(
    ctx: Context, server: str, handle: str, folder: Path | None, passphrase: str
) -> DeviceJoined:
    """Add this profile as a new device of an existing account."""

    async def step(api: Api, device: dict[str, Any]) -> tuple[dict[str, Any], bytes, str]:
        params = await fetch_kdf(api, handle, "passphrase")
        pkeys = keys.derive_passphrase_keys(passphrase, params)
        res = await login_with(api, handle, "passphrase", pkeys.login_keypair[1], device)
        return res, pkeys.kek, "passphrase"

    return await _join(ctx, server, handle, folder, passphrase, step)


async def recover(
    ctx: Context,
    server: str,
    handle: str,
    folder: Path | None,
    recovery_key: str,
    new_passphrase: str,
) -> DeviceJoined:
    """A new device and a new passphrase from the recovery key."""
    recovery = keys.parse_recovery_key(recovery_key)

    async def step(api: Api, device: dict[str, Any]) -> tuple[dict[str, Any], bytes, str]:
        rkeys = keys.derive_recovery_keys(recovery)
        res = await login_with(api, handle, "recovery", rkeys.login_keypair[1], device)
        return res, rkeys.kek, "recovery"

    return await _join(ctx, server, handle, folder, new_passphrase, step)


# A way in for a new device: given the API and the device's public part (id, name, sign_pk),
# the server's login answer (token, identity, bundle), the KEK that opens the bundle and its
# slot. Any slot other than "passphrase" is a recovery: the new passphrase is then set.
JoinStep = Callable[[Api, dict[str, Any]], Awaitable[tuple[dict[str, Any], bytes, str]]]


async def recover_with(
    ctx: Context,
    server: str,
    handle: str,
    folder: Path | None,
    new_passphrase: str,
    step: JoinStep,
) -> DeviceJoined:
    """A new device and a new passphrase through another recovery ``step`` (the trusted
    contacts): the same path as :func:`recover` after the login."""
    return await _join(ctx, server, handle, folder, new_passphrase, step)


async def _join(
    ctx: Context,
    server: str,
    handle: str,
    folder: Path | None,
    passphrase: str,
    step: JoinStep,
) -> DeviceJoined:
    profile = ctx.profile
    _refuse_existing(profile)
    folder_path = _prepare_folder(folder, profile.home)
    device_id, seed, device_pk = _new_device()
    name = default_device_name()
    device = {"id": device_id, "name": name, "sign_pk": b64u(device_pk)}
    async with Api(server) as api:
        res, kek, slot = await step(api, device)
        try:
            bundle = keys.unwrap_bundle(dec(res["bundle"]), kek, handle, slot)
        except (KeyError, TypeError, IntegrityError):
            raise IntegrityError(
                "the account key bundle the server sent failed verification (forged, "
                "substituted or missing): this device was not added"
            ) from None
        _check_bundle_identity(bundle, res.get("identity"))
        api.token = res["token"]
        if slot != "passphrase":
            await _set_passphrase(api, bundle, passphrase)
        cert = DeviceCert.issue(bundle, device_id, name, device_pk, now_ms())
        await api.put(f"/v1/devices/{device_id}/cert", {"cert": b64u(cert.encode())})
        secrets = Secrets(seed, bundle, res["token"], int(res.get("expires_at", 0)))
        _keep(profile, api, handle, folder_path, device_id, name, passphrase, secrets)
        await _announce_device(profile, api, cert)
    return DeviceJoined(handle, device_id, str(folder_path))


async def _announce_device(profile: Profile, api: Api, cert: DeviceCert) -> None:
    """Append this device's certificate to the log (the log is self-contained)."""
    engine = SyncEngine(profile, api)
    try:
        await engine.append_device_record("device", cert.device_id, cert.encode())
    finally:
        engine.close()


def _check_bundle_identity(bundle: AccountBundle, identity_json: Any) -> None:
    """The identity the server lists must be the one in our authenticated bundle."""
    if identity_json is None:
        return
    try:
        ident = PublicIdentity.from_json({"handle": bundle.handle, **identity_json})
    except VaultError:
        raise IntegrityError("the server's copy of this account's public keys is forged") from None
    if ident.sign_pk != bundle.identity_sign[0] or ident.box_pk != bundle.identity_box[0]:
        raise IntegrityError("the server's copy of this account's public keys was replaced")


async def _set_passphrase(api: Api, bundle: AccountBundle, passphrase: str) -> None:
    params = KdfParams(salt=os.urandom(16))
    pkeys = keys.derive_passphrase_keys(passphrase, params)
    await api.post(
        "/v1/account/passphrase",
        {
            "kdf": params.to_json(),
            "login_pk": b64u(pkeys.login_keypair[0]),
            "bundle_pass": b64u(keys.wrap_bundle(bundle, pkeys.kek, "passphrase", os.urandom(24))),
        },
    )


async def change_passphrase(ctx: Context, new_passphrase: str) -> None:
    """A new passphrase for the account (documents are not re-encrypted); the server ends the
    other sessions."""
    profile = ctx.account()
    async with ctx.api() as api:
        await _set_passphrase(api, profile.bundle, new_passphrase)
    profile.create_secrets(new_passphrase, profile.secrets)


async def list_devices(ctx: Context) -> list[Device]:
    """The server's device list, each checked against the verified, signed log.

    A device is genuine only when its certificate (signed by the identity key) is in the log;
    the server may list others (injected rows): they are marked, never shown as genuine.
    """
    profile = ctx.account()
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            verifier = await engine.pull()
        res: list[dict[str, Any]] = await api.get("/v1/devices")
    return [
        Device(
            id=d["id"],
            name=d.get("name"),
            created_at=d.get("created_at"),
            revoked_at=d.get("revoked_at"),
            verified=d.get("id") in verifier.devices,
            this=d["id"] == profile.device_id,
        )
        for d in res
    ]


async def revoke_device(ctx: Context, device_id: str) -> None:
    """Revoke a device: its sessions end at once and its later entries are refused."""
    check_id(device_id, "device")
    profile = ctx.account()
    if device_id == profile.device_id:
        raise UsageError("use another device to revoke this one")
    async with ctx.api() as api:
        await api.delete(f"/v1/devices/{device_id}")
        with ctx.engine(api) as engine:
            await engine.append_device_record("revoke", device_id, b"")


# -- passphrase strength ------------------------------------------------------------------------


@dataclass(frozen=True)
class Strength:
    ok: bool  # strong enough to protect a vault
    score: int  # 0 (very weak) to 4 (very strong), for a meter
    bits: int  # the estimate behind the score
    reason: str | None  # why not (French), None when ok
    reason_en: str | None


_COMMON = {
    "password", "motdepasse", "azerty", "qwerty", "123456", "12345678", "coffre", "coffrefort",
    "soleil", "bonjour", "doudou", "loulou", "marseille", "iloveyou", "admin", "jetaime",
}  # fmt: skip
MIN_BITS = 50  # about four random words from a large list, or 9 random characters of all kinds


def check_passphrase(passphrase: str, handle: str = "") -> Strength:
    """A conservative estimate of what guessing ``passphrase`` costs (the vault's key comes
    from it: Argon2id slows each guess, it does not make a short passphrase long)."""
    import math

    text = passphrase.strip()
    lowered = text.casefold()
    words = [w for w in text.split() if w]
    classes = [
        any(c.islower() for c in text),
        any(c.isupper() for c in text),
        any(c.isdigit() for c in text),
        any(not c.isalnum() and not c.isspace() for c in text),
    ]
    charset = sum(n for n, has in zip((26, 26, 10, 33), classes, strict=True) if has) or 1
    by_chars = len(text) * math.log2(charset)
    if len(words) >= 3:
        by_chars = min(by_chars, len(words) * 12.9 + 2 * sum(classes[1:]))  # words of a list
    by_chars = min(by_chars, len(set(text)) * 6.0)  # repeated characters add little
    bits = int(by_chars)
    fr = en = None
    if len(text) < 12:
        fr, en = "Au moins 12 caractères : plusieurs mots, par exemple.", "At least 12 characters."
    elif lowered.strip("0123456789!?.*-_ ") in _COMMON:
        fr, en = "Cette phrase de passe est trop connue.", "This passphrase is too common."
    elif handle and len(handle) >= 3 and handle.casefold() in lowered:
        fr = "Elle ne doit pas contenir votre identifiant."
        en = "It must not contain your handle."
    elif len(set(text)) < 6:
        fr, en = "Trop de caractères répétés.", "Too many repeated characters."
    elif bits < MIN_BITS:
        fr = "Trop facile à deviner : ajoutez un ou deux mots."
        en = "Too easy to guess: add a word or two."
    if fr is not None:
        bits = min(bits, MIN_BITS - 1)
    score = sum(bits >= b for b in (28, 36, MIN_BITS, 70))
    return Strength(fr is None, score, bits, fr, en)
