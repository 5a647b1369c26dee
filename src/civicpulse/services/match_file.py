"""Same-problem matching replayed over a file: what intake would have said of each row.

A city checks matching on its own history before trusting it (``civicpulse understand
match``). Each row is read as intake reads a voice (``text_reading.matching_probe``), the
rows are taken in the order they were said, and each looks up the rows before it through
the same blocks, window, box, shortlist and verdict as intake (``matching.reach``,
``shortlist``, ``judge_candidates``, with the installation's ``params_from``). Only the
index differs: it is held in memory, not in the database, and nothing is stored.

Intake matches a voice only to a case that is still open. A file that says when each case
was closed (``--map closed_at=COLUMN``) is replayed the same way: an earlier row is matched
while the case it belongs to (its own, or the one it was found the same as) is open; without
it every earlier row counts as open. A row's category is compared as written (there is no
catalogue to turn names into codes).

Memory stays bounded however long the file: rows are put in time order by an external
merge sort (sorted runs of ``chunk_rows`` spilled to temporary files, then merged), and the
index forgets each time bucket once no later row can look into it (a lookup reaches back
one bucket), so it holds about two matching windows of rows. Every row is read and checked
before the first answer is given, so a bad row stops the run before any output.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import IO, Any, NamedTuple

import numpy as np

from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.import_options import (
    RowSource,
    SourceRow,
    check_mapping,
    parse_when,
    time_zone,
)
from civicpulse.services.text_reading import keys_for, matching_probe
from civicpulse.services.voices import VoiceInput, validate_voice
from civicpulse.understanding.matching import (
    Judgement,
    MatchParams,
    Probe,
    Signature,
    judge_candidates,
    reach,
    shortlist,
    signature_bytes,
    signature_from_bytes,
    time_bucket,
)

FIELDS = ("text", "title", "lat", "lon", "occurred_at", "external_id", "category", "closed_at")
"""What a column can be mapped to for matching."""

REQUIRED = ("text", "occurred_at", "external_id")

SORT_CHUNK = 100_000
"""Rows sorted in memory at a time (about 70 MB of them, measured on Boston 311 rows); a
longer file is sorted in runs on disk."""


@dataclass(frozen=True)
class MatchOptions:
    """How to read the file: ``mapping`` is field → column name."""

    mapping: Mapping[str, str]
    timezone: str = "UTC"
    #: a row found the same as an earlier one joins its case (``CIVICPULSE_MATCH_AUTO_MERGE``);
    #: otherwise its own case stays apart and closes when the row says
    merge: bool = True
    chunk_rows: int = SORT_CHUNK


@dataclass(frozen=True, slots=True)
class RowMatch:
    """The answer for one row: the earlier row it repeats, if any, and why."""

    external_id: str
    same_as: str | None
    score: float | None
    reasons: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "same_as": self.same_as,
            "score": self.score,
            "reasons": self.reasons,
        }


class _Read(NamedTuple):
    """A checked row, as sorted and spilled: its moment (UTC) and position order it."""

    at: datetime
    position: int
    external_id: str
    signature: bytes
    lat: float | None
    lon: float | None
    category: str | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Filed:
    """A row in the in-memory index."""

    voice_id: int
    external_id: str
    signature: Signature
    moment: datetime
    lat: float | None
    lon: float | None
    category: str | None
    #: when the case this row belongs to was closed (None: open to the end of the file)
    case_closed_at: datetime | None

    def open_at(self, at: datetime) -> bool:
        return self.case_closed_at is None or self.case_closed_at > at


@dataclass(frozen=True, slots=True)
class _Found:
    """A filed row met by a lookup, with how many of its blocks it shares (``Stored``)."""

    filed: _Filed
    hits: int

    @property
    def voice_id(self) -> int:
        return self.filed.voice_id

    @property
    def lat(self) -> float | None:
        return self.filed.lat

    @property
    def lon(self) -> float | None:
        return self.filed.lon

    @property
    def category(self) -> str | None:
        return self.filed.category

    @property
    def moment(self) -> datetime:
        return self.filed.moment


class MemoryIndex:
    """The same-problem index intake keeps in ``match_keys``, held in a dict for one replay.

    Voices must be looked up and added in time order: a lookup first forgets the buckets
    no lookup from then on can reach (everything before the bucket before its own)."""

    def __init__(self, params: MatchParams) -> None:
        self.params = params
        self._filed: dict[int, _Filed] = {}
        self._keys: dict[int, list[int]] = {}
        self._buckets: dict[int, tuple[list[int], set[int]]] = {}

    def __len__(self) -> int:
        return len(self._filed)

    def ranked(self, probe: Probe, keys: Iterable[int]) -> list[tuple[_Filed, Judgement]]:
        """The filed voices judged the same problem as a new one, best first."""
        self._forget_before(time_bucket(probe.at, self.params.window_days) - 1)
        hits: Counter[int] = Counter()
        for key in set(keys):
            hits.update(self._keys.get(key, ()))
        limits = reach(probe, self.params)
        found = [
            _Found(filed, n)
            for voice_id, n in hits.items()
            if limits.admits((filed := self._filed[voice_id]).moment, filed.lat, filed.lon)
        ]
        chosen = shortlist(found, self.params)
        if not chosen:
            return []
        sigs = np.stack([c.filed.signature for c in chosen])
        return [(c.filed, v) for c, v in judge_candidates(probe, chosen, sigs, self.params)]

    def add(self, filed: _Filed, keys: Iterable[int]) -> None:
        bucket = time_bucket(filed.moment, self.params.window_days)
        voices, bucket_keys = self._buckets.setdefault(bucket, ([], set()))
        voices.append(filed.voice_id)
        self._filed[filed.voice_id] = filed
        for key in set(keys):
            self._keys.setdefault(key, []).append(filed.voice_id)
            bucket_keys.add(key)

    def _forget_before(self, bucket: int) -> None:
        for old in [b for b in self._buckets if b < bucket]:
            voices, keys = self._buckets.pop(old)
            for voice_id in voices:
                del self._filed[voice_id]
            for key in keys:
                self._keys.pop(key, None)


def match_file(
    source: RowSource, options: MatchOptions, params: MatchParams
) -> Iterator[RowMatch]:
    """One answer per row of ``source``, in time order (ties in file order).

    The mapping is checked at once (before any row is read); the rows are all read and
    checked when the first answer is asked for. A bad row raises ``ValidationFailed``
    naming it."""
    check_mapping(options.mapping, source.columns, FIELDS, REQUIRED)
    if ("lat" in options.mapping) != ("lon" in options.mapping):
        raise ValidationFailed("map both lat and lon, or neither")
    if options.chunk_rows < 1:
        raise ValidationFailed("chunk rows must be at least 1")
    zone = time_zone(options.timezone)
    return _replay(source, options, params, zone)


def _replay(
    source: RowSource, options: MatchOptions, params: MatchParams, zone: tzinfo
) -> Iterator[RowMatch]:
    index = MemoryIndex(params)
    rows = (_read(row, options.mapping, zone, params) for row in source.rows())
    for voice_id, row in enumerate(_in_time_order(rows, options.chunk_rows), 1):
        probe = Probe(signature_from_bytes(row.signature), row.at, row.lat, row.lon,
                      row.category)
        keys = keys_for(probe, params)
        # as ``best_open_match``: the best candidate whose case is still open
        found = next(
            ((earlier, verdict) for earlier, verdict in index.ranked(probe, keys.query_keys)
             if earlier.open_at(row.at)),
            None,
        )
        # a row merged into an earlier one's case closes with that case
        closes = found[0].case_closed_at if found and options.merge else row.closed_at
        index.add(_Filed(voice_id, row.external_id, probe.signature, row.at, row.lat, row.lon,
                         row.category, closes), keys.index_keys)
        if found is None:
            yield RowMatch(row.external_id, None, None, [])
        else:
            earlier, verdict = found
            yield RowMatch(row.external_id, earlier.external_id, round(verdict.score, 4),
                           verdict.reasons)


def _read(row: SourceRow, mapping: Mapping[str, str], zone: tzinfo, params: MatchParams) -> _Read:
    """A row checked as intake checks a voice, and read as intake reads one."""
    cells: dict[str, str] = {}
    for name, column in mapping.items():
        value = row.values.get(column, "")
        cells[name] = value.isoformat() if isinstance(value, datetime) else value.strip()
    ident = cells.get("external_id") or None
    try:
        if row.problem is not None:
            raise ValidationFailed(row.problem)
        raw = row.values.get(mapping["occurred_at"], "")
        if not isinstance(raw, datetime) and not raw.strip():
            raise ValidationFailed("occurred_at is empty")
        voice = VoiceInput(
            text=cells["text"],
            title=cells.get("title") or None,
            lat=_number(cells.get("lat"), "lat"),
            lon=_number(cells.get("lon"), "lon"),
            external_id=cells["external_id"],
            occurred_at=parse_when(raw, zone),
        )
        validate_voice(voice)
        closed = row.values.get(mapping["closed_at"], "") if "closed_at" in mapping else ""
        closed_at = None
        if isinstance(closed, datetime) or closed.strip():
            closed_at = parse_when(closed, zone, "closed_at").astimezone(UTC)
    except ValidationFailed as exc:
        named = f" [{ident}]" if ident else ""
        raise ValidationFailed(f"row {row.number}{named}: {exc.message}") from None
    assert voice.occurred_at is not None and voice.external_id is not None
    at = voice.occurred_at.astimezone(UTC)
    probe = matching_probe(
        params, text=voice.text, title=voice.title, at=at, lat=voice.lat, lon=voice.lon
    )
    return _Read(at, row.number, voice.external_id, signature_bytes(probe.signature),
                 voice.lat, voice.lon, cells.get("category") or None, closed_at)


def _number(text: str | None, name: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(f"{name} {text!r} is not a number") from None


def _order(row: _Read) -> tuple[datetime, int]:
    return row.at, row.position


def _in_time_order(rows: Iterable[_Read], chunk_rows: int) -> Iterator[_Read]:
    """The rows by time, ties in file order: sorted in memory when they fit in one chunk,
    else in sorted runs on disk merged back (``heapq.merge`` reads one row of each at a
    time)."""
    with ExitStack() as stack:
        runs: list[IO[bytes]] = []
        chunk: list[_Read] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                chunk.sort(key=_order)
                runs.append(_spill(chunk, stack.enter_context(tempfile.TemporaryFile())))
                chunk = []
        chunk.sort(key=_order)
        if not runs:
            yield from chunk
            return
        yield from heapq.merge(*(_unspill(run) for run in runs), chunk, key=_order)


def _spill(rows: list[_Read], run: IO[bytes]) -> IO[bytes]:
    pickler = pickle.Pickler(run, protocol=pickle.HIGHEST_PROTOCOL)
    for row in rows:
        pickler.dump(tuple(row))
        pickler.clear_memo()
    run.flush()
    run.seek(0)
    return run


def _unspill(run: IO[bytes]) -> Iterator[_Read]:
    unpickler = pickle.Unpickler(run)
    while True:
        try:
            yield _Read(*unpickler.load())
        except EOFError:
            return
