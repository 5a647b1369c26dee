"""What departments answer to the formalism audit: their explanations of its flags.

The flags themselves are recomputed from the timeline whenever the audit runs (nothing to
keep in step); an explanation is what a person wrote, so it is stored, never edited (a
newer one is added beside it) and each one is in the audit log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, BigId, UTCDateTime


class FormalismExplanation(Base):
    """A department's explanation of one flag, found by the flag's key
    (``kind:subject:department``, see ``insight/formalism_patterns.py``)."""

    __tablename__ = "formalism_explanations"
    __table_args__ = (Index("ix_formalism_explanations_flag_key", "flag_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    #: the case the flag is about (None for a department's figure)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    text: Mapped[str] = mapped_column(Text)
    #: who wrote it, as the audit log names them
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
