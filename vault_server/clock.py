"""The one source of time for the server.

Handlers never call ``time.time()`` themselves: they ask the application's clock, so tests
can move time (token expiry, grant expiry, rate-limit windows) without sleeping.
All times are integer Unix seconds.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int: ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())


class ManualClock:
    """A clock that only moves when told (tests)."""

    def __init__(self, start: int | None = None) -> None:
        self._now = int(time.time()) if start is None else start

    def now(self) -> int:
        return self._now

    def advance(self, seconds: int) -> None:
        self._now += seconds
