"""Cases and what residents said: voices, their photos and contacts, the timeline of each case
and the residents' verdicts, and how imported voices arrived.

Resident contact details live in ``resident_contacts``, apart from the voice, so that every
public read path can be written without ever joining them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, BigId, UTCDateTime


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_department", "status", "department_id"),
        Index("ix_cases_resolution_due", "resolution_due"),
        # the background redaction pass finds what it has still to check here, in a few
        # index entries, however many cases there are (see services/redaction_pass.py)
        Index(
            "ix_cases_public_title_pending",
            "id",
            sqlite_where=sql_text("public_title IS NULL"),
            postgresql_where=sql_text("public_title IS NULL"),
        ),
        # the cases merged into one, found without reading every case (concerns, insights)
        Index(
            "ix_cases_merged_into_id",
            "merged_into_id",
            sqlite_where=sql_text("merged_into_id IS NOT NULL"),
            postgresql_where=sql_text("merged_into_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300), default="")
    #: the title as the public may see it (``services/public_text.py``): personal data
    #: replaced, the name tagger included; NULL until it has been checked, and then the case
    #: is listed with a placeholder and is not found by the public search
    public_title: Mapped[str | None] = mapped_column(Text, nullable=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id"), nullable=True
    )
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verification_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    resolution_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    contest_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class Voice(Base):
    """One thing one person said. Never edited, never deleted (only redacted)."""

    __tablename__ = "voices"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_voices_channel_external_id"),
        Index("ix_voices_case_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # what the classifier said when the voice arrived without a category (kept even when
    # below the confidence threshold, so the dispatcher sees the suggestion)
    suggested_category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    suggestion_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class VoicePhoto(Base):
    """A resident's photo, re-encoded on arrival so no EXIF (GPS, camera, owner) survives.

    Kept in the database, in the voice's own transaction, so an accepted photo is never lost
    and a backup of the database is a backup of everything. Shown to staff and to the holder
    of the tracking code only: a photo can show faces and number plates."""

    __tablename__ = "voice_photos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ResidentContact(Base):
    """Personal data of the person behind a voice; never read by public paths."""

    __tablename__ = "resident_contacts"
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(500), nullable=True)


class CaseEvent(Base):
    """The append-only timeline of a case: every hop, reply and verdict."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case_id", "case_id", "id"),
        # public entries whose message is still to be checked (services/redaction_pass.py);
        # the predicate is written as each database renders ``CaseEvent.public`` alone, so
        # that SQLite sees the query's WHERE imply it and uses the index
        Index(
            "ix_case_events_public_message_pending",
            "id",
            sqlite_where=sql_text(
                "public = 1 AND message IS NOT NULL AND public_message IS NULL"
            ),
            postgresql_where=sql_text(
                "public AND message IS NOT NULL AND public_message IS NULL"
            ),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    from_department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: a public entry's message as the public may see it (``services/public_text.py``);
    #: NULL until checked (and always for entries without a message or not public)
    public_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Verification(Base):
    """The resident's verdict on one resolution of a case."""

    __tablename__ = "verifications"
    __table_args__ = (UniqueConstraint("case_id", "resolution_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    resolution_number: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fixed: Mapped[bool] = mapped_column(Boolean)
    satisfaction: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImportJob(Base):
    """Progress of one file import, committed with each batch so a rerun resumes exactly."""

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source_name: Mapped[str] = mapped_column(String(500))
    rows_done: Mapped[int] = mapped_column(BigId, default=0)
    imported: Mapped[int] = mapped_column(BigId, default=0)
    skipped: Mapped[int] = mapped_column(BigId, default=0)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VoiceOrigin(Base):
    """What the system a voice was imported from said of it besides its text: how many of
    its users supported it (likes), and a keyed hash of who wrote it there, so one writer
    counts once. A count on the voice, not rows of invented supporters."""

    __tablename__ = "voice_origins"
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id"), primary_key=True)
    supports: Mapped[int] = mapped_column(Integer, default=0)
    author_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
