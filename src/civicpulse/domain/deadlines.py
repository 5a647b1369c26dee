"""Deadline arithmetic: when a first response and a resolution are due, and what is overdue.

Deadlines are counted in calendar hours from when the city received the voice; a category
sets both. The clock is always passed in, so the rules are testable without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime | None
    resolution_due: datetime | None


def compute_deadlines(
    received_at: datetime, first_response_hours: int | None, resolution_hours: int | None
) -> Deadlines:
    """Deadlines for a case received at ``received_at`` under a category's promises."""
    return Deadlines(
        first_response_due=_add_hours(received_at, first_response_hours),
        resolution_due=_add_hours(received_at, resolution_hours),
    )


def _add_hours(start: datetime, hours: int | None) -> datetime | None:
    if hours is None:
        return None
    if hours < 0:
        raise ValueError("a deadline cannot be negative")
    return start + timedelta(hours=hours)


def is_overdue(
    *,
    now: datetime,
    first_response_due: datetime | None,
    first_responded_at: datetime | None,
    resolution_due: datetime | None,
    resolved: bool,
) -> str | None:
    """Which promise is broken right now: "resolution", "first_response" or None."""
    if not resolved and resolution_due is not None and now > resolution_due:
        return "resolution"
    if first_responded_at is None and first_response_due is not None and now > first_response_due:
        return "first_response"
    return None


def responded_on_time(
    due: datetime | None, responded_at: datetime | None, now: datetime
) -> bool | None:
    """True/False once it can be judged; None while the deadline is still open or absent."""
    if due is None:
        return None
    if responded_at is not None:
        return responded_at <= due
    return False if now > due else None


def escalation_due(
    *, now: datetime, last_escalated_at: datetime | None, repeat_every: timedelta
) -> bool:
    """An overdue case is escalated once, then again every ``repeat_every`` while overdue."""
    return last_escalated_at is None or now - last_escalated_at >= repeat_every


def verification_deadline(resolved_at: datetime, days: int) -> datetime:
    """The last moment a resident can still confirm or dispute a resolution."""
    return resolved_at + timedelta(days=days)
