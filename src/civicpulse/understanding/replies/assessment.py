"""One reply assessed against the message it answers: the four judgements, flags, reasons.

This is what the formalism audit records for a reply, what ``civicpulse audit replies``
prints per row, and what the officer's nudge will show before a reply is sent:

* ``relevance`` 0..1 (:mod:`.relevance`): below 0.5 the reply is not shown to answer, and
  a reply that takes up nothing of the message (greeting its author is not enough) is
  flagged as not answering too;
* ``boilerplate`` 0..1 (:mod:`.boilerplate`): share of the reply that is template text or
  formula, flagged when the reply is a form;
* ``deflection`` and ``concrete`` (:mod:`.commitments`).

The clauses that pass the matter on are found first: boilerplate counts them as formula, and
the own text left besides (:mod:`.formula`) decides whether a reply that points elsewhere
only points elsewhere.

A flag is a finding of formalism a leader may act on; the reasons say why each judgement came
out as it did, with the evidence (the template sentence, the place not named, the sentence
that passes the matter on). Nothing here reads a database or a file: the city's past replies
arrive as a :class:`ReplyReference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from civicpulse.understanding.replies.boilerplate import boilerplate
from civicpulse.understanding.replies.commitments import concrete_action, judge, passing_on
from civicpulse.understanding.replies.findings import Finding
from civicpulse.understanding.replies.reference import ReplyReference
from civicpulse.understanding.replies.relevance import (
    ANSWERS_AT,
    RelevanceWeights,
    relevance,
)
from civicpulse.understanding.replies.views import (
    MessageView,
    ReplyView,
    read_message,
    read_reply,
)

#: the formalism flags a reply can raise, in the order they are listed
FLAGS = ("does_not_answer", "boilerplate", "deflection", "no_concrete_action")


@dataclass(frozen=True, slots=True)
class ReplyAssessment:
    relevance: float
    boilerplate: float
    deflection: bool
    concrete: bool
    flags: list[str]
    findings: list[Finding]

    def as_json(self, reasons: list[str] | None = None) -> dict[str, Any]:
        """The line ``audit replies`` prints: ``reasons`` as rendered for a reader (the
        findings' codes when none are given)."""
        return {
            "relevance": round(self.relevance, 4),
            "boilerplate": round(self.boilerplate, 4),
            "deflection": self.deflection,
            "concrete": self.concrete,
            "flags": list(self.flags),
            "reasons": reasons if reasons is not None else [f.code for f in self.findings],
        }


def assess_views(
    message: MessageView,
    reply: ReplyView,
    reference: ReplyReference,
    weights: RelevanceWeights | None = None,
) -> ReplyAssessment:
    answer = relevance(message, reply, reference, weights)
    passing = passing_on(reply)
    concrete = concrete_action(reply)
    template = boilerplate(reply, reference, passing.spans, acts=concrete is not None)
    promise = judge(passing, template.own, concrete)
    flags = []
    if answer.score < ANSWERS_AT or not answer.takes_up:
        flags.append("does_not_answer")
    if template.flagged:
        flags.append("boilerplate")
    if promise.deflection:
        flags.append("deflection")
    if not promise.concrete:
        flags.append("no_concrete_action")
    return ReplyAssessment(
        relevance=answer.score,
        boilerplate=template.share,
        deflection=promise.deflection,
        concrete=promise.concrete,
        flags=flags,
        findings=[*answer.findings, *template.findings, *promise.findings],
    )


def assess_reply(
    message: str,
    reply: str,
    reference: ReplyReference | None = None,
    *,
    title: str | None = None,
    author: str | None = None,
    said_at: date | datetime | None = None,
) -> ReplyAssessment:
    """Assess ``reply`` against the resident's ``message`` (its body; ``title`` apart when
    there is one). Without a reference every term weighs the same and nothing is a template:
    build one from the city's past replies (:meth:`ReplyReference.build`)."""
    return assess_views(
        read_message(message, title=title, author=author, said_at=said_at),
        read_reply(reply),
        reference or ReplyReference.empty(),
    )
