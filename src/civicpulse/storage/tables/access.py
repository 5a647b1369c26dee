"""Who may do what: staff accounts, their tokens, partners' API keys, and the counters and
secrets every server process must share.

Kept together because each is read before a request is allowed to do anything (sign-in,
lockout, rate limits, keyed hashes), and apart from the cases so that the tables holding
credentials are in one place to review.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, UTCDateTime


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


class SiteSecret(Base):
    """A secret this installation made for itself, shared by every process through the
    database (the key of the resident keys, ``domain/resident_keys.py``, unless the operator
    gives one)."""

    __tablename__ = "site_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
