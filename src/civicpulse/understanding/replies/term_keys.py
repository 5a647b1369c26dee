"""Terms and phrases as 64-bit keys, so that relevance and boilerplate work with numpy.

Relevance compares every term of a message with every term of its reply, each weighted by
its rarity: about 700 look-ups a pair. As Python sets of strings and a dict of weights this
was most of the 1 ms a pair cost (bench/README.md, "Replies: relevance"); as sorted key
arrays, a text's terms are found in one pass over its code points and looked up in the
reference with one ``searchsorted``.

The terms are those of :func:`.text.terms`: a Chinese bigram is its two code points side by
side (``a << 21 | b``, always at least 2**34), a lone Chinese character its code point, an
English word (stemmed, stop words out) or a number Python's hash of it, put above 2**62. The
string hash is salted per process, so word keys never leave the process: the reference file
keeps terms as text and keys them when it is loaded.

Template phrases (:func:`phrase_keys`) are keyed the same way for the same reason: a reply's
few hundred phrases are met with the reference's in one ``searchsorted`` instead of a dict
look-up each.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

import numpy as np

from civicpulse.understanding.replies.text import HAN_RUN as _HAN_RUN
from civicpulse.understanding.replies.text import latin_terms

_WORD_BIT = 1 << 62
_WORD_MASK = _WORD_BIT - 1
_EMPTY = np.zeros(0, dtype=np.uint64)


#: which code points of the Basic Multilingual Plane are Chinese characters (one look-up
#: instead of six comparisons); built when first needed, never at import
_HAN_TABLE: Any = None


def han_mask(points: Any) -> Any:
    """Which of the code points (a numpy array) are Chinese characters."""
    return _han(points)


def _han(points: Any) -> Any:
    global _HAN_TABLE
    if _HAN_TABLE is None:
        table = np.zeros(0x10000, dtype=bool)
        table[0x3400:0x4DC0] = table[0x4E00:0xA000] = table[0xF900:0xFB00] = True
        _HAN_TABLE = table
    return _HAN_TABLE[np.minimum(points, 0xFFFF)]


def distinct(keys: Any) -> Any:
    """Sorted distinct keys (``np.unique`` costs five times as much on a reply's few
    hundred)."""
    keys = np.sort(keys)
    if len(keys) < 2:
        return keys
    keep = np.empty(len(keys), dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def word_key(word: str) -> int:
    return (hash(word) & _WORD_MASK) | _WORD_BIT


def _is_han(point: int) -> bool:
    return 0x4E00 <= point <= 0x9FFF or 0x3400 <= point <= 0x4DBF or 0xF900 <= point <= 0xFAFF


def key_of(term: str) -> int:
    """The key of one term as :func:`.text.terms` writes it."""
    points = [ord(c) for c in term]
    if len(points) == 2 and _is_han(points[0]) and _is_han(points[1]):
        return (points[0] << 21) | points[1]
    if len(points) == 1 and _is_han(points[0]):
        return points[0]
    return word_key(term)


_SHORT = 64
"""Texts up to this long (a title) are keyed in plain Python: numpy's dozen calls cost more
than the work (21 µs against 9 µs for a message board's title)."""


def _short_keys(normalised: str, words: list[str]) -> Any:
    keys: set[int] = set()
    for run in _HAN_RUN.findall(normalised):
        if len(run) == 1:
            keys.add(ord(run))
        else:
            points = [ord(c) for c in run]
            keys.update((a << 21) | b for a, b in pairwise(points))
    keys.update(map(word_key, words))
    return np.array(sorted(keys), dtype=np.uint64) if keys else _EMPTY


def term_keys(normalised: str, words: list[str] | None = None) -> Any:
    """The sorted, distinct keys of the terms of a normalised text (:func:`.text.terms`);
    ``words`` are its :func:`.text.latin_terms` when already found."""
    if words is None:
        words = latin_terms(normalised)
    if len(normalised) <= _SHORT:
        return _short_keys(normalised, words)
    points = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32)
    parts = []
    if len(points):
        han = _han(points)
        pair = han[:-1] & han[1:]
        if pair.any():
            parts.append((points[:-1][pair].astype(np.uint64) << np.uint64(21))
                         | points[1:][pair].astype(np.uint64))
        alone = han.copy()
        alone[1:] &= ~han[:-1]
        alone[:-1] &= ~han[1:]
        if alone.any():
            parts.append(points[alone].astype(np.uint64))
    if words:
        parts.append(np.fromiter((word_key(w) for w in words), dtype=np.uint64,
                                 count=len(words)))
    if not parts:
        return _EMPTY
    return distinct(parts[0] if len(parts) == 1 else np.concatenate(parts))


def keys_of(terms: Iterable[str]) -> Any:
    """Keys of terms given as text (a reference file's), in the same order."""
    listed = list(terms)
    return np.fromiter((key_of(t) for t in listed), dtype=np.uint64, count=len(listed))


CHINESE_SHINGLE = 8
"""Characters in a Chinese template phrase: shorter ones catch ordinary words of the trade
("城乡居民基本医疗" is 8 and already borderline), longer ones miss templates that change one
word. An English phrase is ``ENGLISH_SHINGLE`` words: about as much text."""
ENGLISH_SHINGLE = 4

_PRIME = np.uint64(1_000_003)
_ENGLISH_PHRASE = np.uint64(0x9E3779B97F4A7C15)
"""Added to every English phrase's key, so that it never equals a Chinese one."""


def phrase_keys(units: str | list[str], size: int) -> Any:
    """A key for every run of ``size`` template units (:func:`.text.template_units`), one per
    start, in order: the polynomial hash of the run's code points (Chinese) or of its words'
    CRC-32s (English), modulo 2**64. Unlike :func:`word_key` these never depend on the
    process, since the reference file keeps them."""
    if isinstance(units, str):
        codes = np.frombuffer(units.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        salt = np.uint64(0)
    else:
        codes = np.fromiter((zlib.crc32(w.encode("utf-8")) + 1 for w in units),
                            dtype=np.uint64, count=len(units))
        salt = _ENGLISH_PHRASE
    starts = len(codes) - size + 1
    if starts <= 0:
        return _EMPTY
    powers = np.cumprod(np.full(size, _PRIME, dtype=np.uint64))  # wraps modulo 2**64
    keys = codes[:starts].copy()
    for i in range(1, size):
        keys += codes[i : i + starts] * powers[i - 1]
    return keys + salt


def phrases_of(units: str | list[str]) -> Any:
    """The key of every template-length phrase of ``units`` (:func:`.text.template_units`),
    one per start."""
    return phrase_keys(units, CHINESE_SHINGLE if isinstance(units, str) else ENGLISH_SHINGLE)
