"""Chinese words as TF-IDF features, beside the character n-grams.

Character n-grams see "路灯" wherever the two characters meet, also across a word boundary;
a segmenter says where the words are. jieba's search mode (``rjieba.cut_for_search``, the
Rust port: 120–180 µs for a 400-character message, against 13 ms for the Python jieba tried
before) also emits the shorter words inside a long one, so "人行道" counts for "人行" too.
Measured on the message board (bench/README.md): character n-grams plus these words beat
either alone. English needs none of this: its words are separated by spaces, which the
character n-grams already mark, so a text with no Chinese character is not segmented at all
and gets no word columns.

Words are hashed to 64-bit keys with numpy as in :mod:`.char_ngrams`, so the vocabulary is an
array, not a dict of strings, and looking a batch up costs one pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from civicpulse.understanding.char_ngrams import HashedCharTfidf

_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PRIME = 1_000_003
_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD_KEY = np.uint64(0x5851F42D4C957F2D)
"""Added to every word's hash, so a word and a character n-gram of the same code points
never share a key (they live in different blocks anyway; this keeps the keys honest)."""


def _segment(text: str, max_chars: int | None) -> list[str]:
    """rjieba's search-mode words, blanks (" ") included; nothing for a text without Chinese."""
    clean = " ".join(text.lower().replace("\x00", "").split())
    if max_chars:
        clean = clean[:max_chars]
    if not _CHINESE.search(clean):
        return []
    import rjieba  # imported on first use: nothing is loaded at import time

    return list(rjieba.cut_for_search(clean))


def words(text: str, max_chars: int | None = None) -> list[str]:
    """jieba search-mode words of a text that contains Chinese (lower-cased, whitespace
    collapsed, blanks dropped); no words for a text without a Chinese character."""
    return [w for w in _segment(text, max_chars) if w and w != " "]


def _powers(n: int) -> Any:
    """_PRIME ** k modulo 2**64 for k < n (uint64 arithmetic wraps, which is the modulus)."""
    out = np.ones(max(n, 1), dtype=np.uint64)
    if n > 1:
        out[1:] = np.uint64(_PRIME)
        out = np.cumprod(out, dtype=np.uint64)
    return out


def _word_hashes(texts: Sequence[str], max_chars: int | None) -> tuple[Any, Any]:
    """(document index, word key) for every word of :func:`words` in the batch.

    A word's key is its polynomial hash ``sum((c_i + 1) * P**i)`` over its code points, mixed
    with its length. All words of the batch are joined with NULs into one array and hashed at
    once (``np.add.reduceat``); blanks are dropped there too. Per word, Python only ever
    touches what rjieba returns: a loop over the words cost as much as segmenting them.
    """
    per_doc = [_segment(t, max_chars) for t in texts]
    counts = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    joined = "\x00".join(chain.from_iterable(per_doc))
    if not joined:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    separators = np.flatnonzero(points == 0)
    starts = np.concatenate(([0], separators + 1))
    lengths = np.append(separators, len(points)) - starts
    # position of each code point in its word; a word's separator comes right after it
    step = np.minimum(lengths + 1, len(points) - starts)
    position = np.arange(len(points), dtype=np.int64) - np.repeat(starts, step)
    terms = (points.astype(np.uint64) + np.uint64(1)) * _powers(int(lengths.max()) + 1)[position]
    terms[separators] = 0
    first = np.minimum(starts, len(points) - 1)
    hashes = np.add.reduceat(terms, first, dtype=np.uint64)
    keys = (hashes + lengths.astype(np.uint64) + _WORD_KEY) * _MIX
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    keep = (lengths > 0) & ~((lengths == 1) & (points[first] == 32))
    return rows[keep], keys[keep]


class ChineseWordTfidf(HashedCharTfidf):
    """TF-IDF over the words of :func:`words`: same vocabulary handling, sublinear tf,
    smoothed idf and unit-length rows as the character n-grams (it only changes the terms).

    Imported only where a model is trained or loaded, since it pulls in scikit-learn."""

    def __init__(
        self, min_df: int = 2, max_features: int | None = None, max_chars: int | None = None
    ) -> None:
        super().__init__(min_df=min_df, max_features=max_features, max_chars=max_chars)

    def _occurrences(self, texts: Sequence[str]) -> tuple[Any, Any]:
        return _word_hashes(texts, self.max_chars)
