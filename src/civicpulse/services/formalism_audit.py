"""The formalism audit's computation: facts read in grouped queries, flags from the pure
rules, rates per department and per person.

``run_audit`` covers the city over a period; ``case_audit`` finds the flags that name one
case, by the same rules over the slice of time that can hold them (so the case's page says
what the department's report says).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
from sqlalchemy.orm import Session

from civicpulse.domain.errors import NotFound
from civicpulse.domain.limits import EARLIEST
from civicpulse.infra.context import Context
from civicpulse.insight.formalism_departments import (
    Answer,
    Outcomes,
    bulk_closures,
    flagged_by_officer,
    flagged_cases,
    guarded_rate,
    hollow_replies,
    unconfirmed_share,
)
from civicpulse.insight.formalism_patterns import (
    Flag,
    FlagKind,
    Period,
    Thresholds,
    case_flags,
)
from civicpulse.insight.formalism_places import (
    Arrival,
    Moment,
    Spots,
    at_moments,
    located_pairs,
    rejection_flags,
    repeat_flags,
    same_problems,
)
from civicpulse.services import formalism_facts as facts
from civicpulse.services.formalism_facts import Resolution
from civicpulse.services.formalism_views import DepartmentRates, OfficerRates
from civicpulse.services.match_index import params_from
from civicpulse.settings import Settings
from civicpulse.storage.tables import Case

_T = TypeVar("_T")


def thresholds_from(settings: Settings) -> Thresholds:
    return Thresholds(
        max_hops=settings.formalism_max_hops,
        deadline_edge=timedelta(minutes=settings.formalism_deadline_edge_minutes),
        repeat_window=timedelta(days=settings.formalism_repeat_days),
        bulk_hours=settings.formalism_bulk_hours,
        bulk_baseline_days=settings.formalism_bulk_baseline_days,
        bulk_ratio=settings.formalism_bulk_ratio,
        bulk_min=settings.formalism_bulk_min,
        unconfirmed_ratio=settings.formalism_unconfirmed_ratio,
        unconfirmed_margin=settings.formalism_unconfirmed_margin,
        min_sample=settings.scorecard_min_sample,
    )


@dataclass
class Audit:
    """Everything the reports are made of, for one period."""

    period: Period
    departments: list[str]
    flags: list[Flag]
    resolutions: list[Resolution]
    received: dict[str, int]
    handed_on: dict[tuple[str, str, str], int]
    #: the period's resolutions with a reply assessment recorded
    answers: list[Answer] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def run_audit(ctx: Context, period: Period) -> Audit:
    """The city's flags and the facts behind its rates over ``period``.

    The big reads run in threads of their own, each in its own read-only session, so the
    database works on them while this thread applies the timeline rules: on a city of a
    million cases that hides most of the database's share of the time."""
    clock = time.perf_counter
    seconds: dict[str, float] = {}
    t0 = clock()
    th = thresholds_from(ctx.settings)
    now = ctx.now()
    look_back = timedelta(days=th.bulk_baseline_days, hours=th.bulk_hours)
    end = (min(period.until, now) if period.until is not None else now) + th.repeat_window
    with ctx.db.reader() as s:
        depts, cats = facts.codes(s)

    def read(work: Callable[[Session], _T]) -> _T:
        with ctx.db.reader() as session:
            return work(session)

    with ThreadPoolExecutor(max_workers=3) as pool:
        pending_resolutions = pool.submit(
            read, lambda s: facts.resolutions(s, period, depts, look_back))
        pending_voices = pool.submit(read, lambda s: facts.case_voices(s, period.since, end))
        pending_counts = pool.submit(read, lambda s: (
            facts.received(s, period, depts), facts.handed_on(s, period, depts),
            facts.rejections(s, period, depts), facts.answers(s, period, depts)))
        lines = read(lambda s: facts.timelines(s, period, depts))
        seconds["timelines"] = clock() - t0
        flags: list[Flag] = []
        for case_id, steps in lines.steps.items():
            flags.extend(case_flags(case_id, steps, lines.due.get(case_id), period, th))
        seconds["case rules"] = clock() - t0 - sum(seconds.values())
        everything = pending_resolutions.result()
        received, handed, rejections, answers = pending_counts.result()
        came = pending_voices.result()
        seconds["waiting for the reads"] = clock() - t0 - sum(seconds.values())
    first, last = period.since.timestamp(), (period.until.timestamp() if period.until
                                             else float("inf"))
    resolved = [r for r in everything if first <= r.t < last]
    rejected = [_rejection(*row) for row in rejections]
    with ctx.db.reader() as s:
        flags.extend(_places(ctx, s, resolved, rejected, period.since, end, depts, cats,
                             came=came))
    seconds["places"] = clock() - t0 - sum(seconds.values())
    by_dept: dict[str, list[Resolution]] = defaultdict(list)
    for r in everything:
        by_dept[r.department].append(r)
    flags.extend(bulk_closures(by_dept, period, now, ctx.settings.timezone, th))
    flags.extend(unconfirmed_share(outcomes(resolved), min(period.until or now, now), th))
    flags.extend(hollow_replies(answers))
    distinct = _distinct(flags)
    seconds["department rules"] = clock() - t0 - sum(seconds.values())
    return Audit(
        period=period, departments=sorted(depts.values()), flags=distinct,
        resolutions=resolved, received=received, handed_on=handed, answers=answers,
        seconds=seconds,
    )


