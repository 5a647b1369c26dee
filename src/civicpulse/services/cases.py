"""Use cases that move a case along the state machine.

Every action goes through ``_act``: load, check role and transition, change, record the
event, queue notifications, append to the audit log, commit. Two people acting on the same
case at once cannot both win: the version column turns the second write into a Conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from civicpulse.domain.deadlines import verification_deadline
from civicpulse.domain.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from civicpulse.domain.roles import Actor, check_case_action
from civicpulse.domain.workflow import Action, CaseStatus, Transition, plan_transition
from civicpulse.infra.context import Context
from civicpulse.services.notifications import notify_department, notify_resident
from civicpulse.services.queries import case_id_for_code
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseEvent, Department, ResidentContact, Voice


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


def _department_by_code(session: Session, code: str) -> Department:
    dept = session.scalars(select(Department).where(Department.code == code)).first()
    if dept is None:
        raise NotFound(f"unknown department {code!r}")
    return dept


def residents_of(session: Session, case_id: int) -> list[tuple[str, str | None]]:
    """(email, language) of every resident who left an address on the case's voices."""
    rows = session.execute(
        select(ResidentContact.email, Voice.language)
        .join(Voice, Voice.id == ResidentContact.voice_id)
        .where(Voice.case_id == case_id, ResidentContact.email.is_not(None))
    ).all()
    seen: dict[str, str | None] = {}
    for email, lang in rows:
        if email:
            seen.setdefault(email, lang)
    return list(seen.items())


def _act(
    ctx: Context,
    actor: Actor,
    case_id: int,
    action: Action,
    prepare: Callable[[Session, Case], Step],
    *,
    expected_version: int | None = None,
    reason: str | None = None,
    public_message: str | None = None,
    check_role: bool = True,
) -> ActionResult:
    now = ctx.now()
    try:
        with ctx.db.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id} not found")
            if check_role:
                check_case_action(actor, action, case.department_id)
            if expected_version is not None and expected_version != case.version:
                raise Conflict(
                    f"case {case_id} changed (version {case.version}, you had "
                    f"{expected_version}); reload it and try again"
                )
            transition = plan_transition(
                CaseStatus(case.status),
                action,
                reason=reason,
                public_message=public_message,
                contests_so_far=case.contest_count,
            )
            step = prepare(session, case)
            _apply(session, ctx, actor, case, transition, step, now)
            session.flush()
            dept = session.get(Department, case.department_id) if case.department_id else None
            return ActionResult(
                case_id=case.id,
                status=case.status,
                version=case.version,
                department=dept.code if dept else None,
                extra=step.data,
            )
    except StaleDataError as exc:
        raise Conflict(
            f"case {case_id} was changed by someone else at the same time; reload and retry"
        ) from exc
    except DBAPIError as exc:
        # PostgreSQL breaks a deadlock or serialization clash by failing one side: that is
        # a conflict the caller can retry, not a server error
        if getattr(exc.orig, "sqlstate", None) in ("40P01", "40001"):
            raise Conflict(f"case {case_id} is being changed by someone else; retry") from exc
        raise


def _apply(
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
    if t.to_status in (
        CaseStatus.CONFIRMED,
        CaseStatus.UNVERIFIED,
        CaseStatus.REJECTED,
        CaseStatus.MERGED,
    ):
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
            data=step.data,
            created_at=now,
        )
    )
    if step.resident_notice:
        for email, language in residents_of(session, case.id):
            notify_resident(
                session,
                kind=step.resident_notice,
                email=email,
                language=language,
                tracking_code=case.tracking_code,
                base_url=ctx.settings.public_base_url,
                case_id=case.id,
                now=now,
                message=step.message or "",
            )
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


def assign_case(
    ctx: Context, actor: Actor, case_id: int, department: str, expected_version: int | None = None
) -> ActionResult:
    def prepare(session: Session, case: Case) -> Step:
        dept = _department_by_code(session, department)
        return Step(to_department_id=dept.id, data={"department": dept.code})

    return _act(ctx, actor, case_id, Action.ASSIGN, prepare, expected_version=expected_version)


def transfer_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    department: str,
    reason: str,
    expected_version: int | None = None,
) -> ActionResult:
    def prepare(session: Session, case: Case) -> Step:
        dept = _department_by_code(session, department)
        if dept.id == case.department_id:
            raise ValidationFailed("the case is already with that department")
        return Step(
            message=reason, public=True, to_department_id=dept.id, data={"department": dept.code}
        )

    return _act(
        ctx,
        actor,
        case_id,
        Action.TRANSFER,
        prepare,
        reason=reason,
        expected_version=expected_version,
    )


