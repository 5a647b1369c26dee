"""The leader's brief: what one ISO week brought, as figures in no language.

The brief is a read model (frozen dataclasses) that ``reports/brief_document.py`` renders to
HTML and PDF in Chinese or English, and that the staff page, ``civicpulse brief`` and the
weekly mail share. Every figure comes from the rule that defines it elsewhere, never a copy:

* **volume and trend**: voices per day of the week and of the eight weeks before, counted on
  the city's calendar (``timezone``), by when the resident said it (``occurred_at``, else
  when it was received);
* **top concerns** (``services/concerns.py``, ranked by their explainable score), each with
  its rank the week before, or none when it was not on that week's list;
* **new bursts**: significant rises of a category against its own history
  (``insight/bursts.py``, with its false-discovery control) that started in the week;
* **hotspots** of unresolved cases (``services/hotspots.py``: Getis–Ord Gi*);
* **departments**: the scorecards (``services/scorecards.py``) of the cases they received in
  the :data:`SCORECARD_WEEKS` weeks ending with this one, since a resident's verdict comes
  days after a resolution and a week's own cases would show almost none;
* **overdue**: the inbox's rule (``services/queries.overdue_clause``) at the week's end,
  among cases still awaiting action;
* **not fixed**: residents' verdicts of the week that said "not fixed", with what they wrote
  in its public form;
* **formalism**: the formalism audit's public figures (``services/formalism.py``: rates and
  flag counts per department, no case, no person) over ``formalism_period_days`` ending
  with the week.

Only public text: case titles and residents' comments pass the privacy gate
(``services/public_text.py``), concerns carry their public label, and no contact, tracking
code, voice text or voice id is read. Department, category and area names come with the
brief in both languages; choosing one is the renderer's business.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from civicpulse.domain.errors import NotFound
from civicpulse.domain.roles import Actor, require_brief_reader
from civicpulse.domain.weeks import IsoWeek, last_complete_week
from civicpulse.domain.workflow import Action, CaseStatus
from civicpulse.insight.burst_follow import RaisedBurst, follow_bursts
from civicpulse.insight.bursts import BurstParams, detect_bursts
from civicpulse.insight.scorecard import ScorecardRow
from civicpulse.services.bursts import daily_counts
from civicpulse.services.concerns import concern_detail, top_concerns
from civicpulse.services.formalism import formalism_summary
from civicpulse.services.formalism_views import FormalismSummary
from civicpulse.services.hotspots import city_hotspots
from civicpulse.services.public_text import shown
from civicpulse.services.public_views import AreaOutline, area_outlines, catalogue_names
from civicpulse.services.queries import overdue_clause
from civicpulse.services.scorecards import department_scorecards
from civicpulse.storage.tables import (
    Case,
    CaseEvent,
    Category,
    Department,
    Topic,
    Verification,
    Voice,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from civicpulse.infra.context import Context

#: weeks of the volume trend: the brief's week and the eight before it
TREND_WEEKS = 9
#: weeks of received cases the department figures judge (see the module's docstring)
SCORECARD_WEEKS = 4
TOP_CONCERNS = 10
TOP_HOTSPOTS = 10
#: the most overdue and not-fixed cases listed by name; the totals count them all
LISTED_CASES = 25


@dataclass(frozen=True)
class DayVolume:
    day: date
    voices: int
    in_week: bool  # the brief's own week, not the trend before it


@dataclass(frozen=True)
class WeekVolume:
    week: IsoWeek
    voices: int


@dataclass(frozen=True)
class Headline:
    voices: int
    voices_week_before: int
    new_cases: int  # opened in the week and not merged into another since
    resolved: int  # cases a department said were resolved in the week
    confirmed: int  # residents' "fixed" verdicts given in the week
    not_fixed: int  # residents' "not fixed" verdicts given in the week
    overdue: int  # cases overdue at the week's end that still await action

    @property
    def change(self) -> float | None:
        """Voices against the week before, as a fraction; None when that week had none."""
        if not self.voices_week_before:
            return None
        return (self.voices - self.voices_week_before) / self.voices_week_before


@dataclass(frozen=True)
class ConcernLine:
    rank: int
    previous_rank: int | None  # None: not on the week before's list
    key: str
    label: str  # public; empty while its case's title is being checked
    residents: int
    supports: int
    voices: int  # in all, since it began
    voices_week: int  # in the brief's week (weeks of the concern's trend: Monday, UTC)
    voices_week_before: int
    departments: tuple[str, ...]
    case_ids: tuple[int, ...]  # public, as on /cases

    @property
    def movement(self) -> int | None:
        """Places climbed since the week before (negative: fell); None when new."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass(frozen=True)
