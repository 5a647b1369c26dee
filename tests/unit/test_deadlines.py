"""Deadline arithmetic, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicpulse.domain.deadlines import (
    Deadlines,
    compute_deadlines,
    escalation_due,
    is_overdue,
    responded_on_time,
    verification_deadline,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_compute_deadlines_adds_calendar_hours() -> None:
    d = compute_deadlines(T0, 24, 72)
    assert d == Deadlines(first_response_due=T0 + 24 * H, resolution_due=T0 + 72 * H)


def test_deadlines_across_a_dst_switch_are_exact_in_utc() -> None:
    # 29 March 2026 is when much of Europe moves its clocks; in UTC nothing jumps.
    received = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
    d = compute_deadlines(received, 4, 48)
    assert d.first_response_due == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert d.resolution_due == datetime(2026, 3, 30, 22, 30, tzinfo=UTC)
    assert d.resolution_due is not None
    assert (d.resolution_due - received).total_seconds() == 48 * 3600


def test_compute_deadlines_across_month_and_leap_day() -> None:
    received = datetime(2028, 2, 28, 23, 0, tzinfo=UTC)
    d = compute_deadlines(received, 2, 24 * 2)
    assert d.first_response_due == datetime(2028, 2, 29, 1, 0, tzinfo=UTC)
    assert d.resolution_due == datetime(2028, 3, 1, 23, 0, tzinfo=UTC)


def test_missing_promises_give_no_deadline() -> None:
    assert compute_deadlines(T0, None, None) == Deadlines(None, None)
    assert compute_deadlines(T0, 8, None) == Deadlines(T0 + 8 * H, None)
    assert compute_deadlines(T0, None, 8) == Deadlines(None, T0 + 8 * H)


def test_zero_hours_is_due_at_once() -> None:
    assert compute_deadlines(T0, 0, 0) == Deadlines(T0, T0)


@pytest.mark.parametrize(("fr", "res"), [(-1, 10), (10, -1), (-24, -24)])
def test_negative_hours_refused(fr: int, res: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        compute_deadlines(T0, fr, res)


def _overdue(now: datetime, fr_due: datetime | None, fr_at: datetime | None,
             res_due: datetime | None, resolved: bool = False) -> str | None:
    return is_overdue(now=now, first_response_due=fr_due, first_responded_at=fr_at,
                      resolution_due=res_due, resolved=resolved)


def test_nothing_overdue_before_the_deadlines() -> None:
    d = compute_deadlines(T0, 24, 72)
    assert _overdue(T0 + 23 * H, d.first_response_due, None, d.resolution_due) is None


def test_deadline_moment_itself_is_still_on_time() -> None:
    d = compute_deadlines(T0, 24, 72)
    assert _overdue(T0 + 24 * H, d.first_response_due, None, d.resolution_due) is None
    assert _overdue(T0 + 72 * H, d.first_response_due, T0, d.resolution_due) is None


def test_first_response_overdue_until_someone_answers() -> None:
    d = compute_deadlines(T0, 24, 72)
    late = T0 + 25 * H
    assert _overdue(late, d.first_response_due, None, d.resolution_due) == "first_response"
    answered = T0 + 30 * H
    assert _overdue(answered, d.first_response_due, answered, d.resolution_due) is None


def test_resolution_overdue_wins_over_first_response() -> None:
    d = compute_deadlines(T0, 24, 72)
    much_later = T0 + 100 * H
    assert _overdue(much_later, d.first_response_due, None, d.resolution_due) == "resolution"
    assert _overdue(much_later, d.first_response_due, T0 + H, d.resolution_due) == "resolution"


def test_resolved_case_is_not_overdue_for_resolution() -> None:
    d = compute_deadlines(T0, 24, 72)
    much_later = T0 + 100 * H
    assert _overdue(much_later, d.first_response_due, T0 + H, d.resolution_due,
                    resolved=True) is None
    # ...but a resolution never answered in time still broke the first-response promise
    assert _overdue(much_later, d.first_response_due, None, d.resolution_due,
                    resolved=True) == "first_response"


def test_no_deadlines_never_overdue() -> None:
    assert _overdue(T0 + 10_000 * H, None, None, None) is None
    only_res = compute_deadlines(T0, None, 10)
    assert _overdue(T0 + 11 * H, None, None, only_res.resolution_due) == "resolution"
    only_fr = compute_deadlines(T0, 10, None)
    assert _overdue(T0 + 11 * H, only_fr.first_response_due, None, None) == "first_response"


def test_responded_on_time() -> None:
    due = T0 + 24 * H
    assert responded_on_time(None, None, T0 + 1000 * H) is None
    assert responded_on_time(None, T0, T0) is None
    assert responded_on_time(due, T0 + H, T0 + 2 * H) is True
    assert responded_on_time(due, due, due + H) is True  # exactly at the deadline counts
    assert responded_on_time(due, due + timedelta(seconds=1), due + H) is False
    assert responded_on_time(due, None, T0 + H) is None  # still open
    assert responded_on_time(due, None, due) is None
    assert responded_on_time(due, None, due + timedelta(seconds=1)) is False


def test_escalation_due() -> None:
    every = timedelta(hours=24)
    assert escalation_due(now=T0, last_escalated_at=None, repeat_every=every) is True
    assert escalation_due(now=T0 + 23 * H, last_escalated_at=T0, repeat_every=every) is False
    assert escalation_due(now=T0 + 24 * H, last_escalated_at=T0, repeat_every=every) is True
    assert escalation_due(now=T0 + 48 * H, last_escalated_at=T0, repeat_every=every) is True


def test_verification_deadline() -> None:
    assert verification_deadline(T0, 14) == T0 + timedelta(days=14)
    resolved = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # the window spans a DST switch
    assert verification_deadline(resolved, 7) == datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    assert verification_deadline(resolved, 7).utcoffset() == timedelta(0)
