"""A reply checked as it is written: the officer's nudge, and the assessment kept with it.

When staff answer a resident (a public reply, or the resolution), the reply is assessed
against what the resident wrote (``understanding.replies``: relevance, template text,
deflection, concreteness). The assessment is computed before the case's transaction, like
the public form of the message, and kept in the timeline entry's data (``reply``: the scores,
the flags and the reasons' codes, never a quoted word of the resident's text), so the
formalism audit and the league table count hollow replies from what was recorded at the
time. A page shows the officer the hollow flags and their reasons *before* sending, and lets
them send anyway (a nudge, never a block); sending anyway is recorded too.

What counts as template text and which words are rare is learnt from the city's own past
replies: the job runner rebuilds a reference from the latest public replies once a day
(:func:`rebuild_reference`, into ``data_dir/reply_reference.json.gz``) and each process reads
it when the file changes. Until one is built, every word weighs the same and nothing is a
template, so a new city is judged on relevance alone.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from civicpulse.storage.tables import CaseEvent, Voice
from civicpulse.understanding.replies import ReplyAssessment, ReplyReference, assess_reply

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

#: the flags that make a reply hollow: it does not answer, it is a form, or it passes the
#: matter on without acting; the nudge shows these and the league table counts them
HOLLOW_FLAGS = ("does_not_answer", "boilerplate", "deflection")
#: the timeline entries whose message is an answer to the resident
ANSWER_KINDS = ("reply", "resolve")
#: how many of the latest public answers the reference is learnt from
REFERENCE_REPLIES = 20_000
#: how old the reference may grow before the job runner builds it again
REFERENCE_AGE = timedelta(days=1)
REFERENCE_FILE = "reply_reference.json.gz"


@dataclass(frozen=True)
class ReplyCheck:
    """A reply's assessment as the nudge shows it and the timeline keeps it."""

    assessment: ReplyAssessment

    @property
    def hollow(self) -> list[str]:
        return [f for f in self.assessment.flags if f in HOLLOW_FLAGS]

    def record(self, sent_anyway: bool = False) -> dict[str, Any]:
        """What the timeline entry keeps: scores, flags and the reasons' codes only (a
        reason's values can quote the resident's words, which the timeline must not hold
        outside its message)."""
        a = self.assessment
        return {
            "relevance": round(a.relevance, 3),
            "boilerplate": round(a.boilerplate, 3),
            "deflection": a.deflection,
            "concrete": a.concrete,
            "flags": list(a.flags),
            "hollow": bool(self.hollow),
            "reasons": sorted({f.code for f in a.findings}),
            "sent_anyway": sent_anyway,
        }


def reference_path(ctx: Context) -> Path:
    return Path(ctx.settings.data_dir) / REFERENCE_FILE


_cache: dict[Path, tuple[float, ReplyReference]] = {}
_cache_lock = threading.Lock()


def city_reference(ctx: Context) -> ReplyReference:
    """The city's reference as last built, read again when the file changes; empty until
    the job runner has built one."""
    path = reference_path(ctx)
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return ReplyReference.empty()
    with _cache_lock:
        held = _cache.get(path)
        if held is not None and held[0] == stamp:
            return held[1]
    reference = ReplyReference.load(path)
    with _cache_lock:
        _cache[path] = (stamp, reference)
    return reference


def check_reply(ctx: Context, case_id: int, message: str) -> ReplyCheck:
    """Assess ``message`` as an answer to the case's first voice (what the resident wrote:
    its title apart when it has one)."""
    with ctx.db.reader() as s:
        first = s.execute(
            select(Voice.title, Voice.text).where(Voice.case_id == case_id)
            .order_by(Voice.id).limit(1)
        ).first()
    title, text = (first[0], first[1]) if first else (None, "")
    return ReplyCheck(assess_reply(text or "", message, city_reference(ctx), title=title))


def rebuild_reference(ctx: Context, *, force: bool = False) -> int | None:
    """Learn the reference from the latest public answers when it is older than a day (or
    ``force``); returns how many replies it holds, or None when the one on disk is fresh.
    Written to a temporary file and renamed, so a reader never sees half of one."""
    path = reference_path(ctx)
    if not force and path.exists():
        age = time.time() - path.stat().st_mtime  # the file's own clock, not the city's
        if age < REFERENCE_AGE.total_seconds():
            return None
    with ctx.db.reader() as s:
        replies = list(s.scalars(
            select(CaseEvent.message)
            .where(CaseEvent.kind.in_(ANSWER_KINDS), CaseEvent.public.is_(True),
                   CaseEvent.message.is_not(None))
            .order_by(CaseEvent.id.desc()).limit(REFERENCE_REPLIES)
        ))
    reference = ReplyReference.build((r for r in replies if r), source="case_events")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    reference.save(partial)
    os.replace(partial, path)
    return reference.replies
