"""The same-problem index, kept as voices arrive: match a new voice, merge or propose, file it.

The reading of the text (signature, keys, urgency) is done before the writer, by
``text_reading.read_text``; what needs the database happens here, inside the voice's own
transaction: the keys are looked up (seeing voices committed a moment ago and earlier ones
of the same group commit), the new case is merged into the matched one through the same
merge as staff use (with ``CIVICPULSE_MATCH_AUTO_MERGE``; otherwise the match is kept as a
proposal for staff), and the voice's insight row and keys are stored.

:func:`rerun` files voices stored before (bulk imports, or after a model or the rules
changed), without merging anything: history is indexed, not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from civicpulse.domain.errors import DomainError
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import CaseStatus
from civicpulse.services.case_rows import insight_row
from civicpulse.services.cases import merge_within
from civicpulse.services.match_index import best_open_match, params_from, store_index
from civicpulse.services.text_reading import TextReading, matching_keys
from civicpulse.services.urgency import assess_text
from civicpulse.storage.tables import Category, MatchKey, Voice, VoiceInsight

if TYPE_CHECKING:
    from civicpulse.infra.context import Context
    from civicpulse.services.voices import SubmitResult

MATCHER = Actor(kind="system", name="matching")


def apply_to_submission(
    session: Session,
    ctx: Context,
    result: SubmitResult,
    reading: TextReading,
    *,
    may_merge: bool = True,
) -> SubmitResult:
    """Match, merge and file a voice just written, inside its transaction.

    The answer says when the case was merged (the resident's tracking code then shows the
    case it joined). ``may_merge=False`` keeps any match as a proposal (history from
    another system is never merged by itself). The merge runs in a savepoint: should it
    fail (the other case changed under a lock, say), the voice still lands, unmerged, with
    the match kept as a proposal for staff.
    """
    settings = ctx.settings
    keys = reading.matching
    probe = replace(keys.probe, category=result.category)
    match = best_open_match(
        session, probe, params_from(settings), keys.query_keys, exclude_case_id=result.case_id
    )
    merge = match is not None and settings.match_auto_merge and may_merge
    row = insight_row(
        keys, reading.urgency, case_id=result.case_id, category=result.category, now=ctx.now()
    )
    if match is not None:
        row.update(
            matched_case_id=match.case_id,
            match_action="merged" if merge else "suggested",
            match_score=round(match.judgement.score, 4),
            match_reasons=match.judgement.reasons,
        )
    store_index(session, voice_id=result.voice_id, keys=keys.index_keys, insight=row)
    if match is None or not merge:
        return result
    try:
        with session.begin_nested():
            merge_within(
                session,
                ctx,
                MATCHER,
                result.case_id,
                match.case_id,
                data={
                    "automatic": True,
                    "matched_voice_id": match.voice_id,
                    "score": round(match.judgement.score, 4),
                    "reasons": match.judgement.reasons,
                },
            )
    except (DomainError, SQLAlchemyError):
        session.execute(
            update(VoiceInsight)
            .where(VoiceInsight.voice_id == result.voice_id)
            .values(match_action="suggested")
        )
        return result
    return replace(result, case_status=CaseStatus.MERGED.value)


def rerun(
    ctx: Context,
    *,
    everything: bool = False,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index and assess voices that have no insight yet (or all of them, ``everything``).

    Kept matches stay as they are: rerunning recomputes signatures, keys and urgency only.
    Returns how many voices were (re)computed.
    """
    settings = ctx.settings
    done = 0
    last_id = 0
    while True:
        with ctx.db.reader() as s:
            q = select(Voice.id, Voice.case_id, Voice.text, Voice.title, Voice.lat, Voice.lon,
                       Voice.occurred_at, Voice.received_at, Voice.category_id).where(
                Voice.id > last_id
            )
            if not everything:
                q = q.where(~select(VoiceInsight.voice_id).where(
                    VoiceInsight.voice_id == Voice.id).exists())
            rows = s.execute(q.order_by(Voice.id).limit(batch_size)).all()
            codes = dict(s.execute(select(Category.id, Category.code)).all())
        if not rows:
            return done
        now = ctx.now()
        with ctx.db.transaction() as session:
            for vid, case_id, text, title, lat, lon, occurred, received, cat_id in rows:
                keys = matching_keys(settings, text=text, title=title, at=occurred or received,
                                     lat=lat, lon=lon)
                category = codes.get(cat_id) if cat_id else None
                old = session.get(VoiceInsight, vid)
                row = insight_row(keys, assess_text(settings, text, title), case_id=case_id,
                                  category=category, now=now)
                if old is not None:
                    row.update(matched_case_id=old.matched_case_id, match_score=old.match_score,
                               match_action=old.match_action, match_reasons=old.match_reasons)
                    if any(r.get("source") == "staff" for r in old.urgency_reasons or []):
                        row.update(urgency=old.urgency, urgency_score=old.urgency_score,
                                   urgency_reasons=old.urgency_reasons)
                    session.delete(old)
                    session.flush()
                session.execute(delete(MatchKey).where(MatchKey.voice_id == vid))
                store_index(session, voice_id=vid, keys=keys.index_keys, insight=row)
        done += len(rows)
        last_id = rows[-1][0]
        if progress is not None:
            progress(done)
