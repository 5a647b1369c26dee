"""The same problem at the same place, coming back: pairs of an earlier moment of one case (a
resolution, a rejection) and a case that came in after it, judged by same-problem matching.

The verdict is ``understanding.matching.judge``, the rule intake merges by, with its window
set to the audit's (``repeat_window``) and the earlier case's moment put at its resolution
or rejection: so "the same problem" means here what it means everywhere else in the city.
What is new here is only how candidates are found over a whole period at once, in arrays
rather than one lookup per case: the blocks are intake's (a located case meets the cases
of its own and the eight neighbouring grid cells of ``radius_m``; a case without a place
meets those sharing a band of its signature), in time buckets of the window, and in the
same category; only pairs that could still reach the threshold are judged one by one. A
located case and one without a place are not compared (intake's own limit: a voice without
a place does not find a located case).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from civicpulse.insight.formalism_patterns import (
    Evidence,
    Flag,
    FlagKind,
    case_subject,
)
from civicpulse.understanding.matching import Judgement, MatchParams, Probe, judge

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

_EARTH_M_PER_DEG = 111_320.0
_EMPTY = np.uint32(0xFFFFFFFF)
_PRIME = np.uint64(0x100000001B3)
_SEED = np.uint64(0xCBF29CE484222325)
#: arrivals whose block keys are looked up at once (bounds the memory of a city's year)
_CHUNK = 100_000


@dataclass
class Spots:
    """Cases at moments, as columns: the case, the voice whose words and place stand for
    it, when (seconds since the epoch), where (NaN: no place) and its category (-1: none)."""

    case_id: I64
    voice_id: I64
    t: F64
    lat: F64
    lon: F64
    category: I64

    @classmethod
    def of(cls, rows: Sequence[tuple[int, int, float, float | None, float | None, int | None]]
           ) -> Spots:
        n = len(rows)
        case_id = np.fromiter((r[0] for r in rows), np.int64, n)
        voice_id = np.fromiter((r[1] for r in rows), np.int64, n)
        t = np.fromiter((r[2] for r in rows), np.float64, n)
        lat = np.fromiter((math.nan if r[3] is None else r[3] for r in rows), np.float64, n)
        lon = np.fromiter((math.nan if r[4] is None else r[4] for r in rows), np.float64, n)
        category = np.fromiter((-1 if r[5] is None else r[5] for r in rows), np.int64, n)
        return cls(case_id, voice_id, t, lat, lon, category)

    def __len__(self) -> int:
        return len(self.case_id)

    @property
    def located(self) -> npt.NDArray[np.bool_]:
        return ~(np.isnan(self.lat) | np.isnan(self.lon))

    def take(self, rows: I64) -> Spots:
        return Spots(self.case_id[rows], self.voice_id[rows], self.t[rows], self.lat[rows],
                     self.lon[rows], self.category[rows])

    def first_voice_per_case(self) -> Spots:
        """Each case once, by the earliest of its voices (the one it was opened with)."""
        if not len(self):
            return self
        order = np.lexsort((self.voice_id, self.case_id))
        cases = self.case_id[order]
        first = np.concatenate([[True], cases[1:] != cases[:-1]])
        return self.take(order[first])


def at_moments(case_ids: I64, times: F64, voices: Spots) -> tuple[Spots, I64]:
    """One row per (moment, voice of its case): the case's words and place at the moment
    (a resolution, a rejection); and for each row, the moment it stands for."""
    vi, mi = _join(voices.case_id.astype(np.uint64), np.arange(len(voices), dtype=np.int64),
                   case_ids.astype(np.uint64), np.arange(len(case_ids), dtype=np.int64))
    spots = Spots(case_ids[mi], voices.voice_id[vi], times[mi], voices.lat[vi],
                  voices.lon[vi], voices.category[vi])
    return spots, mi


def _mix(*columns: npt.NDArray[np.int64] | npt.NDArray[np.uint64] | int) -> U64:
    """One 64-bit block key from several integer columns (FNV-style; a collision only adds
    a candidate that the exact checks then drop)."""
    h: U64 | np.uint64 = _SEED
    with np.errstate(over="ignore"):
        for c in columns:
            value = np.asarray(c).astype(np.uint64)
            h = (h ^ value) * _PRIME
    return np.asarray(h, dtype=np.uint64)


def _join(index_keys: U64, index_rows: I64, query_keys: U64, query_rows: I64
          ) -> tuple[I64, I64]:
    """Every (index row, query row) whose keys are equal."""
    if not len(index_keys) or not len(query_keys):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(index_keys, kind="stable")
    ordered = index_keys[order]
    # sorted needles: each search starts where the last ended (several times faster)
    needles = np.argsort(query_keys, kind="stable")
    query_keys, query_rows = query_keys[needles], query_rows[needles]
    lo = np.searchsorted(ordered, query_keys, "left")
    hi = np.searchsorted(ordered, query_keys, "right")
    counts = hi - lo
    total = int(counts.sum())
    if not total:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    position = np.arange(total, dtype=np.int64) + starts
    return index_rows[order[position]], np.repeat(query_rows, counts)


def _row_height(radius_m: float) -> float:
    return radius_m / _EARTH_M_PER_DEG


def _column(lat_row: I64, lon: F64, radius_m: float) -> I64:
    """The grid column of ``lon`` in the grid row ``lat_row`` (matching's cells: rows of
    equal latitude, columns about ``radius_m`` wide in each)."""
    height = _row_height(radius_m)
    centre = (lat_row + 0.5) * height
    width = radius_m / (_EARTH_M_PER_DEG * np.maximum(np.cos(np.radians(centre)), 0.01))
    return np.floor(lon / width).astype(np.int64)


def _distance_m(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """Great-circle distance in metres (matching's haversine, on arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6_371_000 * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


def _after(anchors: Spots, arrivals: Spots, ia: I64, ib: I64, window_s: float
           ) -> npt.NDArray[np.bool_]:
    """Pairs whose arrival came after the anchor's moment, within the window, about
    another case, and whose categories do not differ."""
    dt = arrivals.t[ib] - anchors.t[ia]
    ca, cb = anchors.category[ia], arrivals.category[ib]
    return ((dt > 0) & (dt <= window_s) & (anchors.case_id[ia] != arrivals.case_id[ib])
            & ((ca == cb) | (ca < 0) | (cb < 0)))


def located_pairs(
    anchors: Spots, arrivals: Spots, params: MatchParams, window_s: float
) -> tuple[I64, I64]:
    """Located anchors and arrivals within ``radius_m`` of each other, the arrival within
    the window after the anchor, in a category that does not differ.

    Cells are twice the radius, so what lies within the radius of a point is in the 2 × 2
    cells around the corner nearest to it; an anchor is filed in its time bucket and the
    next, so an arrival looks in its own only: four lookups an arrival, two entries an
    anchor (a 3 × 3 neighbourhood over two buckets took 18 lookups, and the city's time
    went into sorting them)."""
    radius = params.radius_m
    cell = 2 * radius
    height = _row_height(cell)
    a_rows = np.flatnonzero(anchors.located)
    b_rows = np.flatnonzero(arrivals.located)
    if not len(a_rows) or not len(b_rows):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a_row = np.floor(anchors.lat[a_rows] / height).astype(np.int64)
    a_col = _column(a_row, anchors.lon[a_rows], cell)
    a_bucket = np.floor(anchors.t[a_rows] / window_s).astype(np.int64)
    a_category = anchors.category[a_rows]
    # an uncategorised arrival meets anchors of every category: they are filed under "any"
    # (-2) too, when there is such an arrival
    filed = [a_category, *([np.full(len(a_rows), -2, np.int64)]
                           if bool((arrivals.category[b_rows] < 0).any()) else [])]
    index_keys = np.concatenate([_mix(a_row, a_col, cat, a_bucket + db)
                                 for cat in filed for db in (0, 1)])
    index_rows = np.concatenate([a_rows] * (2 * len(filed)))
    uncategorised = bool((a_category < 0).any())
    dlat = radius / _EARTH_M_PER_DEG
    found_a: list[I64] = []
    found_b: list[I64] = []
    for start in range(0, len(b_rows), _CHUNK):
        rows = b_rows[start : start + _CHUNK]
        lat, lon = arrivals.lat[rows], arrivals.lon[rows]
        # a little wider than the radius: the box must hold the whole circle
        dlon = 1.01 * dlat / np.maximum(np.cos(np.radians(np.abs(lat) + dlat)), 0.01)
        bucket = np.floor(arrivals.t[rows] / window_s).astype(np.int64)
        category = arrivals.category[rows]
        lows = np.floor((lat - dlat) / height).astype(np.int64)
        highs = np.floor((lat + dlat) / height).astype(np.int64)
        keys: list[U64] = []
        owners: list[I64] = []
        for row, wanted in ((lows, np.ones(len(rows), bool)), (highs, highs != lows)):
            left = _column(row, lon - dlon, cell)
            right = _column(row, lon + dlon, cell)
            for col, also in ((left + k, wanted & (left + k <= right)) for k in range(3)):
                keys.append(_mix(row[also], col[also],
                                 np.where(category[also] < 0, -2, category[also]),
                                 bucket[also]))
                owners.append(rows[also])
                if uncategorised:  # a categorised arrival meets uncategorised anchors
                    named = also & (category >= 0)
                    keys.append(_mix(row[named], col[named],
                                     np.full(int(named.sum()), -1, np.int64), bucket[named]))
                    owners.append(rows[named])
        ia, ib = _join(index_keys, index_rows, np.concatenate(keys), np.concatenate(owners))
        keep = _after(anchors, arrivals, ia, ib, window_s)
        ia, ib = ia[keep], ib[keep]
        near = _distance_m(anchors.lat[ia], anchors.lon[ia], arrivals.lat[ib],
                           arrivals.lon[ib]) <= radius
        found_a.append(ia[near])
        found_b.append(ib[near])
    return np.concatenate(found_a), np.concatenate(found_b)


def _band_keys(sigs: npt.NDArray[np.uint32], params: MatchParams, bucket: I64
               ) -> list[tuple[U64, npt.NDArray[np.bool_]]]:
    """Per band of intake's layout (headline bands of ``rows``, whole-text bands of
    ``body_rows``), each signature's key in its time bucket, and which rows have one (a
    half without any shingle has no band)."""
    half = sigs.shape[1] // 2
    out = []
    layouts = ((0, params.rows, params.bands), (half, params.body_rows, params.body_bands))
    for part, (start, rows, bands) in enumerate(layouts):
        piece = sigs[:, start : start + half]
        has = ~(piece == _EMPTY).all(axis=1)
        for i in range(bands):
            columns = [piece[:, i * rows + k].astype(np.int64) for k in range(rows)]
            out.append((_mix(part * 100 + i, *columns, bucket), has))
    return out


def text_pairs(
    anchors: Spots,
    arrivals: Spots,
    signatures: Mapping[int, bytes] | SignatureTable,
    params: MatchParams,
    window_s: float,
) -> tuple[I64, I64]:
    """Anchors and arrivals, both without a place, sharing a band of their signatures in
    neighbouring time buckets (intake's text blocks), the arrival within the window."""
    a_rows = np.flatnonzero(~anchors.located)
    b_rows = np.flatnonzero(~arrivals.located)
    if not len(a_rows) or not len(b_rows):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a_sigs = _matrix(signatures, anchors.voice_id[a_rows])
    b_sigs = _matrix(signatures, arrivals.voice_id[b_rows])
    a_bands = _band_keys(a_sigs, params, np.floor(anchors.t[a_rows] / window_s)
                         .astype(np.int64))
    b_bucket = np.floor(arrivals.t[b_rows] / window_s).astype(np.int64)
    # every band's keys in one index and one lookup (the band is part of the key)
    index_keys = np.concatenate([k[has] for k, has in a_bands])
    index_rows = np.concatenate([a_rows[has] for _, has in a_bands])
    query_keys: list[U64] = []
    query_rows: list[I64] = []
    for db in (0, -1):
        for k, has in _band_keys(b_sigs, params, b_bucket + db):
            query_keys.append(k[has])
            query_rows.append(b_rows[has])
    found_a, found_b = _join(index_keys, index_rows, np.concatenate(query_keys),
                             np.concatenate(query_rows))
    ia, ib = found_a, found_b
    keep = _after(anchors, arrivals, ia, ib, window_s)
    width = np.int64(len(arrivals))
    pairs = np.unique(ia[keep] * width + ib[keep])
    return (pairs // width).astype(np.int64), (pairs % width).astype(np.int64)


def _matrix(signatures: Mapping[int, bytes] | SignatureTable, voice_ids: I64
            ) -> npt.NDArray[np.uint32]:
    """The voices' signatures, one row each (a voice never assessed: no shingle at all)."""
    table = signatures if isinstance(signatures, SignatureTable) else SignatureTable.of(
        signatures)
    return table.rows(voice_ids)


class SignatureTable:
    """Signatures as one matrix, found by voice id with a binary search: a city's audit
    compares a million pairs, and gathering their rows by index costs nothing next to
    joining their bytes pair by pair."""

    def __init__(self, voice_ids: I64, matrix: npt.NDArray[np.uint32]) -> None:
        self.voice_ids = voice_ids
        self.matrix = matrix
        self._row = {int(v): i for i, v in enumerate(voice_ids.tolist())}

    def one(self, voice_id: int) -> npt.NDArray[np.uint32]:
        """One voice's signature (for the judge, pair by pair: no array call per pair)."""
        return self.matrix[self._row.get(voice_id, len(self.voice_ids))]

    @classmethod
    def of(cls, signatures: Mapping[int, bytes]) -> SignatureTable:
        items = sorted((v, raw) for v, raw in signatures.items() if raw)
        width = len(items[0][1]) // 4 if items else 64
        ids = np.fromiter((v for v, _ in items), np.int64, len(items))
        raw = b"".join(r if len(r) == width * 4 else b"\xff" * (width * 4) for _, r in items)
        body = np.frombuffer(raw, dtype="<u4").reshape(len(items), width).astype(np.uint32)
        # a last row of no shingle at all, for voices without a signature
        blank = np.full((1, width), _EMPTY, dtype=np.uint32)
        return cls(ids, np.concatenate([body, blank]))

    def rows(self, voice_ids: I64) -> npt.NDArray[np.uint32]:
        at = np.searchsorted(self.voice_ids, voice_ids)
        at = np.minimum(at, len(self.voice_ids))
        found = at < len(self.voice_ids)
        found[found] = self.voice_ids[at[found]] == voice_ids[found]
        return self.matrix[np.where(found, at, len(self.voice_ids))]


def _text_similarity(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> F64:
    """``matching.similarity`` of many pairs at once: of headlines or whole texts, the
    higher; a half without shingles on either side is no match."""
    half = a.shape[1] // 2
    best = np.zeros(len(a))
    for sl in (slice(0, half), slice(half, None)):
        same = (a[:, sl] == b[:, sl]).mean(axis=1)
        blank = (a[:, sl] == _EMPTY).all(axis=1) | (b[:, sl] == _EMPTY).all(axis=1)
        same[blank] = 0.0
        best = np.maximum(best, same)
    return np.asarray(best, dtype=np.float64)


@dataclass(frozen=True)
class SameProblem:
    """An arrival judged the same problem as an anchor (indexes into the two Spots)."""

    anchor: int
    arrival: int
    judgement: Judgement


def judge_pairs(
    anchors: Spots,
    arrivals: Spots,
    ia: I64,
    ib: I64,
    signatures: Mapping[int, bytes] | SignatureTable,
    params: MatchParams,
    window_days: float,
    categories: Mapping[int, str],
) -> list[SameProblem]:
    """The pairs ``matching.judge`` calls the same problem, the best anchor per arrival
    (highest score, then the latest moment). Pairs whose score (the judge's own weights)
    is below the threshold, or that the judge refuses for different words or distance,
    are left out before judging, which changes no verdict
    (``tests/unit/test_formalism_places.py`` checks it on random pairs)."""
    rule = replace(params, window_days=window_days)
    if not isinstance(signatures, SignatureTable):
        signatures = SignatureTable.of(signatures)
    kept: list[tuple[I64, I64, F64, F64]] = []
    for start in range(0, len(ia), _CHUNK):
        pa, pb = ia[start : start + _CHUNK], ib[start : start + _CHUNK]
        text = _text_similarity(_matrix(signatures, anchors.voice_id[pa]),
                                _matrix(signatures, arrivals.voice_id[pb]))
        both = ~(np.isnan(anchors.lat[pa]) | np.isnan(arrivals.lat[pb]))
        dist = np.where(both, _distance_m(anchors.lat[pa], anchors.lon[pa], arrivals.lat[pb],
                                          arrivals.lon[pb]), np.inf)
        ca, cb = anchors.category[pa], arrivals.category[pb]
        # the judge's arithmetic, in its order, only to rank the pairs and leave out those
        # it would refuse (a hair below the threshold is kept for it: the judge decides)
        reach = rule.radius_m - rule.same_spot_m
        closeness = np.where(dist <= rule.same_spot_m, 1.0,
                             np.clip((rule.radius_m - dist) / reach, 0.0, 1.0))
        score = text + np.where(both, rule.place_weight * closeness, 0.0)
        score = score + np.where((ca == cb) & (ca >= 0), rule.category_weight, 0.0)
        same_spot = dist <= rule.same_spot_m
        dt = arrivals.t[pb] - anchors.t[pa]
        hopeful = np.flatnonzero((dt > 0) & (dt <= window_days * 86_400)
                                 & (score >= rule.threshold - 1e-9)
                                 & (same_spot | (text >= rule.min_text_apart))
                                 & ~(both & (dist > rule.radius_m)))
        kept.append((pa[hopeful], pb[hopeful], score[hopeful], text[hopeful]))
    if not kept:
        return []
    pa, pb, score, text = (np.concatenate(column) for column in zip(*kept, strict=True))
    # per arrival, the likeliest first: only the best are judged, not every hopeful pair
    order = np.lexsort((-anchors.t[pa], -score, pb))
    found: list[SameProblem] = []
    position, total = 0, len(order)
    while position < total:
        j = int(pb[order[position]])
        end = position
        while end < total and int(pb[order[end]]) == j:
            end += 1
        best: SameProblem | None = None
        for k in order[position:end].tolist():
            if best is not None and score[k] < best.judgement.score - 1e-9:
                break  # the judge agrees with this arithmetic: nothing lower can win
            i = int(pa[k])
            verdict = judge(_probe(arrivals, j, signatures, categories),
                            _probe(anchors, i, signatures, categories), rule, float(text[k]))
            if verdict.same and (best is None or (verdict.score, anchors.t[i]) > (
                    best.judgement.score, anchors.t[best.anchor])):
                best = SameProblem(i, j, verdict)
        if best is not None:
            found.append(best)
        position = end
    return sorted(found, key=lambda m: (m.anchor, m.arrival))


def _probe(spots: Spots, row: int, signatures: SignatureTable,
           categories: Mapping[int, str]) -> Probe:
    lat, lon = float(spots.lat[row]), float(spots.lon[row])
    located = not (math.isnan(lat) or math.isnan(lon))
    category = int(spots.category[row])
    return Probe(
        signature=signatures.one(int(spots.voice_id[row])),
        at=datetime.fromtimestamp(float(spots.t[row]), UTC),
        lat=lat if located else None,
        lon=lon if located else None,
        category=categories.get(category) if category >= 0 else None,
    )


def same_problems(
    anchors: Spots,
    arrivals: Spots,
    signatures: Mapping[int, bytes],
    params: MatchParams,
    window_days: float,
    categories: Mapping[int, str],
    *,
    located: tuple[I64, I64] | None = None,
) -> list[SameProblem]:
    """Candidates by place and by text, judged. ``located`` are the place pairs when the
    caller found them already (to read only their signatures)."""
    window_s = window_days * 86_400
    la, lb = located if located is not None else located_pairs(anchors, arrivals, params,
                                                                window_s)
    table = SignatureTable.of(signatures)
    ta, tb = text_pairs(anchors, arrivals, table, params, window_s)
    return judge_pairs(anchors, arrivals, np.concatenate([la, ta]), np.concatenate([lb, tb]),
                       table, params, window_days, categories)


# ---- flags -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A resolution or rejection the audit looks back from: whose, by whom, when."""

    case_id: int
    department: str
    actor: str
    at: datetime
    event_id: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class Arrival:
    """A case that came in later: when, and (for a rejection) who resolved it."""

    case_id: int
    at: datetime
    done_by: str | None = None
    done_actor: str | None = None
    done_at: datetime | None = None


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86_400


def _when(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(" ", "minutes")[:16] + " UTC"


def repeat_flags(found: Iterable[tuple[Moment, Arrival, Judgement]]) -> list[Flag]:
    """One flag per resolved case and department, with every case that came back."""
    grouped: dict[tuple[int, str], list[tuple[Moment, Arrival, Judgement]]] = defaultdict(list)
    for m, a, j in found:
        grouped[(m.case_id, m.department)].append((m, a, j))
    flags = []
    for (case_id, dept), items in sorted(grouped.items()):
        items.sort(key=lambda x: (x[1].at, x[1].case_id))
        reasons = []
        evidence: list[Evidence] = []
        for m, a, j in items:
            reasons.append(
                f"resolved {_when(m.at)} ({m.actor}); case {a.case_id} came in "
                f"{_days(m.at, a.at):.0f} days later: {', '.join(j.reasons)}"
            )
            evidence.append(Evidence(case_id=m.case_id, at=m.at, what="resolve",
                                     event_id=m.event_id, department=dept, actor=m.actor))
            evidence.append(Evidence(case_id=a.case_id, at=a.at, what="new_case",
                                     note=", ".join(j.reasons)))
        first = items[0]
        flags.append(
            Flag(
                kind=FlagKind.REPEAT_AFTER_FIX, department=dept, at=first[1].at,
                case_ids=(case_id, *dict.fromkeys(a.case_id for _, a, _ in items)),
                reasons=tuple(reasons),
                facts={"repeats": len(items),
                       "days_after": round(_days(first[0].at, first[1].at), 1),
                       "score": round(first[2].score, 3),
                       "distance_m": (round(first[2].distance_m)
                                      if first[2].distance_m is not None else None)},
                evidence=tuple(evidence),
                officers=tuple(sorted({m.actor for m, _, _ in items})),
                subject=case_subject(case_id),
            )
        )
    return flags


def rejection_flags(found: Iterable[tuple[Moment, Arrival, Judgement]]) -> list[Flag]:
    """A rejected case whose problem came back as a new case that another department
    resolved: one flag per rejected case and rejecting department."""
    grouped: dict[tuple[int, str], list[tuple[Moment, Arrival, Judgement]]] = defaultdict(list)
    for m, a, j in found:
        if a.done_by is None or a.done_by == m.department or a.done_at is None:
            continue
        grouped[(m.case_id, m.department)].append((m, a, j))
    flags = []
    for (case_id, dept), items in sorted(grouped.items()):
        m, a, j = min(items, key=lambda x: (x[1].at, x[1].case_id))
        assert a.done_at is not None
        reasons = (
            f"rejected by {dept} {_when(m.at)} ({m.actor})" + (f": {m.message}" if m.message
                                                               else ""),
            f"case {a.case_id} came in {_days(m.at, a.at):.0f} days later "
            f"({', '.join(j.reasons)}) and was resolved by {a.done_by} {_when(a.done_at)}",
        )
        flags.append(
            Flag(
                kind=FlagKind.REJECTED_DONE_ELSEWHERE, department=dept, at=m.at,
                case_ids=(case_id, a.case_id), reasons=reasons,
                facts={"done_by": a.done_by, "same_case": False,
                       "score": round(j.score, 3)},
                evidence=(
                    Evidence(case_id=case_id, at=m.at, what="reject", event_id=m.event_id,
                             department=dept, actor=m.actor, note=m.message),
                    Evidence(case_id=a.case_id, at=a.at, what="new_case",
                             note=", ".join(j.reasons)),
                    Evidence(case_id=a.case_id, at=a.done_at, what="resolve",
                             department=a.done_by, actor=a.done_actor),
                ),
                officers=(m.actor,), subject=case_subject(case_id),
            )
        )
    return flags
