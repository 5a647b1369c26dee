"""Language detection: Chinese, English or other, in microseconds and without a model.

Residents write Chinese or English far more than anything else. The script of the letters
tells Chinese from the rest; mixed text goes to whichever script dominates. Latin letters alone
do not make a text English (German, French, Spanish, Polish… share them), so for Latin text the
commonest short function words decide: English ones against those of other Latin-script
languages, with letters outside English's alphabet (ä, é, ñ, ł…) breaking a tie. The word
lists are general knowledge about these languages, not learnt from any city's data.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")



def _words(*lines: str) -> frozenset[str]:
    return frozenset(" ".join(lines).split())


_ENGLISH = _words(
    "the and of to is are was were be been it its this that these those with for from",
    "on at by an as or not no but if my our your their we you they he she his her them",
    "there here have has had will would can could should please about after before near",
    "when what which who why how all any some into over under out up down street road",
)
# Frequent function words of other Latin-script languages that are not also English words.
_OTHER = _words(
    # German
    "der das und ist nicht ein eine einen mit von zu auf für sich dem des auch wir ich sie",
    "bei nach aus wie oder aber werden wird sind sollen soll kann mehr nur noch",
    # French
    "le la les et est une des du pas pour que qui dans sur avec ce cette sont au aux nous",
    "vous ils elle très",
    # Spanish, Portuguese, Italian
    "el los las es una del por para se su como más muy pero está não uma il di che sono",
    "della gli",
    # Dutch
    "het een en niet te voor zijn ook",
    # Polish and other Slavic languages in Latin script
    "nie się że jest dla od jak oraz lub przez ze je ako sa",
)
"""Words that are also English words ("die", "den", "van", "met", "per", "do", "al", "com")
and single letters are left out: they would make English text look foreign."""


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF


def _latin_language(text: str) -> str:
    """ "en" or "other" for text written in Latin letters."""
    english = other = 0
    words = _WORD.findall(text.lower())
    for word in words:
        if word in _ENGLISH:
            english += 1
        elif word in _OTHER:
            other += 1
    # real prose has function words in every sentence; one or two stray hits in a long text
    # (a name, an abbreviation) do not make it foreign
    if other > english and other >= 0.03 * len(words):
        return "other"
    if other == english and any(ch.isalpha() and not ch.isascii() for ch in text):
        return "other"
    return "en"


def detect_language(text: str) -> str:
    """Return "zh", "en" or "other" (also for text with no letters at all)."""
    if text.isascii():  # most English archives: skip the per-character scan
        return _latin_language(text) if _ASCII_LETTER.search(text) else "other"
    han = latin = other = 0
    for ch in text:
        if _is_han(ch):
            han += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
        elif ch.isalpha():
            other += 1
    # one Chinese character carries about as much as a short English word
    if han and han * 3 >= latin and han >= other:
        return "zh"
    if latin and latin >= other:
        return _latin_language(text)
    # accented Latin letters (é, ü, ł) are Latin text too, just not English
    return "other"
