"""Readable labels for concerns, made of whole words.

Topic labels (``topics.py``) are character n-grams, which often start or end inside a word
("限公司 · 万购房款 · 司"). A concern's label is read by a leader and by the public, so it is
made of words: the texts are segmented by ``rjieba`` (a Rust port of jieba, the common
Chinese word segmenter), and a candidate phrase is a run of one to four whole words that
starts and ends on a content word (a noun, a place or organisation name, a verbal noun, an
English word), never on a particle, a number or a measure word. "丽发新城小区", "捆绑销售车位"
and "搅拌站" are candidates; "区丽发", "城小" and "的搅拌" cannot be.

The label is the few phrases most typical of the concern against the whole city (a
class-based TF-IDF over the concern's texts, with document frequencies of words kept by the
concerns service), that several of its voices use. Longer phrases win over the words inside
them when they are about as frequent, and phrases that overlap are shown once.

Codes such as "A7县" (the pseudonymised districts of published data, or a plot's letter and
number) are cut out before segmenting: the segmenter would otherwise glue the suffix to the
next word ("县星沙").

Texts in, phrases out: privacy is the caller's job (``redaction.public_phrases``).
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from civicpulse.understanding.phrase_choice import best_distinct

#: a phrase must be used by at least this many voices of the concern to be shown
MIN_PHRASE_VOICES = 3
#: the most words, and characters, in one phrase
MAX_WORDS = 4
MAX_CHARS = 8

_CODE = re.compile(r"[A-Za-z]+[0-9]*[省市区县镇]|[0-9]+")
_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
_EN_WORD = re.compile(r"[a-z][a-z'-]+")
#: parts of speech that never start or end a phrase (jieba's tag set): particles,
#: prepositions, conjunctions, pronouns, adverbs, numbers, measure words, time and place
#: words, interjections, punctuation
_FUNCTION_TAGS = "u uj ul uz ud ug uv p c y r rr rz d df m mq q e o x w f t tg zg h k ad dg"
_FUNCTION = frozenset(_FUNCTION_TAGS.split())
#: single characters that may close a longer phrase: the last character of a name
#: ("滨河苑", "魅力之城", "金毛湾")
_NOUNISH_TAGS = "n ns nr nt nz ng j l nrt nrfg s"
_NOUNISH = frozenset(_NOUNISH_TAGS.split())
#: parts of speech a one-word phrase may have: nouns and names, verbal nouns, abbreviations
_ALONE = frozenset({"n", "ns", "nt", "nz", "vn", "j", "l"})
#: never inside a phrase: "的", "了" and punctuation
_BREAKS = frozenset({"uj", "ul", "x", "w"})
_EN_STOP_WORDS = """
    a about after again all also am an and any are as at be been before being but by
    can could did do does done for from get got had has have he her here him his how
    i if in into is it its just me more most my no not now of off on once one only
    or other our out over please she should so some still than that the their them
    then there these they this those to too under up us very was we were what when
    where which while who why will with would you your
