"""Boilerplate: how much of a reply is template text, and whether it is a form.

Greetings, thanks and sign-offs are fine in moderation; a reply made of them is a form, not an
answer. Template text is of two kinds: the phrases that at least ``template_min`` other
replies of the reference corpus carry word for word (see :mod:`.reference`; numbers made
alike, so that a date or a case number does not make a template new), and the formulas of
official replies whose wording changes by a name, a date or an office (greeting,
acknowledgement, thanks, dates, telephone numbers, passing the matter on; :mod:`.formula`).
The share is of the reply's characters (English: words) inside either.

A reply is flagged when three quarters of it is template, or when it has under a sentence of
its own and at least half of it is template: "网友：您好！您反映的问题已转L6县调查、核处。"
shares only its greeting with other replies, and is a form. A reply that names a concrete
action is never flagged (it says what was done, when or where). Both bounds were chosen on
150 replies labelled by hand and held to three further labelled samples (bench/README.md,
"Replies: boilerplate and deflection"). The reasons quote the reply's template sentences,
with how many other replies share them, so a reader can check them against the corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from civicpulse.understanding.replies.findings import Finding
from civicpulse.understanding.replies.formula import formula_spans, own_units
from civicpulse.understanding.replies.reference import ReplyReference
from civicpulse.understanding.replies.term_keys import (
    CHINESE_SHINGLE,
    ENGLISH_SHINGLE,
    phrases_of,
)
from civicpulse.understanding.replies.text import (
    has_han,
    normalise,
    sentences,
    template_units,
)
from civicpulse.understanding.replies.views import ReplyView

BOILERPLATE_AT = 0.75
"""From this share of template text and formulas on, the reply is flagged as mostly
template."""

OWN_MIN = 25
"""A reply with fewer units of its own text than this (Chinese characters, about a sentence;
English words), and at least ``FORM_FROM`` of formula and template, is a form: "网友：您好！
您反映的问题已转L6县调查、核处。" is all formula but a county's name. On the 150 replies
labelled to develop the rules, the forms had at most 21 units of their own but one (36), the
answers at least 31 (bench/README.md)."""

FORM_FROM = 0.5
"""A short reply made of its own words ("按照现有的规定，B市没有此类规定。") is a short
answer, not a form: the little it says is not wrapped in formulas."""

TEMPLATE_SENTENCE_AT = 0.8
"""A sentence this much covered by template phrases is a template sentence."""

NAMED_FROM = 0.4
"""The reasons name the reply's template sentences once this much of it is template."""


@dataclass(frozen=True, slots=True)
class TemplateSentence:
    text: str
    #: other replies that carry every phrase of it (at least this many carry each)
    others: int
    size: int


@dataclass(frozen=True, slots=True)
class Boilerplate:
    #: the share of the reply that is template text or formula
    share: float
    sentences: list[TemplateSentence]
    findings: list[Finding]
    #: units of the reply's own text (neither template, nor formula, nor passing on)
    own: int = 0
    #: whether the reply is flagged: mostly template, or almost nothing of its own
    flagged: bool = False


def boilerplate(
    reply: ReplyView,
    reference: ReplyReference,
    passing: Sequence[tuple[int, int]] = (),
    acts: bool = False,
) -> Boilerplate:
    """The share is of the reply's units (characters; English: words) that are template
    text: inside a phrase other replies carry word for word, or inside a formula clause
    (:mod:`.formula`: greeting, acknowledgement, thanks, dates, telephone numbers) or a
    clause that passes the matter on (``passing``, from :mod:`.commitments`). A reply that
    ``acts`` (names a concrete action: who did what, when or where) is no form, however
    short and however much of it is formula: "路灯已于5月10日修复。" answers. The template
    sentences are named from the phrases alone, and only when they make enough of the reply
    to be worth naming: reading the reply sentence by sentence costs as much again."""
    chinese = has_han(reply.text)
    size = CHINESE_SHINGLE if chinese else ENGLISH_SHINGLE
    holds = reference.holds(reply)
    if len(reference.phrase_keys) and len(reply.phrases):
        covered, _ = _coverage(reply.phrases, size, reference, holds)
    else:
        covered = np.zeros(0, dtype=bool)  # no corpus, or a reply shorter than one phrase
    spans = [*formula_spans(reply.text, not chinese), *passing]
    own, units = own_units(reply.text, chinese, covered, spans)
    share = 1.0 - own / units if units else 0.0
    flagged = units > 0 and not acts and (
        share >= BOILERPLATE_AT or (own < OWN_MIN and share >= FORM_FROM))
    phrased = int(covered.sum()) / len(covered) if len(covered) else 0.0
    if phrased < NAMED_FROM:
        return Boilerplate(share, [], _findings(share, flagged, []), own, flagged)
    parts = sentences(reply.raw)
    per_sentence = [template_units(normalise(s), chinese) for s in parts]
    joined: str | list[str] = ("".join(u for u in per_sentence if isinstance(u, str))
                               if chinese else [w for u in per_sentence for w in u])
    covered, others = _coverage(phrases_of(joined), size, reference, holds)
    found: list[TemplateSentence] = []
    at = 0
    for text, mine in zip(parts, per_sentence, strict=True):
        start, at = at, at + len(mine)
        if len(mine) < 4 or covered[start:at].sum() < TEMPLATE_SENTENCE_AT * len(mine):
            continue
        counts = others[start:at][others[start:at] > 0]
        found.append(TemplateSentence(text, int(counts.min()) if len(counts) else 0, len(mine)))
    return Boilerplate(share, found, _findings(share, flagged, found), own, flagged)


def _coverage(
    keys: Any, size: int, reference: ReplyReference, holds: bool
) -> tuple[Any, Any]:
    """Which units lie in a template phrase (a boolean per unit), and at each phrase start
    how many other replies have it (0 where it is no template), from the phrases' keys (one
    per start, so the units number ``len(keys) + size - 1``); with numpy, a reply's few
    hundred phrases at once."""
    units = len(keys) + size - 1 if len(keys) else 0
    others = np.zeros(units, dtype=np.int64)
    if not len(keys):
        return np.zeros(units, dtype=bool), others
    counts = reference.phrase_counts_of(keys) - holds
    template = counts >= reference.template_min
    if not template.any():
        return np.zeros(units, dtype=bool), others
    others[: len(keys)] = np.where(template, counts, 0)
    # a unit is covered when a template phrase starts at most size - 1 units before it:
    # count the starts in each window of ``size`` over the starts padded on both sides
    padded = np.zeros(len(keys) + 2 * (size - 1) + 1, dtype=np.int32)
    np.cumsum(template, out=padded[size : size + len(keys)])
    padded[size + len(keys) :] = padded[size + len(keys) - 1]
    return padded[size : size + units] > padded[:units], others


def _findings(share: float, flagged: bool, found: list[TemplateSentence]) -> list[Finding]:
    out: list[Finding] = []
    if flagged:
        out.append(Finding("template_share", {"share": round(100 * share)}))
    for sentence in sorted(found, key=lambda s: (-s.size, -s.others))[:2]:
        if sentence.others:
            out.append(Finding("template_sentence", {"sentence": _clip(sentence.text),
                                                     "replies": sentence.others}))
    return out


def _clip(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
