"""The public-surface privacy proof (issue 10): seed personal data through every way text
gets in, run the background passes, then crawl every public page, API route, feed, export
and Open311 answer, and fail on any piece of personal data; staff still see the originals.

Routes are enumerated from the app itself (every GET route not under ``/staff``), so a
public route added later is crawled without anyone remembering to add it here; links found
on the public pages are followed too.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from civicpulse.channels.tabular import file_sha256, open_table
from civicpulse.domain.roles import SYSTEM
from civicpulse.services.concerns import refresh_concerns, top_concerns
from civicpulse.services.import_options import ImportOptions
from civicpulse.services.imports import import_voices
from civicpulse.services.open_data import datasets
from civicpulse.services.redaction_pass import redact_pending
from civicpulse.services.supports import Supporter, support_case
from civicpulse.services.topics import update_topics
from civicpulse.storage.tables import Case, Voice
from tests.city import City

#: what the seeded texts carry; none of it may appear on any public surface
PERSONAL = [
    # the web form
    "Linden", "Okonkwo", "555-0142", "m.okonkwo.pii",
    # the API, English and Chinese, with and without cue words
    "Sanfeng", "13812345678", "zhang.san.pii", "11010519491231002X",
    "霞光北院", "B1-103", "王小明", "13912345678", "谭华清",
    # the import
    "刘德明", "人民路88号", "Sullivan", "bridget.pii",
    # staff replies, transfer reasons, resolutions, rejections
    "Whitaker", "Cedar Avenue", "Hollis", "Birch Road", "陈晓燕", "13612345678",
    "李秀英", "13712345678",
    # residents' verdict comments and contest reasons
    "Whitfield", "555-0199", "周建国", "5栋2单元1803",
    # a "me too" that asked to be told the outcome
    "support.pii", "13512345678",
]

WEB_TEXT = ("I live at 27 Linden Street Apt 4 and the drain outside is blocked. "
            "Call Margaret Okonkwo on (617) 555-0142")
API_TEXT = ("My name is Zhang Sanfeng, call me on 13812345678 or zhang.san.pii@example.com, "
            "ID 11010519491231002X")
ZH_TEXT = "家住C市C2区霞光北院B1-103，楼下垃圾没人清理。我叫王小明，电话13912345678"
ZH_NO_CUE = "谭华清建房占用道路，多次反映无人处理"
IMPORT_ROWS = [
    ["R-1", "刘德明反映井盖缺失", "刘德明反映：人民路88号门口井盖缺失", "pothole"],
    ["R-2", "", "Streetlight out. Contact: Bridget O'Sullivan, bridget.pii@example.net", "tree"],
]


def _api_voice(city: City, text: str, **extra: Any) -> dict[str, Any]:
    r = city.client.post("/api/v1/voices", json={"text": text, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _web_voice(city: City) -> str:
    form = city.client.get("/report")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    r = city.client.post("/report", follow_redirects=False, data={
        "csrf_token": token.group(1), "text": WEB_TEXT, "category": "pothole",
        "contact_name": "Margaret Okonkwo", "contact_email": "m.okonkwo.pii@example.org",
        "consent": "yes",
    })
    assert r.status_code == 303, r.text
    return str(r.headers["location"].rsplit("/", 1)[1])


def _import(city: City, folder: Path) -> None:
    path = folder / "hotline.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", "title", "text", "category"], *IMPORT_ROWS])
    table = open_table(path)
    try:
        options = ImportOptions(mapping={"external_id": "id", "title": "title", "text": "text",
                                         "category": "category"})
        report = import_voices(city.ctx, SYSTEM, table, file_sha256(path), options)
    finally:
        table.close()
    assert report.imported == 2


def _act(city: City, case_id: int, action: str, who: str, **body: Any) -> None:
    r = city.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                         headers=city.token(who))
    assert r.status_code == 200, (action, r.text)


def _seed(city: City, folder: Path) -> dict[str, int]:
    """Personal data through every way text reaches a case; returns case ids by role."""
    _web_voice(city)
    english = _api_voice(city, API_TEXT, category="pothole")
    chinese = _api_voice(city, ZH_TEXT, category="pothole")
    no_cue = _api_voice(city, ZH_NO_CUE, category="tree")
    _import(city, folder)
    case = english["case_id"]  # routed to roads
    _act(city, case, "start", "roads1")
    _act(city, case, "reply", "roads1",
         message="We spoke to Daniel Whitaker at 9 Cedar Avenue; he says it is deep")
    _act(city, case, "transfer", "roads1", department="parks",
         reason="Mr Hollis at 14 Birch Road says this is the park's tree")
    _act(city, case, "start", "parks1")
    _act(city, case, "resolve", "parks1", message="Fixed; told 陈晓燕 on 13612345678")
    verdict = city.client.post(f"/api/v1/track/{english['tracking_code']}/verification", json={
        "fixed": False, "satisfaction": 1,
        "comment": "Not fixed! Sarah Whitfield here, ring 617-555-0199"})
    assert verdict.status_code == 200, verdict.text
    _act(city, chinese["case_id"], "reject", "roads1",
         reason="经核实为李秀英私人院内，电话13712345678")
    contest = city.client.post(f"/api/v1/track/{chinese['tracking_code']}/contest",
                               json={"reason": "我是居民周建国，住在万科城5栋2单元1803"})
    assert contest.status_code == 200, contest.text
    _act(city, no_cue["case_id"], "merge", "dispatch", into_case_id=case)
    support_case(city.ctx, chinese["case_id"], Supporter(
        email="support.pii@example.org", phone="13512345678", notify=True, language="zh"))
    return {"english": case, "chinese": chinese["case_id"], "merged": no_cue["case_id"]}


def _get_routes(city: City) -> Iterator[str]:
    """Every GET route's path template, walking included routers."""

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "routes") and not getattr(r, "methods", None):
                yield from walk(r.routes, prefix + getattr(r, "path", ""))
            elif getattr(r, "methods", None):
                yield prefix + r.path, set(r.methods)

    app = city.client.app
    for path, methods in walk(app.routes):  # type: ignore[attr-defined]
        if "GET" in methods and not path.startswith("/staff"):
            yield path