"""
_EN_STOP = frozenset(_EN_STOP_WORDS.split())


@dataclass(frozen=True)
class Reading:
    """What one text gives labels: its candidate phrases and its words (for frequencies)."""

    phrases: frozenset[str]
    words: frozenset[str]
    #: the phrases of the title alone: a title names the problem, so they weigh double
    title_phrases: frozenset[str] = frozenset()


def _tag(text: str) -> list[tuple[str, str]]:
    import rjieba  # imported on first use: nothing is loaded at import time

    return [(w, t) for w, t in rjieba.tag(text)]


def _content(word: str, tag: str) -> bool:
    """A word that can start or end a phrase of several words."""
    return tag not in _FUNCTION and len(word) >= 2


def read(text: str, title: str | None = None) -> Reading:
    """Candidate phrases and words of one voice (about 1 ms for 400 characters)."""
    if title:
        head, body = _read(title), _read(text)
        return Reading(head.phrases | body.phrases, head.words | body.words, head.phrases)
    return _read(text)


def _read(text: str) -> Reading:
    norm = unicodedata.normalize("NFKC", text)
    phrases: set[str] = set()
    words: set[str] = set()
    # codes become a comma: one segmenter call per text, and nothing glues across them
    tokens = _tag(_CODE.sub("，", norm))
    count = len(tokens)
    han = [bool(_HAN.match(w)) for w, _ in tokens]
    content = [han[k] and _content(*tokens[k]) for k in range(count)]
    # a single character opens a phrase only where a name can begin: at the start of the
    # text or after punctuation ("伊景园滨河苑"), never after a word ("城小区")
    opens = [
        content[k] or (han[k] and tokens[k][1] in _NOUNISH and (k == 0 or not han[k - 1]))
        for k in range(count)
    ]
    closes = [content[k] or (han[k] and tokens[k][1] in _NOUNISH) for k in range(count)]
    for k in range(count):
        word, tag = tokens[k]
        if content[k]:
            words.add(word)
            if tag in _ALONE:
                phrases.add(word)
        if not opens[k]:
            continue
        joined = word
        for j in range(k + 1, min(k + MAX_WORDS, count)):
            if not han[j] or tokens[j][1] in _BREAKS:
                break
            joined += tokens[j][0]
            if len(joined) > MAX_CHARS:
                break
            if closes[j]:
                phrases.add(joined)
    english = [w for w in _EN_WORD.findall(norm.lower()) if w not in _EN_STOP and len(w) > 2]
    words.update(english)
    phrases.update(english)
    phrases.update(f"{a} {b}" for a, b in itertools.pairwise(english))
    return Reading(frozenset(phrases), frozenset(words))


def _overlaps(a: str, b: str) -> bool:
    if a in b or b in a:
        return True
    if a.isascii() or b.isascii():
        return bool(set(a.split()) & set(b.split()))
    return any(a[i : i + 2] in b for i in range(len(a) - 1))


def label_phrases(
    readings: Sequence[Reading],
    frequency: Callable[[str], int],
    total_texts: int,
    *,
    residents: Sequence[str] | None = None,
    top: int = 3,
    min_voices: int = MIN_PHRASE_VOICES,
) -> list[str]:
    """The ``top`` phrases most typical of a concern, each used by ``min_voices`` of its
    residents (and by a fifth of them in a large concern).

    ``residents`` names who wrote each text: a phrase counts once per resident, so one
    person's letter sent ten times (or a name they keep writing) never makes the label.
    ``frequency(word)`` is how many texts of the whole city use a word; a phrase is taken to
    be as rare as its rarest word (a phrase is never more common than its words)."""
    who = list(residents) if residents is not None else [str(i) for i in range(len(readings))]
    users: dict[str, set[str]] = {}
    titled: dict[str, set[str]] = {}
    for reading, resident in zip(readings, who, strict=True):
        for phrase in reading.phrases:
            users.setdefault(phrase, set()).add(resident)
        for phrase in reading.title_phrases:
            titled.setdefault(phrase, set()).add(resident)
    size = len(set(who))
    if size == 0:
        return []
    needed = max(min_voices, math.ceil(size * 0.2))
    frequent = {p: len(people) for p, people in users.items() if len(people) >= needed}
    scored = []
    for phrase, count in frequent.items():
        # the longest form wins: a phrase inside a longer one that half as many residents
        # use is a piece of it ("景园滨河苑" of "伊景园滨河苑", "岛路" of "月亮岛路")
        if any(phrase in longer and phrase != longer and 2 * n >= count
               for longer, n in frequent.items()):
            continue
        parts = phrase.split() if phrase.isascii() else _known_words(phrase, readings)
        rarest = min((frequency(w) for w in parts), default=0)
        idf = math.log((1 + total_texts) / (1 + rarest)) + 1
        length = len(phrase.split()) if phrase.isascii() else len(phrase) / 2
        bonus = 1 + 0.5 * (min(length, 3) - 1)
        in_titles = len(titled.get(phrase, ()))
        scored.append(((count + in_titles) / size * idf * bonus, phrase))
    return best_distinct(scored, top, _overlaps)


def _known_words(phrase: str, readings: Iterable[Reading]) -> list[str]:
    """The words of the city's vocabulary inside a Chinese phrase (its whole self when it is
    a word), found among the words the concern's texts were segmented into."""
    for reading in readings:
        if phrase in reading.phrases:
            inside = [w for w in reading.words if w in phrase]
            return inside or [phrase]
    return [phrase]


def words(text: str) -> set[str]:
    """The content words of one text, for the city's word frequencies (no phrases: about a
    fifth of :func:`read`'s cost)."""
    norm = unicodedata.normalize("NFKC", text)
    out = {
        w for w, t in _tag(_CODE.sub("，", norm))
        if len(w) >= 2 and t not in _FUNCTION and "\u3400" <= w[0] <= "\u9fff"
        and _HAN.match(w)
    }
    out.update(w for w in _EN_WORD.findall(norm.lower()) if w not in _EN_STOP and len(w) > 2)
    return out


#: parts of speech of a name: places, organisations, other proper nouns, people,
#: abbreviations (jieba's tag set); words the segmenter did not know count too
_NAME_TAGS = frozenset({"ns", "nt", "nz", "nr", "nrt", "nrfg", "j"})


def title_names(title: str, limit: int = 8) -> list[str]:
    """The words of a title that may name a place or an organisation: proper nouns, and
    words the segmenter found without knowing them ("润芳园", "聚捷"), which is how the
    names of estates, roads and companies come out. Voices of one topic naming different
    ones are about different problems (``services/concern_refresh.py``)."""
    import rjieba

    norm = unicodedata.normalize("NFKC", title)
    out: list[str] = []
    for word, tag in _tag(_CODE.sub("，", norm)):
        if len(word) < 2 or tag in _FUNCTION or not _HAN.match(word) or word in out:
            continue
        if tag in _NAME_TAGS or not rjieba.has_word(word):
            out.append(word)
    return out[:limit]
