"""SQLAlchemy tables. These are storage, not API schemas: the web layer has its own models.

Resident contact details live in ``resident_contacts``, apart from the voice, so that every
public read path can be written without ever joining them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids fall back to INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps always stored and returned as timezone-aware UTC, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use timezone-aware UTC")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    first_response_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # [{code, datatype, required, description, order, values: [{key, name}]}]
    extra_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Area(Base):
    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    geojson: Mapped[dict[str, Any]] = mapped_column(JSON)


class RoutingRule(Base):
    """category × area → department; overrides the category's own department."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("category_id", "area_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffToken(Base):
    """Bearer tokens, stored as SHA-256 so a database leak does not leak sessions."""

    __tablename__ = "staff_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """Login attempts per account name, shared by every server process (the lockout).

    Keyed by the name as typed, not by the account, so an unknown name is counted and locked
    exactly like a real one and the answer never tells which names exist."""

    __tablename__ = "login_attempts"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RateCounter(Base):
    """Requests per client and bucket in one fixed window (seconds since the epoch, floored
    to the window), shared by every server process; see ``infra/rate_limits.py``."""

    __tablename__ = "rate_counters"
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: the staff account a partner's key acts as when it changes cases (Open311 updates);
    #: without one the key may read and submit, never act on a case
    acts_as_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), nullable=True
    )


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


class OutboxMessage(Base):
    """A notification written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OutboxDelivery(Base):
    """Every delivery attempt, successful or not, with what the transport said."""

    __tablename__ = "outbox_deliveries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(20))
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxAttachment(Base):
    """A file sent with an outbox message (the leader's brief as PDF), written in the same
    transaction as its message and read again on every delivery attempt."""

    __tablename__ = "outbox_attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class BriefMailing(Base):
    """The leader's brief of one ISO week queued for one recipient: the primary key is what
    makes the weekly mail go out once, however many workers reach the same Monday."""

    __tablename__ = "brief_mailings"
    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # 2026-W09
    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(120))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row naming the chain's last record; locked to serialise appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


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


class VoiceInsight(Base):
    """What understanding found in one voice: its matching signature and place in time,
    its urgency with the reasons, and the case it was matched to at intake, if any.

    Kept apart from ``voices`` so a voice stays exactly what the resident said, and so all
    of this can be recomputed (``civicpulse understand rerun``) when a model changes."""

    __tablename__ = "voice_insights"
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id"), primary_key=True)
    #: the case the voice opened (a voice never moves; its case may be merged)
    case_id: Mapped[int] = mapped_column(BigId, index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    urgency: Mapped[str | None] = mapped_column(String(16), nullable=True)
    urgency_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    urgency_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    matched_case_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    #: "merged" when intake merged the voice's case into it, "suggested" when it only
    #: proposed it to staff (CIVICPULSE_MATCH_AUTO_MERGE off)
    match_action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    match_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    match_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MatchKey(Base):
    """One block key of a voice (place cell or text band, in a time bucket): the index that
    finds same-problem candidates without comparing a new voice with every stored one."""

    __tablename__ = "match_keys"
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    voice_id: Mapped[int] = mapped_column(
        ForeignKey("voices.id"), primary_key=True, autoincrement=False
    )


class Topic(Base):
    """A discovered theme: a group of voices beyond the category tree, with a readable label.

    ``key`` is derived from the voice that founded the topic, so the same input in the same
    order always gives the same topics with the same keys."""

    __tablename__ = "topics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    phrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VoiceTopic(Base):
    """Which topic a voice belongs to (at most one)."""

    __tablename__ = "voice_topics"
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)


# ---- "me too" and what many residents raise ----------------------------------------------


