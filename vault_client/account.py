"""Account life cycle on the client: init, login, recover, passphrase change, devices.

Each function is the I/O shell around vault_core: it draws randomness (os.urandom), talks to
the server through :class:`~vault_client.api.Api` and keeps the profile. Nothing secret is
ever sent: the server receives public keys, wrapped bundles and login proofs.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from vault_core import keys, login
from vault_core.encoding import b64u
from vault_core.errors import AuthError, FormatError, IntegrityError, UsageError, VaultError
from vault_core.keys import AccountBundle, DeviceCert, KdfParams, PublicIdentity

from .api import Api, dec, host_of
from .profile import Profile, Secrets


def now_ms() -> int:
    return int(time.time() * 1000)


def default_device_name() -> str:
    return os.environ.get("VAULT_DEVICE_NAME") or socket.gethostname() or "device"


def _new_device() -> tuple[str, bytes, bytes]:
    device_id = os.urandom(16).hex()
    seed = os.urandom(32)
    pk, _ = keys.device_keypair(seed)
    return device_id, seed, pk


def _prepare_folder(folder: Path | None, home: Path) -> Path:
    path = (folder or (Path.home() / "Vault")).expanduser().resolve()
    if path == home.resolve() or home.resolve() in path.parents:
        raise UsageError("the synced folder cannot be inside the profile")
    path.mkdir(parents=True, exist_ok=True)
    return path


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


async def init_account(
    profile: Profile, server: str, handle: str, folder: Path | None, passphrase: str
) -> str:
    """Create the account; returns the printable recovery key."""
    if profile.has_account:
        raise UsageError(f"profile {profile.home} already holds account {profile.handle}")
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
        profile.config.update(
            {
                "server": api.server,
                "handle": handle,
                "folder": str(folder_path),
                "device_id": device_id,
                "device_name": name,
            }
        )
        profile.ensure_dir()
        profile.create_secrets(
            passphrase,
            Secrets(
                device_seed=seed,
                bundle=bundle,
                token=res["token"],
                token_expires=int(res.get("expires_at", 0)),
            ),
        )
        api.token = res["token"]
        await announce_device(profile, api, cert)
    return keys.format_recovery_key(recovery)


async def announce_device(profile: Profile, api: Api, cert: DeviceCert) -> None:
    """Append this device's certificate to the log (the log is self-contained)."""
    from .sync import SyncEngine

    engine = SyncEngine(profile, api)
    await engine.append_device_record("device", cert.device_id, cert.encode())


async def _login_with(
    api: Api,
    handle: str,
    purpose: str,
    secret_key: bytes,
    device: dict[str, Any] | None,
    kdf_check: KdfParams | None = None,
    device_id: str | None = None,
) -> dict[str, Any]:
    start = await api.post(
        "/v1/login/start",
        {"handle": handle, "purpose": purpose, **({"device_id": device_id} if device_id else {})},
        auth="none",
    )
    challenge = dec(start["challenge"], 32)
    proof = login.sign_login_proof(secret_key, handle, host_of(api.server), purpose, challenge)
    body: dict[str, Any] = {
        "handle": handle,
        "purpose": purpose,
        "challenge": b64u(challenge),
        "signature": b64u(proof),
    }
    if device is not None:
        body["device"] = device
    if device_id is not None:
        body["device_id"] = device_id
    res: dict[str, Any] = await api.post("/v1/login/finish", body, auth="none")
    return res


async def _fetch_kdf(api: Api, handle: str, purpose: str) -> KdfParams:
    start = await api.post("/v1/login/start", {"handle": handle, "purpose": purpose}, auth="none")
    try:
        params = KdfParams.from_json(start["kdf"])
    except (KeyError, TypeError, FormatError) as exc:
        detail = exc.message if isinstance(exc, FormatError) else "missing"
        raise VaultError(
            f"the server sent malformed key-derivation (kdf) parameters: {detail}"
        ) from None
    params.check_floor()  # a server offering weaker parameters is refused here
    return params


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


