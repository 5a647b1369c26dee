"""The dispatcher's triage queue: cases nobody has routed yet, uncategorised first, oldest
first, through the API and the staff page."""

from __future__ import annotations

from tests.city import City
from tests.integration.test_pages import staff_login


def _submit(city: City, text: str, category: str | None = None) -> int:
    body: dict[str, object] = {"text": text}
    if category:
        body["category"] = category
    r = city.client.post("/api/v1/voices", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def test_triage_lists_unrouted_cases_uncategorised_and_oldest_first(city: City) -> None:
    routed = _submit(city, "Pothole", "pothole")  # assigned at once: not in the queue
    other_old = _submit(city, "Something odd", "other")  # categorised, no department
    first = _submit(city, "No idea where this goes")
    second = _submit(city, "Another unclear report")
    disp = city.token("dispatch")
    r = city.client.get("/api/v1/cases", params={"triage": "true"}, headers=disp)
    assert r.status_code == 200
    order = [c["case_id"] for c in r.json()["items"]]
    assert order == [first, second, other_old]
    assert routed not in order

    staff_login(city, "dispatch")
    page = city.client.get("/staff/triage")
    assert page.status_code == 200
    html = page.text
    assert "Triage queue" in html
    assert html.index(f"/staff/cases/{first}") < html.index(f"/staff/cases/{other_old}")
    assert f"/staff/cases/{routed}\"" not in html


def test_urgent_first_then_the_model_least_sure(city: City) -> None:
    from sqlalchemy import update

    from civicpulse.storage.tables import Voice

    sure = _submit(city, "Report about the square, unclear")
    unsure = _submit(city, "Another report about the square")
    no_view = _submit(city, "A third report, different street")
    danger = _submit(city, "Gas leak in the stairwell, an elderly neighbour cannot get out")
    with city.ctx.db.transaction() as s:
        s.execute(update(Voice).where(Voice.case_id == sure).values(suggestion_confidence=0.55))
        s.execute(update(Voice).where(Voice.case_id == unsure).values(suggestion_confidence=0.2))
    r = city.client.get("/api/v1/cases", params={"triage": "true"}, headers=city.token("dispatch"))
    order = [c["case_id"] for c in r.json()["items"]]
    assert order == [danger, no_view, unsure, sure]