class SiteSecret(Base):
    """A secret this installation made for itself, shared by every process through the
    database (the key of the resident keys, ``domain/resident_keys.py``, unless the operator
    gives one)."""

    __tablename__ = "site_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseSupport(Base):
    """A resident's "me too" on a case: one row per (case, supporter), so saying it twice
    counts once. The supporter is a keyed hash of their e-mail, phone, device token or
    account, never the contact itself; the case is the one the support counts for (the
    target, when the case supported had been merged)."""

    __tablename__ = "case_supports"
    __table_args__ = (
        UniqueConstraint("case_id", "supporter_key", name="uq_case_supports_supporter"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    supporter_key: Mapped[str] = mapped_column(String(64))
    #: what the key was made from: email, phone, device or account
    identity: Mapped[str] = mapped_column(String(16))
    #: keyed hashes of the device token and of the client's network address, when known:
    #: what the flood guards group supports by
    device_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    network_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SupporterContact(Base):
    """How to tell a supporter what became of the case, kept only when they asked; like
    ``resident_contacts``, never read by a public path."""

    __tablename__ = "supporter_contacts"
    support_id: Mapped[int] = mapped_column(ForeignKey("case_supports.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)


class VoiceOrigin(Base):
    """What the system a voice was imported from said of it besides its text: how many of
    its users supported it (likes), and a keyed hash of who wrote it there, so one writer
    counts once. A count on the voice, not rows of invented supporters."""

    __tablename__ = "voice_origins"
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id"), primary_key=True)
    supports: Mapped[int] = mapped_column(Integer, default=0)
    author_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Concern(Base):
    """A problem many residents raise: the voices of one case and the cases merged into it,
    or of one topic in one place and period. Kept up to date by ``services/concerns``; the
    score is stored with its reasons so the top concerns are one index scan."""

    __tablename__ = "concerns"
    __table_args__ = (
        Index("ix_concerns_score", "score"),
        Index("ix_concerns_last_at", "last_at"),
        Index(
            "ix_concerns_label_pending",
            "id",
            sqlite_where=sql_text("label_pending = 1"),
            postgresql_where=sql_text("label_pending"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: "case" (one case with its merged duplicates) or "topic" (cases of one topic, place
    #: and period)
    kind: Mapped[str] = mapped_column(String(8))
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the place a topic concern was grouped by (an area or a grid cell); "" for none
    place: Mapped[str] = mapped_column(String(40), default="")
    label: Mapped[str] = mapped_column(Text, default="")
    #: the label's public form is not known yet (its case's title is still being checked)
    label_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: what the score is computed from (``insight.concern_ranking.ConcernFacts``)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    voices: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)
    supports: Mapped[int] = mapped_column(Integer)
    roots: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    area: Mapped[str | None] = mapped_column(String(64), nullable=True)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the department a dispatcher named to lead the work on it (``services/concern_leads``);
    #: the refresh never writes it, so it stays while the concern does
    lead_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id"), nullable=True
    )


class ConcernCase(Base):
    """Where each case stands for concerns: the case it now belongs to (itself, or the one it
    was merged into), the concern holding it, if any, and for a root where its first voice
    falls. One row per case seen, so a refresh knows what it placed before without
    recomputing it."""

    __tablename__ = "concern_cases"
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id"), primary_key=True, autoincrement=False
    )
    root_case_id: Mapped[int] = mapped_column(BigId, index=True)
    concern_id: Mapped[int | None] = mapped_column(
        ForeignKey("concerns.id"), nullable=True, index=True
    )
    #: for a root: the topic, place and time of its first voice, which decide the topic
    #: group it falls in, kept so a group is read from here, not from every voice
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    place: Mapped[str | None] = mapped_column(String(40), nullable=True)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: for a root: the words of its title that may name a place or an organisation
    names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class ConcernState(Base):
    """How far the concerns refresh has read (one row): the last voice, timeline entry and
    support it took in, the time scores are computed at, and the weights they used."""

    __tablename__ = "concern_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voice_id: Mapped[int] = mapped_column(BigId, default=0)
    event_id: Mapped[int] = mapped_column(BigId, default=0)
    support_id: Mapped[int] = mapped_column(BigId, default=0)
    #: the latest voice's time (never later than the clock): "now" for growth and age, so
    #: an imported archive is ranked as of its own last day
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: the day (as_of) and the weights every stored score was computed with
    scored_day: Mapped[int] = mapped_column(Integer, default=0)
    weights_digest: Mapped[str] = mapped_column(String(32), default="")
    #: texts counted into ``concern_words`` (the denominator of a word's rarity)
    texts: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConcernWord(Base):
    """In how many voices of the city a word occurs: what makes a label's words typical of
    a concern rather than of every complaint."""

    __tablename__ = "concern_words"
    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    texts: Mapped[int] = mapped_column(Integer)


class BurstAlert(Base):
    """A burst raised to staff: one row per burst identity ("series@start"), written in the
    same transaction as its alert mails, so a burst alerts once however many workers run.
    ``last_seen`` moves on while it lasts; ``ended_on`` is set when it is over."""

    __tablename__ = "burst_alerts"
    identity: Mapped[str] = mapped_column(String(200), primary_key=True)
    series: Mapped[str] = mapped_column(String(160), index=True)
    start_day: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    q_value: Mapped[float] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConcernFollow(Base):
    """A member of staff following a concern: the board lists what they follow first. Goes
    with the concern when a refresh removes it (ON DELETE CASCADE)."""

    __tablename__ = "concern_follows"
    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concerns.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
