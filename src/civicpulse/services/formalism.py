"""The formalism audit as readers use it: the public's per-department rates, staff's report
with every flag and its evidence, one case's flags, and a department's explanation.

What each flag means is in ``insight/formalism_patterns.py``,
``insight/formalism_departments.py`` and ``docs/guide/formalism.md``;
how the facts are read, in ``formalism_facts.py``. The public figures carry no case and no
person. Staff read the report: admins, dispatchers, auditors and leaders the whole city's,
officers their own departments' flags and people (every department's rates are public
anyway). The CLI acts as the system and reads everything.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from civicpulse.domain import limits
from civicpulse.domain.errors import NotFound, PermissionDenied, ValidationFailed
from civicpulse.domain.roles import Actor, can_read_all_cases, check_case_visible, require_staff
from civicpulse.insight.formalism_departments import (
    Closure,
    bulk_closures,
    unconfirmed_share,
)
from civicpulse.insight.formalism_patterns import Flag, FlagKind, Period
from civicpulse.services import formalism_facts as facts
from civicpulse.services.formalism_audit import (
    Audit,
    case_audit,
    default_period,
    department_rates,
    officer_rates,
    outcomes,
    run_audit,
    thresholds_from,
)
from civicpulse.services.formalism_explanations import (
    check_may_explain,
    department_id_of,
    explanations_for,
    may_explain,
    parse_key,
    store_explanation,
)
from civicpulse.services.formalism_published import keep_summary, kept_age, kept_summary
from civicpulse.services.formalism_views import (
    CaseFormalism,
    ExplanationView,
    FlagView,
    FormalismReport,
    FormalismSummary,
)
from civicpulse.storage.tables import Case, Department

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


def _check_period(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        limits.check_moment(name, value)
    if since is not None and until is not None and since >= until:
        raise ValidationFailed("since must be before until")


def _thresholds(ctx: Context) -> dict[str, float]:
    th = thresholds_from(ctx.settings)
    return {
        "max_hops": th.max_hops,
        "deadline_edge_minutes": th.deadline_edge.total_seconds() / 60,
        "repeat_days": th.repeat_window.total_seconds() / 86_400,
        "bulk_hours": th.bulk_hours,
        "bulk_baseline_days": th.bulk_baseline_days,
        "bulk_ratio": th.bulk_ratio,
        "bulk_min": th.bulk_min,
        "unconfirmed_ratio": th.unconfirmed_ratio,
        "unconfirmed_margin": th.unconfirmed_margin,
        "radius_metres": ctx.settings.match_radius_metres,
    }


def _audit(ctx: Context, since: datetime | None, until: datetime | None) -> Audit:
    """The audit of a period, recomputed at most every ``public_aggregate_cache_seconds``
    per process, like the league table's scorecards: it reads the period's history (12 s
    for the last 90 days of a city of a million cases, ``bench/README.md``). The staff page
    and report read it; the league table and the public API read the summary the job
    runner keeps instead (``published_formalism``). Explanations are read fresh each time."""
    if ctx.settings.public_aggregate_cache_seconds <= 0:
        return run_audit(ctx, default_period(ctx, since, until))
    found: Audit = ctx.aggregates.get(
        ("formalism", since, until), lambda: run_audit(ctx, default_period(ctx, since, until))
    )
    return found


def formalism_summary(
    ctx: Context, since: datetime | None = None, until: datetime | None = None
) -> FormalismSummary:
    """The public figures over a period (by default the last ``formalism_period_days``)."""
    _check_period(since, until)
    return _summary(ctx, _audit(ctx, since, until))


_publishing = threading.Lock()


def published_formalism(
    ctx: Context, since: datetime | None = None, until: datetime | None = None
) -> FormalismSummary:
    """The public figures, as the league table, ``GET /api/v1/formalism`` and
    ``audit formalism --public`` show them: the summary the job runner keeps
    (``formalism_published.py``), never an audit run on a page request, except

    * when none has been kept yet (a fresh install, before the first "topics" pass): the
      first reader computes and keeps it, the others wait for that one;
    * with ``public_aggregate_cache_seconds`` 0 (nothing cached: tests, a demo), always
      fresh;
    * for a period asked for (``since``/``until``), which only the audit can answer."""
    if since is not None or until is not None:
        return formalism_summary(ctx, since, until)
    if ctx.settings.public_aggregate_cache_seconds <= 0:
        return _summary(ctx, run_audit(ctx, default_period(ctx, None, None)))
    kept = kept_summary(ctx)
    if kept is not None:
        return kept
    with _publishing:
        kept = kept_summary(ctx)  # another request may have kept it meanwhile
        if kept is not None:
            return kept
        found = publish_formalism(ctx, force=True)
        assert found is not None
        return found


def publish_formalism(ctx: Context, *, force: bool = False) -> FormalismSummary | None:
    """Compute the public figures over the default period and keep them, when the kept
    ones are older than ``formalism_publish_minutes`` (or ``force``); None when they were
    fresh. The job runner calls this on its "topics" beat."""
    age = kept_age(ctx)
    if not force and age is not None and age < ctx.settings.formalism_publish_minutes * 60:
        return None
    now = ctx.now()
    summary = _summary(ctx, run_audit(ctx, default_period(ctx, None, None)))
    keep_summary(ctx, summary, now)
    return summary


def _summary(ctx: Context, audit: Audit) -> FormalismSummary:
    min_sample = ctx.settings.scorecard_min_sample
    city, rows = department_rates(audit, min_sample)
    return FormalismSummary(
        since=audit.period.since, until=audit.period.until, min_sample=min_sample,
        thresholds=_thresholds(ctx), city=city, departments=rows,
    )


def _readable_departments(ctx: Context, actor: Actor) -> set[str] | None:
    """The departments whose flags and people ``actor`` may read; None: all of them."""
    if actor.kind == "system" or can_read_all_cases(actor):
        return None
    require_staff(actor)
    with ctx.db.reader() as s:
        return set(s.scalars(select(Department.code).where(
            Department.id.in_(sorted(actor.department_ids)))))


def formalism_report(
    ctx: Context,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    department: str | None = None,
) -> FormalismReport:
    """Staff's report over a period: the public figures, per officer, and the flags with
    their evidence and explanations; ``department`` narrows the flags and people to one."""
    if actor.kind != "system":
        require_staff(actor)
    _check_period(since, until)
    readable = _readable_departments(ctx, actor)
    if department is not None:
        limits.check_length("department", department, limits.CODE)
        department_id_of(ctx, department)  # NotFound for an unknown code
        if readable is not None and department not in readable:
            raise PermissionDenied("officers read only their own department's flags")
    audit = _audit(ctx, since, until)
    wanted = ({department} if department is not None else readable)
    summary = _summary(ctx, audit)
    flags = [f for f in audit.flags if wanted is None or f.department in wanted]
    people = [o for o in officer_rates(audit, ctx.settings.scorecard_min_sample)
              if wanted is None or o.department in wanted]
    return FormalismReport(
        **summary.model_dump(exclude={"city", "departments"}),
        city=summary.city, departments=summary.departments,
        officers=people, flags=flag_views(ctx, flags),
    )


def case_formalism(ctx: Context, actor: Actor, case_id: int) -> CaseFormalism:
    """The flags that name a case, for staff who may see the case."""
    require_staff(actor)
    with ctx.db.reader() as s:
        dept = s.scalar(select(Case.department_id).where(Case.id == case_id))
        exists = s.scalar(select(Case.id).where(Case.id == case_id))
    if exists is None:
        raise NotFound(f"case {case_id} not found")
    check_case_visible(actor, dept)
    return CaseFormalism(case_id=case_id, flags=flag_views(ctx, case_audit(ctx, case_id)))


def flag_views(ctx: Context, flags: list[Flag]) -> list[FlagView]:
    """The flags as readers get them, each with its explanations."""
    with ctx.db.reader() as s:
        said = explanations_for(s, (f.key for f in flags))
    return [
        FlagView(
            key=f.key, kind=f.kind.value, department=f.department, at=f.at,
            case_ids=f.case_ids, reasons=f.reasons, facts=dict(f.facts), evidence=f.evidence,
            officers=f.officers, explanations=tuple(said.get(f.key, ())),
        )
        for f in flags
    ]


# ---- explaining --------------------------------------------------------------------------


def explain_flag(ctx: Context, actor: Actor, key: str, text: str) -> ExplanationView:
    """Add the department's explanation beside a flag that stands now. Officers of the
    flagged department, dispatchers and admins; audited."""
    require_staff(actor)
    kind, case_id, department = parse_key(key)
    limits.check_length("text", text, limits.REASON, required=True)
    department_id = department_id_of(ctx, department)
    check_may_explain(actor, department_id)
    if not _stands(ctx, key, kind, case_id, department):
        raise NotFound(f"no flag {key} stands now")
    return store_explanation(ctx, actor, key, kind, case_id, department_id, text.strip())


def _stands(
    ctx: Context, key: str, kind: FlagKind, case_id: int | None, department: str
) -> bool:
    """Whether the flag ``key`` is found by the audit now (a case's flags from its own
    slice of time; a month end's from that month's closures; the unconfirmed share over
    the default period)."""
    if case_id is not None:
        return key in {f.key for f in case_audit(ctx, case_id)}
    th = thresholds_from(ctx.settings)
    now = ctx.now()
    subject = key.split(":", 2)[1]
    with ctx.db.reader() as s:
        depts, _ = facts.codes(s)
        if kind is FlagKind.BULK_CLOSURE:
            try:
                end = datetime.strptime(subject, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
            except ValueError:
                return False
            period = Period(end - timedelta(seconds=1), end + timedelta(seconds=1))
            look_back = timedelta(days=th.bulk_baseline_days, hours=th.bulk_hours)
            found = facts.resolutions(s, period, depts, look_back)
            by_dept: dict[str, list[Closure]] = {}
            for r in found:
                if r.department == department:
                    by_dept.setdefault(department, []).append(
                        Closure(r.case_id, r.at, r.actor))
            flags = bulk_closures(by_dept, period, now, ctx.settings.timezone, th)
        else:
            period = default_period(ctx, None, None)
            found = [r for r in facts.resolutions(s, period, depts, timedelta(0))
                     if period.holds(r.at)]
            flags = unconfirmed_share(outcomes(found), now, th)
    return key in {f.key for f in flags}


def explainable_departments(ctx: Context, actor: Actor | None) -> set[str]:
    """The codes of the departments whose flags ``actor`` may explain (for offering the
    form only to those who may send it)."""
    if actor is None or actor.kind != "staff":
        return set()
    with ctx.db.reader() as s:
        rows = s.execute(select(Department.id, Department.code)).all()
    return {code for dept_id, code in rows if may_explain(actor, dept_id)}
