"""The report form's photo and map, the base-map setting and the open-data downloads,
over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from civicpulse.storage.tables import Voice, VoicePhoto
from civicpulse.web.app import create_app
from tests.city import City
from tests.integration.test_pages import csrf, staff_login, submit
from tests.unit.test_photos import jpeg_with_exif

MARKED = re.compile(r'id="lat" name="lat" inputmode="decimal" value="([^"]*)"')


def count(city: City, table: type) -> int:
    with city.ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def post_report(city: City, files: dict | None = None, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf(city)
    return city.client.post(
        "/report",
        data={"csrf_token": token, **fields},
        files=files,
        follow_redirects=False,
    )


def test_a_photo_is_stored_without_metadata_and_shown_only_to_its_owners(city: City) -> None:
    raw = jpeg_with_exif()
    r = post_report(
        city,
        files={"photo": ("IMG_0001.jpg", raw, "image/jpeg")},
        text="井盖缺失，很危险",
        category="pothole",
    )
    assert r.status_code == 303, r.text
    code = r.headers["location"].rsplit("/", 1)[1]
    track = city.client.get(f"/track/{code}").text
    found = re.findall(rf"/track/{code}/photos/(\d+)", track)
    assert len(found) == 1
    photo = city.client.get(f"/track/{code}/photos/{found[0]}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert "private" in photo.headers["cache-control"]
    assert b"PhoneMaker" not in photo.content and b"Exif" not in photo.content
    assert dict(Image.open(io.BytesIO(photo.content)).getexif()) == {}

    # another resident's code does not open it, and nor does the public case page
    other = submit(city, text="another problem")
    assert city.client.get(f"/track/{other}/photos/{found[0]}").status_code == 404
    case_id = city.client.get("/cases").text
    public_pages = city.client.get("/cases/1").text + case_id
    assert "/photos/" not in public_pages

    # staff see it on the case page
    staff_login(city, "admin")
    with city.ctx.db.reader() as s:
        voice_case = s.scalar(select(Voice.case_id).where(Voice.text == "井盖缺失，很危险"))
    page = city.client.get(f"/staff/cases/{voice_case}").text
    assert f"/staff/cases/{voice_case}/photos/{found[0]}" in page
    staff_copy = city.client.get(f"/staff/cases/{voice_case}/photos/{found[0]}")
    assert staff_copy.status_code == 200 and staff_copy.content == photo.content
    # a photo id under the wrong case is not found
    assert city.client.get(f"/staff/cases/{voice_case + 1}/photos/{found[0]}").status_code == 404


def test_staff_without_the_case_cannot_open_its_photo(city: City) -> None:
    r = post_report(
        city, files={"photo": ("a.jpg", jpeg_with_exif(), "image/jpeg")}, text="tree down",
        category="tree",
    )
    assert r.status_code == 303
    with city.ctx.db.reader() as s:
        case_id, photo_id = s.execute(
            select(Voice.case_id, VoicePhoto.id).join(VoicePhoto, VoicePhoto.voice_id == Voice.id)
        ).one()
    assert city.client.get(f"/staff/cases/{case_id}/photos/{photo_id}",
                           follow_redirects=False).status_code == 303  # not logged in
    staff_login(city, "roads1")  # an officer of roads; the tree case belongs to parks
    r = city.client.get(f"/staff/cases/{case_id}/photos/{photo_id}")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("evil.jpg", b"<script>alert(1)</script>", "JPEG, PNG or WebP"),
        ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64, "JPEG, PNG or WebP"),
    ],
)
def test_a_bad_photo_is_refused_and_nothing_is_stored(
    city: City, name: str, content: bytes, reason: str
) -> None:
    before = count(city, Voice), count(city, VoicePhoto)
    r = post_report(city, files={"photo": (name, content, "image/jpeg")}, text="keep my text")
    assert r.status_code == 422, r.text
    assert reason in r.text and "keep my text" in r.text  # the resident's words come back
    assert (count(city, Voice), count(city, VoicePhoto)) == before


def test_a_photo_over_the_limit_gets_a_readable_refusal(city: City) -> None:
    city.ctx.settings.photo_max_bytes = 50_000
    big = io.BytesIO()
    Image.effect_noise((400, 400), 100).convert("RGB").save(big, format="PNG")
    assert len(big.getvalue()) > 50_000
    r = post_report(city, files={"photo": ("big.png", big.getvalue(), "image/png")}, text="x")
    assert r.status_code == 422 and "the photo is larger than the limit of 50 kB" in r.text
    assert count(city, VoicePhoto) == 0


def test_a_photo_far_over_the_limit_is_not_said_to_be_the_limits_size(city: City) -> None:
    """The page reads one byte past the limit; the refusal must not claim 50 kB of 50 kB."""
    city.ctx.settings.photo_max_bytes = 50_000
    r = post_report(city, files={"photo": ("big.jpg", b"\xff" * 200_000, "image/jpeg")}, text="x")
    assert r.status_code == 422
    assert "the photo is 50 kB" not in r.text and "larger than the limit of 50 kB" in r.text


def test_the_body_cap_answers_a_browser_with_a_page(city: City) -> None:
    limit = city.ctx.settings.max_body_bytes
    r = city.client.post(
        "/report",
        content=b"x" * (2 * city.ctx.settings.photo_max_bytes + 300_000),
        headers={"content-type": "multipart/form-data; boundary=b", "accept": "text/html"},
    )
    assert r.status_code == 413 and "smaller photo" in r.text
    # other paths keep the ordinary cap
    r = city.client.post("/api/v1/voices", content=b"x" * (limit + 1),
                         headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"].startswith("request body is larger")


def test_a_click_on_the_map_marks_the_place_without_javascript(city: City) -> None:
    form = city.client.get("/report").text
    assert 'type="image" name="map"' in form and 'formnovalidate' in form
    before = count(city, Voice)
    # the test city is the square 120.0–120.1 E, 30.0–30.1 N drawn 300 px wide
    r = post_report(city, text="", **{"map.x": "150", "map.y": "150"})
    assert r.status_code == 200, r.text
    lat = float(MARKED.search(r.text).group(1))  # type: ignore[union-attr]
    lon = float(re.search(r'id="lon" name="lon" inputmode="decimal" value="([^"]*)"',
                          r.text).group(1))  # type: ignore[union-attr]
    assert 30.0 < lat < 30.1 and 120.0 < lon < 120.1
    assert f"/map/place.svg?lat={lat:.6f}" in r.text  # the marker is drawn
    assert count(city, Voice) == before  # nothing was sent
    svg = city.client.get(f"/map/place.svg?lat={lat}&lon={lon}")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<circle" in svg.text and "<polygon" in svg.text
    assert "<circle" not in city.client.get("/map/place.svg").text

    # then Send: the place goes with the report
    code = submit(city, text="pothole here", lat=f"{lat:.6f}", lon=f"{lon:.6f}")
    assert city.client.get(f"/api/v1/track/{code}").status_code == 200
    with city.ctx.db.reader() as s:
        stored = s.execute(select(Voice.lat, Voice.lon).where(Voice.text == "pothole here")).one()
    assert stored == pytest.approx((lat, lon), abs=1e-6)


def test_enter_in_a_field_sends_the_report_not_a_map_click(city: City) -> None:
    # browsers "click" the first image button at (0, 0) when Enter submits a form
    r = post_report(city, text="sent with Enter", **{"map.x": "0", "map.y": "0"})
    assert r.status_code == 303


def test_a_click_outside_the_map_is_refused(city: City) -> None:
    r = post_report(city, text="x", **{"map.x": "5000", "map.y": "10"})
    assert r.status_code == 422 and "click inside the map" in r.text


def test_tiles_are_drawn_and_allowed_only_when_configured(city: City) -> None:
    submit(city, text="lamp out", lat="30.05", lon="120.05")
    plain = city.client.get("/map")
    assert "<image" not in plain.text and "tiles.city.example" not in plain.headers[
        "content-security-policy"]
    city.ctx.settings.map_tile_url = "https://tiles.city.example/{z}/{x}/{y}.png"
    city.ctx.settings.map_tile_attribution = "© Tile makers"
    with TestClient(create_app(city.ctx)) as client:
        r = client.get("/map")
    assert re.search(r'<image href="https://tiles\.city\.example/\d+/\d+/\d+\.png"', r.text)
    assert "© Tile makers" in r.text
    assert "img-src 'self' data: https://tiles.city.example;" in r.headers[
        "content-security-policy"]


def test_a_bad_tile_template_is_refused_at_start_up() -> None:
    from pydantic import ValidationError

    from civicpulse.settings import Settings

    with pytest.raises(ValidationError, match=r"\{z\}"):
        Settings(map_tile_url="https://tiles.example/tile.png")


def test_open_data_downloads_hold_no_personal_data(city: City) -> None:
    city.ctx.settings.open_data_refresh_seconds = 0
    submit(city, text="私人信息 13812345678", category="pothole", contact_name="王小明",
           contact_email="wang@example.com", consent="yes", lat="30.0512345", lon="120.0598765")
    page = city.client.get("/data")
    assert page.status_code == 200 and "/data/cases.csv" in page.text
    rows = list(csv.DictReader(io.StringIO(city.client.get("/data/cases.csv").text)))
    assert len(rows) == 1 and rows[0]["category"] == "pothole"
    assert rows[0]["lat"] == "30.051" and rows[0]["lon"] == "120.06"
    as_json = city.client.get("/data/cases.json")
    assert as_json.headers["content-type"].startswith("application/json")
    assert json.loads(as_json.text)[0]["case_id"] == int(rows[0]["case_id"])
    departments = city.client.get("/data/departments.csv")
    assert "attachment" in departments.headers["content-disposition"]
    names = {r["department"] for r in csv.DictReader(io.StringIO(departments.text))}
    assert {"roads", "parks"} <= names
    everything = "".join(
        city.client.get(f"/data/{n}").text
        for n in ("cases.csv", "cases.json", "departments.csv", "departments.json")
    )
    for secret in ("13812345678", "王小明", "wang@example.com", "私人信息", "30.0512345"):
        assert secret not in everything
    assert city.client.get("/data/users.csv").status_code == 404
    assert city.client.get("/data/..%2Fcivicpulse.db").status_code == 404


def test_open_data_files_are_reused_until_they_are_old(city: City) -> None:
    city.ctx.settings.open_data_refresh_seconds = 3600
    submit(city, text="first")
    first = city.client.get("/data/cases.csv").text
    submit(city, text="second")
    assert city.client.get("/data/cases.csv").text == first  # served from the file
    city.ctx.settings.open_data_refresh_seconds = 0
    assert len(city.client.get("/data/cases.csv").text.splitlines()) == 3


def test_the_form_asks_the_model_for_a_category_and_stores_nothing(city: City) -> None:
    from civicpulse.services.classification import train_from_cases
    from tests.integration.test_classification_intake import _teach

    assert city.client.post("/report/suggest", data={"text": "pothole in our road"}).json() == {
        "category": None  # no model yet
    }
    _teach(city)
    train_from_cases(city.ctx, min_examples=3)
    before = count(city, Voice)
    answer = city.client.post("/report/suggest", data={"text": "there is a pothole in our road"})
    assert answer.json()["category"] == "pothole"
    assert answer.json()["confidence"] >= city.ctx.settings.classifier_min_confidence
    assert city.client.post("/report/suggest", data={"text": "hi"}).json()["category"] is None
    assert count(city, Voice) == before
    assert 'id="category-hint"' in city.client.get("/report").text


def test_case_pages_show_the_place_on_a_map_rounded_for_the_public(city: City) -> None:
    submit(city, text="bench broken", lat="30.0512345", lon="120.0598765")
    public = city.client.get("/cases/1").text
    assert '/map/place.svg?lat=30.051&amp;lon=120.06"' in public and "30.0512345" not in public
    staff_login(city, "admin")
    staff = city.client.get("/staff/cases/1").text
    assert "/map/place.svg?lat=30.0512345&amp;lon=120.0598765" in staff
    svg = city.client.get("/map/place.svg?lat=30.051&lon=120.06").text
    assert re.search(r'<circle cx="\d+\.\d" cy="\d+\.\d"', svg)
    assert city.client.get("/map/place.svg?lat=91&lon=0").status_code == 422


def test_the_case_list_stops_counting_at_the_cap(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicpulse.services import public_views

    monkeypatch.setattr(public_views, "COUNT_CAP", 3)
    for n in range(5):
        submit(city, text=f"street light {n} is out", title=f"light {n}")
    submit(city, text="a tree", title="tree")
    first = city.client.get("/cases?q=light").text
    assert "Cases found: more than 3" in first and "light 0" in first
    assert "page=2" not in first  # 20 a page: all five are on page 1, no empty next page
    few = city.client.get("/cases?q=tree").text
    assert "Cases found: 1" in few and "more than" not in few
    assert public_views.public_cases(city.ctx, q="light", page_size=2).more is True
