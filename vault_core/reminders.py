"""Reminders for document requests: pure, the clock is an input (SPEC §Requests).

The owner decides: ``before`` (how long before the due date reminders start), ``every`` (how
often at most) or ``off``. Nagging is a bug: a request is announced at most once per
``every`` interval, never after it was answered, and overdue requests are announced on the
same schedule (not more often).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_BEFORE = 3 * 86400
DEFAULT_EVERY = 86400


@dataclass(frozen=True)
class ReminderSettings:
    enabled: bool = True
    before: int = DEFAULT_BEFORE  # seconds before the due date
    every: int = DEFAULT_EVERY  # minimum seconds between two reminders of one request

    def __post_init__(self) -> None:
        if self.before < 0 or self.every < 60:
            raise ValueError("reminders: 'before' must be >= 0 and 'every' >= 1 minute")


@dataclass(frozen=True)
class PendingRequest:
    request_id: str
    due: int  # unix seconds
    answered: bool


@dataclass(frozen=True)
class Reminder:
    request_id: str
    due: int
    overdue: bool


def due_reminders(
    requests: Iterable[PendingRequest],
    now: int,
    settings: ReminderSettings,
    last_notified: Mapping[str, int],
) -> list[Reminder]:
    """The reminders to show now; the caller records ``now`` for each one it shows."""
    if not settings.enabled:
        return []
    out = []
    for req in sorted(requests, key=lambda r: (r.due, r.request_id)):
        if req.answered or now < req.due - settings.before:
            continue
        last = last_notified.get(req.request_id)
        if last is not None and now - last < settings.every:
            continue
        out.append(Reminder(req.request_id, req.due, overdue=now > req.due))
    return out


def standing_reminders(
    requests: Iterable[PendingRequest],
    now: int,
    settings: ReminderSettings,
    last_notified: Mapping[str, int],
) -> list[Reminder]:
    """The reminders already shown within their current interval and still pending (a face
    that starts again, such as a restarted app, shows them once more without recording them:
    the next one still waits for the owner's interval)."""
    if not settings.enabled:
        return []
    out = []
    for req in sorted(requests, key=lambda r: (r.due, r.request_id)):
        last = last_notified.get(req.request_id)
        if req.answered or last is None or not 0 <= now - last < settings.every:
            continue
        out.append(Reminder(req.request_id, req.due, overdue=now > req.due))
    return out
