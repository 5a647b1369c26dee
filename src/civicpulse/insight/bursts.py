"""Bursts: a statistically significant rise of voices in a series against its own history.

A *series* is anything counted per day under a stable string key: a category
(``"category:street-lights"``), an area (``"area:ward-17"``), a discovered topic. The input
is each series' daily counts; the output is one frozen :class:`Burst` per series that rose
significantly in a window ending on the day evaluated, with the test, its p-value and its
q-value stated, so that an alert can be explained and audited rather than eyeballed.

The method, and why each part is there. Figures are from ``bench/bench_bursts.py`` on Boston
311, July–November 2011, 135 request types (``bench/README.md``, "Bursts"):

* **Baseline from the series' own trailing history**: the ``history_days`` (56, whole weeks)
  before the longest tested window, so a burst never raises its own baseline. A series is
  tested from four weeks of history on.
* **Day-of-week factors**, because city intake is strongly weekly: Boston receives about a
  fifth of a weekday's volume on Sundays, some internal categories nothing at weekends. A
  series' weekday profile is its own, shrunk towards the profile of all series pooled
  (``weekday_prior`` pseudo-voices), so a series with 20 voices in eight weeks does not get a
  Wednesday factor from three Wednesdays. Without it every Monday is a "burst".
* **Level now, not the eight-week mean** (seasonality): the weekday profile comes from the
  whole history, the level from a recency-weighted ratio (half-life ``level_half_life``, 14
  days), because categories double or halve within weeks (street-light outages as evenings
  darken, heating complaints in October, a recycling-cart campaign ending). A year-on-year
  term would need a year of history; it is not modelled.
* **Over-dispersion: negative binomial**, Var(y) = mu + theta * mu^2. Real counts are far from
  Poisson (work orders entered in batches: 0, 0, 114, 32, 0 ...); a Poisson test alarms on
  them every week. theta is the series' moment estimate around a local two-week level (so a
  trend is not counted as noise), corrected for the weekday means fitted on the same days,
  and pulled towards the common theta of all series as far as eight weeks leave it
  uncertain (random-effects shrinkage). Without the last two, 150 synthetic series with
  theta 0.05 gave p < 0.001 on 0.55 % of days, not 0.1 %. The test's variance also carries
  the uncertainty of the estimated level.
* **Robust to past bursts**: history days that are extreme under the fit (either tail beyond
  ``trim_p``) are left out and the fit redone, starting from a nearly Poisson spread so a
  storm cannot hide itself (Hurricane Irene put 752 tree emergencies in a day against about
  4; kept in, it inflates theta for eight weeks and masks the next storm). At most
  ``max_trim_fraction`` of the days go: a series that is spiky by nature keeps its spikes.
* **Holidays**: ``closed_days`` (the city's calendar) and the catch-up day after each are
  left out of the baseline, and a window starting the day after a closed day reaches back
  over it, since what could not be filed on the holiday arrives the next open day.
* **Test**: the sum over a sliding window of 1, 2 and 3 days ending on the evaluated day
  against its expected sum, one-sided, the upper tail of a negative binomial with the
  window's mean and variance. The one-day window catches a storm on its first day, the
  three-day window a rise that is moderate each day. The windows' p-values are combined by
  Simes (valid for the positively dependent tests overlapping windows are): ``p_value`` is
  for "some window rose".
* **Guards**: a window with fewer than ``min_count`` voices or a ratio under ``min_ratio``
  gets p = 1, so a series with 0.2 voices a day does not alarm on two voices and a large one
  does not alarm on a certain but trivial 10 % rise. Raising a p-value only makes the test
  more conservative, so the false-discovery control below still holds.
* **False discoveries controlled across series and days**: weighted Benjamini–Hochberg
  over every (series, day) tested in one call; a burst is reported when its ``q_value`` is at
  most ``fdr``. Only series with ``min_history_count`` voices in their history enter, and a
  series' weight grows with the voices it expects in three days (full at
  ``full_weight_at``), so tests that could never see a tripling do not dilute those that
  can. Both depend on the history only, not on the days tested, which keeps the guarantee
  (independent filtering, Bourgon et al. 2010; weighted BH, Genovese et al. 2006). A daily
  run calls with one day, so the family is that day's series.

Measured with the default parameters (seeds 2 and 4 not used for any choice): a 3x burst
over three days is found in 94-96 % of places whose baseline is at least 15 voices in three
days (5 a day), in 47-69 % at 5-15 voices and about 10 % below that, where a tripling is
within ordinary noise; the untouched history raises 0.31 alerts per category per four weeks,
storms and other real events included (the target was at most one).

An alert should be raised once while a burst lasts: ``burst_follow.py`` matches the bursts
found on a day against those already raised. The test of one day (the baseline and the
window tests above) is ``burst_statistics.py``. This module is what callers use (the
parameters, the count table, the bursts found) with the false-discovery control over all
that was tested; split in three so that each part can be read, and checked, on its own.

Pure and deterministic: numbers in, dataclasses out; no database, no clock, nothing built at
import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from civicpulse.insight.burst_statistics import DayTests, history_rows, tests_on

TEST_NAME = "negative-binomial upper tail of the window sum; windows combined by Simes"


@dataclass(frozen=True)
class BurstParams:
    """How bursts are detected; the defaults are the ones measured in ``bench/README.md``."""

    history_days: int = 56  # trailing baseline, whole weeks
    min_history_days: int = 28  # a series is tested once this much history exists
    windows: tuple[int, ...] = (1, 2, 3)  # window lengths tried, in days, ending on the day
    fdr: float = 0.1  # weighted Benjamini–Hochberg level: a burst needs q <= fdr
    min_count: int = 6  # voices in the window below which nothing alarms
    min_ratio: float = 1.5  # observed / expected below which nothing alarms
    min_history_count: int = 10  # voices in the history for a series to be tested at all
    weekday_prior: float = 30.0  # pseudo-voices pulling a weekday profile to the pooled one
    level_half_life: float = 14.0  # days; 0 for a flat level over the whole history
    level_prior: float = 5.0  # pseudo-voices holding a sparse series' level to its average
    trim_p: float = 1e-3  # history days this extreme are left out of the baseline
    max_trim_fraction: float = 0.1  # but never more than this share of them
    full_weight_at: float = 15.0  # expected voices in 3 days for a full FDR weight; 0: equal
    min_weight: float = 0.05  # the weight of the sparsest series, before normalising
    combine: Literal["simes", "bonferroni"] = "simes"  # how window p-values combine

    def __post_init__(self) -> None:
        if self.history_days % 7 or self.history_days <= 0:
            raise ValueError("history_days must be a positive number of whole weeks")
        if self.min_history_days % 7 or not 0 < self.min_history_days <= self.history_days:
            raise ValueError("min_history_days must be whole weeks, at most history_days")
        if not self.windows or min(self.windows) < 1:
            raise ValueError("windows must be positive day counts")
        if not 0 < self.fdr < 1:
            raise ValueError("fdr must lie between 0 and 1")
        if self.combine not in ("simes", "bonferroni"):
            raise ValueError("combine must be 'simes' or 'bonferroni'")


@dataclass(frozen=True)
class Burst:
    """One significant rise: what was seen, what was expected, and the evidence.

    ``p_value`` is the one-sided p of "some window rose" (the windows combined by Simes);
    ``q_value`` its weighted Benjamini–Hochberg adjustment over every (series, day) tested in
    the same call, with ``fdr_weight`` the series' weight in it. ``reasons`` are short codes
    a machine can read and a page can translate."""

    series: str
    start: date  # first day of the window
    end: date  # last day of the window: the day evaluated
    observed: int
    expected: float
    ratio: float
    test: str
    dispersion: float  # theta of Var = mu + theta * mu^2 used for this series
    p_value: float
    q_value: float
    fdr_weight: float
    daily_observed: tuple[int, ...]
    daily_expected: tuple[float, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class CountTable:
    """Daily counts of many series as one matrix, column 0 being ``first_day``.

    Build it once (:func:`count_table`) to test many days or variants of the same history
    without re-reading the pairs; compared by identity (an array has no single truth value)."""

    keys: tuple[str, ...]
    first_day: date
    counts: np.ndarray  # shape (len(keys), days), non-negative integers

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.counts.shape[1] - 1)

    def index_of(self, day: date) -> int:
        return (day - self.first_day).days


def count_table(
    series: Mapping[str, Iterable[tuple[date, int]]],
    first_day: date | None = None,
    last_day: date | None = None,
) -> CountTable:
    """Build the matrix from per-series ``(day, count)`` pairs; a day not given counts zero.

    ``first_day`` is when counting began (the earliest day given, by default): a series with
    no voice before some day has zeros there, not missing history. Pairs outside
    ``first_day``…``last_day`` are ignored; the same day given twice adds up."""
    pairs = {key: [(d, int(c)) for d, c in values] for key, values in series.items()}
    given = [d for values in pairs.values() for d, _ in values]
    if first_day is None:
        if not given:
            raise ValueError("no days given and no first_day")
        first_day = min(given)
    if last_day is None:
        last_day = max(given, default=first_day)
    keys = tuple(sorted(pairs))
    length = max((last_day - first_day).days + 1, 0)
    counts = np.zeros((len(keys), length), dtype=np.int64)
    for row, key in enumerate(keys):
        for d, c in pairs[key]:
            if c < 0:
                raise ValueError(f"negative count for {key} on {d}")
            col = (d - first_day).days
            if 0 <= col < length:
                counts[row, col] += c
    return CountTable(keys, first_day, counts)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return [float(x) for x in q]


def detect_bursts(
    series: Mapping[str, Iterable[tuple[date, int]]],
    day: date,
    *,
    until: date | None = None,
    first_day: date | None = None,
    closed_days: Iterable[date] = (),
    params: BurstParams | None = None,
) -> list[Burst]:
    """Bursts in windows ending on ``day`` (or on each day up to ``until``).

    ``series`` maps a key to its ``(day, count)`` pairs; days not given count zero from
    ``first_day`` (the earliest day given, by default): pass it when counting began before
    the first voice. Counts after the last evaluated day are ignored. ``closed_days`` are the
    days the city's offices were shut (public holidays)."""
    last = until or day
    table = count_table(series, first_day=first_day, last_day=last)
    return detect_in_table(table, day, last, params, closed_days)


