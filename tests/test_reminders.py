"""Reminders computed from due dates with a fake clock."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_core.reminders import (
    PendingRequest,
    ReminderSettings,
    due_reminders,
    standing_reminders,
)

DAY = 86400
DUE = 1_800_000_000


def req(answered: bool = False, due: int = DUE) -> PendingRequest:
    return PendingRequest("r1", due, answered)


def test_nothing_before_the_window() -> None:
    s = ReminderSettings(before=3 * DAY, every=DAY)
    assert due_reminders([req()], DUE - 4 * DAY, s, {}) == []
    assert [r.request_id for r in due_reminders([req()], DUE - 2 * DAY, s, {})] == ["r1"]


def test_at_most_once_per_interval() -> None:
    s = ReminderSettings(before=3 * DAY, every=DAY)
    now = DUE - 2 * DAY
    assert due_reminders([req()], now + 3600, s, {"r1": now}) == []
    assert len(due_reminders([req()], now + DAY, s, {"r1": now})) == 1


def test_overdue_flag_and_answered_silence() -> None:
    s = ReminderSettings()
    (r,) = due_reminders([req()], DUE + 10, s, {})
    assert r.overdue
    assert due_reminders([req(answered=True)], DUE + 10, s, {}) == []


def test_off() -> None:
    assert due_reminders([req()], DUE, ReminderSettings(enabled=False), {}) == []


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        ReminderSettings(every=1)


@given(st.lists(st.integers(0, 30 * DAY), min_size=1, max_size=50), st.integers(60, 7 * DAY))
def test_never_nags(times: list[int], every: int) -> None:
    """Whatever the clock does, two reminders of one request are >= every apart."""
    s = ReminderSettings(before=30 * DAY, every=every)
    last: dict[str, int] = {}
    shown: list[int] = []
    for t in sorted(times):
        for rem in due_reminders([req(due=40 * DAY)], t, s, last):
            last[rem.request_id] = t
            shown.append(t)
    assert all(b - a >= every for a, b in itertools.pairwise(shown))


def test_standing_reminders_are_the_ones_shown_in_their_interval() -> None:
    """A restarted face shows again what was shown in the current interval, and only that."""
    s = ReminderSettings()
    now = DUE - DAY
    assert standing_reminders([req()], now, s, {}) == []  # never shown: due_reminders' job
    (r,) = standing_reminders([req()], now, s, {"r1": now - 3600})
    assert r.request_id == "r1" and not r.overdue
    assert standing_reminders([req()], now, s, {"r1": now - DAY}) == []  # interval over
    assert standing_reminders([req(answered=True)], now, s, {"r1": now - 60}) == []
    assert standing_reminders([req()], now, ReminderSettings(enabled=False), {"r1": now}) == []
    # they never make due_reminders announce sooner: the record is untouched
    assert due_reminders([req()], now, s, {"r1": now - 3600}) == []
