"""Concerns in a real browser: a resident opens what residents raise most, opens a concern
and says "me too" (the count goes up); a dispatcher names the concern's lead department on
the staff board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from civicpulse.infra.context import Context
from civicpulse.services.concerns import refresh_concerns
from tests.browser.test_story import axe_violations, shot, staff_page

pytestmark = pytest.mark.browser

LAMP = "The streetlight outside 12 Elm Road has been out for a week, the corner is dark"


def test_me_too_and_the_lead_department(
    browser: Any, site: str, ctx: Context, artifacts: Path
) -> None:
    for i in range(3):
        r = httpx.post(f"{site}/api/v1/voices", json={
            "text": LAMP, "category": "pothole",
            "contact": {"email": f"resident{i}@example.org"}})
        assert r.status_code == 201, r.text
    refresh_concerns(ctx)

    resident = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    resident.goto(f"{site}/concerns")
    resident.locator("ol.concerns h2 a").first.click()
    resident.wait_for_url(f"{site}/concerns/*")
    before = int(resident.inner_text("#me-too .supports"))
    resident.click("#me-too button")
    resident.wait_for_url("**said=counted*")
    assert int(resident.inner_text("#me-too .supports")) == before + 1
    assert "Counted — thank you" in resident.inner_text("#me-too")
    shot(resident, artifacts, "1-me-too")
    resident.click("#me-too button")  # the same browser again: counted once
    resident.wait_for_url("**said=again*")
    assert int(resident.inner_text("#me-too .supports")) == before + 1

    # both concern pages pass axe, in both languages (axe is injected: the CSP is bypassed)
    checker = browser.new_context(bypass_csp=True).new_page()
    for path in ("/concerns", resident.url.split("?")[0].removeprefix(site)):
        for lang in ("en", "zh"):
            checker.goto(f"{site}{path}?lang={lang}")
            assert not axe_violations(checker), (path, lang)

    dispatcher = staff_page(browser, site, "dispatch")
    dispatcher.goto(f"{site}/staff/concerns")
    first = dispatcher.locator("ol.concerns > li").first
    first.locator("select[name=department]").select_option("parks")
    first.get_by_role("button", name="Name the lead department").click()
    dispatcher.wait_for_url("**done=lead*")
    assert "The lead department is saved." in dispatcher.inner_text("main")
    assert dispatcher.locator("ol.concerns > li .lead-department").first.inner_text() == "Parks"
    shot(dispatcher, artifacts, "2-lead-department")
