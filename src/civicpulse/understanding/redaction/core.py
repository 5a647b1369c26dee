"""The redactor: runs each finder, most certain first, and replaces what they found.

See the package docstring for the two depths and where each belongs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from civicpulse.understanding.redaction import chinese, english, rules

KINDS = ("email", "id_number", "bank_card", "phone", "plate", "name", "address")

PLACEHOLDER = {
    "email": "[email]",
    "id_number": "[id]",
    "bank_card": "[card]",
    "phone": "[phone]",
    "plate": "[plate]",
    "name": "[name]",
    "address": "[address]",
}

_CJK = re.compile(r"[\u4e00-\u9fff]")



@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    spans: list[Span]


class Redactor:
    """Finds personal data in text; stateless apart from the shared tagger, and safe to share
    between threads. ``deep=True`` adds the Chinese name tagger (see the module docstring for
    where that belongs)."""

    def __init__(self, deep: bool = False) -> None:
        self.deep = deep

    def find(self, text: str) -> list[Span]:
        found: list[Span] = []

        def take(start: int, end: int, kind: str) -> None:
            if start >= end:
                return
            for s in found:
                if start < s.end and s.start < end:
                    return
            found.append(Span(start, end, kind))

        # Most certain first: a span overlapping one already taken is dropped.
        rules.find_numbers(text, take)
        rules.find_plates(text, take)
        rules.find_cue_names(text, take)
        rules.find_titled_names(text, take)
        english.find_names(text, take)
        chinese.find_addresses(text, take)
        english.find_addresses(text, take)
        if self.deep and _CJK.search(text):
            chinese.ChineseTagger.shared().find_names(text, take)
        found.sort(key=lambda s: s.start)
        return found

    def redact(self, text: str) -> Redacted:
        spans = self.find(text)
        parts: list[str] = []
        at = 0
        for s in spans:
            parts.append(text[at : s.start])
            parts.append(PLACEHOLDER[s.kind])
            at = s.end
        parts.append(text[at:])
        return Redacted("".join(parts), spans)


def redact(text: str, *, deep: bool = False) -> Redacted:
    """Redact with the default rules; ``deep=True`` adds the name tagger (off the request
    path: see the module docstring)."""
    return Redactor(deep).redact(text)
