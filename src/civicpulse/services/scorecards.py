"""Gather the facts behind department scorecards from the timeline and residents' verdicts.

A department is judged on the cases it *received* in the period (routed or transferred to
it), and each case is judged on what happened while that department held it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from civicpulse.domain.deadlines import responded_on_time
from civicpulse.infra.context import Context
from civicpulse.insight.scorecard import CaseFacts, ScorecardRow, compute_scorecards
from civicpulse.storage.tables import Case, CaseEvent, Department, Verification

RECEIVING_EVENTS = ("assigned", "assign", "transfer")
#: events in which a department answers the resident (and so responds, or resolves)
ANSWERING_EVENTS = ("reply", "resolve", "reject")


def published_scorecards(
    ctx: Context, since: datetime | None, until: datetime | None
) -> list[ScorecardRow]:
    """The league table the public sees, recomputed at most every
    ``public_aggregate_cache_seconds`` per process: it reads the whole period's history,
    which takes seconds on a city with 100,000 cases, and a minute-old table is fine."""
    seconds = ctx.settings.public_aggregate_cache_seconds
    if seconds <= 0:
        return department_scorecards(ctx, since, until)
    rows: list[ScorecardRow] = ctx.aggregates.get(
        ("scorecards", since, until), lambda: department_scorecards(ctx, since, until)
    )
    return rows


def department_scorecards(
    ctx: Context, since: datetime | None, until: datetime | None
) -> list[ScorecardRow]:
    """Read only the columns the formulas need, as plain rows, in four queries.

    The cases in question are picked by a subquery rather than a list of ids, so the work
    grows with the number of events in the period, not with round trips.
    """
    period = []
    if since is not None:
        period.append(CaseEvent.created_at >= since)
    if until is not None:
        period.append(CaseEvent.created_at < until)
    received_q = (
        select(CaseEvent.case_id, CaseEvent.to_department_id)
        .where(CaseEvent.kind.in_(RECEIVING_EVENTS), CaseEvent.to_department_id.is_not(None))
        .where(*period)
        .distinct()
    )
    in_period = select(received_q.subquery().c.case_id)
    now = ctx.now()
    with ctx.db.reader() as s:
        depts = dict(
            s.execute(select(Department.id, Department.code).order_by(Department.code)).all()
        )
        received = [(cid, did) for cid, did in s.execute(received_q) if did in depts]
        transfers_out: dict[str, int] = defaultdict(int)
        for dept_id, count in s.execute(
            select(CaseEvent.from_department_id, func.count())
            .where(CaseEvent.kind == "transfer", *period)
            .group_by(CaseEvent.from_department_id)
        ):
            if dept_id in depts:
                transfers_out[depts[dept_id]] += count
        due = dict(
            s.execute(select(Case.id, Case.first_response_due).where(Case.id.in_(in_period))).all()
        )
        events_by_case: dict[int, list[Any]] = defaultdict(list)
        for e in s.execute(
            select(
                CaseEvent.case_id,
                CaseEvent.kind,
                CaseEvent.from_department_id,
                CaseEvent.public,
                CaseEvent.message.is_not(None).label("has_message"),
                CaseEvent.created_at,
            )
            .where(CaseEvent.kind.in_(ANSWERING_EVENTS), CaseEvent.case_id.in_(in_period))
            .order_by(CaseEvent.id)
        ):
            events_by_case[e.case_id].append(e)
        verdicts: dict[tuple[int, int | None], list[Any]] = defaultdict(list)
        for v in s.execute(
            select(
                Verification.case_id,
                Verification.department_id,
                Verification.fixed,
                Verification.satisfaction,
            ).where(Verification.case_id.in_(in_period))
        ):
            verdicts[(v.case_id, v.department_id)].append(v)
    facts = [
        _facts(
            due.get(case_id),
            dept_id,
            depts[dept_id],
            events_by_case[case_id],
            verdicts[(case_id, dept_id)],
            now,
        )
        for case_id, dept_id in received
        if case_id in due
    ]
    return compute_scorecards(
        facts, dict(transfers_out), list(depts.values()), ctx.settings.scorecard_min_sample
    )


def _facts(
    first_response_due: datetime | None,
    dept_id: int,
    dept: str,
    events: list[Any],
    verdicts: list[Any],
    now: datetime,
) -> CaseFacts:
    held_resolves = [e for e in events if e.kind == "resolve" and e.from_department_id == dept_id]
    first_reply = next(
        (
            e.created_at
            for e in events
            if e.public
            and e.has_message
            and e.kind in ANSWERING_EVENTS
            and e.from_department_id == dept_id
        ),
        None,
    )
    return CaseFacts(
        department=dept,
        first_response_on_time=responded_on_time(first_response_due, first_reply, now),
        resolved=bool(held_resolves),
        confirmed=any(v.fixed for v in verdicts),
        satisfaction=[v.satisfaction for v in verdicts],
        verdicts=len(verdicts),
        resolutions=len(held_resolves),
        reopens=sum(1 for v in verdicts if not v.fixed),
    )
