"""Hotspots (Getis–Ord Gi* on a grid): found where planted, absent from noise, deterministic.

The points are drawn with seeded generators in a 10 km square; a "cluster" is extra points
inside a small disc. The uniform background has no hotspot by construction, so any hotspot
found there is a false alarm, which the false-discovery rate bounds.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from civicpulse.domain.errors import ValidationFailed
from civicpulse.insight.hotspots import (
    MIN_NEIGHBOURS,
    HotspotParams,
    PlacePoint,
    benjamini_hochberg,
    cell_statistics,
    describe,
    explain,
    find_hotspots,
)

LAT0, LON0 = 52.0, 0.1
M_LAT = 111_195.0  # metres per degree of latitude
M_LON = M_LAT * math.cos(math.radians(LAT0))
CLUSTER_IDS = 100_000


def uniform(seed: int, size: int, km: float = 10.0) -> list[PlacePoint]:
    rng = np.random.default_rng(seed)
    lat = LAT0 + rng.random(size) * km * 1000 / M_LAT
    lon = LON0 + rng.random(size) * km * 1000 / M_LON
    return [
        PlacePoint(i, float(a), float(b)) for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


def disc(
    seed: int, size: int, east_m: float, north_m: float, radius_m: float, first_id: int
) -> list[PlacePoint]:
    """``size`` points spread evenly over a disc centred ``east_m``/``north_m`` from the
    square's south-west corner."""
    rng = np.random.default_rng(seed + 7_919)
    r = radius_m * np.sqrt(rng.random(size))
    angle = rng.random(size) * 2 * math.pi
    lat = LAT0 + (north_m + r * np.sin(angle)) / M_LAT
    lon = LON0 + (east_m + r * np.cos(angle)) / M_LON
    return [
        PlacePoint(first_id + i, float(a), float(b))
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


def distance_m(lat: float, lon: float, east_m: float, north_m: float) -> float:
    return math.hypot((lon - LON0) * M_LON - east_m, (lat - LAT0) * M_LAT - north_m)


# ---- found where planted --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planted_cluster_is_found_and_its_members_are_the_clusters(seed: int) -> None:
    cluster = disc(seed, 60, 6_000, 3_000, 250, CLUSTER_IDS)
    report = find_hotspots(uniform(seed, 2_000) + cluster)
    planted = {p.id for p in cluster}
    holding = [h for h in report.hotspots if set(h.member_ids) & planted]
    assert len(holding) == 1, "the cluster is one hotspot, not split, not missed"
    hotspot = holding[0]
    members = set(hotspot.member_ids)
    assert len(members & planted) >= 0.95 * len(planted)
    # the rest are the background points that happen to lie in the hot cells: about the
    # usual number for that many cells, not a district's worth
    background = len(members - planted)
    assert background <= 2 * hotspot.expected + 10
    assert hotspot.count == len(hotspot.member_ids) > hotspot.expected
    assert distance_m(hotspot.lat, hotspot.lon, 6_000, 3_000) < 250
    assert hotspot.z > 3 and hotspot.q <= 0.05 and hotspot.p <= hotspot.q
    box = hotspot.bbox
    members_at = [p for p in cluster if p.id in members]
    assert all(
        box.south <= p.lat <= box.north and box.west <= p.lon <= box.east for p in members_at
    )
    # no other hotspot is anywhere near the planted one
    for other in report.hotspots:
        if other is not hotspot:
            assert distance_m(other.lat, other.lon, 6_000, 3_000) > 1_000


def test_a_planted_cluster_in_sparse_reports_is_found() -> None:
    """A city where unresolved reports are few: 300 in 100 km², 25 of them on one block."""
    cluster = disc(5, 25, 3_000, 7_000, 200, CLUSTER_IDS)
    report = find_hotspots(uniform(5, 300) + cluster)
    assert report.hotspots, "25 reports within 200 m among 0.03 per cell is beyond chance"
    top = report.hotspots[0]
    assert {p.id for p in cluster} <= set(top.member_ids)
    assert top.count - 25 <= 5


def test_weights_replace_counts() -> None:
    """A cluster of points that weigh nothing is no hotspot; the same points weighing one
    each are."""
    background = uniform(4, 2_000)
    cluster = disc(4, 60, 6_000, 3_000, 250, CLUSTER_IDS)
    weightless = [PlacePoint(p.id, p.lat, p.lon, 0.0) for p in cluster]
    assert not any(
        set(h.member_ids) & {p.id for p in cluster}
        for h in find_hotspots(background + weightless).hotspots
    )
    weighed = find_hotspots(background + cluster)
    assert any(set(h.member_ids) >= {p.id for p in cluster} for h in weighed.hotspots)
    doubled = [PlacePoint(p.id, p.lat, p.lon, 2.0) for p in cluster]
    top = find_hotspots(background + doubled).hotspots[0]
    assert top.weight == pytest.approx(top.count + 60)  # 60 points counted twice


# ---- absent from noise ----------------------------------------------------------------------


def test_uniform_points_give_no_hotspot_beyond_what_the_fdr_allows() -> None:
    """At a 5 % false-discovery rate, a run on pure noise shows a hot cell at most about one
    time in twenty; at three densities and five seeds each, at most one run may."""
    runs_with_hotspots = 0
    for size in (300, 2_000, 10_000):
        for seed in range(5):
            report = find_hotspots(uniform(seed, size), HotspotParams(min_count=1))
            runs_with_hotspots += bool(report.hotspots)
            assert report.tested_cells > 0.5 * report.study_cells
    assert runs_with_hotspots <= 1


def test_skew_corrected_p_values_match_shuffling() -> None:
    """The p-value Gi* assumes is "values shuffled over the study cells"; estimate it by
    shuffling and compare with the product's closed form. Sparse counts (about one per cell)
    are its hardest case: here its median ratio to the shuffled p is 0.73, where the normal
    tail's would be about 0.1."""
    points = uniform(8, 1_500) + disc(8, 40, 5_000, 5_000, 300, CLUSTER_IDS)
    params = HotspotParams()
    cells = cell_statistics(points, params)
    where = {c.cell: i for i, c in enumerate(cells)}
    value = np.array([c.weight for c in cells])
    window = [(dr, dc) for dr in range(-2, 3) for dc in range(-2, 3) if dr * dr + dc * dc <= 4]
    neighbours = [
        [where[(r + dr, c + dc)] for dr, dc in window if (r + dr, c + dc) in where]
        for r, c in (cell.cell for cell in cells)
    ]
    chosen = [i for i, c in enumerate(cells) if c.tested and 1e-3 <= c.p <= 2e-2 and c.z > 0][:12]
    assert len(chosen) >= 4
    rng = np.random.default_rng(0)
    shuffles = 20_000
    as_high = np.zeros(len(chosen))
    for _ in range(shuffles // 1_000):
        shuffled = np.stack([rng.permutation(value) for _ in range(1_000)])
        for k, i in enumerate(chosen):
            observed = value[neighbours[i]].sum()
            as_high[k] += (shuffled[:, neighbours[i]].sum(axis=1) >= observed - 1e-9).sum()
    exact = (as_high + 1) / (shuffles + 1)
    ratios = np.array([cells[i].p for i in chosen]) / exact
    assert 0.6 <= float(np.median(ratios)) <= 1.6
    assert np.all((ratios > 0.33) & (ratios < 3.0))


# ---- the parts ------------------------------------------------------------------------------


def test_far_apart_clusters_are_separate_hotspots() -> None:
    first = disc(6, 50, 2_000, 2_000, 200, CLUSTER_IDS)
    second = disc(7, 50, 8_000, 8_000, 200, 2 * CLUSTER_IDS)
    report = find_hotspots(uniform(6, 2_000) + first + second)
    owners = []
    for cluster in (first, second):
        ids = {p.id for p in cluster}
        holding = [h for h in report.hotspots if set(h.member_ids) & ids]
        assert len(holding) == 1
        assert ids <= set(holding[0].member_ids)
        owners.append(holding[0])
    one, two = owners
    assert one.key != two.key
    assert not set(one.cells) & set(two.cells)
    assert not set(one.member_ids) & set(two.member_ids)


def test_hot_cells_that_touch_are_one_hotspot() -> None:
    """A cluster 1 km long covers several cells; they merge into one hotspot whose cells are
    all connected and whose box covers them."""
    line = [
        p for k in range(5) for p in disc(k, 16, 4_000 + 250 * k, 4_000, 120, CLUSTER_IDS + 100 * k)
    ]
    report = find_hotspots(uniform(9, 2_000) + line)
    holding = [h for h in report.hotspots if set(h.member_ids) & {p.id for p in line}]
    assert len(holding) == 1
    cells = set(holding[0].cells)
    assert len(cells) >= 4
    seen, todo = set(), [next(iter(cells))]
    while todo:
        r, c = todo.pop()
        if (r, c) in seen:
            continue
        seen.add((r, c))
        todo += [
            (r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (r + dr, c + dc) in cells
        ]
    assert seen == cells
    for cell in cells:
        box = report.cell_box(cell)
        assert holding[0].bbox.south <= box.south and box.north <= holding[0].bbox.north
        assert (box.north - box.south) * M_LAT == pytest.approx(250, rel=1e-6)
        assert (box.east - box.west) * M_LON == pytest.approx(250, rel=1e-2)


def test_gi_star_is_the_textbook_formula() -> None:
    """z_i = (Σ_j w_ij x_j − x̄ W_i) / (s √((n W_i − W_i²)/(n − 1))) with binary weights by
    centre distance, recomputed by brute force over the study cells."""
    points = uniform(3, 800, km=4.0) + disc(3, 30, 2_000, 2_000, 200, CLUSTER_IDS)
    params = HotspotParams(cell_m=200, band_m=450)
    cells = cell_statistics(points, params)
    x = np.array([c.weight for c in cells])
    n, mean, s = len(x), x.mean(), x.std()
    assert sum(c.count for c in cells) == len(points)
    for c in cells[::7]:
        near = [
            j
            for j, d in enumerate(cells)
            if math.hypot(d.cell[0] - c.cell[0], d.cell[1] - c.cell[1]) * 200 <= 450
        ]
        w = len(near)
        assert c.neighbours == w
        if not c.tested:
            assert w < MIN_NEIGHBOURS and c.p == 1.0
            continue
        z = (x[near].sum() - mean * w) / (s * math.sqrt((n * w - w * w) / (n - 1)))
        assert c.z == pytest.approx(z, rel=1e-9, abs=1e-9)


def test_benjamini_hochberg_by_hand() -> None:
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.2]))
    assert q == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    assert len(benjamini_hochberg(np.array([]))) == 0