def detect_in_table(
    table: CountTable,
    start: date,
    end: date | None = None,
    params: BurstParams | None = None,
    closed_days: Iterable[date] = (),
) -> list[Burst]:
    """Bursts on every day from ``start`` to ``end`` (inclusive, default ``start``), with
    false discoveries controlled over all series and days tested together; sorted by q.

    Closed days and the day after each are kept out of the baseline, and a window starting
    the day after closed days reaches back over them."""
    params = params or BurstParams()
    end = end or start
    closed = _closed_indices(table, closed_days)
    tested: list[DayTests] = []
    day = start
    while day <= end:
        found = tests_on(table, table.index_of(day), params, closed)
        if found is not None:
            tested.append(found)
        day += timedelta(days=1)
    if not tested:
        return []
    p_all = np.concatenate([t.p for t in tested])
    weights = np.concatenate([t.prior_weight for t in tested])
    weights = weights / weights.mean()
    q_all = np.asarray(benjamini_hochberg(list(np.minimum(p_all / weights, 1.0))))
    bursts: list[Burst] = []
    offset = 0
    for t in tested:
        size = t.rows.size
        q, w = q_all[offset : offset + size], weights[offset : offset + size]
        offset += size
        for i in np.flatnonzero(q <= params.fdr):
            bursts.append(_burst(table, t, int(i), float(q[i]), float(w[i]), closed))
    bursts.sort(key=lambda b: (b.q_value, b.p_value, b.series, b.end))
    return bursts


