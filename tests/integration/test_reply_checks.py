"""The reply check on a real database: the officer's nudge before a hollow resolution (never
a block), the assessment kept with every public answer whatever door it came through, and
the city's reference of past replies built by the job and read by each process."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from civicpulse.services.reply_checks import (
    check_reply,
    city_reference,
    rebuild_reference,
    reference_path,
)
from civicpulse.storage.tables import Case, CaseEvent
from tests.city import City
from tests.integration.test_pages import csrf, staff_login

LAMP = "小区3栋门口的路灯坏了两个星期，晚上一片漆黑，老人出门很不安全，请尽快修复。"
HOLLOW = "您的来信已收悉，感谢您对我们工作的关注和支持。"
ANSWER = "经查，小区3栋门口路灯灯管损坏，我局已于3月5日安排维修人员更换灯管，路灯已恢复照明。"


def _case(city: City) -> int:
    r = city.client.post("/api/v1/voices", json={"text": LAMP, "category": "pothole"})
    assert r.status_code == 201, r.text
    case_id = int(r.json()["case_id"])  # routed to roads by its category
    r = city.client.post(f"/api/v1/cases/{case_id}/start", json={},
                         headers=city.token("roads1"))
    assert r.status_code == 200, r.text
    return case_id


def _resolve(city: City, case_id: int, message: str, lang: str = "en",
             **extra: str) -> Any:
    token = csrf(city, f"/staff/cases/{case_id}?lang={lang}")
    return city.client.post(
        f"/staff/cases/{case_id}/resolve",
        data={"csrf_token": token, "message": message, **extra},
        follow_redirects=False,
    )


def _resolutions(city: City, case_id: int) -> list[dict[str, Any]]:
    with city.ctx.db.reader() as s:
        return [dict(d) for d in s.scalars(select(CaseEvent.data).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == "resolve"))]


def _status(city: City, case_id: int) -> str:
    with city.ctx.db.reader() as s:
        return str(s.scalar(select(Case.status).where(Case.id == case_id)))


def test_a_hollow_resolution_is_questioned_before_sending_and_may_still_be_sent(
    city: City,
) -> None:
    case_id = _case(city)
    staff_login(city, "roads1")
    nudged = _resolve(city, case_id, HOLLOW)
    assert nudged.status_code == 200
    page = nudged.text
    assert 'class="error nudge"' in page and "Before you send" in page
    assert "it does not take up what the resident wrote" in page
    assert re.search(r'<textarea id="resolve-message"[^>]*>' + re.escape(HOLLOW), page)
    assert 'name="send_anyway" value="yes"' in page
    assert _status(city, case_id) == "in_progress" and _resolutions(city, case_id) == []

    sent = _resolve(city, case_id, HOLLOW, send_anyway="yes")
    assert sent.status_code == 303, sent.text
    assert _status(city, case_id) == "resolved"
    (data,) = _resolutions(city, case_id)
    kept = data["reply"]
    assert kept["hollow"] and kept["sent_anyway"] and "does_not_answer" in kept["flags"]
    assert "3栋" not in str(kept) and "路灯" not in str(kept)  # codes, not the resident's words


def test_an_answer_is_sent_at_once_and_its_assessment_kept(city: City) -> None:
    case_id = _case(city)
    staff_login(city, "roads1")
    sent = _resolve(city, case_id, ANSWER)
    assert sent.status_code == 303, sent.text
    (data,) = _resolutions(city, case_id)
    assert data["reply"]["hollow"] is False and data["reply"]["sent_anyway"] is False
    assert data["reply"]["concrete"] is True and data["reply"]["relevance"] >= 0.5


def test_the_nudge_speaks_the_pages_language(city: City) -> None:
    case_id = _case(city)
    staff_login(city, "roads1")
    page = _resolve(city, case_id, HOLLOW, lang="zh").text
    assert '<html lang="zh-Hans">' in page
    assert "发送之前请注意" in page and "没有回应居民所反映的问题" in page
    assert "按原样发送" in page
    for english in ("Before you send", "does not take up", "Send it as it is", "Why:"):
        assert english not in page


def test_answers_through_the_api_are_assessed_too_and_notes_are_not(city: City) -> None:
    case_id = _case(city)
    roads = city.token("roads1")
    for action, body in (("note", {"message": "call the contractor", "public": False}),
                         ("reply", {"message": HOLLOW, "public": True}),
                         ("resolve", {"message": ANSWER})):
        path = "reply" if action == "note" else action
        r = city.client.post(f"/api/v1/cases/{case_id}/{path}", json=body, headers=roads)
        assert r.status_code == 200, r.text
    with city.ctx.db.reader() as s:
        rows = s.execute(select(CaseEvent.kind, CaseEvent.public, CaseEvent.data).where(
            CaseEvent.case_id == case_id, CaseEvent.kind.in_(("reply", "resolve")))
            .order_by(CaseEvent.id)).all()
    kept = [(kind, public, (data or {}).get("reply", {}).get("hollow")) for kind, public, data
            in rows]
    assert kept == [("reply", False, None), ("reply", True, True), ("resolve", True, False)]


def test_the_reference_is_built_from_the_citys_answers_and_read_when_it_changes(
    city: City,
) -> None:
    assert city_reference(city.ctx).replies == 0  # none yet: relevance alone
    roads = city.token("roads1")
    earlier = ("感谢您的来信。经查，人民路排水井盖已于3月2日更换。",
               "感谢您的来信。公园长椅已由园林处于3月3日修好。",
               "感谢您的来信。河西菜市场噪音问题已于3月4日约谈经营者。")
    for message in earlier:
        case_id = _case(city)
        r = city.client.post(f"/api/v1/cases/{case_id}/resolve", json={"message": message},
                             headers=roads)
        assert r.status_code == 200, r.text
    assert rebuild_reference(city.ctx) == 3
    assert reference_path(city.ctx).exists()
    assert rebuild_reference(city.ctx) is None  # fresh: not built again within the day
    assert city_reference(city.ctx).replies == 3
    assert city_reference(city.ctx).weight("感谢") < city_reference(city.ctx).weight("路灯")
    case_id = _case(city)
    answer = check_reply(city.ctx, case_id, ANSWER).assessment
    hollow = check_reply(city.ctx, case_id, HOLLOW).assessment
    assert answer.relevance > hollow.relevance and not answer.deflection
    r = city.client.post(f"/api/v1/cases/{case_id}/resolve", json={"message": ANSWER},
                         headers=roads)
    assert r.status_code == 200, r.text
    assert rebuild_reference(city.ctx, force=True) == 4
    assert city_reference(city.ctx).replies == 4  # each process reads the new file
