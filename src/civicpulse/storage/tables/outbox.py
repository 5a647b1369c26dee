"""The outbox: messages written in the same transaction as the change that caused them, their
delivery attempts and attachments, and the weekly brief's mailings.

Apart from the cases because a sender process reads and updates only these, on its own
schedule, and retries what failed without touching the change that queued it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, BigId, UTCDateTime


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