def _fill(template: str, values: dict[str, list[str]]) -> list[str]:
    """Every URL a template makes with the seeded values; none for unknown parameters."""
    urls = [template]
    for name in re.findall(r"{([^}:]+)(?::[^}]*)?}", template):
        if name not in values:
            return []
        urls = [re.sub(r"{" + name + r"(?::[^}]*)?}", v, u, count=1)
                for u in urls for v in values[name]]
    return urls


def _links(body: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'(?:href|src)="(/[^"]*)"', body)]


def _crawl(
    city: City, codes: list[str], case_ids: list[int], keys: list[str] | None = None
) -> dict[str, str]:
    ids = [str(i) for i in case_ids]
    values = {
        "case_id": ids, "service_request_id": ids, "tracking_code": codes, "code": codes,
        "token": codes, "fmt": ["json", "xml"], "service_code": ["pothole", "tree", "other"],
        "name": sorted(datasets()), "key": keys or [f"c{i}" for i in case_ids],
    }
    todo = [u for t in _get_routes(city) for u in _fill(t, values)]
    todo += [f"/cases?q={q}" for q in ("138", "139", "137", "136", "555", "example", "Sanfeng",
                                        "刘德明", "谭华清", "1949", "pii")]
    todo += ["/open311/v2/servicerequestupdates.json?start_date=2026-01-01T00:00:00Z",
             "/open311/v2/servicerequestupdates.xml?start_date=2026-01-01T00:00:00Z",
             "/open311/v2/requests.json?status=open,closed", "/api/v1/topics?min_size=3"]
    seen: dict[str, str] = {}
    while todo and len(seen) < 600:
        url = todo.pop(0)
        if url in seen or url.startswith(("/staff", "/static")):
            continue
        for lang in ("en", "zh"):
            sep = "&" if "?" in url else "?"
            r = city.client.get(f"{url}{sep}lang={lang}", follow_redirects=True)
            assert r.status_code < 500, (url, r.status_code)
            seen[f"{url}|{lang}"] = r.text
            seen.setdefault(url, r.text)
            if r.headers.get("content-type", "").startswith("text/html"):
                todo += [link for link in _links(r.text) if link not in seen]
    return seen


