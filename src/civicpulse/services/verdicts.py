"""The resident's side of a case: the verdict on a resolution, and contesting a rejection.

These are the only changes a resident makes, by tracking code and without an account, so
the role check is the code itself; no verdict is counted as solved unless the resident gave
it (``expire_verification`` leaves an unanswered resolution *unverified*).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import Action
from civicpulse.infra.context import Context
from civicpulse.services.case_change import ActionResult, Step, run_changes, transition
from civicpulse.services.public_text import public_form
from civicpulse.services.queries import case_id_for_code
from civicpulse.storage.tables import Case, Verification


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
    limits.check_length("comment", comment, limits.COMMENT)
    shown = public_form(comment) if comment else None
    case_id = case_id_for_code(ctx, tracking_code)
    action = Action.CONFIRM if fixed else Action.DISPUTE

    def prepare(session: Session, case: Case) -> Step:
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
            shown_message=shown,
        )

    change = transition(ctx, actor, action, prepare, check_role=False)
    return run_changes(ctx, case_id, [change])


def contest_rejection(ctx: Context, actor: Actor, tracking_code: str, reason: str) -> ActionResult:
    """A resident who thinks the city wrongly refused a case puts it back to the dispatcher."""
    limits.check_length("reason", reason, limits.REASON)
    shown = public_form(reason)
    case_id = case_id_for_code(ctx, tracking_code)
    change = transition(
        ctx,
        actor,
        Action.CONTEST,
        lambda s, c: Step(message=reason, public=True, shown_message=shown),
        reason=reason,
        check_role=False,
    )
    return run_changes(ctx, case_id, [change])


def expire_verification(ctx: Context, actor: Actor, case_id: int) -> ActionResult:
    """No verdict in time: the case becomes unverified, which never counts as confirmed."""

    def prepare(session: Session, case: Case) -> Step:
        data: dict[str, Any] = {"resolution_number": case.resolution_count}
        return Step(data=data)

    change = transition(ctx, actor, Action.EXPIRE_VERIFICATION, prepare, check_role=False)
    return run_changes(ctx, case_id, [change])
