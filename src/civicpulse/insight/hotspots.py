"""Hotspots: places where unresolved problems cluster beyond what chance would put there.

The statistic is Getis–Ord Gi*, the one ArcGIS's *Optimized Hot Spot Analysis* and PySAL's
``esda.G_Local(star=True)`` compute for incident points. It was chosen over density
clustering (HDBSCAN, in scikit-learn) because it says *how sure* we are that a place stands
out, not only where points are dense, and because each step has a reason a page can state:

1. **Cells.** Points are counted in square cells of ``cell_m`` metres; a weight per point
   (e.g. the distinct residents behind a case) can replace the count.
2. **Study area: where reports could have been made.** Every occupied cell, plus the empty
   cells that reports surround within ``band_m`` (a morphological closing of the occupied
   cells by the neighbour window). A park inside a district counts as a place where nothing
   was reported; the sea beyond the coast and the ring around the city do not. Measured
   while choosing (5,000 uniform random points in a 10 km square, 40 seeds, normal tail):
   with a plain ``band_m`` margin around the reports, 26 runs showed hot cells, because the
   margin's empty cells pull the mean down and the whole interior looks hot; with the
   closing, 7. ArcGIS without a bounding polygon keeps only the occupied cells, which makes
   a district of single reports *cold* against a few stacked addresses: the wrong answer
   for a city map.
3. **Gi\\*.** For each study cell, the sum of the values of the study cells within
   ``band_m`` (itself included, binary weights) against what the study-area mean and
   variance give for that many cells when values are shuffled over the study area
   (Getis & Ord 1992; Ord & Getis 1995). One-sided: we look for hot places only. Cells with
   fewer than ``MIN_NEIGHBOURS`` study cells in their window are not tested, the advice of
   Getis and Ord (an isolated report would otherwise be compared with itself).
4. **p-values with the skew of counts.** Report counts are skewed (most cells hold 0 or 1),
   so the normal tail that ArcGIS and ``esda``'s ``p_norm`` use is too thin: 1,000 uniform
   random points in a 10 km square gave hot cells in 13 of 40 seeded runs. The p-value is
   instead the tail of a Pearson type III curve with the exact mean, variance and skewness
   of the window sum under the same shuffling (the third moment of a sample drawn without
   replacement), as Mielke's permutation tests do, with half a count of continuity
   correction when the values are whole numbers: 0–2 of 40 at every density from 50 to
   20,000 points, what a 5 % false-discovery rate allows (``bench_hotspots.py
   --calibration``). On the real Boston and Cambridge cells its median ratio to the exact
   p-value (50,000 shuffles) is 0.94–1.24 down to 1e-4, where the normal tail's is
   0.002–0.03 (``--monte-carlo``). The reported z is the textbook one. The price of exact
   shuffling: a single cell with a stack of reports is not a hotspot unless its neighbours
   are raised too. That is the intended reading, since many voices about one problem at one
   address are one *case*, ranked by how many people raise it; a hotspot is a street or a
   block where different problems gather. Choose a smaller ``cell_m`` for a finer scale.
5. **False discoveries.** One test per cell means thousands of tests; at p < 0.05 a city of
   5,000 cells would show 250 hot cells from noise alone. Benjamini–Hochberg keeps the
   expected share of false alarms among the hot cells at ``fdr``. Neighbouring Gi* values
   are positively correlated (their windows overlap), the case in which BH stays valid
   (Benjamini & Yekutieli 2001); ArcGIS applies FDR for the same reason.
6. **Hotspots.** Hot cells that touch (edge or corner) are merged into one hotspot; one with
   fewer than ``min_count`` points is dropped: three reports are not a place to send a crew.

Before all this, an exact position holding at least ``stack_share`` of the points (and at
least ``STACK_MIN_POINTS`` of them) is set aside and listed in the report: it is a
geocoder's default, not a place. Boston's 311 data puts 4,033 of 49,914 requests on one
point of City Hall Plaza; left in, that one cell's variance and skew made every other place
in the city insignificant (0 hotspots instead of 11, ``bench/bench_hotspots.py``). The ids
are returned so that the cases can be sent back for a real location.

Why not ``esda`` itself: esda 2.9 requires geopandas, pandas, shapely and libpysal (with
pyproj and GDAL wheels under them) for one formula on a grid; numpy and scipy, already
pinned, compute it in less time than it takes to read the points. The z-scores agree with
``esda.G_Local(star=True, transform="B")`` on the same cells to 1e-14 (checked in a throwaway
environment; ``bench/bench_hotspots.py --oracle``).

The projection is equirectangular at a reference latitude (the points' mean, rounded to a
whole degree unless given): across a city, tens of kilometres, its distances are within
about 1 % of the true ones, far below a cell, and it needs no projection library. The grid is
anchored at 0°N 0°E, so with the same reference latitude the same street falls into the
same cell in every run, and a hotspot's key (a hash of its cells) stays the same from one
day to the next while the place stays hot.

Pure: no database, no web, nothing built at import time. Deterministic: points are put in
a canonical order first, so their order in the input changes nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from civicpulse.domain.errors import ValidationFailed

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
MIN_NEIGHBOURS = 8  # study cells a window needs for its cell to be tested (Getis & Ord)
STACK_MIN_POINTS = 50  # a default position is set aside only from this many points on
_BIAS = 1 << 30  # keeps (row, col) non-negative inside one int64 key
_SHIFT = 1 << 32
_TOUCHING = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))

Cell = tuple[int, int]  # (row, col) on the global grid of the analysis's cell size


@dataclass(frozen=True)
class PlacePoint:
    """One unresolved voice or case where it was reported; ``weight`` replaces the count
    (e.g. the number of distinct residents behind a case)."""

    id: int
    lat: float
    lon: float
    weight: float = 1.0


@dataclass(frozen=True)
class HotspotParams:
    """The analysis scale and how sure a hotspot must be.

    ``band_m`` of twice ``cell_m`` gives 13 cells per window, enough for the skew-corrected
    tail to hold, and a window of a few blocks. A dense centre still merges into one
    district-sized hotspot at 250/500 m (central Cambridge: 138 cells); 125/250 m splits it
    (bench/README.md, "Hotspots"). ``band_m`` must be at least 1.5 cells, else no window
    reaches ``MIN_NEIGHBOURS``."""

    cell_m: float = 250.0
    band_m: float = 500.0
    fdr: float = 0.05
    min_count: int = 5
    reference_lat: float | None = None  # None: the points' mean latitude, whole degrees
    stack_share: float | None = 0.02  # None: never set a position aside


@dataclass(frozen=True)
class Box:
    """A latitude/longitude rectangle, as maps want it."""

    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True)
class Hotspot:
    """Touching hot cells and the points in them.

    ``weight`` is the sum of the members' weights (``count`` when every weight is 1) and
    ``expected`` is what the study-area mean per cell gives for that many cells, the figure
    to show beside it ("41 reports where 6 would be usual"). ``z``, ``p`` and ``q`` (the
    Benjamini–Hochberg adjusted p-value) are those of the hotspot's strongest cell."""

    key: str
    lat: float  # centre: the members' weighted mean position
    lon: float
    bbox: Box  # the outer edges of its cells
    member_ids: tuple[int, ...]
    count: int
    weight: float
    expected: float
    z: float
    p: float
    q: float
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class CellStat:
    """One study cell, for a map layer; ``tested`` is False when its window has fewer than
    ``MIN_NEIGHBOURS`` study cells (then z = 0 and p = q = 1)."""

    cell: Cell
    count: int
    weight: float
    neighbours: int
    z: float
    p: float
    q: float
    tested: bool
    hot: bool


