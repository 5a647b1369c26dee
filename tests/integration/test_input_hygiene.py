"""Finding 6 of the outside probe, on SQLite and PostgreSQL: input that gave 500s or was
stored unreadable is refused with a 4xx and a sentence at every door (pages, JSON API,
Open311), and nothing of it is stored.

Each test failed on the code before the fix: year 9999 and 0001, ids above 2^63, NaN and
Infinity, superscript digits in ids and a NUL gave 500s; zero-width-only text and
direction overrides were stored; a form that was not UTF-8 was stored as mojibake; the
staff form did not say that a transfer reason is public.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicpulse.storage.tables import Voice
from tests.city import City
from tests.integration.test_pages import case_id_of, staff_login, submit

BIG_ID = 2**64  # past any database integer
YEAR_9999 = "9999-12-31T23:59:59-12:00"
YEAR_0001 = "0001-01-01T00:00:00+14:00"


@pytest.fixture
def client(city: City) -> TestClient:
    """The city's app answering crashes with their 500 instead of raising them in the test,
    so a failure reads as the status a client would have seen."""
    return TestClient(city.client.app, raise_server_exceptions=False)


def csrf(client: TestClient, path: str = "/report") -> str:
    """Open a page as a browser would (its cookie kept) and return its forms' CSRF token."""
    r = client.get(path)
    assert r.status_code == 200, r.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert match
    return match.group(1)


def voices(city: City) -> int:
    with city.ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Voice)) or 0)


def open311_key(city: City) -> str:
    from civicpulse.domain.roles import SYSTEM
    from civicpulse.services.staff import add_api_key

    return add_api_key(city.ctx, SYSTEM, "partner")


# ---- text nobody can see, and text that reads differently from what is stored --------------


def test_invisible_and_direction_override_text_is_refused_everywhere(
    city: City, client: TestClient
) -> None:
    before = voices(city)
    for body in ({"text": "\u200b\u200b\u2060"}, {"text": "pay here \u202egnp.exe"},
                 {"text": "Pothole", "title": "\u2067title\u2069"},
                 {"text": "Pothole", "contact": {"name": "\u200d"}}):
        r = client.post("/api/v1/voices", json=body)
        assert r.status_code == 422, (body, r.text)
        assert "visible" in r.json()["detail"] or "U+20" in r.json()["detail"]
    token = csrf(client)
    page = client.post("/report", data={"csrf_token": token, "text": "\u200b\u200b"})
    assert page.status_code == 422 and "no visible characters" in page.text
    key = open311_key(city)
    o311 = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "pothole", "lat": "30.05", "long": "120.05",
        "description": "deep hole \u202eereh"})
    assert o311.status_code == 400 and "U+202E" in o311.json()[0]["description"]
    assert voices(city) == before

    # what staff write in public is held to the same rule (the case actions' services)
    case_id = client.post("/api/v1/voices", json={"text": "Tree down on the path"}).json()[
        "case_id"]
    admin = city.token("admin")
    r = client.post(f"/api/v1/cases/{case_id}/reject", json={"reason": "\u202eno"},
                    headers=admin)
    assert r.status_code == 422 and "U+202E" in r.json()["detail"]
    r = client.post(f"/api/v1/cases/{case_id}/reject", json={"reason": "\ufeff\u200b"},
                    headers=admin)
    assert r.status_code == 422 and "no visible characters" in r.json()["detail"]


# ---- moments far from now ------------------------------------------------------------------


@pytest.mark.parametrize("when", [YEAR_9999, YEAR_0001, "1899-12-31T23:00:00Z"])
def test_dates_outside_the_sane_range_are_refused_not_500(
    city: City, client: TestClient, when: str
) -> None:
    before = voices(city)
    r = client.post("/api/v1/voices", json={"text": "Pothole", "occurred_at": when})
    assert r.status_code == 422 and "occurred_at must be between 1900 and 2199" in r.text
    for name in ("since", "until"):
        r = client.get("/api/v1/departments/scorecard", params={name: when})
        assert r.status_code == 422, r.text
    for name in ("start_date", "end_date"):
        for path in ("/open311/v2/requests.json", "/open311/v2/servicerequestupdates.xml"):
            r = client.get(path, params={name: when})
            assert r.status_code == 400 and "between 1900 and 2199" in r.text, (path, r.text)
    assert voices(city) == before


# ---- ids past the database integer, and digits int() cannot read ---------------------------


def test_ids_past_the_database_integer_are_refused_on_pages_too(
    city: City, client: TestClient
) -> None:
    code = submit(city, text="Broken bench in the park")
    staff_login(city, "admin")
    client.cookies.update(city.client.cookies)
    for path in (f"/cases/{BIG_ID}", f"/staff/cases/{BIG_ID}",
                 f"/staff/cases/1/photos/{BIG_ID}", f"/track/{code}/photos/{BIG_ID}"):
        r = client.get(path)
        assert r.status_code == 422, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), path
        assert "less than or equal to" in r.text
    token = csrf(client, "/staff")
    r = client.post(f"/staff/cases/{BIG_ID}/start", data={"csrf_token": token})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert client.get(f"/api/v1/cases/{BIG_ID}", headers=city.token("admin")).status_code == 422


