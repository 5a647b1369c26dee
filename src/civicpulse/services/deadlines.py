"""The deadline job: escalate overdue cases and close verification windows that ran out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select

from civicpulse.domain.deadlines import escalation_due, is_overdue
from civicpulse.domain.errors import DomainError
from civicpulse.domain.roles import SYSTEM
from civicpulse.domain.workflow import AWAITING_ACTION, CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services.cases import expire_verification, mark_escalated
from civicpulse.storage.tables import Case


@dataclass
class DeadlineReport:
    escalated: int = 0
    unverified: int = 0


def run_deadlines(ctx: Context, limit: int = 1000) -> DeadlineReport:
    """One pass; safe to run from several workers (each change is its own transaction)."""
    now = ctx.now()
    report = DeadlineReport()
    repeat = timedelta(hours=ctx.settings.escalation_repeat_hours)
    still_owed = sorted(AWAITING_ACTION)
    with ctx.db.reader() as s:
        overdue = s.execute(
            select(
                Case.id,
                Case.first_response_due,
                Case.first_responded_at,
                Case.resolution_due,
                Case.last_escalated_at,
            )
            .where(
                Case.status.in_(still_owed),
                or_(Case.resolution_due < now, Case.first_response_due < now),
            )
            .limit(limit)
        ).all()
        expired = s.scalars(
            select(Case.id)
            .where(Case.status == CaseStatus.RESOLVED.value, Case.verification_due < now)
            .limit(limit)
        ).all()
    for case_id, fr_due, fr_at, res_due, last in overdue:
        broken = is_overdue(
            now=now,
            first_response_due=fr_due,
            first_responded_at=fr_at,
            resolution_due=res_due,
            resolved=False,
        )
        if (
            broken
            and escalation_due(now=now, last_escalated_at=last, repeat_every=repeat)
            and mark_escalated(ctx, case_id, broken)
        ):
            report.escalated += 1
    for case_id in expired:
        try:
            expire_verification(ctx, SYSTEM, case_id)
            report.unverified += 1
        except DomainError:
            continue  # the resident answered meanwhile
    return report
