"""Formalism patterns over a department's resolutions taken together, and the rates.

Where ``formalism_patterns`` judges one case's timeline, these rules need a department's
closures side by side (a burst before a month ends, a share far above the city's), so they
live apart, with the guarded rates that turn flags into the league table's figures. Pure
rules over plain rows, like the case rules: the service reads, the tests move the clock.

* ``bulk_closure``: a department's resolutions in the last ``bulk_hours`` before a month
  ends, at least ``bulk_ratio`` times its usual rate and at least ``bulk_min`` of them.
* ``unconfirmed_share``: a department whose share of closures the resident never confirmed
  is ``unconfirmed_ratio`` times the city's and ``unconfirmed_margin`` above it.
* ``hollow_reply``: a resolution whose reply was judged hollow when it was written (it did
  not answer, was a form, or passed the matter on); one flag per case and department, with
  the recorded flags and reasons. Judged from the record, never again: the figure is what
  the officer was told before sending.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from civicpulse.insight.formalism_patterns import (
    Evidence,
    Flag,
    FlagKind,
    Period,
    Thresholds,
    case_subject,
)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


# ---- a department's closures -------------------------------------------------------------


class Resolved(Protocol):
    """A resolution as the end-of-month pattern reads it (``Closure``, or the service's own
    rows, which carry these too)."""

    @property
    def case_id(self) -> int: ...

    @property
    def at(self) -> datetime: ...

    @property
    def actor(self) -> str: ...


class Closure(NamedTuple):
    """One resolution, as the end-of-month pattern reads it."""

    case_id: int
    at: datetime
    actor: str


def month_ends(since: datetime, end: datetime, zone: str) -> list[datetime]:
    """The ends of months (midnight of the 1st, city time) in (since, end], as UTC."""
    tz = ZoneInfo(zone)
    local = since.astimezone(tz)
    year, month = local.year, local.month
    out: list[datetime] = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        boundary = datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
        if boundary > end:
            return out
        if boundary > since:
            out.append(boundary)


def bulk_closures(
    closures: Mapping[str, Sequence[Resolved]],
    period: Period,
    now: datetime,
    zone: str,
    th: Thresholds,
) -> list[Flag]:
    """Per department and month end in the period: resolutions in the last ``bulk_hours``
    against the department's usual rate over the ``bulk_baseline_days`` before. Each
    department's closures must reach back that far for a fair usual rate."""
    window = timedelta(hours=th.bulk_hours)
    baseline = timedelta(days=th.bulk_baseline_days)
    ends = month_ends(period.since, period.until or now, zone)
    tz = ZoneInfo(zone)
    flags = []
    for dept, items in sorted(closures.items()):
        ordered = sorted(items, key=lambda c: c.at)
        times = [c.at for c in ordered]
        for end in ends:
            start = end - window
            first = bisect_left(times, start)
            inside = ordered[first : bisect_left(times, end)]
            if len(inside) < th.bulk_min:
                continue
            usual_count = first - bisect_left(times, start - baseline)
            usual = usual_count * window / baseline
            if len(inside) < th.bulk_ratio * usual:
                continue
            month = (end.astimezone(tz) - timedelta(days=1))
            quarter = month.month % 3 == 0
            ratio = len(inside) / usual if usual else None
            against = (f"a usual {usual:.1f} in {th.bulk_hours:g} h ({ratio:.1f}×)" if ratio
                       else f"none usually in {th.bulk_hours:g} h")
            reasons = (
                f"{len(inside)} resolutions in the last {th.bulk_hours:g} h before the end of "
                f"{_MONTHS[month.month - 1]} {month.year}"
                + (" (end of a quarter)" if quarter else "") + f", against {against}",
                f"usual rate counted over the {th.bulk_baseline_days} days before: "
                f"{usual_count} resolutions",
            )
            flags.append(
                Flag(
                    kind=FlagKind.BULK_CLOSURE, department=dept, at=end,
                    case_ids=tuple(c.case_id for c in inside), reasons=reasons,
                    facts={"closures": len(inside), "usual": round(usual, 2),
                           "ratio": round(ratio, 2) if ratio else None,
                           "window_start": start.isoformat(), "window_end": end.isoformat(),
                           "month": f"{month.year}-{month.month:02d}",
                           "quarter_end": quarter, "baseline_closures": usual_count},
                    evidence=tuple(Evidence(case_id=c.case_id, at=c.at, what="resolve",
                                            department=dept, actor=c.actor) for c in inside),
                    officers=tuple(sorted({c.actor for c in inside})),
                    subject=end.strftime("%Y%m%dT%H%MZ"),
                )
            )
    return flags


