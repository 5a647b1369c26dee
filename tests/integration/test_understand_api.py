"""POST /api/v1/understand: what intake would find in a text, nothing stored."""

from __future__ import annotations

from sqlalchemy import func, select

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.classification import train_from_cases
from civicpulse.services.staff import add_api_key
from civicpulse.storage.tables import Case, Voice
from tests.city import City
from tests.integration.test_classification_intake import _teach


def _rows(city: City) -> tuple[int, int]:
    with city.ctx.db.reader() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Voice)) or 0),
            int(s.scalar(select(func.count()).select_from(Case)) or 0),
        )


def test_staff_and_partners_see_what_intake_would_find(city: City) -> None:
    _teach(city)
    train_from_cases(city.ctx, min_examples=3)
    opened = city.client.post("/api/v1/voices", json={
        "text": "Gas leak smell at the corner of Elm road and Oak street, children nearby",
        "category": "pothole", "location": {"lat": 30.05, "lon": 120.05}})
    assert opened.status_code == 201
    before = _rows(city)
    body = {"text": "There is a deep pothole in the road, call me on 13812345678",
            "lat": 30.05, "lon": 120.05}
    r = city.client.post("/api/v1/understand", json=body, headers=city.token("dispatch"))
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["language"] == "en"
    assert seen["category"]["code"] == "pothole" and seen["category"]["would_apply"] is True
    assert seen["category"]["department"] == "north-roads"  # the area's own routing rule
    assert "13812345678" not in seen["redacted_text"]
    assert [x["kind"] for x in seen["redactions"]] == ["phone"]
    assert seen["urgency"]["level"] in ("normal", "urgent")

    same = {"text": "Gas leak smell at the corner of Elm road and Oak street, kids nearby",
            "lat": 30.05, "lon": 120.05}
    key = add_api_key(city.ctx, SYSTEM, "hotline-desk")
    r = city.client.post("/api/v1/understand", json=same, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    assert r.json()["same_problem"]["case_id"] == opened.json()["case_id"]
    assert r.json()["urgency"]["level"] == "urgent" and r.json()["urgency"]["reasons"]
    assert _rows(city) == before  # nothing stored


def test_the_public_and_bad_input_are_refused(city: City) -> None:
    assert city.client.post("/api/v1/understand", json={"text": "x"}).status_code == 401
    bad_key = {"X-API-Key": "cpk_nobody"}
    assert city.client.post("/api/v1/understand", json={"text": "x"},
                            headers=bad_key).status_code == 401
    staff = city.token("roads1")
    for body in ({"text": ""}, {"text": "x" * 8001}, {"text": "x", "lat": 91, "lon": 0},
                 {"text": "x", "lat": 30.0}, {"text": "x", "extra": 1}):
        r = city.client.post("/api/v1/understand", json=body, headers=staff)
        assert r.status_code == 422, (body, r.text)
