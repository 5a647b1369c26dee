"""Staff actions on a case: assign, transfer, start, reply, resolve, reject, merge, unmerge.

Each action is a *change* (see ``case_change``) built here and run in its own transaction by
the ``*_case`` function of the same name; ``case_commands`` runs several of them in one
transaction for a partner's update. Two people acting on the same case at once cannot both
win: the version column turns the second write into a Conflict.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from civicpulse.domain import limits
from civicpulse.domain.errors import InvalidTransition, NotFound, ValidationFailed
from civicpulse.domain.roles import Actor, check_case_action
from civicpulse.domain.workflow import Action, CaseStatus, plan_transition
from civicpulse.infra.context import Context
from civicpulse.services.case_change import (
    ActionResult,
    Change,
    Step,
    apply_transition,
    department_by_code,
    run_changes,
    tell_residents,
    transition,
)
from civicpulse.services.public_text import public_form
from civicpulse.services.reply_checks import check_reply
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseEvent


def assigning(ctx: Context, actor: Actor, department: str) -> Change:
    limits.check_length("department", department, limits.CODE)

    def prepare(session: Session, case: Case) -> Step:
        dept = department_by_code(session, department)
        return Step(to_department_id=dept.id, data={"department": dept.code})

    return transition(ctx, actor, Action.ASSIGN, prepare)


def transferring(ctx: Context, actor: Actor, department: str, reason: str) -> Change:
    limits.check_length("department", department, limits.CODE)
    limits.check_length("reason", reason, limits.REASON)
    shown = public_form(reason)

    def prepare(session: Session, case: Case) -> Step:
        dept = department_by_code(session, department)
        if dept.id == case.department_id:
            raise ValidationFailed("the case is already with that department")
        return Step(
            message=reason,
            public=True,
            to_department_id=dept.id,
            data={"department": dept.code},
            shown_message=shown,
        )

    return transition(ctx, actor, Action.TRANSFER, prepare, reason=reason)


def starting(ctx: Context, actor: Actor) -> Change:
    return transition(ctx, actor, Action.START, lambda s, c: Step())


def replying(
    ctx: Context,
    actor: Actor,
    message: str,
    public: bool,
    case_id: int | None = None,
    sent_anyway: bool = False,
) -> Change:
    """A public reply reaches the resident; a non-public one is an internal note. A public
    reply to case ``case_id`` is assessed as an answer and the assessment kept with it."""
    limits.check_length("message", message, limits.TEXT)
    shown = public_form(message) if public else None
    data = _assessed(ctx, case_id, message, sent_anyway) if public else {}

    def prepare(session: Session, case: Case) -> Step:
        return Step(
            message=message,
            public=public,
            resident_notice="reply" if public else None,
            shown_message=shown,
            data=dict(data),
        )

    return transition(ctx, actor, Action.REPLY, prepare, public_message=message)


def resolving(
    ctx: Context, actor: Actor, message: str, case_id: int | None = None,
    sent_anyway: bool = False,
) -> Change:
    """The work is done: the message tells the resident what was done (assessed as an answer
    to case ``case_id``, and the assessment kept), and asks them whether it is fixed."""
    limits.check_length("message", message, limits.TEXT)
    shown = public_form(message)
    data = _assessed(ctx, case_id, message, sent_anyway)

    def prepare(session: Session, case: Case) -> Step:
        return Step(
            message=message,
            public=True,
            resident_notice="resolved",
            data={"resolution_number": case.resolution_count + 1, **data},
            shown_message=shown,
        )

    return transition(ctx, actor, Action.RESOLVE, prepare, public_message=message)


def _assessed(
    ctx: Context, case_id: int | None, message: str, sent_anyway: bool
) -> dict[str, Any]:
    """The reply's assessment for its timeline entry, computed before the transaction (it
    reads the resident's voice and takes about a millisecond: not to be spent holding the
    write lock)."""
    if case_id is None or not message.strip():
        return {}
    return {"reply": check_reply(ctx, case_id, message).record(sent_anyway)}


def rejecting(ctx: Context, actor: Actor, reason: str) -> Change:
    limits.check_length("reason", reason, limits.REASON)
    shown = public_form(reason)

    def prepare(session: Session, case: Case) -> Step:
        return Step(message=reason, public=True, resident_notice="rejected", shown_message=shown)

    return transition(ctx, actor, Action.REJECT, prepare, reason=reason)


def merging(ctx: Context, actor: Actor, into_case_id: int) -> Change:
    """Fold a case into another about the same problem; its residents follow the target."""

    def prepare(session: Session, case: Case) -> Step:
        return _merge_step(session, ctx, actor, case, into_case_id)

    return transition(ctx, actor, Action.MERGE, prepare)


def assign_case(
    ctx: Context, actor: Actor, case_id: int, department: str, expected_version: int | None = None
) -> ActionResult:
    change = assigning(ctx, actor, department)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)


def transfer_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    department: str,
    reason: str,
    expected_version: int | None = None,
) -> ActionResult:
    change = transferring(ctx, actor, department, reason)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)


def start_case(
    ctx: Context, actor: Actor, case_id: int, expected_version: int | None = None
) -> ActionResult:
    return run_changes(ctx, case_id, [starting(ctx, actor)], expected_version=expected_version)


def reply_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    message: str,
    public: bool,
    expected_version: int | None = None,
) -> ActionResult:
    change = replying(ctx, actor, message, public, case_id)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)


def resolve_case(
    ctx: Context, actor: Actor, case_id: int, message: str, expected_version: int | None = None
) -> ActionResult:
    change = resolving(ctx, actor, message, case_id)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)


def reject_case(
    ctx: Context, actor: Actor, case_id: int, reason: str, expected_version: int | None = None
) -> ActionResult:
    change = rejecting(ctx, actor, reason)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)


def merge_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    into_case_id: int,
    expected_version: int | None = None,
) -> ActionResult:
    change = merging(ctx, actor, into_case_id)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)


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
    planned = plan_transition(CaseStatus(case.status), Action.MERGE)
    step = _merge_step(session, ctx, actor, case, into_case_id)
    step.data.update(data or {})
    apply_transition(session, ctx, actor, case, planned, step, ctx.now())
    session.flush()


def unmerging(ctx: Context, actor: Actor, reason: str) -> Change:
    """Undo a merge (by staff or by intake matching): the case goes back to the state it
    was merged from, and its residents follow it again. Whoever may merge may undo one."""
    if not reason or not reason.strip():
        raise ValidationFailed("unmerge needs a reason")
    limits.check_length("reason", reason, limits.REASON)
    shown = public_form(reason)

    def change(session: Session, case: Case) -> dict[str, Any]:
        now = ctx.now()
        check_case_action(actor, Action.MERGE, case.department_id)
        if case.status != CaseStatus.MERGED.value or case.merged_into_id is None:
            raise InvalidTransition(f"case {case.id} is {case.status}, not merged")
        merge_event = session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == Action.MERGE.value)
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
                public_message=shown,
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
                    public_message=shown,
                    data={"case_id": case.id},
                    created_at=now,
                )
            )
        tell_residents(session, ctx, case, "reply", reason, now)
        append_audit(
            session,
            actor=actor.label,
            action="case.unmerge",
            subject=f"case:{case.id}",
            data={"from": CaseStatus.MERGED.value, "to": restored, "message": reason, **data},
            at=now,
        )
        return data

    return change


def unmerge_case(
    ctx: Context,
    actor: Actor,
    case_id: int,
    reason: str,
    expected_version: int | None = None,
) -> ActionResult:
    change = unmerging(ctx, actor, reason)
    return run_changes(ctx, case_id, [change], expected_version=expected_version)
