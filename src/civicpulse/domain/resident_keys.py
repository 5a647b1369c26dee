"""Keyed hashes that stand for a resident without holding their contact details.

Counting "one resident once" (a concern's residents, a case's "me too"s) needs to know that two
voices or two supports came from the same person, and nothing more. So every way of naming a
person (an e-mail address, a phone number, another system's user id, a device token kept in a
cookie, an account) is reduced to ``HMAC-SHA256(secret, kind:normalised value)``. Without the
installation's secret a leaked key cannot be tested against a list of phone numbers, which a
plain SHA-256 of an 11-digit number would allow in minutes. The same person named the same way
always gets the same key, so a support given with an e-mail address meets the voice written
with it.
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: what a key can be made from, in the order a supporter's identity is chosen
KINDS = ("email", "phone", "device", "account", "author", "network")

_NOT_DIGIT = re.compile(r"\D")
_DEVICE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    """Digits only, without an international prefix, so "+86 138-1234-5678" and
    "13812345678" are one number."""
    digits = _NOT_DIGIT.sub("", value)
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def valid_device_token(value: str) -> bool:
    """A device token is random text the page (or an app) made: 16 to 128 URL-safe characters."""
    return bool(_DEVICE.match(value))


def resident_key(secret: bytes, kind: str, value: str) -> str:
    """The key standing for ``value`` (already normalised) named as ``kind``; 64 hex digits."""
    if kind not in KINDS:
        raise ValueError(f"unknown identity kind {kind!r}")
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def contact_keys(
    secret: bytes, email: str | None, phone: str | None, author: str | None = None
) -> list[str]:
    """The keys of everything that names the sender of one voice, strongest first."""
    keys = []
    if email and normalise_email(email):
        keys.append(resident_key(secret, "email", normalise_email(email)))
    if phone and normalise_phone(phone):
        keys.append(resident_key(secret, "phone", normalise_phone(phone)))
    if author:
        keys.append(author)  # stored already keyed (``author_key``)
    return keys