def test_a_default_position_is_set_aside_and_listed() -> None:
    """Boston puts 8 % of its requests on City Hall Plaza: not a place, a missing address."""
    background = uniform(2, 2_000) + disc(2, 60, 6_000, 3_000, 250, CLUSTER_IDS)
    stack = [PlacePoint(500_000 + i, LAT0 + 0.03, LON0 + 0.05) for i in range(300)]
    report = find_hotspots(background + stack)
    assert len(report.set_aside) == 1
    assert report.set_aside[0].member_ids == tuple(p.id for p in stack)
    assert report.points == len(background)
    assert not any(set(h.member_ids) & {p.id for p in stack} for h in report.hotspots)
    assert report.hotspots, "the planted cluster still shows"
    kept = find_hotspots(background + stack, HotspotParams(stack_share=None))
    assert kept.set_aside == () and kept.points == len(background) + 300
    # a busy address that is not a share of the city stays in: 40 reports are a place
    small = find_hotspots(background + stack[:40])
    assert small.set_aside == () and small.points == len(background) + 40


# ---- deterministic and stable ---------------------------------------------------------------


def test_the_same_points_in_any_order_give_the_same_report() -> None:
    points = uniform(11, 3_000) + disc(11, 50, 7_000, 7_000, 250, CLUSTER_IDS)
    first = find_hotspots(points)
    shuffled = list(points)
    random.Random(4).shuffle(shuffled)
    second = find_hotspots(shuffled)
    assert first == second
    assert first.hotspots and first.hotspots[0].key.startswith("hs-")
    assert find_hotspots(points) == first


