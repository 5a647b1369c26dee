"""What understanding found in the voices: each voice's insight (signature, urgency, match),
the block keys that find same-problem candidates, and the discovered topics.

Apart from the voices because all of it is derived and can be recomputed when a model
changes (``civicpulse understand rerun``), while a voice stays what the resident said.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, BigId, UTCDateTime


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
