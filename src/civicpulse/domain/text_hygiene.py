"""Characters no free text may carry, defined once for every field a person writes.

A probe of a live server found three ways text that looks fine, or looks like nothing, got
through: a NUL character (PostgreSQL cannot store or compare one, so it became a 500 there
and was stored on SQLite), text made only of zero-width characters (a "report" nobody can
read, which still opens a case, notifies a department and counts towards the rankings), and
bidirectional override characters (U+202A–U+202E, U+2066–U+2069), which make a title or a
reply read differently on screen from what is stored and searched: the "Trojan Source" trick.

The rule refuses rather than strips. A voice is evidence and is never edited, so storing
something other than what was sent is not ours to do; a refusal tells the sender what to
remove. Nobody needs the refused characters to write: right-to-left scripts are laid out by
the Unicode bidirectional algorithm without explicit overrides, and the invisible joiners that
some scripts and emoji do need (U+200C, U+200D) are allowed inside visible text.

``check`` is called by ``domain.limits.check_length``, which every service runs on every
text it stores, so the pages, the JSON API, Open311, the import and the CLI all refuse the
same characters with the same words.
"""

from __future__ import annotations

import re
import unicodedata

from civicpulse.domain.errors import ValidationFailed

#: explicit embeddings, overrides and isolates: LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: NUL and the bidirectional controls, found in one scan at C speed (an import checks
#: millions of fields)
_REFUSED = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")

#: categories of characters that put nothing on screen: format (zero-width space, joiners,
#: the byte-order mark, soft hyphen), controls, separators and unassigned code points
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Cn"})


def is_visible(char: str) -> bool:
    """Whether ``char`` draws something: a letter, digit, mark, symbol or punctuation."""
    return unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def has_visible_text(value: str) -> bool:
    """False for text that is empty to a reader: blanks, zero-width characters and the like."""
    return any(is_visible(c) for c in value)


def refused_character(value: str) -> str | None:
    """Why ``value`` may not be stored because of a NUL or a direction control, or None.

    The first one is named with its code point and position (counted from 1), since none of
    them can be seen on the sender's screen."""
    found = _REFUSED.search(value)
    if found is None:
        return None
    char, at = found.group(), found.start() + 1
    if char == "\x00":
        return f"must not contain NUL characters (position {at})"
    return (
        f"must not contain the invisible text-direction character U+{ord(char):04X} "
        f"(position {at}); remove it and send again"
    )


def problem(value: str) -> str | None:
    """Why ``value`` may not be stored as a text, or None when it may: a refused character,
    or nothing a reader could see."""
    found = refused_character(value)
    if found is not None:
        return found
    if value and not has_visible_text(value):
        return "has no visible characters (only blanks or zero-width characters)"
    return None


def check(field: str, value: str | None) -> None:
    """Refuse ``value`` with the reason, naming ``field``; None passes."""
    if value is None:
        return
    why = problem(value)
    if why is not None:
        raise ValidationFailed(f"{field} {why}")
