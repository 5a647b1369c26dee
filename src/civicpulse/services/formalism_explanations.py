"""A department's explanation of a formalism flag: written by those who answer for the
department, kept beside the flag, and in the audit log.

The flag stays: an explanation does not clear it, and a newer explanation is added beside
an older one. Only the flagged department's officers, dispatchers and admins may explain
(a dispatcher routes for every department and answers for a routing; an admin for all);
auditors and leaders read, and are not offered the form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

from civicpulse.domain import limits
from civicpulse.domain.errors import NotFound, PermissionDenied, ValidationFailed
from civicpulse.domain.roles import Actor, Role, require_role
from civicpulse.insight.formalism_patterns import (
    DEPARTMENT_KINDS,
    FlagKind,
    parse_flag_key,
    subject_case,
)
from civicpulse.services.formalism_views import ExplanationView
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Department, FormalismExplanation

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from civicpulse.infra.context import Context

#: roles that may explain a flag (officers only their own department's)
EXPLAINERS = (Role.ADMIN, Role.DISPATCHER, Role.OFFICER)
_IN_CHUNK = 900


def may_explain(actor: Actor | None, department_id: int | None) -> bool:
    """Whether ``actor`` may explain a flag of the department (for offering the form)."""
    if actor is None or actor.kind != "staff" or actor.role not in EXPLAINERS:
        return False
    return actor.role is not Role.OFFICER or department_id in actor.department_ids


def check_may_explain(actor: Actor, department_id: int) -> None:
    require_role(actor, *EXPLAINERS)
    if actor.role is Role.OFFICER and department_id not in actor.department_ids:
        raise PermissionDenied("officers explain only their own department's flags")


def parse_key(key: str) -> tuple[FlagKind, int | None, str]:
    """(kind, case id or None, department code) of a flag key, or a clear refusal."""
    limits.check_length("flag", key, 200, required=True)
    parsed = parse_flag_key(key)
    if parsed is None:
        raise ValidationFailed(f"{key!r} is not a flag key (kind:subject:department)")
    kind, subject, department = parsed
    case_id = subject_case(subject)
    if (kind in DEPARTMENT_KINDS) == (case_id is not None):
        raise ValidationFailed(f"{key!r} is not a flag key (kind:subject:department)")
    return kind, case_id, department


def store_explanation(
    ctx: Context, actor: Actor, key: str, kind: FlagKind, case_id: int | None,
    department_id: int, text: str,
) -> ExplanationView:
    """Write the explanation and its audit record in one transaction (the caller checked
    that the flag exists and that the actor may explain it)."""
    now = ctx.now()
    with ctx.db.transaction() as s:
        row = FormalismExplanation(
            flag_key=key, kind=kind.value, case_id=case_id, department_id=department_id,
            text=text, author=actor.label, created_at=now,
        )
        s.add(row)
        s.flush()
        append_audit(
            s,
            actor=actor.label,
            action="formalism.explain",
            subject=f"case:{case_id}" if case_id is not None else f"department:{department_id}",
            data={"flag": key, "kind": kind.value, "explanation_id": row.id, "text": text},
            at=now,
        )
        code = s.scalar(select(Department.code).where(Department.id == department_id))
        return _view(row, code or "")


def department_id_of(ctx: Context, code: str) -> int:
    with ctx.db.reader() as s:
        found = s.scalar(select(Department.id).where(Department.code == code))
    if found is None:
        raise NotFound(f"unknown department {code!r}")
    return int(found)


def explanations_for(s: Session, keys: Iterable[str]) -> dict[str, list[ExplanationView]]:
    """The explanations filed under each of ``keys``, oldest first."""
    wanted = set(keys)
    codes = dict(s.execute(select(Department.id, Department.code)).all())
    query = select(FormalismExplanation).order_by(FormalismExplanation.id)
    if len(wanted) <= _IN_CHUNK:
        query = query.where(FormalismExplanation.flag_key.in_(sorted(wanted)))
    # else: a city's report names most flags, and explanations are few: read them all
    out: dict[str, list[ExplanationView]] = {}
    for row in s.scalars(query):
        if row.flag_key in wanted:
            out.setdefault(row.flag_key, []).append(_view(row, codes.get(row.department_id, "")))
    return out


def _view(row: FormalismExplanation, department: str) -> ExplanationView:
    return ExplanationView(
        explanation_id=row.id, flag=row.flag_key, kind=row.kind, department=department,
        case_id=row.case_id, text=row.text, author=row.author, at=row.created_at,
    )