def test_digits_that_are_not_decimal_are_not_ids(client: TestClient) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: these gave 500s."""
    r = client.get("/open311/v2/requests/\u00b2.json")
    assert r.status_code == 404
    r = client.get("/open311/v2/requests.json", params={"service_request_id": "1,\u00b2"})
    assert r.status_code == 400


# ---- NaN and Infinity ----------------------------------------------------------------------


def test_nan_and_infinity_are_refused_in_attributes_and_coordinates(
    city: City, client: TestClient
) -> None:
    before = voices(city)
    for raw in (b"NaN", b"Infinity", b"-Infinity", b'[1, {"deep": NaN}]'):
        r = client.post(
            "/api/v1/voices",
            content=b'{"text": "Pothole", "attributes": {"depth": ' + raw + b"}}",
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 422 and "finite number" in r.text, (raw, r.text)
    r = client.post("/api/v1/voices", json={"text": "Pothole", "attributes": {"a\x00": 1}})
    assert r.status_code == 422
    key = open311_key(city)
    for lat in ("NaN", "inf", "1e400"):
        r = client.post("/open311/v2/requests.xml", data={
            "api_key": key, "service_code": "pothole", "lat": lat, "long": "120.05"})
        assert r.status_code == 400 and "<errors>" in r.text, r.text
    assert voices(city) == before


# ---- forms: NUL characters and text that is not UTF-8 -------------------------------------


def test_nul_in_any_page_form_field_is_refused_with_a_page(city: City, client: TestClient) -> None:
    before = voices(city)
    token = csrf(client)
    for fields in ({"text": "Pothole", "contact_name": "Li\x00Lei", "consent": "yes"},
                   {"text": "Pothole", "address": "\x00"}, {"text": "Pothole", "x\x00": "1"}):
        r = client.post("/report", data={"csrf_token": token, **fields})
        assert r.status_code == 400, (fields, r.status_code, r.text[:200])
        assert "NUL" in r.text and r.headers["content-type"].startswith("text/html")
    token = csrf(client, "/staff/login")
    r = client.post("/staff/login", data={"csrf_token": token, "username": "ad\x00min",
                                         "password": "x"})
    assert r.status_code == 400 and "NUL" in r.text
    assert voices(city) == before


def test_a_form_that_is_not_utf8_is_refused_not_stored_as_mojibake(
    city: City, client: TestClient
) -> None:
    before = voices(city)
    token = csrf(client)
    form = "application/x-www-form-urlencoded"
    for body in (
        f"csrf_token={token}&text=%C2%B7%FF%FE+broken".encode(),  # escapes that are not UTF-8
        f"csrf_token={token}&text=".encode() + "路灯坏了".encode("gb18030"),  # raw bytes
    ):
        r = client.post("/report", content=body, headers={"Content-Type": form})
        assert r.status_code == 400, (body, r.status_code)
        assert "UTF-8" in r.text and r.headers["content-type"].startswith("text/html")
    # a multipart form (the report form with a photo) whose text part is GB18030
    boundary = "cpboundary"
    parts = [(b"csrf_token", token.encode()), (b"text", "路灯坏了三天了".encode("gb18030"))]
    body = b"".join(
        b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="' + name
        + b'"\r\n\r\n' + value + b"\r\n" for name, value in parts
    ) + b"--" + boundary.encode() + b"--\r\n"
    r = client.post("/report", content=body,
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 400 and "UTF-8" in r.text
    # Open311 refuses it in the specification's format
    r = client.post("/open311/v2/requests.json", content=b"service_code=pothole&description=%FF",
                    headers={"Content-Type": form})
    assert r.status_code == 400 and "UTF-8" in r.json()[0]["description"]
    assert voices(city) == before

    # the same words as UTF-8, in either encoding of the form, are stored as written
    r = client.post("/report", files={"photo": ("", b"")},
                    data={"csrf_token": token, "text": "路灯坏了三天了 · café"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    tracked = client.get(r.headers["location"].replace("/report/thanks/", "/api/v1/track/"))
    assert tracked.status_code == 200
    assert voices(city) == before + 1


# ---- the staff form says what the public will see ------------------------------------------


def test_the_transfer_form_says_its_reason_is_public_in_both_languages(city: City) -> None:
    code = submit(city, text="Tree fell across the path", category="tree")  # routed to parks
    case_id = case_id_of(city, code)
    staff_login(city, "admin")
    page = city.client.get(f"/staff/cases/{case_id}?lang=en").text
    form = re.search(r'<form[^>]+/transfer".*?</form>', page, re.S)
    assert form, "the case page offers no transfer form"
    assert "Reason for the transfer (public)" in form.group()
    assert "Residents and the public see this reason" in form.group()
    assert 'aria-describedby="transfer-reason-note"' in form.group()
    zh = city.client.get(f"/staff/cases/{case_id}?lang=zh").text
    assert "转办理由（公开）" in zh and "居民和公众会在案件时间线上看到这条理由" in zh
