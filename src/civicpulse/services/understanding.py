"""Understanding at intake: match to an open case, assess urgency, and store both.

Split in two like the classifier: :func:`precompute` does the CPU work (shingles, MinHash,
block keys, urgency rules and model) before the voice reaches the group-commit writer, and
:func:`apply_at_intake` runs inside the voice's own transaction, where it looks the keys up
(seeing voices committed a moment ago and earlier ones of the same batch), merges the new
case into the matched one through the same merge as staff use (with
``CIVICPULSE_MATCH_AUTO_MERGE``; otherwise the match is kept as a proposal for staff), and
stores the index rows.

:func:`rerun` does the same for voices stored before (bulk imports, or after a model or
the rules changed), without merging anything: history is indexed, not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from civicpulse.domain.errors import DomainError
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import CaseStatus
from civicpulse.services.cases import merge_within
from civicpulse.services.matching import Match, best_open_match, params_from, store_index
from civicpulse.services.urgency import assess_text
from civicpulse.storage.tables import CaseEvent, Category, MatchKey, Voice, VoiceInsight
from civicpulse.understanding.matching import (
    Probe,
    index_keys,
    query_keys,
    signature,
    signature_bytes,
)
from civicpulse.understanding.urgency import URGENT, Verdict

if TYPE_CHECKING:
    from civicpulse.infra.context import Context
    from civicpulse.settings import Settings

MATCHER = Actor(kind="system", name="matching")


@dataclass(frozen=True)
class Precomputed:
    """Everything about a new voice that does not need the database."""

    probe: Probe
    index_keys: list[int]
    query_keys: list[int]
    urgency: Verdict


def precompute(
    settings: Settings,
    *,
    text: str,
    title: str | None,
    at: datetime,
    lat: float | None,
    lon: float | None,
) -> Precomputed:
    params = params_from(settings)
    probe = Probe(signature(text, title, params.num_perm), at, lat, lon)
    return Precomputed(
        probe=probe,
        index_keys=index_keys(probe, params),
        query_keys=query_keys(probe, params),
        urgency=assess_text(settings, text, title),
    )


def _insight_row(
    pre: Precomputed, case_id: int, category: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "signature": signature_bytes(pre.probe.signature),
        "at": pre.probe.at,
        "lat": pre.probe.lat,
        "lon": pre.probe.lon,
        "category": category,
        "urgency": pre.urgency.level,
        "urgency_score": pre.urgency.score,
        "urgency_reasons": pre.urgency.reasons,
        "matched_case_id": None,
        "match_action": None,
        "match_score": None,
        "match_reasons": [],
        "computed_at": now,
    }


def apply_at_intake(
    session: Session,
    ctx: Context,
    *,
    voice_id: int,
    case_id: int,
    category: str | None,
    pre: Precomputed,
    may_merge: bool = True,
) -> tuple[Match | None, bool]:
    """Match, merge and store, inside the submission's transaction.

    Returns the match and whether the new case was merged into it. The merge runs in a
    savepoint: should it fail (the other case changed under a lock, say), the voice still
    lands, unmerged, with the match kept as a proposal for staff."""
    settings = ctx.settings
    now = ctx.now()
    probe = replace(pre.probe, category=category)
    match = best_open_match(
        session, probe, params_from(settings), pre.query_keys, exclude_case_id=case_id
    )
    merge = match is not None and settings.match_auto_merge and may_merge
    row = _insight_row(pre, case_id, category, now)
    if match is not None:
        row.update(
            matched_case_id=match.case_id,
            match_action="merged" if merge else "suggested",
            match_score=round(match.judgement.score, 4),
            match_reasons=match.judgement.reasons,
        )
    store_index(session, voice_id=voice_id, keys=pre.index_keys, insight=row)
    if pre.urgency.level == URGENT:
        session.connection().execute(
            insert(CaseEvent),
            {
                "case_id": case_id,
                "kind": "flagged_urgent",
                "actor": "system:urgency",
                "public": False,
                "message": "; ".join(
                    f"{r['reason']} ({r['matched']})" for r in pre.urgency.reasons
                ),
                "data": {"score": pre.urgency.score, "reasons": pre.urgency.reasons},
                "created_at": now,
            },
        )
    if match is not None and merge:
        try:
            with session.begin_nested():
                merge_within(
                    session,
                    ctx,
                    MATCHER,
                    case_id,
                    match.case_id,
                    data={
                        "automatic": True,
                        "matched_voice_id": match.voice_id,
                        "score": round(match.judgement.score, 4),
                        "reasons": match.judgement.reasons,
                    },
                )
        except (DomainError, SQLAlchemyError):
            merge = False
            session.execute(
                update(VoiceInsight)
                .where(VoiceInsight.voice_id == voice_id)
                .values(match_action="suggested")
            )
    return match, merge


class _Submitted(Protocol):
    voice_id: int
    case_id: int
    case_status: str
    category: str | None


S = TypeVar("S", bound=_Submitted)


def precompute_for(
    ctx: Context,
    *,
    text: str,
    title: str | None,
    occurred_at: datetime | None,
    lat: float | None,
    lon: float | None,
) -> Precomputed:
    """Intake's CPU work for one voice, done before it reaches the writer thread."""
    return precompute(
        ctx.settings, text=text, title=title, at=occurred_at or ctx.now(), lat=lat, lon=lon
    )


def apply_to_submission(
    session: Session, ctx: Context, result: S, pre: Precomputed, *, may_merge: bool = True
) -> S:
    """:func:`apply_at_intake` for a fresh submission; the answer says when it was merged
    (the resident's tracking code then shows the case it joined). ``may_merge=False`` keeps
    any match as a proposal (history from another system is never merged by itself)."""
    _, merged = apply_at_intake(
        session, ctx, voice_id=result.voice_id, case_id=result.case_id,
        category=result.category, pre=pre, may_merge=may_merge,
    )
    if merged:
        return replace(result, case_status=CaseStatus.MERGED.value)  # type: ignore[type-var]
    return result


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
                pre = precompute(settings, text=text, title=title, at=occurred or received,
                                 lat=lat, lon=lon)
                category = codes.get(cat_id) if cat_id else None
                old = session.get(VoiceInsight, vid)
                row = _insight_row(pre, case_id, category, now)
                if old is not None:
                    row.update(matched_case_id=old.matched_case_id, match_score=old.match_score,
                               match_action=old.match_action, match_reasons=old.match_reasons)
                    if any(r.get("source") == "staff" for r in old.urgency_reasons or []):
                        row.update(urgency=old.urgency, urgency_score=old.urgency_score,
                                   urgency_reasons=old.urgency_reasons)
                    session.delete(old)
                    session.flush()
                session.execute(delete(MatchKey).where(MatchKey.voice_id == vid))
                store_index(session, voice_id=vid, keys=pre.index_keys, insight=row)
        done += len(rows)
        last_id = rows[-1][0]
        if progress is not None:
            progress(done)
