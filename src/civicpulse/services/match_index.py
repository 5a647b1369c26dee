"""Same-problem matching against the stored index: find candidates, pick the case, store keys.

The index lives in the database (``match_keys`` and ``voice_insights``), not in a process:
several server processes see one index, a voice is findable the moment its transaction
commits, and nothing has to be rebuilt at start-up. A lookup is one indexed ``IN`` query
over the new voice's block keys, so its cost follows the size of the blocks, not of the
city's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civicpulse.domain.workflow import CaseStatus
from civicpulse.settings import Settings
from civicpulse.storage.tables import Case, MatchKey, VoiceInsight
from civicpulse.understanding.matching import (
    Judgement,
    MatchParams,
    Probe,
    judge_candidates,
    query_keys,
    reach,
    shortlist,
    signature_from_bytes,
)

#: a case in one of these states can still take in a voice about the same problem
OPEN_FOR_MATCHING = frozenset(
    {
        CaseStatus.SUBMITTED.value,
        CaseStatus.CONTESTED.value,
        CaseStatus.ASSIGNED.value,
        CaseStatus.IN_PROGRESS.value,
        CaseStatus.REOPENED.value,
    }
)
#: SQL parameters per IN list; SQLite allows 32,766 and PostgreSQL 65,535
_KEYS_PER_QUERY = 2_000


def params_from(settings: Settings) -> MatchParams:
    """The installation's matching parameters (the rest keep their reasoned defaults)."""
    return MatchParams(
        radius_m=settings.match_radius_metres,
        window_days=settings.match_window_days,
        threshold=settings.match_threshold,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored voice sharing a block with the new one, as the driver returned it."""

    voice_id: int
    case_id: int
    signature: bytes
    at: datetime | str
    lat: float | None
    lon: float | None
    category: str | None
    hits: int

    @property
    def moment(self) -> datetime:
        return _aware(self.at)

    @property
    def probe(self) -> Probe:
        return Probe(
            signature_from_bytes(self.signature), self.moment, self.lat, self.lon, self.category
        )


@dataclass(frozen=True)
class Match:
    """The open case a new voice is about, and why."""

    case_id: int
    voice_id: int
    judgement: Judgement


def find_candidates(
    session: Session,
    probe: Probe,
    params: MatchParams,
    keys: list[int] | None = None,
    exclude_case_id: int | None = None,
) -> list[Candidate]:
    """Stored voices sharing a block with ``probe`` inside its time window and (for a voice
    with a place) its bounding box (``matching.reach``), most shared blocks first, at most
    ``max_candidates`` (``matching.shortlist``).

    One query joins the keys to the insights, filters and counts shared blocks, so voices
    a block holds but the verdict would refuse anyway never leave the database. It is
    written for the driver (an ``IN`` list on SQLite, ``= ANY(array)`` on PostgreSQL)
    because building it through the ORM cost four times the lookup itself."""
    keys = keys if keys is not None else query_keys(probe, params)
    if not keys:
        return []
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    limits = reach(probe, params)
    bounds: list[Any] = [_db_time(limits.earliest, postgres), _db_time(limits.latest, postgres)]
    where = "vi.at >= {p} AND vi.at <= {p}"
    if limits.box is not None:
        where += (
            " AND (vi.lat IS NULL OR (vi.lat >= {p} AND vi.lat <= {p}"
            " AND vi.lon >= {p} AND vi.lon <= {p}))"
        )
        bounds += list(limits.box)
    out: list[Candidate] = []
    # the DB-API cursor itself: SQLAlchemy's statement handling cost more than the query
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        if postgres:
            filters = where.format(p="%s")
            sql = _CANDIDATES.format(keys="mk.key = ANY(%s::bigint[])", filters=filters,
                                     limit="%s")
            args: tuple[Any, ...] = (chunk, *bounds, params.max_candidates)
        else:
            filters = where.format(p="?")
            sql = _CANDIDATES.format(keys=f"mk.key IN ({','.join('?' * len(chunk))})",
                                     filters=filters, limit="?")
            args = (*chunk, *bounds, params.max_candidates)
        cursor.execute(sql, args)
        out.extend(Candidate(*row) for row in cursor.fetchall() if row[1] != exclude_case_id)
    cursor.close()
    return shortlist(out, params)


_CANDIDATES = (
    "SELECT vi.voice_id, vi.case_id, vi.signature, vi.at, vi.lat, vi.lon, vi.category, t.hits "
    "FROM (SELECT mk.voice_id, count(*) AS hits FROM match_keys mk WHERE {keys} "
    "GROUP BY mk.voice_id) t JOIN voice_insights vi ON vi.voice_id = t.voice_id "
    "WHERE {filters} ORDER BY t.hits DESC, vi.voice_id LIMIT {limit}"
)


def _db_time(at: datetime, postgres: bool) -> datetime | str:
    """A time as the driver compares it: SQLite holds UTC text in SQLAlchemy's format."""
    utc = at.astimezone(UTC)
    return utc if postgres else utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _aware(value: datetime | str) -> datetime:
    """A driver's timestamp as aware UTC (SQLite hands back the stored text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def score_candidates(
    probe: Probe, candidates: list[Candidate], params: MatchParams
) -> list[tuple[Candidate, Judgement]]:
    """The candidates judged the same problem, best first (``matching.judge_candidates``):
    their signatures are read straight from the rows' bytes into one matrix."""
    if not candidates:
        return []
    sigs = np.frombuffer(b"".join(c.signature for c in candidates), dtype="<u4").reshape(
        len(candidates), -1
    )
    return judge_candidates(probe, candidates, sigs, params)


def _open_case_of(session: Session, case_id: int) -> int | None:
    """The open case a stored voice now belongs to: its own, or the one it was merged into."""
    seen: set[int] = set()
    current: int | None = case_id
    while current is not None and current not in seen:
        seen.add(current)
        row = session.execute(
            select(Case.status, Case.merged_into_id).where(Case.id == current)
        ).first()
        if row is None:
            return None
        status, merged_into = row
        if status in OPEN_FOR_MATCHING:
            return current
        current = merged_into if status == CaseStatus.MERGED.value else None
    return None


def best_open_match(
    session: Session,
    probe: Probe,
    params: MatchParams,
    keys: list[int] | None = None,
    exclude_case_id: int | None = None,
) -> Match | None:
    """The best-scoring candidate judged the same problem whose case is still open."""
    candidates = find_candidates(session, probe, params, keys, exclude_case_id)
    for cand, verdict in score_candidates(probe, candidates, params):
        case_id = _open_case_of(session, cand.case_id)
        if case_id is not None and case_id != exclude_case_id:
            return Match(case_id=case_id, voice_id=cand.voice_id, judgement=verdict)
    return None


def store_index(
    session: Session, *, voice_id: int, keys: list[int], insight: dict[str, Any]
) -> None:
    """Write a voice's insight row and its block keys (Core inserts: the intake hot path)."""
    conn = session.connection()
    conn.execute(insert(VoiceInsight), {"voice_id": voice_id, **insight})
    if keys:
        conn.execute(
            insert(MatchKey), [{"key": k, "voice_id": voice_id} for k in sorted(set(keys))]
        )
