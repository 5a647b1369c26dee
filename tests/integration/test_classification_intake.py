"""The classifier at intake: trained from the city's own cases, applied when confident,
otherwise left as a suggestion for the dispatcher."""

from __future__ import annotations

import pytest

from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.classification import train_from_cases
from tests.city import City

POTHOLES = [
    "deep pothole on the road outside number {n}",
    "large pothole in the street near the bus stop {n}",
    "road surface broken, a hole in the asphalt at {n}",
    "pothole damaged my car tyre on Elm road {n}",
]
TREES = [
    "a fallen tree is blocking the path in the park {n}",
    "big tree branch fell down after the storm {n}",
    "tree collapsed across the footpath near block {n}",
    "dead tree about to fall in the playground {n}",
]


def _teach(city: City) -> None:
    for n in range(8):
        for text in POTHOLES:
            body = {"text": text.format(n=n), "category": "pothole"}
            assert city.client.post("/api/v1/voices", json=body).status_code == 201
        for text in TREES:
            body = {"text": text.format(n=n), "category": "tree"}
            assert city.client.post("/api/v1/voices", json=body).status_code == 201


def test_no_cases_no_model(city: City) -> None:
    with pytest.raises(ValidationFailed, match="no categorised cases"):
        train_from_cases(city.ctx)


def test_confident_model_routes_an_uncategorised_voice(city: City) -> None:
    _teach(city)
    path = train_from_cases(city.ctx, min_examples=3)
    assert path.name == "classifier-v1.pkl"
    r = city.client.post("/api/v1/voices", json={"text": "there is a pothole in our road"})
    assert r.status_code == 201
    voice = r.json()
    assert voice["category"] == "pothole" and voice["department"] == "roads"
    assert voice["case_status"] == "assigned"
    detail = city.client.get(
        f"/api/v1/cases/{voice['case_id']}", headers=city.token("dispatch")
    ).json()
    hint = detail["voices"][0]["suggestion"]
    assert hint["category"] == "pothole" and hint["model_version"] == 1
    assert hint["confidence"] >= city.ctx.settings.classifier_min_confidence
    classified = [e for e in detail["timeline"] if e["kind"] == "classified"]
    assert len(classified) == 1 and "applied" in classified[0]["message"]
    assert not classified[0]["public"]


def test_unsure_model_leaves_the_voice_for_the_dispatcher(city: City) -> None:
    _teach(city)
    train_from_cases(city.ctx, min_examples=3)
    city.ctx.settings.classifier_min_confidence = 1.0  # nothing is ever that sure
    r = city.client.post("/api/v1/voices", json={"text": "tree fell on the park path"})
    voice = r.json()
    assert voice["case_status"] == "submitted" and voice["category"] is None
    queue = city.client.get(
        "/api/v1/cases", params={"triage": "true"}, headers=city.token("dispatch")
    ).json()
    assert [c["case_id"] for c in queue["items"]] == [voice["case_id"]]
    detail = city.client.get(
        f"/api/v1/cases/{voice['case_id']}", headers=city.token("dispatch")
    ).json()
    assert detail["voices"][0]["suggestion"]["category"] == "tree"
