"""Records for the storage contract suites."""

from __future__ import annotations

import hashlib
import os

from vault_server.storage.base import Device, Grant, GrantSession, NewAccount, Session

T0 = 1_800_000_000


def hex_id() -> str:
    return os.urandom(16).hex()


def blob_id(data: bytes | None = None) -> str:
    return hashlib.sha256(data if data is not None else os.urandom(16)).hexdigest()


def new_account(handle: str, quota: int = 10_000) -> tuple[NewAccount, Device, Session]:
    a = NewAccount(
        handle=handle,
        kdf={"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1, "salt": "c2FsdA"},
        login_pk=os.urandom(32),
        recovery_login_pk=os.urandom(32),
        bundle_pass=b"bundle-pass",
        bundle_recovery=b"bundle-recovery",
        sign_pk=os.urandom(32),
        box_pk=os.urandom(32),
        identity_sig=os.urandom(64),
        quota=quota,
        created_at=T0,
    )
    d = Device(hex_id(), 0, "laptop", os.urandom(32), b"cert", T0)
    s = Session(os.urandom(32), 0, d.id, T0 + 3600)
    return a, d, s


def new_grant(
    owner_id: int,
    *,
    kind: str = "link",
    to: int | None = None,
    max_uses: int | None = None,
    expires_at: int = T0 + 3600,
) -> Grant:
    return Grant(
        id=hex_id(),
        owner_id=owner_id,
        kind=kind,  # type: ignore[arg-type]
        to_account_id=to,
        access_hash=os.urandom(32) if kind == "link" else None,
        expires_at=expires_at,
        max_uses=max_uses,
        uses=0,
        failed=0,
        password=False,
        header=b"header",
        payload=b"payload",
        sealed_key=b"sealed" if kind == "account" else None,
        revoked_at=None,
        created_at=T0,
    )


def grant_session(grant_id: str, account_id: int | None = None) -> GrantSession:
    return GrantSession(os.urandom(32), grant_id, account_id, T0 + 3600)