def test_keys_come_from_the_cells_not_from_the_run() -> None:
    """A hotspot over the same cells keeps its key when the rest of the city changes, so a
    page can follow it from day to day."""
    cluster = disc(12, 60, 5_000, 5_000, 150, CLUSTER_IDS)
    today = find_hotspots(uniform(12, 2_000) + cluster)
    tomorrow = find_hotspots(uniform(13, 2_000) + cluster)
    ids = {p.id for p in cluster}
    (a,) = [h for h in today.hotspots if set(h.member_ids) & ids]
    (b,) = [h for h in tomorrow.hotspots if set(h.member_ids) & ids]
    assert (a.key == b.key) == (a.cells == b.cells)
    assert set(a.cells) & set(b.cells), "the same place"
    assert today.reference_lat == tomorrow.reference_lat == 52.0


def test_points_across_the_antimeridian_form_one_hotspot() -> None:
    rng = np.random.default_rng(3)
    lat0 = -16.8  # Fiji's Taveuni sits on 180°
    near_180 = [
        PlacePoint(i, float(lat0 + a), float(((180 + b) + 180) % 360 - 180))
        for i, (a, b) in enumerate(
            zip(rng.uniform(-0.04, 0.04, 1_500), rng.uniform(-0.04, 0.04, 1_500), strict=True)
        )
    ]
    cluster = [
        PlacePoint(CLUSTER_IDS + i, float(lat0 + a), float(((180 + b) + 180) % 360 - 180))
        for i, (a, b) in enumerate(
            zip(rng.normal(0, 0.001, 60), rng.normal(0, 0.001, 60), strict=True)
        )
    ]
    assert any(p.lon < 0 for p in cluster) and any(p.lon > 0 for p in cluster)
    report = find_hotspots(near_180 + cluster)
    holding = [h for h in report.hotspots if set(h.member_ids) & {p.id for p in cluster}]
    assert len(holding) == 1
    assert {p.id for p in cluster} <= set(holding[0].member_ids)
    assert abs(abs(holding[0].lon) - 180) < 0.01


