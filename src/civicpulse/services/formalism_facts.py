"""What the formalism audit reads: a handful of grouped queries over the timeline, never one
query per case.

Each query picks its cases by a subquery over ``case_events`` (a transfer, a dispute, a
rejection, a resolution in the period), so the work follows the events of the period, and
the rows come back as plain tuples for the pure rules (``insight/formalism_patterns.py``,
``insight/formalism_departments.py``, ``insight/formalism_places.py``). Measured in
``bench/bench_formalism.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    any_,
    bindparam,
    cast,
    extract,
    func,
    literal,
    select,
    text,
    type_coerce,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from civicpulse.insight.formalism_departments import Answer
from civicpulse.insight.formalism_patterns import (
    HOLDER_KINDS,
    VERDICT_KINDS,
    Period,
    Step,
)
from civicpulse.insight.formalism_places import Spots
from civicpulse.storage.tables import Case, CaseEvent, Category, Department, VoiceInsight

#: the timeline entries the case patterns read
TIMELINE_KINDS = sorted(HOLDER_KINDS | VERDICT_KINDS | {"resolve", "reject"})
#: entries through which a department receives a case (as the scorecards count them)
RECEIVING_KINDS = ("assigned", "assign", "transfer")
_OUTCOME_KINDS = ("resolve", *sorted(VERDICT_KINDS))
#: ids per IN list (SQLite's smallest limit is 999 parameters)
_IN_CHUNK = 900


class Resolution(NamedTuple):
    """One resolution and what became of it: the next verdict's kind, or None while the
    resident may still answer."""

    event_id: int
    case_id: int
    department: str
    actor: str
    at: datetime
    outcome: str | None
    #: ``at`` in seconds since the epoch, as the same-problem arrays take it
    t: float


@dataclass
class TimelineFacts:
    """Cases whose timeline can hold a case pattern in the period, with their deadlines."""

    steps: dict[int, list[Step]] = field(default_factory=dict)
    due: dict[int, datetime | None] = field(default_factory=dict)


def _raw_time(column: Any) -> Any:
    """A timestamp column read as the driver returns it: the tables' UTC decorator costs a
    call per value, a second on a million rows; ``_utc`` below does what it must of it."""
    return type_coerce(column, DateTime(timezone=True))


def _utc(at: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL an aware moment."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _fetch(s: Session, statement: Any) -> Sequence[Any]:
    """Every row of ``statement``. On PostgreSQL straight from the driver: these columns
    need no conversion there (timestamps arrive aware), and SQLAlchemy's row objects cost
    a second per million rows."""
    result = s.connection().execute(statement)
    if s.get_bind().dialect.name == "postgresql":
        rows: Sequence[Any] = result.cursor.fetchall()
        result.close()
        return rows
    return result.all()


def roomy(s: Session) -> None:
    """Let PostgreSQL sort the period's timeline in memory (the default 4 MB spilled the
    resolutions' window to disk: a third of its time on a city of 300,000 cases). For this
    read-only transaction only."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SET LOCAL work_mem = '64MB'"))


def _epoch(s: Session, column: Any) -> Any:
    """A timestamp as seconds since the epoch, computed by the database: a float is what
    the same-problem arrays take, and a million datetimes cost seconds to make."""
    if s.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", column), Float)
    return (func.julianday(column) - 2440587.5) * 86400.0  # SQLite keeps UTC text


def _in_period(column: Any, period: Period) -> list[ColumnElement[bool]]:
    out = [column >= period.since]
    if period.until is not None:
        out.append(column < period.until)
    return out


def codes(s: Session) -> tuple[dict[int, str], dict[int, str]]:
    """Department and category codes by id."""
    depts = dict(s.execute(select(Department.id, Department.code)).all())
    cats = dict(s.execute(select(Category.id, Category.code)).all())
    return depts, cats


