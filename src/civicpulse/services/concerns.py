"""What residents raise most: the ranked concerns, as the pages, the API and the CLI read them.

Concerns are kept up to date by :func:`refresh_concerns` (``services/concern_refresh.py``,
run by the background job and by ``civicpulse concerns``); reading them is an index scan
over the stored scores, whatever the size of the city.

Two forms of the same concern. The **public** one (anyone, the public page, an integration)
carries the label (whole words several residents used, or its case's public title, both
through the privacy gate), the score with its reasons, counts, dates, case numbers (public
anyway), departments and the place to about 100 m; never a voice's text, a contact, a voice
id or an external id. **Staff** (and the operator's CLI) also get every member voice's id and
external id; an officer gets those of their own departments' cases only.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from civicpulse.domain import limits
from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.domain.roles import Actor, Role, can_read_all_cases
from civicpulse.services.concern_parts import Reader
from civicpulse.services.concern_refresh import ConcernRun, refresh_concerns
from civicpulse.services.concern_store import rescore
from civicpulse.services.public_text import shown
from civicpulse.services.read_models import (
    ConcernCaseView,
    ConcernDetail,
    ConcernPlace,
    ConcernReason,
    ConcernView,
    ConcernWeek,
)
from civicpulse.storage.tables import (
    Case,
    CaseSupport,
    Concern,
    ConcernCase,
    Department,
    Voice,
    VoiceInsight,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from civicpulse.infra.context import Context

__all__ = ["ConcernRun", "concern_detail", "refresh_concerns", "rescore", "top_concerns"]

#: the most concerns one list returns
MAX_TOP = 500
#: weeks of a concern's trend
TREND_WEEKS = 26
_CASE_KEY = re.compile(r"^c([0-9]{1,18})$")


def _scope(actor: Actor | None) -> str:
    """"all" ids (the operator, staff who read every case), "own" (an officer: their
    departments' cases) or "public" (no ids)."""
    if actor is None:
        return "public"
    if actor.kind == "system":
        return "all"
    if actor.kind != "staff" or actor.role is None:
        return "public"
    if can_read_all_cases(actor):
        return "all"
    return "own" if actor.role is Role.OFFICER else "public"


def _check_period(since: datetime | None, until: datetime | None) -> None:
    limits.check_moment("since", since)
    limits.check_moment("until", until)
    if since and until and since >= until:
        raise ValidationFailed("since must be before until")


def top_concerns(
    ctx: Context,
    actor: Actor | None,
    *,
    top: int = 20,
    since: datetime | None = None,
    until: datetime | None = None,
    member_voices: bool = True,
) -> list[ConcernView]:
    """The highest-scored concerns, in rank order; with ``since``/``until``, those with
    voices in that period (ranked by their score as of the last refresh).
    ``member_voices=False`` leaves out the staff's list of every member voice (a board that
    shows counts and cases need not read the thousands of voices a large concern holds)."""
    if not 1 <= top <= MAX_TOP:
        raise ValidationFailed(f"top must be between 1 and {MAX_TOP}")
    _check_period(since, until)
    scope = _scope(actor)
    with ctx.db.reader() as s:
        q = select(Concern)
        if since is not None:
            q = q.where(Concern.last_at >= since)
        if until is not None:
            q = q.where(Concern.first_at < until)
        rows = s.scalars(
            q.order_by(Concern.score.desc(), Concern.residents.desc(), Concern.key).limit(top)
        ).all()
        members = _members(s, [c.id for c in rows], scope if member_voices else "public",
                           actor)
        return [_view(c, rank, members.get(c.id), scope) for rank, c in enumerate(rows, 1)]


def concern_detail(ctx: Context, actor: Actor | None, key: str) -> ConcernDetail:
    """One concern with its cases and its weekly trend. A case's key (``c<case id>``)
    still finds the concern that case is in after it joined a larger one."""
    scope = _scope(actor)
    with ctx.db.reader() as s:
        concern = _find(s, key)
        rank = 1 + int(s.scalar(
            select(func.count()).select_from(Concern).where(Concern.score > concern.score)
        ) or 0)
        members = _members(s, [concern.id], scope, actor).get(concern.id)
        view = _view(concern, rank, members, scope)
        return ConcernDetail(
            **dict(view),
            cases=_cases(s, concern.id),
            weeks=_weeks(s, concern),
        )


def _find(s: Session, key: str) -> Concern:
    if len(key) <= 64:
        found = s.scalars(select(Concern).where(Concern.key == key)).first()
        if found is not None:
            return found
        by_case = _CASE_KEY.match(key)
        if by_case:
            concern_id = s.scalar(
                select(ConcernCase.concern_id).where(ConcernCase.case_id == int(by_case[1]))
            )
            if concern_id is not None:
                held = s.get(Concern, concern_id)
                if held is not None:
                    return held
    raise NotFound(f"concern {key} not found")


class _Members:
    def __init__(self) -> None:
        self.case_ids: set[int] = set()
        self.voice_ids: list[int] = []
        self.external_ids: list[str] = []


def _members(
    s: Session, concern_ids: list[int], scope: str, actor: Actor | None
) -> dict[int, _Members]:
    out: dict[int, _Members] = defaultdict(_Members)
    if not concern_ids:
        return out
    reader = Reader(s)
    placed = reader.rows(
        lambda c: select(ConcernCase.concern_id, ConcernCase.case_id).where(c),
        ConcernCase.concern_id, concern_ids,
    )
    concern_of = {case_id: concern_id for concern_id, case_id in placed}
    for concern_id, case_id in placed:
        out[concern_id].case_ids.add(case_id)
    if scope == "public":
        return out
    visible = set(concern_of)
    if scope == "own":
        own = actor.department_ids if actor else frozenset()
        visible = {
            case_id for case_id, dept in reader.rows(
                lambda c: select(Case.id, Case.department_id).where(c), Case.id, visible)
            if dept in own
        }
    for voice_id, case_id, external_id in sorted(reader.rows(
        lambda c: select(Voice.id, Voice.case_id, Voice.external_id).where(c),
        Voice.case_id, visible,
    )):
        m = out[concern_of[case_id]]
        m.voice_ids.append(voice_id)
        if external_id is not None:
            m.external_ids.append(external_id)
    return out


def _view(c: Concern, rank: int, members: _Members | None, scope: str) -> ConcernView:
    public = scope == "public"
    digits = 3 if public else 6
    place = None
    if (c.lat is not None and c.lon is not None) or c.area:
        place = ConcernPlace(
            lat=round(c.lat, digits) if c.lat is not None else None,
            lon=round(c.lon, digits) if c.lon is not None else None,
            area=c.area,
        )
    m = members or _Members()
    return ConcernView(
        rank=rank,
        key=c.key,
        label=c.label,
        score=c.score,
        reasons=[ConcernReason(**r) for r in c.reasons],
        voices=c.voices,
        residents=c.residents,
        supports=c.supports,
        first_at=c.first_at,
        last_at=c.last_at,
        case_ids=sorted(m.case_ids),
        voice_ids=None if public else m.voice_ids,
        external_ids=None if public else m.external_ids,
        departments=list(c.departments),
        place=place,
    )


def _cases(s: Session, concern_id: int) -> list[ConcernCaseView]:
    case_ids = list(s.scalars(select(ConcernCase.case_id)
                              .where(ConcernCase.concern_id == concern_id)))
    if not case_ids:
        return []
    reader = Reader(s)
    depts = dict(s.execute(select(Department.id, Department.code)).all())
    voices = Counter(case_id for (case_id,) in reader.rows(
        lambda c: select(Voice.case_id).where(c), Voice.case_id, case_ids))
    supports = Counter(case_id for (case_id,) in reader.rows(
        lambda c: select(CaseSupport.case_id).where(c), CaseSupport.case_id, case_ids))
    rows = reader.rows(
        lambda c: select(Case.id, Case.public_title, Case.title, Case.status, Case.department_id,
                         Case.created_at).where(c),
        Case.id, case_ids,
    )
    return [
        ConcernCaseView(
            case_id=case_id,
            title=shown(public_title, title),
            status=status,
            department=depts.get(dept) if dept else None,
            created_at=created,
            voices=voices[case_id],
            supports=supports[case_id],
        )
        for case_id, public_title, title, status, dept, created in sorted(rows)
    ]


def _weeks(s: Session, concern: Concern) -> list[ConcernWeek]:
    """Voices per week (weeks start on Monday, UTC) over the concern's last active weeks."""
    last = _week_start(concern.last_at)
    first = max(_week_start(concern.first_at), last - timedelta(weeks=TREND_WEEKS - 1))
    case_ids = list(s.scalars(select(ConcernCase.case_id)
                              .where(ConcernCase.concern_id == concern.id)))
    times: list[Any] = Reader(s).rows(
        lambda c: select(func.coalesce(VoiceInsight.at, Voice.occurred_at, Voice.received_at))
        .select_from(Voice).outerjoin(VoiceInsight, VoiceInsight.voice_id == Voice.id).where(c),
        Voice.case_id, case_ids,
    )
    counts = Counter(_week_start(at) for (at,) in times)
    weeks = []
    week = first
    while week <= last:
        weeks.append(ConcernWeek(week_start=week, voices=counts.get(week, 0)))
        week += timedelta(weeks=1)
    return weeks


def _week_start(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())