async def login_device(
    profile: Profile,
    server: str,
    handle: str,
    folder: Path | None,
    passphrase: str,
    recovery_text: str | None = None,
    new_passphrase: str | None = None,
) -> None:
    """`vault login` (passphrase) or `vault recover` (recovery key + new passphrase)."""
    if profile.has_account:
        raise UsageError(f"profile {profile.home} already holds account {profile.handle}")
    folder_path = _prepare_folder(folder, profile.home)
    device_id, seed, device_pk = _new_device()
    name = default_device_name()
    device = {"id": device_id, "name": name, "sign_pk": b64u(device_pk)}
    async with Api(server) as api:
        if recovery_text is None:
            params = await _fetch_kdf(api, handle, "passphrase")
            pkeys = keys.derive_passphrase_keys(passphrase, params)
            res = await _login_with(api, handle, "passphrase", pkeys.login_keypair[1], device)
            kek, slot = pkeys.kek, "passphrase"
        else:
            recovery = keys.parse_recovery_key(recovery_text)
            rkeys = keys.derive_recovery_keys(recovery)
            res = await _login_with(api, handle, "recovery", rkeys.login_keypair[1], device)
            kek, slot = rkeys.kek, "recovery"
        try:
            bundle = keys.unwrap_bundle(dec(res["bundle"]), kek, handle, slot)
        except (KeyError, TypeError, IntegrityError):
            raise IntegrityError(
                "the account key bundle the server sent failed verification (forged, "
                "substituted or missing): this device was not added"
            ) from None
        _check_bundle_identity(bundle, res.get("identity"))
        api.token = res["token"]
        if recovery_text is not None:
            assert new_passphrase is not None
            await _set_passphrase(api, bundle, new_passphrase)
            passphrase = new_passphrase
        cert = DeviceCert.issue(bundle, device_id, name, device_pk, now_ms())
        await api.put(f"/v1/devices/{device_id}/cert", {"cert": b64u(cert.encode())})
        profile.config.update(
            {
                "server": api.server,
                "handle": handle,
                "folder": str(folder_path),
                "device_id": device_id,
                "device_name": name,
            }
        )
        profile.ensure_dir()
        profile.create_secrets(
            passphrase,
            Secrets(
                device_seed=seed,
                bundle=bundle,
                token=res["token"],
                token_expires=int(res.get("expires_at", 0)),
            ),
        )
        await announce_device(profile, api, cert)


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


async def change_passphrase(profile: Profile, api: Api, new_passphrase: str) -> None:
    await _set_passphrase(api, profile.bundle, new_passphrase)
    profile.create_secrets(new_passphrase, profile.secrets)


def make_refresher(profile: Profile, api: Api) -> Any:
    """Renew the session with the device key (purpose "device")."""

    async def refresh() -> str:
        _, sk = keys.device_keypair(profile.secrets.device_seed)
        try:
            res = await _login_with(
                api, profile.handle, "device", sk, None, device_id=profile.device_id
            )
        except AuthError:
            raise AuthError("this device is no longer allowed on the account (revoked?)") from None
        profile.secrets.token = res["token"]
        profile.secrets.token_expires = int(res.get("expires_at", 0))
        profile.save_secrets()
        token: str = res["token"]
        return token

    return refresh


async def open_api(profile: Profile) -> Api:
    """An authenticated API for this profile (the caller enters it with ``async with``)."""
    profile.require_account()
    secrets = profile.unlock()
    api = Api(profile.server, secrets.token)
    api.refresh = make_refresher(profile, api)
    return api


async def list_devices(profile: Profile, api: Api) -> list[dict[str, Any]]:
    """The server's device list, each checked against the verified, signed log.

    A device is genuine only when its certificate (signed by the identity key) is in the log;
    the server may list others (injected rows): they are marked, never shown as genuine.
    """
    from .sync import SyncEngine

    engine = SyncEngine(profile, api)
    try:
        verifier = await engine.pull()
    finally:
        engine.close()
    res: list[dict[str, Any]] = await api.get("/v1/devices")
    out = []
    for d in res:
        device_id = d.get("id")
        genuine = device_id in verifier.devices
        revoked_in_log = device_id in verifier.revoked
        out.append({**d, "verified": genuine, "revoked_in_log": revoked_in_log})
    return out


async def revoke_device(profile: Profile, api: Api, device_id: str) -> None:
    from .inbox import check_id

    check_id(device_id, "device")
    if device_id == profile.device_id:
        raise UsageError("use another device to revoke this one")
    await api.delete(f"/v1/devices/{device_id}")
    from .sync import SyncEngine

    await SyncEngine(profile, api).append_device_record("revoke", device_id, b"")


async def public_identity(api: Api, handle: str) -> PublicIdentity:
    res = await api.get(f"/v1/users/{handle}/keys")
    try:
        return PublicIdentity.from_json(res)
    except VaultError:
        raise IntegrityError(f"the public keys the server gave for {handle} are forged") from None


def pinned_identity(
    profile: Profile, handle: str, fetched: PublicIdentity, warn: Any
) -> PublicIdentity:
    """Trust on first use: pin and show the fingerprint; a changed key is refused."""
    pins = profile.contacts()
    if handle in pins:
        pinned = PublicIdentity.from_json(pins[handle])
        if pinned.sign_pk != fetched.sign_pk or pinned.box_pk != fetched.box_pk:
            raise IntegrityError(
                f"the public key of {handle} changed (was {pinned.fingerprint()}, now "
                f"{fetched.fingerprint()}); verify it with them, then 'vault contacts forget "
                f"{handle}'"
            )
        return pinned
    if fetched.handle != handle:
        raise IntegrityError(f"the server answered with another account's keys for {handle}")
    profile.pin_contact(handle, fetched)
    warn(f"pinned {handle}: fingerprint {fetched.fingerprint()}")
    return fetched
