"""ISO weeks (``2026-W09``): the period of the leader's brief, named the same way by the CLI,
the staff page, the mailed brief and its once-per-week key.

ISO 8601 weeks start on Monday and belong to the year of their Thursday, so a week is never
split across two years and week 53 exists only in the years that have one; a week that does
not exist is refused rather than silently moved to the next year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from civicpulse.domain.errors import ValidationFailed

_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")
#: the years a brief may name; the same span as every other date the product accepts
FIRST_YEAR, LAST_YEAR = 1900, 2199


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise ValidationFailed(f"week must be in the years {FIRST_YEAR}–{LAST_YEAR}")
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise ValidationFailed(f"{self.year} has no ISO week {self.week}") from None

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``YYYY-Www``, e.g. ``2026-W09``; anything else is refused with the form expected."""
        found = _WEEK.match(text.strip())
        if not found:
            raise ValidationFailed(f"week {text[:20]!r} is not an ISO week such as 2026-W09")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def shifted(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` later (earlier when negative)."""
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


def last_complete_week(today: date) -> IsoWeek:
    """The most recent week that has ended by ``today`` (a Monday's is the week before)."""
    return IsoWeek.of(today).shifted(-1)
