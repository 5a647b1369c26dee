"""The GeoReport v2 server in process, on SQLite and PostgreSQL: schemas, sample shapes,
the POST → token → request round trip, every error of the specification, privacy."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import func, select

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.staff import add_api_key
from civicpulse.storage.tables import Case, ResidentContact, Voice
from tests.city import City
from tests.conftest import shared_data

BASE = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
CONTACT_EMAIL = "ann.resident@example.org"


def schema_validator(name: str) -> Draft7Validator:
    """A validator for one of the GeoReport v2 JSON Schemas, resolving their relative $refs."""
    folder = shared_data("open311", "schema-validation")
    registry: Registry[Any] = Registry()
    for path in folder.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(
            path.name, Resource.from_contents(contents, default_specification=DRAFT7)
        )
    schema = json.loads((folder / name).read_text(encoding="utf-8"))
    return Draft7Validator(schema, registry=registry)


def assert_valid(name: str, document: Any) -> None:
    errors = [e.message for e in schema_validator(name).iter_errors(document)]
    assert errors == []


def sample(name: str) -> ET.Element:
    return ET.parse(shared_data("open311", name)).getroot()


def child_tags(element: ET.Element) -> set[str]:
    return {c.tag for c in element}


@pytest.fixture
def key(city: City) -> str:
    return add_api_key(city.ctx, SYSTEM, "open311-app")


def post(city: City, key: str | None, fmt: str = "json", **fields: str) -> Any:
    data = {"service_code": "pothole", "lat": "30.05", "long": "120.05", **fields}
    if key is not None:
        data["api_key"] = key
    return city.client.post(f"{BASE}/requests.{fmt}", data=data)


def tracking_code(city: City, rid: str) -> str:
    """What a resident was given for the request; the tokens endpoint takes it."""
    with city.ctx.db.reader() as s:
        case = s.get(Case, int(rid))
        assert case is not None
        return case.tracking_code


def count_voices(city: City) -> int:
    with city.ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Voice)) or 0)


def test_services_and_definition_validate_against_the_schemas(city: City) -> None:
    r = city.client.get(f"{BASE}/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = r.json()
    assert_valid("services.json", services)
    by_code = {s["service_code"]: s for s in services}
    assert set(by_code) == {"pothole", "tree", "other"}
    assert by_code["pothole"]["metadata"] is True and by_code["tree"]["metadata"] is False
    assert by_code["pothole"]["group"] == "Roads" and by_code["pothole"]["keywords"] == "路面坑洼"

    definition = city.client.get(f"{BASE}/services/pothole.json").json()
    assert_valid("service-definition.json", definition)
    [size] = definition["attributes"]
    assert size["code"] == "size" and size["datatype"] == "singlevaluelist"
    assert size["required"] is False and size["order"] == 1
    assert [v["key"] for v in size["values"]] == ["small", "large"]


def test_xml_has_the_shape_of_the_specification_samples(city: City, key: str) -> None:
    ours = ET.fromstring(city.client.get(f"{BASE}/services.xml").content)
    theirs = sample("services.xml")
    assert ours.tag == theirs.tag
    assert child_tags(ours) == child_tags(theirs) == {"service"}
    assert child_tags(theirs[0]) <= child_tags(ours[0])

    r = city.client.get(f"{BASE}/services/pothole.xml")
    assert r.headers["content-type"].startswith("text/xml")
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    # the specification's response wraps each <attribute> in <attributes> (the stored sample
    # file leaves the wrapper out; FixMyStreet's reader needs it: see test_open311_fixmystreet)
    ours, theirs = ET.fromstring(r.content), sample("service_definition.xml")
    assert ours.tag == theirs.tag and child_tags(ours) == {"service_code", "attributes"}
    ours_attr, theirs_attr = ours.find("attributes/attribute"), theirs.find("attribute")
    assert ours_attr is not None and theirs_attr is not None
    assert child_tags(theirs_attr) == child_tags(ours_attr)
    assert [v.findtext("key") for v in ours_attr.iter("value")] == ["small", "large"]

    created = ET.fromstring(post(city, key, "xml", description="Hole").content)
    theirs = sample("post_service_request.xml")
    assert created.tag == theirs.tag and child_tags(created) == {"request"}
    assert child_tags(created[0]) == child_tags(theirs[0])  # an id, so no token
    rid = created[0].findtext("service_request_id") or ""

    token = tracking_code(city, rid)
    ours = ET.fromstring(city.client.get(f"{BASE}/tokens/{token}.xml").content)
    theirs = sample("request_id_from_token.xml")
    assert ours.tag == theirs.tag and child_tags(ours[0]) == child_tags(theirs[0])

    for path, name in [
        (f"requests/{rid}.xml", "get_service_request.xml"),
        ("requests.xml", "service_requests.xml"),
    ]:
        ours = ET.fromstring(city.client.get(f"{BASE}/{path}").content)
        theirs = sample(name)
        assert ours.tag == theirs.tag and child_tags(ours) == {"request"}
        assert child_tags(theirs[0]) <= child_tags(ours[0])

    empty = city.client.get(f"{BASE}/requests.xml", params={"service_code": "tree"})
    assert ET.fromstring(empty.content).tag == sample("service_requests_empty.xml").tag
    assert len(ET.fromstring(empty.content)) == 0

    missing = city.client.get(f"{BASE}/requests/999999.xml")
    assert missing.status_code == 404
    ours, theirs = ET.fromstring(missing.content), sample("get_service_request_not_found.xml")
    assert ours.tag == theirs.tag == "errors"
    assert child_tags(ours[0]) == child_tags(theirs[0]) == {"code", "description"}
    assert ours[0].findtext("code") == "404"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_token_and_request_round_trip(city: City, key: str, fmt: str) -> None:
    r = post(
        city,
        key,
        fmt,
        description="Deep hole by the school gate",
        email=CONTACT_EMAIL,
        first_name="Ann",
        last_name="Lee",
        phone="555-0100",
        **{"attribute[size]": "large"},
        media_url="https://photos.example.org/1.jpg",
        address_string="12 Elm St",
    )
    assert r.status_code == 200, r.text
    if fmt == "json":
        [created] = r.json()
        assert_valid("requests.json", city.client.get(f"{BASE}/requests.json").json())
        rid = created["service_request_id"]
        assert "token" not in created  # the request is known at once: its id, not a token
        token = tracking_code(city, rid)
        assert "72 hours" in created["service_notice"]
        looked_up = city.client.get(f"{BASE}/tokens/{token}.json").json()
        assert looked_up == [{"service_request_id": rid, "token": token}]
        [request] = city.client.get(f"{BASE}/requests/{rid}.json").json()
        assert_valid("request.json", request)
    else:
        created_xml = ET.fromstring(r.content)[0]
        rid = created_xml.findtext("service_request_id") or ""
        assert created_xml.find("token") is None
        token = tracking_code(city, rid)
        looked_up_xml = ET.fromstring(city.client.get(f"{BASE}/tokens/{token}.xml").content)
        assert looked_up_xml[0].findtext("service_request_id") == rid
        got = ET.fromstring(city.client.get(f"{BASE}/requests/{rid}.xml").content)[0]
        request = {c.tag: c.text for c in got}
    assert request["service_request_id"] == rid and request["service_code"] == "pothole"
    assert request["status"] == "open" and request["description"].startswith("Deep hole")
    assert request["agency_responsible"] == "North Roads"  # the area's routing rule applied
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(request[name]) and datetime.fromisoformat(request[name]).tzinfo
    body = city.client.get(f"{BASE}/requests/{rid}.{fmt}").text
    for private in (CONTACT_EMAIL, "555-0100", "Ann", "12 Elm St", "photos.example.org"):
        assert private not in body
    with city.ctx.db.reader() as s:
        voice = s.scalars(select(Voice).where(Voice.case_id == int(rid))).one()
        contact = s.get(ResidentContact, voice.id)
        assert voice.channel == "open311" and voice.attributes["size"] == "large"
        assert voice.attributes["open311"]["media_url"] == "https://photos.example.org/1.jpg"
        assert contact is not None and contact.email == CONTACT_EMAIL
        assert contact.name == "Ann Lee" and contact.address == "12 Elm St"


def test_multi_value_attributes_and_other_locations(city: City, key: str) -> None:
    from civicpulse.services.catalogue import import_catalogue

    import_catalogue(
        city.ctx,
        SYSTEM,
        {
            "categories": [
                {
                    "code": "bulk",
                    "name_en": "Bulk items",
                    "department": "parks",
                    "extra_fields": [
                        {
                            "code": "items",
                            "datatype": "multivaluelist",
                            "required": True,
                            "values": ["sofa", "bed", "fridge"],
                        },
                        {"code": "count", "datatype": "number"},
                    ],
                }
            ]
        },
    )
    r = city.client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "bulk",
            "address_id": "A-77",
            "attribute[items][]": ["sofa", "fridge"],
            "attribute[count]": "3",
        },
    )
    assert r.status_code == 200, r.text
    case_id = int(r.json()[0]["service_request_id"])
    with city.ctx.db.reader() as s:
        voice = s.scalars(select(Voice).where(Voice.case_id == case_id)).one()
        assert voice.attributes["items"] == ["sofa", "fridge"]
        assert voice.attributes["count"] == 3
        assert voice.attributes["open311"]["address_id"] == "A-77"
        assert voice.text == "bulk (items: ['sofa', 'fridge']; count: 3)"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_error_of_the_specification_changes_nothing(city: City, key: str, fmt: str) -> None:
    before = count_voices(city)
    cases = [
        (post(city, None, fmt, description="x"), 403, "api_key is required"),
        (post(city, "cpk_wrong", fmt, description="x"), 403, "invalid api_key"),
        (post(city, key, fmt, service_code="nope", description="x"), 404, "not found"),
        (post(city, key, fmt, service_code="", description="x"), 400, "service_code is required"),
        (
            city.client.post(
                f"{BASE}/requests.{fmt}",
                data={"api_key": key, "service_code": "tree", "description": "x"},
            ),
            400,
            "location",
        ),
        (post(city, key, fmt, lat="", description="x"), 400, "both lat and long"),
        (
            post(city, key, fmt, description="x", **{"attribute[size]": "huge"}),
            400,
            "'huge' is not one of small, large",
        ),
        (
            post(city, key, fmt, description="x", **{"attribute[colour]": "red"}),
            400,
            "unknown attribute",
        ),
        (post(city, key, fmt, description="x" * 4001), 400, "at most 4000"),
        (post(city, key, fmt, description="x", media_url="file:///etc/passwd"), 400, "media_url"),
        (city.client.get(f"{BASE}/services/nope.{fmt}"), 404, "not found"),
        (city.client.get(f"{BASE}/requests/424242.{fmt}"), 404, "not found"),
        (city.client.get(f"{BASE}/tokens/AAAA-BBBB-CCCC-DDDD.{fmt}"), 404, "token"),
        (city.client.get(f"{BASE}/requests.{fmt}", params={"status": "pending"}), 400, "status"),
        (city.client.get(f"{BASE}/requests.{fmt}", params={"start_date": "yesterday"}), 400, "W3C"),
        (
            city.client.get(
                f"{BASE}/requests.{fmt}",
                params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            ),
            400,
            "90 days",
        ),
    ]
    for response, status, words in cases:
        assert response.status_code == status, response.text
        if fmt == "json":
            [error] = response.json()
            assert error["code"] == status and words in error["description"]
        else:
            root = ET.fromstring(response.content)
            assert root.tag == "errors" and root[0].findtext("code") == str(status)
            assert words in (root[0].findtext("description") or "")
    assert count_voices(city) == before
    assert city.client.get(f"{BASE}/services.csv").status_code == 404


def test_jurisdiction_is_checked_when_configured(city: City, key: str) -> None:
    assert (
        city.client.get(f"{BASE}/services.json", params={"jurisdiction_id": "x"}).status_code == 200
    )
    city.ctx.settings.open311_jurisdiction_id = "city.test"
    assert city.client.get(f"{BASE}/services.json").status_code == 400
    assert (
        city.client.get(f"{BASE}/services.json", params={"jurisdiction_id": "x"}).status_code == 404
    )
    assert (
        city.client.get(
            f"{BASE}/services.json", params={"jurisdiction_id": "city.test"}
        ).status_code
        == 200
    )
    assert post(city, key, description="x").status_code == 400
    assert post(city, key, description="x", jurisdiction_id="city.test").status_code == 200
    discovery = city.client.get(f"{BASE}/discovery.json").json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2")
    assert "application/json" in discovery["endpoints"][0]["formats"]
    assert ET.fromstring(city.client.get(f"{BASE}/discovery.xml").content).tag == "discovery"


def test_requests_query_dates_status_codes_and_pages(city: City, key: str, clock: Any) -> None:
    old = post(city, key, description="Old hole").json()[0]["service_request_id"]
    clock.advance(days=100)
    ids = [
        post(city, key, description=f"Hole {i}", lat=f"{30.01 + 0.03 * i:.2f}").json()[0][
            "service_request_id"
        ]
        for i in range(3)  # kilometres apart: never matched as one problem
    ]
    tree = post(city, key, service_code="tree", description="Oak down", lat="30.09").json()[0]
    listed = [r["service_request_id"] for r in city.client.get(f"{BASE}/requests.json").json()]
    assert old not in listed and set(ids) <= set(listed)  # the default span is 90 days
    assert listed[0] == tree["service_request_id"]  # newest first
    back = city.client.get(
        f"{BASE}/requests.json",
        params={"start_date": "2026-02-01T00:00:00+08:00", "end_date": "2026-04-01"},
    ).json()
    assert [r["service_request_id"] for r in back] == [old]
    pothole = city.client.get(f"{BASE}/requests.json", params={"service_code": "pothole"}).json()
    assert {r["service_request_id"] for r in pothole} == set(ids)
    both = city.client.get(
        f"{BASE}/requests.json", params={"service_request_id": f"{old},{ids[0]},999999"}
    ).json()
    assert {r["service_request_id"] for r in both} == {old, ids[0]}
    pages = [
        city.client.get(f"{BASE}/requests.json", params={"page": p, "page_size": 2}).json()
        for p in (1, 2, 3)
    ]
    assert [len(p) for p in pages] == [2, 2, 0]
    assert city.client.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    assert len(city.client.get(f"{BASE}/requests.json", params={"status": "open"}).json()) == 4
    assert city.client.get(f"{BASE}/requests.json", params={"page_size": 1001}).status_code == 400


def test_public_description_is_redacted_and_verdicts_are_extended_attributes(
    city: City, key: str
) -> None:
    rid = post(city, key, description="Call me on 13812345678 about the hole").json()[0]
    rid = rid["service_request_id"]
    token = tracking_code(city, rid)
    [request] = city.client.get(f"{BASE}/requests/{rid}.json").json()
    assert "13812345678" not in request["description"] and "[phone]" in request["description"]
    officer = city.token("admin")
    city.client.post(f"/api/v1/cases/{rid}/resolve", json={"message": "Filled."}, headers=officer)
    [request] = city.client.get(f"{BASE}/requests/{rid}.json").json()
    assert request["status"] == "open" and request["status_notes"] == "Filled."
    assert request["extended_attributes"]["case_status"] == "resolved"
    assert request["extended_attributes"]["verified"] is None
    r = city.client.post(
        f"/api/v1/track/{token}/verification", json={"fixed": True, "satisfaction": 4}
    )
    assert r.status_code == 200, r.text
    [request] = city.client.get(f"{BASE}/requests/{rid}.json").json()
    assert request["status"] == "closed"
    assert request["extended_attributes"]["verified"] is True
    assert request["extended_attributes"]["satisfaction"] == 4
    assert_valid("request.json", request)


def test_a_replayed_post_with_the_same_idempotency_key_opens_one_case(city: City, key: str) -> None:
    data = {
        "api_key": key,
        "service_code": "tree",
        "address_string": "Oak Ave",
        "description": "Branch across the path",
    }
    headers = {"Idempotency-Key": "app-42"}
    first = city.client.post(f"{BASE}/requests.json", data=data, headers=headers).json()
    again = city.client.post(f"{BASE}/requests.json", data=data, headers=headers).json()
    assert first == again
    before = count_voices(city)
    other = city.client.post(
        f"{BASE}/requests.json", data={**data, "description": "Other"}, headers=headers
    )
    assert other.status_code == 400 and count_voices(city) == before