def test_no_points_and_too_few_points() -> None:
    empty = find_hotspots([])
    assert empty.hotspots == () and empty.study_cells == 0 and empty.points == 0
    alone = find_hotspots([PlacePoint(1, LAT0, LON0)])
    assert alone.hotspots == () and alone.tested_cells == 0
    same = find_hotspots([PlacePoint(i, LAT0, LON0) for i in range(10)])
    assert same.hotspots == ()


# ---- what pages show, what is refused -------------------------------------------------------


def test_the_method_is_stated_with_its_parameters() -> None:
    assert describe(HotspotParams()) == (
        "Getis–Ord Gi* on 250 m cells, neighbours within 500 m, FDR 5 %"
    )
    report = find_hotspots(uniform(1, 100), HotspotParams(cell_m=100, band_m=300, fdr=0.1))
    assert report.method == "Getis–Ord Gi* on 100 m cells, neighbours within 300 m, FDR 10 %"
    text = explain(HotspotParams(min_count=7))
    assert "250 m" in text and "500 m" in text and "5 %" in text and "fewer than 7" in text


@pytest.mark.parametrize(
    "params",
    [
        HotspotParams(cell_m=5),
        HotspotParams(cell_m=250, band_m=300),  # less than 1.5 cells: no window reaches 8
        HotspotParams(fdr=0.0),
        HotspotParams(fdr=1.5),
        HotspotParams(min_count=0),
        HotspotParams(reference_lat=85),
        HotspotParams(stack_share=0.0),
    ],
)
def test_bad_parameters_are_refused(params: HotspotParams) -> None:
    with pytest.raises(ValidationFailed):
        find_hotspots(uniform(1, 10), params)


@pytest.mark.parametrize(
    "point",
    [
        PlacePoint(1, 91.0, 0.0),
        PlacePoint(1, 0.0, 181.0),
        PlacePoint(1, 0.0, 0.0, -1.0),
        PlacePoint(1, 0.0, 0.0, float("nan")),
    ],
)
def test_bad_points_are_refused(point: PlacePoint) -> None:
    with pytest.raises(ValidationFailed):
        find_hotspots([*uniform(1, 10), point])
