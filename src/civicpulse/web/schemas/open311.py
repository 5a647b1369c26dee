"""What the Open311 routes answer, declared so /openapi.json describes them in both formats.

GeoReport v2 defines the documents; these models only write down the keys CivicPulse sends
(``channels/open311/views.py`` builds them), so a client generator and the API fuzz can
check every Open311 answer as they check the JSON API's. Each answer is declared twice:
``application/json`` with the model, and ``text/xml`` with the same schema and the element
names the XML carries (``xml.name``: ``<services><service>…``; lists inside an object are
wrapped, as in ``<attributes><attribute>…``). Every refusal is the specification's list of
``{code, description}``, in the format the path asks for; a body too large for the server
is refused before any route sees it, with the app's own JSON error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from civicpulse.web.schemas.errors import ErrorBody


class _Open311(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open311Error(_Open311):
    code: int
    description: str


class Open311Endpoint(_Open311):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Open311Discovery(_Open311):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]


class Open311Service(_Open311):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str | None
    group: str | None


class Open311AttributeValue(_Open311):
    key: str
    name: str


class Open311Attribute(_Open311):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[Open311AttributeValue]


class Open311ServiceDefinition(_Open311):
    service_code: str
    attributes: list[Open311Attribute]


class Open311RequestExtras(_Open311):
    """CivicPulse's own facts about a request: the resident's verdict decides closure."""

    case_status: str
    verified: bool | None
    satisfaction: int | None
    verification_due: str | None
    reopen_count: int
    merged_into: str | None


class Open311ServiceRequest(_Open311):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    extended_attributes: Open311RequestExtras


class Open311RequestToken(_Open311):
    service_request_id: str
    token: str


class Open311PostedRequest(_Open311):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class Open311UpdateExtras(_Open311):
    case_status: str


class Open311RequestUpdate(_Open311):
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str | None
    description: str
    media_url: str | None
    extended_attributes: Open311UpdateExtras


class Open311PostedUpdate(_Open311):
    update_id: str


_XML = "text/xml"

_WHY = {
    400: "A parameter is missing or breaks a rule (the description says which).",
    403: "An api_key is required and missing or invalid, or its account may not do this.",
    404: "No such service, request or token, or a format other than .xml or .json.",
    429: "Too many anonymous requests from this address; the description says when to retry.",
}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _xml_list(root: str, item: str, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "array",
        "xml": {"name": root, "wrapped": True},
        "items": {**_ref(model), "xml": {"name": item}},
    }


def open311_responses(
    model: type[BaseModel], root: str, item: str | None = None, *codes: int, body: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an Open311 route: its answer, a list of ``item`` elements under
    ``root`` (or, without ``item``, one object as the ``root`` element), and its refusals.

    400 and 404 are always possible: any parameter can be malformed, and any path with a
    format other than .xml or .json is not served. A route that reads a form ``body`` can
    also meet the size guard's 413."""
    if item is None:
        json_schema: Any = model
        xml_schema = {**_ref(model), "xml": {"name": root}}
    else:
        json_schema = list[model]  # type: ignore[valid-type]
        xml_schema = _xml_list(root, item, model)
    out: dict[int | str, dict[str, Any]] = {
        200: {
            "model": json_schema,
            "description": "The answer, in the format the path names.",
            "content": {_XML: {"schema": xml_schema}},
        }
    }
    for code in sorted({*codes, 400, 404}):
        out[code] = {
            "model": list[Open311Error],
            "description": _WHY[code],
            "content": {_XML: {"schema": _xml_list("errors", "error", Open311Error)}},
        }
    if body:
        out[413] = {
            "model": ErrorBody, "description": "The form is larger than the server accepts."
        }
    return out


def path_parameters(*names: str) -> list[dict[str, Any]]:
    """The path's string parameters ``names`` and its format, ``xml`` or ``json`` (any other
    format answers the specification's 404)."""
    return [
        *({"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
          for name in names),
        {"name": "fmt", "in": "path", "required": True,
         "schema": {"type": "string", "enum": ["xml", "json"]}},
    ]


#: the query parameters every read takes: the jurisdiction (when the city names one) and
#: an optional api_key (a partner's reads are not rate-limited)
READ_PARAMETERS: list[dict[str, Any]] = [
    {"name": "jurisdiction_id", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Required when the city serves a jurisdiction_id; must equal it."},
    {"name": "api_key", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A partner's key (also accepted as the X-API-Key header)."},
]


def query_parameters(*names: tuple[str, str]) -> list[dict[str, Any]]:
    """Further optional string query parameters, with their descriptions."""
    return [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
         "description": why}
        for name, why in names
    ]


def form_body(required: list[str], fields: dict[str, str]) -> dict[str, Any]:
    """A form-encoded request body of string fields; ``attribute[code]`` fields are allowed
    beside them, as the specification's service definitions ask."""
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": required,
                    "properties": {
                        name: {"type": "string", "description": why}
                        for name, why in fields.items()
                    },
                    "patternProperties": {r"^attribute\[[^\[\]]+\](\[\])?$": {"type": "string"}},
                    "additionalProperties": False,
                }
            }
        },
    }


#: a POSTed service request (GeoReport v2's fields)
REQUEST_FORM = form_body(["service_code"], {
    "api_key": "The partner's key (or the X-API-Key header).",
    "jurisdiction_id": "Required when the city serves a jurisdiction_id.",
    "service_code": "The service (category) the request is for.",
    "lat": "Latitude, WGS84.",
    "long": "Longitude, WGS84.",
    "address_string": "The place in words.",
    "address_id": "The place in the partner's address register.",
    "email": "The resident's e-mail (kept private).",
    "device_id": "The partner's device id.",
    "account_id": "The partner's account id.",
    "first_name": "The resident's first name (kept private).",
    "last_name": "The resident's last name (kept private).",
    "phone": "The resident's phone (kept private).",
    "description": "What the resident says (at most 4,000 characters).",
    "media_url": "A photo's http(s) address.",
})

#: a back office's POSTed update (FixMyStreet's extension); FixMyStreet's other fields
#: are accepted and not read
UPDATE_FORM = form_body(["service_request_id", "status"], {
    "api_key": "The partner's key, bound to a staff account (or a staff Bearer token).",
    "jurisdiction_id": "Required when the city serves a jurisdiction_id.",
    "service_request_id": "The request to update.",
    "status": "An extended status, e.g. IN_PROGRESS, FIXED, INTERNAL_REFERRAL.",
    "description": "A public reply.",
    "department": "For INTERNAL_REFERRAL: the department code.",
    "duplicate_of": "For DUPLICATE: the request this one repeats.",
    "update_id": "FixMyStreet's own id of the update (not read).",
    "updated_datetime": "When the back office made it (not read).",
})