def eligible_series(
    table: CountTable,
    day: date,
    params: BurstParams | None = None,
    closed_days: Iterable[date] = (),
) -> tuple[str, ...]:
    """The series tested on ``day``: enough history (days and voices) to have a baseline.

    What a page can show as "watched"; the rest are too new or too sparse to judge."""
    closed = _closed_indices(table, closed_days)
    _, _, rows = history_rows(table, table.index_of(day), params or BurstParams(), closed)
    return tuple(table.keys[int(r)] for r in rows)


def _closed_indices(table: CountTable, closed_days: Iterable[date]) -> frozenset[int]:
    return frozenset(table.index_of(d) for d in closed_days)


def _burst(
    table: CountTable, t: DayTests, i: int, q: float, weight: float, closed: frozenset[int]
) -> Burst:
    row = int(t.rows[i])
    span = np.arange(int(t.window_start[i]), t.day + 1)
    weekday0 = table.first_day.weekday()
    observed = int(t.observed[i])
    expected = float(t.expected[i])
    ratio = observed / expected
    theta = float(t.fit.theta[i])
    reasons = [
        f"window:{span.size}d",
        f"ratio:{ratio:.1f}",
        f"q<={q:.2g}",
        f"history:{t.history}d",
        "weekday:own" if t.fit.own_profile[i] else "weekday:pooled",
        "dispersion:negative-binomial" if theta > 0 else "dispersion:poisson",
    ]
    if t.trimmed[i]:
        reasons.append(f"history-days-left-out:{int(t.trimmed[i])}")
    if any(int(d) in closed for d in span):
        reasons.append("includes-closed-days")
    return Burst(
        series=table.keys[row],
        start=table.first_day + timedelta(days=int(span[0])),
        end=table.first_day + timedelta(days=t.day),
        observed=observed,
        expected=round(expected, 3),
        ratio=round(ratio, 3),
        test=TEST_NAME,
        dispersion=round(theta, 4),
        p_value=float(t.p[i]),
        q_value=q,
        fdr_weight=round(weight, 4),
        daily_observed=tuple(int(x) for x in table.counts[row, span]),
        daily_expected=tuple(
            round(float(t.fit.by_weekday[i, (d + weekday0) % 7]), 3) for d in span
        ),
        reasons=tuple(reasons),
    )
