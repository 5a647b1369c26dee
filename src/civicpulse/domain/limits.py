"""How long each field a person or a partner system writes may be, defined once.

Every entry point (the pages, the JSON API, Open311, imports, the CLI) refuses an over-long
field with the same limit, because the service that stores it checks it with these numbers
and the adapters only repeat them to refuse early (a form's ``maxlength``, a schema's
``max_length``). A verdict comment was 2,000 on the page and 4,000 in the API before these
were one rule; the larger limit was kept so that no API client is newly refused.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from civicpulse.domain import text_hygiene
from civicpulse.domain.errors import ValidationFailed

#: what a resident says, and what staff say back in public
TEXT = 8000
TITLE = 300
#: a reason staff or a resident give for a transfer, rejection, contest or urgency mark
REASON = 4000
#: a resident's comment with their verdict
COMMENT = 4000
NAME = 200
EMAIL = 320
PHONE = 64
ADDRESS = 500
EXTERNAL_ID = 200
#: category, department and area codes
CODE = 64
LANGUAGE = 16
MEDIA_URL = 2000
#: a search box
QUERY = 200

#: the largest id a database integer (BIGINT) holds. An id past it in a path, a query or a
#: body is refused with 422 by every route, page or API, instead of overflowing in the driver
#: (a 500 before this was one rule)
MAX_ID = 2**63 - 1

#: the moments a person or a partner system may name (when a problem occurred, a date
#: filter). Year 1 and year 9999 are valid ISO 8601, but shifted to the city's zone they
#: overflow Python's datetime, and PostgreSQL and the pages had no answer for them (500s).
#: Hotline archives reach back decades, not centuries, and nothing is reported from further
#: ahead than a wrong clock puts it, so the bounds are generous and still far from overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def check_length(field: str, value: str | None, limit: int, *, required: bool = False) -> None:
    """Refuse a value longer than ``limit`` (or empty, when ``required``), naming the field.

    Every service runs this on every text it stores, so it is also where the characters no
    text may carry are refused (``text_hygiene``): one choke point, one wording."""
    if value is None or not value.strip():
        if required:
            raise ValidationFailed(f"{field} must not be empty")
        return
    if len(value) > limit:
        raise ValidationFailed(f"{field} must be at most {limit} characters")
    text_hygiene.check(field, value)


def check_moment(field: str, value: datetime | None) -> None:
    """Refuse a moment without a time zone or outside ``EARLIEST``–``LATEST``, naming the field.

    A naive moment is refused rather than guessed at: the same words mean different instants
    in different zones, and storage refuses one anyway."""
    if value is None:
        return
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{field} needs a time zone (e.g. 2024-05-01T10:00:00+08:00)")
    if not EARLIEST <= value < LATEST:
        raise ValidationFailed(
            f"{field} must be between {EARLIEST.year} and {LATEST.year - 1}, not {value.year}"
        )


def check_data(field: str, value: Any) -> None:
    """Refuse structured data (a voice's attributes) that no database column can hold.

    JSON as Python writes it allows NaN and Infinity, which PostgreSQL's JSON refuses (a 500)
    and no JSON client can read back; a NUL inside a string is refused there too, and the
    text-direction controls for the reasons ``text_hygiene`` gives. Keys are checked as well."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationFailed(f"{field} must be a finite number, not {value}")
    if isinstance(value, str):
        found = text_hygiene.refused_character(value)
        if found is not None:
            raise ValidationFailed(f"{field} {found}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_data(f"{field} key", str(key))
            check_data(f"{field}.{key}", item)
    elif isinstance(value, list | tuple):
        for at, item in enumerate(value):
            check_data(f"{field}[{at}]", item)


def check_id(field: str, value: int) -> None:
    """Refuse an id no record can have: below 1 or past what the database stores."""
    if not 1 <= value <= MAX_ID:
        raise ValidationFailed(f"{field} must be a whole number from 1 to {MAX_ID}")
