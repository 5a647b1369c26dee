"""The reply check in a real browser, in English (the Chinese side is part of the story in
``test_story.py``): a hollow resolution is questioned before it is sent, the officer can send
it anyway, and an answer to what the resident wrote goes at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_story import shot, staff_page

pytestmark = pytest.mark.browser

LAMP = "The streetlight outside 12 Elm Road has been out for two weeks; the corner is dark."


def _case(site: str) -> int:
    r = httpx.post(f"{site}/api/v1/voices", json={"text": LAMP, "category": "pothole"})
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def test_the_nudge_shows_for_a_hollow_resolution_and_not_for_an_answer(
    browser: Any, site: str, artifacts: Path
) -> None:
    hollow_case, answered_case = _case(site), _case(site)
    officer = staff_page(browser, site, "roads1")
    for case_id in (hollow_case, answered_case):
        officer.goto(f"{site}/staff/cases/{case_id}?lang=en")
        officer.click("form[action$='/start'] button")
        officer.wait_for_url(re.compile(r".*done=start"))

    officer.goto(f"{site}/staff/cases/{hollow_case}")
    officer.fill("#resolve-message", "Thank you for contacting us. Your message has been noted.")
    officer.click("form[action$='/resolve'] button[type=submit]:not([name])")
    nudge = officer.locator("#nudge-resolve")
    nudge.wait_for()
    text = nudge.inner_text()
    assert "Before you send" in text and "does not take up what the resident wrote" in text
    assert officer.input_value("#resolve-message").startswith("Thank you for contacting us")
    shot(officer, artifacts, "01-nudged-en")
    officer.click("button[name=send_anyway]")  # a nudge, never a block
    officer.wait_for_url(re.compile(r".*done=resolve"))

    officer.goto(f"{site}/staff/cases/{answered_case}")
    officer.fill("#resolve-message", "We replaced the lamp of the streetlight outside 12 Elm "
                                     "Road on 5 March; the corner is lit again.")
    officer.click("form[action$='/resolve'] button[type=submit]:not([name])")
    officer.wait_for_url(re.compile(r".*done=resolve"))
    assert officer.locator("#nudge-resolve").count() == 0
    shot(officer, artifacts, "02-answered-en")
