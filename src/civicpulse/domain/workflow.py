"""The case state machine, as a table anyone can read.

A case moves only along these arrows; everything else is refused with a clear error and
changes nothing. Keeping the table in plain Python lets us test every arrow in milliseconds
and lets the API, the CLI and the pages share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicpulse.domain.errors import InvalidTransition, ValidationFailed


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    UNVERIFIED = "unverified"
    REJECTED = "rejected"
    CONTESTED = "contested"
    MERGED = "merged"


class Action(StrEnum):
    ASSIGN = "assign"
    TRANSFER = "transfer"
    START = "start"
    REPLY = "reply"
    RESOLVE = "resolve"
    CONFIRM = "confirm"  # resident: fixed = yes
    DISPUTE = "dispute"  # resident: fixed = no -> reopened
    EXPIRE_VERIFICATION = "expire_verification"
    REJECT = "reject"
    CONTEST = "contest"  # resident contests a rejection
    MERGE = "merge"


S = CaseStatus
OPEN_WORK = frozenset({S.ASSIGNED, S.IN_PROGRESS, S.REOPENED})

#: action -> states it may start from, and the state it leads to (None: state unchanged).
TRANSITIONS: dict[Action, tuple[frozenset[CaseStatus], CaseStatus | None]] = {
    Action.ASSIGN: (frozenset({S.SUBMITTED, S.CONTESTED}), S.ASSIGNED),
    Action.TRANSFER: (OPEN_WORK, S.ASSIGNED),
    Action.START: (frozenset({S.ASSIGNED, S.REOPENED}), S.IN_PROGRESS),
    Action.REPLY: (
        frozenset({S.SUBMITTED, S.CONTESTED, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED, S.RESOLVED}),
        None,
    ),
    Action.RESOLVE: (OPEN_WORK, S.RESOLVED),
    Action.CONFIRM: (frozenset({S.RESOLVED}), S.CONFIRMED),
    Action.DISPUTE: (frozenset({S.RESOLVED}), S.REOPENED),
    Action.EXPIRE_VERIFICATION: (frozenset({S.RESOLVED}), S.UNVERIFIED),
    Action.REJECT: (
        frozenset({S.SUBMITTED, S.CONTESTED, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED}),
        S.REJECTED,
    ),
    Action.CONTEST: (frozenset({S.REJECTED}), S.CONTESTED),
    Action.MERGE: (
        frozenset({S.SUBMITTED, S.CONTESTED, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED}),
        S.MERGED,
    ),
}

#: states in which nobody owes the case any more work
CLOSED_STATES = frozenset({S.CONFIRMED, S.UNVERIFIED, S.REJECTED, S.MERGED})

#: states in which the city still owes the case action: not closed, and not waiting for the
#: resident's verdict on a resolution (deadlines, overdue counts and open maps use these)
AWAITING_ACTION = frozenset(s for s in CaseStatus if s not in CLOSED_STATES and s != S.RESOLVED)

#: how many times a resident may contest rejections of one case
MAX_CONTESTS = 1


@dataclass(frozen=True)
class Transition:
    """What an accepted action does to the case."""

    action: Action
    from_status: CaseStatus
    to_status: CaseStatus


def allowed_actions(status: CaseStatus) -> list[Action]:
    """Actions possible from ``status``, in table order (for pages and API hints)."""
    return [a for a, (sources, _) in TRANSITIONS.items() if status in sources]


def plan_transition(
    status: CaseStatus,
    action: Action,
    *,
    reason: str | None = None,
    public_message: str | None = None,
    contests_so_far: int = 0,
) -> Transition:
    """Check one action against the rules and say where it leads.

    Raises ``InvalidTransition`` when the arrow does not exist and ``ValidationFailed`` when
    a required reason or public reply is missing, so callers change nothing in either case.
    """
    sources, target = TRANSITIONS[action]
    if status not in sources:
        allowed = ", ".join(a.value for a in allowed_actions(status)) or "none"
        raise InvalidTransition(
            f"cannot {action.value} a case that is {status.value}; allowed: {allowed}"
        )
    if action in (Action.TRANSFER, Action.REJECT, Action.CONTEST) and not _filled(reason):
        raise ValidationFailed(f"{action.value} needs a reason")
    if action in (Action.RESOLVE, Action.REPLY) and not _filled(public_message):
        what = "a public reply to the resident" if action is Action.RESOLVE else "a message"
        raise ValidationFailed(f"{action.value} needs {what}")
    if action is Action.CONTEST and contests_so_far >= MAX_CONTESTS:
        raise InvalidTransition("this rejection was already contested once and upheld")
    return Transition(action=action, from_status=status, to_status=target or status)


def _filled(text: str | None) -> bool:
    return bool(text and text.strip())
