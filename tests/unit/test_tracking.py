"""Tracking codes: one format, whether made one at a time (intake) or thousands at once (import)."""

from __future__ import annotations

import re

from civicpulse.domain.tracking import (
    ALPHABET,
    new_tracking_code,
    new_tracking_codes,
    normalise_tracking_code,
)

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def test_a_batch_has_the_requested_number_of_distinct_codes_in_crockford_groups() -> None:
    codes = new_tracking_codes(1000)
    assert len(codes) == 1000 and len(set(codes)) == 1000
    assert all(CODE.match(c) for c in codes), [c for c in codes if not CODE.match(c)][:3]
    assert not set("ILOU") & set("".join(codes))


def test_a_batch_uses_the_whole_alphabet_in_every_position() -> None:
    """A wrong translation from base32 would leave some digits out (or repeat one)."""
    digits = [c.replace("-", "") for c in new_tracking_codes(2000)]
    for position in (0, 7, 15):
        assert {d[position] for d in digits} == set(ALPHABET)


def test_a_single_code_has_the_batch_format_and_reads_back_as_typed() -> None:
    code = new_tracking_code()
    assert CODE.match(code)
    assert normalise_tracking_code(code.lower().replace("-", " ")) == code
    assert new_tracking_codes(0) == []