@dataclass(frozen=True)
class SetAside:
    """An exact position holding so many of the points that it must be a default position."""

    lat: float
    lon: float
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class HotspotReport:
    """Hotspots strongest first (by z, then key), with what a page needs to say how."""

    hotspots: tuple[Hotspot, ...]
    params: HotspotParams
    reference_lat: float
    points: int  # analysed, after the set-aside positions
    set_aside: tuple[SetAside, ...]
    study_cells: int
    tested_cells: int
    hot_cells: int
    mean_per_cell: float  # the study-area mean weight per cell: the "usual" level
    method: str  # one line: "Getis–Ord Gi* on 250 m cells, neighbours within 500 m, FDR 5 %"
    explanation: str  # a paragraph for residents

    def cell_box(self, cell: Cell) -> Box:
        """The rectangle of one cell, to draw it."""
        return cell_box(cell, self.params.cell_m, self.reference_lat)


def describe(params: HotspotParams) -> str:
    """The method and its parameters in one line, for a map legend or a table caption."""
    return (
        f"Getis–Ord Gi* on {params.cell_m:g} m cells, neighbours within {params.band_m:g} m, "
        f"FDR {params.fdr * 100:g} %"
    )


def explain(params: HotspotParams) -> str:
    """What a hotspot means, in words a resident can check against the map."""
    return (
        f"Reports are counted in squares of {params.cell_m:g} m. A square is hot when the "
        f"reports within {params.band_m:g} m of it are more than chance would put there, "
        f"compared with the whole area that reports cover (Getis–Ord Gi*). Among the squares "
        f"shown as hot, at most {params.fdr * 100:g} % are expected to be false alarms "
        f"(Benjamini–Hochberg). Touching hot squares form one hotspot; hotspots with fewer "
        f"than {params.min_count} reports are not shown."
    )