def case_audit(ctx: Context, case_id: int) -> list[Flag]:
    """The flags naming one case: its timeline's over its whole life, and same-problem
    repeats and rejections in which it is the earlier or the later case."""
    th = thresholds_from(ctx.settings)
    window = th.repeat_window
    whole = Period(EARLIEST)
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        depts, cats = facts.codes(s)
        lines = facts.timelines(s, whole, depts, case_ids=[case_id])
        steps = lines.steps.get(case_id, [])
        own = [st.at for st in steps if st.kind in ("resolve", "reject")]
        # anchors that this case could come back after, or that could come back after it
        start = case.created_at - window
        end = max([case.created_at, *own]) + window
        around = Period(start, end)
        resolved = [r for r in facts.resolutions(s, around, depts, timedelta(0))
                    if around.holds(r.at)]
        rejected = [_rejection(*row) for row in facts.rejections(s, around, depts)]
        places = _places(ctx, s, resolved, rejected, start, end, depts, cats)
        answered = facts.answers(s, whole, depts, case_ids=[case_id])
    found = case_flags(case_id, steps, lines.due.get(case_id), whole, th)
    found.extend(hollow_replies(answered))
    found.extend(f for f in places if case_id in f.case_ids)
    return _distinct(found)


def _moment(r: Resolution) -> Moment:
    return Moment(r.case_id, r.department, r.actor, r.at, r.event_id)


def _rejection(event_id: int, case_id: int, dept: str, actor: str, at: datetime,
               message: str | None) -> Moment:
    return Moment(case_id, dept, actor, at, event_id, message)


def _concat(a: Spots, b: Spots) -> Spots:
    return Spots(*(np.concatenate([getattr(a, name), getattr(b, name)])
                   for name in ("case_id", "voice_id", "t", "lat", "lon", "category")))


def _at_moments(case_ids: Sequence[int], times: Sequence[float], voices: Spots
                ) -> tuple[Spots, np.ndarray]:
    n = len(case_ids)
    return at_moments(np.fromiter(case_ids, np.int64, n), np.fromiter(times, np.float64, n),
                      voices)


