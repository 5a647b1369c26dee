"""Same-problem matching: is a new voice about a problem the city already has a case for?

Two voices are about the same problem when they say much the same thing, about the same
place, close in time, and do not name different categories. Comparing a new voice with every
stored one would grow with the city's history, so candidates come from *blocks* instead:

* **place blocks**: a grid cell about ``radius_m`` wide times a time bucket ``window_days``
  long. A voice with a location is compared with the voices of its own and the 8 neighbouring
  cells in its own bucket and the one before, however differently they are worded (two
  residents rarely describe one broken light alike).
* **text blocks** (for voices without a place): MinHash locality-sensitive hashing of
  character shingles (bigrams of Han characters, 4-grams inside Latin words), so Chinese and
  English work alike with no word segmenter. A voice shares a bucket with another when one
  band (a slice of their signatures) agrees; for similar texts that is very likely, for
  unrelated ones very unlikely.

Everything here is pure computation (no database): the service stores the keys and looks
them up. The hashes come from ``hashlib`` and fixed seeds, so signatures and keys are the
same in every process and every run, and can be stored. How the candidates a lookup returns
are filtered, shortlisted and judged (``reach``, ``shortlist``, ``judge_candidates``) is
defined here too, once: intake's lookup in the database (``services.match_index``) and the
replay of a file in memory (``services.match_file``) decide by the same rule.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

Signature = npt.NDArray[np.uint32]

#: common English function words: shared by unrelated texts, so they only add noise
_STOP_WORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has",
        "have", "i", "in", "is", "it", "its", "my", "of", "on", "or", "our", "so", "that",
        "the", "there", "their", "this", "to", "was", "we", "were", "with",
    }
)
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_HAN}]+)|([a-z0-9]+)")
_SEED = b"civicpulse-minhash-v1"
_EARTH_M_PER_DEG = 111_320.0
_EMPTY = np.iinfo(np.uint32).max
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.\s")
_HEADLINE_CHARS = 80
_PLACE = struct.Struct("<cqqq")
_TEXT = struct.Struct("<chq")


@dataclass(frozen=True)
class MatchParams:
    """How close two voices must be to be called the same problem.

    Round numbers chosen by reasoning, not fitted: two reports from the same spot (within
    ``same_spot_m``, one building's frontage) in the window are one problem unless their
    categories differ; further away the place counts less, down to nothing at ``radius_m``.
    A shared category adds a little, but away from the very spot the texts must share
    something (``min_text_apart``). Without a common place, the texts alone must share
    about a third of their shingles (headline or whole text), a usual near-duplicate level.
    """

    radius_m: float = 300.0
    same_spot_m: float = 30.0
    window_days: float = 30.0
    threshold: float = 0.30
    place_weight: float = 0.30
    category_weight: float = 0.15
    #: away from the same spot, texts sharing less than this are never the same problem
    min_text_apart: float = 0.10
    num_perm: int = 32
    bands: int = 16
    body_rows: int = 4
    #: candidates scored per lookup, most band hits first (bounds the cost of generic text)
    max_candidates: int = 200

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    @property
    def body_bands(self) -> int:
        return self.num_perm // self.body_rows


@dataclass(frozen=True)
class Probe:
    """What matching needs to know about one voice, computed once from what it said."""

    signature: Signature
    at: datetime
    lat: float | None = None
    lon: float | None = None
    category: str | None = None

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class Judgement:
    """The verdict on one candidate, with the reasons staff see."""

    same: bool
    score: float
    text_similarity: float
    distance_m: float | None
    days_apart: float
    reasons: list[str] = field(default_factory=list)


# ---- shingles and signatures -------------------------------------------------------------


def shingles(text: str) -> set[str]:
    """Character shingles: Han bigrams and 4-grams of each Latin word padded with spaces.

    Han text has no spaces, and two characters already make most words; Latin words are cut
    in 4-grams so that "tent" and "tents" still share most of their shingles.
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    out: set[str] = set()
    for han, word in _RUNS.findall(norm):
        if han:
            if len(han) == 1:
                out.add(han)
            out.update(han[i : i + 2] for i in range(len(han) - 1))
        elif word not in _STOP_WORDS:
            padded = f" {word} "
            if len(padded) <= 4:
                out.add(padded)
            out.update(padded[i : i + 4] for i in range(len(padded) - 3))
    return out


def _shingle_hashes(items: Iterable[str]) -> npt.NDArray[np.uint64]:
    values = [
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little")
        for s in items
    ]
    return np.asarray(values, dtype=np.uint64)


def _permutations(num_perm: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Fixed odd multipliers and offsets for multiply-shift hashing, the same everywhere."""
    raw = hashlib.shake_256(_SEED).digest(16 * num_perm)
    words = np.frombuffer(raw, dtype="<u8").astype(np.uint64)
    return words[:num_perm] | np.uint64(1), words[num_perm:]


_PERMS: dict[int, tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]] = {}


def minhash(text: str, num_perm: int = MatchParams.num_perm) -> Signature:
    """The MinHash signature of one text (all ones when it has no shingle at all)."""
    if num_perm not in _PERMS:
        _PERMS[num_perm] = _permutations(num_perm)
    a, b = _PERMS[num_perm]
    hashes = _shingle_hashes(sorted(shingles(text)))
    if hashes.size == 0:
        return np.full(num_perm, _EMPTY, dtype=np.uint32)
    mixed = (hashes[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)
    return mixed.min(axis=0).astype(np.uint32)


def headline(text: str, title: str | None = None) -> str:
    """What the voice is about in a line: its title, else its first sentence.

    Residents who raise one problem name it in much the same words in a headline, however
    differently they tell the rest; comparing headlines as well as whole texts catches them.
    """
    if title and title.strip():
        return title
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return first[:_HEADLINE_CHARS]


def signature(
    text: str, title: str | None = None, num_perm: int = MatchParams.num_perm
) -> Signature:
    """The voice's signature: the headline's MinHash followed by the whole text's."""
    return np.concatenate([minhash(headline(text, title), num_perm), minhash(text, num_perm)])


def _half_similarity(a: Signature, b: Signature) -> float:
    if _blank(a) or _blank(b):
        return 0.0
    return float(np.count_nonzero(a == b)) / len(a)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity: of the headlines or of the whole texts, the higher."""
    if a.shape != b.shape or len(a) % 2:
        return 0.0
    half = len(a) // 2
    return max(_half_similarity(a[:half], b[:half]), _half_similarity(a[half:], b[half:]))


def signature_bytes(sig: Signature) -> bytes:
    return sig.astype("<u4").tobytes()


def signature_from_bytes(raw: bytes) -> Signature:
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


# ---- blocks and keys ---------------------------------------------------------------------


def _digest_key(raw: bytes) -> int:
    """A stable signed 63-bit key (fits BIGINT on every database)."""
    digest = hashlib.blake2b(raw, digest_size=8, person=b"cp-block").digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def _place_key(cell: tuple[int, int], bucket: int) -> int:
    return _digest_key(_PLACE.pack(b"p", cell[0], cell[1], bucket))


def _text_key(band: int, value: bytes, bucket: int) -> int:
    return _digest_key(_TEXT.pack(b"t", band, bucket) + value)


def time_bucket(at: datetime, window_days: float) -> int:
    return math.floor(at.astimezone(UTC).timestamp() / (window_days * 86_400))


def _row_height(radius_m: float) -> float:
    return radius_m / _EARTH_M_PER_DEG


def _cell(lat: float, lon: float, radius_m: float, row: int | None = None) -> tuple[int, int]:
    """Grid cell of a point: rows of equal latitude, columns about ``radius_m`` wide in them."""
    height = _row_height(radius_m)
    r = math.floor(lat / height) if row is None else row
    centre = (r + 0.5) * height
    width = radius_m / (_EARTH_M_PER_DEG * max(math.cos(math.radians(centre)), 0.01))
    return r, math.floor(lon / width)


def _neighbour_cells(lat: float, lon: float, radius_m: float) -> list[tuple[int, int]]:
    row, _ = _cell(lat, lon, radius_m)
    cells: list[tuple[int, int]] = []
    for r in (row - 1, row, row + 1):
        _, col = _cell(lat, lon, radius_m, row=r)
        cells.extend((r, c) for c in (col - 1, col, col + 1))
    return cells


def _band_values(sig: Signature, params: MatchParams) -> list[tuple[int, bytes]]:
    """(band number, band bytes) of both halves, skipping a half with no shingle.

    Headlines are short and specific: ``bands`` bands of ``rows`` find pairs from about a
    quarter of their shingles in common. Whole texts share boilerplate (greetings, "reported
    with ...") with many unrelated ones, so their bands are longer (``body_rows``) and only
    near-copies meet there; a paraphrase is found through its headline."""
    half = len(sig) // 2
    out: list[tuple[int, bytes]] = []
    layouts = ((0, params.rows, params.bands), (half, params.body_rows, params.body_bands))
    for part, (start, rows, bands) in enumerate(layouts):
        piece = sig[start : start + half]
        if _blank(piece):
            continue
        out.extend(
            (part * 100 + i, signature_bytes(piece[i * rows : (i + 1) * rows]))
            for i in range(bands)
        )
    return out


def _blank(sig: Signature) -> bool:
    """A text without any shingle (only punctuation, say) is never a text match."""
    return bool((sig == _EMPTY).all())


def index_keys(probe: Probe, params: MatchParams) -> list[int]:
    """The keys a voice is stored under.

    A voice with a place is stored under its place block only: everything near it is a
    candidate whatever the wording, and anything further than the radius is a different
    problem however alike the words (storing it by text too would hand every lookup the
    city's thousands of "street light out" reports). A voice without a place is stored
    under its text blocks."""
    bucket = time_bucket(probe.at, params.window_days)
    if probe.located:
        assert probe.lat is not None and probe.lon is not None
        return [_place_key(_cell(probe.lat, probe.lon, params.radius_m), bucket)]
    return [_text_key(band, value, bucket) for band, value in _band_values(probe.signature, params)]


def query_keys(probe: Probe, params: MatchParams) -> list[int]:
    """The keys to look up, in the voice's time bucket and the one before (a new voice
    looks back over the window: what it could be the same problem as came before it): the 9
    place blocks around a located voice, and the text blocks (which hold the voices without
    a place).

    So a located voice finds located voices by place and unlocated ones by text; a voice
    without a place finds the other voices without a place (a limit: it does not find a
    located case, for lack of a place to look in)."""
    bucket = time_bucket(probe.at, params.window_days)
    buckets = (bucket - 1, bucket)
    keys: list[int] = []
    if probe.located:
        assert probe.lat is not None and probe.lon is not None
        for cell in _neighbour_cells(probe.lat, probe.lon, params.radius_m):
            keys.extend(_place_key(cell, b) for b in buckets)
    for band, value in _band_values(probe.signature, params):
        keys.extend(_text_key(band, value, b) for b in buckets)
    return keys


# ---- the verdict -------------------------------------------------------------------------


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def judge(
    new: Probe, old: Probe, params: MatchParams, text: float | None = None
) -> Judgement:
    """Weigh text, place, time and category; every hard refusal is named in the reasons.

    ``text`` is the signatures' similarity when the caller has already computed it."""
    if text is None:
        text = similarity(new.signature, old.signature)
    days = abs((new.at - old.at).total_seconds()) / 86_400
    dist = None
    if new.located and old.located:
        assert new.lat is not None and new.lon is not None
        assert old.lat is not None and old.lon is not None
        dist = distance_m(new.lat, new.lon, old.lat, old.lon)
    reasons = [f"text similarity {text:.2f}"]
    if days > params.window_days:
        return Judgement(False, 0.0, text, dist, days, [*reasons, f"{days:.0f} days apart"])
    if new.category and old.category and new.category != old.category:
        reasons.append(f"different categories ({new.category} / {old.category})")
        return Judgement(False, 0.0, text, dist, days, reasons)
    score = text
    if dist is not None:
        if dist > params.radius_m:
            return Judgement(False, 0.0, text, dist, days, [*reasons, f"{dist:.0f} m apart"])
        reach = params.radius_m - params.same_spot_m
        closeness = 1.0 if dist <= params.same_spot_m else (params.radius_m - dist) / reach
        score += params.place_weight * closeness
        reasons.append(f"{dist:.0f} m apart")
    if new.category and new.category == old.category:
        score += params.category_weight
        reasons.append(f"same category {new.category}")
    reasons.append(f"{days:.1f} days apart")
    if (dist is None or dist > params.same_spot_m) and text < params.min_text_apart:
        # a street's length away, two reports in one category can be two problems (two
        # lights, two holes): away from the very spot the words must have something in common
        return Judgement(False, score, text, dist, days, [*reasons, "different words"])
    return Judgement(score >= params.threshold, score, text, dist, days, reasons)


class Stored(Protocol):
    """A voice already filed, as a lookup hands it over: a row of the database index at
    intake, an entry of the in-memory index when a file is replayed. Its signature travels
    apart, as one row of a matrix, so that all candidates are compared in one operation."""

    @property
    def voice_id(self) -> int: ...

    @property
    def lat(self) -> float | None: ...

    @property
    def lon(self) -> float | None: ...

    @property
    def category(self) -> str | None: ...

    @property
    def hits(self) -> int:
        """How many of the new voice's query keys it is filed under."""
        ...

    @property
    def moment(self) -> datetime:
        """When it was said, time-zone aware (read only for candidates that are judged)."""
        ...


S = TypeVar("S", bound=Stored)


@dataclass(frozen=True)
class Reach:
    """Where and when the same problem as a voice can lie: its window on either side and,
    for a voice with a place, the box ``radius_m`` around it. A stored voice without a place
    is inside any box (its text decides)."""

    earliest: datetime
    latest: datetime
    #: south, north, west, east; None for a voice without a place
    box: tuple[float, float, float, float] | None = None

    def admits(self, at: datetime, lat: float | None, lon: float | None) -> bool:
        if not self.earliest <= at <= self.latest:
            return False
        if self.box is None or lat is None or lon is None:
            return True
        south, north, west, east = self.box
        return south <= lat <= north and west <= lon <= east


def reach(probe: Probe, params: MatchParams) -> Reach:
    """The window and box a lookup filters by, before any verdict: a block holds voices the
    verdict would refuse anyway (the neighbouring cells' far corners, the bucket's far end),
    and the database drops them without shipping them."""
    window = timedelta(days=params.window_days)
    box = None
    if probe.located:
        assert probe.lat is not None and probe.lon is not None
        dlat = params.radius_m / _EARTH_M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(probe.lat)), 0.01)
        box = (probe.lat - dlat, probe.lat + dlat, probe.lon - dlon, probe.lon + dlon)
    return Reach(probe.at - window, probe.at + window, box)


def shortlist(found: Iterable[S], params: MatchParams) -> list[S]:
    """The candidates that are judged: those sharing the most blocks first, then the oldest,
    at most ``max_candidates`` (generic wording shares blocks with very many voices; the
    cost of a lookup must not follow it)."""
    return sorted(found, key=lambda c: (-c.hits, c.voice_id))[: params.max_candidates]


def judge_candidates(
    probe: Probe, candidates: Sequence[S], signatures: Signature, params: MatchParams
) -> list[tuple[S, Judgement]]:
    """The candidates judged the same problem, best first: highest score, then the oldest.

    This is the decision intake takes and the file replay repeats; ``signatures`` holds the
    candidates' signatures, one row each, in their order. Text similarity of all of them is
    one array comparison, and only those that could still reach the threshold (with the most
    place and category evidence they could have) are judged in full, which changes no
    verdict: a candidate below its ceiling is below the threshold."""
    if not candidates:
        return []
    half = signatures.shape[1] // 2
    mine = probe.signature
    best = np.zeros(len(candidates))
    for sl in (slice(0, half), slice(half, None)):
        if bool((mine[sl] == _EMPTY).all()):
            continue
        same = (signatures[:, sl] == mine[sl]).mean(axis=1)
        same[(signatures[:, sl] == _EMPTY).all(axis=1)] = 0.0
        best = np.maximum(best, same)
    judged = []
    for row, (cand, text) in enumerate(zip(candidates, best.tolist(), strict=True)):
        ceiling = text
        if probe.category is not None and cand.category == probe.category:
            ceiling += params.category_weight
        if probe.located and cand.lat is not None:
            ceiling += params.place_weight
        if ceiling < params.threshold:
            continue
        old = Probe(signatures[row], cand.moment, cand.lat, cand.lon, cand.category)
        verdict = judge(probe, old, params, text)
        if verdict.same:
            judged.append((cand, verdict))
    judged.sort(key=lambda cv: (-cv[1].score, cv[0].voice_id))
    return judged


@dataclass(frozen=True)
class _Given:
    """A candidate handed over with its probe (``best_match``)."""

    voice_id: int
    probe: Probe
    hits: int = 0

    @property
    def lat(self) -> float | None:
        return self.probe.lat

    @property
    def lon(self) -> float | None:
        return self.probe.lon

    @property
    def category(self) -> str | None:
        return self.probe.category

    @property
    def moment(self) -> datetime:
        return self.probe.at


def best_match(
    new: Probe, candidates: Sequence[tuple[int, Probe]], params: MatchParams
) -> tuple[int, Judgement] | None:
    """The highest-scoring candidate judged the same problem (ties: the oldest id)."""
    if not candidates:
        return None
    given = [_Given(ident, old) for ident, old in candidates]
    ranked = judge_candidates(new, given, np.stack([g.probe.signature for g in given]), params)
    return (ranked[0][0].voice_id, ranked[0][1]) if ranked else None
