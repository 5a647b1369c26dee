"""Same-problem matching at intake, the undo of a merge, and urgency, through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from civicpulse.services.audit import verify_audit_log
from civicpulse.services.same_problem import rerun
from civicpulse.storage.tables import CaseEvent, MatchKey, VoiceInsight
from tests.city import City

SPOT = {"lat": 30.05, "lon": 120.05}


def _submit(city: City, text: str, **extra: Any) -> dict[str, Any]:
    r = city.client.post("/api/v1/voices", json={"text": text, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _auto_merge(city: City) -> None:
    city.ctx.settings.match_auto_merge = True


def test_a_second_report_of_the_same_spot_joins_the_open_case(city: City) -> None:
    _auto_merge(city)
    first = _submit(city, "Deep pothole in front of number 12", category="pothole",
                    location=SPOT)
    city.ctx.clock.advance(hours=5)  # type: ignore[attr-defined]
    second = _submit(city, "Big hole in the road, my tyre burst", category="pothole",
                     location={"lat": 30.05001, "lon": 120.05001},
                     contact={"email": "res@example.test"})
    assert second["case_id"] != first["case_id"]
    assert second["case_status"] == "merged"
    # the resident's own code shows the shared case, never the other resident's code
    track = city.client.get(f"/api/v1/track/{second['tracking_code']}").json()
    assert track["joined"]["case_id"] == first["case_id"]
    assert first["tracking_code"] not in str(track)
    admin = city.token("admin")
    detail = city.client.get(f"/api/v1/cases/{second['case_id']}", headers=admin).json()
    merge = [e for e in detail["timeline"] if e["kind"] == "merge"][-1]
    assert merge["actor"] == "system:matching"
    assert merge["data"]["automatic"] is True and merge["data"]["reasons"]
    seen = city.client.get(
        f"/api/v1/cases/{first['case_id']}/understanding", headers=admin
    ).json()
    assert second["case_id"] in seen["merged_in_case_ids"]
    with city.ctx.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(MatchKey)) > 0
        merged_mail = s.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "merged_in")
        )
    assert merged_mail == 1


def test_different_places_or_categories_stay_apart(city: City) -> None:
    _auto_merge(city)
    _submit(city, "Deep pothole in front of number 12", category="pothole", location=SPOT)
    far = _submit(city, "Deep pothole in front of number 12", category="pothole",
                  location={"lat": 30.09, "lon": 120.05})
    other = _submit(city, "Deep pothole in front of number 12", category="tree",
                    location=SPOT)
    assert far["case_status"] != "merged" and other["case_status"] != "merged"


def test_without_auto_merge_the_match_is_proposed_to_staff(city: City) -> None:
    first = _submit(city, "小区门口路灯坏了，晚上一片漆黑", title="小区门口路灯坏了")
    second = _submit(city, "小区门口的路灯坏了好几天，晚上很黑", title="小区门口路灯坏了")
    assert second["case_status"] != "merged"
    view = city.client.get(
        f"/api/v1/cases/{second['case_id']}/understanding", headers=city.token("dispatch")
    ).json()
    assert view["voices"][0]["matched_case_id"] == first["case_id"]
    assert view["voices"][0]["match_action"] == "suggested"


def test_staff_undo_an_automatic_merge_and_it_is_audited(city: City) -> None:
    _auto_merge(city)
    first = _submit(city, "Tree fell across the path", category="tree", location=SPOT)
    second = _submit(city, "Fallen tree blocks the park path", category="tree", location=SPOT)
    assert second["case_status"] == "merged"
    officer = city.token("parks1")
    refused = city.client.post(f"/api/v1/cases/{second['case_id']}/unmerge",
                               json={"reason": "not the same"}, headers=officer)
    assert refused.status_code == 403
    disp = city.token("dispatch")
    missing = city.client.post(f"/api/v1/cases/{second['case_id']}/unmerge",
                               json={"reason": " "}, headers=disp)
    assert missing.status_code == 422
    r = city.client.post(f"/api/v1/cases/{second['case_id']}/unmerge",
                         json={"reason": "a different tree, 2 streets away"}, headers=disp)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "assigned"  # where it was before the merge
    again = city.client.post(f"/api/v1/cases/{second['case_id']}/unmerge",
                             json={"reason": "twice"}, headers=disp)
    assert again.status_code == 409
    track = city.client.get(f"/api/v1/track/{second['tracking_code']}").json()
    assert track["joined"] is None
    kinds = [e["kind"] for e in track["timeline"]]
    assert kinds[-1] == "unmerged"
    target = city.client.get(f"/api/v1/cases/{first['case_id']}", headers=disp).json()
    assert target["timeline"][-1]["kind"] == "split_out"
    assert verify_audit_log(city.ctx.db)[1] == []


def test_a_manual_merge_can_be_undone_too(city: City) -> None:
    a = _submit(city, "Graffiti on the wall of the library")
    b = _submit(city, "Bench broken in the square")
    disp = city.token("dispatch")
    r = city.client.post(f"/api/v1/cases/{b['case_id']}/merge",
                         json={"into_case_id": a["case_id"]}, headers=disp)
    assert r.status_code == 200
    r = city.client.post(f"/api/v1/cases/{b['case_id']}/unmerge",
                         json={"reason": "merged by mistake"}, headers=disp)
    assert r.status_code == 200 and r.json()["status"] == "submitted"


def test_urgency_is_assessed_at_intake_with_its_reasons(city: City) -> None:
    urgent = _submit(city, "Strong smell of gas, I think there is a gas leak in the stairwell")
    calm = _submit(city, "Please add a bench in the park")
    disp = city.token("dispatch")
    u = city.client.get(f"/api/v1/cases/{urgent['case_id']}/understanding", headers=disp).json()
    c = city.client.get(f"/api/v1/cases/{calm['case_id']}/understanding", headers=disp).json()
    assert u["urgency"] == "urgent" and c["urgency"] == "normal"
    assert {r["rule"] for r in u["urgency_reasons"]} == {"danger_to_life"}
    timeline = city.client.get(f"/api/v1/cases/{urgent['case_id']}", headers=disp).json()
    assert any(e["kind"] == "flagged_urgent" and not e["public"] for e in timeline["timeline"])


def test_staff_marks_teach_the_urgency_model(city: City) -> None:
    from civicpulse.services.urgency import current_model, train_urgency

    disp = city.token("dispatch")
    for n in range(3):
        lift = _submit(city, f"Lift stuck with people inside, block {n}")
        bench = _submit(city, f"Please repaint the bench number {n}")
        for case, urgent in ((lift, True), (bench, False)):
            r = city.client.post(f"/api/v1/cases/{case['case_id']}/urgency",
                                 json={"urgent": urgent, "reason": "dispatcher's call"},
                                 headers=disp)
            assert r.status_code == 204, r.text
    auditor = city.client.post(f"/api/v1/cases/{lift['case_id']}/urgency",
                               json={"urgent": False, "reason": "x"},
                               headers=city.token("audit"))
    assert auditor.status_code == 403
    path = train_urgency(city.ctx)
    assert path.name == "urgency-v1.json"
    assert current_model(city.ctx.settings) is not None
    later = _submit(city, "Lift stuck again, people inside")
    view = city.client.get(f"/api/v1/cases/{later['case_id']}/understanding", headers=disp)
    sources = {r["source"] for r in view.json()["urgency_reasons"]}
    assert "model" in sources


def test_rerun_indexes_voices_that_came_in_another_way(city: City) -> None:
    _submit(city, "Broken street light", location=SPOT)
    with city.ctx.db.transaction() as s:
        s.execute(MatchKey.__table__.delete())
        s.execute(VoiceInsight.__table__.delete())
    assert rerun(city.ctx) == 1
    assert rerun(city.ctx) == 0
    assert rerun(city.ctx, everything=True) == 1


def test_the_staff_page_shows_urgency_and_undoes_a_merge(city: City) -> None:
    from tests.integration.test_pages import csrf, staff_login

    _auto_merge(city)
    first = _submit(city, "Water main burst, no water in the whole building", location=SPOT)
    second = _submit(city, "Water main burst: no water in our building", location=SPOT)
    assert second["case_status"] == "merged"
    staff_login(city, "dispatch")
    page = city.client.get(f"/staff/cases/{first['case_id']}")
    assert page.status_code == 200
    assert "essential utility out" in page.text and "urgent" in page.text
    merged = city.client.get(f"/staff/cases/{second['case_id']}")
    assert f"/staff/cases/{second['case_id']}/unmerge" in merged.text
    token = csrf(city, f"/staff/cases/{second['case_id']}")
    r = city.client.post(f"/staff/cases/{second['case_id']}/unmerge",
                         data={"csrf_token": token, "reason": "another building"},
                         follow_redirects=False)
    assert r.status_code == 303, r.text
    after = city.client.get(f"/staff/cases/{second['case_id']}?lang=zh")
    assert f"/staff/cases/{second['case_id']}/unmerge" not in after.text
    assert "已撤销合并" in after.text  # the timeline, in Chinese
    r = city.client.post(f"/staff/cases/{first['case_id']}/urgency",
                         data={"csrf_token": token, "reason": "whole building", "urgent": "no"},
                         follow_redirects=False)
    assert r.status_code == 303
    view = city.client.get(f"/api/v1/cases/{first['case_id']}/understanding",
                           headers=city.token("dispatch")).json()
    assert view["urgency"] == "normal" and view["marked_by_staff"]


def test_a_merge_that_fails_never_loses_the_voice(city: City, monkeypatch: Any) -> None:
    import civicpulse.services.same_problem as understanding
    from civicpulse.domain.errors import ValidationFailed

    def refuse(*_: Any, **__: Any) -> None:
        raise ValidationFailed("the other case changed")

    _auto_merge(city)
    first = _submit(city, "Deep pothole in front of number 12", category="pothole",
                    location=SPOT)
    monkeypatch.setattr(understanding, "merge_within", refuse)
    second = _submit(city, "Deep pothole in front of number 12", category="pothole",
                     location=SPOT)
    assert second["case_status"] != "merged"
    view = city.client.get(f"/api/v1/cases/{second['case_id']}/understanding",
                           headers=city.token("dispatch")).json()
    assert view["voices"][0]["matched_case_id"] == first["case_id"]
    assert view["voices"][0]["match_action"] == "suggested"
