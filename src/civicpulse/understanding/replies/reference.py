"""The city's own past replies, as counts: how common each term and each phrase is.

Two judgements need to know what replies usually say, and both learn it from the city's
replies rather than from a list:

* **relevance** weighs the terms a reply shares with a message by how rare they are among
  replies (inverse document frequency): "感谢您对我们工作的支持" is in every reply and proves
  nothing, "潇楚南路" is in three and proves a lot;
* **boilerplate** is the share of a reply made of phrases (shingles: 8 Chinese characters or
  4 English words in a row, numbers made alike) that at least ``template_min`` *other*
  replies also contain; phrases are counted by a 64-bit key of their text.

Relevance also asks how much more a reply resembles *this* message than it resembles the
city's replies in general (its ``stands_out`` evidence): a reply written for a message shares
far more with it than with a typical reply, while one written for another message shares with
it about what it shares with any. Measuring that against every reply would keep the replies;
two sums per term suffice (:meth:`ReplyReference.spread_of`): over the replies that use the
term, of the inverse of each reply's length as a weighted vector, and of its square. From
them the mean and the root mean square of a new reply's cosine with the city's replies
follow, ignoring the covariance between terms (which on the message board changed the
held-out AUC by under 0.001: bench/README.md, "Replies: relevance").

A reference is built from any iterable of reply texts (a file's replies, or the replies
stored in the database) and kept as a small gzipped JSON file: counts and sums only, never a
reply's text. Only what can matter is kept (terms seen twice or more, phrases seen at least
``template_min`` times), so 2,000 replies make about 1.3 MB. It remembers a digest of each
reply it counted, so that a reply assessed against a reference that holds it does not count
itself as one of the "other replies".
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from civicpulse.domain.errors import ValidationFailed
from civicpulse.understanding.replies.term_keys import (
    distinct,
    keys_of,
    phrases_of,
    term_keys,
    word_key,
)
from civicpulse.understanding.replies.text import (
    digest,
    latin_terms,
    normalise,
    template_units,
)
from civicpulse.understanding.replies.views import ReplyView

KIND = "civicpulse-reply-reference"
VERSION = 2
"""Format 2 added the terms' spread (``term_spread``, ``typical_spread``). A reference of
format 1 is still read, without them: nothing stands out against it, and relevance uses the
weights fitted without that evidence (:func:`.relevance.weights_for`) until it is built
again."""
READS = (1, 2)

_FILTER_SIZE = 1 << 20
"""Bits of the phrase filter: a few thousand template phrases set one in a few hundred."""


def _term_text(key: int, words: dict[int, str]) -> str:
    """A term's text from its key: a Chinese key is its characters again."""
    if key in words:
        return words[key]
    if key >= 1 << 21:
        return chr(key >> 21) + chr(key & 0x1FFFFF)
    return chr(key)


@dataclass(frozen=True, slots=True)
class _Counted:
    """The counted terms as arrays, in the order of ``term_df``: what a reference built in
    this process already has and need not find again from the terms' text (finding each
    term's key again cost 30 µs a reply)."""

    keys: Any
    counts: Any
    sums: Any  # (terms, 2): the two sums of ``term_spread``


def _counted_terms(
    keyed: list[Any], words: dict[int, str]
) -> tuple[dict[str, int], dict[str, tuple[float, float]], float, _Counted]:
    """Replies per term, for the terms at least two replies use (a term one reply uses
    weighs as much as one none uses), as text; for the same terms the sums of the inverse
    norm of each reply that uses them, and of its square (:meth:`ReplyReference.spread_of`),
    each reply's norm taken with the weights these counts give; the mean over the replies of
    their mean squared cosine with the others (``typical_spread``); and all of it as arrays."""
    if not keyed:
        empty = np.zeros(0)
        return {}, {}, 0.0, _Counted(empty.astype(np.uint64), empty, empty.reshape(0, 2))
    every = np.concatenate(keyed)
    keys, at, counts = np.unique(every, return_inverse=True, return_counts=True)
    weights = np.log((len(keyed) + 1) / (counts + 1))  # a term seen once: the unseen weight
    owner = np.repeat(np.arange(len(keyed)), [len(k) for k in keyed])
    squares = np.bincount(owner, weights[at] ** 2, minlength=len(keyed))
    inverse = np.divide(1.0, np.sqrt(squares), out=np.zeros(len(keyed)), where=squares > 0)
    first = np.bincount(at, inverse[owner], minlength=len(keys))
    second = np.bincount(at, inverse[owner] ** 2, minlength=len(keys))
    square = np.where(counts >= 2, weights**2 * second / len(keyed), 0.0)
    typical = float(((weights[at] * inverse[owner]) ** 2 @ square[at]) / len(keyed))
    kept = counts >= 2
    texts = [_term_text(k, words) for k in keys[kept].tolist()]
    counted = _Counted(keys[kept], counts[kept].astype(np.float64),
                       np.column_stack((first[kept], second[kept])))
    return (dict(zip(texts, counts[kept].tolist(), strict=True)),
            dict(zip(texts, map(tuple, counted.sums.tolist()), strict=True)),
            typical, counted)