def _places(
    ctx: Context,
    s: Session,
    resolved: Sequence[Resolution],
    rejected: Sequence[Moment],
    since: datetime,
    until: datetime,
    depts: dict[int, str],
    cats: dict[int, str],
    *,
    came: Spots | None = None,
) -> list[Flag]:
    """Repeats after fix, and rejections another department then did, by same-problem
    matching between the resolutions (rejections) and the cases that came in
    (since, until)."""
    if not resolved and not rejected:
        return []
    settings = ctx.settings
    params = params_from(settings)
    window_days = settings.formalism_repeat_days
    window_s = window_days * 86_400
    if came is None:
        came = facts.case_voices(s, since, until)
    arrivals = came.first_voice_per_case()
    if not len(arrivals):
        return []
    # the earlier cases' voices: most came in the same read, the rest by their ids
    earlier = {r.case_id for r in resolved} | {m.case_id for m in rejected}
    read = np.isin(came.case_id, np.fromiter(earlier, np.int64, len(earlier)))
    missing = earlier - set(came.case_id[read].tolist())
    voices = _concat(came.take(np.flatnonzero(read)), facts.voices_of_cases(s, missing))
    sets = [
        _at_moments([r.case_id for r in resolved], [r.t for r in resolved], voices),
        _at_moments([m.case_id for m in rejected], [m.at.timestamp() for m in rejected],
                    voices),
    ]
    pairs = [located_pairs(spots, arrivals, params, window_s) for spots, _ in sets]
    wanted: set[int] = set()
    for (spots, _), (ia, ib) in zip(sets, pairs, strict=True):
        wanted.update(spots.voice_id[ia].tolist())
        wanted.update(arrivals.voice_id[ib].tolist())
        unplaced = ~spots.located
        if unplaced.any():
            wanted.update(spots.voice_id[unplaced].tolist())
            wanted.update(arrivals.voice_id[~arrivals.located].tolist())
    sigs = facts.signatures(s, wanted)
    matched = [
        same_problems(spots, arrivals, sigs, params, window_days, cats, located=pair)
        for (spots, _), pair in zip(sets, pairs, strict=True)
    ]
    (_, res_meta), (_, rej_meta) = sets

    def arrival(row: int) -> Arrival:
        return Arrival(int(arrivals.case_id[row]),
                       datetime.fromtimestamp(float(arrivals.t[row]), UTC))

    repeats = [(_moment(resolved[int(res_meta[m.anchor])]), arrival(m.arrival), m.judgement)
               for m in matched[0]]
    done = facts.resolvers(s, {int(arrivals.case_id[m.arrival]) for m in matched[1]}, depts)
    elsewhere = []
    for m in matched[1]:
        later = arrival(m.arrival)
        by = done.get(later.case_id)
        if by is not None:
            later = replace(later, done_by=by[0], done_actor=by[1], done_at=by[2])
        elsewhere.append((rejected[int(rej_meta[m.anchor])], later, m.judgement))
    return [*repeat_flags(repeats), *rejection_flags(elsewhere)]


def outcomes(resolved: Iterable[Resolution]) -> dict[str, Outcomes]:
    """Per department, its resolutions confirmed fixed and closed unconfirmed."""
    confirmed: dict[str, int] = defaultdict(int)
    unverified: dict[str, list[int]] = defaultdict(list)
    for r in resolved:
        if r.outcome == "confirm":
            confirmed[r.department] += 1
        elif r.outcome == "expire_verification":
            unverified[r.department].append(r.case_id)
    return {
        d: Outcomes(confirmed[d], len(unverified[d]), tuple(unverified[d]))
        for d in set(confirmed) | set(unverified)
    }


def _distinct(flags: Iterable[Flag]) -> list[Flag]:
    """One flag per key: the first found (a rejection seen in the case's own timeline
    before the same rejection seen through a new case)."""
    seen: dict[str, Flag] = {}
    for f in flags:
        seen.setdefault(f.key, f)
    return sorted(seen.values(), key=lambda f: (f.department, f.kind.value, f.at, f.key))


# ---- rates -------------------------------------------------------------------------------


