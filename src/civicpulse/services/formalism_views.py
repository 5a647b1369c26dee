"""What readers of the formalism audit get back: the public's per-department rates, staff's
flags with their evidence and explanations, and per-officer figures.

The public summary carries rates and counts only (no case, no person); the staff report adds
the flagged cases, the evidence (timeline entries, with who did them) and the figures per
officer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from civicpulse.insight.formalism_patterns import Evidence
from civicpulse.services.read_models import ReadModel

#: the rates of a department's row, in the order the pages and the CLI show them; the
#: public league table shows those in ``LEAGUE_RATES``
RATE_FIELDS = (
    "ping_pong_rate",
    "reopened_rate",
    "repeat_after_fix_rate",
    "deadline_edge_rate",
    "rejected_done_elsewhere_rate",
    "unconfirmed_closure_rate",
    "hollow_reply_rate",
)
LEAGUE_RATES = ("hollow_reply_rate", "ping_pong_rate", "repeat_after_fix_rate")


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def code_words(gettext: Callable[[str], str], key: str) -> str:
    """A recorded reason code (``reply.<code>``, ``flag.<flag>``) in words, its values
    shown as "…": the timeline keeps the codes only, never the resident's words a value
    could quote, so the audit can name the reason but not repeat its evidence."""
    text = gettext(key)
    return _PLACEHOLDER.sub("…", text).replace("%%", "%")


class ExplanationView(ReadModel):
    """A department's explanation of a flag, kept beside it (and in the audit log)."""

    explanation_id: int
    flag: str
    kind: str
    department: str
    case_id: int | None
    text: str
    author: str
    at: datetime


@dataclass(frozen=True)
class FlagView:
    """A formalism flag with its evidence and the department's explanations.

    ``key`` is ``kind:subject:department`` (subject ``c<case id>``, an end-of-month window
    such as ``20260401T0000Z``, or ``city``), what explanations are filed under; ``at`` is
    when the deciding step happened; ``case_ids`` start with the case the flag is about,
    then the cases that are its evidence; ``evidence`` are timeline entries (``what`` is
    the entry's kind, or ``new_case`` for a case that came in; ``note`` a transfer's or
    rejection's reason, or why a new case is the same problem); ``officers`` who did the
    steps the flag is about.

    A plain dataclass, like the scorecards' rows: a city's report holds hundreds of
    thousands of flags, and validating each again as a model took longer than finding
    them; the evidence is the rules' own ``Evidence``."""

    key: str
    kind: str
    department: str
    at: datetime
    case_ids: tuple[int, ...]
    reasons: tuple[str, ...]
    facts: dict[str, Any]
    evidence: tuple[Evidence, ...]
    officers: tuple[str, ...]
    explanations: tuple[ExplanationView, ...]


class DepartmentRates(ReadModel):
    """A department's formalism figures over the period; a rate is null below the
    minimum sample (`scorecard_min_sample`) of its denominator."""

    department: str
    cases_received: int
    cases_resolved: int
    closures: int = Field(description="Resolutions in the period that were confirmed fixed "
                          "or closed when the resident's time to answer ran out.")
    cases_rejected: int
    replies_assessed: int = Field(0, description="Resolutions in the period whose reply was "
                                  "assessed when it was written.")
    ping_pong_rate: float | None = Field(description="Cases passed back and forth / cases "
                                         "received.")
    reopened_rate: float | None = Field(description="Cases resolved and then not fixed, never "
                                        "made good / cases resolved.")
    repeat_after_fix_rate: float | None = Field(description="Cases whose problem came back "
                                                "at the same place / cases resolved.")
    deadline_edge_rate: float | None = Field(description="Cases resolved just before the "
                                             "deadline and reopened after it / cases resolved.")
    rejected_done_elsewhere_rate: float | None = Field(description="Cases rejected that "
                                                       "another department then resolved / "
                                                       "cases rejected.")
    unconfirmed_closure_rate: float | None = Field(description="Closures without the "
                                                   "resident's confirmation / closures.")
    hollow_reply_rate: float | None = Field(None, description="Resolutions whose reply was "
                                            "judged hollow when written (did not answer, a "
                                            "template, or passed the matter on) / resolutions "
                                            "with a recorded assessment.")
    bulk_closure_windows: int = Field(description="Ends of months with closures in bulk.")
    flags: dict[str, int] = Field(description="Flags by kind.")
    sample_too_small: bool


class OfficerRates(ReadModel):
    """One person's figures within a department (staff only)."""

    officer: str
    department: str
    resolutions: int
    transfers: int
    rejections: int
    reopened_rate: float | None
    repeat_after_fix_rate: float | None
    unconfirmed_closure_rate: float | None
    hollow_reply_rate: float | None = None
    flags: dict[str, int]


class FormalismSummary(ReadModel):
    """The public figures: per department and for the city, no case and no person."""

    since: datetime
    until: datetime | None
    min_sample: int
    thresholds: dict[str, float]
    city: DepartmentRates
    departments: list[DepartmentRates]


class FormalismReport(FormalismSummary):
    """Staff's report: the public figures, per officer, and every flag with its evidence."""

    officers: list[OfficerRates]
    flags: list[FlagView]


class CaseFormalism(ReadModel):
    """The flags that name one case, with their explanations."""

    case_id: int
    flags: list[FlagView]
