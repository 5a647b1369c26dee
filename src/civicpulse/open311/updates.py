"""POST servicerequestupdates: a back office's update applied as the staff actions it means.

Nothing is written here: each planned action is one of the case use cases staff call from
the pages and the JSON API (``services/cases.py``), with the caller's own staff identity, so
roles, department limits, the timeline and the audit log are exactly as if the officer had
clicked. Every action of the plan is checked against the caller's role first, so an update
the caller may not fully make changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.domain.roles import Actor, check_case_action
from civicpulse.domain.workflow import Action, CaseStatus
from civicpulse.infra.context import Context
from civicpulse.open311.mapping import plan_update
from civicpulse.open311.views import latest_event_id
from civicpulse.services.cases import (
    assign_case,
    merge_case,
    reject_case,
    reply_case,
    resolve_case,
    start_case,
    transfer_case,
)
from civicpulse.storage.tables import Case


@dataclass(frozen=True)
class PostedUpdate:
    service_request_id: str
    status: str
    description: str | None = None
    department: str | None = None
    duplicate_of: str | None = None


def _request_id(value: str, name: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 18:
        raise ValidationFailed(f"{name} must be a service request id")
    return int(value.strip())


def apply_update(ctx: Context, actor: Actor, update: PostedUpdate) -> int:
    """Apply the update; returns the id of the last timeline entry it wrote (its update_id)."""
    case_id = _request_id(update.service_request_id, "service_request_id")
    duplicate_of = _request_id(update.duplicate_of, "duplicate_of") if update.duplicate_of else None
    if update.description is not None and len(update.description) > 4000:
        raise ValidationFailed("description must be at most 4000 characters")
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"service request {case_id} not found")
        status, department_id = CaseStatus(case.status), case.department_id
    plan = plan_update(
        update.status,
        status,
        description=update.description,
        department=update.department,
        duplicate_of=duplicate_of,
    )
    for action in plan.actions:
        check_case_action(actor, action, department_id)
    message = (update.description or "").strip()
    for action in plan.actions:
        _do(ctx, actor, case_id, action, message, update.department or "", duplicate_of)
    return latest_event_id(ctx, case_id)


def _do(
    ctx: Context,
    actor: Actor,
    case_id: int,
    action: Action,
    message: str,
    department: str,
    duplicate_of: int | None,
) -> None:
    if action is Action.START:
        start_case(ctx, actor, case_id)
    elif action is Action.REPLY:
        reply_case(ctx, actor, case_id, message, public=True)
    elif action is Action.RESOLVE:
        resolve_case(ctx, actor, case_id, message)
    elif action is Action.REJECT:
        reject_case(ctx, actor, case_id, message)
    elif action is Action.MERGE:
        assert duplicate_of is not None
        merge_case(ctx, actor, case_id, duplicate_of)
    elif action is Action.ASSIGN:
        assign_case(ctx, actor, case_id, department)
    elif action is Action.TRANSFER:
        transfer_case(ctx, actor, case_id, department, message)
    else:  # pragma: no cover - plan_update only plans the actions above
        raise ValidationFailed(f"an update cannot {action.value} a case")