def _leaks(bodies: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for url, body in bodies.items():
        asked = re.search(r"[?&]q=([^&|]*)", url)
        if asked:  # the search box and the pager repeat what the visitor typed
            q = asked.group(1)
            body = body.replace(f'value="{q}"', "").replace(f"q={quote(q)}", "")
        decoded = body
        if body[:1] in "[{":
            with contextlib.suppress(ValueError):
                decoded = json.dumps(json.loads(body), ensure_ascii=False)
        for part in PERSONAL:
            if part in body or part in decoded:
                found.append((url.split("|")[0], part))
    return sorted(set(found))


def test_no_public_surface_shows_personal_data(city: City, tmp_path: Path) -> None:
    seeded = _seed(city, tmp_path)
    redact_pending(city.ctx)
    update_topics(city.ctx)
    refresh_concerns(city.ctx)
    with city.ctx.db.reader() as s:
        codes = list(s.scalars(select(Case.tracking_code).order_by(Case.id)))
        case_ids = list(s.scalars(select(Case.id).order_by(Case.id)))
    assert len(case_ids) == 6
    keys = [c.key for c in top_concerns(city.ctx, None, top=50)]
    assert f"c{seeded['english']}" in keys and f"c{seeded['chinese']}" in keys
    bodies = _crawl(city, codes, case_ids, keys)
    # the crawl reached every kind of surface
    for must in ("/", "/cases", "/map", "/league", "/data/cases.csv", "/data/cases.json",
                 "/api/v1/topics", "/api/v1/concerns", f"/api/v1/concerns/{keys[0]}",
                 "/open311/v2/requests.json", "/open311/v2/requests.xml",
                 f"/api/v1/track/{codes[1]}", f"/track/{codes[1]}", f"/cases/{case_ids[1]}",
                 "/open311/v2/servicerequestupdates.json?start_date=2026-01-01T00:00:00Z"):
        assert must in bodies, must
    assert _leaks(bodies) == []
    # what was hidden is still there, redacted, on the public pages
    english = bodies[f"/cases/{seeded['english']}"]
    assert "My name is [name]" in english and "told [name] on [phone]" in english
    assert "Mr [name] at [address]" in english and "[name] here, ring [phone]" in english
    assert "(being checked for personal data)" not in english  # the pass checked everything
    assert f"/cases/{seeded['english']}" not in bodies["/cases?q=138"]
    # staff see the originals
    admin = city.token("admin")
    staff_text = json.dumps(
        [city.client.get(f"/api/v1/cases/{i}", headers=admin).json() for i in case_ids],
        ensure_ascii=False,
    )
    for part in PERSONAL:
        # the web form's contact is separate; a supporter's is kept for notices only
        if part not in ("Okonkwo", "m.okonkwo.pii", "support.pii", "13512345678"):
            assert part in staff_text, part
    assert "Okonkwo" in staff_text  # in the text and in the contact


def test_the_crawl_fails_on_a_leak(city: City, tmp_path: Path) -> None:
    """The crawl itself is checked: a text written past the gate is caught."""
    _api_voice(city, API_TEXT, category="pothole")
    with city.ctx.db.transaction() as s:
        case = s.scalars(select(Case)).one()
        s.execute(
            Case.__table__.update()  # type: ignore[attr-defined]
            .where(Case.__table__.c.id == case.id)  # type: ignore[attr-defined]
            .values(public_title=API_TEXT)
        )
        voice_count = len(s.scalars(select(Voice)).all())
    assert voice_count == 1
    with city.ctx.db.reader() as s:
        codes = list(s.scalars(select(Case.tracking_code)))
        ids = list(s.scalars(select(Case.id)))
    leaks = _leaks(_crawl(city, codes, ids))
    assert ("/cases", "13812345678") in leaks
