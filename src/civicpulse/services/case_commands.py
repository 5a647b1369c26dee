"""Case actions by name, for adapters that receive the action as data.

A staff form's button and a partner's Open311 update both name an action; this table maps
each name to its use case once (a staff mark of urgency included), so the pages and Open311
cannot drift apart (they had two ``if/elif`` ladders before). Several commands given
together run in one transaction: an Open311 update that starts work and replies is applied
whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.case_change import ActionResult, Change, run_changes
from civicpulse.services.cases import (
    assigning,
    merging,
    rejecting,
    replying,
    resolving,
    starting,
    transferring,
    unmerging,
)
from civicpulse.services.urgency import marking_urgency


@dataclass(frozen=True)
class CaseCommand:
    """One named action with what it needs; fields an action does not use are ignored."""

    action: str
    message: str = ""
    reason: str = ""
    department: str = ""
    into_case_id: int | None = None
    urgent: bool = False
    #: the officer was shown that this reply looks hollow and sent it anyway
    sent_anyway: bool = False


def _merge(ctx: Context, actor: Actor, c: CaseCommand, case_id: int) -> Change:
    if c.into_case_id is None:
        raise ValidationFailed("give the number of the case to merge into")
    return merging(ctx, actor, c.into_case_id)


_BUILDERS: dict[str, Callable[[Context, Actor, CaseCommand, int], Change]] = {
    "assign": lambda ctx, a, c, _: assigning(ctx, a, c.department),
    "transfer": lambda ctx, a, c, _: transferring(ctx, a, c.department, c.reason),
    "start": lambda ctx, a, c, _: starting(ctx, a),
    "reply": lambda ctx, a, c, case: replying(ctx, a, c.message, True, case, c.sent_anyway),
    "note": lambda ctx, a, c, _: replying(ctx, a, c.message, public=False),
    "resolve": lambda ctx, a, c, case: resolving(ctx, a, c.message, case, c.sent_anyway),
    "reject": lambda ctx, a, c, _: rejecting(ctx, a, c.reason),
    "merge": _merge,
    "unmerge": lambda ctx, a, c, _: unmerging(ctx, a, c.reason),
    "urgency": lambda ctx, a, c, _: marking_urgency(ctx, a, c.urgent, c.reason),
}

#: every action name an adapter may send
COMMANDS = tuple(_BUILDERS)


def perform(
    ctx: Context,
    actor: Actor,
    case_id: int,
    commands: Sequence[CaseCommand],
    *,
    expected_version: int | None = None,
) -> ActionResult:
    """Run the commands on one case, in order, in one transaction."""
    unknown = [c.action for c in commands if c.action not in _BUILDERS]
    if unknown:
        raise ValidationFailed(f"unknown action {unknown[0]!r}")
    if not commands:
        raise ValidationFailed("no action given")
    changes = [_BUILDERS[c.action](ctx, actor, c, case_id) for c in commands]
    return run_changes(ctx, case_id, changes, expected_version=expected_version)
