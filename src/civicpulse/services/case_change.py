"""The one way a case changes: inside one transaction, checked, recorded, audited.

Every staff action, a resident's verdict and a partner's Open311 update are *changes*
(functions of the open session and the locked-for-version case) run by :func:`run_changes`.
It owns the transaction, the version check and the translation of concurrent writes into
``Conflict``: the version column turns the second of two simultaneous writes into a stale
update, and PostgreSQL breaks deadlocks and serialization clashes by failing one side, which
is a conflict the caller can retry, not a server error. Several changes given together land
together or not at all, so an Open311 update that starts and replies is never half applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from civicpulse.domain.deadlines import verification_deadline
from civicpulse.domain.errors import Conflict, NotFound
from civicpulse.domain.roles import Actor, check_case_action
from civicpulse.domain.workflow import (
    CLOSED_STATES,
    Action,
    CaseStatus,
    Transition,
    plan_transition,
)
from civicpulse.infra.context import Context
from civicpulse.services.notifications import notify_department, notify_resident
from civicpulse.services.public_text import public_form
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import (
    Case,
    CaseEvent,
    CaseSupport,
    Department,
    ResidentContact,
    SupporterContact,
    Voice,
)

#: one change to a case inside a transaction someone else owns; returns data for the result
Change = Callable[[Session, Case], dict[str, Any]]

#: PostgreSQL's deadlock_detected and serialization_failure
_RETRYABLE = ("40P01", "40001")


@dataclass
class ActionResult:
    case_id: int
    status: str
    version: int
    department: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """What an action does beyond the status change, filled in by each use case."""

    message: str | None = None
    public: bool = True
    to_department_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    resident_notice: str | None = None  # template kind for the residents of the case
    #: the message as the public may see it (``public_text.public_form``), computed by the
    #: action's builder before the transaction: the name tagger takes milliseconds, too long
    #: to hold the write lock for, and cheap once per staff reply or resident verdict
    shown_message: str | None = None


def run_changes(
    ctx: Context,
    case_id: int,
    changes: Sequence[Change],
    *,
    expected_version: int | None = None,
) -> ActionResult:
    """Apply ``changes`` to one case in one transaction; all of them or none."""
    try:
        with ctx.db.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id} not found")
            if expected_version is not None and expected_version != case.version:
                raise Conflict(
                    f"case {case_id} changed (version {case.version}, you had "
                    f"{expected_version}); reload it and try again"
                )
            extra: dict[str, Any] = {}
            for change in changes:
                extra.update(change(session, case))
            session.flush()
            dept = session.get(Department, case.department_id) if case.department_id else None
            return ActionResult(
                case_id=case.id,
                status=case.status,
                version=case.version,
                department=dept.code if dept else None,
                extra=extra,
            )
    except StaleDataError as exc:
        raise Conflict(
            f"case {case_id} was changed by someone else at the same time; reload and retry"
        ) from exc
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE:
            raise Conflict(f"case {case_id} is being changed by someone else; retry") from exc
        raise


def transition(
    ctx: Context,
    actor: Actor,
    action: Action,
    prepare: Callable[[Session, Case], Step],
    *,
    reason: str | None = None,
    public_message: str | None = None,
    check_role: bool = True,
) -> Change:
    """A change that moves the case along the state machine: role, arrow, then effects."""

    def change(session: Session, case: Case) -> dict[str, Any]:
        if check_role:
            check_case_action(actor, action, case.department_id)
        planned = plan_transition(
            CaseStatus(case.status),
            action,
            reason=reason,
            public_message=public_message,
            contests_so_far=case.contest_count,
        )
        step = prepare(session, case)
        apply_transition(session, ctx, actor, case, planned, step, ctx.now())
        return step.data

    return change


def department_by_code(session: Session, code: str) -> Department:
    dept = session.scalars(select(Department).where(Department.code == code)).first()
    if dept is None:
        raise NotFound(f"unknown department {code!r}")
    return dept


def residents_of(session: Session, case_id: int) -> list[tuple[str, str | None]]:
    """(email, language) of every resident who left an address on the case's voices, and of
    every supporter who asked to be told what becomes of it."""
    rows = session.execute(
        select(ResidentContact.email, Voice.language)
        .join(Voice, Voice.id == ResidentContact.voice_id)
        .where(Voice.case_id == case_id, ResidentContact.email.is_not(None))
    ).all()
    # residents who said "me too" and asked to be told the outcome, like the reporter
    supporters = session.execute(
        select(SupporterContact.email, SupporterContact.language)
        .join(CaseSupport, CaseSupport.id == SupporterContact.support_id)
        .where(CaseSupport.case_id == case_id, SupporterContact.email.is_not(None))
        .order_by(CaseSupport.id)
    ).all()
    seen: dict[str, str | None] = {}
    for email, lang in [*rows, *supporters]:
        if email:
            seen.setdefault(email, lang)
    return list(seen.items())


def tell_residents(
    session: Session, ctx: Context, case: Case, kind: str, message: str, now: datetime
) -> None:
    """Queue a notice to every resident of the case in the caller's transaction (outbox)."""
    for email, language in residents_of(session, case.id):
        notify_resident(
            session,
            kind=kind,
            email=email,
            language=language,
            tracking_code=case.tracking_code,
            base_url=ctx.settings.public_base_url,
            case_id=case.id,
            now=now,
            message=message,
        )


