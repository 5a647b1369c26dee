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
)
"""What a column can be mapped to."""

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
    unknown = sorted(set(options.mapping) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            f"cannot map to {', '.join(unknown)}; fields are {', '.join(FIELDS)}"
        )
    if "text" not in options.mapping:
        raise ValidationFailed("map a column to text (e.g. --map text=留言详情)")
    missing = [c for c in options.mapping.values() if c not in columns]
    if missing:
        raise ValidationFailed(
            f"no column {', '.join(map(repr, missing))} in the file; "
            f"its columns are {', '.join(columns)}"
        )
    if options.channel not in CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}")
    if not 1 <= options.batch_size <= 100_000:
        raise ValidationFailed("batch size must be between 1 and 100000")
    try:
        return ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {options.timezone!r}") from exc


def parse_when(value: str | datetime, zone: tzinfo) -> datetime:
    """ISO 8601 or the usual ``YYYY-MM-DD HH:MM:SS`` / ``YYYY/MM/DD`` shapes; naive → ``zone``."""
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
                    f"occurred_at {text!r} is not a date and time I can read"
                ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
