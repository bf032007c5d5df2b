"""Values people type: durations (``30s``, ``15m``, ``2h``, ``7d``, ``1w``) and dates (ISO
8601), turned into seconds; one parser for every face."""

from __future__ import annotations

import time

from vault_core.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit():
        raise UsageError(f"bad duration {text!r}: use e.g. 30s, 15m, 2h, 7d")
    value = int(text[:-1]) * _UNITS[text[-1]]
    if value <= 0:
        raise UsageError("duration must be positive")
    return value


def parse_due(text: str) -> int:
    """A date (local time) as epoch seconds."""
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return int(time.mktime(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise UsageError(f"bad date {text!r}: use ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:00")