def _public_form_of(step: Step) -> str | None:
    """A public message gets its public form now, so nobody waits for the background pass;
    a builder that did not compute it beforehand pays for it here."""
    if not step.public or not step.message:
        return None
    return step.shown_message if step.shown_message is not None else public_form(step.message)


def apply_transition(
    session: Session,
    ctx: Context,
    actor: Actor,
    case: Case,
    t: Transition,
    step: Step,
    now: datetime,
) -> None:
    from_department = case.department_id
    case.status = t.to_status.value
    case.updated_at = now
    if step.to_department_id is not None:
        case.department_id = step.to_department_id
    answers_resident = t.action in (Action.REPLY, Action.RESOLVE, Action.REJECT)
    if step.message and step.public and answers_resident and case.first_responded_at is None:
        case.first_responded_at = now
    if t.action is Action.RESOLVE:
        case.resolved_at = now
        case.resolution_count += 1
        case.verification_due = verification_deadline(now, ctx.settings.verification_days)
    if t.to_status in CLOSED_STATES:
        case.closed_at = now
    elif t.to_status is CaseStatus.REOPENED:
        case.reopen_count += 1
        case.closed_at = None
        case.verification_due = None
    elif t.to_status is CaseStatus.CONTESTED:
        case.contest_count += 1
        case.closed_at = None
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=t.action.value,
            actor=actor.label,
            from_status=t.from_status.value,
            to_status=t.to_status.value,
            from_department_id=from_department,
            to_department_id=case.department_id
            if case.department_id != from_department or t.action is Action.ASSIGN
            else None,
            message=step.message,
            public=step.public,
            public_message=_public_form_of(step),
            data=step.data,
            created_at=now,
        )
    )
    if step.resident_notice:
        tell_residents(session, ctx, case, step.resident_notice, step.message or "", now)
    if case.department_id != from_department or t.action is Action.ASSIGN:
        dept = session.get(Department, case.department_id) if case.department_id else None
        notify_department(
            session,
            email=dept.email if dept else None,
            subject=f"Case {case.id} {t.action.value} to your department: {case.title[:80]}",
            body=f"{step.message or ''}\n\nCase {case.id}: {case.title}",
            case_id=case.id,
            now=now,
        )
    append_audit(
        session,
        actor=actor.label,
        action=f"case.{t.action.value}",
        subject=f"case:{case.id}",
        data={
            "from": t.from_status.value,
            "to": t.to_status.value,
            "from_department": from_department,
            "to_department": case.department_id,
            "message": step.message,
            "public": step.public,
            **step.data,
        },
        at=now,
    )
