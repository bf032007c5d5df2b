"""Issuing device sessions: 32 random bytes to the client, only their SHA-256 stored."""

from __future__ import annotations

import os

from vault_core.encoding import b64u
from vault_core.login import token_hash

from .context import ServerContext
from .storage.base import Device, Session


async def issue_session(
    c: ServerContext,
    account_id: int,
    device_id: str | None,
    new_device: Device | None = None,
    idle: int | None = None,
) -> tuple[str, int]:
    """Store a new session (registering ``new_device`` with it); returns (token, expires_at).
    An ephemeral device's session lasts ``idle`` seconds, moved later by each request."""
    token = os.urandom(32)
    expires_at = c.clock.now() + min(
        idle or c.config.limits.token_lifetime, c.config.limits.token_lifetime
    )
    await c.meta.create_session(
        Session(token_hash(token), account_id, device_id, expires_at), new_device
    )
    return b64u(token), expires_at


def new_session(c: ServerContext, device_id: str | None) -> tuple[str, Session]:
    """A session not yet stored (for account creation, stored with the account)."""
    token = os.urandom(32)
    expires_at = c.clock.now() + c.config.limits.token_lifetime
    return b64u(token), Session(token_hash(token), 0, device_id, expires_at)
