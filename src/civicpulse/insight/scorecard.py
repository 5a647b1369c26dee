"""Department scorecards computed from what residents said, not what the office reported.

The input is plain facts about each case a department received in the period; the
output is a row per department. A rate whose sample is smaller than ``min_sample`` is
withheld (None) rather than shown, so one lucky case cannot top the league table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class CaseFacts:
    """What happened to one case while a department held it."""

    department: str
    first_response_on_time: bool | None  # None: not yet judgeable
    resolved: bool  # reached "resolved" at least once
    confirmed: bool  # the resident said it was fixed
    satisfaction: list[int] = field(default_factory=list)
    verdicts: int = 0  # resident answers (yes or no)
    resolutions: int = 0
    reopens: int = 0  # "not fixed" answers


@dataclass
class ScorecardRow:
    """A department's record; rates are null when the sample is too small to publish.

    The JSON API returns these rows as they are (FastAPI describes a dataclass like a model),
    so the published fields are defined here once, not copied into a response schema."""

    department: str
    cases_received: int
    first_response_on_time_rate: float | None
    resolved_rate: float | None
    confirmed_resolution_rate: float | None
    satisfaction_mean: float | None
    reopen_rate: float | None
    transfers_out: int
    verified_sample_size: int
    sample_too_small: bool


def _rate(part: int, whole: int, min_sample: int) -> float | None:
    if whole < min_sample or whole == 0:
        return None
    return round(part / whole, 4)


def compute_scorecards(
    facts: list[CaseFacts],
    transfers_out: dict[str, int],
    departments: list[str],
    min_sample: int,
) -> list[ScorecardRow]:
    """One row per department, in the order given, with guarded rates."""
    by_dept: dict[str, list[CaseFacts]] = defaultdict(list)
    for f in facts:
        by_dept[f.department].append(f)
    rows = []
    for dept in departments:
        items = by_dept.get(dept, [])
        received = len(items)
        judged = [f.first_response_on_time for f in items if f.first_response_on_time is not None]
        scores = [s for f in items for s in f.satisfaction]
        verdicts = sum(f.verdicts for f in items)
        resolutions = sum(f.resolutions for f in items)
        rows.append(
            ScorecardRow(
                department=dept,
                cases_received=received,
                first_response_on_time_rate=_rate(sum(judged), len(judged), min_sample),
                resolved_rate=_rate(sum(f.resolved for f in items), received, min_sample),
                confirmed_resolution_rate=_rate(
                    sum(f.confirmed for f in items), received, min_sample
                ),
                satisfaction_mean=(
                    round(sum(scores) / len(scores), 3) if len(scores) >= min_sample else None
                ),
                reopen_rate=_rate(sum(f.reopens for f in items), resolutions, min_sample),
                transfers_out=transfers_out.get(dept, 0),
                verified_sample_size=verdicts,
                sample_too_small=verdicts < min_sample,
            )
        )
    return rows
