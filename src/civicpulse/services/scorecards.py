"""Gather the facts behind department scorecards from the timeline and residents' verdicts.

A department is judged on the cases it *received* in the period (routed or transferred to
it), and each case is judged on what happened while that department held it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from civicpulse.domain.deadlines import responded_on_time
from civicpulse.insight.scorecard import CaseFacts, ScorecardRow, compute_scorecards
from civicpulse.services.context import Context
from civicpulse.storage.tables import Case, CaseEvent, Department, Verification

RECEIVING_EVENTS = ("assigned", "assign", "transfer")


def department_scorecards(
    ctx: Context, since: datetime | None, until: datetime | None
) -> list[ScorecardRow]:
    with ctx.db.reader() as s:
        depts = {d.id: d.code for d in s.scalars(select(Department).order_by(Department.code))}
        q = select(CaseEvent).where(CaseEvent.kind.in_((*RECEIVING_EVENTS, "resolve")))
        if since is not None:
            q = q.where(CaseEvent.created_at >= since)
        if until is not None:
            q = q.where(CaseEvent.created_at < until)
        received: dict[tuple[int, int], bool] = {}
        transfers_out: dict[str, int] = defaultdict(int)
        for e in s.scalars(q.order_by(CaseEvent.id)):
            if e.kind == "transfer" and e.from_department_id in depts:
                transfers_out[depts[e.from_department_id]] += 1
            if e.kind in RECEIVING_EVENTS and e.to_department_id in depts:
                received[(e.case_id, e.to_department_id)] = True
        case_ids = {cid for cid, _ in received}
        cases = _load(s, Case, Case.id, case_ids)
        events_by_case: dict[int, list[CaseEvent]] = defaultdict(list)
        for e in _load(s, CaseEvent, CaseEvent.case_id, case_ids):
            events_by_case[e.case_id].append(e)
        verdicts: dict[tuple[int, int | None], list[Verification]] = defaultdict(list)
        for v in _load(s, Verification, Verification.case_id, case_ids):
            verdicts[(v.case_id, v.department_id)].append(v)
        facts = []
        for case_id, dept_id in received:
            case = cases.get(case_id)
            if case is None:
                continue
            facts.append(
                _facts(
                    case,
                    dept_id,
                    depts[dept_id],
                    events_by_case[case_id],
                    verdicts[(case_id, dept_id)],
                    ctx.now(),
                )
            )
    return compute_scorecards(
        facts, dict(transfers_out), list(depts.values()), ctx.settings.scorecard_min_sample
    )


def _load(s: Any, model: Any, column: Any, ids: set[int]) -> Any:
    """Rows whose column is in ids, fetched in chunks the databases accept."""
    ordered = sorted(ids)
    rows: list[Any] = []
    for i in range(0, len(ordered), 5000):
        rows.extend(s.scalars(select(model).where(column.in_(ordered[i : i + 5000]))))
    if model is Case:
        return {c.id: c for c in rows}
    return rows


def _facts(
    case: Case,
    dept_id: int,
    dept: str,
    events: list[CaseEvent],
    verdicts: list[Verification],
    now: datetime,
) -> CaseFacts:
    held_resolves = [e for e in events if e.kind == "resolve" and e.from_department_id == dept_id]
    first_reply = next(
        (
            e.created_at
            for e in events
            if e.public
            and e.message
            and e.kind in ("reply", "resolve", "reject")
            and e.from_department_id == dept_id
        ),
        None,
    )
    return CaseFacts(
        department=dept,
        first_response_on_time=responded_on_time(case.first_response_due, first_reply, now),
        resolved=bool(held_resolves),
        confirmed=any(v.fixed for v in verdicts),
        satisfaction=[v.satisfaction for v in verdicts],
        verdicts=len(verdicts),
        resolutions=len(held_resolves),
        reopens=sum(1 for v in verdicts if not v.fixed),
    )
