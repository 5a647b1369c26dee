"""POST servicerequestupdates: a back office's update, as the case commands it means.

The status words are translated here (``mapping.plan_update``); everything the update does
to the case runs in ``services.open311_updates`` as one transaction of the staff pages' own
commands, with the caller's staff identity (a bearer token, or the account the integration's
api_key acts as), so an update the caller may not fully make changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from civicpulse.channels.open311.mapping import plan_update
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import Action
from civicpulse.infra.context import Context
from civicpulse.services.case_commands import CaseCommand
from civicpulse.services.open311_updates import apply_update, update_target


@dataclass(frozen=True)
class PostedUpdate:
    service_request_id: str
    status: str
    description: str | None = None
    department: str | None = None
    duplicate_of: str | None = None


def _request_id(value: str, name: str) -> int:
    if not value.strip().isdecimal() or len(value.strip()) > 18:
        raise ValidationFailed(f"{name} must be a service request id")
    return int(value.strip())


def post_update(ctx: Context, actor: Actor, update: PostedUpdate) -> int:
    """Apply the update; returns its update_id (the last timeline entry it wrote).

    The description's length is the service's to check (``limits.TEXT`` for a reply or a
    resolution, ``limits.REASON`` for a rejection or a transfer), as for a staff form."""
    case_id = _request_id(update.service_request_id, "service_request_id")
    duplicate_of = _request_id(update.duplicate_of, "duplicate_of") if update.duplicate_of else None
    target = update_target(ctx, case_id)
    plan = plan_update(
        update.status,
        target.status,
        description=update.description,
        department=update.department,
        duplicate_of=duplicate_of,
    )
    message = (update.description or "").strip()
    department = (update.department or "").strip()
    commands = [_command(a, message, department, duplicate_of) for a in plan.actions]
    return apply_update(ctx, actor, target, commands)


def _command(
    action: Action, message: str, department: str, duplicate_of: int | None
) -> CaseCommand:
    if action in (Action.REJECT, Action.TRANSFER):
        return CaseCommand(action.value, reason=message, department=department)
    return CaseCommand(
        action.value, message=message, department=department, into_case_id=duplicate_of
    )
