"""Rate limits, counted in the metadata store so they hold across server processes.

* Login: failures per handle and per client address over a sliding window; once either
  reaches its limit, ``/v1/login/finish`` answers 429 before checking anything. A device-key
  login (purpose ``device``) proves possession of a random Ed25519 key, which no one can guess
  online: it neither counts against nor is blocked by the per-handle limit, so someone
  guessing a passphrase cannot lock the owner's devices out of their session renewals (the
  per-address limit still applies to it).
* Issuers: deposits + requests per issuer per minute.
"""

from __future__ import annotations

from vault_core.errors import RateLimited

from .context import ServerContext


def _login_keys(handle: str, address: str) -> tuple[str, str]:
    return f"login-fail:h:{handle}", f"login-fail:a:{address}"


def _guessable(purpose: str) -> bool:
    """Passphrase and recovery-key logins can be guessed online; device-key logins cannot."""
    return purpose != "device"


async def check_login(c: ServerContext, handle: str, address: str, purpose: str) -> None:
    lim = c.config.limits
    since = c.clock.now() - lim.login_fail_window
    by_handle, by_addr = _login_keys(handle, address)
    if (
        _guessable(purpose)
        and await c.meta.rate_count(by_handle, since) >= lim.login_fail_per_handle
    ):
        raise RateLimited()
    if await c.meta.rate_count(by_addr, since) >= lim.login_fail_per_address:
        raise RateLimited()


async def login_failed(c: ServerContext, handle: str, address: str, purpose: str) -> None:
    by_handle, by_addr = _login_keys(handle, address)
    keys = (by_handle, by_addr) if _guessable(purpose) else (by_addr,)
    await c.meta.rate_hit(keys, c.clock.now())


async def take_issuer(c: ServerContext, issuer_id: int) -> None:
    lim = c.config.limits
    ok = await c.meta.rate_take(f"issuer:{issuer_id}", c.clock.now(), 60, lim.issuer_per_minute)
    if not ok:
        raise RateLimited()
