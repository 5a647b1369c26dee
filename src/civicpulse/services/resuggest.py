"""When a new model arrives, cases still waiting in triage get its view of their voices.

A model trained later usually knows the city better, and the dispatcher orders the triage
queue by the model's confidence; a suggestion from a model since replaced would mislead
them. Only the suggestion is refreshed: the resident was told the case waits for a person,
so routing it stays the dispatcher's decision. Voices are taken a batch at a time, locked
so two workers never refresh the same one twice.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from civicpulse.infra.context import Context
from civicpulse.services.queries import TRIAGE_STATES
from civicpulse.storage.tables import Case, CaseEvent, Voice


def refresh_waiting_suggestions(ctx: Context, batch: int = 500) -> int:
    """Re-classify up to ``batch`` voices of uncategorised waiting cases; how many were done."""
    model = ctx.models.current()
    if model is None:
        return 0
    version = model.info.version
    now = ctx.now()
    with ctx.db.transaction() as s:
        rows = _stale(s, version, batch)
        if not rows:
            return 0
        predictions = model.predict([text for _, _, text in rows])
        for (voice_id, case_id, _), hint in zip(rows, predictions, strict=True):
            confidence = float(hint.confidence)
            s.execute(
                update(Voice)
                .where(Voice.id == voice_id)
                .values(
                    suggested_category=hint.category,
                    suggestion_confidence=confidence,
                    model_version=version,
                )
            )
            s.add(
                CaseEvent(
                    case_id=case_id,
                    kind="classified",
                    actor=f"system:model-v{version}",
                    public=False,
                    message=f"suggested {hint.category} ({confidence:.2f}) by a newer model; "
                    "left for the dispatcher",
                    data={
                        "category": hint.category,
                        "confidence": confidence,
                        "model_version": version,
                        "applied": False,
                    },
                    created_at=now,
                )
            )
    return len(rows)


def _stale(s: Session, version: int, batch: int) -> list[tuple[int, int, str]]:
    query = (
        select(Voice.id, Voice.case_id, Voice.text)
        .join(Case, Case.id == Voice.case_id)
        .where(
            Case.status.in_(TRIAGE_STATES),
            Case.category_id.is_(None),
            or_(Voice.model_version.is_(None), Voice.model_version < version),
        )
        .order_by(Voice.id)
        .limit(batch)
    )
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Voice, skip_locked=True)
    return [(int(v), int(c), str(t)) for v, c, t in s.execute(query)]
