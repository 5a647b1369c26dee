"""What the JSON API accepts. Strict on purpose: a field the API does not know, or a value of
the wrong JSON type, is refused rather than guessed at, so a client learns of its mistake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicpulse.domain import limits
from civicpulse.domain.limits import MAX_ID

#: a record's id in a path, API and pages alike: ids past what the database stores are
#: refused with 422 here instead of overflowing in the driver (a 500)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text; refuse it here rather than fail on write
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class LocationIn(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ContactIn(Strict):
    name: str | None = Field(None, max_length=limits.NAME)
    email: str | None = Field(None, max_length=limits.EMAIL, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(None, max_length=limits.PHONE)


class VoiceIn(Strict):
    text: str = Field(min_length=1, max_length=limits.TEXT)
    title: str | None = Field(None, max_length=limits.TITLE)
    category: str | None = Field(None, max_length=limits.CODE)
    language: str | None = Field(None, max_length=limits.LANGUAGE)
    channel: Literal["web", "api", "hotline", "email", "open311", "import"] | None = None
    location: LocationIn | None = None
    address: str | None = Field(None, max_length=limits.ADDRESS)
    contact: ContactIn | None = None
    external_id: str | None = Field(None, min_length=1, max_length=limits.EXTERNAL_ID)
    # JSON has no datetime type: accept ISO 8601 text here despite the strict model
    occurred_at: datetime | None = Field(None, strict=False)
    attributes: dict[str, Any] = Field(default_factory=dict)


class AssignIn(Strict):
    department: str = Field(min_length=1, max_length=limits.CODE)
    version: int | None = None


class TransferIn(Strict):
    department: str = Field(min_length=1, max_length=limits.CODE)
    reason: str = Field(min_length=1, max_length=limits.REASON)
    version: int | None = None


class VersionIn(Strict):
    version: int | None = None


class ReplyIn(Strict):
    message: str = Field(min_length=1, max_length=limits.TEXT)
    public: bool = True
    version: int | None = None


class ResolveIn(Strict):
    message: str = Field(min_length=1, max_length=limits.TEXT)
    version: int | None = None


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=limits.REASON)
    version: int | None = None


class MergeIn(Strict):
    into_case_id: int = Field(ge=1, le=MAX_ID)
    version: int | None = None


class VerificationIn(Strict):
    fixed: bool
    satisfaction: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=limits.COMMENT)


class ContestIn(Strict):
    reason: str = Field(min_length=1, max_length=limits.REASON)


class PasswordIn(Strict):
    """A staff member's own password change; their other sessions end."""

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class SupportIn(Strict):
    """A resident's "me too". Say who supports with one of ``email``, ``phone`` or
    ``device`` (the random token a page or an app keeps for this device, 16 to 128 URL-safe
    characters); an integration calling with its key may leave all three out. ``notify``
    (with ``email``) asks to be told what becomes of the case, like the reporter."""

    email: str | None = Field(None, max_length=limits.EMAIL, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(None, max_length=limits.PHONE)
    device: str | None = Field(None, min_length=16, max_length=128,
                               pattern=r"^[A-Za-z0-9_-]+$")
    notify: bool = False
    language: Literal["zh", "en"] | None = None
