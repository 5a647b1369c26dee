"""How long each field a person or a partner system writes may be, defined once.

Every entry point (the pages, the JSON API, Open311, imports, the CLI) refuses an over-long
field with the same limit, because the service that stores it checks it with these numbers
and the adapters only repeat them to refuse early (a form's ``maxlength``, a schema's
``max_length``). A verdict comment was 2,000 on the page and 4,000 in the API before these
were one rule; the larger limit was kept so that no API client is newly refused.
"""

from __future__ import annotations

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


def check_length(field: str, value: str | None, limit: int, *, required: bool = False) -> None:
    """Refuse a value longer than ``limit`` (or empty, when ``required``), naming the field."""
    if value is None or not value.strip():
        if required:
            raise ValidationFailed(f"{field} must not be empty")
        return
    if len(value) > limit:
        raise ValidationFailed(f"{field} must be at most {limit} characters")
