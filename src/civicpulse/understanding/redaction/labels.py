"""Redaction of topic and concern labels, which are stitched from phrases of many texts.

A label is built from frequent character n-grams, so a name shows up cut into pieces
("张三 · 三丰" from "张三丰") that no redactor finds in the piece alone: "三丰" is an ordinary
word to a tagger. A phrase is therefore judged against the personal data found in the texts
the label was built from: it is dropped when it shares two or more consecutive characters
with a name found there (one shared character is a common word), or a run of three digits
with any other finding (a phone's or a room number's digits). A compound's name alone is not
dropped (only the numbers of an address identify a household), nor is a phrase that merely
sits next to a name.

Without the source texts, adjacent phrases that overlap ("张三" + "三丰") are joined and
the join is tagged, which catches the usual n-gram split of a three-character name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from civicpulse.understanding.redaction.core import Redactor

_DIGITS = re.compile(r"[0-9]{3,}")
_WORD = re.compile(r"[A-Za-z]{3,}")


def _fragments(texts: Iterable[str], redactor: Redactor) -> tuple[set[str], set[str]]:
    """Two-character pieces of found names (and whole English name words), and three-digit
    pieces of every other finding."""
    name_parts: set[str] = set()
    digit_parts: set[str] = set()
    for text in texts:
        for span in redactor.find(text):
            found = text[span.start : span.end]
            if span.kind == "name":
                name_parts.update(found[i : i + 2] for i in range(len(found) - 1)
                                  if not found[i : i + 2].isascii())
                name_parts.update(w.lower() for w in _WORD.findall(found))
            for run in _DIGITS.findall(found):
                digit_parts.update(run[i : i + 3] for i in range(len(run) - 2))
    return name_parts, digit_parts


def _unsafe(phrase: str, name_parts: set[str], digit_parts: set[str]) -> bool:
    if any(phrase[i : i + 2] in name_parts for i in range(len(phrase) - 1)):
        return True
    if any(w.lower() in name_parts for w in _WORD.findall(phrase)):
        return True
    return any(run[i : i + 3] in digit_parts
               for run in _DIGITS.findall(phrase) for i in range(len(run) - 2))


def public_phrases(
    phrases: Sequence[str],
    source_texts: Iterable[str] = (),
    redactor: Redactor | None = None,
) -> list[str]:
    """The phrases that may be shown in public, in their order.

    ``source_texts`` are the texts the phrases were drawn from (the topic's voices); the
    default redactor is the deep one, since labels are computed in a background job."""
    redactor = redactor or Redactor(deep=True)
    name_parts, digit_parts = _fragments(source_texts, redactor)
    dropped = {
        i for i, p in enumerate(phrases)
        if redactor.find(p) or _unsafe(p, name_parts, digit_parts)
    }
    # Overlapping phrases may be the two halves of one name ("张三" + "三丰").
    for i, a in enumerate(phrases):
        for j, b in enumerate(phrases):
            if i == j:
                continue
            for k in range(min(len(a), len(b)) - 1, 0, -1):
                if a.endswith(b[:k]):
                    joined = a + b[k:]
                    if any(s.kind == "name" for s in redactor.find(joined)):
                        dropped.update((i, j))
                    break
    return [p for i, p in enumerate(phrases) if i not in dropped]


def redact_label(
    label: str,
    source_texts: Iterable[str] = (),
    redactor: Redactor | None = None,
    separator: str = " · ",
) -> str:
    """A label of phrases joined by ``separator`` with the unsafe phrases left out."""
    return separator.join(public_phrases(label.split(separator), source_texts, redactor))
