"""The staff read model of understanding: a case's urgency, its voices' matches and topics.

Named apart from the ``insight`` package on purpose: that one computes the city's aggregates,
this one only reads what intake already stored for one case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from civicpulse.domain.errors import NotFound
from civicpulse.domain.roles import Actor, check_case_visible, require_staff
from civicpulse.services.read_models import (
    CaseInsights,
    TopicRef,
    UrgencyReason,
    VoiceInsightView,
)
from civicpulse.storage.tables import Case, CaseEvent, Topic, Voice, VoiceInsight, VoiceTopic
from civicpulse.understanding.urgency import NORMAL, URGENT

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


def case_insights(ctx: Context, actor: Actor, case_id: int) -> CaseInsights:
    """Urgency (the most urgent voice decides, staff marks win), matches and topics.

    Voices of cases merged into this one count too: their residents' urgency is this
    case's urgency now."""
    require_staff(actor)
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        check_case_visible(actor, case.department_id)
        merged_into = case.merged_into_id
        merged_in = list(s.scalars(select(Case.id).where(Case.merged_into_id == case_id)))
        rows = s.execute(
            select(Voice.id, Voice.case_id, VoiceInsight, Topic.key, Topic.label)
            .outerjoin(VoiceInsight, VoiceInsight.voice_id == Voice.id)
            .outerjoin(VoiceTopic, VoiceTopic.voice_id == Voice.id)
            .outerjoin(Topic, Topic.id == VoiceTopic.topic_id)
            .where(Voice.case_id.in_([case_id, *merged_in]))
            .order_by(Voice.id)
        ).all()
        mark = s.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == "urgency_marked")
            .order_by(CaseEvent.id.desc())
            .limit(1)
        ).first()
        voices = []
        level, score, reasons = NORMAL, 0.0, []
        for voice_id, voice_case, insight, topic_key, topic_label in rows:
            topic = TopicRef(key=topic_key, label=topic_label) if topic_key else None
            if insight is None:  # never assessed: the assessment fields stay unset
                voices.append(VoiceInsightView(voice_id=voice_id, case_id=voice_case, topic=topic))
                continue
            voices.append(
                VoiceInsightView(
                    voice_id=voice_id,
                    case_id=voice_case,
                    topic=topic,
                    urgency=insight.urgency,
                    urgency_score=insight.urgency_score,
                    urgency_reasons=[UrgencyReason(**r) for r in insight.urgency_reasons],
                    matched_case_id=insight.matched_case_id,
                    match_action=insight.match_action,
                    match_score=insight.match_score,
                    match_reasons=insight.match_reasons,
                )
            )
            if (insight.urgency_score or 0.0) > score:
                score, reasons = insight.urgency_score or 0.0, insight.urgency_reasons
            if insight.urgency == URGENT:
                level = URGENT
        if mark is not None:
            level = URGENT if mark.data.get("urgent") else NORMAL
            reasons = [{"source": "staff", "rule": "staff", "reason": mark.message or "",
                        "matched": mark.actor, "weight": 0.0}]
    return CaseInsights(
        case_id=case_id,
        urgency=level,
        urgency_score=score,
        urgency_reasons=[UrgencyReason(**r) for r in reasons],
        marked_by_staff=mark is not None,
        merged_in_case_ids=merged_in,
        merged_into_case_id=merged_into,
        voices=voices,
    )