def cell_box(cell: Cell, cell_m: float, reference_lat: float) -> Box:
    """The latitude/longitude rectangle of a cell of the grid at this scale."""
    ky, kx = _scales(reference_lat)
    row, col = cell
    west = col * cell_m / kx
    east = (col + 1) * cell_m / kx
    if west >= 180.0:  # the grid was counted east from 0° across the antimeridian
        west, east = west - 360.0, east - 360.0
    return Box(row * cell_m / ky, west, (row + 1) * cell_m / ky, east)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Adjusted p-values (q): a test is a discovery at false-discovery rate a when q ≤ a."""
    m = len(p)
    if m == 0:
        return np.asarray(p, dtype=np.float64).copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return q


def find_hotspots(
    points: Sequence[PlacePoint], params: HotspotParams | None = None
) -> HotspotReport:
    """Hotspots of the given points; see the module's docstring for the method and why."""
    grid = _analyse(points, params or HotspotParams())
    return HotspotReport(
        hotspots=_merge(grid),
        params=grid.params,
        reference_lat=grid.reference_lat,
        points=len(grid.ids),
        set_aside=grid.set_aside,
        study_cells=len(grid.study),
        tested_cells=int(grid.tested.sum()),
        hot_cells=int(grid.hot.sum()),
        mean_per_cell=grid.mean,
        method=describe(grid.params),
        explanation=explain(grid.params),
    )


def cell_statistics(
    points: Sequence[PlacePoint], params: HotspotParams | None = None
) -> tuple[CellStat, ...]:
    """Every study cell with its Gi* figures, in cell order: the layer behind the hotspots."""
    grid = _analyse(points, params or HotspotParams())
    rows, cols = _unkey(grid.study)
    return tuple(
        CellStat((r, c), n, w, k, z, p, q, t, h)
        for r, c, n, w, k, z, p, q, t, h in zip(
            rows.tolist(),
            cols.tolist(),
            grid.count.tolist(),
            grid.value.tolist(),
            grid.neighbours.astype(int).tolist(),
            grid.z.tolist(),
            grid.p.tolist(),
            grid.q.tolist(),
            grid.tested.tolist(),
            grid.hot.tolist(),
            strict=True,
        )
    )


