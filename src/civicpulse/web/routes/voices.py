"""Intake over the JSON API: one route, the same service every channel uses."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response

from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.voices import Contact, VoiceInput
from civicpulse.web.deps import get_ctx, public_caller
from civicpulse.web.intake import hear
from civicpulse.web.schemas import VoiceIn, VoiceOut, refusals

router = APIRouter(tags=["voices"])


# 401 for an unknown or revoked X-API-Key; 429 only for callers without one
@router.post("/voices", status_code=201, responses=refusals(401, 429, body=True))
async def post_voice(
    body: VoiceIn,
    request: Request,
    response: Response,
    ctx: Context = Depends(get_ctx),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> VoiceOut:
    """Hear a resident. Repeating a request with the same Idempotency-Key returns the first
    answer again (marked ``Idempotent-Replayed: true``) instead of opening a second case.

    Async on purpose: the write is done by the group-commit writer, and waiting for it here
    costs no thread."""
    integration = await public_caller(request)
    actor = integration or Actor(kind="resident", name="anonymous")
    channel = body.channel or ("api" if integration else "web")
    voice = VoiceInput(
        text=body.text,
        title=body.title,
        category=body.category,
        language=body.language,
        channel=channel,
        lat=body.location.lat if body.location else None,
        lon=body.location.lon if body.location else None,
        address=body.address,
        contact=Contact(**body.contact.model_dump()) if body.contact else Contact(),
        external_id=body.external_id,
        occurred_at=body.occurred_at,
        attributes=body.attributes,
    )
    result = await hear(ctx, actor, voice, idempotency_key)
    if not result.created:
        response.headers["Idempotent-Replayed"] = "true"
    return VoiceOut(
        voice_id=result.voice_id,
        case_id=result.case_id,
        tracking_code=result.tracking_code,
        case_status=result.case_status,
        category=result.category,
        department=result.department,
    )
