"""Topic discovery: groups of voices about one theme, beyond the category tree, with labels.

Voices are taken one at a time in a fixed order (oldest first, then by id). Each joins the
topic of the most similar voice already placed, when they are similar enough, or founds a
new topic whose key comes from its own id. So:

* the same input gives the same topics with the same keys, on every run;
* a new voice never moves an old one: topics grow incrementally as voices arrive, and
  their keys stay valid for links and reports;
* similar voices are found with the same MinHash text blocks as same-problem matching
  (:mod:`civicpulse.understanding.matching`), wherever they are, so a run costs about one
  lookup per voice.

Labels are the phrases most typical of a topic against all voices (a class-based TF-IDF):
Chinese character n-grams (2–6, the longest one that is as frequent as its parts) and
English words and word pairs. A phrase is only shown when several distinct voices use it,
so a name or a number that one resident wrote never becomes a label.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from civicpulse.understanding.matching import (
    MatchParams,
    Probe,
    index_keys,
    query_keys,
    similarity,
)
from civicpulse.understanding.phrase_choice import best_distinct

#: a phrase must be used by at least this many voices of the topic to be shown
MIN_PHRASE_VOICES = 3
#: voices of one block compared with a new voice (the latest ones)
_PER_BLOCK = 200
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z][a-z']+")
#: Chinese function characters: a phrase starting or ending with one is cut mid-word
_ZH_EDGE = frozenset("的了是在和有与及对把被也就都而但我你他她们这那个吗呢啊吧将从向于并或")
_EN_STOP = frozenset(
    {
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at",
        "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had",
        "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is",
        "it", "its", "just", "me", "more", "my", "no", "not", "now", "of", "on", "one", "or",
        "our", "out", "please", "she", "so", "some", "than", "that", "the", "their", "them",
        "then", "there", "these", "they", "this", "to", "up", "us", "very", "was", "we",
        "were", "what", "when", "where", "which", "who", "will", "with", "would", "you",
        "your",
    }
)


@dataclass(frozen=True)
class Item:
    """One voice as topic discovery sees it."""

    voice_id: int
    probe: Probe
    text: str


@dataclass
class TopicState:
    """A topic while it is being built: its key, members and first/last time."""

    key: str
    members: list[int] = field(default_factory=list)


@dataclass
class Assignment:
    topics: dict[str, TopicState]
    voice_topic: dict[int, str]


class TopicBuilder:
    """Leader clustering over MinHash blocks; feed it items in order with :meth:`add`."""

    def __init__(self, params: MatchParams, min_similarity: float) -> None:
        self.params = params
        self.min_similarity = min_similarity
        self._blocks: dict[int, list[int]] = {}
        self._probes: dict[int, Probe] = {}
        self.voice_topic: dict[int, str] = {}
        self.topics: dict[str, TopicState] = {}

    def place(self, item: Item, topic_key: str) -> None:
        """Record a voice already in a topic (from an earlier run)."""
        self._remember(item)
        self.voice_topic[item.voice_id] = topic_key
        self.topics.setdefault(topic_key, TopicState(topic_key)).members.append(item.voice_id)

    def add(self, item: Item) -> str:
        """Put a new voice in the topic of its most similar placed voice, or a new topic."""
        best: tuple[float, int] | None = None
        seen: set[int] = set()
        for key in query_keys(_by_text(item.probe), self.params):
            # the latest voices of a block are enough to find the topic and bound the work
            for other in self._blocks.get(key, ())[-_PER_BLOCK:]:
                if other in seen:
                    continue
                seen.add(other)
                sim = similarity(item.probe.signature, self._probes[other].signature)
                if sim < self.min_similarity:
                    continue
                if best is None or (sim, -other) > (best[0], -best[1]):
                    best = (sim, other)
        topic_key = self.voice_topic[best[1]] if best else topic_key_for(item.voice_id)
        self.place(item, topic_key)
        return topic_key

    def _remember(self, item: Item) -> None:
        self._probes[item.voice_id] = item.probe
        for key in index_keys(_by_text(item.probe), self.params):
            self._blocks.setdefault(key, []).append(item.voice_id)


def _by_text(probe: Probe) -> Probe:
    """Topics gather voices by what they say wherever they are: blocks by text only."""
    return replace(probe, lat=None, lon=None)


def topic_key_for(voice_id: int) -> str:
    """A topic's key: named after the voice that founded it, so reruns give the same keys."""
    return f"t{voice_id}"


# ---- labels ------------------------------------------------------------------------------


def phrases_of(text: str) -> set[str]:
    """Candidate phrases of one text: Han n-grams (2–6) and English words and word pairs."""
    norm = unicodedata.normalize("NFKC", text).lower()
    out: set[str] = set()
    for run in _HAN_RUN.findall(norm):
        for n in range(2, 7):
            out.update(
                gram
                for i in range(len(run) - n + 1)
                if (gram := run[i : i + n])[0] not in _ZH_EDGE and gram[-1] not in _ZH_EDGE
            )
    words = [w for w in _WORD.findall(norm) if w not in _EN_STOP and len(w) > 2]
    out.update(words)
    out.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return out


def _overlaps(a: str, b: str) -> bool:
    """Whether two phrases are pieces of one: one inside the other, or a shared bigram."""
    if a in b or b in a:
        return True
    if a.isascii() or b.isascii():
        return False
    return any(a[i : i + 2] in b for i in range(len(a) - 1))


def document_frequencies(texts: Iterable[str]) -> tuple[Counter[str], int]:
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        df.update(phrases_of(text))
        n += 1
    return df, n


def label_phrases(
    member_texts: Sequence[str],
    df: Counter[str],
    total_docs: int,
    top: int = 4,
    min_voices: int = MIN_PHRASE_VOICES,
) -> list[str]:
    """The phrases most typical of a topic, longest form first, shared by ``min_voices``."""
    counts: Counter[str] = Counter()
    for text in member_texts:
        counts.update(phrases_of(text))
    size = len(member_texts)
    needed = max(min_voices, math.ceil(size * 0.2))
    scored = []
    for phrase, c in counts.items():
        if c < needed or any(ch.isdigit() for ch in phrase):
            continue
        idf = math.log((1 + total_docs) / (1 + df.get(phrase, 0))) + 1
        # longer Chinese n-grams carry more meaning than the bigrams inside them
        length_bonus = 1 + 0.25 * (len(phrase) - 2) if phrase.isascii() is False else 1.0
        scored.append((c / size * idf * length_bonus, phrase))
    return best_distinct(scored, top, _overlaps)
