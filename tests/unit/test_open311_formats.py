"""XML and JSON documents from the same dictionaries, and remote records read as voices."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from civicpulse.open311.client import source_key, voice_from_remote, windows
from civicpulse.open311.formats import render_error, render_list, render_object


def test_xml_lists_objects_and_errors() -> None:
    body = render_list(
        "xml",
        "service_requests",
        "request",
        [
            {
                "service_request_id": "1",
                "description": "Fish & chips <here>\x0b",
                "lat": None,
                "extended_attributes": {"verified": True, "satisfaction": 4},
            },
        ],
    )
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(body)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert root[0].findtext("description") == "Fish & chips <here>"  # escaped, \x0b dropped
    assert root[0].findtext("lat") == ""  # null is an empty element
    assert root[0].findtext("extended_attributes/verified") == "true"
    definition = ET.fromstring(
        render_object(
            "xml",
            "service_definition",
            {
                "service_code": "p",
                "attributes": [
                    {"code": "a", "values": [{"key": "k", "name": "N"}]},
                    {"code": "b", "values": []},
                ],
            },
        )
    )
    assert [c.tag for c in definition] == ["service_code", "attribute", "attribute"]
    assert definition.findtext("attribute/values/value/key") == "k"
    error = ET.fromstring(render_error("xml", 403, "invalid api_key"))
    assert error.tag == "errors" and error.findtext("error/code") == "403"
    assert json.loads(render_error("json", 404, "nope")) == [{"code": 404, "description": "nope"}]
    assert json.loads(render_list("json", "x", "y", [{"a": "中文"}])) == [{"a": "中文"}]


SF = {
    "service_request_id": "101002555701",
    "address": "94 Hayes St",
    "status": "closed",
    "description": "Person with belongings on the sidewalk.",
    "media_url": None,
    "lat": "37.77762504",
    "long": "-122.41780958",
    "requested_datetime": "2025-09-04T22:37:50Z",
    "updated_datetime": "2025-09-05T13:48:58Z",
    "service_code": "HSOC:Homeless:Encampment",
    "status_notes": "Case Resolved.",
    "police_district": "NORTHERN",
    "upvotes": 0,
}


def test_a_remote_request_as_a_voice() -> None:
    key = source_key("https://sf.example/open311/v2/", None)
    assert key == "sf.example/open311/v2"
    v = voice_from_remote(
        SF, key, "https://sf.example/open311/v2", {"other"}, {"HSOC:Homeless:Encampment": "other"}
    )
    assert v.channel == "open311" and v.category == "other"
    assert v.external_id == "sf.example/open311/v2:101002555701"
    assert (v.lat, v.lon) == (37.77762504, -122.41780958) and v.address == "94 Hayes St"
    assert v.occurred_at == datetime(2025, 9, 4, 22, 37, 50, tzinfo=UTC)
    meta = v.attributes["open311"]
    assert meta["status"] == "closed" and "description" not in meta and "media_url" not in meta
    assert meta["extra"] == {"police_district": "NORTHERN", "upvotes": 0}
    odd = voice_from_remote(
        {**SF, "description": " ", "lat": "999", "service_code": "X"}, key, "u", {"other"}, {}
    )
    assert odd.text == "X" and odd.lat is None and odd.category is None


def test_windows_never_exceed_ninety_days() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    parts = list(windows(start, start + timedelta(days=200)))
    assert [b - a for a, b in parts] == [timedelta(days=90)] * 2 + [timedelta(days=20)]
    assert parts[0][1] == parts[1][0]
    assert list(windows(start, start)) == []


class FakeEndpoint:
    """Answers like a server that cuts every answer at three requests."""

    def __init__(self, times: list[datetime]) -> None:
        self.times = times
        self.calls = 0

    def requests(self, start: datetime, end: datetime) -> list[dict[str, str]]:
        self.calls += 1
        inside = [t for t in self.times if start <= t <= end]
        return [{"service_request_id": t.isoformat()} for t in inside[:3]]


def test_a_full_window_is_halved_until_nothing_is_cut() -> None:
    from civicpulse.open311.client import fetch_window

    start = datetime(2025, 1, 1, tzinfo=UTC)
    times = [start + timedelta(days=d, hours=1) for d in range(10)]
    remote = FakeEndpoint(times)
    got = fetch_window(remote, start, start + timedelta(days=10), limit=3)  # type: ignore[arg-type]
    assert {r["service_request_id"] for r in got} == {t.isoformat() for t in times}
    assert remote.calls > 1
