"""Rate limits, counted in the metadata store so they hold across server processes.

* Login: failures per handle and per client address over sliding windows; once either is
  over a limit, ``/v1/login/finish`` answers 429 before checking anything, with
  ``Retry-After`` (and ``retry_after`` in the body): the seconds until an attempt can pass
  again, exactly, from the failures on record. A device-key login (purpose ``device``) proves
  possession of a random Ed25519 key, which no one can guess online: it neither counts against
  nor is blocked by the per-handle limit, so someone guessing a passphrase cannot lock the
  owner's devices out of their session renewals (the per-address limit still applies to it).
* The backoff grows: the limit ``L`` per window ``W`` (``login_fail_per_handle`` or
  ``_per_address`` per ``login_fail_window``) is the first of four tiers, ``L * 2^k``
  failures per ``W * 4^k`` (defaults, per account: 10 per 15 min, 20 per hour, 40 per 4 h,
  80 per 16 h). A guesser who waits out the first wait and goes on meets a longer one each
  tier up; the owner who mistypes a few times waits minutes at most. Refusals while limited
  are not failures: hammering does not prolong the wait.
* Asks: a citizen's asks per account per minute (``asks_per_minute``, 429 with
  ``Retry-After``), fulfilments counting as an issuer's deposits.
* Issuers: deposits + requests per issuer over a sliding minute (``issuer_per_minute``,
  12,000 by default: a campaign of 10,000 letters in one go); a batch of deposits counts each
  of them, all or none: a batch that would go over is refused whole (429 with
  ``Retry-After``, the seconds until the whole batch fits).
"""

from __future__ import annotations

from vault_core.errors import RateLimited

from .config import Limits
from .context import ServerContext

LOGIN_TIERS = 4
ISSUER_WINDOW = 60


class Throttled(RateLimited):
    """429 with the wait: ``Retry-After`` on the answer, ``retry_after`` in its body."""

    def __init__(self, retry_after: int, what: str = "attempts") -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"Too many {what}; try again in {_wait_words(self.retry_after)}.")

    def to_wire(self) -> dict[str, str]:
        out: dict[str, object] = {**super().to_wire(), "retry_after": self.retry_after}
        return out  # type: ignore[return-value]


def _wait_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{-(-minutes // 60)} hours"


def login_tiers(limit: int, window: int) -> list[tuple[int, int]]:
    """(failures allowed, window in seconds) of each tier, the first being the configured."""
    return [(limit * 2**k, window * 4**k) for k in range(LOGIN_TIERS)]


def rate_window(lim: Limits) -> int:
    """How long rate events must be kept (the GC purges older ones)."""
    return max(login_tiers(1, lim.login_fail_window)[-1][1], ISSUER_WINDOW)


def _login_keys(handle: str, address: str) -> tuple[str, str]:
    return f"login-fail:h:{handle}", f"login-fail:a:{address}"


def _guessable(purpose: str) -> bool:
    """Passphrase and recovery-key logins can be guessed online; device-key logins cannot."""
    return purpose != "device"


async def _wait(c: ServerContext, key: str, limit: int, window: int, now: int) -> int:
    """Seconds until ``key`` has fewer than ``limit`` events in its window, 0 if it has now.

    With no new event (refusals add none), the count in the window at a time T is
    ``rate_count(key, T - window)``, which only falls as T grows and is 0 at now + window:
    the first T where it is under the limit is found by bisection (log2(window) counts, only
    on the refused path)."""
    if await c.meta.rate_count(key, now - window) < limit:
        return 0
    lo, hi = now, now + window  # blocked at lo, free at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if await c.meta.rate_count(key, mid - window) < limit:
            hi = mid
        else:
            lo = mid
    return hi - now


async def check_login(c: ServerContext, handle: str, address: str, purpose: str) -> None:
    lim = c.config.limits
    now = c.clock.now()
    by_handle, by_addr = _login_keys(handle, address)
    checks = [(by_addr, lim.login_fail_per_address)]
    if _guessable(purpose):
        checks.insert(0, (by_handle, lim.login_fail_per_handle))
    wait = 0
    for key, limit in checks:
        for tier_limit, window in login_tiers(limit, lim.login_fail_window):
            wait = max(wait, await _wait(c, key, tier_limit, window, now))
    if wait:
        raise Throttled(wait, "failed logins")


async def login_failed(c: ServerContext, handle: str, address: str, purpose: str) -> None:
    by_handle, by_addr = _login_keys(handle, address)
    keys = (by_handle, by_addr) if _guessable(purpose) else (by_addr,)
    await c.meta.rate_hit(keys, c.clock.now())


async def take_asker(c: ServerContext, account_id: int) -> None:
    """Count one ask against the asking account's pace, or refuse it (429)."""
    lim = c.config.limits
    now = c.clock.now()
    key = f"ask:{account_id}"
    if not await c.meta.rate_take(key, now, ISSUER_WINDOW, lim.asks_per_minute):
        wait = await _wait(c, key, lim.asks_per_minute, ISSUER_WINDOW, now)
        raise Throttled(wait or 1, "asks")


async def take_issuer(c: ServerContext, issuer_id: int, n: int = 1) -> None:
    """Count ``n`` deposits or requests against the issuer's pace, or none of them (429)."""
    lim = c.config.limits
    now = c.clock.now()
    key = f"issuer:{issuer_id}"
    ok = await c.meta.rate_take(key, now, ISSUER_WINDOW, lim.issuer_per_minute, n)
    if not ok:
        # free once at most limit - n events are left in the window (n <= limit: the route's
        # items are bounded by batch_items)
        wait = await _wait(c, key, max(1, lim.issuer_per_minute - n + 1), ISSUER_WINDOW, now)
        raise Throttled(wait or 1, "deposits and requests")


def batch_items(lim: Limits) -> int:
    """Deposits one POST /v1/inbox-batch may carry: never more than the pace lets pass."""
    return max(1, min(lim.deposit_batch_items, lim.issuer_per_minute, lim.list_items))
