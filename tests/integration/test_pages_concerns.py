"""The concern pages on SQLite and PostgreSQL: the public list and a concern's page carry no
personal data and speak Chinese when asked, "me too" from a page counts once per browser,
and the staff board (bursts, hotspots, lead department, follow) answers each role as
``domain/roles.py`` says."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from civicpulse.services.concerns import refresh_concerns, top_concerns
from civicpulse.storage.tables import AuditEntry, ConcernFollow
from tests.city import City
from tests.integration.test_pages import csrf, staff_login

LAMP = ("My name is Wendell Pryce, call me on 13912345678: the streetlight outside "
        "12 Elm Road has been out for a week and the corner is dark")
PERSONAL = ("Wendell", "Pryce", "13912345678", "wendell.pii", "Hortense", "13700001111")


def seed(city: City) -> str:
    """Four residents about one dark streetlight, with names and phones in the contact and
    in the text; returns the concern's key after a refresh."""
    for i in range(4):
        r = city.client.post("/api/v1/voices", json={
            "text": LAMP, "category": "pothole", "location": {"lat": 30.05, "lon": 120.05},
            "contact": {"name": "Hortense Pryce", "phone": f"1370000{1111 + i}",
                        "email": f"wendell.pii{i}@example.org"},
        })
        assert r.status_code == 201, r.text
    refresh_concerns(city.ctx)
    found = top_concerns(city.ctx, None)
    assert found, "no concern was formed"
    return found[0].key


def test_public_page_lists_concerns_with_reasons_and_no_personal_data(city: City) -> None:
    key = seed(city)
    page = city.client.get("/concerns")
    assert page.status_code == 200
    text = page.text
    assert "What residents raise most" in text and f'href="/concerns/{key}"' in text
    assert "Residents" in text and "Contribution" in text and "residents who wrote in" in text
    assert "North Roads" in text  # the department by its name, not its code
    assert 'href="/concerns"' in city.client.get("/").text  # in the public navigation
    detail = city.client.get(f"/concerns/{key}")
    assert detail.status_code == 200
    assert "<polyline" in detail.text and 'action="/cases/' in detail.text
    assert re.search(r'href="/cases/\d+"', detail.text)
    for secret in PERSONAL:
        assert secret not in text, secret
        assert secret not in detail.text, secret
    assert city.client.get("/concerns/no-such-concern").status_code == 404


def test_chinese_pages_have_chinese_headings_and_no_english_words(city: City) -> None:
    key = seed(city)
    english = ("What residents raise most", "Residents", "Score", "Reasons", "Contribution",
               "Departments", "me too", "Me too", "Reports per week", "Cases",
               "residents who wrote in", "North Roads")
    for path in ("/concerns?lang=zh", f"/concerns/{key}"):  # the second by the cookie
        r = city.client.get(path)
        assert r.status_code == 200 and '<html lang="zh-Hans">' in r.text
        for word in english:
            assert word not in r.text, (path, word)
    assert "居民最关心的问题" in city.client.get("/concerns").text
    detail = city.client.get(f"/concerns/{key}").text
    assert "我也遇到了这个问题" in detail and "每周反映条数" in detail and "北区道路" in detail


def _me_too(city: City, path: str, case_id: int, **extra: str) -> Any:
    return city.client.post(
        f"/cases/{case_id}/support",
        data={"csrf_token": csrf(city, path), "back": path, **extra},
        follow_redirects=False,
    )


def test_me_too_twice_from_one_browser_counts_once(city: City) -> None:
    key = seed(city)
    case_id = int(re.findall(r'action="/cases/(\d+)/support"',
                             city.client.get(f"/concerns/{key}").text)[0])
    first = _me_too(city, f"/concerns/{key}", case_id)
    assert first.status_code == 303 and first.headers["location"].startswith(
        f"/concerns/{key}?said=counted")
    device = first.headers["set-cookie"]
    assert "cp_device=" in device and "HttpOnly" in device and "SameSite=lax" in device
    shown = city.client.get(first.headers["location"]).text
    assert "Counted — thank you" in shown
    assert re.search(r'class="supports">1<', shown)
    again = _me_too(city, f"/cases/{case_id}", case_id)
    assert again.headers["location"].startswith(f"/cases/{case_id}?said=again")
    page = city.client.get(again.headers["location"]).text
    assert "You already said so" in page and re.search(r'class="supports">1<', page)
    # another browser counts, and may ask to hear the outcome
    city.client.cookies.clear()
    other = _me_too(city, f"/cases/{case_id}", case_id, email="neighbour.pii@example.org")
    assert "said=counted" in other.headers["location"]
    page = city.client.get(f"/cases/{case_id}").text
    assert re.search(r'class="supports">2<', page) and "neighbour.pii" not in page


