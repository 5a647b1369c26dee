"""A message and a reply, read once into what the judgements compare.

Reading is the costly part (bigrams, jieba's words for places), so a message or a reply is
read once and its view reused: the same reply can be weighed against several messages, and
the bench weighs each message against two replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from civicpulse.understanding.replies.term_keys import phrases_of, term_keys
from civicpulse.understanding.replies.text import (
    addressee,
    digest,
    latest_year,
    latin_terms,
    normalise,
    places,
    quotes,
    segment,
    sentences,
    template_units,
    word_set,
)

HEAD = 200
"""Characters at the start of a message or a reply searched for places, and of a message
for the words the reasons quote: where a message says what it is about and a reply what and
whom it answers ("关于您反映的A3区……"); a long letter names many places in passing, and the
rest of a reply is mostly the office's explanation. jieba costs 0.2 µs a character, and the
bench's AUC did not move (bench/README.md)."""

TITLE_FROM_TEXT = 60
"""Without a title, the message's first sentence, up to this many characters, stands for one
(residents put their request first, as a title would)."""

#: names a reply may greet that are nobody in particular
_NOBODY = word_set(
    "resident residents customer citizen citizens sir madam sir/madam neighbor neighbour "
    "constituent all team friend friends 网友 市民 网民 居民 同志 先生 女士"
)

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


@dataclass(frozen=True, slots=True)
class MessageView:
    """A resident's message as relevance reads it."""

    #: title and body as written, and as compared (``text``: normalised, of the same length,
    #: so a stretch found in ``text`` is shown from ``raw``)
    raw: str
    text: str
    #: its terms as keys (:mod:`.term_keys`), sorted
    terms: Any
    #: jieba's words of the first ``HEAD`` characters of ``text`` (none without Chinese):
    #: the reasons quote whole words
    head_words: tuple[str, ...]
    title: str
    title_terms: Any
    places: tuple[str, ...]
    author: str | None
    author_as_written: str | None
    dates: tuple[str, ...]
    #: the latest year the message writes in a date, or the year it was sent when later
    latest_year: int | None = None

    def as_written(self, fragment: str) -> str:
        return _as_written(fragment, self.text, self.raw)


@dataclass(frozen=True, slots=True)
class ReplyView:
    """An official reply as the judgements read it."""

    raw: str
    text: str
    terms: Any
    quotes: tuple[str, ...]
    addressee: str | None
    places: tuple[str, ...]
    #: its template phrases as keys, one per start (:func:`.term_keys.phrases_of`): the
    #: reference counts them and boilerplate looks them up, from one reading
    phrases: Any
    #: the latest year the reply writes in a date (usually the day it was signed), or None
    latest_year: int | None = None
    #: its fingerprint (:func:`.text.digest`), to know whether a reference counted it
    digest: str = ""
    #: its English words and numbers (:func:`.text.latin_terms`): a reference keeps their
    #: text
    words: tuple[str, ...] = ()

    def as_written(self, fragment: str) -> str:
        return _as_written(fragment, self.text, self.raw)


def read_message(
    text: str,
    title: str | None = None,
    author: str | None = None,
    said_at: date | datetime | None = None,
) -> MessageView:
    """``text`` is the message's body; ``author`` the name or handle it was signed with and
    ``said_at`` when it was written, when known (replies often repeat both)."""
    titled = bool(title and title.strip())
    body = normalise(text)
    head = normalise(title or "") if titled else ""
    whole = f"{head}\n{body}" if titled else body
    if not head:
        first = sentences(body)
        head = first[0][:TITLE_FROM_TEXT] if first else ""
    who = normalise(author).strip() if author else ""
    raw = f"{title}\n{text}" if titled else text
    words = segment(whole[:HEAD])
    day = (said_at.date() if isinstance(said_at, datetime) else said_at) if said_at else None
    years = [y for y in (latest_year(whole), day.year if day else None) if y is not None]
    return MessageView(
        raw=raw,
        text=whole,
        terms=term_keys(whole),
        head_words=tuple(words),
        title=head,
        title_terms=term_keys(head),
        places=tuple(places(raw[:HEAD], words)),
        author=who if len(who) >= 2 and who not in _NOBODY else None,
        author_as_written=(author or "").strip() or None,
        dates=_date_forms(said_at) if said_at is not None else (),
        latest_year=max(years) if years else None,
    )


def read_reply(text: str) -> ReplyView:
    flat = normalise(text)
    greeted = addressee(flat)
    words = latin_terms(flat)
    return ReplyView(
        raw=text,
        text=flat,
        terms=term_keys(flat, words),
        quotes=tuple(quotes(flat)),
        addressee=greeted if greeted and greeted not in _NOBODY else None,
        places=tuple(places(text[:HEAD], segment(flat[:HEAD]))),
        phrases=phrases_of(template_units(flat)),
        latest_year=latest_year(flat),
        digest=digest(text),
        words=tuple(words),
    )


def _as_written(fragment: str, normalised: str, raw: str) -> str:
    """``fragment`` of ``normalised`` as ``raw`` writes it ("12 elm street" → "12 Elm
    Street"): normalising keeps every character in its place."""
    at = normalised.find(fragment)
    if at < 0 or len(normalised) != len(raw):
        return fragment
    return raw[at : at + len(fragment)]


def _date_forms(when: date | datetime) -> tuple[str, ...]:
    """How a reply may write the day a message was sent, normalised as replies are."""
    d = when.date() if isinstance(when, datetime) else when
    return (
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.month}月{d.day}日",
        d.isoformat(),
        f"{d.month}/{d.day}/{d.year}",
        f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
        f"{_MONTHS[d.month - 1]} {d.day}",
    )
