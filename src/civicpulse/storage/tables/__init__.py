"""SQLAlchemy tables. These are storage, not API schemas: the web layer has its own models.

Split by responsibility (catalogue, access, cases, outbox, audit, understanding, concerns)
so that no module outgrows a reading; every table module must be imported here, or its
tables are missing from ``Base.metadata`` (migrations, autogenerate, the tests' schema).
Import tables from this package, not from its modules.
"""

from __future__ import annotations

from civicpulse.storage.tables.access import (
    ApiKey,
    LoginAttempt,
    RateCounter,
    SiteSecret,
    StaffToken,
    StaffUser,
)
from civicpulse.storage.tables.audit import AuditEntry, AuditHead
from civicpulse.storage.tables.base import Base, BigId, UTCDateTime
from civicpulse.storage.tables.cases import (
    Case,
    CaseEvent,
    ImportJob,
    ResidentContact,
    Verification,
    Voice,
    VoiceOrigin,
    VoicePhoto,
)
from civicpulse.storage.tables.catalogue import Area, Category, Department, RoutingRule
from civicpulse.storage.tables.concerns import (
    BurstAlert,
    CaseSupport,
    Concern,
    ConcernCase,
    ConcernFollow,
    ConcernState,
    ConcernWord,
    SupporterContact,
)
from civicpulse.storage.tables.formalism import FormalismExplanation
from civicpulse.storage.tables.outbox import (
    BriefMailing,
    OutboxAttachment,
    OutboxDelivery,
    OutboxMessage,
)
from civicpulse.storage.tables.understanding import MatchKey, Topic, VoiceInsight, VoiceTopic

__all__ = [
    "ApiKey",
    "Area",
    "AuditEntry",
    "AuditHead",
    "Base",
    "BigId",
    "BriefMailing",
    "BurstAlert",
    "Case",
    "CaseEvent",
    "CaseSupport",
    "Category",
    "Concern",
    "ConcernCase",
    "ConcernFollow",
    "ConcernState",
    "ConcernWord",
    "Department",
    "FormalismExplanation",
    "ImportJob",
    "LoginAttempt",
    "MatchKey",
    "OutboxAttachment",
    "OutboxDelivery",
    "OutboxMessage",
    "RateCounter",
    "ResidentContact",
    "RoutingRule",
    "SiteSecret",
    "StaffToken",
    "StaffUser",
    "SupporterContact",
    "Topic",
    "UTCDateTime",
    "Verification",
    "Voice",
    "VoiceInsight",
    "VoiceOrigin",
    "VoicePhoto",
    "VoiceTopic",
]
