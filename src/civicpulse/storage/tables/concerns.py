"""What many residents raise: "me too" supports and the contacts of those who asked to hear
back, the ranked concerns with the state of their incremental refresh, the bursts raised
to staff, and who follows which concern.

Kept together because the concerns refresh (``services/concern_refresh.py``) reads and
writes them as one, and apart from the cases because all but the supports are derived.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, BigId, UTCDateTime


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
    #: a refresh writes it only to pass it on when it removes a regrouped concern
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
    """A member of staff following a concern: the board lists what they follow first. A
    refresh that removes a regrouped concern passes its follows on first; what is left goes
    with it (ON DELETE CASCADE)."""

    __tablename__ = "concern_follows"
    concern_id: Mapped[int] = mapped_column(
        ForeignKey("concerns.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