def timelines(
    s: Session, period: Period, depts: dict[int, str], case_ids: Sequence[int] | None = None
) -> TimelineFacts:
    """The timelines of the cases a case pattern can fire on: a department change in the
    period (ping-pong), a dispute since the period began (reopened, deadline edge: the
    verdict may come after the resolution's period) or a department's rejection in it."""
    e = CaseEvent
    queries: list[tuple[Any, Sequence[str]]]
    if case_ids is not None:
        queries = [(list(case_ids), TIMELINE_KINDS)]
    else:
        # a case passed back, or too often, has changed departments twice at least
        changed = (e.kind.in_(("transfer", "assign")), e.from_department_id.is_not(None),
                   e.to_department_id.is_not(None), e.from_department_id != e.to_department_id)
        moved = select(e.case_id).where(*changed).group_by(e.case_id).having(
            func.count() >= 2, func.max(e.created_at) >= period.since,
            *([func.min(e.created_at) < period.until] if period.until is not None else []),
        )
        disputed = select(e.case_id).where(e.kind == "dispute", e.created_at >= period.since)
        rejected = select(e.case_id).where(
            e.kind == "reject", e.from_department_id.is_not(None),
            *_in_period(e.created_at, period),
        )
        either = union(disputed, rejected).subquery().c.case_id
        # each pattern reads only its own entries: hops, or resolutions and verdicts
        queries = [(moved, sorted(HOLDER_KINDS)),
                   (select(either), sorted(VERDICT_KINDS | {"resolve", "reject"}))]
    facts = TimelineFacts()
    steps: dict[int, list[Step]] = defaultdict(list)
    roomy(s)
    for chosen, kinds in queries:
        # the deadline comes along, for the cases with a verdict to judge it by
        rows = _fetch(s, (  # fetched at once: row by row cost a second per million rows
            select(e.case_id, e.id, e.kind, _raw_time(e.created_at), e.actor,
                   e.from_department_id, e.to_department_id, e.message,
                   _raw_time(Case.resolution_due))
            .join(Case, Case.id == e.case_id)
            .where(e.case_id.in_(chosen), e.kind.in_(kinds))
            .order_by(e.case_id, e.id)
        ))
        for case_id, event_id, kind, at, actor, from_d, to_d, message, due in rows:
            steps[case_id].append(Step(
                event_id, kind, _utc(at), actor, depts.get(from_d) if from_d else None,
                depts.get(to_d) if to_d else None,
                message if kind in ("transfer", "reject") else None,
            ))
            if due is not None and kind in VERDICT_KINDS:
                facts.due[case_id] = _utc(due)
    if len(queries) > 1:
        for found in steps.values():
            found.sort(key=lambda st: st.event_id)
    facts.steps = dict(steps)
    return facts


def resolutions(
    s: Session,
    period: Period,
    depts: dict[int, str],
    look_back: timedelta,
    case_ids: Sequence[int] | None = None,
) -> list[Resolution]:
    """Every resolution from ``look_back`` before the period to its end, each with the
    kind of the verdict that followed it (one window function over the cases' resolutions
    and verdicts, in one pass of the timeline index)."""
    e = CaseEvent
    roomy(s)
    wide = Period(period.since - look_back, period.until)
    # a verdict comes after its resolution, so the entries from the period's start on hold
    # every resolution in it and what followed each (no second pass to pick the cases)
    which = ([e.case_id.in_(list(case_ids))] if case_ids is not None
             else [e.created_at >= wide.since])
    following = func.lead(e.kind).over(partition_by=e.case_id, order_by=e.id).label("next")
    inner = (
        select(e.id, e.case_id, e.kind, e.from_department_id, e.actor, e.created_at, following)
        .where(*which, e.kind.in_(_OUTCOME_KINDS))
        .subquery()
    )
    rows = _fetch(s, (
        select(inner.c.id, inner.c.case_id, inner.c.from_department_id, inner.c.actor,
               _raw_time(inner.c.created_at), inner.c.next, _epoch(s, inner.c.created_at))
        .where(inner.c.kind == "resolve", *_in_period(inner.c.created_at, wide))
    ))
    return [
        Resolution(event_id, case_id, depts[dept], actor, _utc(at),
                   following if following in VERDICT_KINDS else None, t)
        for event_id, case_id, dept, actor, at, following, t in rows
        if dept in depts
    ]


def received(s: Session, period: Period, depts: dict[int, str]) -> dict[str, int]:
    """Cases each department received in the period (the scorecards' denominator)."""
    e = CaseEvent
    rows = s.execute(
        select(e.to_department_id, func.count(func.distinct(e.case_id)))
        .where(e.kind.in_(RECEIVING_KINDS), e.to_department_id.is_not(None),
               *_in_period(e.created_at, period))
        .group_by(e.to_department_id)
    )
    return {depts[d]: n for d, n in rows if d in depts}


def handed_on(
    s: Session, period: Period, depts: dict[int, str]
) -> dict[tuple[str, str, str], int]:
    """Transfers and rejections in the period per (kind, department, person)."""
    e = CaseEvent
    rows = s.execute(
        select(e.kind, e.from_department_id, e.actor, func.count())
        .where(e.kind.in_(("transfer", "reject")), e.from_department_id.is_not(None),
               *_in_period(e.created_at, period))
        .group_by(e.kind, e.from_department_id, e.actor)
    )
    return {(kind, depts[d], actor): n for kind, d, actor, n in rows if d in depts}


def rejections(
    s: Session, period: Period, depts: dict[int, str]
) -> list[tuple[int, int, str, str, datetime, str | None]]:
    """Rejections by a department in the period: (event, case, department, person, when,
    reason)."""
    e = CaseEvent
    rows = s.execute(
        select(e.id, e.case_id, e.from_department_id, e.actor, e.created_at, e.message)
        .where(e.kind == "reject", e.from_department_id.is_not(None),
               *_in_period(e.created_at, period))
        .order_by(e.id)
    )
    return [(i, c, depts[d], a, at, m) for i, c, d, a, at, m in rows if d in depts]


