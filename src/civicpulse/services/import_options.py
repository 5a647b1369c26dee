"""How a table is read for ``import_voices``: the mapping, its checks, dates, and the job's key.

Everything here is decided before a single row is read, so that a mapping that cannot work
is refused at once instead of as a million rejected rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.voices import CHANNELS

FIELDS = (
    "text",
    "title",
    "category",
    "language",
    "channel",
    "lat",
    "lon",
    "address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "external_id",
    "occurred_at",
    "supports",
    "author",
)
"""What a column can be mapped to. ``supports``: how many users of the source system
supported the record (likes, "me too"s), kept as a count on the voice; ``author``: the source
system's id of who wrote it (a user name, a caller number), kept only as a keyed hash so one
writer counts once among a concern's residents."""

DEFAULT_BATCH = 2000

_DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


class SourceRow(Protocol):
    """A row of a table being imported (``channels.tabular.Row`` is one)."""

    @property
    def number(self) -> int: ...

    @property
    def values(self) -> Mapping[str, str | datetime]: ...

    @property
    def problem(self) -> str | None: ...


class RowSource(Protocol):
    """An open table: its name, its columns and its rows, read once from the top."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> list[str]: ...

    def rows(self) -> Iterator[SourceRow]: ...

    def progress(self) -> tuple[int, int | None]: ...


@dataclass(frozen=True)
class ImportOptions:
    """How to read the table: ``mapping`` is field → column name."""

    mapping: Mapping[str, str]
    channel: str = "import"
    timezone: str = "UTC"
    keep_columns: bool = False
    batch_size: int = DEFAULT_BATCH


@dataclass(frozen=True)
class Rejection:
    """A row that could not become a voice, and why (the job keeps them all)."""

    row: int
    reason: str
    external_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "reason": self.reason}
        if self.external_id is not None:
            out["external_id"] = self.external_id
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Rejection:
        return cls(int(d["row"]), str(d["reason"]), d.get("external_id"))


def import_fingerprint(file_sha256: str, options: ImportOptions) -> str:
    """Identifies one import: the same bytes read with the same mapping into the same channel."""
    ident = json.dumps(
        {
            "file": file_sha256,
            "mapping": sorted(options.mapping.items()),
            "channel": options.channel,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


def check_options(options: ImportOptions, columns: Sequence[str]) -> tzinfo:
    """Refuse a mapping that cannot work before a single row is read; returns the time zone."""
    check_mapping(options.mapping, columns, FIELDS, required=("text",))
    if options.channel not in CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}")
    if not 1 <= options.batch_size <= 100_000:
        raise ValidationFailed("batch size must be between 1 and 100000")
    return time_zone(options.timezone)


#: how the refusal of a missing field shows a column to map it to
_EXAMPLE_COLUMN = {"text": "留言详情", "occurred_at": "留言时间", "external_id": "留言编号"}


def check_mapping(
    mapping: Mapping[str, str],
    columns: Sequence[str],
    fields: Sequence[str],
    required: Sequence[str],
) -> None:
    """Refuse a field that cannot be mapped, a required field left out, or a column the file
    does not have, each in one message that says what would work."""
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ValidationFailed(
            f"cannot map to {', '.join(unknown)}; fields are {', '.join(fields)}"
        )
    for name in required:
        if name not in mapping:
            raise ValidationFailed(
                f"map a column to {name} (e.g. --map {name}={_EXAMPLE_COLUMN.get(name, 'COLUMN')})"
            )
    missing = [c for c in mapping.values() if c not in columns]
    if missing:
        raise ValidationFailed(
            f"no column {', '.join(map(repr, missing))} in the file; "
            f"its columns are {', '.join(columns)}"
        )


def time_zone(name: str) -> tzinfo:
    """The IANA time zone a person named, or a refusal that quotes the name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {name!r}") from exc


def parse_when(value: str | datetime, zone: tzinfo, field: str = "occurred_at") -> datetime:
    """ISO 8601 or the usual ``YYYY-MM-DD HH:MM:SS`` / ``YYYY/MM/DD`` shapes; naive → ``zone``.

    ``field`` names the column's field in the refusal."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise ValidationFailed(
                    f"{field} {text!r} is not a date and time I can read"
                ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
