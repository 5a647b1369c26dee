"""The rules every stored text and named moment meets, whatever channel it came through:
``domain.text_hygiene`` (NUL, text-direction overrides, text with nothing visible) applied
by ``limits.check_length``, and ``limits.check_moment`` / ``check_id`` for dates and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from civicpulse.domain import limits, text_hygiene
from civicpulse.domain.errors import ValidationFailed


@pytest.mark.parametrize(
    "text",
    [
        "路灯坏了",
        "Pothole on Main St",
        "حفرة في الشارع الرئيسي",  # right-to-left text needs no override characters
        "family: 👨\u200d👩\u200d👧",  # a zero-width joiner inside visible text is fine
        "می\u200cخواهم",  # so is a zero-width non-joiner (Persian)
        "line one\nline two\ttabbed",
        "\ufeffBOM first, then text",
    ],
)
def test_ordinary_text_passes(text: str) -> None:
    assert text_hygiene.problem(text) is None
    limits.check_length("text", text, limits.TEXT, required=True)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("\u200b", "no visible characters"),
        ("\u200b\u200c\u200d\u2060\ufeff", "no visible characters"),
        (" \u200b \u00a0\u3000", "no visible characters"),
        ("invoice\u202egnp.exe", "U+202E (position 8)"),
        ("\u202aleft", "U+202A (position 1)"),
        ("isolate \u2066x\u2069", "U+2066"),
        ("\u2069", "U+2069"),
        ("a\x00b", "NUL characters (position 2)"),
    ],
)
def test_invisible_tricks_are_refused_naming_the_field_and_the_character(
    text: str, why: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        limits.check_length("title", text, limits.TITLE, required=True)
    assert refused.value.message.startswith("title ")
    assert why in refused.value.message


def test_every_bidi_control_is_refused_and_marks_are_not() -> None:
    for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        assert text_hygiene.problem(f"x{chr(code)}y") is not None, hex(code)
    # the left-to-right and right-to-left *marks* change no order and stay allowed
    assert text_hygiene.problem("x\u200ey\u200fz") is None


def test_an_optional_field_may_be_blank_but_not_invisible() -> None:
    limits.check_length("title", None, limits.TITLE)
    limits.check_length("title", "   ", limits.TITLE)
    with pytest.raises(ValidationFailed, match="title has no visible characters"):
        limits.check_length("title", "\u200b\u200b", limits.TITLE)


def test_required_blank_is_still_called_empty() -> None:
    with pytest.raises(ValidationFailed, match="text must not be empty"):
        limits.check_length("text", "  \n", limits.TEXT, required=True)


@pytest.mark.parametrize(
    "when",
    [
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(2199, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_moments_inside_the_bounds_pass(when: datetime) -> None:
    limits.check_moment("occurred_at", when)


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
        datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2200, 1, 1, tzinfo=UTC),
    ],
)
def test_moments_outside_the_bounds_are_refused(when: datetime) -> None:
    with pytest.raises(ValidationFailed, match="occurred_at must be between 1900 and 2199"):
        limits.check_moment("occurred_at", when)


def test_a_moment_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="needs a time zone"):
        limits.check_moment("occurred_at", datetime(2026, 1, 1))
    limits.check_moment("occurred_at", None)


def test_ids_past_the_database_integer_are_refused() -> None:
    limits.check_id("case_id", 1)
    limits.check_id("case_id", limits.MAX_ID)
    for bad in (0, -1, limits.MAX_ID + 1, 2**64):
        with pytest.raises(ValidationFailed, match="case_id must be a whole number"):
            limits.check_id("case_id", bad)
