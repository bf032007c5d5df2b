"""Ids and the public keys of other accounts (trust on first use).

Grant, deposit, request and device ids are 32 lower-case hex characters; an id from the
command line or from the server is checked before it goes into a URL. An account's public
identity comes from the server and is pinned on first use: a changed key is refused until the
owner re-verifies it with the person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from vault_core.errors import IntegrityError, NotFound, UsageError, VaultError
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


async def contact(
    profile: Profile, api: Api, handle: str, warn: Callable[[str], None]
) -> PublicIdentity:
    """The pinned (or, the first time, newly pinned) public identity of ``handle``."""
    return pinned_identity(profile, handle, await public_identity(api, handle), warn)
