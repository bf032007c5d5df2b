"""Protection of a device's secrets at rest (SPEC §Profile).

``local key = kdf(Argon2id(passphrase, local salt, floor params), "vault.v1/profile-key")``;
the profile's secrets file is ``"VP1" | nonce (24) | AEAD(local key, secrets, AD)``.
"""

from __future__ import annotations

from . import _crypto
from .errors import IntegrityError
from .keys import KdfParams, normalize_secret

PROFILE_MAGIC = b"VP1"


def local_key(passphrase: str, params: KdfParams) -> bytes:
    params.check_floor()
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