class BurstLine:
    kind: str  # "category", "area" or "topic" (the bursts service's series)
    code: str  # the category's or area's code, or the topic's key
    start: date  # the window that first showed it
    end: date
    observed: int
    expected: float
    ratio: float
    q_value: float


@dataclass(frozen=True)
class HotspotLine:
    rank: int
    lat: float
    lon: float
    south: float
    west: float
    north: float
    east: float
    cases: int
    voices: int
    z: float


@dataclass(frozen=True)
class OverdueCase:
    case_id: int
    title: str | None  # public form; None while it is being checked
    category: str | None
    department: str | None
    resolution_due: datetime
    days_overdue: int


@dataclass(frozen=True)
class NotFixedCase:
    case_id: int
    title: str | None  # public form; None while it is being checked
    category: str | None
    department: str | None  # the department that had said "resolved"
    at: datetime
    satisfaction: int
    comment: str | None  # the resident's words in their public form; None if none or unchecked


@dataclass(frozen=True)
class Brief:
    week: IsoWeek
    start: datetime  # the week's first moment, city time, as UTC
    end: datetime  # the next week's first moment
    timezone: str
    made_at: datetime
    headline: Headline
    days: tuple[DayVolume, ...]  # every day of the trend, oldest first
    weeks: tuple[WeekVolume, ...]  # the trend's weeks, oldest first
    concerns: tuple[ConcernLine, ...]
    bursts: tuple[BurstLine, ...]
    hotspots: tuple[HotspotLine, ...]
    hotspot_cell_m: float  # the statistic's cells, neighbour distance and false-discovery rate
    hotspot_band_m: float
    hotspot_fdr: float
    hotspot_cases: int  # open cases with a place that the statistic read
    areas: tuple[AreaOutline, ...]
    scorecard_since: date  # first day of the received cases the department rows judge
    scorecard_min_sample: int  # below it a rate is withheld
    departments: tuple[ScorecardRow, ...]  # departments that received a case, busiest first
    overdue: tuple[OverdueCase, ...]  # most overdue first, at most LISTED_CASES
    overdue_by_department: tuple[tuple[str, int], ...]  # "" for no department, most first
    not_fixed: tuple[NotFixedCase, ...]  # at most LISTED_CASES, in the order given
    #: display names by kind ("categories", "departments", "areas"), code and language
    names: Mapping[str, Mapping[str, Mapping[str, str]]]
    #: the formalism audit's rates and flag counts over the days ending with the week
    formalism: FormalismSummary | None = None
    formalism_since: date | None = None  # its first day, city time

    def name(self, kind: str, code: str | None, lang: str) -> str:
        """A code's display name in ``lang``; the code itself when the catalogue has none."""
        if not code:
            return ""
        entry = self.names.get(kind, {}).get(code)
        if entry is None:
            return code
        return entry.get(lang) or entry.get("en") or code


