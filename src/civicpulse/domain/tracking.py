"""Tracking codes residents use to follow a case without logging in.

80 random bits in Crockford base32 (no I, L, O, U), so a code cannot be guessed or
enumerated and is still easy to read out over the phone.
"""

from __future__ import annotations

import base64
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: RFC 4648's base32 digits, in order, onto Crockford's
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)


def new_tracking_codes(n: int) -> list[str]:
    """``n`` codes from one read of the OS random generator.

    A bulk import makes thousands of cases a second: drawing the generator once per
    character cost more than the rest of an imported row, so the bytes are drawn at once
    (10 bytes are exactly 16 base32 digits) and cut into codes.
    """
    c = base64.b32encode(secrets.token_bytes(10 * n)).decode("ascii").translate(_TO_CROCKFORD)
    return [
        f"{c[i : i + 4]}-{c[i + 4 : i + 8]}-{c[i + 8 : i + 12]}-{c[i + 12 : i + 16]}"
        for i in range(0, 16 * n, 16)
    ]


def new_tracking_code() -> str:
    return new_tracking_codes(1)[0]


def normalise_tracking_code(code: str) -> str:
    """Accept what people type: lower case, spaces, O for 0, I/L for 1."""
    cleaned = code.upper().replace(" ", "").replace("-", "")
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))
