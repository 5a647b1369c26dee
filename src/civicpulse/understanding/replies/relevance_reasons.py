"""The reasons of a relevance score: the evidence a reader can check, in words they know.

Relevance weighs terms (character bigrams, :mod:`.relevance`); a reader checks words. So the
reasons quote what the reply repeats as whole words of the message (jieba's), name the
places as the texts write them, and say which evidence went against. Kept apart from the
score so that what is shown can change without touching what is measured.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING

from civicpulse.understanding.replies.findings import Finding
from civicpulse.understanding.replies.reference import ReplyReference
from civicpulse.understanding.replies.text import terms
from civicpulse.understanding.replies.views import MessageView, ReplyView

if TYPE_CHECKING:
    from civicpulse.understanding.replies.relevance import Evidence, Particulars

_PHRASES_FROM = 150
"""Characters at the start of a message (its title and first lines) whose words the reasons
may quote: what it is about, and half the cost of its whole head."""

_WORDISH = re.compile(r"[\u3400-\u9fff\uf900-\ufaffa-z0-9]")
_LATIN_WORD = re.compile(r"[a-z0-9]+")


def relevance_findings(
    message: MessageView,
    reply: ReplyView,
    evidence: Evidence,
    found: Particulars,
    answers: bool,
    phrases: list[str],
    takes_up: bool,
) -> list[Finding]:
    """The evidence a reader can check, strongest first."""
    out: list[Finding] = []
    author = message.author_as_written or message.author or ""
    if evidence.other_addressee and reply.addressee:
        out.append(Finding("greets_other", {"name": reply.as_written(reply.addressee),
                                            "author": author}))
    if found.foreign_quotes:
        out.append(Finding("foreign_quote",
                           {"quote": _clip(reply.as_written(found.foreign_quotes[0]))}))
    if found.foreign_places and not answers:
        out.append(Finding("foreign_places", {
            "places": tuple(reply.as_written(p) for p in found.foreign_places[:3])}))
    if evidence.author:
        out.append(Finding("names_author", {"name": author}))
    if evidence.title >= 0.5:
        out.append(Finding("restates_title", {"share": round(100 * evidence.title)}))
    if found.named_places:
        out.append(Finding("names_places", {
            "places": tuple(message.as_written(p) for p in found.named_places[:3])}))
    elif found.places:
        out.append(Finding("misses_places", {
            "places": tuple(message.as_written(p) for p in found.places[:3])}))
    if evidence.date:
        out.append(Finding("names_date"))
    if phrases:
        out.append(Finding("shares_words", {"words": tuple(phrases)}))
    if not takes_up:
        out.append(Finding("nothing_specific"))
    return out


def shared_phrases(
    message: MessageView, reply: ReplyView, reference: ReplyReference, limit: int = 3
) -> list[str]:
    """The message's rarest stretches of words that the reply repeats word for word, ranked
    by weight: consecutive jieba words (English: words) of the message's first
    ``_PHRASES_FROM`` characters, as long as the reply contains them all in a row. Terms of
    most replies, such as "您好", weigh under half of a rare term's weight and do not
    count."""
    chinese = bool(message.head_words)
    words = (_first(message.head_words, _PHRASES_FROM) if chinese
             else _LATIN_WORD.findall(message.text[:_PHRASES_FROM]))
    sep = "" if chinese else " "
    text = reply.text
    found: set[str] = set()
    after = -1
    for k, word in enumerate(words):
        if k < after or len(word) < 2 or word not in text or not _WORDISH.match(word):
            continue
        phrase, end = word, k + 1
        while end < len(words) and _WORDISH.match(words[end]) and (
                (longer := phrase + sep + words[end]) in text):
            phrase, end = longer, end + 1
        found.add(phrase)
        after = end
    get, unseen = reference.weights.get, reference.unseen_weight
    floor = 0.5 * unseen

    def mass(phrase: str) -> float:
        units = [phrase[i : i + 2] for i in range(len(phrase) - 1)] if chinese else terms(phrase)
        return sum(w for u in units if (w := get(u, unseen)) >= floor)

    ranked = [p for m, p in sorted(((mass(p), p) for p in found), reverse=True) if m > 0]
    joined = "\x00".join(ranked)
    shown = [p for p in ranked if joined.count(p) == 1][:limit]  # not inside a longer one
    return [_clip(message.as_written(p), 20) for p in shown]


def _first(words: tuple[str, ...], size: int) -> list[str] | tuple[str, ...]:
    """The words up to ``size`` characters."""
    return words[: bisect_right(list(accumulate(map(len, words))), size)]


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
