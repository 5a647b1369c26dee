"""The deadline job: escalate overdue cases and close verification windows that ran out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from civicpulse.domain.deadlines import escalation_due, is_overdue
from civicpulse.domain.errors import DomainError
from civicpulse.domain.roles import SYSTEM
from civicpulse.domain.workflow import AWAITING_ACTION, CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services.notifications import notify_department
from civicpulse.services.verdicts import expire_verification
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseEvent, Department


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


def mark_escalated(ctx: Context, case_id: int, level_reason: str) -> bool:
    """Record an escalation without changing the state (used by the deadline job).

    The update only lands while the case is still due for one, so two workers that both
    saw it overdue escalate it once; returns whether this call did.
    """
    now = ctx.now()
    not_since = now - timedelta(hours=ctx.settings.escalation_repeat_hours)
    with ctx.db.transaction() as session:
        case = session.get(Case, case_id)
        if case is None:
            return False
        claimed = session.execute(
            update(Case)
            .where(
                Case.id == case_id,
                or_(Case.last_escalated_at.is_(None), Case.last_escalated_at <= not_since),
            )
            .values(escalation_level=Case.escalation_level + 1, last_escalated_at=now)
            .returning(Case.id)
            .execution_options(synchronize_session=False)
        ).first()
        if claimed is None:
            return False
        session.add(
            CaseEvent(
                case_id=case_id,
                kind="escalated",
                actor="system:deadlines",
                public=False,
                message=f"overdue: {level_reason}",
                data={"broken": level_reason},
                created_at=now,
            )
        )
        dept = session.get(Department, case.department_id) if case.department_id else None
        notify_department(
            session,
            email=dept.email if dept else None,
            subject=f"OVERDUE case {case_id}: {case.title[:80]}",
            body=f"The {level_reason.replace('_', ' ')} deadline of case {case_id} has passed.",
            case_id=case_id,
            now=now,
        )
        append_audit(
            session,
            actor="system:deadlines",
            action="case.escalated",
            subject=f"case:{case_id}",
            data={"broken": level_reason},
            at=now,
        )
    return True