def week_bounds(week: IsoWeek, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The week's first moment and the next week's, on the city's calendar, in UTC."""
    return _midnight(week.monday, zone), _midnight(week.monday + timedelta(days=7), zone)


def default_week(ctx: Context) -> IsoWeek:
    """The last week that has ended, on the city's calendar."""
    return last_complete_week(ctx.now().astimezone(_zone(ctx)).date())


def leader_brief(ctx: Context, actor: Actor, week: IsoWeek | None = None) -> Brief:
    """The brief of ``week`` (by default the last complete one) for a leader, an admin or
    the system; anyone else is refused."""
    require_brief_reader(actor)
    zone = _zone(ctx)
    week = week or default_week(ctx)
    start, end = week_bounds(week, zone)
    now = ctx.now()
    days = _days(ctx, zone, week, end)
    weekly: Counter[IsoWeek] = Counter()
    for d in days:
        weekly[IsoWeek.of(d.day)] += d.voices
    trend = tuple(
        WeekVolume(w, weekly[w]) for w in (week.shifted(i - TREND_WEEKS + 1)
                                           for i in range(TREND_WEEKS))
    )
    at = min(now, end)
    overdue, overdue_by_department, overdue_total = _overdue(ctx, at)
    not_fixed, not_fixed_total = _not_fixed(ctx, start, end)
    resolved, confirmed, new_cases = _activity(ctx, start, end)
    scorecard_since_day = week.shifted(-(SCORECARD_WEEKS - 1)).monday
    hotspots = city_hotspots(ctx, until=end)
    names = catalogue_names(ctx)
    areas = area_outlines(ctx)
    names["areas"] = {code: dict(label) for code, label, _ in areas}
    bursts = _week_bursts(ctx, week)
    names["topics"] = _topic_labels(ctx, [b.code for b in bursts if b.kind == "topic"])
    return Brief(
        week=week,
        start=start,
        end=end,
        timezone=ctx.settings.timezone,
        made_at=now,
        headline=Headline(
            voices=trend[-1].voices,
            voices_week_before=trend[-2].voices,
            new_cases=new_cases,
            resolved=resolved,
            confirmed=confirmed,
            not_fixed=not_fixed_total,
            overdue=overdue_total,
        ),
        days=days,
        weeks=trend,
        concerns=_concerns(ctx, week, start, end, week_bounds(week.shifted(-1), zone)[0]),
        bursts=bursts,
        hotspots=tuple(
            HotspotLine(
                rank=h.rank, lat=h.place.lat, lon=h.place.lon, south=h.south, west=h.west,
                north=h.north, east=h.east, cases=h.cases, voices=h.voices, z=h.z,
            )
            for h in hotspots.hotspots[:TOP_HOTSPOTS]
        ),
        hotspot_cell_m=hotspots.cell_m,
        hotspot_band_m=hotspots.band_m,
        hotspot_fdr=hotspots.fdr,
        hotspot_cases=hotspots.cases,
        areas=tuple(areas),
        scorecard_since=scorecard_since_day,
        scorecard_min_sample=ctx.settings.scorecard_min_sample,
        departments=_departments(ctx, _midnight(scorecard_since_day, zone), end),
        overdue=overdue,
        overdue_by_department=overdue_by_department,
        not_fixed=not_fixed,
        names=names,
        formalism=formalism_summary(
            ctx, end - timedelta(days=ctx.settings.formalism_period_days), end),
        formalism_since=week.monday + timedelta(days=7 - ctx.settings.formalism_period_days),
    )


# ---- the parts --------------------------------------------------------------------------


def _zone(ctx: Context) -> ZoneInfo:
    return ZoneInfo(ctx.settings.timezone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _days(
    ctx: Context, zone: ZoneInfo, week: IsoWeek, until: datetime
) -> tuple[DayVolume, ...]:
    """Voices per day of the trend on the city's calendar, by when the resident said it: the
    time they gave (an import's, an Open311 partner's), else when it arrived."""
    first = week.shifted(-(TREND_WEEKS - 1)).monday
    said = func.coalesce(Voice.occurred_at, Voice.received_at)
    with ctx.db.reader() as s:
        counts = Counter(
            _as_utc(at).astimezone(zone).date()
            for (at,) in s.execute(
                select(said).where(said >= _midnight(first, zone), said < until)
            )
        )
    return tuple(
        DayVolume(day, counts.get(day, 0), day >= week.monday)
        for day in (first + timedelta(days=i) for i in range(7 * TREND_WEEKS))
    )


def _as_utc(at: datetime) -> datetime:
    """A coalesced timestamp as an aware datetime: SQLite hands a bare one back through
    ``coalesce``, which bypasses the column's UTC type."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _activity(ctx: Context, start: datetime, end: datetime) -> tuple[int, int, int]:
    """(cases resolved, "fixed" verdicts, new cases not merged since) in the week."""
    with ctx.db.reader() as s:
        resolved = s.scalar(
            select(func.count(func.distinct(CaseEvent.case_id))).where(
                CaseEvent.kind == Action.RESOLVE.value,
                CaseEvent.created_at >= start,
                CaseEvent.created_at < end,
            )
        )
        confirmed = s.scalar(
            select(func.count()).select_from(Verification).where(
                Verification.fixed.is_(True),
                Verification.created_at >= start,
                Verification.created_at < end,
            )
        )
        new_cases = s.scalar(
            select(func.count()).select_from(Case).where(
                Case.created_at >= start,
                Case.created_at < end,
                Case.status != CaseStatus.MERGED.value,
            )
        )
    return int(resolved or 0), int(confirmed or 0), int(new_cases or 0)


def _concerns(
    ctx: Context, week: IsoWeek, start: datetime, end: datetime, before: datetime
) -> tuple[ConcernLine, ...]:
    """The week's top concerns and each one's place on the week before's list. The public
    view (no actor): labels through the privacy gate, no voice ids."""
    now = top_concerns(ctx, None, top=TOP_CONCERNS, since=start, until=end)
    earlier = top_concerns(ctx, None, top=TOP_CONCERNS, since=before, until=start)
    previous = {c.key: c.rank for c in earlier}
    lines = []
    for c in now:
        weekly = _concern_weeks(ctx, c.key)
        lines.append(ConcernLine(
            rank=c.rank,
            previous_rank=previous.get(c.key),
            key=c.key,
            label=c.label,
            residents=c.residents,
            supports=c.supports,
            voices=c.voices,
            voices_week=weekly.get(week.monday, 0),
            voices_week_before=weekly.get(week.shifted(-1).monday, 0),
            departments=tuple(c.departments),
            case_ids=tuple(c.case_ids),
        ))
    return tuple(lines)


def _concern_weeks(ctx: Context, key: str) -> dict[date, int]:
    """A concern's voices per week (by the Monday its week starts on), from its trend."""
    try:
        detail = concern_detail(ctx, None, key)
    except NotFound:  # refreshed away between the list and now
        return {}
    return {w.week_start.date(): w.voices for w in detail.weeks}


#: the burst test's parameters (``insight/bursts.py``'s defaults) and how many quiet days
#: still continue a burst
BURSTS = BurstParams()
BURST_GAP_DAYS = 2


def _burst_days(week: IsoWeek) -> tuple[date, date]:
    """(first day of history, first day tested) for the bursts that start in ``week``: the
    test starts a few days early so that a burst already under way on Monday is known as
    one and not reported as new."""
    lead_in = max(BURSTS.windows) + BURST_GAP_DAYS + 1
    first_tested = week.monday - timedelta(days=lead_in)
    return first_tested - timedelta(days=BURSTS.history_days + max(BURSTS.windows)), first_tested


def _week_bursts(ctx: Context, week: IsoWeek) -> tuple[BurstLine, ...]:
    """Rises that *started* in the week, one line per burst however many days it lasted:
    the bursts service's series (categories, areas, topics, counted by ``daily_counts``)
    tested by ``insight/bursts.py`` on every day of the week, each burst followed from day
    to day as the background step follows the ones it raises. Recomputed rather than read
    from the alerts table, so the brief of any week has them, the weeks before the job ran
    included."""
    params, gap_days = BURSTS, BURST_GAP_DAYS
    first_day, first_tested = _burst_days(week)
    series = daily_counts(ctx, first_day, week.sunday)
    if not series:
        return ()
    found = detect_bursts(
        series,
        first_tested,
        until=week.sunday,
        first_day=first_day,
        params=params,
    )
    raised: tuple[RaisedBurst, ...] = ()
    lines = []
    day = first_tested
    while day <= week.sunday:
        update = follow_bursts([b for b in found if b.end == day], raised, day, gap_days)
        raised = update.open
        lines += [
            BurstLine(
                kind=burst.series.partition(":")[0], code=burst.series.partition(":")[2],
                start=burst.start,
                end=burst.end, observed=burst.observed, expected=round(burst.expected, 1),
                ratio=round(burst.ratio, 2), q_value=burst.q_value,
            )
            for burst, _ in update.new
            if burst.start >= week.monday
        ]
        day += timedelta(days=1)
    return tuple(sorted(lines, key=lambda b: (-b.ratio, b.code)))


def _topic_labels(ctx: Context, keys: list[str]) -> dict[str, dict[str, str]]:
    """The public labels of the topics named (phrases several residents used), as names."""
    if not keys:
        return {}
    with ctx.db.reader() as s:
        return {
            key: {"en": label, "zh": label}
            for key, label in s.execute(select(Topic.key, Topic.label).where(Topic.key.in_(keys)))
        }


def _departments(ctx: Context, since: datetime, until: datetime) -> tuple[ScorecardRow, ...]:
    rows = department_scorecards(ctx, since, until)
    return tuple(
        sorted((r for r in rows if r.cases_received), key=lambda r: (-r.cases_received,
                                                                     r.department))
    )


def _codes(s: Session, model: type[Category] | type[Department]) -> dict[int, str]:
    return {int(i): str(c) for i, c in s.execute(select(model.id, model.code))}


def _overdue(
    ctx: Context, at: datetime
) -> tuple[tuple[OverdueCase, ...], tuple[tuple[str, int], ...], int]:
    """The most overdue cases at ``at`` (listed), the count per department, and the total."""
    rule = overdue_clause(at)
    with ctx.db.reader() as s:
        departments = _codes(s, Department)
        categories = _codes(s, Category)
        per_department = [
            (departments.get(dept, "") if dept is not None else "", int(n))
            for dept, n in s.execute(
                select(Case.department_id, func.count()).where(rule)
                .group_by(Case.department_id)
            )
        ]
        rows = s.execute(
            select(Case.id, Case.public_title, Case.title, Case.category_id, Case.department_id,
                   Case.resolution_due)
            .where(rule)
            .order_by(Case.resolution_due, Case.id)
            .limit(LISTED_CASES)
        ).all()
    listed = tuple(
        OverdueCase(
            case_id=int(case_id),
            title=shown(public_title, title),
            category=categories.get(category_id) if category_id else None,
            department=departments.get(department_id) if department_id else None,
            resolution_due=due,
            days_overdue=max(0, (at - due).days),
        )
        for case_id, public_title, title, category_id, department_id, due in rows
        if due is not None  # the rule's own condition; here for the type
    )
    by_department = tuple(sorted(per_department, key=lambda kv: (-kv[1], kv[0])))
    return listed, by_department, sum(n for _, n in per_department)


def _not_fixed(
    ctx: Context, start: datetime, end: datetime
) -> tuple[tuple[NotFixedCase, ...], int]:
    """Residents' "not fixed" verdicts of the week (listed, oldest first) and their count;
    what each resident wrote is read from the verdict's timeline entry, in its public form."""
    in_week = (
        Verification.fixed.is_(False),
        Verification.created_at >= start,
        Verification.created_at < end,
    )
    with ctx.db.reader() as s:
        total = int(s.scalar(select(func.count()).select_from(Verification).where(*in_week))
                    or 0)
        departments = _codes(s, Department)
        categories = _codes(s, Category)
        rows = s.execute(
            select(Verification.case_id, Verification.resolution_number,
                   Verification.department_id, Verification.satisfaction,
                   Verification.comment, Verification.created_at, Case.public_title, Case.title,
                   Case.category_id)
            .join(Case, Case.id == Verification.case_id)
            .where(*in_week)
            .order_by(Verification.created_at, Verification.id)
            .limit(LISTED_CASES)
        ).all()
        said: dict[tuple[int, int], str | None] = {}
        case_ids = sorted({r.case_id for r in rows})
        if case_ids:
            for case_id, data, public_message, message in s.execute(
                select(CaseEvent.case_id, CaseEvent.data, CaseEvent.public_message,
                       CaseEvent.message)
                .where(CaseEvent.case_id.in_(case_ids),
                       CaseEvent.kind == Action.DISPUTE.value)
            ):
                number = (data or {}).get("resolution_number")
                if isinstance(number, int):
                    said[(case_id, number)] = shown(public_message, message)
    listed = tuple(
        NotFixedCase(
            case_id=int(r.case_id),
            title=shown(r.public_title, r.title),
            category=categories.get(r.category_id) if r.category_id else None,
            department=departments.get(r.department_id) if r.department_id else None,
            at=r.created_at,
            satisfaction=int(r.satisfaction),
            comment=said.get((r.case_id, r.resolution_number)) if r.comment else None,
        )
        for r in rows
    )
    return listed, total
