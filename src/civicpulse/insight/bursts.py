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

An alert should be raised once while a burst lasts: :func:`follow_bursts` matches the
bursts found today against those already raised (same series, window touching or within
``gap_days`` of the last day it was seen) and returns only the new ones; a burst's identity
is its series key and the day it started (:attr:`RaisedBurst.identity`).

Pure and deterministic: numbers in, dataclasses out; no database, no clock, nothing built at
import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

import numpy as np

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


@dataclass(frozen=True)
class RaisedBurst:
    """A burst already alerted on, as the caller remembers it between runs."""

    series: str
    start: date  # the first day of the window that raised it; fixed for its life
    last_seen: date  # the last day on which it was still significant

    @property
    def identity(self) -> str:
        """Stable key for deduplication and outbox messages: series and start day."""
        return f"{self.series}@{self.start.isoformat()}"


@dataclass(frozen=True)
class BurstUpdate:
    """The result of matching today's bursts against the ones already raised."""

    new: tuple[tuple[Burst, RaisedBurst], ...]  # alert these, once
    continuing: tuple[tuple[Burst, RaisedBurst], ...]  # same burst as before: no new alert
    open: tuple[RaisedBurst, ...]  # remember these for the next run
    ended: tuple[RaisedBurst, ...]  # not seen for more than gap_days


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
    tested: list[_DayTests] = []
    day = start
    while day <= end:
        found = _tests_on(table, table.index_of(day), params, closed)
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
    _, _, rows = _history_rows(table, table.index_of(day), params or BurstParams(), closed)
    return tuple(table.keys[int(r)] for r in rows)


def same_burst(found: Burst, raised: RaisedBurst, gap_days: int = 2) -> bool:
    """Whether ``found`` is the continuation of ``raised``: same series, and its window
    overlaps or starts at most ``gap_days`` quiet days after the raised burst was last seen.

    A three-day window keeps finding a one-day spike on the two days after it, and a burst
    may dip under the threshold for a day; neither should page anyone twice."""
    if found.series != raised.series or found.end < raised.start:
        return False
    quiet_days = (found.start - raised.last_seen).days - 1
    return quiet_days <= gap_days


def follow_bursts(
    found: Iterable[Burst],
    raised: Iterable[RaisedBurst],
    day: date,
    gap_days: int = 2,
) -> BurstUpdate:
    """Match the bursts found against the ones already raised, so each burst alerts once.

    A found burst continuing a raised one extends its ``last_seen`` and keeps its identity;
    any other is new. A raised burst not seen for more than ``gap_days`` days before ``day``
    has ended, and a rise after that is a new burst. Bursts of several days may be passed
    together, in any order: they chain as they would day by day."""
    open_: dict[str, RaisedBurst] = {r.identity: r for r in raised}
    new: list[tuple[Burst, RaisedBurst]] = []
    continuing: list[tuple[Burst, RaisedBurst]] = []
    for burst in sorted(found, key=lambda b: (b.end, b.series, b.start)):
        candidates = sorted(open_.values(), key=lambda r: (r.start, r.series))
        match = next((r for r in candidates if same_burst(burst, r, gap_days)), None)
        if match is None:
            record = RaisedBurst(burst.series, burst.start, burst.end)
            new.append((burst, record))
        else:
            record = replace(match, last_seen=max(match.last_seen, burst.end))
            continuing.append((burst, record))
        open_[record.identity] = record
    cutoff = day - timedelta(days=gap_days + 1)
    records = sorted(open_.values(), key=lambda r: (r.series, r.start))
    return BurstUpdate(
        new=tuple(new),
        continuing=tuple(continuing),
        open=tuple(r for r in records if r.last_seen >= cutoff),
        ended=tuple(r for r in records if r.last_seen < cutoff),
    )


# --- the statistics -----------------------------------------------------------------------

_TRIM_ROUNDS = 10
_THETA_START = 0.05  # the nearly Poisson spread the first trimming round judges against
_THETA_MAX = 50.0
_LOCAL_HALF_WIDTH = 7  # days either side for the level a history day is judged against


@dataclass(frozen=True)
class _Fit:
    mu: np.ndarray  # (series, history days) expected under the level of the time
    by_weekday: np.ndarray  # (series, 7) expected voices per day now, by weekday
    theta: np.ndarray  # dispersion per series
    own_profile: np.ndarray  # bool: the series' own weekday profile dominates
    level_rel_var: np.ndarray  # relative variance of the current level's estimate