def start_case(
    ctx: Context, actor: Actor, case_id: int, expected_version: int | None = None
) -> ActionResult:
    return _act(
        ctx, actor, case_id, Action.START, lambda s, c: Step(), expected_version=expected_version
    )


def reply_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    message: str,
    public: bool,
    expected_version: int | None = None,
) -> ActionResult:
    """A public reply reaches the resident; a non-public one is an internal note."""

    def prepare(session: Session, case: Case) -> Step:
        return Step(message=message, public=public, resident_notice="reply" if public else None)

    return _act(
        ctx,
        actor,
        case_id,
        Action.REPLY,
        prepare,
        public_message=message,
        expected_version=expected_version,
    )


def resolve_case(
    ctx: Context, actor: Actor, case_id: int, message: str, expected_version: int | None = None
) -> ActionResult:
    def prepare(session: Session, case: Case) -> Step:
        return Step(
            message=message,
            public=True,
            resident_notice="resolved",
            data={"resolution_number": case.resolution_count + 1},
        )

    return _act(
        ctx,
        actor,
        case_id,
        Action.RESOLVE,
        prepare,
        public_message=message,
        expected_version=expected_version,
    )


def reject_case(
    ctx: Context, actor: Actor, case_id: int, reason: str, expected_version: int | None = None
) -> ActionResult:
    def prepare(session: Session, case: Case) -> Step:
        return Step(message=reason, public=True, resident_notice="rejected")

    return _act(
        ctx,
        actor,
        case_id,
        Action.REJECT,
        prepare,
        reason=reason,
        expected_version=expected_version,
    )


def merge_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    into_case_id: int,
    expected_version: int | None = None,
) -> ActionResult:
    """Fold a case into another about the same problem; its residents follow the target."""

    def prepare(session: Session, case: Case) -> Step:
        return _merge_step(session, ctx, actor, case, into_case_id)

    return _act(ctx, actor, case_id, Action.MERGE, prepare, expected_version=expected_version)


def _merge_step(
    session: Session, ctx: Context, actor: Actor, case: Case, into_case_id: int
) -> Step:
    """What merging does besides the status change; shared by staff and intake matching."""
    if into_case_id == case.id:
        raise ValidationFailed("a case cannot be merged into itself")
    # lock the target and bump its version, so merging A→B and B→A at once cannot both win
    target = session.get(Case, into_case_id, with_for_update=True)
    if target is None:
        raise NotFound(f"case {into_case_id} not found")
    if target.status in (CaseStatus.MERGED, CaseStatus.REJECTED):
        raise ValidationFailed(f"case {into_case_id} is {target.status}; merge into an open case")
    case.merged_into_id = target.id
    target.updated_at = ctx.now()
    flag_modified(target, "updated_at")
    session.add(
        CaseEvent(
            case_id=target.id,
            kind="merged_in",
            actor=actor.label,
            public=True,
            data={"from_case_id": case.id},
            created_at=ctx.now(),
        )
    )
    return Step(data={"into_case_id": target.id}, resident_notice="merged")


