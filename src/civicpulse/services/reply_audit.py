"""Reply assessment over a file: a city's history of messages and the replies they got.

``civicpulse audit replies`` reads a CSV or XLSX export of messages and their official
replies (any column layout, mapped as the import maps it) and assesses every reply against its
message (``understanding.replies``): relevance, boilerplate, deflection, concreteness, flags
and reasons, one answer per row in file order.

What counts as template text and which words are rare is learnt from the city's own replies:
by default from the file's replies themselves (a history file is a corpus of the city's
replies), or from a reference saved before (``--reference``), e.g. from a longer history, so
that a file of a few rows is judged against the city's usual wording and not against itself.

Every row is read and checked before the first answer is given, so a bad row stops the run
before any output and before a reference is written. The rows stay in memory, and when the
reference is learnt from them so does each reply as read (its terms and phrases as keys:
about 5 KB a row on the message board), since reading each reply once for both saved a
sixth of the time of a pair (bench/README.md, "Replies: relevance"). A history of a few
hundred thousand rows fits; a longer one is better split, with a reference saved from part
of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.import_options import (
    RowSource,
    SourceRow,
    check_mapping,
    parse_when,
    time_zone,
)
from civicpulse.understanding.replies import (
    ReplyAssessment,
    ReplyReference,
    assess_views,
    read_message,
    read_reply,
)
from civicpulse.understanding.replies.views import ReplyView

FIELDS = ("message", "reply", "title", "author", "occurred_at")
"""What a column can be mapped to: the message's body, the official reply, the message's
title, who wrote the message (name or user id, as the reply would greet them) and when."""

REQUIRED = ("message", "reply")

SMALL_REFERENCE = 50
"""Below this many replies, word rarity and templates are poorly known: the command says so
and suggests a reference built from a longer history."""

@dataclass(frozen=True)
class AuditOptions:
    """How to read the file: ``mapping`` is field → column name; ``reference`` the city's
    past replies (None: learnt from the file's own replies)."""

    mapping: Mapping[str, str]
    timezone: str = "UTC"
    reference: ReplyReference | None = None
    save_reference: Path | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    message: str
    reply: str
    title: str | None
    author: str | None
    said_on: date | None


@dataclass(frozen=True, slots=True)
class AuditedRow:
    """The assessment of one row, with the texts it was made on (to choose a language)."""

    number: int
    message: str
    reply: str
    assessment: ReplyAssessment


class ReplyAudit:
    """A file's rows, read and checked, and the reference they are judged against; with the
    replies already read when the reference was learnt from them (each is read once)."""

    def __init__(
        self,
        rows: list[_Row],
        reference: ReplyReference,
        learnt: bool,
        replies: list[ReplyView] | None = None,
    ) -> None:
        self.rows = rows
        self.reference = reference
        #: whether the reference was learnt from the file itself
        self.learnt = learnt
        self._replies = replies

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[AuditedRow]:
        for k, row in enumerate(self.rows):
            message = read_message(row.message, title=row.title, author=row.author,
                                   said_at=row.said_on)
            reply = self._replies[k] if self._replies is not None else read_reply(row.reply)
            yield AuditedRow(row.number, row.message, row.reply,
                             assess_views(message, reply, self.reference))


def audit_file(source: RowSource, options: AuditOptions) -> ReplyAudit:
    """Read and check every row of ``source``, then the reference (learnt from the rows'
    replies unless given); nothing is assessed yet (iterate the result for that).

    The mapping is checked before any row is read; a bad row raises ``ValidationFailed``
    naming it, before any reference is written."""
    check_mapping(options.mapping, source.columns, FIELDS, REQUIRED)
    zone = time_zone(options.timezone)
    rows = [_read(row, options.mapping, zone) for row in source.rows()]
    if options.reference is not None:
        return ReplyAudit(rows, options.reference, learnt=False)
    replies = [read_reply(r.reply) for r in rows]
    reference = ReplyReference.build_from_views(replies, source=source.name)
    if options.save_reference is not None:
        reference.save(options.save_reference)
    return ReplyAudit(rows, reference, learnt=True, replies=replies)


def load_reference(path: Path) -> ReplyReference:
    if not path.is_file():
        raise ValidationFailed(f"no reply reference at {path}")
    return ReplyReference.load(path)


def _read(row: SourceRow, mapping: Mapping[str, str], zone: tzinfo) -> _Row:
    try:
        if row.problem is not None:
            raise ValidationFailed(row.problem)
        message = _cell(row, mapping, "message")
        if not message:
            raise ValidationFailed("message is empty")
        reply = _cell(row, mapping, "reply")
        title = _cell(row, mapping, "title")
        author = _cell(row, mapping, "author")
        limits.check_length("message", message, limits.TEXT)
        limits.check_length("reply", reply, limits.TEXT)
        limits.check_length("title", title, limits.TITLE)
        limits.check_length("author", author, limits.NAME)
        said_on = None
        if "occurred_at" in mapping:
            raw = row.values.get(mapping["occurred_at"], "")
            if isinstance(raw, datetime) or raw.strip():
                said_on = parse_when(raw, zone).astimezone(zone).date()
    except ValidationFailed as exc:
        raise ValidationFailed(f"row {row.number}: {exc.message}") from None
    return _Row(row.number, message, reply, title or None, author or None, said_on)


def _cell(row: SourceRow, mapping: Mapping[str, str], name: str) -> str:
    if name not in mapping:
        return ""
    value = row.values.get(mapping[name], "")
    return value.isoformat() if isinstance(value, datetime) else value.strip()
