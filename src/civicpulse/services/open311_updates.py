"""A back office's posted Open311 update, applied as the case commands it stands for.

The channel reads the case's state (:func:`update_target`), works out which commands the
update means, and hands them here. They run through ``case_commands.perform``, the same
table and transaction the staff pages use, so roles, department limits, the timeline and the
audit are exactly those of a click, and an update that starts work *and* replies lands whole
or not at all. The version read with the state is passed on, so an update planned on a
state someone else has just changed is refused as a conflict rather than applied to the
wrong state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from civicpulse.domain.errors import NotFound
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services.case_commands import CaseCommand, perform
from civicpulse.storage.tables import Case, CaseEvent


@dataclass(frozen=True)
class UpdateTarget:
    case_id: int
    status: CaseStatus
    version: int
    #: the newest timeline entry before the update: what it writes comes after
    last_event_id: int


def update_target(ctx: Context, case_id: int) -> UpdateTarget:
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"service request {case_id} not found")
        last = s.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case_id))
        return UpdateTarget(case.id, CaseStatus(case.status), case.version, int(last or 0))


def apply_update(
    ctx: Context, actor: Actor, target: UpdateTarget, commands: Sequence[CaseCommand]
) -> int:
    """Run the commands in one transaction; returns the update's id, the id of the last
    timeline entry it wrote (what the updates feed will list it as)."""
    perform(ctx, actor, target.case_id, commands, expected_version=target.version)
    with ctx.db.reader() as s:
        written = s.scalar(
            select(func.max(CaseEvent.id)).where(
                CaseEvent.case_id == target.case_id,
                CaseEvent.actor == actor.label,
                CaseEvent.id > target.last_event_id,
            )
        )
    return int(written or target.last_event_id)
