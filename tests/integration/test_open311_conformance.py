"""Open311 the way real clients read it: the specification's words on argument precedence,
list parameters, error bodies for anything unserved, and no request without a service."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.staff import add_api_key
from civicpulse.services.voices import VoiceInput, submit_voice
from tests.city import City

BASE = "/open311/v2"


@pytest.fixture
def key(city: City) -> str:
    return add_api_key(city.ctx, SYSTEM, "conformance")


def post(city: City, key: str, **fields: str) -> str:
    data = {"api_key": key, "service_code": "pothole", "lat": "30.05", "long": "120.05", **fields}
    r = city.client.post(f"{BASE}/requests.json", data=data)
    assert r.status_code == 200, r.text
    return str(r.json()[0]["service_request_id"])


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["service_request_id"] for r in response.json()}


def test_service_request_id_overrides_every_other_argument(city: City, key: str) -> None:
    rid = post(city, key, description="Hole")
    r = city.client.get(
        f"{BASE}/requests.json",
        params={"service_request_id": rid, "start_date": "yesterday", "status": "nonsense"},
    )
    assert ids(r) == {rid}
    r = city.client.get(
        f"{BASE}/requests.json", params={"service_request_id": rid, "service_code": "tree"}
    )
    assert ids(r) == {rid}


def test_repeated_service_code_works_like_the_comma_list(city: City, key: str) -> None:
    hole = post(city, key, description="Hole")
    oak = post(city, key, service_code="tree", description="Oak down", lat="30.09")
    post(city, key, service_code="other", description="Noise", lat="30.02")
    repeated = city.client.get(
        f"{BASE}/requests.json", params=[("service_code", "pothole"), ("service_code", "tree")]
    )
    commas = city.client.get(f"{BASE}/requests.json", params={"service_code": "pothole,tree"})
    assert ids(repeated) == ids(commas) == {hole, oak}


def test_uncategorised_cases_are_not_published_without_a_service(city: City, key: str) -> None:
    """The Request schema requires service_code: a case waiting for triage is left out of
    lists (and not found by id) rather than shown with an empty code and no name."""
    waiting = submit_voice(city.ctx, SYSTEM, VoiceInput(text="Something odd", channel="api"))
    assert waiting.category is None
    posted = post(city, key, description="Hole")
    listed = city.client.get(f"{BASE}/requests.json").json()
    assert {r["service_request_id"] for r in listed} == {posted}
    assert all(r["service_code"] and r["service_name"] for r in listed)
    assert city.client.get(f"{BASE}/requests/{waiting.case_id}.json").status_code == 404
    by_ids = city.client.get(
        f"{BASE}/requests.json", params={"service_request_id": f"{waiting.case_id},{posted}"}
    )
    assert ids(by_ids) == {posted}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_paths_and_wrong_methods_answer_with_the_error_list(
    city: City, fmt: str
) -> None:
    cases = [
        (city.client.get(f"{BASE}/nothing.{fmt}"), 404),
        (city.client.get(f"{BASE}/requests/1/photos.{fmt}"), 404),
        (city.client.delete(f"{BASE}/requests.{fmt}"), 405),
        (city.client.put(f"{BASE}/services.{fmt}"), 405),
        (city.client.post(f"{BASE}/services/pothole.{fmt}"), 405),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        if fmt == "json":
            assert response.headers["content-type"].startswith("application/json")
            [error] = response.json()
            assert error["code"] == status and error["description"]
        else:
            assert response.headers["content-type"].startswith("text/xml")
            root = ET.fromstring(response.content)
            assert root.tag == "errors" and root.findtext("error/code") == str(status)
    bare = city.client.get(BASE)  # no extension: JSON
    assert bare.status_code == 404 and bare.json()[0]["code"] == 404
