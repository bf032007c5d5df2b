"""Login proofs (SPEC §Login): what a client signs to prove it holds a login key.

The server sends a fresh 32-byte challenge; the client signs the canonical JSON
``{"challenge", "handle", "host", "purpose"}`` prefixed by the domain label, so a proof is
bound to one server (the Host it was sent to), one account, one purpose and one challenge,
and cannot be replayed elsewhere or later.
"""

from __future__ import annotations

from . import _crypto
from .encoding import b64u, canonical_json

LOGIN_PURPOSES = ("passphrase", "recovery", "device")
_LABEL = b"vault.v1/login-proof\x00"


def login_proof_message(handle: str, host: str, purpose: str, challenge: bytes) -> bytes:
    if purpose not in LOGIN_PURPOSES:
        raise ValueError("unknown login purpose")
    body = {"challenge": b64u(challenge), "handle": handle, "host": host, "purpose": purpose}
    return _LABEL + canonical_json(body)


def sign_login_proof(
    secret_key: bytes, handle: str, host: str, purpose: str, challenge: bytes
) -> bytes:
    return _crypto.sign(secret_key, login_proof_message(handle, host, purpose, challenge))


def verify_login_proof(
    public_key: bytes, handle: str, host: str, purpose: str, challenge: bytes, signature: bytes
) -> None:
    """Raises the opaque IntegrityError when the proof does not verify."""
    _crypto.verify(public_key, login_proof_message(handle, host, purpose, challenge), signature)


def check_public_sign_key(public_key: bytes) -> None:
    """Reject malformed, zero and small-order Ed25519 keys (used by the server at sign-up)."""
    _crypto.check_sign_pk(public_key)


def check_public_box_key(public_key: bytes) -> None:
    _crypto.check_box_pk(public_key)


def token_hash(token: bytes) -> bytes:
    """How the server stores bearer and grant tokens: SHA-256 of the raw token."""
    return _crypto.sha256(token)