def merge_within(
    session: Session,
    ctx: Context,
    actor: Actor,
    case_id: int,
    into_case_id: int,
    data: dict[str, Any] | None = None,
) -> None:
    """The same merge as :func:`merge_case`, inside a transaction the caller owns.

    Intake uses it when a new voice matches an open case: the new case is merged at once,
    in the voice's own transaction, with the matcher's reasons in the timeline and audit."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    transition = plan_transition(CaseStatus(case.status), Action.MERGE)
    step = _merge_step(session, ctx, actor, case, into_case_id)
    step.data.update(data or {})
    _apply(session, ctx, actor, case, transition, step, ctx.now())
    session.flush()


def unmerge_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    reason: str,
    expected_version: int | None = None,
) -> ActionResult:
    """Undo a merge (by staff or by intake matching): the case goes back to the state it
    was merged from, and its residents follow it again. Whoever may merge may undo one."""
    if not reason or not reason.strip():
        raise ValidationFailed("unmerge needs a reason")
    now = ctx.now()
    try:
        with ctx.db.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id} not found")
            check_case_action(actor, Action.MERGE, case.department_id)
            if expected_version is not None and expected_version != case.version:
                raise Conflict(
                    f"case {case_id} changed (version {case.version}, you had "
                    f"{expected_version}); reload it and try again"
                )
            if case.status != CaseStatus.MERGED.value or case.merged_into_id is None:
                raise InvalidTransition(f"case {case_id} is {case.status}, not merged")
            merge_event = session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == Action.MERGE.value)
                .order_by(CaseEvent.id.desc())
                .limit(1)
            ).first()
            restored = (
                merge_event.from_status
                if merge_event is not None and merge_event.from_status
                else CaseStatus.SUBMITTED.value
            )
            target_id = case.merged_into_id
            target = session.get(Case, target_id, with_for_update=True)
            case.status = restored
            case.merged_into_id = None
            case.closed_at = None
            case.updated_at = now
            data = {"from_case_id": target_id, "automatic": bool(
                merge_event is not None and (merge_event.data or {}).get("automatic")
            )}
            session.add(
                CaseEvent(
                    case_id=case.id,
                    kind="unmerged",
                    actor=actor.label,
                    from_status=CaseStatus.MERGED.value,
                    to_status=restored,
                    message=reason,
                    public=True,
                    data=data,
                    created_at=now,
                )
            )
            if target is not None:
                target.updated_at = now
                flag_modified(target, "updated_at")
                session.add(
                    CaseEvent(
                        case_id=target.id,
                        kind="split_out",
                        actor=actor.label,
                        public=True,
                        message=reason,
                        data={"case_id": case.id},
                        created_at=now,
                    )
                )
            for email, language in residents_of(session, case.id):
                notify_resident(
                    session,
                    kind="reply",
                    email=email,
                    language=language,
                    tracking_code=case.tracking_code,
                    base_url=ctx.settings.public_base_url,
                    case_id=case.id,
                    now=now,
                    message=reason,
                )
            append_audit(
                session,
                actor=actor.label,
                action="case.unmerge",
                subject=f"case:{case.id}",
                data={"from": CaseStatus.MERGED.value, "to": restored, "message": reason, **data},
                at=now,
            )
            session.flush()
            dept = session.get(Department, case.department_id) if case.department_id else None
            return ActionResult(
                case_id=case.id,
                status=case.status,
                version=case.version,
                department=dept.code if dept else None,
                extra=data,
            )
    except StaleDataError as exc:
        raise Conflict(
            f"case {case_id} was changed by someone else at the same time; reload and retry"
        ) from exc


# ---- the resident's side -------------------------------------------------------------------


def verify_resolution(
    ctx: Context,
    actor: Actor,
    tracking_code: str,
    fixed: bool,
    satisfaction: int,
    comment: str | None,
) -> ActionResult:
    """The resident's verdict: one per resolution; "not fixed" reopens the case."""
    if not 1 <= satisfaction <= 5:
        raise ValidationFailed("satisfaction must be an integer from 1 to 5")
    if comment is not None and len(comment) > 4000:
        raise ValidationFailed("comment must be at most 4000 characters")
    case_id = case_id_for_code(ctx, tracking_code)
    action = Action.CONFIRM if fixed else Action.DISPUTE

    def prepare(session: Session, case: Case) -> Step:
        from civicpulse.storage.tables import Verification

        now = ctx.now()
        if case.verification_due is not None and now > case.verification_due:
            raise ValidationFailed("the time to verify this resolution has passed")
        session.add(
            Verification(
                case_id=case.id,
                resolution_number=case.resolution_count,
                department_id=case.department_id,
                fixed=fixed,
                satisfaction=satisfaction,
                comment=comment,
                created_at=now,
            )
        )
        return Step(
            message=comment,
            public=True,
            resident_notice=None if fixed else "reopened",
            data={
                "fixed": fixed,
                "satisfaction": satisfaction,
                "resolution_number": case.resolution_count,
            },
        )

    return _act(ctx, actor, case_id, action, prepare, check_role=False)


def contest_rejection(ctx: Context, actor: Actor, tracking_code: str, reason: str) -> ActionResult:
    """A resident who thinks the city wrongly refused a case puts it back to the dispatcher."""
    case_id = case_id_for_code(ctx, tracking_code)
    return _act(
        ctx,
        actor,
        case_id,
        Action.CONTEST,
        lambda s, c: Step(message=reason, public=True),
        reason=reason,
        check_role=False,
    )


def expire_verification(ctx: Context, actor: Actor, case_id: int) -> ActionResult:
    """No verdict in time: the case becomes unverified, which never counts as confirmed."""
    return _act(
        ctx,
        actor,
        case_id,
        Action.EXPIRE_VERIFICATION,
        lambda s, c: Step(data={"resolution_number": c.resolution_count}),
        check_role=False,
    )


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
