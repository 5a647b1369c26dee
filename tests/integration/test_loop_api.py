"""The listening loop end to end through the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.city import City


def submit(city: City, **body: object) -> dict:
    payload = {"text": "Deep pothole outside the school gate", **body}
    r = city.client.post("/api/v1/voices", json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def test_voice_routed_worked_resolved_and_confirmed(city: City) -> None:
    v = submit(city, category="pothole", contact={"name": "Li Lei", "email": "li@example.org"})
    assert v["case_status"] == "assigned" and v["department"] == "roads"
    officer = city.token("roads1")
    cid = v["case_id"]
    assert city.client.post(f"/api/v1/cases/{cid}/start", headers=officer).json()["status"] == (
        "in_progress"
    )
    r = city.client.post(f"/api/v1/cases/{cid}/resolve", json={"message": "Filled today."},
                         headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    track = city.client.get(f"/api/v1/track/{v['tracking_code']}").json()
    assert track["awaiting_verification"] is True
    assert "li@example.org" not in str(track) and "Li Lei" not in str(track)
    r = city.client.post(f"/api/v1/track/{v['tracking_code']}/verification",
                         json={"fixed": True, "satisfaction": 5, "comment": "thanks"})
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    again = city.client.post(f"/api/v1/track/{v['tracking_code']}/verification",
                             json={"fixed": False, "satisfaction": 1})
    assert again.status_code == 409
    card = {row["department"]: row for row in
            city.client.get("/api/v1/departments/scorecard").json()}
    assert card["roads"]["cases_received"] == 1
    assert card["roads"]["confirmed_resolution_rate"] == 1.0
    assert card["roads"]["satisfaction_mean"] == 5.0
    detail = city.client.get(f"/api/v1/cases/{cid}", headers=officer).json()
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds == ["submitted", "assigned", "start", "resolve", "confirm"]
    assert detail["voices"][0]["contact"]["email"] == "li@example.org"


def test_not_fixed_reopens_and_counts_against_department(city: City) -> None:
    v = submit(city, category="pothole")
    officer = city.token("roads1")
    city.client.post(f"/api/v1/cases/{v['case_id']}/resolve", json={"message": "done"},
                     headers=officer)
    r = city.client.post(f"/api/v1/track/{v['tracking_code']}/verification",
                         json={"fixed": False, "satisfaction": 2})
    assert r.json()["status"] == "reopened"
    card = {row["department"]: row for row in
            city.client.get("/api/v1/departments/scorecard").json()}
    assert card["roads"]["reopen_rate"] == 1.0
    assert card["roads"]["confirmed_resolution_rate"] == 0.0


def test_area_rule_overrides_category_department(city: City) -> None:
    v = submit(city, category="pothole", location={"lat": 30.05, "lon": 120.05})
    assert v["department"] == "north-roads"
    outside = submit(city, category="pothole", location={"lat": 31.0, "lon": 121.0})
    assert outside["department"] == "roads"


def test_uncategorised_voice_waits_for_dispatcher(city: City) -> None:
    v = submit(city, text="路灯坏了三天了")
    assert v["case_status"] == "submitted" and v["department"] is None
    disp = city.token("dispatch")
    r = city.client.post(f"/api/v1/cases/{v['case_id']}/assign", json={"department": "parks"},
                         headers=disp)
    assert r.status_code == 200 and r.json()["department"] == "parks"
    r = city.client.post(f"/api/v1/cases/{v['case_id']}/transfer",
                         json={"department": "roads", "reason": "street lights are roads"},
                         headers=city.token("parks1"))
    assert r.json()["department"] == "roads"
    detail = city.client.get(f"/api/v1/cases/{v['case_id']}", headers=disp).json()
    hops = [(e["from_department"], e["to_department"]) for e in detail["timeline"]
            if e["kind"] in ("assign", "transfer")]
    assert hops == [(None, "parks"), ("parks", "roads")]
    assert detail["voices"][0]["language"] == "zh"
