"""Bursts on real history: false alarms on untouched Boston 311, recall of injected bursts.

    nice .venv/bin/python bench/bench_bursts.py [--by type|reason] [--seed 1]
        [--injections 400] [--sizes 1.5 2 3 5] [--min-baseline 0] [--fdr 0.1] [--no-holidays]

Reads ``../shared/data/boston311/requests_2011_jul_nov.csv.gz`` (July–November 2011) and
counts requests per day per category: ``type`` by default, because it is what a resident
picks and maps 1:1 to a CivicPulse category (an Open311 service); ``reason`` groups the
types into 31 broad themes, where a burst of one type is diluted by its neighbours. Then,
with the product's parameters (``civicpulse.insight.bursts.BurstParams``), one run per day
as the product would do it (false discoveries controlled over that day's series):

1. **Untouched history.** Every day with four weeks of history behind it is evaluated and
   the bursts are followed (``follow_bursts``), so a burst alerts once. Every alert is
   listed and all of them count as false alarms, per category-week tested (one category
   watched for one week). That is an upper bound: the history holds real events, such as
   Hurricane Irene (27–28 August) and the snowstorm of 29 October.
2. **Injected bursts.** At ``--injections`` random (category, start day) places per size,
   seeded, extra requests drawn Poisson((size - 1) × baseline) are added on each of three
   days; the baseline is the category's mean on the same weekday over the four weeks before
   and after, highest and lowest left out (the detector never sees it). The burst is found
   when an alert for that category is raised on one of the three days. Places are skipped
   when the untouched run alerted on that category within two days (a real event is not
   credited to the injection) or when a day is a public holiday (three times a normal
   Monday on a closed Monday is not a tripling). Recall is shown by the burst's baseline
   over its three days, because three times nothing is still nothing.

Evaluated days are split into a first half (August–September, where the method was
developed) and a held-out half (October–November); ``--seed`` changes every injection.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from civicpulse.insight.burst_follow import RaisedBurst, follow_bursts
from civicpulse.insight.bursts import (
    Burst,
    BurstParams,
    CountTable,
    count_table,
    detect_in_table,
    eligible_series,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "boston311" / "requests_2011_jul_nov.csv.gz"
SIZES = (1.5, 2.0, 3.0, 5.0)
BANDS = ((0.0, 5.0), (5.0, 15.0), (15.0, 50.0), (50.0, float("inf")))
TARGET_FROM = 15.0  # the target is judged on bursts whose 3-day baseline is at least this
HELD_OUT_FROM = date(2011, 10, 1)
BURST_DAYS = 3
# The city's calendar, as a city would configure it: Massachusetts public holidays in the
# period (Independence Day, Labor Day, Columbus Day, Veterans Day, Thanksgiving).
HOLIDAYS = (
    date(2011, 7, 4),
    date(2011, 9, 5),
    date(2011, 10, 10),
    date(2011, 11, 11),
    date(2011, 11, 24),
)


def load(by: str) -> CountTable:
    per: dict[str, Counter[date]] = defaultdict(Counter)
    with gzip.open(DATA, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["open_dt"][:10])
            per[row[by].strip() or "(none)"][day] += 1
    days = [d for c in per.values() for d in c]
    return count_table(
        {k: sorted(c.items()) for k, c in per.items()}, first_day=min(days), last_day=max(days)
    )


def half(day: date) -> str:
    return "held-out" if day >= HELD_OUT_FROM else "first"


class Run:
    """The table, the parameters and the calendar of one benchmark run."""

    def __init__(self, table: CountTable, params: BurstParams, closed: tuple[date, ...]):
        self.table, self.params, self.closed = table, params, closed

    def days(self) -> list[date]:
        out, day = [], self.table.first_day
        while day <= self.table.last_day:
            if self.eligible(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    def eligible(self, day: date) -> tuple[str, ...]:
        return eligible_series(self.table, day, self.params, self.closed)

    def detect(self, day: date, table: CountTable | None = None) -> list[Burst]:
        return detect_in_table(table or self.table, day, params=self.params,
                               closed_days=self.closed)

    def alerts(self, days: list[date]) -> list[Burst]:
        """New bursts only, day by day, as the product would raise them."""
        raised: tuple[RaisedBurst, ...] = ()
        alerts: list[Burst] = []
        for day in days:
            update = follow_bursts(self.detect(day), raised, day)
            raised = update.open
            alerts.extend(burst for burst, _ in update.new)
        return alerts


def untouched(run: Run, days: list[date]) -> list[Burst]:
    t0 = time.perf_counter()
    alerts = run.alerts(days)
    elapsed = time.perf_counter() - t0
    tested: Counter[str] = Counter()  # category-days tested, per half
    for day in days:
        tested[half(day)] += len(run.eligible(day))
    print(f"\nUntouched history: {len(days)} days evaluated ({days[0]} to {days[-1]}), "
          f"{elapsed / len(days) * 1000:.0f} ms per day for {len(run.table.keys)} series\n")
    print("| day | category | window, days | observed | expected | ratio | q |")
    print("|---|---|---|---|---|---|---|")
    for b in alerts:
        print(f"| {b.end} {b.end:%a} | {b.series} | {(b.end - b.start).days + 1} | "
              f"{b.observed} | {b.expected:.1f} | {b.ratio:.1f} | {b.q_value:.1e} |")
    print("\n| half | category-weeks tested | alerts | per category-week | "
          "per category per 4 weeks |")
    print("|---|---|---|---|---|")
    for name in ("first", "held-out", "all"):
        n = sum(1 for b in alerts if name in ("all", half(b.end)))
        weeks = (tested["first"] + tested["held-out"] if name == "all" else tested[name]) / 7
        rate = n / weeks if weeks else float("nan")
        print(f"| {name} | {weeks:.0f} | {n} | {rate:.3f} | {4 * rate:.2f} |")
    return alerts


def weekday_baseline(counts: np.ndarray, col: int) -> float:
    """The mean of the same weekday over four weeks either side (not the day itself), the
    highest and lowest left out: a storm nearby must not make the injected burst ten times
    larger, nor a holiday make it vanish."""
    around = [col + 7 * k for k in range(-4, 5) if k and 0 <= col + 7 * k < counts.size]
    values = np.sort(counts[around])
    if values.size > 2:
        values = values[1:-1]
    return float(values.mean()) if values.size else 0.0


def band_of(baseline: float) -> int:
    return next(i for i, (lo, hi) in enumerate(BANDS) if lo <= baseline < hi)


def injected(
    run: Run,
    days: list[date],
    alerts: list[Burst],
    seed: int,
    n: int,
    sizes: tuple[float, ...] = SIZES,
    min_baseline: float = 0.0,
) -> None:
    table = run.table
    rng = np.random.default_rng(seed)
    alerted: dict[str, set[date]] = defaultdict(set)
    for b in alerts:
        for i in range((b.end - b.start).days + 1):
            alerted[b.series].add(b.start + timedelta(days=i))
    row_of = {k: i for i, k in enumerate(table.keys)}
    starts = days[: len(days) - BURST_DAYS + 1]
    t0 = time.perf_counter()
    found: Counter[tuple[float, int, str]] = Counter()
    total: Counter[tuple[float, int, str]] = Counter()
    on_day: Counter[tuple[float, int, int]] = Counter()
    for size in sizes:
        placed = 0
        while placed < n:
            start = starts[int(rng.integers(len(starts)))]
            candidates = run.eligible(start)
            key = candidates[int(rng.integers(len(candidates)))]
            burst_days = [start + timedelta(days=i) for i in range(BURST_DAYS)]
            near = {start + timedelta(days=i) for i in range(-2, BURST_DAYS + 2)}
            if alerted[key] & near or set(burst_days) & set(run.closed):
                continue
            row = row_of[key]
            cols = [table.index_of(d) for d in burst_days]
            base = [weekday_baseline(table.counts[row], c) for c in cols]
            if sum(base) < min_baseline:
                continue
            counts = table.counts.copy()
            counts[row, cols] += rng.poisson([(size - 1) * b for b in base])
            trial = CountTable(table.keys, table.first_day, counts)
            placed += 1
            cell = (size, band_of(sum(base)), half(start))
            total[cell] += 1
            for i, day in enumerate(burst_days):
                if any(b.series == key for b in run.detect(day, trial)):
                    found[cell] += 1
                    on_day[size, cell[1], i] += 1
                    break
    print(f"\nInjected bursts over {BURST_DAYS} days, seed {seed}, {n} places per size "
          f"({time.perf_counter() - t0:.0f} s)\n")
    print("| size | baseline, voices in 3 days | first half found / injected | "
          "held-out found / injected | recall | found on day 1 / 2 / 3 |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        rows = [(f"{lo:g}–{hi:g}" if hi != float("inf") else f"≥ {lo:g}", [b])
                for b, (lo, hi) in enumerate(BANDS)]
        rows.append((f"≥ {TARGET_FROM:g} (target)",
                     [b for b, (lo, _) in enumerate(BANDS) if lo >= TARGET_FROM]))
        for label, bands in rows:
            f1 = sum(found[size, b, "first"] for b in bands)
            t1 = sum(total[size, b, "first"] for b in bands)
            f2 = sum(found[size, b, "held-out"] for b in bands)
            t2 = sum(total[size, b, "held-out"] for b in bands)
            recall = (f1 + f2) / (t1 + t2) if t1 + t2 else float("nan")
            by_day = " / ".join(
                str(sum(on_day[size, b, i] for b in bands)) for i in range(BURST_DAYS)
            )
            print(f"| {size:g}× | {label} | {f1} / {t1} | {f2} / {t2} | {recall:.0%} | "
                  f"{by_day} |")


def main() -> None:
    if not DATA.exists():
        sys.exit(f"real data not present: {DATA}")
    parser = argparse.ArgumentParser()
    parser.add_argument("--by", choices=("type", "reason"), default="type")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--injections", type=int, default=400,
                        help="random places per burst size (0: untouched history only)")
    parser.add_argument("--sizes", type=float, nargs="+", default=list(SIZES),
                        help="burst sizes, multiples of the baseline")
    parser.add_argument("--min-baseline", type=float, default=0.0,
                        help="inject only where the 3-day baseline is at least this")
    parser.add_argument("--fdr", type=float, default=None, help="override BurstParams.fdr")
    parser.add_argument("--no-holidays", action="store_true",
                        help="do not tell the detector which days were public holidays")
    args = parser.parse_args()
    params = BurstParams() if args.fdr is None else BurstParams(fdr=args.fdr)
    table = load(args.by)
    run = Run(table, params, () if args.no_holidays else HOLIDAYS)
    days = run.days()
    print(f"Boston 311 by {args.by}: {len(table.keys)} series, {table.first_day} to "
          f"{table.last_day}; holidays {'not ' if args.no_holidays else ''}given\n{params}")
    alerts = untouched(run, days)
    if args.injections:
        injected(run, days, alerts, args.seed, args.injections, tuple(args.sizes),
                 args.min_baseline)


if __name__ == "__main__":
    main()
