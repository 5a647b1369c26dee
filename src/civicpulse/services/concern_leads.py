"""Who leads the work on a concern, and who follows it: the staff board's two marks.

A concern often spans several departments' cases (a dark street is the lighting office's and
the roads office's); the dispatcher names the one that leads, so "everyone's problem" is not
nobody's. Naming (or clearing) the lead is a dispatcher's or an admin's decision and is
audited like a change to a case. Following is personal: any member of staff may follow a
concern, and the board lists what they follow first.

Both marks hang on the stored concern (``concerns.lead_department_id``, ``concern_follows``),
which the ranking's refresh updates in place and never rewrites these for. When regrouping
gives the problem a new key (a merge, or a topic gathering the case), the refresh passes the
marks to the concern that took its cases (``services/concern_store.py``). Kept apart from
``services/concerns.py`` so the ranking's read path stays one query whatever staff mark.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from civicpulse.domain.errors import NotFound
from civicpulse.domain.roles import Actor, Role, require_role, require_staff
from civicpulse.services.read_models import ReadModel
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Concern, ConcernCase, ConcernFollow, Department

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from civicpulse.infra.context import Context

_CASE_KEY = re.compile(r"^c([0-9]{1,18})$")
#: who may name a concern's lead department
LEAD_SETTERS = (Role.DISPATCHER, Role.ADMIN)


class ConcernMarks(ReadModel):
    """A concern's staff marks: its lead department, how many follow it and whether the
    reader does."""

    key: str
    lead_department: str | None
    followers: int
    following: bool


def may_set_lead(actor: Actor | None) -> bool:
    """Whether the board should offer ``actor`` the lead-department form."""
    return actor is not None and actor.kind == "staff" and actor.role in LEAD_SETTERS


def _concern(s: Session, key: str) -> Concern:
    """The concern by its key, or by a case's key (``c<case id>``) for the concern that case
    is in now, as ``concern_detail`` finds it."""
    found = None
    if len(key) <= 64:
        found = s.scalars(select(Concern).where(Concern.key == key)).first()
        by_case = _CASE_KEY.match(key)
        if found is None and by_case:
            concern_id = s.scalar(
                select(ConcernCase.concern_id).where(ConcernCase.case_id == int(by_case[1]))
            )
            found = s.get(Concern, concern_id) if concern_id is not None else None
    if found is None:
        raise NotFound(f"concern {key} not found")
    return found


def set_lead_department(
    ctx: Context, actor: Actor, key: str, department_code: str | None
) -> str | None:
    """Name the department that leads the work on a concern (``None`` or "" clears it);
    returns the lead's code. Dispatchers and admins only; audited."""
    if actor.kind != "system":
        require_role(actor, *LEAD_SETTERS)
    now = ctx.now()
    with ctx.db.transaction() as s:
        concern = _concern(s, key)
        department_id = None
        if department_code:
            department_id = s.scalar(
                select(Department.id).where(Department.code == department_code)
            )
            if department_id is None:
                raise NotFound(f"department {department_code} not found")
        if concern.lead_department_id == department_id:
            return department_code or None
        before = concern.lead_department_id
        concern.lead_department_id = department_id
        append_audit(
            s,
            actor=actor.label,
            action="concern.lead_set" if department_id else "concern.lead_cleared",
            subject=f"concern:{concern.key}",
            data={"key": concern.key, "department": department_code or None,
                  "before_department_id": before},
            at=now,
        )
    return department_code or None


def follow_concern(ctx: Context, actor: Actor, key: str, follow: bool) -> bool:
    """Follow (or stop following) a concern; any member of staff. Returns whether the actor
    follows it now. Following twice is one follow."""
    require_staff(actor)
    with ctx.db.transaction() as s:
        concern = _concern(s, key)
        if not follow:
            s.execute(delete(ConcernFollow).where(
                ConcernFollow.concern_id == concern.id, ConcernFollow.username == actor.name))
            return False
        exists = s.get(ConcernFollow, (concern.id, actor.name))
        if exists is None:
            try:
                with s.begin_nested():
                    s.add(ConcernFollow(concern_id=concern.id, username=actor.name,
                                        created_at=ctx.now()))
            except IntegrityError:  # the same click twice at once
                pass
    return True


def concern_marks(ctx: Context, actor: Actor, keys: list[str]) -> dict[str, ConcernMarks]:
    """The marks of the concerns ``keys`` (those that exist), as ``actor`` sees them."""
    require_staff(actor)
    if not keys:
        return {}
    with ctx.db.reader() as s:
        rows = s.execute(
            select(Concern.id, Concern.key, Department.code)
            .outerjoin(Department, Department.id == Concern.lead_department_id)
            .where(Concern.key.in_(keys))
        ).all()
        ids = [r[0] for r in rows]
        followers = dict(s.execute(
            select(ConcernFollow.concern_id, func.count())
            .where(ConcernFollow.concern_id.in_(ids)).group_by(ConcernFollow.concern_id)
        ).all())
        mine = set(s.scalars(select(ConcernFollow.concern_id).where(
            ConcernFollow.concern_id.in_(ids), ConcernFollow.username == actor.name)))
    return {
        key: ConcernMarks(key=key, lead_department=code, followers=int(followers.get(cid, 0)),
                          following=cid in mine)
        for cid, key, code in rows
    }
