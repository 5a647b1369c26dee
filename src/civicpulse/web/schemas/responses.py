"""What the JSON API answers to its actions. Read models (cases, tracking, understanding) are
the services' own, in ``civicpulse.services.read_models``; these are the answers that only
the API gives."""

from __future__ import annotations

from pydantic import BaseModel


class VoiceOut(BaseModel):
    """The voice is stored; ``tracking_code`` is the resident's key to follow the case."""

    voice_id: int
    case_id: int
    tracking_code: str
    case_status: str
    category: str | None
    department: str | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class SessionsEndedOut(BaseModel):
    """How many of the account's sessions (tokens) were ended."""

    sessions_ended: int


class ActionOut(BaseModel):
    """The case after the action; send ``version`` with the next one to refuse lost updates."""

    case_id: int
    status: str
    version: int
    department: str | None


class CategoryHint(BaseModel):
    """The report form's preselected category; ``confidence`` is sent only with a category
    (the route leaves it unset otherwise), and no category when the model is unsure."""

    category: str | None
    confidence: float | None = None
