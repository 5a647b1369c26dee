"""The privacy gate's rules, without a database (see services/public_text.py)."""

from __future__ import annotations

from civicpulse.services.public_text import checked_now, public_form, shown
from civicpulse.understanding.redaction import redact


def test_a_stored_public_form_wins_and_the_original_is_never_shown() -> None:
    assert shown("[name]建房", "谭华清建房") == "[name]建房"
    assert shown(None, "谭华清建房占用道路") is None  # needs the tagger: withheld
    assert shown(None, None) is None and shown(None, "") == ""


def test_text_without_chinese_is_checked_at_once_with_the_same_answer() -> None:
    text = "Call Peter Hollingsworth on (617) 555-0142, I live at 27 Linden Street Apt 4"
    assert checked_now(text) == public_form(text) == redact(text).text
    assert checked_now(text) == "Call [name] on [phone], I live at [address]"
    assert checked_now("王小明家门口") is None


def test_an_english_name_after_another_capitalised_word_is_found() -> None:
    """A capitalised word before the name used to hide it from the name rule."""
    assert redact("Thanks. Call Peter Hollingsworth today").text == "Thanks. Call [name] today"
    assert redact("Residents Sarah Whitfield and Thomas Ng").text == "Residents [name] and [name]"
