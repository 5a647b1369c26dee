"""Intake over the JSON API: one route, the same service every channel uses."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response

from civicpulse.domain import limits
from civicpulse.domain.errors import PermissionDenied, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.voices import Contact, VoiceInput
from civicpulse.web.deps import get_ctx, public_caller
from civicpulse.web.intake import hear
from civicpulse.web.schemas import VoiceIn, VoiceOut, refusals

router = APIRouter(tags=["voices"])


#: channels only the city's own intake sets: the bulk import and the Open311 channel (whose
#: pull client keeps the remote ids there); a caller claiming one could pre-empt their rows
RESERVED_CHANNELS = frozenset({"import", "open311"})
#: what an anonymous caller may call itself: neither can carry an external id
ANONYMOUS_CHANNELS = frozenset({"web", "api"})


def provenance(
    channel: str | None, external_id: str | None, integration: Actor | None
) -> tuple[str, str | None]:
    """The channel and external id of a voice, from who sent it.

    An external id is a claim: a later voice (an import's row, an integration's retry) with
    the same channel and id is taken as the one already heard and skipped. So an anonymous
    caller may set neither (403: the body is well formed, the caller lacks the right; the
    same body is accepted with an API key), and an integration's ids are stored under its
    key's name (``name:id``), so two integrations never collide and none can claim the
    import's or the Open311 pull's rows, whose channels it may not use either."""
    if integration is None:
        if external_id is not None:
            raise PermissionDenied(
                "external_id is for integrations: send it with your X-API-Key "
                "(an anonymous report is always a new one)"
            )
        if channel is not None and channel not in ANONYMOUS_CHANNELS:
            raise PermissionDenied(
                f"channel {channel!r} needs an X-API-Key; anonymous reports are 'web' or 'api'"
            )
        return channel or "web", None
    if channel in RESERVED_CHANNELS:
        raise PermissionDenied(
            f"channel {channel!r} is set only by the city's own {channel}, not through the API"
        )
    if external_id is None:
        return channel or "api", None
    namespaced = f"{integration.name}:{external_id}"
    if len(namespaced) > limits.EXTERNAL_ID:
        raise ValidationFailed(
            f"external_id is stored as '<key name>:<external_id>', which must be at most "
            f"{limits.EXTERNAL_ID} characters; this one is {len(namespaced)}"
        )
    return channel or "api", namespaced


# 401 for an unknown or revoked X-API-Key; 403 for a channel or external id the caller may
# not set; 429 only for callers without a key
@router.post("/voices", status_code=201, responses=refusals(401, 403, 429, body=True))
async def post_voice(
    body: VoiceIn,
    request: Request,
    response: Response,
    ctx: Context = Depends(get_ctx),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> VoiceOut:
    """Hear a resident. Only a caller with an X-API-Key may name the channel (not
    ``import`` or ``open311``) or an ``external_id`` (kept as ``<key name>:<external_id>``);
    anonymous reports are ``web`` (or ``api``). Repeating a request with the same
    Idempotency-Key returns the first answer again (marked ``Idempotent-Replayed: true``)
    instead of opening a second case.

    Async on purpose: the write is done by the group-commit writer, and waiting for it here
    costs no thread."""
    integration = await public_caller(request)
    actor = integration or Actor(kind="resident", name="anonymous")
    channel, external_id = provenance(body.channel, body.external_id, integration)
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
        external_id=external_id,
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
