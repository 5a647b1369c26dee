"""Pure translations between Open311 words and ours: statuses, services, attributes, dates.

No database and no HTTP here, so every rule of the mapping is tested in milliseconds and the
server, the client and the documentation share one definition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.workflow import CLOSED_STATES, Action, CaseStatus

#: The GeoReport v2 specification limits a request's description to 4,000 characters ("free
#: form text limited to 4,000 characters", and ``maxLength`` in its JSON schema), below
#: ``limits.TEXT``; Open311 clients are built to that number, so the channel keeps it (and
#: so does a ``text`` attribute), while intake still applies ``limits.TEXT`` to every voice.
MAX_DESCRIPTION = 4000
#: a ``string`` attribute is one line of a form: a code, a plate number, a short answer. No
#: domain limit covers attribute values, so this channel's own bound stays here
MAX_STRING_ATTRIBUTE = 1000

# ---- statuses ------------------------------------------------------------------------------


def open311_status(case_status: str) -> str:
    """``open`` until nobody owes the case more work.

    A resolved case stays ``open`` while the resident has not said whether it was fixed: in
    CivicPulse the resident, not the office, closes the loop (``extended_attributes`` says
    ``case_status: resolved`` for clients that want the detail)."""
    return "closed" if CaseStatus(case_status) in CLOSED_STATES else "open"


#: FixMyStreet's extended statuses, as an update feed reports them and a back office posts them
EXTENDED_STATUSES = (
    "OPEN",
    "INVESTIGATING",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "FIXED",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "UNABLE_TO_FIX",
    "WONT_FIX",
    "INTERNAL_REFERRAL",
    "CLOSED",
    "REOPEN",
)

#: the extended status of each timeline entry, by what it did
_EVENT_STATUS = {
    "submitted": "OPEN",
    "assigned": "OPEN",
    "assign": "OPEN",
    "transfer": "INTERNAL_REFERRAL",
    "start": "IN_PROGRESS",
    "resolve": "FIXED",
    "confirm": "CLOSED",
    "dispute": "REOPEN",
    "expire_verification": "CLOSED",
    "reject": "NOT_COUNCILS_RESPONSIBILITY",
    "contest": "REOPEN",
    "merge": "DUPLICATE",
}

#: a reply does not change the state: it is reported with the state the case is in
_STATE_STATUS = {
    CaseStatus.SUBMITTED: "OPEN",
    CaseStatus.ASSIGNED: "OPEN",
    CaseStatus.IN_PROGRESS: "IN_PROGRESS",
    CaseStatus.RESOLVED: "FIXED",
    CaseStatus.CONFIRMED: "CLOSED",
    CaseStatus.REOPENED: "REOPEN",
    CaseStatus.UNVERIFIED: "CLOSED",
    CaseStatus.REJECTED: "NOT_COUNCILS_RESPONSIBILITY",
    CaseStatus.CONTESTED: "OPEN",
    CaseStatus.MERGED: "DUPLICATE",
}


def extended_status_of_event(kind: str, to_status: str) -> str:
    """The extended status a timeline entry is reported with in the updates feed."""
    return _EVENT_STATUS.get(kind) or _STATE_STATUS[CaseStatus(to_status)]


@dataclass(frozen=True)
class UpdatePlan:
    """The case actions a posted update stands for, in order."""

    actions: tuple[Action, ...]


_WORKING = ("INVESTIGATING", "IN_PROGRESS", "ACTION_SCHEDULED")
_REFUSING = ("NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION", "UNABLE_TO_FIX", "WONT_FIX")
#: the extended statuses that close a report on the remote side (INTERNAL_REFERRAL moves it
#: to another body; the working ones keep it open)
CLOSING_STATUSES = frozenset({"CLOSED", "FIXED", "DUPLICATE", *_REFUSING})


def plan_update(
    status: str,
    case_status: CaseStatus,
    *,
    description: str | None,
    department: str | None,
    duplicate_of: int | None,
) -> UpdatePlan:
    """Which staff actions a posted update means, or why it cannot be applied.

    The mapping never invents a state CivicPulse does not have: ``FIXED`` and ``CLOSED``
    *resolve* (the resident is then asked whether it really was fixed), and ``REOPEN`` is
    refused because only the resident's verdict reopens a case."""
    status = status.strip().upper().replace(" ", "_")
    if status not in EXTENDED_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(EXTENDED_STATUSES)}")
    said = bool(description and description.strip())
    if status == "REOPEN":
        raise ValidationFailed(
            "REOPEN is the resident's verdict in CivicPulse; staff cannot reopen a case"
        )
    if status == "OPEN":
        if not said:
            raise ValidationFailed("an OPEN update changes nothing without a description")
        return UpdatePlan((Action.REPLY,))
    if status in _WORKING:
        actions: list[Action] = []
        if case_status in (CaseStatus.ASSIGNED, CaseStatus.REOPENED):
            actions.append(Action.START)
        if said:
            actions.append(Action.REPLY)
        if not actions:
            raise ValidationFailed(
                f"the case is already {case_status.value}; send a description to add a reply"
            )
        return UpdatePlan(tuple(actions))
    if status in ("FIXED", "CLOSED"):
        return UpdatePlan((Action.RESOLVE,))
    if status in _REFUSING:
        return UpdatePlan((Action.REJECT,))
    if status == "DUPLICATE":
        if duplicate_of is None:
            raise ValidationFailed("a DUPLICATE update needs duplicate_of (the request it repeats)")
        return UpdatePlan((Action.MERGE,))
    # INTERNAL_REFERRAL
    if not department:
        raise ValidationFailed("an INTERNAL_REFERRAL update needs department (a department code)")
    if case_status in (CaseStatus.SUBMITTED, CaseStatus.CONTESTED):
        return UpdatePlan((Action.ASSIGN,))
    return UpdatePlan((Action.TRANSFER,))