@dataclass(frozen=True)
class Outcomes:
    """What became of a department's resolutions in the period: confirmed fixed, closed
    unconfirmed (the verification window ran out) and the unconfirmed cases."""

    confirmed: int = 0
    unverified: int = 0
    unverified_cases: tuple[int, ...] = ()

    @property
    def closures(self) -> int:
        return self.confirmed + self.unverified


def city_unconfirmed_share(outcomes: Mapping[str, Outcomes]) -> float | None:
    closed = sum(o.closures for o in outcomes.values())
    return sum(o.unverified for o in outcomes.values()) / closed if closed else None


def unconfirmed_share(
    outcomes: Mapping[str, Outcomes], at: datetime, th: Thresholds
) -> list[Flag]:
    """Departments whose share of closures without the resident's confirmation is far
    above the city's: ``unconfirmed_ratio`` times it and ``unconfirmed_margin`` above it,
    judged only from ``min_sample`` closures on (the scorecards' guard)."""
    city = city_unconfirmed_share(outcomes)
    if city is None:
        return []
    flags = []
    for dept, o in sorted(outcomes.items()):
        if o.closures < th.min_sample or o.closures == 0:
            continue
        share = o.unverified / o.closures
        if share < city * th.unconfirmed_ratio or share - city < th.unconfirmed_margin:
            continue
        reasons = (
            f"{o.unverified} of {o.closures} closures ({share:.0%}) without the resident's "
            f"confirmation, against {city:.0%} for the city",
        )
        flags.append(
            Flag(
                kind=FlagKind.UNCONFIRMED_SHARE, department=dept, at=at,
                case_ids=o.unverified_cases, reasons=reasons,
                facts={"share": round(share, 4), "city_share": round(city, 4),
                       "closures": o.closures, "unverified": o.unverified},
                subject="city",
            )
        )
    return flags


# ---- replies ----------------------------------------------------------------------------


class Answer(NamedTuple):
    """A resolution whose reply was assessed when it was written (``case_events.data``'s
    ``reply``); ``flags`` and ``reasons`` are the recorded codes, read for hollow ones only."""

    event_id: int
    case_id: int
    department: str
    actor: str
    at: datetime
    hollow: bool
    flags: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    sent_anyway: bool = False


def hollow_replies(answers: Iterable[Answer]) -> list[Flag]:
    """One flag per case and department whose resolutions include a hollow reply, with
    the flags and reason codes recorded (the pages put them into words)."""
    found: dict[tuple[int, str], list[Answer]] = defaultdict(list)
    for a in answers:
        if a.hollow:
            found[(a.case_id, a.department)].append(a)
    flags = []
    for (case_id, dept), hollow in sorted(found.items()):
        hollow.sort(key=lambda a: a.event_id)
        marks = sorted({f for a in hollow for f in a.flags})
        codes = sorted({r for a in hollow for r in a.reasons})
        reasons = [
            f"resolved {a.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({a.actor}) with a reply "
            f"judged {', '.join(a.flags) or 'hollow'}"
            + (", sent after the warning" if a.sent_anyway else "")
            for a in hollow
        ]
        if codes:
            reasons.append(f"reasons recorded: {', '.join(codes)}")
        flags.append(Flag(
            kind=FlagKind.HOLLOW_REPLY, department=dept, at=hollow[-1].at,
            case_ids=(case_id,), reasons=tuple(reasons),
            facts={"replies": len(hollow), "flags": marks, "reasons": codes,
                   "sent_anyway": any(a.sent_anyway for a in hollow)},
            evidence=tuple(Evidence(case_id=case_id, at=a.at, what="resolve",
                                    event_id=a.event_id, department=dept, actor=a.actor)
                           for a in hollow),
            officers=tuple(sorted({a.actor for a in hollow})),
            subject=case_subject(case_id),
        ))
    return flags


# ---- rates -------------------------------------------------------------------------------


def guarded_rate(part: int, whole: int, min_sample: int) -> float | None:
    """A share, withheld (None) below the scorecards' minimum sample."""
    if whole < min_sample or whole == 0:
        return None
    return round(part / whole, 4)


def flagged_cases(flags: Iterable[Flag], kind: FlagKind) -> dict[str, set[int]]:
    """Per department, the cases flagged with ``kind`` (a case counts once)."""
    out: dict[str, set[int]] = defaultdict(set)
    for f in flags:
        if f.kind is kind:
            out[f.department].add(f.case_ids[0])
    return out


def flagged_by_officer(flags: Iterable[Flag]) -> dict[tuple[str, str], dict[str, int]]:
    """Per (department, officer), how many flags of each kind name their steps."""
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in flags:
        for officer in f.officers:
            out[(f.department, officer)][f.kind.value] += 1
    return out
