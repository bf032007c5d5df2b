"""Authorities this profile trusts: an issuer's certificate counts only when it chains to one
of them (pinned here, never learned from the server)."""

from __future__ import annotations

from dataclasses import dataclass

from vault_core.encoding import b64u, unb64u
from vault_core.errors import UsageError

from .context import Context


@dataclass(frozen=True)
class Authority:
    id: str
    public_key: str
    name: str


def parse_authority_key(text: str) -> bytes:
    try:
        return unb64u(text.strip(), 32, "authority key")
    except Exception:  # noqa: BLE001
        raise UsageError("not an authority public key (base64url, 32 bytes)") from None


def add(ctx: Context, public_key: str, name: str) -> Authority:
    """Pin an authority by its public key (base64url)."""
    key = b64u(parse_authority_key(public_key))
    ctx.profile.add_trust(key, name)
    return Authority(key, key, name)


def list_authorities(ctx: Context) -> list[Authority]:
    return [Authority(k, k, v["name"]) for k, v in sorted(ctx.profile.trust_list().items())]
