"""Formalism patterns: what a case's timeline says about work that looks done from inside
the office but not from the resident's door, and the flag every rule returns.

This module holds the flag and its key (shared by every rule and by the explanations filed
under it) and the rules over one case's timeline; the rules over a department's closures
as a whole, and the rates, are in ``formalism_departments`` (kept apart so that each module
stays small enough to read in one sitting).

Pure rules over plain rows (no database, no clock of their own): the service reads the
timelines in a few grouped queries and hands them here, and the tests move a clock by hand.
Every flag carries its evidence (the events, departments and times that made it) and a
sentence per reason, so a leader can check it and a department can answer it.

The flags, each explained in ``docs/guide/formalism.md``:

* ``ping_pong``: the case went back to a department that had already passed it on
  (A → B → A), or was passed on more than ``max_hops`` times. One transfer, which always
  has a reason, never fires.
* ``reopened``: a resolution the resident said was not fixed, with no later resolution
  of the case confirmed fixed. A reopen that was then confirmed fixed does not fire.
* ``deadline_edge``: resolved at most ``deadline_edge`` before the resolution deadline and
  reopened by the resident after the deadline had passed.
* ``rejected_done_elsewhere``: a department rejected the case, and another department then
  resolved it (after the resident contested), with no "not fixed" from the resident.
* ``bulk_closure``, ``unconfirmed_share``, ``hollow_reply`` (``formalism_departments``):
  a department's resolutions and closures, judged together.
* ``repeat_after_fix`` (``formalism_places``): the same problem at the same place came
  back as a new case within ``repeat_window`` of a resolution.

Departments are named by their codes and people by their audit-log labels, as the
timeline records them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple


class FlagKind(StrEnum):
    PING_PONG = "ping_pong"
    REOPENED = "reopened"
    REPEAT_AFTER_FIX = "repeat_after_fix"
    DEADLINE_EDGE = "deadline_edge"
    BULK_CLOSURE = "bulk_closure"
    REJECTED_DONE_ELSEWHERE = "rejected_done_elsewhere"
    UNCONFIRMED_SHARE = "unconfirmed_share"
    HOLLOW_REPLY = "hollow_reply"


#: flags about one case (the case is in the flag's key) and about a department's figures
CASE_KINDS = (
    FlagKind.PING_PONG,
    FlagKind.REOPENED,
    FlagKind.REPEAT_AFTER_FIX,
    FlagKind.DEADLINE_EDGE,
    FlagKind.REJECTED_DONE_ELSEWHERE,
    FlagKind.HOLLOW_REPLY,
)
DEPARTMENT_KINDS = (FlagKind.BULK_CLOSURE, FlagKind.UNCONFIRMED_SHARE)

#: timeline entries that hand a case to a department (routing at intake, a dispatcher's
#: assignment, a transfer), as the scorecards read them
HOLDER_KINDS = frozenset({"assigned", "assign", "transfer"})
#: the resident's verdict on a resolution, or its absence when the window ran out
VERDICT_KINDS = frozenset({"confirm", "dispute", "expire_verification"})

@dataclass(frozen=True)
class Thresholds:
    """Where each pattern starts to count (settings ``formalism_*``, their defaults here)."""

    max_hops: int = 3
    deadline_edge: timedelta = timedelta(minutes=60)
    repeat_window: timedelta = timedelta(days=42)
    bulk_hours: float = 24.0
    bulk_baseline_days: int = 28
    bulk_ratio: float = 3.0
    bulk_min: int = 10
    unconfirmed_ratio: float = 1.5
    unconfirmed_margin: float = 0.10
    min_sample: int = 5


@dataclass(frozen=True)
class Period:
    """[since, until): ``until`` None is open (up to now)."""

    since: datetime
    until: datetime | None = None

    def holds(self, at: datetime) -> bool:
        return at >= self.since and (self.until is None or at < self.until)


class Step(NamedTuple):
    """One entry of a case's timeline, as the rules read it (a tuple: a city's audit
    makes hundreds of thousands, and a frozen dataclass costs twice as much to make)."""

    event_id: int
    kind: str
    at: datetime
    actor: str
    from_department: str | None = None
    to_department: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Evidence:
    """One fact behind a flag: an entry of a timeline, or a case that came in."""

    case_id: int
    at: datetime
    what: str
    event_id: int | None = None
    department: str | None = None
    to_department: str | None = None
    actor: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Flag:
    """A finding with its evidence. ``case_ids`` starts with the case the flag is about
    (for a department's flag, the cases behind the figure)."""

    kind: FlagKind
    department: str
    at: datetime
    case_ids: tuple[int, ...]
    reasons: tuple[str, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    #: who did the steps the flag is about (audit-log labels), for the per-officer figures
    officers: tuple[str, ...] = ()
    #: what the flag is about besides its kind and department: ``c<case id>``, a window's
    #: end, or ``city``; with them it makes the key explanations are filed under
    subject: str = ""
    #: ``kind:subject:department``, made once (a city's report looks it up many times)
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", flag_key(self.kind, self.subject, self.department))


def flag_key(kind: str, subject: str, department: str) -> str:
    return f"{kind}:{subject}:{department}"


def parse_flag_key(key: str) -> tuple[FlagKind, str, str] | None:
    """(kind, subject, department) of a key, or None when it is not one."""
    parts = key.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    try:
        kind = FlagKind(parts[0])
    except ValueError:
        return None
    return kind, parts[1], parts[2]


def case_subject(case_id: int) -> str:
    return f"c{case_id}"


def subject_case(subject: str) -> int | None:
    if subject.startswith("c") and subject[1:].isdigit():
        return int(subject[1:])
    return None


def _when(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(" ", "minutes")[:16] + " UTC"


def _steps(steps: Iterable[Step], period: Period) -> list[Step]:
    """The timeline (given in its order) without what happened after the period's end."""
    if period.until is None:
        return list(steps)
    until = period.until
    return [s for s in steps if s.at < until]


def _next_verdict(steps: Sequence[Step], index: int) -> Step | None:
    """The resident's verdict on the resolution at ``index`` (or the window running out)."""
    for later in steps[index + 1 :]:
        if later.kind in VERDICT_KINDS:
            return later
        if later.kind == "resolve":
            return None
    return None


def _evidence(case_id: int, s: Step) -> Evidence:
    return Evidence(
        case_id=case_id, at=s.at, what=s.kind, event_id=s.event_id,
        department=s.from_department, to_department=s.to_department, actor=s.actor,
        note=s.message,
    )


# ---- one case's timeline -----------------------------------------------------------------


@dataclass(frozen=True)
class _Hop:
    step: Step
    sender: str
    receiver: str
    number: int
    returned: bool


def ping_pong(
    case_id: int, steps: Iterable[Step], period: Period, th: Thresholds
) -> list[Flag]:
    """A return to a department that had already passed the case on, or more than
    ``max_hops`` hops; flagged in the period of such a hop, for every department that
    took part: the one that sent it back and the one it came back to, and (too many hops)
    every department that passed it on."""
    timeline = [s for s in _steps(steps, period) if s.kind in HOLDER_KINDS and s.to_department]
    holder: str | None = None
    left: set[str] = set()
    hops: list[_Hop] = []
    for s in timeline:
        assert s.to_department is not None
        if holder is None:
            holder = s.to_department
            continue
        if s.to_department == holder:
            continue
        left.add(holder)
        hops.append(_Hop(s, holder, s.to_department, len(hops) + 1, s.to_department in left))
        holder = s.to_department
    deciding = [h for h in hops if (h.returned or h.number > th.max_hops)
                and period.holds(h.step.at)]
    if not deciding:
        return []
    departments: set[str] = set()
    for h in deciding:
        if h.returned:
            departments |= {h.sender, h.receiver}
        if h.number > th.max_hops:
            departments |= {x.sender for x in hops[: h.number]}
    chain = [hops[0].sender, *(h.receiver for h in hops)]
    returns = [h for h in hops if h.returned]
    reasons = [f"passed {' → '.join(chain)}"]
    for h in returns:
        reasons.append(
            f"{_when(h.step.at)}: {h.sender} sent it back to {h.receiver}, which had "
            f"already passed it on ({h.step.actor})"
        )
    if len(hops) > th.max_hops:
        reasons.append(f"{len(hops)} hops between departments, more than {th.max_hops}")
    evidence = tuple(_evidence(case_id, h.step) for h in hops)
    last = max(h.step.at for h in deciding)
    return [
        Flag(
            kind=FlagKind.PING_PONG, department=dept, at=last, case_ids=(case_id,),
            reasons=tuple(reasons),
            facts={"hops": len(hops), "returns": len(returns), "chain": chain,
                   "max_hops": th.max_hops},
            evidence=evidence,
            officers=tuple(sorted({h.step.actor for h in hops if h.sender == dept})),
            subject=case_subject(case_id),
        )
        for dept in sorted(departments)
    ]


def reopened(case_id: int, steps: Iterable[Step], period: Period) -> list[Flag]:
    """Resolutions in the period the resident said were not fixed, unless a later
    resolution of the case was confirmed fixed (the department made good)."""
    timeline = _steps(steps, Period(period.since))  # verdicts after the period count too
    found: dict[str, list[tuple[Step, Step]]] = defaultdict(list)
    for i, s in enumerate(timeline):
        if s.kind != "resolve" or not period.holds(s.at) or not s.from_department:
            continue
        verdict = _next_verdict(timeline, i)
        if verdict is None or verdict.kind != "dispute":
            continue
        made_good = any(
            later.kind == "confirm" and later.event_id > verdict.event_id for later in timeline
        )
        if not made_good:
            found[s.from_department].append((s, verdict))
    flags = []
    for dept, pairs in sorted(found.items()):
        reasons = [
            f"resolved {_when(r.at)} ({r.actor}); the resident said not fixed {_when(d.at)}"
            for r, d in pairs
        ]
        reasons.append("no later resolution confirmed fixed")
        flags.append(
            Flag(
                kind=FlagKind.REOPENED, department=dept, at=pairs[-1][1].at,
                case_ids=(case_id,), reasons=tuple(reasons),
                facts={"reopens": len(pairs)},
                evidence=tuple(e for r, d in pairs for e in (_evidence(case_id, r),
                                                              _evidence(case_id, d))),
                officers=tuple(sorted({r.actor for r, _ in pairs})),
                subject=case_subject(case_id),
            )
        )
    return flags


def deadline_edge(
    case_id: int,
    steps: Iterable[Step],
    resolution_due: datetime | None,
    period: Period,
    th: Thresholds,
) -> list[Flag]:
    """Resolved in the last ``deadline_edge`` before the deadline and reopened by the
    resident after it: the clock was stopped, not the problem."""
    if resolution_due is None:
        return []
    timeline = _steps(steps, Period(period.since))
    found: dict[str, list[tuple[Step, Step]]] = defaultdict(list)
    for i, s in enumerate(timeline):
        if s.kind != "resolve" or not period.holds(s.at) or not s.from_department:
            continue
        before = resolution_due - s.at
        if not timedelta(0) <= before <= th.deadline_edge:
            continue
        verdict = _next_verdict(timeline, i)
        if verdict is not None and verdict.kind == "dispute" and verdict.at > resolution_due:
            found[s.from_department].append((s, verdict))
    flags = []
    for dept, pairs in sorted(found.items()):
        reasons = [
            f"resolved {_when(r.at)}, {_minutes(resolution_due - r.at)} before the deadline "
            f"{_when(resolution_due)} ({r.actor}); reopened {_when(d.at)}, after it"
            for r, d in pairs
        ]
        flags.append(
            Flag(
                kind=FlagKind.DEADLINE_EDGE, department=dept, at=pairs[-1][0].at,
                case_ids=(case_id,), reasons=tuple(reasons),
                facts={"minutes_before": round((resolution_due - pairs[-1][0].at)
                                               .total_seconds() / 60, 1),
                       "deadline": resolution_due.isoformat(),
                       "edge_minutes": th.deadline_edge.total_seconds() / 60},
                evidence=tuple(e for r, d in pairs for e in (_evidence(case_id, r),
                                                              _evidence(case_id, d))),
                officers=tuple(sorted({r.actor for r, _ in pairs})),
                subject=case_subject(case_id),
            )
        )
    return flags


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def rejected_done_elsewhere(
    case_id: int, steps: Iterable[Step], period: Period
) -> list[Flag]:
    """A rejection by one department of a case another department then resolved, the
    resident not saying it was not fixed. A rejection before any department held the case
    (a dispatcher's) is no department's."""
    timeline = _steps(steps, Period(period.since))
    flags = []
    seen: set[str] = set()
    for i, s in enumerate(timeline):
        if s.kind != "reject" or not period.holds(s.at) or not s.from_department:
            continue
        if s.from_department in seen:
            continue
        for j in range(i + 1, len(timeline)):
            done = timeline[j]
            if done.kind != "resolve" or done.from_department in (None, s.from_department):
                continue
            verdict = _next_verdict(timeline, j)
            if verdict is not None and verdict.kind == "dispute":
                continue
            seen.add(s.from_department)
            reasons = (
                f"rejected by {s.from_department} {_when(s.at)} ({s.actor})"
                + (f": {s.message}" if s.message else ""),
                f"resolved by {done.from_department} {_when(done.at)} ({done.actor})"
                + (", confirmed fixed" if verdict is not None and verdict.kind == "confirm"
                   else ""),
            )
            flags.append(
                Flag(
                    kind=FlagKind.REJECTED_DONE_ELSEWHERE, department=s.from_department,
                    at=s.at, case_ids=(case_id,), reasons=reasons,
                    facts={"done_by": done.from_department, "same_case": True},
                    evidence=(_evidence(case_id, s), _evidence(case_id, done)),
                    officers=(s.actor,), subject=case_subject(case_id),
                )
            )
            break
    return flags


def case_flags(
    case_id: int,
    steps: Sequence[Step],  # in timeline order
    resolution_due: datetime | None,
    period: Period,
    th: Thresholds,
) -> list[Flag]:
    """Every timeline pattern of one case (each rule only where its deciding entry is in
    the timeline at all: a city's audit runs this on a few hundred thousand cases)."""
    kinds = {s.kind for s in steps}
    found = []
    if "transfer" in kinds or "assign" in kinds:
        found.extend(ping_pong(case_id, steps, period, th))
    if "dispute" in kinds:
        found.extend(reopened(case_id, steps, period))
        found.extend(deadline_edge(case_id, steps, resolution_due, period, th))
    if "reject" in kinds:
        found.extend(rejected_done_elsewhere(case_id, steps, period))
    return found