# ---- the computation ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """The points in canonical order and the per-study-cell arrays (study keys sorted)."""

    params: HotspotParams
    reference_lat: float
    set_aside: tuple[SetAside, ...]
    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray  # counted east from 0° when the points straddle the antimeridian
    weight: np.ndarray
    point_study: np.ndarray  # each point's index into ``study``
    study: np.ndarray  # cell keys
    count: np.ndarray
    value: np.ndarray
    neighbours: np.ndarray
    mean: float
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    tested: np.ndarray
    hot: np.ndarray


def _check(params: HotspotParams) -> None:
    if not 10.0 <= params.cell_m <= 100_000.0:
        raise ValidationFailed("cell size must be between 10 m and 100 km")
    if not 1.5 * params.cell_m <= params.band_m <= 50 * params.cell_m:
        raise ValidationFailed("the neighbour band must be between 1.5 and 50 cell sizes")
    if not 0.0 < params.fdr < 1.0:
        raise ValidationFailed("the false-discovery rate must be between 0 and 1")
    if params.min_count < 1:
        raise ValidationFailed("the minimum count must be at least 1")
    if params.reference_lat is not None and not -80.0 <= params.reference_lat <= 80.0:
        raise ValidationFailed("the reference latitude must be between -80° and 80°")
    if params.stack_share is not None and not 0.0 < params.stack_share <= 1.0:
        raise ValidationFailed("the share of a default position must be between 0 and 1")


def _scales(reference_lat: float) -> tuple[float, float]:
    """Metres per degree of latitude and of longitude at the reference latitude."""
    per_degree = EARTH_RADIUS_M * math.pi / 180.0
    return per_degree, per_degree * math.cos(math.radians(reference_lat))


