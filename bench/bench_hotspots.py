"""Hotspots on real points: what the product finds, how long it takes, and how often it errs.

    nice .venv/bin/python bench/bench_hotspots.py [--cell 250] [--band 500] [--top 8]
    nice .venv/bin/python bench/bench_hotspots.py --calibration [--seeds 40]
    nice .venv/bin/python bench/bench_hotspots.py --monte-carlo [--shuffles 50000]
    PYTHONPATH=src python-with-esda bench/bench_hotspots.py --oracle

The default run reads ``../shared/data`` at run time and runs the product's own
``civicpulse.insight.hotspots`` on:

- FixMyStreet Cambridge: the 59 open reports (the unresolved ones), then all 4,252 reports
  (open and fixed) to show the method on a city-sized sample;
- Boston 311, July–November 2011: the requests still open or closed after their target
  date (``case_status == "Open"`` or ``ontime == "OVERDUE"``), the unresolved-in-time ones;
- the time for all 49,914 Boston requests (the 50k-point case), median of 5 runs.

Boston geocodes a request without a usable address to one point (42.3594, -71.0587, City
Hall Plaza): 4,033 of the 49,914 rows. The product sets such a default position aside and
lists it (``stack_share``, 2 % of the points by default); ``--no-set-aside`` shows what
happens without that rule.

``--calibration`` drops uniform random points (seeded) in a 10 km square, where no place is
hot by construction, and counts the runs with any hot cell: with the product's skew-corrected
p-values and, for comparison, with the normal tail ArcGIS and esda's ``p_norm`` use.

``--monte-carlo`` compares the product's p-values with the exact ones, estimated by shuffling
the cell values over the study area (the null Gi* assumes) 50,000 times, on the real cells.

``--oracle`` checks the product's Gi* z-scores against ``esda.G_Local(star=True,
transform="B")`` on the same study cells; esda is not a dependency, so run it with an
interpreter that has it (a throwaway virtualenv with ``pip install esda``).
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
CAMBRIDGE = DATA / "fixmystreet_cambridge"
BOSTON = DATA / "boston311" / "requests_2011_jul_nov.csv.gz"


def params(args: argparse.Namespace, min_count: int | None = None) -> Any:
    from civicpulse.insight.hotspots import HotspotParams

    return HotspotParams(
        cell_m=args.cell,
        band_m=args.band,
        fdr=args.fdr,
        min_count=args.min_count if min_count is None else min_count,
        stack_share=None if args.no_set_aside else 0.02,
    )


def load_cambridge() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    open_ = json.loads((CAMBRIDGE / "reports.json").read_text())["reports"]
    fixed = json.loads((CAMBRIDGE / "fixed.json").read_text())["reports"]
    return open_, fixed


def load_boston() -> list[dict[str, Any]]:
    rows = []
    with gzip.open(BOSTON, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except ValueError:
                continue
            rows.append(
                {
                    "id": int(row["case_enquiry_id"]),
                    "lat": lat,
                    "lon": lon,
                    "late": row["case_status"] == "Open" or row["ontime"] == "OVERDUE",
                    "title": row["type"],
                    "place": row["neighborhood"],
                }
            )
    return rows


def show(name: str, rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    from civicpulse.insight.hotspots import PlacePoint, find_hotspots

    points = [PlacePoint(r["id"], r["lat"], r["lon"]) for r in rows]
    started = time.perf_counter()
    report = find_hotspots(points, params(args))
    took = time.perf_counter() - started
    by_id = {r["id"]: r for r in rows}
    print(f"\n## {name}: {len(points):,} points — {report.method}")
    for stack in report.set_aside:
        print(
            f"   set aside: {len(stack.member_ids):,} points at exactly "
            f"({stack.lat}, {stack.lon}), a default position"
        )
    print(
        f"   {report.study_cells:,} study cells, {report.tested_cells:,} tested, "
        f"{report.hot_cells:,} hot → {len(report.hotspots)} hotspots "
        f"(mean {report.mean_per_cell:.2f} per cell; {took * 1000:.0f} ms)"
    )
    for h in report.hotspots[: args.top]:
        box = h.bbox
        height = (box.north - box.south) * 111_195
        width = (box.east - box.west) * 111_195 * math.cos(math.radians(h.lat))
        titles = collections.Counter(by_id[i].get("title", "") for i in h.member_ids)
        places = collections.Counter(by_id[i].get("place", "") for i in h.member_ids)
        place = places.most_common(1)[0][0] if places else ""
        print(
            f"   {h.key} ({h.lat:.5f}, {h.lon:.5f}) {place} — {h.count} where "
            f"{h.expected:.1f} usual, {len(h.cells)} cells, {width:.0f}×{height:.0f} m, "
            f"z {h.z:.1f}, q {h.q:.1e}"
        )
        top = "; ".join(f"{t} {n}" for t, n in titles.most_common(3))
        print(f"      {top}")


def timing(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    from civicpulse.insight.hotspots import PlacePoint, find_hotspots

    started = time.perf_counter()
    points = [PlacePoint(r["id"], r["lat"], r["lon"]) for r in rows]
    build = time.perf_counter() - started
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        report = find_hotspots(points, params(args))
        runs.append(time.perf_counter() - started)
    again = find_hotspots(list(reversed(points)), params(args))
    print(
        f"\n## Time: {len(points):,} Boston points (all requests), "
        f"{report.study_cells:,} study cells, {len(report.hotspots)} hotspots\n"
        f"   find_hotspots median {statistics.median(runs) * 1000:.0f} ms "
        f"(min {min(runs) * 1000:.0f}, max {max(runs) * 1000:.0f}); "
        f"building the {len(points):,} PlacePoints {build * 1000:.0f} ms; "
        f"same report from reversed input: {again == report}"
    )


def calibration(args: argparse.Namespace) -> None:
    import numpy as np
    from scipy.stats import norm

    from civicpulse.insight.hotspots import PlacePoint, benjamini_hochberg, cell_statistics

    metres_lat = 111_195.0
    print(
        f"Uniform random points in a 10 km square at 52°N, {args.seeds} seeds each; "
        f"runs with any hot cell (a {args.fdr:.0%} FDR allows about "
        f"{args.fdr * args.seeds:.0f} of {args.seeds}):"
    )
    print("| points | skew-corrected (product) | normal tail |\n|---|---|---|")
    for size in (50, 300, 1000, 5000, 20000):
        product = normal = 0
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            lat = 52.0 + rng.random(size) * 10_000 / metres_lat
            lon = 0.1 + rng.random(size) * 10_000 / (metres_lat * math.cos(math.radians(52)))
            points = [
                PlacePoint(i, float(a), float(b))
                for i, (a, b) in enumerate(zip(lat, lon, strict=True))
            ]
            cells = [c for c in cell_statistics(points, params(args, 1)) if c.tested]
            product += any(c.hot for c in cells)
            z = np.array([c.z for c in cells])
            q = benjamini_hochberg(norm.sf(z))
            normal += bool(np.any((q <= args.fdr) & (z > 0)))
        print(f"| {size:,} | {product} / {args.seeds} | {normal} / {args.seeds} |")


def monte_carlo(args: argparse.Namespace) -> None:
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.stats import norm

    from civicpulse.insight.hotspots import PlacePoint, cell_statistics

    boston = load_boston()
    open_, fixed = load_cambridge()
    sources = {
        "Boston, open or closed late": [r for r in boston if r["late"]],
        "Boston, all requests": boston,
        "Cambridge, all reports": open_ + fixed,
    }
    reach = int(args.band // args.cell)
    window = [
        (dr, dc)
        for dr in range(-reach, reach + 1)
        for dc in range(-reach, reach + 1)
        if (dr * dr + dc * dc) * args.cell**2 <= args.band**2 * (1 + 1e-9)
    ]
    bands = [(1e-2, 5e-2), (1e-3, 1e-2), (1e-4, 1e-3), (2e-5, 1e-4)]
    print(
        f"Median ratio of a p-value to the exact one ({args.shuffles:,} shuffles), hot side "
        f"of tested cells:\n| source | exact p in | cells | product | normal tail |\n"
        f"|---|---|---|---|---|"
    )
    rng = np.random.default_rng(0)
    for name, rows in sources.items():
        points = [PlacePoint(r["id"], r["lat"], r["lon"]) for r in rows]
        cells = cell_statistics(points, params(args))
        index = {c.cell: i for i, c in enumerate(cells)}
        pairs = [
            (i, index[(c.cell[0] + dr, c.cell[1] + dc)])
            for i, c in enumerate(cells)
            for dr, dc in window
            if (c.cell[0] + dr, c.cell[1] + dc) in index
        ]
        rows_, cols_ = zip(*pairs, strict=True)
        n = len(cells)
        lag = csr_matrix((np.ones(len(pairs)), (rows_, cols_)), shape=(n, n))
        value = np.array([c.weight for c in cells])
        observed = lag @ value
        as_high = np.zeros(n)
        for _ in range(args.shuffles // 1000):
            shuffled = np.stack([rng.permutation(value) for _ in range(1000)], axis=1)
            as_high += ((lag @ shuffled) >= observed[:, None] - 1e-9).sum(axis=1)
        exact = (as_high + 1) / (args.shuffles + 1)
        z = np.array([c.z for c in cells])
        ours = np.array([c.p for c in cells])
        hot_side = np.array([c.tested for c in cells]) & (z > 0)
        for low, high in bands:
            chosen = hot_side & (exact >= low) & (exact < high)
            if chosen.any():
                print(
                    f"| {name} | {low:g}–{high:g} | {int(chosen.sum())} | "
                    f"{np.median(ours[chosen] / exact[chosen]):.2f} | "
                    f"{np.median(norm.sf(z[chosen]) / exact[chosen]):.3f} |"
                )


def oracle(args: argparse.Namespace) -> None:
    import numpy as np
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    from civicpulse.insight.hotspots import PlacePoint, cell_statistics

    rows = [r for r in load_boston() if r["late"]]
    cells = cell_statistics([PlacePoint(r["id"], r["lat"], r["lon"]) for r in rows], params(args))
    centres = np.array(
        [((c.cell[1] + 0.5) * args.cell, (c.cell[0] + 0.5) * args.cell) for c in cells]
    )
    weights = DistanceBand(
        centres, threshold=args.band * (1 + 1e-9), binary=True, silence_warnings=True
    )
    ours = np.array([c.z for c in cells])
    tested = np.array([c.tested for c in cells])
    theirs = G_Local(
        np.array([c.weight for c in cells]), weights, transform="B", star=True, permutations=0
    ).Zs
    # esda reports every cell; ours leaves cells with fewer than 8 neighbours untested (z 0)
    gap = float(np.max(np.abs(ours[tested] - theirs[tested])))
    print(
        f"{len(cells):,} study cells ({int(tested.sum()):,} tested) of {len(rows):,} Boston "
        f"points: largest |z − esda z| = {gap:.2e}"
    )
    if gap > 1e-6:
        sys.exit("the z-scores differ from esda's")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cell", type=float, default=250.0)
    parser.add_argument("--band", type=float, default=500.0)
    parser.add_argument("--fdr", type=float, default=0.05)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument(
        "--no-set-aside", action="store_true", help="Keep default positions (stack_share=None)."
    )
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--oracle", action="store_true")
    parser.add_argument("--monte-carlo", action="store_true")
    parser.add_argument("--shuffles", type=int, default=50_000)
    args = parser.parse_args()
    if args.calibration:
        calibration(args)
        return
    if not (CAMBRIDGE.exists() and BOSTON.exists()):
        sys.exit(f"real data not present under {DATA}")
    if args.oracle:
        oracle(args)
        return
    if args.monte_carlo:
        monte_carlo(args)
        return
    open_, fixed = load_cambridge()
    show("FixMyStreet Cambridge, open reports", open_, args)
    show("FixMyStreet Cambridge, all reports (open and fixed)", open_ + fixed, args)
    boston = load_boston()
    show("Boston 311, open or closed late", [r for r in boston if r["late"]], args)
    timing(boston, args)


if __name__ == "__main__":
    main()
