"""Ids and the public keys of other accounts (trust on first use).

Grant, deposit, request and device ids are 32 lower-case hex characters; an id from the
command line or from the server is checked before it goes into a URL. An account's public
identity comes from the server and is pinned on first use: a changed key is refused until the
owner re-verifies it with the person.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from vault_core.errors import IntegrityError, NotFound, ServerUnavailable, UsageError, VaultError
from vault_core.keys import PublicIdentity

from .api import Api
from .profile import Profile

_ID = re.compile(r"^[0-9a-f]{32}$")


def is_id(value: Any) -> bool:
    """Grant, deposit, request and device ids: 32 lower-case hex characters, nothing else."""
    return isinstance(value, str) and bool(_ID.match(value))


def check_id(value: str, what: str) -> str:
    if not is_id(value):
        raise UsageError(f"{value!r} is not a valid {what} id (32 hexadecimal characters)")
    return value


async def public_identity(api: Api, handle: str) -> PublicIdentity:
    try:
        res = await api.get(f"/v1/users/{handle}/keys")
    except NotFound:
        raise NotFound(f"no account {handle} on this server") from None
    try:
        return PublicIdentity.from_json(res)
    except VaultError:
        raise IntegrityError(f"the public keys the server gave for {handle} are forged") from None


def pinned_identity(
    profile: Profile, handle: str, fetched: PublicIdentity, warn: Callable[[str], None]
) -> PublicIdentity:
    """Trust on first use: pin and show the fingerprint; a changed key is refused."""
    new: dict[str, PublicIdentity] = {}
    out = _pinned(profile.contacts(), new, handle, fetched, warn)
    if new:
        profile.pin_contacts(new)
    return out


def _pinned(
    pins: dict[str, Any],
    new: dict[str, PublicIdentity],
    handle: str,
    fetched: PublicIdentity,
    warn: Callable[[str], None],
) -> PublicIdentity:
    """:func:`pinned_identity` on ``pins`` as read; a first pin goes into ``new``."""
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
    new[handle] = fetched
    warn(f"pinned {handle}: fingerprint {fetched.fingerprint()}")
    return fetched


async def contacts(
    profile: Profile, api: Api, handles: list[str], warn: Callable[[str], None], parallel: int = 8
) -> dict[str, PublicIdentity | VaultError]:
    """:func:`contact` for many accounts (``parallel`` fetches at a time, the pins read and
    written once): each handle's pinned identity, or the error :func:`contact` would raise."""
    gate = asyncio.Semaphore(parallel)

    async def fetch(handle: str) -> PublicIdentity | VaultError:
        async with gate:
            try:
                return await public_identity(api, handle)
            except ServerUnavailable:
                raise
            except VaultError as exc:
                return exc

    fetched = await asyncio.gather(*(fetch(h) for h in handles))
    pins = profile.contacts()
    new: dict[str, PublicIdentity] = {}
    out: dict[str, PublicIdentity | VaultError] = {}
    for handle, got in zip(handles, fetched, strict=True):
        if isinstance(got, VaultError):
            out[handle] = got
            continue
        try:
            out[handle] = _pinned(pins, new, handle, got, warn)
        except VaultError as exc:
            out[handle] = exc
    if new:
        profile.pin_contacts(new)
    return out


async def contact(
    profile: Profile, api: Api, handle: str, warn: Callable[[str], None]
) -> PublicIdentity:
    """The pinned (or, the first time, newly pinned) public identity of ``handle``."""
    return pinned_identity(profile, handle, await public_identity(api, handle), warn)