def department_rates(audit: Audit, min_sample: int) -> tuple[DepartmentRates,
                                                              list[DepartmentRates]]:
    """The city's row and one per department, every rate guarded by ``min_sample``."""
    resolved_cases: dict[str, set[int]] = defaultdict(set)
    for r in audit.resolutions:
        resolved_cases[r.department].add(r.case_id)
    closed = outcomes(audit.resolutions)
    rejected: dict[str, int] = defaultdict(int)
    for (kind, dept, _), n in audit.handed_on.items():
        if kind == "reject":
            rejected[dept] += n
    flagged = {kind: flagged_cases(audit.flags, kind) for kind in FlagKind}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in audit.flags:
        counts[f.department][f.kind.value] += 1
    assessed: dict[str, int] = defaultdict(int)
    hollow: dict[str, int] = defaultdict(int)
    for a in audit.answers:
        assessed[a.department] += 1
        hollow[a.department] += a.hollow

    def row(name: str, depts: Sequence[str]) -> DepartmentRates:
        def cases(kind: FlagKind) -> int:
            return len(set().union(*(flagged[kind].get(d, set()) for d in depts)))

        received = sum(audit.received.get(d, 0) for d in depts)
        resolved = len(set().union(*(resolved_cases.get(d, set()) for d in depts)))
        closures = sum(closed[d].closures for d in depts if d in closed)
        unverified = sum(closed[d].unverified for d in depts if d in closed)
        rejections = sum(rejected.get(d, 0) for d in depts)
        replies = sum(assessed.get(d, 0) for d in depts)
        kinds: dict[str, int] = defaultdict(int)
        for d in depts:
            for k, n in counts.get(d, {}).items():
                kinds[k] += n
        return DepartmentRates(
            department=name,
            cases_received=received,
            cases_resolved=resolved,
            closures=closures,
            cases_rejected=rejections,
            replies_assessed=replies,
            ping_pong_rate=guarded_rate(cases(FlagKind.PING_PONG), received, min_sample),
            reopened_rate=guarded_rate(cases(FlagKind.REOPENED), resolved, min_sample),
            repeat_after_fix_rate=guarded_rate(cases(FlagKind.REPEAT_AFTER_FIX), resolved,
                                               min_sample),
            deadline_edge_rate=guarded_rate(cases(FlagKind.DEADLINE_EDGE), resolved,
                                            min_sample),
            rejected_done_elsewhere_rate=guarded_rate(
                cases(FlagKind.REJECTED_DONE_ELSEWHERE), rejections, min_sample),
            unconfirmed_closure_rate=guarded_rate(unverified, closures, min_sample),
            hollow_reply_rate=guarded_rate(sum(hollow.get(d, 0) for d in depts), replies,
                                           min_sample),
            bulk_closure_windows=kinds.get(FlagKind.BULK_CLOSURE.value, 0),
            flags=dict(sorted(kinds.items())),
            sample_too_small=resolved < min_sample,
        )

    return row("city", audit.departments), [row(d, [d]) for d in audit.departments]


def officer_rates(audit: Audit, min_sample: int) -> list[OfficerRates]:
    """Per (department, person): their resolutions, transfers and rejections in the period,
    and the flags that name their steps."""
    resolved: dict[tuple[str, str], set[int]] = defaultdict(set)
    confirmed: dict[tuple[str, str], int] = defaultdict(int)
    unverified: dict[tuple[str, str], int] = defaultdict(int)
    for r in audit.resolutions:
        who = (r.department, r.actor)
        resolved[who].add(r.case_id)
        if r.outcome == "confirm":
            confirmed[who] += 1
        elif r.outcome == "expire_verification":
            unverified[who] += 1
    assessed: dict[tuple[str, str], int] = defaultdict(int)
    hollow: dict[tuple[str, str], int] = defaultdict(int)
    for a in audit.answers:
        assessed[(a.department, a.actor)] += 1
        hollow[(a.department, a.actor)] += a.hollow
    handed: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, dept, actor), n in audit.handed_on.items():
        handed[(dept, actor)][kind] += n
    named = flagged_by_officer(audit.flags)
    people = sorted(set(resolved) | set(handed) | set(named))
    out = []
    for who in people:
        kinds = named.get(who, {})
        n = len(resolved.get(who, ()))
        closures = confirmed.get(who, 0) + unverified.get(who, 0)
        out.append(OfficerRates(
            officer=who[1], department=who[0], resolutions=n,
            transfers=handed.get(who, {}).get("transfer", 0),
            rejections=handed.get(who, {}).get("reject", 0),
            reopened_rate=guarded_rate(kinds.get(FlagKind.REOPENED.value, 0), n, min_sample),
            repeat_after_fix_rate=guarded_rate(kinds.get(FlagKind.REPEAT_AFTER_FIX.value, 0),
                                               n, min_sample),
            unconfirmed_closure_rate=guarded_rate(unverified.get(who, 0), closures,
                                                  min_sample),
            hollow_reply_rate=guarded_rate(hollow.get(who, 0), assessed.get(who, 0),
                                           min_sample),
            flags=dict(sorted(kinds.items())),
        ))
    return out


def default_period(ctx: Context, since: datetime | None, until: datetime | None) -> Period:
    """The period asked for, or the last ``formalism_period_days`` up to now."""
    if since is None:
        end = until or ctx.now()
        since = end - timedelta(days=ctx.settings.formalism_period_days)
    return Period(since.astimezone(UTC), until.astimezone(UTC) if until else None)

