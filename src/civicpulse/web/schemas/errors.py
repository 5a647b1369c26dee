"""The bodies of refusals, declared per route so ``/openapi.json`` lists every answer.

Every refusal has the same shape, ``{"detail": "..."}`` (a ``DomainError``'s message, or the
body-size guard's), so a client needs one error type; a refused request body or parameter
adds ``errors``, one entry per field. The codes a route declares are the ones it really
gives: a client generator turns each into a typed case, and a fuzzer treats any other code
as a bug.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(ErrorBody):
    """A rule broken; ``errors`` is there when the JSON body or a parameter failed to parse."""

    errors: list[FieldError] | None = None


_WHY: dict[int, str] = {
    400: "The body could not be read (not UTF-8, or a form that does not parse).",
    401: "Not logged in, or the token or API key is invalid or revoked.",
    403: "The caller's role or department does not allow this.",
    404: "No such case, tracking code, department or category (or not one the caller may see).",
    409: "The case changed meanwhile (stale version) or the action is not allowed in its state.",
    413: "The request body is larger than the server accepts.",
    422: "The input breaks a rule; `errors` names each field that failed to parse.",
    429: "Too many requests from this address, or (logging in) too many failed logins to "
    "this account name; the message says when to try again.",
}


def refusals(*codes: int, body: bool = False) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can refuse with ``codes``.

    422 is always included: every route refuses a NUL in its path or query (PostgreSQL
    cannot compare one), and it replaces FastAPI's default 422, whose body is not ours.
    A route that reads a ``body`` can also meet one too large (413, from the size guard)
    or unreadable (400, from the framework's parser)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*codes, 422, *((400, 413) if body else ())}):
        entry: dict[str, Any] = {
            "model": ValidationErrorBody if code == 422 else ErrorBody,
            "description": _WHY[code],
        }
        if code == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
            }
        out[code] = entry
    return out
