"""XML and JSON documents from the same dictionaries, and remote records read as voices."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from civicpulse.channels.open311.client import (
    REQUESTS,
    PullOptions,
    RemoteEndpoint,
    RemoteError,
    fetch_window,
    source_key,
    voice_from_remote,
    windows,
)
from civicpulse.channels.open311.formats import render_error, render_list, render_object


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
    # wrapped as in the specification's response; FixMyStreet finds no attributes otherwise
    assert [c.tag for c in definition] == ["service_code", "attributes"]
    assert [c.tag for c in definition.find("attributes") or []] == ["attribute", "attribute"]
    assert definition.findtext("attributes/attribute/values/value/key") == "k"
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


def endpoint(
    times: list[datetime], cap: int, pages: bool, limit: int = 1000
) -> tuple[RemoteEndpoint, list[dict[str, str]]]:
    """A GeoReport v2 server over httpx's mock transport that answers at most ``cap``
    requests per call, with or without honouring ``page``."""
    calls: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        calls.append(params)
        start = datetime.fromisoformat(params["start_date"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(params["end_date"].replace("Z", "+00:00"))
        inside = [t for t in times if start <= t <= end]
        size = min(cap, int(params["page_size"]))
        first = (int(params["page"]) - 1) * size if pages else 0
        body = [{"service_request_id": t.isoformat()} for t in inside[first : first + size]]
        return httpx.Response(200, json=body)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return RemoteEndpoint(http, PullOptions(url="http://remote.test", limit=limit)), calls


START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("pages", [True, False])
def test_a_server_cap_below_the_asked_page_size_loses_nothing(pages: bool) -> None:
    """150 requests, a server that answers 100 at most while 1,000 were asked for."""
    times = [START + timedelta(hours=h, minutes=1) for h in range(150)]
    remote, calls = endpoint(times, cap=100, pages=pages)
    got = fetch_window(remote, REQUESTS, START, START + timedelta(days=10))
    assert sorted(r["service_request_id"] for r in got) == sorted(t.isoformat() for t in times)
    if pages:  # read page by page, never split
        assert {c["start_date"] for c in calls} == {"2025-01-01T00:00:00Z"}
        assert [c["page"] for c in calls] == ["1", "2"]


def test_a_full_window_is_halved_until_nothing_is_cut() -> None:
    times = [START + timedelta(days=d, hours=1) for d in range(10)]
    remote, calls = endpoint(times, cap=3, pages=False)
    got = fetch_window(remote, REQUESTS, START, START + timedelta(days=10))
    assert {r["service_request_id"] for r in got} == {t.isoformat() for t in times}
    assert len(calls) > 2


def test_a_window_that_cannot_be_read_whole_is_refused() -> None:
    at = START + timedelta(hours=5)
    same_second = [at + timedelta(milliseconds=ms) for ms in (0, 300, 600)]
    spread = [START + timedelta(days=3, hours=h) for h in range(3)]
    remote, _ = endpoint([*same_second, *spread], cap=2, pages=False)
    got = fetch_window(remote, REQUESTS, START + timedelta(days=2), START + timedelta(days=4))
    assert len(got) == 3 and remote.cut_at == 2  # splitting showed it cuts answers at two
    with pytest.raises(RemoteError, match="cannot page"):
        fetch_window(remote, REQUESTS, START, START + timedelta(days=1))


def test_a_lone_record_from_a_quiet_endpoint_is_taken_but_said() -> None:
    remote, _ = endpoint([START + timedelta(hours=5)], cap=2, pages=False)
    got = fetch_window(remote, REQUESTS, START, START + timedelta(days=1))
    assert len(got) == 1 and remote.cut_at is None
    assert remote.doubts and "cannot be checked" in remote.doubts[0]