def answers(
    s: Session, period: Period, depts: dict[int, str], case_ids: Sequence[int] | None = None
) -> list[Answer]:
    """The period's resolutions whose reply was assessed when written, hollow or not.

    The boolean is taken out of the JSON by the database (``json_extract`` on SQLite,
    ``->``/``->>`` on PostgreSQL, both from SQLAlchemy's JSON index), so a resolution
    without an assessment (written before assessments were kept) is left out there and
    no document crosses the wire; the recorded flags and reasons are read for the hollow
    ones only, the few the report lists."""
    e = CaseEvent
    hollow = e.data["reply"]["hollow"].as_boolean()
    which = [e.case_id.in_(list(case_ids))] if case_ids is not None else []
    rows = s.execute(
        select(e.id, e.case_id, e.from_department_id, e.actor, e.created_at, hollow)
        .where(e.kind == "resolve", *which, *_in_period(e.created_at, period),
               e.from_department_id.is_not(None), hollow.is_not(None))
    ).all()
    found = [Answer(i, c, depts[d], a, _utc(at), bool(h))
             for i, c, d, a, at, h in rows if d in depts]
    records: dict[int, Any] = {}
    for part in _id_lists(s, (x.event_id for x in found if x.hollow)):
        records.update(s.execute(
            select(e.id, e.data["reply"]).where(_among(s, e.id, part))).all())
    out = []
    for x in found:
        record = records.get(x.event_id)
        if isinstance(record, dict):
            x = x._replace(flags=tuple(str(f) for f in record.get("flags") or ()),
                           reasons=tuple(str(r) for r in record.get("reasons") or ()),
                           sent_anyway=bool(record.get("sent_anyway")))
        out.append(x)
    return out


# ---- places and words -------------------------------------------------------------------


def voices_of_cases(s: Session, case_ids: Iterable[int]) -> Spots:
    """The voices the cases were opened with (their own, not those merged in), as
    same-problem matching reads them; their moments are the caller's to give."""
    base = select(VoiceInsight.case_id, VoiceInsight.voice_id, literal(0.0), VoiceInsight.lat,
                  VoiceInsight.lon, Case.category_id).join(Case, Case.id == VoiceInsight.case_id)
    rows: list[Any] = []
    for part in _id_lists(s, case_ids):
        rows.extend(_fetch(s, base.where(_among(s, VoiceInsight.case_id, part))))
    return Spots.of(rows)


def case_voices(s: Session, since: datetime, until: datetime) -> Spots:
    """Every voice of the cases that came in (since, until), at the moment its case came
    in: the later cases of the same-problem search, and most of the earlier ones, in one
    read."""
    rows = _fetch(s, (
        select(VoiceInsight.case_id, VoiceInsight.voice_id, _epoch(s, Case.created_at),
               VoiceInsight.lat, VoiceInsight.lon, Case.category_id)
        .join(Case, Case.id == VoiceInsight.case_id)
        .where(Case.created_at > since, Case.created_at < until)
    ))
    return Spots.of(rows)


def _id_lists(s: Session, ids: Iterable[int]) -> Iterable[list[int]]:
    """``ids`` in lists one statement can take: one array on PostgreSQL, SQLite's limit."""
    wanted = sorted(set(ids))
    step = 50_000 if s.get_bind().dialect.name == "postgresql" else _IN_CHUNK
    for start in range(0, len(wanted), step):
        yield wanted[start : start + step]


def _among(s: Session, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``: an array parameter on PostgreSQL (a short statement,
    a hashable test), an IN list on SQLite."""
    if s.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(BigInteger)))
    return column.in_(ids)


def signatures(s: Session, voice_ids: Iterable[int]) -> dict[int, bytes]:
    """The stored matching signatures of the voices."""
    out: dict[int, bytes] = {}
    for part in _id_lists(s, voice_ids):
        out.update((v, bytes(sig)) for v, sig in _fetch(s, (
            select(VoiceInsight.voice_id, VoiceInsight.signature)
            .where(_among(s, VoiceInsight.voice_id, part)))))
    return out


def resolvers(
    s: Session, case_ids: Iterable[int], depts: dict[int, str]
) -> dict[int, tuple[str, str, datetime]]:
    """For each case, its first resolution that the resident did not say was not fixed:
    (department, person, when)."""
    e = CaseEvent
    out: dict[int, tuple[str, str, datetime]] = {}
    for part in _chunks(sorted(set(case_ids))):
        following = func.lead(e.kind).over(partition_by=e.case_id, order_by=e.id).label("next")
        inner = (
            select(e.id, e.case_id, e.kind, e.from_department_id, e.actor, e.created_at,
                   following)
            .where(e.case_id.in_(part), e.kind.in_(_OUTCOME_KINDS))
            .subquery()
        )
        for case_id, dept, actor, at, nxt in s.execute(
            select(inner.c.case_id, inner.c.from_department_id, inner.c.actor,
                   inner.c.created_at, inner.c.next)
            .where(inner.c.kind == "resolve")
            .order_by(inner.c.id)
        ):
            if case_id in out or nxt == "dispute" or dept not in depts:
                continue
            out[case_id] = (depts[dept], actor, at)
    return out


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield list(ids[start : start + _IN_CHUNK])
