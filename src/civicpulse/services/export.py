"""The public export of cases: what the city did, case by case, with nobody's personal data.

One row per case, built from an explicit list of safe fields rather than by removing the
private ones, so a column added to the tables later never leaks by default. What is left
out on purpose: the voices' text and titles, the case title (written from the first voice),
contacts and addresses, external ids, and the tracking code (it lets whoever holds it read
and verify the case, so it belongs to the resident). Locations are rounded to 3 decimals,
about 100 m, so a row cannot point at one house.

Rows are read in id order, a batch at a time, inside one read transaction: memory stays
flat with a hundred thousand cases, and the export is one consistent snapshot.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.workflow import CaseStatus
from civicpulse.infra.context import Context
from civicpulse.storage.tables import Area, Case, Category, Department, Verification, Voice

FORMATS = ("csv", "json")
LOCATION_DECIMALS = 3


class PublicCaseRow(TypedDict):
    """One case of the export. A typed dict rather than an object: a row is written straight
    to CSV or JSON, a hundred thousand times per export, with nothing to convert."""

    case_id: int
    status: str
    category: str | None
    department: str | None
    area: str | None
    created_at: str | None  # times as ISO 8601 text, the same in CSV and JSON
    first_response_due: str | None
    resolution_due: str | None
    first_responded_at: str | None
    resolved_at: str | None
    closed_at: str | None
    voices: int
    channels: list[str]
    confirmed: bool
    satisfaction: float | None  # mean of the residents' verdicts, 1-5
    reopen_count: int
    lat: float | None  # rounded to LOCATION_DECIMALS
    lon: float | None


#: the columns, in order; nothing outside this list is ever written
FIELDS = tuple(PublicCaseRow.__annotations__)

_CASE_COLUMNS = (
    Case.id, Case.status, Case.category_id, Case.department_id, Case.area_id, Case.created_at,
    Case.first_response_due, Case.resolution_due, Case.first_responded_at, Case.resolved_at,
    Case.closed_at, Case.reopen_count, Case.lat, Case.lon,
)


def public_case_rows(ctx: Context, batch_size: int = 1000) -> Iterator[PublicCaseRow]:
    """Every case, in id order, ``batch_size`` cases at a time."""
    with ctx.db.reader() as s:
        categories = _codes(s, Category)
        departments = _codes(s, Department)
        areas = _codes(s, Area)
        last_id = 0
        while True:
            cases = s.execute(
                select(*_CASE_COLUMNS).where(Case.id > last_id).order_by(Case.id)
                .limit(batch_size)
            ).all()
            if not cases:
                return
            ids = [c.id for c in cases]
            channels = _channels(s, ids)
            verdicts = _satisfaction(s, ids)
            for c in cases:
                yield {
                    "case_id": c.id,
                    "status": c.status,
                    "category": categories.get(c.category_id),
                    "department": departments.get(c.department_id),
                    "area": areas.get(c.area_id),
                    "created_at": _iso(c.created_at),
                    "first_response_due": _iso(c.first_response_due),
                    "resolution_due": _iso(c.resolution_due),
                    "first_responded_at": _iso(c.first_responded_at),
                    "resolved_at": _iso(c.resolved_at),
                    "closed_at": _iso(c.closed_at),
                    "voices": sum(channels.get(c.id, {}).values()),
                    "channels": sorted(channels.get(c.id, {})),
                    "confirmed": c.status == CaseStatus.CONFIRMED.value,
                    "satisfaction": verdicts.get(c.id),
                    "reopen_count": c.reopen_count,
                    "lat": _round(c.lat),
                    "lon": _round(c.lon),
                }
            last_id = ids[-1]


def _codes(s: Session, model: type[Category] | type[Department] | type[Area]) -> dict[Any, str]:
    return {row.id: row.code for row in s.execute(select(model.id, model.code))}


def _channels(s: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    """Per case: how many voices came through each channel."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    rows = s.execute(
        select(Voice.case_id, Voice.channel, func.count())
        .where(Voice.case_id.in_(ids))
        .group_by(Voice.case_id, Voice.channel)
    )
    for case_id, channel, n in rows:
        out[case_id][channel] = n
    return out


def _satisfaction(s: Session, ids: list[int]) -> dict[int, float]:
    """Per case: the mean satisfaction of the residents' verdicts, rounded to 2 decimals."""
    rows = s.execute(
        select(Verification.case_id, func.avg(Verification.satisfaction))
        .where(Verification.case_id.in_(ids))
        .group_by(Verification.case_id)
    )
    return {case_id: round(float(mean), 2) for case_id, mean in rows if mean is not None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round(value: float | None) -> float | None:
    return round(value, LOCATION_DECIMALS) if value is not None else None


def write_csv(rows: Iterator[PublicCaseRow], out: TextIO) -> int:
    """CSV with a header; channels joined by ``;``, empty cells for missing values."""
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        cells: dict[str, object] = dict(row)
        cells["channels"] = ";".join(row["channels"])
        cells["confirmed"] = "true" if row["confirmed"] else "false"
        writer.writerow(cells)
        n += 1
    return n


def write_json(rows: Iterator[PublicCaseRow], out: TextIO) -> int:
    """A JSON array written one object at a time, so it never sits whole in memory."""
    out.write("[")
    n = 0
    for row in rows:
        out.write(",\n" if n else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def export_cases(ctx: Context, fmt: str, out: TextIO) -> int:
    """Write the public export in ``fmt`` to ``out``; returns how many cases were written."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}")
    rows = public_case_rows(ctx)
    return write_csv(rows, out) if fmt == "csv" else write_json(rows, out)
