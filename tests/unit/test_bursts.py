"""Bursts: a real rise is found with a small p-value; weekday swings, sparse series and many
null series raise nothing; a burst alerts once while it lasts.

The last tests read Boston 311 from ../shared/data and skip when it is absent, except on CI
(CI=true), where a missing folder fails.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from civicpulse.insight.burst_follow import RaisedBurst, follow_bursts, same_burst
from civicpulse.insight.bursts import (
    Burst,
    BurstParams,
    benjamini_hochberg,
    count_table,
    detect_bursts,
    detect_in_table,
    eligible_series,
)

START = date(2026, 1, 5)  # a Monday
DAYS = 91  # thirteen weeks
# Monday three times Sunday, Saturday in between: a city's ordinary week
WEEK = (30.0, 22.0, 22.0, 20.0, 18.0, 14.0, 10.0)

Series = dict[str, list[tuple[date, int]]]


def _weekly(rng: np.random.Generator, scale: float = 1.0, days: int = DAYS) -> np.ndarray:
    means = np.array([WEEK[(START + timedelta(days=i)).weekday()] * scale for i in range(days)])
    return rng.poisson(means)


def _pairs(counts: np.ndarray) -> list[tuple[date, int]]:
    return [(START + timedelta(days=i), int(c)) for i, c in enumerate(counts)]


def _city(seed: int = 7, n: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"category:{k}": _weekly(rng, scale=0.5 + k / 4) for k in range(n)}


def _series(counts: dict[str, np.ndarray]) -> Series:
    return {key: _pairs(values) for key, values in counts.items()}


def _day(i: int) -> date:
    return START + timedelta(days=i)


def test_a_clear_burst_is_found_with_a_small_p_value() -> None:
    counts = _city()
    key = "category:4"
    mean = np.array([WEEK[_day(i).weekday()] * (0.5 + 4 / 4) for i in range(DAYS)])
    counts[key][-3:] += np.random.default_rng(1).poisson(2 * mean[-3:])  # three times normal

    bursts = detect_bursts(_series(counts), _day(DAYS - 1))

    assert [b.series for b in bursts] == [key]
    burst = bursts[0]
    assert burst.end == _day(DAYS - 1)
    assert burst.start >= _day(DAYS - 3)
    assert burst.p_value < 1e-6
    assert burst.q_value <= BurstParams().fdr
    assert burst.ratio > 2.0
    assert burst.observed == sum(burst.daily_observed)
    assert burst.expected == pytest.approx(sum(burst.daily_expected), rel=1e-3)
    assert burst.test and f"window:{len(burst.daily_observed)}d" in burst.reasons


def test_weekday_swings_raise_nothing() -> None:
    counts = _city(seed=3)
    # a schedule-driven category: a Monday brings three times an average day, a weekend day
    # a quarter of one
    mondays = np.array([(60.0, 20, 20, 20, 20, 5, 5)[_day(i).weekday()] for i in range(DAYS)])
    counts["category:mondays"] = np.random.default_rng(3).poisson(mondays)
    table = count_table(_series(counts))
    # every day of the last five weeks, Mondays included
    assert detect_in_table(table, _day(DAYS - 35), _day(DAYS - 1)) == []


def test_a_monday_is_judged_against_mondays() -> None:
    """A Monday as busy as the busiest normal Monday is nothing; the same count on a Sunday
    is a burst."""
    rng = np.random.default_rng(5)
    counts = {"category:a": _weekly(rng, scale=2.0), "category:b": _weekly(rng)}
    sunday = DAYS - 8  # the twelfth Sunday
    assert _day(sunday).weekday() == 6 and _day(sunday + 1).weekday() == 0
    monday = counts["category:a"].copy()
    monday[sunday + 1] = 70  # a busy Monday: expected 60
    assert detect_bursts(_series({**counts, "category:a": monday}), _day(sunday + 1)) == []
    sunday_spike = counts["category:a"].copy()
    sunday_spike[sunday] = 70  # expected 20
    found = detect_bursts(_series({**counts, "category:a": sunday_spike}), _day(sunday))
    assert [b.series for b in found] == ["category:a"]


def test_sparse_series_do_not_alarm() -> None:
    rng = np.random.default_rng(11)
    counts = _city(seed=11)
    counts["category:rare"] = rng.poisson(0.2, DAYS)
    counts["category:rare"][-1] = 5  # five at once, where 0.2 a day is normal
    counts["category:new"] = np.zeros(DAYS, dtype=np.int64)
    counts["category:new"][-1] = 4
    table = count_table(_series(counts))

    assert detect_in_table(table, _day(DAYS - 28), _day(DAYS - 1)) == []
    # a series with too little history is not even tested, so it costs the others nothing
    watched = eligible_series(table, _day(DAYS - 1))
    assert "category:new" not in watched and "category:0" in watched


def test_a_new_concern_in_a_quiet_series_still_alarms() -> None:
    counts = _city(seed=13)
    counts["category:rare"] = np.random.default_rng(13).poisson(0.25, DAYS)
    counts["category:rare"][-2:] = [14, 11]
    found = detect_bursts(_series(counts), _day(DAYS - 1))
    assert [b.series for b in found] == ["category:rare"]
    assert found[0].fdr_weight < 1  # it spent little of the budget, and needed little


def test_a_continuing_burst_alerts_once() -> None:
    counts = _city(seed=17)
    key = "category:6"
    mean = np.array([WEEK[_day(i).weekday()] * (0.5 + 6 / 4) for i in range(DAYS)])
    first, last = DAYS - 20, DAYS - 13  # an eight-day burst
    counts[key][first : last + 1] += np.rint(2 * mean[first : last + 1]).astype(np.int64)
    table = count_table(_series(counts))

    # a strict level, so that over 20 days of 12 series no chance rise joins in (at 10 %, a
    # day with any false alarm is allowed one time in ten)
    strict = BurstParams(fdr=0.01)
    raised: tuple[RaisedBurst, ...] = ()
    alerts, continued = [], 0
    for i in range(first - 3, DAYS):
        update = follow_bursts(detect_in_table(table, _day(i), params=strict), raised, _day(i))
        alerts.extend(record for _, record in update.new)
        continued += len(update.continuing)
        raised = update.open
    assert [a.series for a in alerts] == [key]
    assert alerts[0].identity == f"{key}@{alerts[0].start.isoformat()}"
    assert first <= (alerts[0].start - START).days <= first + 1
    assert continued >= 5
    assert raised == ()  # ended once quiet for longer than the gap


def test_same_burst_rules() -> None:
    def found(start: int, end: int, series: str = "s") -> Burst:
        return Burst(series, _day(start), _day(end), 30, 10.0, 3.0, "t", 0.1, 1e-6, 1e-4, 1.0,
                     (), (), ())

    raised = RaisedBurst("s", _day(10), _day(12))
    assert same_burst(found(11, 13), raised)  # overlapping window, next day
    assert same_burst(found(15, 15), raised)  # two quiet days, then again
    assert not same_burst(found(16, 16), raised)  # three quiet days: a new burst
    assert not same_burst(found(11, 13, "t"), raised)  # another series
    update = follow_bursts([found(16, 16)], [raised], _day(16))
    assert len(update.new) == 1 and update.ended == (raised,)
    assert update.new[0][1].identity == "s@" + _day(16).isoformat()


def test_false_discoveries_stay_rare_across_many_null_series() -> None:
    rng = np.random.default_rng(2026)
    counts = {}
    for k in range(150):
        # over-dispersed (gamma-Poisson, theta 0.05) at many sizes, weekly shape and all
        scale = float(rng.uniform(0.1, 3.0))
        means = np.array([WEEK[_day(i).weekday()] * scale for i in range(DAYS)])
        counts[f"category:{k}"] = rng.poisson(rng.gamma(20.0, means / 20.0))
    table = count_table(_series(counts))
    days = [_day(i) for i in range(DAYS - 28, DAYS)]

    alarms = [b for day in days for b in detect_in_table(table, day)]
    # 150 series x 28 days = 4,200 tests and no true burst: at a false-discovery rate of 10 %
    # a day has any alarm with probability at most 0.1, about three days in 28
    assert len({b.end for b in alarms}) <= 5
    # where a plain p < 0.05 per test would raise well over a hundred
    every = [b for day in days for b in detect_in_table(table, day, params=BurstParams(fdr=0.999))]
    assert sum(b.p_value < 0.05 for b in every) > 100


def test_a_closed_day_and_its_catch_up_are_judged_together() -> None:
    rng = np.random.default_rng(19)
    counts = _city(seed=19)
    key = "category:8"
    holiday = DAYS - 7  # a Monday
    assert _day(holiday).weekday() == 0
    moved = counts[key][holiday] - 2
    counts[key][holiday] = 2
    counts[key][holiday + 1] += moved  # Monday's reports arrive on Tuesday
    counts[key][holiday + 1] += rng.poisson(2)
    table = count_table(_series(counts))

    assert [b.series for b in detect_in_table(table, _day(holiday + 1))] == [key]
    closed = [_day(holiday)]
    assert detect_in_table(table, _day(holiday + 1), closed_days=closed) == []


def test_a_storm_in_the_history_does_not_hide_the_next_burst() -> None:
    counts = _city(seed=23)
    key = "category:3"
    mean = np.array([WEEK[_day(i).weekday()] * (0.5 + 3 / 4) for i in range(DAYS)])
    counts[key][DAYS - 40] += 800  # a hurricane five weeks ago
    counts[key][DAYS - 39] += 250
    counts[key][-3:] += np.rint(2 * mean[-3:]).astype(np.int64)
    found = detect_bursts(_series(counts), _day(DAYS - 1))
    assert [b.series for b in found] == [key]
    assert any(r.startswith("history-days-left-out:") for r in found[0].reasons)


def test_benjamini_hochberg_matches_the_textbook() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH")
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([]) == []


def test_deterministic_and_days_not_given_count_zero() -> None:
    counts = _city(seed=29)
    counts["category:0"][-1] += 60
    series = _series(counts)
    sparse = {k: [(d, c) for d, c in v if c] for k, v in series.items()}  # zero days left out
    once = detect_bursts(series, _day(DAYS - 1))
    assert once and once == detect_bursts(sparse, _day(DAYS - 1), first_day=START)
    assert once == detect_bursts(series, _day(DAYS - 1))


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError):
        BurstParams(history_days=50)
    with pytest.raises(ValueError):
        BurstParams(fdr=0)
    with pytest.raises(ValueError):
        count_table({"a": [(START, -1)]})


# --- real history ---------------------------------------------------------------------------

BOSTON = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "boston311"


@pytest.fixture(scope="module")
def boston() -> Series:
    path = BOSTON / "requests_2011_jul_nov.csv.gz"
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real data missing on CI: {path}")
        pytest.skip(f"real data not present: {path}")
    per: dict[str, Counter[date]] = defaultdict(Counter)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            per[row["type"]][date.fromisoformat(row["open_dt"][:10])] += 1
    return {k: sorted(c.items()) for k, c in per.items()}


def test_hurricane_irene_is_a_burst_of_tree_emergencies(boston: Series) -> None:
    found = detect_bursts(boston, date(2011, 8, 28), first_day=date(2011, 7, 1))
    trees = [b for b in found if b.series == "Tree Emergencies"]
    assert trees and trees[0].ratio > 50 and trees[0].p_value < 1e-20


def test_bulk_item_pickups_weekly_rhythm_raises_nothing(boston: Series) -> None:
    """Boston's largest request type swings from about 15 on a Sunday to 130 on a Monday."""
    table = count_table(boston, first_day=date(2011, 7, 1), last_day=date(2011, 11, 30))
    found = detect_in_table(table, date(2011, 9, 6), date(2011, 10, 31),
                            closed_days=[date(2011, 9, 5), date(2011, 10, 10)])
    assert [b for b in found if b.series == "Schedule a Bulk Item Pickup"] == []