@dataclass(frozen=True)
class _DayTests:
    """Every eligible series' test on one day, before false-discovery control."""

    day: int
    rows: np.ndarray  # series indices tested
    p: np.ndarray  # windows combined, per row
    window_start: np.ndarray  # first day (table index) of the reported window, per row
    observed: np.ndarray
    expected: np.ndarray
    fit: _Fit
    history: int  # days of history used
    trimmed: np.ndarray  # history days left out of the baseline, per row
    prior_weight: np.ndarray  # unnormalised weight in the weighted Benjamini–Hochberg


def _nb_sf(observed: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """P(Y >= observed) for a negative binomial with this mean and variance (Poisson when
    the variance does not exceed the mean)."""
    observed = np.asarray(observed, dtype=float)
    mean = np.maximum(mean, 1e-9)
    excess = var - mean
    poisson = excess <= 1e-9 * mean
    size = np.where(poisson, 1.0, mean**2 / np.where(poisson, 1.0, excess))
    # scipy.stats costs a second to import: only the detector's own calls pay it, not
    # every command and process that merely imports the product
    from scipy import stats

    nb = stats.nbinom.sf(observed - 1, size, size / (size + mean))
    po = stats.poisson.sf(observed - 1, mean)
    return np.where(observed <= 0, 1.0, np.where(poisson, po, nb))


def _fit(
    hist: np.ndarray,
    weekdays: np.ndarray,
    ages: np.ndarray,
    keep: np.ndarray,
    params: BurstParams,
) -> _Fit:
    """Weekday-aware expectations and dispersion from the kept history days; ``ages`` is each
    history day's distance in days before the tested window."""
    onehot = np.zeros((hist.shape[1], 7))
    onehot[np.arange(hist.shape[1]), weekdays] = 1.0
    kept = keep.astype(float)
    sums = (hist * kept) @ onehot  # (series, 7)
    days = kept @ onehot  # kept days per weekday
    weeks = hist.shape[1] / 7.0
    # per-weekday mean of kept days, scaled to a whole history's worth of voices; a weekday
    # whose every day was left out falls back to all its days
    all_days = hist @ onehot / np.maximum(onehot.sum(axis=0), 1.0)
    per_weekday = np.where(days > 0, sums / np.maximum(days, 1.0), all_days) * weeks
    # at least half a voice in the history: a series silent apart from the days left out
    # still expects something, or any voice would be infinitely surprising
    total = np.maximum(per_weekday.sum(axis=1), 0.5)
    pooled = per_weekday.sum(axis=0)
    pooled_share = pooled / pooled.sum() if pooled.sum() > 0 else np.full(7, 1 / 7)
    alpha = params.weekday_prior
    share = (per_weekday + alpha * pooled_share) / (total[:, None] + alpha)
    share = share / share.sum(axis=1, keepdims=True)
    flat_by_weekday = (total / weeks)[:, None] * share  # at the whole history's level
    base = flat_by_weekday[:, weekdays]
    ky, kb = hist * kept, base * kept
    prior = params.level_prior  # pseudo-voices at the flat level, so sparse series stay put

    # the level now: recency-weighted ratio of observed to flat expectation
    half_life = params.level_half_life
    w = 0.5 ** (ages / half_life) if half_life else np.ones(ages.size)
    ratio_now = ((ky * w).sum(axis=1) + prior) / ((kb * w).sum(axis=1) + prior)
    by_weekday = flat_by_weekday * ratio_now[:, None]

    # the level at each history day: the two weeks around it (by age, so that days left out
    # and closed days leave no hole), the day itself excluded, or its own noise would be
    # taken for level and the dispersion underestimated
    near = (np.abs(ages[:, None] - ages[None, :]) <= _LOCAL_HALF_WIDTH).astype(float)
    np.fill_diagonal(near, 0.0)
    mu = base * (ky @ near + prior) / (kb @ near + prior)

    # moment estimate of theta (E[(y - mu)^2 - y] = theta mu^2), per series and pooled. The
    # weekday means were fitted on these same days and absorb part of their spread: the
    # squared residuals are scaled up by the days per weekday over those left free (on
    # synthetic negative-binomial series with theta 0.05 the estimate was 0.032 without it).
    own_share = total / (total + alpha)
    n_kept = np.maximum(kept.sum(axis=1), 1.0)
    free = np.maximum(1.0 - 7.0 * own_share / n_kept, 0.5)
    raw = ((hist - mu) ** 2 / free[:, None] - hist) * kept
    raw = raw.sum(axis=1)
    info = (mu**2 * kept).sum(axis=1)
    own_theta = raw / np.maximum(info, 1e-12)
    theta = np.clip(_shrink_dispersion(own_theta, mu, kept, n_kept), 0.0, _THETA_MAX)

    # how well the level now is known: the weighted days' worth of voices it rests on
    kw = kept * w
    n_eff = kw.sum(axis=1) ** 2 / np.maximum((kw**2).sum(axis=1), 1e-12)
    mean_mu = np.maximum((base * kw).sum(axis=1) / np.maximum(kw.sum(axis=1), 1e-12), 1e-9)
    level_rel_var = (1.0 / mean_mu + theta) / np.maximum(n_eff, 1.0)
    return _Fit(mu, by_weekday, theta, total >= alpha, level_rel_var)


def _shrink_dispersion(
    own: np.ndarray, mu: np.ndarray, kept: np.ndarray, n_kept: np.ndarray
) -> np.ndarray:
    """Each series' dispersion pulled towards the series' common one as far as its own
    estimate is noisy (random-effects, DerSimonian–Laird).

    Eight weeks of days say little about theta: with theta 0.05 and 20 voices a day the
    estimate ranges from about 0.02 to 0.09, and the series that happen to come out low
    then alarm on ordinary days. Where the series really differ (a smooth pickup schedule
    against batch-entered work orders) the spread between them exceeds the noise and each
    keeps nearly its own."""
    mean_mu = np.maximum((mu * kept).sum(axis=1) / n_kept, 1e-9)
    noise = 2.0 * (1.0 / mean_mu + np.maximum(own, 0.0)) ** 2 / n_kept  # its variance
    w = 1.0 / noise
    common = float((w * own).sum() / w.sum())
    if own.size < 2:
        return np.full_like(own, max(common, 0.0)) if own.size else own
    q = float((w * (own - common) ** 2).sum())
    spread = max(0.0, (q - (own.size - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    w_re = 1.0 / (noise + spread)
    common = max(float((w_re * own).sum() / w_re.sum()), 0.0)
    own_weight = spread / (spread + noise)
    return own_weight * own + (1.0 - own_weight) * common


def _robust_fit(
    hist: np.ndarray, weekdays: np.ndarray, ages: np.ndarray, params: BurstParams
) -> tuple[_Fit, np.ndarray]:
    """``_fit`` after leaving out the history's own extreme days; the fit and the kept mask.

    A storm inflates a plain fit's dispersion so much that it hides itself. So the first
    round judges every day against a nearly Poisson spread (too strict: it leaves out some
    ordinary days too), and each later round refits on what was kept and judges every day
    again, so the dispersion climbs back to what the ordinary days show, not the storm. At
    most ``max_trim_fraction`` of the days are left out per series (the most extreme): a
    series whose every other day is "extreme" (work orders entered in batches) is spiky by
    nature, and its spikes must stay in its spread."""
    max_trim = int(params.max_trim_fraction * hist.shape[1])
    keep = np.ones_like(hist, dtype=bool)
    fit = _fit(hist, weekdays, ages, keep, params)
    for round_ in range(_TRIM_ROUNDS):
        theta = np.minimum(fit.theta, _THETA_START) if round_ == 0 else fit.theta
        var = fit.mu + theta[:, None] * fit.mu**2
        upper = _nb_sf(hist, fit.mu, var)
        lower = 1.0 - _nb_sf(hist + 1, fit.mu, var)  # P(Y <= y)
        tail = np.minimum(upper, lower)
        rank = np.argsort(np.argsort(tail, axis=1, kind="stable"), axis=1)
        new_keep = ~((tail <= params.trim_p) & (rank < max_trim))
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
        fit = _fit(hist, weekdays, ages, keep, params)
    return fit, keep


def _closed_indices(table: CountTable, closed_days: Iterable[date]) -> frozenset[int]:
    return frozenset(table.index_of(d) for d in closed_days)


def _window_starts(day: int, params: BurstParams, closed: frozenset[int]) -> list[int]:
    """First day of each window ending on ``day``. A window that would begin on the first
    open day after closed days begins on the closed days instead."""
    starts = []
    for w in sorted(params.windows):
        start = day - w + 1
        while start - 1 in closed and start - 1 >= 0:
            start -= 1
        starts.append(start)
    return starts


def _history_rows(
    table: CountTable, day: int, params: BurstParams, closed: frozenset[int]
) -> tuple[int, int, np.ndarray]:
    """The history days (start, end exclusive) for a day, and the series eligible on it.

    Eligibility depends on the history only, never on the days tested, so filtering the
    family by it keeps Benjamini–Hochberg valid."""
    empty = np.zeros(0, dtype=np.int64)
    if not 0 <= day < table.counts.shape[1]:
        return 0, 0, empty
    hist_end = min(_window_starts(day, params, closed))
    history = min(params.history_days, (max(hist_end, 0) // 7) * 7)
    if history < params.min_history_days:
        return hist_end, hist_end, empty
    hist_start = hist_end - history
    totals = table.counts[:, hist_start:hist_end].sum(axis=1)
    return hist_start, hist_end, np.flatnonzero(totals >= params.min_history_count)


def _combine(window_p: np.ndarray, how: str) -> np.ndarray:
    """One p-value per series for "some window rose", from the windows' p-values (rows).

    Simes' combination is valid for positively dependent tests, which overlapping windows
    of the same series are, and loses less than Bonferroni when several windows agree."""
    p = np.sort(window_p, axis=0)  # smallest first
    k = p.shape[0]
    if how == "bonferroni":
        return np.minimum(p[0] * k, 1.0)
    ranks = np.arange(1, k + 1)[:, None]
    return np.minimum((p * k / ranks).min(axis=0), 1.0)


def _prior_weight(
    by_weekday: np.ndarray, day: int, weekday0: int, params: BurstParams
) -> np.ndarray:
    """How much of the false-discovery budget each series' test may spend, from history.

    A test that can hardly find anything (a series expecting one voice in three days) gets
    a small weight, a test with the volume to see a tripling a full one. A sparse series
    still alarms on what matters there, a sudden pile of voices about something hardly ever
    raised: those p-values are tiny enough for any weight."""
    if not params.full_weight_at:
        return np.ones(by_weekday.shape[0])
    span = np.arange(day - max(params.windows) + 1, day + 1)
    expected = by_weekday[:, (span + weekday0) % 7].sum(axis=1)
    return np.clip(expected / params.full_weight_at, params.min_weight, 1.0)


def _tests_on(
    table: CountTable, day: int, params: BurstParams, closed: frozenset[int]
) -> _DayTests | None:
    """The window tests of every eligible series on one day (a column of the table)."""
    hist_start, hist_end, rows = _history_rows(table, day, params, closed)
    if rows.size == 0:
        return None
    weekday0 = table.first_day.weekday()
    columns = np.arange(hist_start, hist_end)
    # closed days and the catch-up day after them are not ordinary days: out of the baseline
    ordinary = np.array([i not in closed and i - 1 not in closed for i in columns])
    hist = table.counts[rows][:, columns[ordinary]].astype(float)
    weekdays = (columns[ordinary] + weekday0) % 7
    ages = hist_end - 1 - columns[ordinary]
    fit, keep = _robust_fit(hist, weekdays, ages, params)

    starts = _window_starts(day, params, closed)
    p_windows, obs_windows, exp_windows = [], [], []
    for start in starts:
        span = np.arange(start, day + 1)
        expected_days = fit.by_weekday[:, (span + weekday0) % 7]
        expected = expected_days.sum(axis=1)
        observed = table.counts[rows][:, span].sum(axis=1).astype(float)
        var = (
            expected
            + fit.theta * (expected_days**2).sum(axis=1)
            + expected**2 * fit.level_rel_var
        )
        p = _nb_sf(observed, expected, var)
        guard = (observed >= params.min_count) & (observed >= params.min_ratio * expected)
        p_windows.append(np.where(guard, p, 1.0))
        obs_windows.append(observed)
        exp_windows.append(expected)
    window_p = np.vstack(p_windows)
    # the reported window: smallest p, the longer one on a tie
    best = window_p.shape[0] - 1 - np.argmin(window_p[::-1], axis=0)
    series = np.arange(rows.size)
    return _DayTests(
        day=day,
        rows=rows,
        p=_combine(window_p, params.combine),
        window_start=np.asarray(starts)[best],
        observed=np.vstack(obs_windows)[best, series],
        expected=np.vstack(exp_windows)[best, series],
        fit=fit,
        history=hist_end - hist_start,
        trimmed=(~keep).sum(axis=1),
        prior_weight=_prior_weight(fit.by_weekday, day, weekday0, params),
    )


def _burst(
    table: CountTable, t: _DayTests, i: int, q: float, weight: float, closed: frozenset[int]
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
