"""The shapes of what readers get back: staff's case views, the public's, understanding's.

They are pydantic models so that the JSON API can declare them as its response models and
``/openapi.json`` describes exactly what a client receives, while pages and the CLI read the
same objects by attribute. They are shaped for the reader, deliberately not the tables: a
column added to a table reaches nobody until a field is added here.

Field order is the order of the keys in the JSON, kept as it was when these were dicts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReadModel(BaseModel):
    # read models are answers, never edited on their way out
    model_config = ConfigDict(frozen=True)


class Location(ReadModel):
    lat: float
    lon: float


# ---- the timeline ------------------------------------------------------------------------


class PublicEvent(ReadModel):
    """One step of a case's public timeline: what the resident and the public see."""

    kind: str
    at: datetime
    from_status: str | None
    to_status: str | None
    from_department: str | None
    to_department: str | None
    message: str | None = Field(
        description="In public views, with personal data replaced; null when there is none "
        "and while it is being checked for personal data (see `message_pending`)."
    )
    message_pending: bool = Field(
        False, description="The entry has a message still being checked for personal data."
    )


class StaffEvent(PublicEvent):
    """A timeline step as staff see it: who did it, internal notes and the event's data."""

    event_id: int
    actor: str
    public: bool
    data: dict[str, Any]


# ---- staff's view of cases -----------------------------------------------------------------


class CaseSummary(ReadModel):
    case_id: int
    tracking_code: str
    status: str
    title: str
    category: str | None
    department: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    overdue: bool
    escalation_level: int
    version: int = Field(description="Send it back with an action to refuse lost updates.")
    merged_into_case_id: int | None


class CaseList(ReadModel):
    total: int
    page: int
    page_size: int
    items: list[CaseSummary]


class Suggestion(ReadModel):
    """The classifier's reading of a voice, kept whether or not it was applied."""

    category: str
    confidence: float | None
    model_version: int | None


class ContactView(ReadModel):
    name: str | None
    email: str | None
    phone: str | None
    address: str | None


class VoiceView(ReadModel):
    voice_id: int
    channel: str
    title: str | None
    text: str
    language: str | None
    received_at: datetime
    occurred_at: datetime | None
    external_id: str | None
    location: Location | None
    attributes: dict[str, Any]
    suggestion: Suggestion | None
    contact: ContactView | None


class VerificationView(ReadModel):
    resolution_number: int
    fixed: bool
    satisfaction: int
    comment: str | None
    at: datetime


class CaseDetail(CaseSummary):
    """Staff's whole case: its voices with their contacts, every event, the verdicts."""

    location: Location | None
    voices: list[VoiceView]
    timeline: list[StaffEvent]
    allowed_actions: list[str]
    verifications: list[VerificationView]
    verification_due: datetime | None


# ---- the public's view of cases -------------------------------------------------------------


#: what a public title says while it is still being checked for personal data
PUBLIC_TITLE = "With personal data replaced; null while it is being checked for personal data."


class JoinedCase(ReadModel):
    """The case a resident's report joined (same problem), as the public sees it.

    Never its tracking code: that code is the other resident's key to their photos and
    their verdict. The resident follows it under their own code, or at ``/cases/{case_id}``."""

    case_id: int
    status: str
    title: str | None = Field(description=PUBLIC_TITLE)
    category: str | None
    department: str | None
    created_at: datetime
    resolution_due: datetime | None
    timeline: list[PublicEvent]


class TrackedCase(ReadModel):
    """What a tracking code opens: status and public timeline, nobody's personal data."""

    tracking_code: str
    status: str
    title: str | None = Field(description=PUBLIC_TITLE)
    category: str | None
    department: str | None
    created_at: datetime
    resolution_due: datetime | None
    joined: JoinedCase | None = Field(
        description="When this report was merged into another about the same problem: that "
        "case's public progress (never its tracking code)."
    )
    awaiting_verification: bool
    verification_due: datetime | None
    can_contest: bool
    timeline: list[PublicEvent]


class PublicCaseSummary(ReadModel):
    case_id: int
    title: str | None = Field(description=PUBLIC_TITLE)
    status: str
    category: str | None
    department: str | None
    created_at: datetime


class PublicCaseList(ReadModel):
    total: int
    more: bool = Field(description="More matches than `total` counts (it stops counting).")
    page: int
    page_size: int
    items: list[PublicCaseSummary]


class PublicCase(PublicCaseSummary):
    merged_into_case_id: int | None
    location: Location | None = Field(description="Rounded to 3 decimals, about 100 m.")
    timeline: list[PublicEvent]


# ---- understanding --------------------------------------------------------------------------


class UrgencyReason(ReadModel):
    """Why a voice counts as urgent: a rule, the model or a member of staff."""

    # stored as JSON with each insight: keep any key an older or newer writer added
    model_config = ConfigDict(frozen=True, extra="allow")

    source: str
    rule: str
    reason: str
    matched: str
    weight: float


class TopicRef(ReadModel):
    key: str
    label: str


class VoiceInsightView(ReadModel):
    """A voice's topic and, once intake has assessed it, its urgency and closest match.

    The assessment fields are left out (not null) for a voice never assessed, as they always
    have been, so the route serialises this with ``exclude_unset``."""

    voice_id: int
    case_id: int
    topic: TopicRef | None
    urgency: str | None = None
    urgency_score: float | None = None
    urgency_reasons: list[UrgencyReason] | None = None
    matched_case_id: int | None = None
    match_action: str | None = None
    match_score: float | None = None
    match_reasons: list[str] | None = None


