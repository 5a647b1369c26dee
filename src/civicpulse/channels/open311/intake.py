"""POST requests: an Open311 service request read into the same VoiceInput every channel uses.

Everything is checked here, before ``start_submission`` is called, so a refused request
changes nothing; what is accepted is then classified, routed and recorded exactly like a
voice from the web form or the JSON API.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any
from urllib.parse import urlsplit

from civicpulse.channels.open311.mapping import MAX_DESCRIPTION, check_attributes
from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.open311_requests import ServiceRow
from civicpulse.services.voices import Contact, VoiceInput


def _number(params: Mapping[str, str], name: str) -> float | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a number in WGS84 degrees") from exc
    if not math.isfinite(value):
        raise ValidationFailed(f"{name} must be a finite number")
    return value


def _optional(params: Mapping[str, str], name: str, limit: int) -> str | None:
    value = (params.get(name) or "").strip()
    if len(value) > limit:
        raise ValidationFailed(f"{name} must be at most {limit} characters")
    return value or None


def media_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed("media_url must be an http(s) address")
    return value


def voice_from_request(
    service: ServiceRow,
    params: Mapping[str, str],
    attributes: Mapping[str, list[str]],
    zone: tzinfo,
    caller: str,
) -> VoiceInput:
    """The voice a POSTed service request stands for; raises with the reason when refused.

    A location is required (lat and long, address_string or address_id). Without a
    description the voice's text is the service name with the attribute values, since a
    voice always says something."""
    lat, lon = _number(params, "lat"), _number(params, "long")
    if (lat is None) != (lon is None):
        raise ValidationFailed("a location by coordinates needs both lat and long")
    address = _optional(params, "address_string", limits.ADDRESS)
    address_id = _optional(params, "address_id", limits.EXTERNAL_ID)
    if lat is None and address is None and address_id is None:
        raise ValidationFailed("a location is required: lat and long, address_string or address_id")
    description = (params.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description must be at most {MAX_DESCRIPTION} characters")
    values = check_attributes(service.extra_fields, attributes, zone)
    first = _optional(params, "first_name", limits.NAME)
    last = _optional(params, "last_name", limits.NAME)
    name = " ".join(p for p in (first, last) if p) or None
    limits.check_length("first_name and last_name together", name, limits.NAME)
    contact = Contact(
        name=name,
        email=_optional(params, "email", limits.EMAIL),
        phone=_optional(params, "phone", limits.PHONE),
    )
    protocol: dict[str, Any] = {
        "service_code": service.code,
        "caller": caller,
        "address_id": address_id,
        "device_id": _optional(params, "device_id", limits.EXTERNAL_ID),
        "account_id": _optional(params, "account_id", limits.EXTERNAL_ID),
        "media_url": media_url(_optional(params, "media_url", limits.MEDIA_URL)),
    }
    text = description or _summary(service.code, values)
    return VoiceInput(
        text=text,
        category=service.code,
        channel="open311",
        lat=lat,
        lon=lon,
        address=address,
        contact=contact,
        attributes={**values, "open311": {k: v for k, v in protocol.items() if v is not None}},
    )


def _summary(code: str, values: Mapping[str, Any]) -> str:
    said = "; ".join(f"{k}: {v}" for k, v in values.items())
    return f"{code} ({said})" if said else code