def test_me_too_then_me_too_with_an_email_is_one_resident_who_hears_the_outcome(
    city: City,
) -> None:
    """The same browser pressing again with an e-mail address is the same resident: the
    count stays, and the address is kept to tell them the outcome."""
    from sqlalchemy import select

    from civicpulse.storage.tables import SupporterContact

    key = seed(city)
    case_id = int(re.findall(r'action="/cases/(\d+)/support"',
                             city.client.get(f"/concerns/{key}").text)[0])
    assert "said=counted" in _me_too(city, f"/cases/{case_id}", case_id).headers["location"]
    again = _me_too(city, f"/cases/{case_id}", case_id, email="later.pii@example.org")
    assert "said=again-told" in again.headers["location"]
    page = city.client.get(again.headers["location"]).text
    assert "you will be told the outcome" in page and re.search(r'class="supports">1<', page)
    assert "later.pii" not in page
    with city.ctx.db.reader() as s:
        assert s.scalars(select(SupporterContact.email)).all() == ["later.pii@example.org"]
    # and the other way round: e-mail first, then nothing, from a second browser
    city.client.cookies.clear()
    _me_too(city, f"/cases/{case_id}", case_id, email="first.pii@example.org")
    assert "said=again#" in _me_too(city, f"/cases/{case_id}", case_id).headers["location"]
    assert re.search(r'class="supports">2<', city.client.get(f"/cases/{case_id}").text)


def test_a_bad_email_is_answered_beside_the_form_in_the_pages_language(city: City) -> None:
    key = seed(city)
    case_id = int(re.findall(r'action="/cases/(\d+)/support"',
                             city.client.get(f"/concerns/{key}").text)[0])
    bad = _me_too(city, f"/cases/{case_id}", case_id, email="not an address")
    assert bad.status_code == 303 and "said=invalid" in bad.headers["location"]
    page = city.client.get(bad.headers["location"]).text
    assert "does not look right" in page and re.search(r'class="supports">0<', page)
    page = city.client.get(f"/cases/{case_id}?lang=zh&said=invalid").text
    assert "似乎不正确" in page and "does not look right" not in page


def test_me_too_without_the_form_token_is_refused(city: City) -> None:
    key = seed(city)
    case_id = top_concerns(city.ctx, None)[0].case_ids[0]
    city.client.get(f"/concerns/{key}")  # the browser has its CSRF cookie
    r = city.client.post(f"/cases/{case_id}/support", data={"back": f"/cases/{case_id}"},
                         follow_redirects=False)
    assert r.status_code == 403
    assert re.search(r'class="supports">0<', city.client.get(f"/cases/{case_id}").text)


def test_the_status_page_shows_the_count_but_no_button(city: City) -> None:
    r = city.client.post("/api/v1/voices", json={"text": LAMP, "category": "pothole"})
    code, case_id = r.json()["tracking_code"], r.json()["case_id"]
    assert _me_too(city, f"/cases/{case_id}", case_id).status_code == 303
    page = city.client.get(f"/track/{code}").text
    assert re.search(r'class="supports">1<', page)
    assert "/support" not in page and "Me too — this affects me as well" not in page


def test_staff_board_is_for_staff_only(city: City) -> None:
    seed(city)
    r = city.client.get("/staff/concerns", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/staff/login")
    staff_login(city, "dispatch")
    board = city.client.get("/staff/concerns")
    assert board.status_code == 200
    text = board.text
    assert "Concerns board" in text and "Bursts: sudden rises" in text
    assert "Hotspots: where unresolved problems gather" in text
    assert re.search(r'href="/staff/cases/\d+"', text)
    assert "Name the lead department" in text and "Follow" in text
    assert 'href="/staff/concerns"' in text  # in the staff navigation
    zh = city.client.get("/staff/concerns?lang=zh").text
    assert "关注事项看板" in zh and "Bursts" not in zh and "Lead department" not in zh


def test_lead_department_by_a_dispatcher_not_by_an_officer(city: City) -> None:
    key = seed(city)
    staff_login(city, "dispatch")
    token = csrf(city, "/staff/concerns")
    r = city.client.post(f"/staff/concerns/{key}/lead",
                         data={"csrf_token": token, "department": "parks"},
                         follow_redirects=False)
    assert r.status_code == 303 and "done=lead" in r.headers["location"]
    board = city.client.get(r.headers["location"]).text
    assert "The lead department is saved." in board
    assert re.search(r'class="lead-department">Parks<', board)
    with city.ctx.db.reader() as s:
        audited = s.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "concern.lead_set")).all()
    assert audited == ["staff:dispatch"]
    # an officer is not offered the form, and is refused if they send it anyway
    city.client.cookies.clear()
    staff_login(city, "roads1")
    page = city.client.get("/staff/concerns").text
    assert "Name the lead department" not in page and 'class="lead-department">Parks<' in page
    refused = city.client.post(f"/staff/concerns/{key}/lead",
                               data={"csrf_token": csrf(city, "/staff/concerns"),
                                     "department": "roads"}, follow_redirects=False)
    assert refused.status_code == 403
    assert 'class="lead-department">Parks<' in city.client.get("/staff/concerns").text


def test_follow_toggles_and_lists_followed_first(city: City) -> None:
    key = seed(city)
    staff_login(city, "roads1")
    token = csrf(city, "/staff/concerns")

    def follow(value: str) -> None:
        r = city.client.post(f"/staff/concerns/{key}/follow",
                             data={"csrf_token": token, "follow": value},
                             follow_redirects=False)
        assert r.status_code == 303 and "done=follow" in r.headers["location"]

    follow("yes")
    follow("yes")  # twice is one follow
    page = city.client.get("/staff/concerns").text
    assert "Stop following" in page and ">following<" in page
    with city.ctx.db.reader() as s:
        assert s.scalars(select(ConcernFollow.username)).all() == ["roads1"]
    follow("no")
    page = city.client.get("/staff/concerns").text
    assert "Stop following" not in page
    with city.ctx.db.reader() as s:
        assert s.scalars(select(ConcernFollow)).all() == []
