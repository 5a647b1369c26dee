"""One writer of cases: a voice imported from a file and the same voice submitted one by one
become the same rows, and an over-long field is refused in the same words on every path."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from civicpulse.channels.tabular import file_sha256, open_table
from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.roles import SYSTEM, Actor
from civicpulse.infra.context import Context
from civicpulse.services.catalogue import import_catalogue
from civicpulse.services.import_options import ImportOptions
from civicpulse.services.imports import ImportReport, import_voices
from civicpulse.services.text_reading import preview_reading
from civicpulse.services.voices import Contact, VoiceInput, submit_voice, validate_voice
from civicpulse.storage.tables import Case, CaseEvent, ResidentContact, Voice
from tests.city import CATALOGUE

WHEN = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
VOICE = {
    "text": "Deep hole in the road outside the bakery\nsince last week",
    "title": "Hole outside the bakery",
    "category": "pothole",
    "lat": 30.05,
    "lon": 120.05,
    "address": "Elm St 12",
    "contact": Contact(name="Li Lei", email="li@example.org", phone="13800000000"),
}
MAPPING = {
    "external_id": "id",
    "text": "text",
    "title": "title",
    "category": "category",
    "occurred_at": "when",
    "lat": "lat",
    "lon": "lon",
    "address": "address",
    "contact_name": "name",
    "contact_email": "email",
    "contact_phone": "phone",
}


def _import(ctx: Context, path: Path, rows: list[dict[str, str]]) -> ImportReport:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(MAPPING.values()))
        writer.writeheader()
        writer.writerows(rows)
    table = open_table(path)
    try:
        return import_voices(ctx, SYSTEM, table, file_sha256(path), ImportOptions(MAPPING))
    finally:
        table.close()


def _row(external_id: str, **changes: str) -> dict[str, str]:
    contact = VOICE["contact"]
    row = {
        "id": external_id,
        "text": VOICE["text"],
        "title": VOICE["title"],
        "category": VOICE["category"],
        "when": WHEN.isoformat(),
        "lat": str(VOICE["lat"]),
        "lon": str(VOICE["lon"]),
        "address": VOICE["address"],
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
    }
    row.update(changes)
    return row


def _stored(ctx: Context, external_id: str) -> dict[str, Any]:
    """Every row the case of this voice started with, without the ids that must differ."""
    with ctx.db.reader() as s:
        voice = dict(
            s.execute(select(Voice.__table__).where(Voice.external_id == external_id))
            .mappings()
            .one()
        )
        case = dict(
            s.execute(select(Case.__table__).where(Case.id == voice["case_id"])).mappings().one()
        )
        contact = dict(
            s.execute(
                select(ResidentContact.__table__).where(ResidentContact.voice_id == voice["id"])
            )
            .mappings()
            .one()
        )
        events = [
            dict(e)
            for e in s.execute(
                select(CaseEvent.__table__)
                .where(CaseEvent.case_id == case["id"])
                .order_by(CaseEvent.id)
            ).mappings()
        ]
    for column in ("id", "tracking_code"):
        case.pop(column)
    for column in ("id", "case_id", "external_id"):
        voice.pop(column)
    contact.pop("voice_id")
    for event in events:
        event.pop("id")
        event.pop("case_id")
        event["data"] = {k: v for k, v in event["data"].items() if k != "voice_id"}
    return {"case": case, "voice": voice, "contact": contact, "events": events}


def test_import_and_intake_write_the_same_rows_for_the_same_voice(
    ctx: Context, tmp_path: Path
) -> None:
    import_catalogue(ctx, SYSTEM, CATALOGUE)
    submit_voice(
        ctx, SYSTEM, VoiceInput(channel="import", external_id="one", occurred_at=WHEN, **VOICE)
    )
    report = _import(ctx, tmp_path / "one.csv", [_row("two")])
    assert (report.imported, report.rejected) == (1, [])
    submitted, imported = _stored(ctx, "one"), _stored(ctx, "two")
    # the columns the two writers once disagreed on, named so a failure says which
    assert submitted["case"]["escalation_level"] == imported["case"]["escalation_level"] == 0
    assert submitted["case"]["version"] == imported["case"]["version"] == 1
    assert submitted["case"]["status"] == "assigned"  # routed: the test covers both events
    assert [e["kind"] for e in imported["events"]] == ["submitted", "assigned"]
    assert submitted == imported


@pytest.mark.parametrize(
    ("field", "limit", "voice", "row"),
    [
        ("text", limits.TEXT, {"text": "x" * (limits.TEXT + 1)}, {"text": "x" * (limits.TEXT + 1)}),
        ("title", limits.TITLE, {"title": "t" * (limits.TITLE + 1)},
         {"title": "t" * (limits.TITLE + 1)}),
        ("address", limits.ADDRESS, {"address": "a" * (limits.ADDRESS + 1)},
         {"address": "a" * (limits.ADDRESS + 1)}),
        ("contact.name", limits.NAME, {"contact": Contact(name="n" * (limits.NAME + 1))},
         {"name": "n" * (limits.NAME + 1)}),
        ("external_id", limits.EXTERNAL_ID, {"external_id": "e" * (limits.EXTERNAL_ID + 1)},
         {"id": "e" * (limits.EXTERNAL_ID + 1)}),
    ],
)  # fmt: skip
def test_an_over_long_field_is_refused_in_the_same_words_by_intake_and_import(
    ctx: Context,
    tmp_path: Path,
    field: str,
    limit: int,
    voice: dict[str, Any],
    row: dict[str, str],
) -> None:
    import_catalogue(ctx, SYSTEM, CATALOGUE)
    expected = f"{field} must be at most {limit} characters"
    with pytest.raises(ValidationFailed) as checked:
        validate_voice(VoiceInput(**{"text": "fine", **voice}))
    assert checked.value.message == expected
    with pytest.raises(ValidationFailed) as submitted:
        submit_voice(ctx, SYSTEM, VoiceInput(**{"text": "fine", **voice}))
    assert submitted.value.message == expected
    report = _import(ctx, tmp_path / "long.csv", [_row("long", **row)])
    assert [r.reason for r in report.rejected] == [expected]
    assert report.imported == 0


def test_the_preview_refuses_an_over_long_text_like_intake(ctx: Context) -> None:
    partner = Actor(kind="integration", name="partner")
    with pytest.raises(ValidationFailed) as refused:
        preview_reading(ctx, partner, "x" * (limits.TEXT + 1))
    assert refused.value.message == f"text must be at most {limits.TEXT} characters"
