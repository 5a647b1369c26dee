"""The test of one day: each eligible series' expected voices and spread, fitted on its own
history, and the windows' p-values against them, before false-discovery control.

Apart from ``bursts.py`` (what callers use, whose docstring gives the method and the
measurements behind each part) because this is the numerical core: the robust
negative-binomial baseline, changed only together with the measurements in
``bench/README.md``. ``scipy.stats`` costs a second to import, so only the test's own calls
import it, never the import of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from civicpulse.insight.bursts import BurstParams, CountTable

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
class DayTests:
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


def history_rows(
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


def tests_on(
    table: CountTable, day: int, params: BurstParams, closed: frozenset[int]
) -> DayTests | None:
    """The window tests of every eligible series on one day (a column of the table)."""
    hist_start, hist_end, rows = history_rows(table, day, params, closed)
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
    return DayTests(
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
