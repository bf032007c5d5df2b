"""Protection of a device's secrets at rest (SPEC §Profile).

``local key = kdf(Argon2id(passphrase, local salt, floor params), "vault.v1/profile-key")``;
the profile's secrets file is ``"VP1" | nonce (24) | AEAD(local key, secrets, AD)``. Only this
device ever derives the local key, so new profiles use ``LOCAL_LANES`` lanes (the same memory
and passes as the account floor, computed on two threads: the same work per guess, about half
the wait on every command); up to ``LOCAL_MAX_LANES`` are accepted.
"""

from __future__ import annotations

from . import _crypto
from .errors import IntegrityError
from .keys import KdfParams, normalize_secret

PROFILE_MAGIC = b"VP1"
LOCAL_LANES = 2
LOCAL_MAX_LANES = 4


def new_local_params(salt: bytes) -> KdfParams:
    return KdfParams(salt=salt, p=LOCAL_LANES)


def local_key(passphrase: str, params: KdfParams) -> bytes:
    params.check_floor(max_lanes=LOCAL_MAX_LANES)
    root = _crypto.argon2id(
        normalize_secret(passphrase), params.salt, params.m_kib, params.t, params.p
    )
    return _crypto.kdf(root, "vault.v1/profile-key")


def seal_blob(key: bytes, plaintext: bytes, ad: bytes, nonce: bytes) -> bytes:
    return (
        PROFILE_MAGIC
        + nonce
        + _crypto.aead_encrypt(key, nonce, plaintext, b"vault.v1/profile\x00" + ad)
    )


def open_blob(key: bytes, blob: bytes, ad: bytes) -> bytes:
    if len(blob) < 43 or blob[:3] != PROFILE_MAGIC:
        raise IntegrityError()
    return _crypto.aead_decrypt(key, blob[3:27], blob[27:], b"vault.v1/profile\x00" + ad)
