"""Reading a resident's text once: everything understanding can tell about it, in one result.

Intake used to hand a voice's text to understanding five times through four service modules
(the classifier, then signatures and urgency, then language inside the writer), each with
its own idea of which parts ran where. Here is the one step: :func:`read_text` returns a
:class:`TextReading` with the language, the category suggestion and its confidence, the
urgency with its reasons, the same-problem keys and the redacted text. It needs no database,
so intake runs it before the voice reaches the group-commit writer (where every millisecond
holds up the other voices of the batch), and the writer only stores what it says.

``POST /api/v1/understand`` (:func:`preview_reading`) runs the same step and shows the
result, with the department and the open case it would lead to, without storing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import validate_point
from civicpulse.domain.roles import Actor, require_staff
from civicpulse.services.classification import Suggestion, suggest
from civicpulse.services.match_index import best_open_match, params_from
from civicpulse.services.read_models import (
    CategoryGuess,
    Redaction,
    SameProblem,
    TextUnderstanding,
    UrgencyView,
)
from civicpulse.services.routing import current_table
from civicpulse.services.urgency import assess_text
from civicpulse.understanding.language import detect_language
from civicpulse.understanding.matching import (
    MatchParams,
    Probe,
    index_keys,
    query_keys,
    signature,
)
from civicpulse.understanding.redaction import Redacted, redact
from civicpulse.understanding.urgency import Verdict

if TYPE_CHECKING:
    from civicpulse.infra.context import Context
    from civicpulse.settings import Settings


@dataclass(frozen=True)
class MatchingKeys:
    """What the same-problem index needs of a text: its signature where and when it was
    said, the keys it is filed under and the keys to look its matches up by."""

    probe: Probe
    index_keys: list[int]
    query_keys: list[int]


@dataclass(frozen=True)
class TextReading:
    """Everything known about one text before anything is stored."""

    text: str
    #: the language given with the voice, else the one detected
    language: str
    #: the classifier's category and confidence; None without a model, or when the voice
    #: came with its category and nobody asked
    suggestion: Suggestion | None
    urgency: Verdict
    matching: MatchingKeys

    @cached_property
    def redacted(self) -> Redacted:
        """The text as the public would see it.

        Worked out on first use: it cost about 160 µs for a 300-character text when
        measured, and intake never shows it, so only the readers that do pay for it.
        """
        return redact(self.text)


def language_of(text: str, given: str | None = None) -> str:
    """The language a voice was given in, else the one its text reads as."""
    return given or detect_language(text)


def matching_probe(
    params: MatchParams,
    *,
    text: str,
    title: str | None,
    at: datetime,
    lat: float | None,
    lon: float | None,
    category: str | None = None,
) -> Probe:
    """What matching knows of a voice: its signature, where and when it was said. Intake,
    reindexing and the replay of a file (``match_file``) all read a voice through here."""
    return Probe(signature(text, title, params.num_perm), at, lat, lon, category)


def keys_for(probe: Probe, params: MatchParams) -> MatchingKeys:
    """The keys a probe is filed under and looked up by."""
    return MatchingKeys(probe, index_keys(probe, params), query_keys(probe, params))


def matching_keys(
    settings: Settings,
    *,
    text: str,
    title: str | None,
    at: datetime,
    lat: float | None,
    lon: float | None,
) -> MatchingKeys:
    """The same-problem keys alone: what reindexing a stored voice needs."""
    params = params_from(settings)
    probe = matching_probe(params, text=text, title=title, at=at, lat=lat, lon=lon)
    return keys_for(probe, params)


def read_text(
    ctx: Context,
    text: str,
    *,
    title: str | None = None,
    at: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    language: str | None = None,
    classify: bool = True,
) -> TextReading:
    """The one understanding step; ``classify=False`` skips the model when the voice came
    with its category already (nothing would use the suggestion)."""
    settings = ctx.settings
    return TextReading(
        text=text,
        language=language_of(text, language),
        suggestion=suggest(ctx, text) if classify else None,
        urgency=assess_text(settings, text, title),
        matching=matching_keys(
            settings, text=text, title=title, at=at or ctx.now(), lat=lat, lon=lon
        ),
    )


def preview_reading(
    ctx: Context,
    actor: Actor,
    text: str,
    title: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    at: datetime | None = None,
) -> TextUnderstanding:
    """What intake would find in ``text``; for staff and integrations (it names open cases)."""
    if actor.kind != "integration":
        require_staff(actor)
    limits.check_length("text", text, limits.TEXT, required=True)
    limits.check_length("title", title, limits.TITLE)
    if (lat is None) != (lon is None):
        raise ValidationFailed("give both lat and lon, or neither")
    if lat is not None and lon is not None:
        validate_point(lat, lon)
    reading = read_text(ctx, text, title=title, at=at, lat=lat, lon=lon)
    hint = reading.suggestion
    hidden = reading.redacted
    with ctx.db.reader() as s:
        category = None
        if hint is not None:
            table = current_table(ctx.routes, s, hint.category)
            route = table.route(hint.category, lat, lon) if table.knows(hint.category) else None
            category = CategoryGuess(
                code=hint.category,
                confidence=round(hint.confidence, 4),
                model_version=hint.model_version,
                department=route.department_code if route else None,
                would_apply=hint.confidence >= ctx.settings.classifier_min_confidence,
            )
        keys = reading.matching
        match = best_open_match(s, keys.probe, params_from(ctx.settings), keys.query_keys)
    return TextUnderstanding(
        language=reading.language,
        category=category,
        urgency=UrgencyView.model_validate(
            {
                "level": reading.urgency.level,
                "score": round(reading.urgency.score, 4),
                "reasons": reading.urgency.reasons,
            }
        ),
        redacted_text=hidden.text,
        redactions=[Redaction(kind=sp.kind, start=sp.start, end=sp.end) for sp in hidden.spans],
        same_problem=(
            SameProblem(
                case_id=match.case_id,
                score=round(match.judgement.score, 4),
                reasons=match.judgement.reasons,
            )
            if match is not None
            else None
        ),
    )
