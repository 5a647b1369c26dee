"""Who may do what. One table, so the API, CLI and pages refuse the same things."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicpulse.domain.errors import PermissionDenied
from civicpulse.domain.workflow import Action


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    AUDITOR = "auditor"
    LEADER = "leader"


@dataclass(frozen=True)
class Actor:
    """Someone acting on the system: staff (with role), a resident, an integration or a job."""

    kind: str  # "staff" | "resident" | "integration" | "system"
    name: str
    user_id: int | None = None
    role: Role | None = None
    department_ids: frozenset[int] = frozenset()

    @property
    def label(self) -> str:
        """How the actor appears in the timeline and the audit log."""
        return f"{self.kind}:{self.name}"


SYSTEM = Actor(kind="system", name="civicpulse")
RESIDENT = Actor(kind="resident", name="resident")

#: staff actions per role; officers are further limited to their own departments.
STAFF_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.DISPATCHER: frozenset(
        {Action.ASSIGN, Action.TRANSFER, Action.REJECT, Action.MERGE, Action.REPLY}
    ),
    Role.OFFICER: frozenset(
        {Action.TRANSFER, Action.START, Action.REPLY, Action.RESOLVE, Action.REJECT}
    ),
    Role.AUDITOR: frozenset(),
    Role.LEADER: frozenset(),
}

#: who reads the leader's brief (the staff page and its PDF); the operator's CLI and the
#: weekly mail act as the system
BRIEF_READERS = (Role.ADMIN, Role.LEADER)


def can_read_all_cases(actor: Actor) -> bool:
    return actor.role in (Role.ADMIN, Role.DISPATCHER, Role.AUDITOR, Role.LEADER)


def require_staff(actor: Actor) -> None:
    if actor.kind != "staff" or actor.role is None:
        raise PermissionDenied("staff login required")


def require_role(actor: Actor, *roles: Role) -> None:
    require_staff(actor)
    if actor.role not in roles:
        names = ", ".join(r.value for r in roles)
        raise PermissionDenied(f"this needs one of the roles: {names}")


def require_brief_reader(actor: Actor) -> None:
    """The brief names every department's record and every overdue case: leaders and
    admins read it, and the system (the operator's CLI, the weekly mail)."""
    if actor.kind == "system":
        return
    require_role(actor, *BRIEF_READERS)


def require_administrator(actor: Actor) -> None:
    """The catalogue, accounts and keys change only by an admin, or by the operator at the
    server's command line (a system actor: whoever runs it already holds the database).
    Checked in the services, so no future page or route can forget it."""
    if actor.kind == "system":
        return
    require_role(actor, Role.ADMIN)


def check_case_action(actor: Actor, action: Action, case_department_id: int | None) -> None:
    """Refuse a staff action the actor's role or department does not allow."""
    require_staff(actor)
    assert actor.role is not None
    if action not in STAFF_ACTIONS[actor.role]:
        raise PermissionDenied(f"role {actor.role.value} may not {action.value} cases")
    if actor.role is Role.OFFICER and case_department_id not in actor.department_ids:
        raise PermissionDenied("officers act only on their own department's cases")


def check_case_visible(actor: Actor, case_department_id: int | None) -> None:
    require_staff(actor)
    if can_read_all_cases(actor):
        return
    if case_department_id not in actor.department_ids:
        raise PermissionDenied("this case belongs to another department")
