"""`civicpulse understand match` on Boston 311: does matching find the city's own duplicates?

    nice .venv/bin/python bench/bench_match_file.py [--threshold T] [--radius-m R]
        [--window-days D] [--same-spot-m S] [--no-category] [--closed-at]
        [--sample 30 --seed 11]

Runs the command's own function (``services.match_file.match_file``, the in-memory replay
of intake's matching) over ``boston311/requests_2011_jul_nov.csv.gz`` mapped as an
operator would map it (``text=case_title``, ``lat=latitude``, ``lon=longitude``,
``occurred_at=open_dt``, ``external_id=case_enquiry_id``, ``category=type``, times in
America/New_York), then compares the rows it calls ``same_as`` an earlier row with the rows
the city closed as "Duplicate of Existing Case" (``closure_reason``):

* precision: of the rows we flag, the share the city closed as a duplicate;
* recall: of the rows the city closed as a duplicate, the share we flag.

Per month, for the months used while looking at the data (July–September) and the months
held out (October–November) apart. ``--sample N`` prints N of our flags the city did not
mark, with both rows, for a hand check. Without options the parameters are intake's
defaults (``MatchParams()``, the same as the settings' defaults).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from civicpulse.channels.tabular import open_table
from civicpulse.services.match_file import MatchOptions, RowMatch, match_file
from civicpulse.understanding.matching import MatchParams

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
BOSTON = DATA / "boston311" / "requests_2011_jul_nov.csv.gz"
MAPPING = {
    "text": "case_title",
    "lat": "latitude",
    "lon": "longitude",
    "occurred_at": "open_dt",
    "external_id": "case_enquiry_id",
    "category": "type",
}
SEEN = ("2011-07", "2011-08", "2011-09")
HELD_OUT = ("2011-10", "2011-11")
CITY_DUPLICATE = "Duplicate of Existing Case"


@dataclass(frozen=True)
class Request:
    month: str
    duplicate: bool
    row: dict[str, str]


def load_truth(path: Path = BOSTON) -> dict[str, Request]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return {
            r["case_enquiry_id"]: Request(
                r["open_dt"][:7], CITY_DUPLICATE in r["closure_reason"], r
            )
            for r in csv.DictReader(f)
        }


def replay(params: MatchParams, mapping: dict[str, str],
           path: Path = BOSTON) -> dict[str, RowMatch]:
    """external id → the command's answer for that row, via the command's own function."""
    table = open_table(path)
    try:
        options = MatchOptions(mapping=mapping, timezone="America/New_York")
        return {a.external_id: a for a in match_file(table, options, params)}
    finally:
        table.close()


def scores(truth: dict[str, Request], answers: dict[str, RowMatch],
           months: tuple[str, ...]) -> dict[str, float]:
    rows = [(truth[i], a.same_as is not None)
            for i, a in answers.items() if truth[i].month in months]
    flagged = sum(f for _, f in rows)
    city = sum(r.duplicate for r, _ in rows)
    both = sum(f and r.duplicate for r, f in rows)
    return {
        "rows": len(rows), "city": city, "flagged": flagged, "both": both,
        "precision": both / flagged if flagged else 0.0,
        "recall": both / city if city else 0.0,
    }


def _line(label: str, s: dict[str, float]) -> str:
    return (f"| {label} | {s['rows']:,} | {s['city']:,} | {s['flagged']:,} | {s['both']:,} | "
            f"{s['precision']:.3f} | {s['recall']:.3f} |")


def report(truth: dict[str, Request], answers: dict[str, RowMatch]) -> None:
    months = sorted({r.month for r in truth.values()})
    print("| months | rows | city duplicates | we flag | both | precision | recall |")
    print("|---|---|---|---|---|---|---|")
    for m in months:
        print(_line(m, scores(truth, answers, (m,))))
    print(_line("Jul–Sep (looked at)", scores(truth, answers, SEEN)))
    print(_line("**Oct–Nov (held out)**", scores(truth, answers, HELD_OUT)))
    print(_line("all five months", scores(truth, answers, tuple(months))))


def by_type(truth: dict[str, Request], answers: dict[str, RowMatch], top: int = 12) -> None:
    flagged: Counter[str] = Counter()
    city: Counter[str] = Counter()
    both: Counter[str] = Counter()
    for i, a in answers.items():
        kind = truth[i].row["type"]
        f = a.same_as is not None
        flagged[kind] += f
        city[kind] += truth[i].duplicate
        both[kind] += f and truth[i].duplicate
    print("\n| type | we flag | city duplicates | both |")
    print("|---|---|---|---|")
    for kind, n in flagged.most_common(top):
        print(f"| {kind} | {n:,} | {city[kind]:,} | {both[kind]:,} |")


def sample(truth: dict[str, Request], answers: dict[str, RowMatch], n: int, seed: int) -> None:
    """Our flags the city did not mark, with both rows, for a hand check."""
    pool = sorted(i for i, a in answers.items()
                  if a.same_as is not None and not truth[i].duplicate)
    chosen = random.Random(seed).sample(pool, min(n, len(pool)))
    for k, ident in enumerate(chosen, 1):
        a = answers[ident]
        print(f"\n#{k} {ident} same_as {a.same_as}  score {a.score}  "
              f"{'; '.join(a.reasons)}")
        assert a.same_as is not None
        for which in (ident, a.same_as):
            r = truth[which].row
            closure = " ".join(r["closure_reason"].split())[:150]
            print(f"   {which} {r['open_dt']} [{r['source']}] {r['type']!r} / "
                  f"{r['case_title']!r} at {r['location'].strip()!r}")
            print(f"      {r['case_status']} {r['closed_dt']}: {closure}")


def main() -> None:
    if not BOSTON.exists():
        sys.exit(f"real data not present: {BOSTON}")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--radius-m", type=float)
    parser.add_argument("--window-days", type=float)
    parser.add_argument("--same-spot-m", type=float)
    parser.add_argument("--no-category", action="store_true",
                        help="Leave the category unmapped (text and place only).")
    parser.add_argument("--closed-at", action="store_true",
                        help="Map closed_at=closed_dt: match only cases still open, as intake.")
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    params = MatchParams()
    for name, value in (("threshold", args.threshold), ("radius_m", args.radius_m),
                        ("window_days", args.window_days), ("same_spot_m", args.same_spot_m)):
        if value is not None:
            params = replace(params, **{name: value})
    mapping = dict(MAPPING)
    if args.no_category:
        del mapping["category"]
    if args.closed_at:
        mapping["closed_at"] = "closed_dt"
    truth = load_truth()
    t0 = time.perf_counter()
    answers = replay(params, mapping)
    elapsed = time.perf_counter() - t0
    print(f"threshold {params.threshold}, radius {params.radius_m:g} m, same spot "
          f"{params.same_spot_m:g} m, window {params.window_days:g} days, category "
          f"{'unmapped' if args.no_category else 'type'}, closed_at "
          f"{'closed_dt' if args.closed_at else 'unmapped'}; {len(answers):,} rows in "
          f"{elapsed:.0f} s ({len(answers) / elapsed:,.0f} rows/s)\n")
    report(truth, answers)
    by_type(truth, answers)
    if args.sample:
        sample(truth, answers, args.sample, args.seed)


if __name__ == "__main__":
    main()
