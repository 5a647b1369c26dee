"""Reading a submitted form, refused whole when its text is not UTF-8 or carries a NUL.

The framework's parser never refuses a form for its encoding: percent-escapes that are not
UTF-8 become U+FFFD, raw bytes and multipart fields that are not UTF-8 are read as Latin-1,
so a report sent by a misconfigured client was stored as mojibake that nobody could read
back, and a NUL reached PostgreSQL (a 500) from any field the page did not check itself. Every
page and Open311 read their forms here, so a broken form is refused with a sentence (the
pages show it on the error page, Open311 in the specification's error format) and nothing
else ever sees it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from starlette.datastructures import FormData

from civicpulse.domain.errors import DomainError

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class UnreadableForm(DomainError):
    """The form is not UTF-8 text, or a field carries a NUL: 400, the request is refused."""

    status_code = 400


NOT_UTF8 = (
    "The form was not sent as UTF-8 text, so what you wrote cannot be read back as you wrote "
    "it. Reload the page and send it again (or set the client's encoding to UTF-8)."
)
HAS_NUL = "The form contains a NUL character (%00), which no field may hold."


def _urlencoded_problem(body: bytes) -> str | None:
    """Browsers percent-encode every byte outside ASCII; each decoded name and value must
    be UTF-8."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return NOT_UTF8
    for pair in text.split("&"):
        for part in pair.split("=", 1):
            try:
                decoded = unquote_to_bytes(part.replace("+", " ")).decode("utf-8")
            except UnicodeDecodeError:
                return NOT_UTF8
            if "\x00" in decoded:
                return HAS_NUL
    return None


def _multipart_problem(body: bytes, form: FormData) -> str | None:
    """A text part that was not UTF-8 was read as Latin-1: its UTF-8 form is then not in the
    body as sent (a part read as UTF-8 is there byte for byte)."""
    for name, value in form.multi_items():
        if "\x00" in name:
            return HAS_NUL
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            return HAS_NUL
        if not value.isascii() and value.encode("utf-8") not in body:
            return NOT_UTF8
    return None


async def read_form(request: Request, **parser_limits: Any) -> FormData:
    """The request's form (``parser_limits`` as for ``Request.form``), or ``UnreadableForm``.

    The body is read first: the framework keeps it, and the form is parsed from that copy,
    so checking costs no second read from the network."""
    body = await request.body()
    form = await request.form(**parser_limits)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == URLENCODED:
        problem = _urlencoded_problem(body)
    elif media == MULTIPART:
        problem = _multipart_problem(body, form)
    else:
        problem = None
    if problem is not None:
        raise UnreadableForm(problem)
    return form
