"""Sessions with the server: login proofs, the authenticated API, token renewal.

The passphrase or recovery key never leaves the client: it gives (through Argon2id) a login
key whose public half the server holds, and the client answers a signed, host-bound challenge.
A device renews its session with its own device key (purpose "device"), so a long sync or the
app's daemon keeps going without asking for the passphrase again.
"""

from __future__ import annotations

from typing import Any

from vault_core import keys, login
from vault_core.encoding import b64u
from vault_core.errors import AuthError, FormatError, VaultError
from vault_core.keys import KdfParams

from .api import Api, dec, host_of
from .profile import Profile


async def login_with(
    api: Api,
    handle: str,
    purpose: str,
    secret_key: bytes,
    device: dict[str, Any] | None,
    device_id: str | None = None,
) -> dict[str, Any]:
    """One login: ask for a challenge, sign it with ``secret_key``; the server's answer."""
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


async def fetch_kdf(api: Api, handle: str, purpose: str) -> KdfParams:
    """The account's key-derivation parameters, refused below the client's floor."""
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


def make_refresher(profile: Profile, api: Api) -> Any:
    """Renew the session with the device key (purpose "device")."""

    async def refresh() -> str:
        _, sk = keys.device_keypair(profile.secrets.device_seed)
        try:
            res = await login_with(
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
    """An authenticated API for this (unlocked) profile; the caller enters it with
    ``async with``."""
    profile.require_account()
    secrets = profile.unlock()
    api = Api(profile.server, secrets.token)
    api.refresh = make_refresher(profile, api)
    return api
