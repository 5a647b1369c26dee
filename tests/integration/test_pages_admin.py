"""Admin pages: catalogue and accounts through the same services as the CLI, admins only."""

from __future__ import annotations

import json

from tests.city import SQUARE, City
from tests.integration.test_pages import csrf, staff_login


def post(city: City, kind: str, files: dict[str, tuple[str, bytes, str]] | None = None,
         **data: str) -> int:
    token = csrf(city, "/staff/admin")
    r = city.client.post(
        f"/staff/admin/{kind}", data={"csrf_token": token, **data}, files=files,
        follow_redirects=False,
    )
    return r.status_code


def test_admin_edits_the_catalogue_and_adds_accounts(city: City) -> None:
    staff_login(city, "admin")
    page = city.client.get("/staff/admin").text
    assert "Pothole" in page and "roads1" in page
    assert post(city, "department", code="water", name_en="Water", name_zh="供水") == 303
    assert post(city, "category", code="leak", name_en="Water leak", name_zh="漏水",
                department="water", first_response_hours="4", resolution_hours="24",
                active="yes") == 303
    feature = {"type": "Feature", "properties": {}, "geometry": SQUARE}
    assert post(city, "area", code="centre", name_en="Centre", name_zh="中心",
                files={"geojson": ("centre.geojson", json.dumps(feature).encode(),
                                   "application/geo+json")}) == 303
    assert post(city, "user", username="water1", role="officer", department="water",
                password="a long password") == 303
    page = city.client.get("/staff/admin").text
    assert "Water leak" in page and "centre" in page and "water1" in page
    # the resident form offers the new category at once
    assert "Water leak" in city.client.get("/report").text

    # a bad GeoJSON or an officer with no department is shown and changes nothing
    assert post(city, "area", code="bad", name_en="Bad", geojson_text='{"type": "Point"}') == 422
    assert post(city, "user", username="x", role="officer", password="a long password") == 422
    page = city.client.get("/staff/admin").text
    assert "bad:" not in page and ">x<" not in page


def test_only_admins_reach_the_admin_pages(city: City) -> None:
    r = city.client.get("/staff/admin", follow_redirects=False)
    assert r.status_code == 303
    staff_login(city, "dispatch")
    assert city.client.get("/staff/admin").status_code == 403
    assert post_as_non_admin(city) == 403


def post_as_non_admin(city: City) -> int:
    token = csrf(city, "/report")
    return city.client.post(
        "/staff/admin/department",
        data={"csrf_token": token, "code": "evil", "name_en": "Evil"},
    ).status_code


def test_admin_sets_keeps_and_clears_extra_fields(city: City) -> None:
    from civicpulse.services.catalogue import export_catalogue

    def fields_of(code: str) -> list[dict[str, object]]:
        cats = export_catalogue(city.ctx)["categories"]
        return next(c["extra_fields"] for c in cats if c["code"] == code)

    staff_login(city, "admin")
    question = [{"code": "depth", "datatype": "singlevaluelist", "required": True,
                 "values": ["shallow", "deep"]}]
    assert post(city, "category", code="hole", name_en="Hole", department="roads",
                extra_fields=json.dumps(question), active="yes") == 303
    assert [f["code"] for f in fields_of("hole")] == ["depth"]
    assert "depth" in city.client.get("/staff/admin").text
    # saving the category again without the field keeps the questions
    assert post(city, "category", code="hole", name_en="Deep hole", active="yes") == 303
    assert [f["code"] for f in fields_of("hole")] == ["depth"]
    # a bad definition is refused and changes nothing
    bad = json.dumps([{"code": "x", "datatype": "colour"}])
    assert post(city, "category", code="hole", name_en="Hole", extra_fields=bad) == 422
    assert post(city, "category", code="hole", name_en="Hole", extra_fields="[{") == 422
    assert [f["code"] for f in fields_of("hole")] == ["depth"]
    assert post(city, "category", code="hole", name_en="Hole", extra_fields="[]",
                active="yes") == 303
    assert fields_of("hole") == []
