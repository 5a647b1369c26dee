"""Labels of concerns: whole words several residents used, through the privacy gate; else
the public title of the concern's case.

A label is made when a concern is new or has grown by a quarter since (``RELABEL_GROWTH``);
otherwise the one it has is kept, since a label that changes at every refresh helps nobody
and the privacy check costs tagger calls. The phrases come from the concern's latest voices
(``understanding/concern_labels.py``) and are checked against the names found around their
uses in those voices (``redaction.public_phrases``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select

from civicpulse.domain.resident_keys import contact_keys
from civicpulse.services.concern_parts import Built, Reader
from civicpulse.storage.tables import Concern, ResidentContact, Voice, VoiceInsight, VoiceOrigin
from civicpulse.understanding import concern_labels
from civicpulse.understanding.redaction import Redactor, Span, public_phrases
from civicpulse.understanding.redaction.rules import SURNAME_START

#: voices of one concern read to make its label (the latest ones)
LABEL_SAMPLE = 200
#: a label is made again when its concern has grown by this share since
RELABEL_GROWTH = 0.25
#: characters either side of a label phrase that the name check reads (a name is at most
#: four characters, and a phrase is unsafe when it shares two of them)
NAME_WINDOW = 4
#: uses of one phrase the name check reads
NAME_WINDOWS = 3


def label_concerns(
    reader: Reader,
    built: list[Built],
    case_rows: dict[int, Any],
    *,
    min_people: int,
    secret: bytes,
    frequencies: Callable[[set[str]], dict[str, int]],
    texts: int,
) -> None:
    """Whole-word phrases several residents used (through the privacy gate), else the
    public title of the concern's main case; kept while the concern has not grown much."""
    qualifying = [b for b in built if b.people >= min_people]
    previous = {
        key: (label, voices, pending)
        for key, label, voices, pending in reader.rows(
            lambda c: select(Concern.key, Concern.label, Concern.voices,
                             Concern.label_pending).where(c),
            Concern.key, [b.target.key for b in qualifying],
        )
    }
    wanting = []
    for b in qualifying:
        old = previous.get(b.target.key)
        if old and old[0] and not old[2] and b.voices < old[1] * (1 + RELABEL_GROWTH):
            b.label = old[0]
        else:
            wanting.append(b)
    phrases = _phrases(reader, [b for b in wanting if b.facts.residents >= 3], secret,
                       frequencies, texts)
    for b in wanting:
        chosen = phrases.get(b.target.key, [])
        if chosen:
            b.label = " · ".join(chosen)
            continue
        main = b.target.roots[0]  # the case the key names
        title = case_rows[main][5] if main in case_rows else None
        b.label = title or ""
        b.label_pending = title is None


def _phrases(
    reader: Reader,
    built: list[Built],
    secret: bytes,
    frequencies: Callable[[set[str]], dict[str, int]],
    texts_seen: int,
) -> dict[str, list[str]]:
    if not built:
        return {}
    sample: dict[str, list[int]] = {}
    resident: dict[int, str] = {}
    wanted: set[int] = set()
    for b in built:
        voices = _latest_voices(reader, b.cases)
        sample[b.target.key] = voices
        wanted.update(voices)
    texts = {
        vid: (title, body, email, phone, author)
        for vid, title, body, email, phone, author in reader.rows(
            lambda c: select(Voice.id, Voice.title, Voice.text, ResidentContact.email,
                             ResidentContact.phone, VoiceOrigin.author_key)
            .outerjoin(ResidentContact, ResidentContact.voice_id == Voice.id)
            .outerjoin(VoiceOrigin, VoiceOrigin.voice_id == Voice.id).where(c),
            Voice.id, wanted,
        )
    }
    readings = {vid: concern_labels.read(body, title) for vid, (title, body, *_) in
                texts.items()}
    for vid, (_t, _b, email, phone, author) in texts.items():
        keys = contact_keys(secret, email, phone, author)
        resident[vid] = keys[0] if keys else f"v{vid}"
    frequency = frequencies({w for r in readings.values() for w in r.words})
    total = max(texts_seen, 1)
    redactor = _RememberingRedactor()
    out = {}
    for b in built:
        ids = [v for v in sample[b.target.key] if v in readings]
        chosen = concern_labels.label_phrases(
            [readings[v] for v in ids], lambda w: frequency.get(w, 0), total,
            residents=[resident[v] for v in ids],
        )
        if chosen:
            around = _windows(chosen, [f"{texts[v][0] or ''}\n{texts[v][1]}" for v in ids])
            out[b.target.key] = public_phrases(chosen, around, redactor)
    return out


def _latest_voices(reader: Reader, cases: list[int]) -> list[int]:
    rows = reader.rows(
        lambda c: select(Voice.id, func.coalesce(VoiceInsight.at, Voice.received_at))
        .outerjoin(VoiceInsight, VoiceInsight.voice_id == Voice.id).where(c),
        Voice.case_id, cases,
    )
    rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
    return [r[0] for r in rows[:LABEL_SAMPLE]]


def _windows(phrases: Sequence[str], texts: Sequence[str]) -> list[str]:
    """The uses of label phrases where a name could overlap them, cut to a few characters
    either side and joined into one text: all the name check needs to see.

    A phrase is unsafe when it shares two characters with a name found in the concern's
    texts, and the names found start with a surname; so only uses with a surname character
    in reach are read, at most ``NAME_WINDOWS`` of each phrase. The name tagger costs about
    10 ms a call plus a fraction of a millisecond a character (``bench/README.md``,
    Redaction), so one short text per concern instead of whole letters keeps a relabel in
    the tens of milliseconds."""
    out = []
    for phrase in phrases:
        found = 0
        for written in texts:
            at = written.find(phrase)
            if at < 0:
                continue
            reach = written[max(0, at - 2) : at + len(phrase) - 1]
            if not any(SURNAME_START.match(reach, i) for i in range(len(reach))):
                continue
            out.append(written[max(0, at - NAME_WINDOW) : at + len(phrase) + NAME_WINDOW])
            found += 1
            if found == NAME_WINDOWS:
                break
    return ["。\n".join(out)] if out else []


class _RememberingRedactor(Redactor):
    """The deep redactor, remembering what it found in each text for the run: label phrases
    recur from concern to concern, and each check of a short phrase costs a tagger call."""

    def __init__(self) -> None:
        super().__init__(deep=True)
        self._found: dict[str, list[Span]] = {}

    def find(self, text: str) -> list[Span]:
        if text not in self._found:
            self._found[text] = super().find(text)
        return self._found[text]
