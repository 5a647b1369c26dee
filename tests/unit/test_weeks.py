"""ISO weeks as the brief names them: parsed, refused, shifted across years."""

from __future__ import annotations

from datetime import date

import pytest

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.weeks import IsoWeek, last_complete_week


def test_weeks_are_iso_weeks() -> None:
    assert IsoWeek.parse("2026-W09").monday == date(2026, 2, 23)
    assert IsoWeek.parse("2026-W09").sunday == date(2026, 3, 1)
    assert str(IsoWeek.of(date(2027, 1, 1))) == "2026-W53"  # a Friday of 2026's week 53
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52)
    assert IsoWeek(2026, 53).shifted(1) == IsoWeek(2027, 1)
    assert len(IsoWeek(2026, 9).days()) == 7


@pytest.mark.parametrize("bad", ["2026-9", "2026-W54", "2025-W53", "week 9", "2026-W00",
                                 "0999-W10", ""])
def test_what_is_not_a_week_is_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        IsoWeek.parse(bad)


def test_the_last_complete_week() -> None:
    assert last_complete_week(date(2026, 3, 2)) == IsoWeek(2026, 9)  # a Monday
    assert last_complete_week(date(2026, 3, 8)) == IsoWeek(2026, 9)  # the Sunday after
    assert last_complete_week(date(2026, 1, 1)) == IsoWeek(2025, 52)
