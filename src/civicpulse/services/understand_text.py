"""Everything understanding makes of one text, without storing anything.

Intake runs these same parts on every voice; this read-only view lets a partner system (a
hotline desk, a city app) or a member of staff see what CivicPulse would make of a text
before it is sent: its language, the category and department the model reads in it, its
urgency with the reasons, the text as the public would see it, and the open case it would
join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import validate_point
from civicpulse.domain.roles import Actor, require_staff
from civicpulse.infra.context import Context
from civicpulse.services.classification import suggest
from civicpulse.services.matching import best_open_match, params_from
from civicpulse.services.routing import current_table
from civicpulse.services.understanding import precompute_for
from civicpulse.understanding.language import detect_language
from civicpulse.understanding.redaction import redact

MAX_TEXT = 8000


def understand_text(
    ctx: Context,
    actor: Actor,
    text: str,
    title: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """What intake would find in ``text``; for staff and integrations (it names open cases)."""
    if actor.kind != "integration":
        require_staff(actor)
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValidationFailed(f"text must be 1–{MAX_TEXT} characters")
    if (lat is None) != (lon is None):
        raise ValidationFailed("give both lat and lon, or neither")
    if lat is not None and lon is not None:
        validate_point(lat, lon)
    hint = suggest(ctx, text)
    pre = precompute_for(ctx, text=text, title=title, occurred_at=at, lat=lat, lon=lon)
    hidden = redact(text)
    with ctx.db.reader() as s:
        category = None
        if hint is not None:
            table = current_table(ctx.routes, s, hint.category)
            route = table.route(hint.category, lat, lon) if table.knows(hint.category) else None
            category = {
                "code": hint.category,
                "confidence": round(hint.confidence, 4),
                "model_version": hint.model_version,
                "department": route.department_code if route else None,
                "would_apply": hint.confidence >= ctx.settings.classifier_min_confidence,
            }
        match = best_open_match(s, pre.probe, params_from(ctx.settings), pre.query_keys)
    return {
        "language": detect_language(text),
        "category": category,
        "urgency": {
            "level": pre.urgency.level,
            "score": round(pre.urgency.score, 4),
            "reasons": pre.urgency.reasons,
        },
        "redacted_text": hidden.text,
        "redactions": [{"kind": sp.kind, "start": sp.start, "end": sp.end} for sp in hidden.spans],
        "same_problem": (
            {
                "case_id": match.case_id,
                "score": round(match.judgement.score, 4),
                "reasons": match.judgement.reasons,
            }
            if match is not None
            else None
        ),
    }
