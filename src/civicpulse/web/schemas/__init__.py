"""The JSON API's own models: requests, action answers and refusals. Deliberately not the
database tables; read models come from the services."""

from civicpulse.web.schemas.errors import ErrorBody, FieldError, ValidationErrorBody, refusals
from civicpulse.web.schemas.requests import (
    MAX_ID,
    AssignIn,
    ContactIn,
    ContestIn,
    LocationIn,
    MergeIn,
    PasswordIn,
    RecordId,
    RejectIn,
    ReplyIn,
    ResolveIn,
    Strict,
    SupportIn,
    TransferIn,
    VerificationIn,
    VersionIn,
    VoiceIn,
)
from civicpulse.web.schemas.responses import (
    ActionOut,
    CategoryHint,
    SessionsEndedOut,
    TokenOut,
    VoiceOut,
)

__all__ = [
    "MAX_ID",
    "ActionOut",
    "AssignIn",
    "CategoryHint",
    "ContactIn",
    "ContestIn",
    "ErrorBody",
    "FieldError",
    "LocationIn",
    "MergeIn",
    "PasswordIn",
    "RecordId",
    "RejectIn",
    "ReplyIn",
    "ResolveIn",
    "SessionsEndedOut",
    "Strict",
    "SupportIn",
    "TokenOut",
    "TransferIn",
    "ValidationErrorBody",
    "VerificationIn",
    "VersionIn",
    "VoiceIn",
    "VoiceOut",
    "refusals",
]