def _window(cell_m: float, band_m: float) -> np.ndarray:
    """Key shifts of the cells whose centres are within the band, itself included.

    Integer arithmetic on the offsets, so a cell exactly at the band's distance (500 m from
    a 250 m cell's centre) is in or out the same way on every machine."""
    reach = int(band_m // cell_m)
    limit = (band_m / cell_m) ** 2 * (1.0 + 1e-9)
    return np.asarray(
        [
            dr * _SHIFT + dc
            for dr in range(-reach, reach + 1)
            for dc in range(-reach, reach + 1)
            if dr * dr + dc * dc <= limit
        ],
        dtype=np.int64,
    )


def _keys(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return (rows + _BIAS) * _SHIFT + (cols + _BIAS)


def _unkey(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return keys // _SHIFT - _BIAS, keys % _SHIFT - _BIAS


def _lookup(sorted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each wanted key in ``sorted_keys``, or -1."""
    if len(sorted_keys) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return np.where(sorted_keys[at] == wanted, at, -1)


def _set_aside_stacks(
    ids: np.ndarray, lat: np.ndarray, lon: np.ndarray, share: float
) -> tuple[np.ndarray, tuple[SetAside, ...]]:
    """Which points to keep, and the positions set aside (points in canonical order)."""
    starts = np.flatnonzero(np.r_[True, (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])])
    sizes = np.diff(np.r_[starts, len(lat)])
    big = np.flatnonzero((sizes >= STACK_MIN_POINTS) & (sizes >= share * len(lat)))
    keep = np.ones(len(lat), dtype=bool)
    stacks = []
    for at in big:
        run = slice(starts[at], starts[at] + sizes[at])
        keep[run] = False
        stacks.append(
            SetAside(
                float(lat[starts[at]]), float(lon[starts[at]]), tuple(sorted(ids[run].tolist()))
            )
        )
    return keep, tuple(stacks)


def _analyse(points: Sequence[PlacePoint], params: HotspotParams) -> _Grid:
    _check(params)
    size = len(points)
    ids = np.fromiter((p.id for p in points), dtype=np.int64, count=size)
    lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=size)
    lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=size)
    weight = np.fromiter((p.weight for p in points), dtype=np.float64, count=size)
    if not (np.all(np.abs(lat) <= 90.0) and np.all(np.abs(lon) <= 180.0)):
        raise ValidationFailed("location must have -90 ≤ lat ≤ 90 and -180 ≤ lon ≤ 180")
    if not np.all(np.isfinite(weight) & (weight >= 0.0)):
        raise ValidationFailed("a point's weight must be a finite number ≥ 0")
    order = np.lexsort((weight, ids, lon, lat))  # canonical: input order changes nothing
    ids, lat, lon, weight = ids[order], lat[order], lon[order], weight[order]
    set_aside: tuple[SetAside, ...] = ()
    if params.stack_share is not None and size:
        keep, set_aside = _set_aside_stacks(ids, lat, lon, params.stack_share)
        ids, lat, lon, weight = ids[keep], lat[keep], lon[keep], weight[keep]
        size = len(ids)
    if params.reference_lat is not None:
        reference_lat = float(params.reference_lat)
    else:
        reference_lat = float(np.clip(np.round(lat.mean()), -80.0, 80.0)) if size else 0.0

    # cells: equirectangular metres at the reference latitude, counted from 0°N 0°E
    ky, kx = _scales(reference_lat)
    if size and lon.max() - lon.min() > 180.0:
        # the points straddle the antimeridian (Fiji, Chukotka): count east from 0° instead
        lon_east = np.where(lon < 0.0, lon + 360.0, lon)
    else:
        lon_east = lon
    rows = np.floor(lat * ky / params.cell_m).astype(np.int64)
    cols = np.floor(lon_east * kx / params.cell_m).astype(np.int64)
    occupied, point_cell = np.unique(_keys(rows, cols), return_inverse=True)

    # the study area: the closing of the occupied cells by the window
    window = _window(params.cell_m, params.band_m)
    reach = np.unique((occupied[:, None] + window[None, :]).ravel())
    enclosed = np.ones(len(reach), dtype=bool)
    for shift in window:
        enclosed &= _lookup(reach, reach + shift) >= 0
    study = reach[enclosed]  # holds every occupied cell: its whole window is in ``reach``
    n = len(study)
    point_study = _lookup(study, occupied)[point_cell]
    value = np.bincount(point_study, weights=weight, minlength=n)
    count = np.bincount(point_study, minlength=n)

    # Gi*: window sums Σ_j w_ij x_j and W_i = Σ_j w_ij (binary weights, self included)
    lag = np.zeros(n)
    neighbours = np.zeros(n)
    for shift in window:
        at = _lookup(study, study + shift)
        inside = at >= 0
        lag[inside] += value[at[inside]]
        neighbours += inside
    mean = float(value.sum() / n) if n else 0.0
    spread = float(np.std(value)) if n else 0.0  # of the population: divisor n, as Gi* has
    z = np.zeros(n)
    p = np.ones(n)
    q = np.ones(n)
    tested = np.zeros(n, dtype=bool)
    if n > 2 and spread > 1e-12 * max(mean, 1.0):  # else every cell alike: nothing stands out
        w = neighbours
        sd = spread * np.sqrt(np.maximum(n * w - w * w, 0.0) / (n - 1))
        tested = (sd > 0.0) & (w >= MIN_NEIGHBOURS)
        w, sd = w[tested], sd[tested]
        z[tested] = (lag[tested] - mean * w) / sd
        # skewness of a sum of W values drawn without replacement from the n study cells
        third = float(((value - mean) ** 3).mean())
        skew = w * (n - w) * (n - 2 * w) / ((n - 1) * (n - 2)) * third / sd**3
        # counts move in steps of one: the tail from half a step below (continuity correction)
        half_step = 0.5 if np.all(value == np.round(value)) else 0.0
        from scipy.stats import pearson3  # a second to import: paid by the statistic only

        p[tested] = pearson3.sf((lag[tested] - half_step - mean * w) / sd, skew)
        q[tested] = benjamini_hochberg(p[tested])
    hot = tested & (q <= params.fdr) & (z > 0.0)
    return _Grid(
        params=params,
        reference_lat=reference_lat,
        set_aside=set_aside,
        ids=ids,
        lat=lat,
        lon=lon_east,
        weight=weight,
        point_study=point_study,
        study=study,
        count=count,
        value=value,
        neighbours=neighbours,
        mean=mean,
        z=z,
        p=p,
        q=q,
        tested=tested,
        hot=hot,
    )


def _merge(grid: _Grid) -> tuple[Hotspot, ...]:
    """Touching hot cells → one hotspot (connected components of the 8-neighbour graph)."""
    hot = np.flatnonzero(grid.hot)
    if len(hot) == 0:
        return ()
    hot_keys = grid.study[hot]
    sources, targets = [], []
    for dr, dc in _TOUCHING:
        at = _lookup(hot_keys, hot_keys + dr * _SHIFT + dc)
        found = np.flatnonzero(at >= 0)
        sources.append(found)
        targets.append(at[found])
    src, dst = np.concatenate(sources), np.concatenate(targets)
    from scipy.sparse import coo_matrix  # imported here, as scipy.stats above
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(len(hot), len(hot)))
    _, component = connected_components(graph, directed=False)

    # the points of each study cell, in canonical order
    by_cell = np.argsort(grid.point_study, kind="stable")
    starts = np.searchsorted(grid.point_study[by_cell], np.arange(len(grid.study) + 1))
    cell_m, reference_lat = grid.params.cell_m, grid.reference_lat
    hotspots = []
    for label in range(int(component.max()) + 1):
        part = hot[component == label]  # indices into study, ascending
        total = int(grid.count[part].sum())
        if total < grid.params.min_count:
            continue
        members = np.concatenate([by_cell[starts[c] : starts[c + 1]] for c in part])
        member_weight = grid.weight[members]
        weight_sum = float(member_weight.sum())
        share = member_weight if weight_sum > 0.0 else None
        rows, cols = _unkey(grid.study[part])
        cells = tuple(zip(rows.tolist(), cols.tolist(), strict=True))  # sorted: keys are
        south_west = cell_box((int(rows.min()), int(cols.min())), cell_m, reference_lat)
        north_east = cell_box((int(rows.max()), int(cols.max())), cell_m, reference_lat)
        peak = part[np.argmax(grid.z[part])]  # first of equals: the smallest key
        hotspots.append(
            Hotspot(
                key=_hotspot_key(cells, cell_m, reference_lat),
                lat=round(float(np.average(grid.lat[members], weights=share)), 6),
                lon=round(_wrap(float(np.average(grid.lon[members], weights=share))), 6),
                bbox=Box(south_west.south, south_west.west, north_east.north, north_east.east),
                member_ids=tuple(sorted(grid.ids[members].tolist())),
                count=total,
                weight=weight_sum,
                expected=grid.mean * len(cells),
                z=float(grid.z[peak]),
                p=float(grid.p[peak]),
                q=float(grid.q[peak]),
                cells=cells,
            )
        )
    hotspots.sort(key=lambda h: (-h.z, h.key))
    return tuple(hotspots)


def _wrap(lon: float) -> float:
    return lon - 360.0 if lon >= 180.0 else lon


def _hotspot_key(cells: tuple[Cell, ...], cell_m: float, reference_lat: float) -> str:
    """The same cells at the same scale give the same key, run after run."""
    text = f"{cell_m:g}|{reference_lat:g}|" + ";".join(f"{r},{c}" for r, c in cells)
    return "hs-" + hashlib.sha256(text.encode()).hexdigest()[:12]