class CaseInsights(ReadModel):
    case_id: int
    urgency: str
    urgency_score: float
    urgency_reasons: list[UrgencyReason]
    marked_by_staff: bool
    merged_in_case_ids: list[int]
    merged_into_case_id: int | None
    voices: list[VoiceInsightView]


class TopicView(ReadModel):
    """A public topic: labels are phrases several residents used, never a voice's text."""

    key: str
    label: str
    phrases: list[str]
    size: int
    first_at: datetime
    last_at: datetime
    rank: int


class CategoryGuess(ReadModel):
    code: str
    confidence: float
    model_version: int | None
    department: str | None
    would_apply: bool = Field(description="Confident enough for intake to apply it.")


class UrgencyView(ReadModel):
    level: str
    score: float
    reasons: list[UrgencyReason]


class Redaction(ReadModel):
    kind: str
    start: int
    end: int


class SameProblem(ReadModel):
    case_id: int
    score: float
    reasons: list[str]


class TextUnderstanding(ReadModel):
    """What intake would make of a text, nothing stored."""

    language: str
    category: CategoryGuess | None
    urgency: UrgencyView
    redacted_text: str
    redactions: list[Redaction]
    same_problem: SameProblem | None



# ---- concerns and "me too" ------------------------------------------------------------------


class SupportResult(ReadModel):
    """What a resident's "me too" did."""

    case_id: int = Field(
        description="The case the support counts for: the one asked for, or the case it was "
        "merged into."
    )
    counted: bool = Field(
        description="False when this resident had already supported the case (it counts once)."
    )
    supports: int = Field(description="Residents who have said \"me too\" on the case so far.")


class ConcernReason(ReadModel):
    """One line of a concern's score: contribution = weight × scale(value); a guard's
    discount is a line of its own with a negative contribution. The lines add up to the
    score."""

    name: str = Field(
        description="residents, support, growth, age, urgency, repeats; flood_device and "
        "flood_network (\"me too\"s discounted), flood_contact (one resident's many voices, "
        "flagged)"
    )
    value: float
    weight: float
    contribution: float


class ConcernPlace(ReadModel):
    """Where a concern is: the centre of its located voices (to 3 decimals in public views,
    about 100 m) and the area most of its cases are in."""

    lat: float | None
    lon: float | None
    area: str | None


class ConcernView(ReadModel):
    """A concern as the ranking lists it. Public views carry no text of a voice, no contact
    and no external id (``voice_ids`` and ``external_ids`` are null); the label has passed
    the privacy gate. Staff get every member voice's id and external id (officers: those of
    their departments' cases)."""

    rank: int
    key: str
    label: str = Field(description="Whole words several residents used, or the public title "
                       "of its case; empty while that title is being checked.")
    score: float
    reasons: list[ConcernReason]
    voices: int
    residents: int = Field(description="Distinct residents who wrote in.")
    supports: int = Field(description="\"Me too\"s of residents who did not write in, plus "
                          "supports imported from another system.")
    first_at: datetime
    last_at: datetime
    case_ids: list[int]
    voice_ids: list[int] | None
    external_ids: list[str] | None
    departments: list[str] = Field(description="Codes of the departments responsible.")
    place: ConcernPlace | None


class ConcernWeek(ReadModel):
    week_start: datetime
    voices: int


class ConcernCaseView(ReadModel):
    """A case of a concern, as the public sees it."""

    case_id: int
    title: str | None = Field(description=PUBLIC_TITLE)
    status: str
    department: str | None
    created_at: datetime
    voices: int
    supports: int


class ConcernDetail(ConcernView):
    """One concern with its cases and its voices per week (the last 26 weeks it was active)."""

    cases: list[ConcernCaseView]
    weeks: list[ConcernWeek]


# ---- hotspots ----------------------------------------------------------------------------


class HotspotView(ReadModel):
    """A place where unresolved cases gather beyond chance (Getis–Ord Gi*), with its cells'
    outer box, the cases in it and the test's figures; no text."""

    rank: int
    key: str
    place: Location
    south: float
    west: float
    north: float
    east: float
    cases: int
    voices: int
    expected: float
    z: float
    p: float
    q: float
    case_ids: list[int]


class HotspotList(ReadModel):
    """Hotspots strongest first, and the method's parameters so a reader can judge them."""

    method: str
    cell_m: float
    band_m: float
    fdr: float
    cases: int
    set_aside: int
    hotspots: list[HotspotView]


# ---- bursts ------------------------------------------------------------------------------


class BurstView(ReadModel):
    """A significant rise of voices in one series (a category, an area or a topic) against
    its own history: the window, what was seen and expected, and the test's figures."""

    kind: str = Field(description="category, area or topic")
    code: str = Field(description="the category's or area's code, or the topic's key")
    series: str
    start: date
    end: date
    observed: int
    expected: float
    ratio: float
    p_value: float
    q_value: float
    daily_observed: list[int]
    daily_expected: list[float]
    reasons: list[str]
    identity: str = Field(description="series@start: the same burst keeps it while it lasts")


class BurstList(ReadModel):
    """The bursts found on ``day`` (the window ends then), strongest first, with the test."""

    day: date
    test: str
    fdr: float
    series_tested: int
    bursts: list[BurstView]