def _counted_phrases(phrased: list[Any], least: int) -> dict[int, int]:
    if not phrased:
        return {}
    keys, counts = np.unique(np.concatenate(phrased), return_counts=True)
    kept = counts >= least
    return dict(zip(keys[kept].tolist(), counts[kept].tolist(), strict=True))


def template_min_for(replies: int) -> int:
    """Other replies a phrase must be in to count as template: 5, fewer in a small corpus
    (one in twenty replies, at least 2), so that a city with 40 replies still sees its
    templates and one coincidence never makes one."""
    return max(2, min(5, replies // 20))


@dataclass
class ReplyReference:
    """Counts over a corpus of replies; build with :meth:`build`, keep with :meth:`save`."""

    replies: int
    term_df: dict[str, int]
    #: replies per template phrase, by the phrase's key (only those in ``template_min``
    #: replies or more)
    phrase_df: dict[int, int]
    template_min: int
    own: frozenset[str] = frozenset()
    #: per counted term, the sums over the replies that use it of 1 / (the reply's norm)
    #: and of its square (see :meth:`spread_of`); none for a reference without them
    term_spread: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: a reply's mean squared cosine with the others, averaged over the replies
    typical_spread: float = 0.0
    created_at: str = ""
    source: str = ""
    #: each counted term's weight, computed once, by text and (sorted) by key
    weights: dict[str, float] = field(init=False, repr=False, default_factory=dict)
    keys: Any = field(init=False, repr=False, default=None)
    key_weights: Any = field(init=False, repr=False, default=None)
    key_specific: Any = field(init=False, repr=False, default=None)
    #: each counted term's mean and mean square weight in a reply (by key, as ``keys``)
    key_mean: Any = field(init=False, repr=False, default=None)
    key_square: Any = field(init=False, repr=False, default=None)
    #: the weight of a term seen once or never
    unseen_weight: float = field(init=False, repr=False, default=1.0)
    #: terms too common to be specific (see :meth:`specific`)
    common: frozenset[str] = field(init=False, repr=False, default=frozenset())
    #: answers of callers that ask the same about the same text again (place names)
    memo: dict[str, bool] = field(init=False, repr=False, default_factory=dict)
    #: ``phrase_df`` as sorted arrays, and a bit per low 20 bits of its keys
    phrase_keys: Any = field(init=False, repr=False, default=None)
    phrase_counts: Any = field(init=False, repr=False, default=None)
    phrase_filter: Any = field(init=False, repr=False, default=None)
    #: the counted terms as arrays, when they are known already (built in this process)
    counted: InitVar[_Counted | None] = None

    def __post_init__(self, counted: _Counted | None) -> None:
        phrases = sorted(self.phrase_df.items())
        self.phrase_keys = np.fromiter((k for k, _ in phrases), dtype=np.uint64,
                                       count=len(phrases))
        self.phrase_counts = np.fromiter((n for _, n in phrases), dtype=np.int64,
                                         count=len(phrases))
        self.phrase_filter = np.zeros(_FILTER_SIZE, dtype=bool)
        self.phrase_filter[self.phrase_keys & np.uint64(_FILTER_SIZE - 1)] = True
        if self.replies < 2:
            counted = _Counted(np.zeros(0, dtype=np.uint64), np.zeros(0), np.zeros((0, 2)))
        elif counted is None:
            counted = _Counted(
                keys_of(self.term_df),
                np.fromiter(self.term_df.values(), dtype=np.float64, count=len(self.term_df)),
                np.array([self.term_spread.get(t, (0.0, 0.0)) for t in self.term_df],
                         dtype=np.float64).reshape(len(self.term_df), 2))
        order = np.argsort(counted.keys)
        self.keys = counted.keys[order]
        weights = np.log((self.replies + 1) / (counted.counts + 1))
        self.key_weights = weights[order]
        most = max(3, self.replies // 100)
        self.key_specific = (counted.counts <= most)[order]
        share = 1.0 / self.replies if self.replies else 0.0
        self.key_mean = (weights * counted.sums[:, 0] * share)[order]
        self.key_square = (weights**2 * counted.sums[:, 1] * share)[order]
        if self.replies < 2:
            return
        self.unseen_weight = self._idf(1)
        self.weights = dict(zip(self.term_df, weights.tolist(), strict=True))
        self.common = frozenset(t for t, n in self.term_df.items() if n > most)

    @classmethod
    def build(cls, replies: Iterable[str], source: str = "") -> ReplyReference:
        """Count the terms and phrases of ``replies`` (blank ones are left out)."""
        return cls._counted(((r, normalise(r), None, None, None, None) for r in replies),
                            source)

    @classmethod
    def build_from_views(cls, replies: Iterable[ReplyView], source: str = "") -> ReplyReference:
        """As :meth:`build`, from replies already read (their terms are not found again)."""
        return cls._counted(((r.raw, r.text, r.terms, r.phrases, r.digest, r.words)
                             for r in replies), source)

    @classmethod
    def _counted(
        cls,
        replies: Iterable[tuple[str, str, Any, Any, str | None, tuple[str, ...] | None]],
        source: str,
    ) -> ReplyReference:
        keyed: list[Any] = []
        phrased: list[Any] = []
        words: dict[int, str] = {}
        own: set[str] = set()
        for raw, flat, keys, phrases, print_, latin in replies:
            if not raw.strip():
                continue
            own.add(digest(raw) if print_ is None else print_)
            if latin is None:
                latin = tuple(latin_terms(flat))
            keyed.append(term_keys(flat, list(latin)) if keys is None else keys)
            words.update((word_key(w), w) for w in latin)
            if phrases is None:
                phrases = phrases_of(template_units(flat))
            phrased.append(distinct(phrases))
        least = template_min_for(len(keyed))
        df, spread, typical, counted = _counted_terms(keyed, words)
        return cls(
            replies=len(keyed),
            term_df=df,
            term_spread=spread,
            typical_spread=typical,
            counted=counted,
            phrase_df=_counted_phrases(phrased, least),
            template_min=least,
            own=frozenset(own),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            source=source,
        )

    @classmethod
    def empty(cls) -> ReplyReference:
        """No corpus: every term weighs the same and nothing is a template."""
        return cls(replies=0, term_df={}, phrase_df={}, template_min=2)

    def _idf(self, df: int) -> float:
        return math.log((self.replies + 1) / (df + 1))

    def look_up(self, keys: Any) -> tuple[Any, Any]:
        """The weights of terms given as keys (:func:`.term_keys.term_keys`), and whether
        each is specific: one ``searchsorted`` for a whole text."""
        if not len(self.keys) or not len(keys):
            return (np.full(len(keys), self.unseen_weight), np.ones(len(keys), dtype=bool))
        at, found = self._positions(keys)
        return (np.where(found, self.key_weights[at], self.unseen_weight),
                np.where(found, self.key_specific[at], True))

    def look_up_spread(self, keys: Any) -> tuple[Any, Any, Any, Any]:
        """:meth:`look_up` and :meth:`spread_of` at once, from one search."""
        if not len(self.keys) or not len(keys):
            none = np.zeros(len(keys))
            return (*self.look_up(keys), none, none)
        at, found = self._positions(keys)
        return (np.where(found, self.key_weights[at], self.unseen_weight),
                np.where(found, self.key_specific[at], True),
                np.where(found, self.key_mean[at], 0.0),
                np.where(found, self.key_square[at], 0.0))

    def spread_of(self, keys: Any) -> tuple[Any, Any]:
        """For terms given as keys, the mean over the reference's replies of each term's
        weight in a reply as a unit vector, and the mean of its square (0 for a term seen
        once or never). A reply's unit vector ``u`` then has, with the city's replies, a mean
        cosine of ``u @ mean`` and a mean squared cosine of about ``u**2 @ square`` (the
        covariance between terms left out)."""
        return self.look_up_spread(keys)[2:]

    def _positions(self, keys: Any) -> tuple[Any, Any]:
        """Where each key is, or would be, in ``keys``, and whether it is there."""
        at = self.keys.searchsorted(keys)
        np.minimum(at, len(self.keys) - 1, out=at)
        return at, self.keys[at] == keys

    def weight(self, term: str) -> float:
        """How much sharing ``term`` says: its inverse document frequency among replies (a
        term never or once seen gets the highest); 1 for every term without a corpus."""
        return self.weights.get(term, self.unseen_weight)

    def specific(self, term: str) -> bool:
        """Whether at most one reply in a hundred (and at least 3) uses ``term``: the names,
        places and numbers of one case rather than the words of a kind of case. Relevance
        counts these apart: a reply full of specifics the message lacks was written for
        another message (bench/README.md: any bound from 3 to 20 replies of 991 gave the same
        separation within 0.002). Without a corpus every term is."""
        return term not in self.common

    def phrase_counts_of(self, keys: Any) -> Any:
        """Replies with each phrase (0 for a phrase fewer than ``template_min`` have). Most
        of a reply's phrases are in no other reply: a look at the filter's bit sets them
        aside, and only the rest are searched for (a search each cost 20 µs a reply)."""
        out = np.zeros(len(keys), dtype=np.int64)
        if not len(self.phrase_keys) or not len(keys):
            return out
        maybe = np.flatnonzero(self.phrase_filter[keys & np.uint64(_FILTER_SIZE - 1)])
        if not len(maybe):
            return out
        wanted = keys[maybe]
        at = np.minimum(np.searchsorted(self.phrase_keys, wanted), len(self.phrase_keys) - 1)
        out[maybe] = np.where(self.phrase_keys[at] == wanted, self.phrase_counts[at], 0)
        return out

    def holds(self, reply: str | ReplyView) -> bool:
        """Whether the reference counted this reply (given as text, or read)."""
        return (reply.digest if isinstance(reply, ReplyView) else digest(reply)) in self.own

    def save(self, path: Path) -> None:
        body: dict[str, Any] = {
            "kind": KIND,
            "version": VERSION,
            "created_at": self.created_at,
            "source": self.source,
            "replies": self.replies,
            "template_min": self.template_min,
            "term_df": self.term_df,
            "term_spread": {t: [float(f"{v:.6g}") for v in sums]
                            for t, sums in self.term_spread.items()},
            "typical_spread": self.typical_spread,
            "phrase_df": {str(k): n for k, n in self.phrase_df.items()},
            "own": sorted(self.own),
        }
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(body, f, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: Path) -> ReplyReference:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                body = json.load(f)
        except (OSError, EOFError, ValueError) as exc:
            raise ValidationFailed(f"{path} is not a reply reference ({exc})") from None
        if not isinstance(body, dict) or body.get("kind") != KIND:
            raise ValidationFailed(f"{path} is not a reply reference")
        if body.get("version") not in READS:
            raise ValidationFailed(
                f"{path} is a reply reference of format {body.get('version')}; this version "
                f"reads formats {', '.join(map(str, READS))}: build it again"
            )
        return cls(
            replies=int(body["replies"]),
            term_df={str(k): int(v) for k, v in body["term_df"].items()},
            term_spread={str(k): (float(v[0]), float(v[1]))
                         for k, v in body.get("term_spread", {}).items()},
            typical_spread=float(body.get("typical_spread", 0.0)),
            phrase_df={int(k): int(v) for k, v in body["phrase_df"].items()},
            template_min=int(body["template_min"]),
            own=frozenset(body.get("own", ())),
            created_at=str(body.get("created_at", "")),
            source=str(body.get("source", "")),
        )