# ---- services and their attributes ---------------------------------------------------------


def service_of(
    code: str,
    name: str,
    name_zh: str,
    description: str,
    department_name: str | None,
    extra_fields: list[dict[str, Any]],
) -> dict[str, Any]:
    """A category as an Open311 service; the Chinese name is offered as a keyword."""
    return {
        "service_code": code,
        "service_name": name,
        "description": description or name,
        "metadata": bool(extra_fields),
        "type": "realtime",
        "keywords": name_zh or None,
        "group": department_name,
    }


def attributes_of(extra_fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A category's extra fields as Open311 attributes, in their order."""
    out = []
    for f in sorted(extra_fields, key=lambda f: (int(f.get("order") or 0), str(f["code"]))):
        datatype = str(f.get("datatype") or "string")
        out.append(
            {
                "variable": True,
                "code": str(f["code"]),
                "datatype": datatype,
                "required": bool(f.get("required", False)),
                "datatype_description": _datatype_help(datatype),
                "order": int(f.get("order") or 0),
                "description": str(f.get("description") or f["code"]),
                "values": [
                    {"key": str(v["key"]), "name": str(v.get("name", v["key"]))}
                    for v in f.get("values") or []
                ],
            }
        )
    return out


def _datatype_help(datatype: str) -> str | None:
    return {
        "number": "A number, e.g. 12 or 3.5",
        "datetime": "A date and time with its zone, e.g. 2024-05-01T10:00:00+08:00",
        "singlevaluelist": "One key from values",
        "multivaluelist": "One or more keys from values",
    }.get(datatype)


_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def attribute_params(params: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``attribute[code]`` and ``attribute[code][]`` parameters, gathered by code."""
    found: dict[str, list[str]] = {}
    for key, value in params:
        m = _ATTRIBUTE_KEY.match(key)
        if m:
            found.setdefault(m.group(1), []).append(value)
    return found


def check_attributes(
    extra_fields: list[dict[str, Any]], given: Mapping[str, list[str]], zone: tzinfo
) -> dict[str, Any]:
    """The attribute values of a request, checked against the service definition.

    Unknown codes, a missing required attribute and a value of the wrong type or outside the
    value list are refused, so what reaches staff always matches the catalogue."""
    fields = {str(f["code"]): f for f in extra_fields}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ValidationFailed(f"unknown attribute {unknown[0]!r} for this service")
    out: dict[str, Any] = {}
    for code, f in fields.items():
        values = [v for v in given.get(code, []) if v.strip()]
        if not values:
            if f.get("required"):
                raise ValidationFailed(f"attribute {code!r} is required")
            continue
        out[code] = _attribute_value(code, f, values, zone)
    return out


def _attribute_value(code: str, f: Mapping[str, Any], values: list[str], zone: tzinfo) -> Any:
    datatype = str(f.get("datatype") or "string")
    keys = [str(v["key"]) for v in f.get("values") or []]
    if datatype == "multivaluelist":
        bad = [v for v in values if v not in keys]
        if bad:
            raise ValidationFailed(
                f"attribute {code!r}: {bad[0]!r} is not one of {', '.join(keys)}"
            )
        return list(dict.fromkeys(values))
    if len(values) > 1:
        raise ValidationFailed(f"attribute {code!r} takes one value")
    value = values[0].strip()
    if datatype == "singlevaluelist":
        if value not in keys:
            raise ValidationFailed(f"attribute {code!r}: {value!r} is not one of {', '.join(keys)}")
        return value
    if datatype == "number":
        try:
            number = float(value)
        except ValueError as exc:
            raise ValidationFailed(f"attribute {code!r} must be a number") from exc
        if not math.isfinite(number):
            raise ValidationFailed(f"attribute {code!r} must be a finite number")
        return int(number) if number.is_integer() and "." not in value else number
    if datatype == "datetime":
        return parse_w3c(value, zone, f"attribute {code!r}").isoformat()
    limit = MAX_DESCRIPTION if datatype == "text" else MAX_STRING_ATTRIBUTE
    if len(value) > limit:
        raise ValidationFailed(f"attribute {code!r} must be at most {limit} characters")
    return value


# ---- dates ---------------------------------------------------------------------------------


def parse_w3c(text: str, zone: tzinfo, what: str = "date") -> datetime:
    """A W3C/ISO 8601 date or datetime; one without a zone is read in the city's zone.

    Years far from now (0001, 9999) are refused by the domain's bounds: shifted to the city's
    zone they overflow, a 500 before."""
    raw = text.strip()
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            f"{what} must be a W3C datetime such as 2010-01-01T00:00:00Z, not {raw[:40]!r}"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    limits.check_moment(what, when)
    return when


def w3c(when: datetime | None, zone: tzinfo) -> str | None:
    """A timestamp in the city's zone with its offset, as the specification asks."""
    if when is None:
        return None
    return when.astimezone(zone).isoformat(timespec="seconds")
