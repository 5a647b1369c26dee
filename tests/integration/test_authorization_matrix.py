"""Who may call what: one table, role × route → the answer, on SQLite and PostgreSQL.

Every route the app serves (the JSON API, the pages, case photos, Open311) has a row in
``TABLE`` with the status each role must get, and a route the app gains without a row fails
``test_every_route_is_in_the_table``: a new route cannot slip in unchecked.

Each request is well formed and its case is in a state that allows the action, so the
answer says who the caller is allowed to be, not whether the body parsed. A row that
changes a case gets a fresh case in the state it needs for every role (``state``); the
others share one case of the roads department with a resident's photo. The cells are:
a status code; ``L`` for a redirect to the staff login page (a page's "log in first");
``303`` for any other redirect (a page's "done").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from civicpulse.domain.roles import SYSTEM
from civicpulse.domain.tracking import new_tracking_codes
from civicpulse.services.concerns import refresh_concerns
from civicpulse.services.staff import add_api_key, add_user, login
from civicpulse.services.supports import Supporter, support_case
from civicpulse.storage.tables import Case
from tests.city import PASSWORD, City
from tests.unit.test_photos import jpeg_with_exif

#: who calls; ``officer`` works in the roads department that owns every case here,
#: ``officer_other`` in parks; ``key_as_account`` is bound to a roads officer's account
ROLES = (
    "anonymous", "resident", "key", "key_as_account",
    "officer", "officer_other", "dispatcher", "admin", "auditor",
)  # fmt: skip
STAFF = {"officer": "roads1", "officer_other": "parks1", "dispatcher": "dispatch",
         "admin": "admin", "auditor": "audit"}  # fmt: skip
CSRF = "matrix-csrf-token-0123456789"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    #: the answer for each role, in ``ROLES`` order
    expect: str
    #: the case the request is about: the shared one, or a fresh one in this state
    state: str = "shared"
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = field(default=None)
    #: logs out or the like: staff roles get a session of their own for it
    fresh_session: bool = False


ANY = "200 200 200 200 200 200 200 200 200"
NOBODY = "404 404 404 404 404 404 404 404 404"
STAFF_ONLY = "401 401 401 401 200 200 200 200 200"
CASE_READ = "401 401 401 401 200 403 200 200 200"
RESIDENT_ONLY = "404 200 404 404 404 404 404 404 404"
PAGE_STAFF = "L L L L 200 200 200 200 200"
PAGE_CASE = "L L L L 200 403 200 200 200"
KEY_ONLY = "403 403 200 200 403 403 403 403 403"
O311 = "/open311/v2"
OTHER_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

TABLE: list[Row] = [
    Row("GET", "/healthz", ANY),
    Row("GET", "/openapi.json", ANY),
    Row("HEAD", "/openapi.json", ANY),
    # ---- JSON API: intake, login, residents, public figures
    Row("POST", "/api/v1/voices", "201 201 201 201 201 201 201 201 201",
        json={"text": "matrix pothole", "category": "pothole"}),
    Row("POST", "/api/v1/auth/token", "401 401 401 401 401 401 401 401 401",
        form={"username": "nobody", "password": "wrong password"}),
    Row("POST", "/api/v1/auth/logout", "401 401 401 401 204 204 204 204 204",
        fresh_session=True),
    Row("POST", "/api/v1/auth/password", "401 401 401 401 403 403 403 403 403",
        json={"current_password": "not the password", "new_password": "a new password"}),
    Row("GET", "/api/v1/track/{tracking_code}", RESIDENT_ONLY),
    Row("POST", "/api/v1/track/{tracking_code}/verification", RESIDENT_ONLY,
        state="resolved", json={"fixed": True, "satisfaction": 4}),
    Row("POST", "/api/v1/track/{tracking_code}/contest", RESIDENT_ONLY,
        state="rejected", json={"reason": "it is a real problem"}),
    Row("GET", "/api/v1/departments/scorecard", ANY),
    Row("GET", "/api/v1/topics", ANY),
    Row("GET", "/api/v1/hotspots", ANY),
    Row("GET", "/api/v1/bursts", ANY),
    Row("GET", "/api/v1/formalism", ANY),
    # concerns are public (staff get ids), "me too" too (one per resident, rate-limited)
    Row("GET", "/api/v1/concerns", ANY),
    Row("GET", "/api/v1/concerns/{key}", ANY),
    Row("POST", "/api/v1/cases/{case_id}/support", ANY,
        json={"device": "matrix-device-token-0001"}),
    Row("POST", "/api/v1/understand", "401 401 200 200 200 200 200 200 200",
        json={"text": "deep pothole by the school"}),
    # ---- JSON API: staff over cases
    Row("GET", "/api/v1/cases", STAFF_ONLY),
    Row("GET", "/api/v1/cases/{case_id}", CASE_READ),
    Row("GET", "/api/v1/cases/{case_id}/understanding", CASE_READ),
    Row("GET", "/api/v1/cases/{case_id}/formalism", CASE_READ),
    # a flag is explained by its department's officers, dispatchers and admins
    Row("POST", "/api/v1/formalism/explanations", "401 401 401 401 201 403 201 201 403",
        state="disputed", json={"flag": "{flag}", "text": "the fix did not hold"}),
    Row("POST", "/api/v1/cases/{case_id}/assign", "401 401 401 401 403 403 200 200 403",
        state="submitted", json={"department": "roads"}),
    Row("POST", "/api/v1/cases/{case_id}/transfer", "401 401 401 401 200 403 200 200 403",
        state="assigned", json={"department": "parks", "reason": "theirs"}),
    Row("POST", "/api/v1/cases/{case_id}/start", "401 401 401 401 200 403 403 200 403",
        state="assigned", json={}),
    Row("POST", "/api/v1/cases/{case_id}/reply", "401 401 401 401 200 403 200 200 403",
        state="assigned", json={"message": "we are on it"}),
    Row("POST", "/api/v1/cases/{case_id}/resolve", "401 401 401 401 200 403 403 200 403",
        state="assigned", json={"message": "filled"}),
    Row("POST", "/api/v1/cases/{case_id}/reject", "401 401 401 401 200 403 200 200 403",
        state="assigned", json={"reason": "not ours"}),
    Row("POST", "/api/v1/cases/{case_id}/merge", "401 401 401 401 403 403 200 200 403",
        state="assigned", json={"into_case_id": "{other_case_id}"}),
    Row("POST", "/api/v1/cases/{case_id}/unmerge", "401 401 401 401 403 403 200 200 403",
        state="merged", json={"reason": "two problems"}),
    Row("POST", "/api/v1/cases/{case_id}/urgency", "401 401 401 401 204 403 204 204 403",
        state="assigned", json={"urgent": True, "reason": "children at risk"}),
    # ---- Open311 GeoReport v2: reads are public, writes need a key (updates: bound to staff)
    Row("GET", f"{O311}/discovery.{{fmt}}", ANY),
    Row("GET", f"{O311}/services.{{fmt}}", ANY),
    Row("GET", f"{O311}/services/{{service_code}}.{{fmt}}", ANY),
    Row("POST", f"{O311}/requests.{{fmt}}", KEY_ONLY,
        form={"service_code": "pothole", "lat": "30.05", "long": "120.05",
              "description": "matrix pothole"}),
    Row("GET", f"{O311}/requests.{{fmt}}", ANY),
    Row("GET", f"{O311}/requests/{{service_request_id}}.{{fmt}}", ANY),
    Row("GET", f"{O311}/tokens/{{token}}.{{fmt}}", NOBODY),
    Row("GET", f"{O311}/servicerequestupdates.{{fmt}}", ANY),
    Row("POST", f"{O311}/servicerequestupdates.{{fmt}}", "403 403 403 200 403 403 403 403 403",
        state="assigned", form={"service_request_id": "{case_id}", "status": "IN_PROGRESS"}),
    *(Row(m, f"{O311}/{{rest:path}}", NOBODY) for m in OTHER_METHODS),
    *(Row(m, O311, NOBODY) for m in OTHER_METHODS),
    # ---- public and resident pages
    Row("GET", "/", ANY),
    Row("GET", "/cases", ANY),
    Row("GET", "/cases/{case_id}", ANY),
    Row("GET", "/league", ANY),
    Row("GET", "/map", ANY),
    Row("GET", "/map/place.svg", ANY),
    Row("GET", "/data", ANY),
    Row("GET", "/data/{name}", ANY),
    Row("GET", "/report", ANY),
    Row("POST", "/report", "303 303 303 303 303 303 303 303 303",
        form={"text": "matrix pothole by the page", "category": "pothole"}),
    Row("POST", "/report/suggest", ANY, form={"text": "deep pothole by the school"}),
    # echoes the code in the address back, reads nothing: the same page for any code
    Row("GET", "/report/thanks/{code}", ANY),
    # what residents raise most, a concern, and "me too" from a page (one per browser)
    Row("GET", "/concerns", ANY),
    Row("GET", "/concerns/{key}", ANY),
    Row("POST", "/cases/{case_id}/support", "303 303 303 303 303 303 303 303 303", form={}),
    Row("GET", "/track", ANY),
    Row("GET", "/track/{code}", RESIDENT_ONLY),
    Row("GET", "/track/{code}/photos/{photo_id}", RESIDENT_ONLY),
    Row("POST", "/track/{code}/verify", "404 303 404 404 404 404 404 404 404",
        state="resolved", form={"fixed": "yes", "satisfaction": "4"}),
    Row("POST", "/track/{code}/contest", "404 303 404 404 404 404 404 404 404",
        state="rejected", form={"reason": "it is a real problem"}),
    # ---- staff and admin pages
    Row("GET", "/staff/login", ANY),
    Row("POST", "/staff/login", "401 401 401 401 401 401 401 401 401",
        form={"username": "nobody", "password": "wrong password"}),
    Row("POST", "/staff/logout", "303 303 303 303 303 303 303 303 303", form={},
        fresh_session=True),
    Row("GET", "/staff/password", PAGE_STAFF),
    Row("POST", "/staff/password", "L L L L 403 403 403 403 403",
        form={"current_password": "not it", "new_password": "a new password",
              "repeat_password": "a new password"}),
    Row("GET", "/staff", PAGE_STAFF),
    Row("GET", "/staff/triage", PAGE_STAFF),
    Row("GET", "/staff/cases/{case_id}", PAGE_CASE),
    Row("GET", "/staff/cases/{case_id}/photos/{photo_id}", PAGE_CASE),
    Row("POST", "/staff/cases/{case_id}/{action}", "L L L L 303 403 403 303 403",
        state="assigned", form={}),
    Row("GET", "/staff/admin", "L L L L 403 403 403 200 403"),
    Row("POST", "/staff/admin/{kind}", "L L L L 403 403 403 303 403",
        form={"code": "matrix", "name_en": "Matrix", "name_zh": "矩阵"}),
    # the concerns board: every member of staff reads it and may follow; dispatchers and
    # admins name a concern's lead department
    Row("GET", "/staff/concerns", PAGE_STAFF),
    Row("POST", "/staff/concerns/{key}/lead", "L L L L 403 403 303 303 403",
        form={"department": "roads"}),
    Row("POST", "/staff/concerns/{key}/follow", "L L L L 303 303 303 303 303",
        form={"follow": "yes"}),
    # the formalism audit: every member of staff reads it (officers their departments'
    # flags); the flagged department's officers, dispatchers and admins explain a flag
    Row("GET", "/staff/formalism", PAGE_STAFF),
    Row("POST", "/staff/formalism/explain", "L L L L 303 403 303 303 403",
        state="disputed", form={"flag": "{flag}", "text": "the fix did not hold"}),
    # the leader's brief: leaders (checked in test_brief.py) and admins
    Row("GET", "/staff/brief", "L L L L 403 403 403 200 403"),
    Row("GET", "/staff/brief.pdf", "L L L L 403 403 403 200 403"),
]

#: routes that are not endpoints of their own (the static files are checked elsewhere)
NOT_ROUTES = {"/static"}


def _served(app: FastAPI) -> set[tuple[str, str]]:
    out = set()
    for found in iter_route_contexts(app.routes):
        if found.path in NOT_ROUTES:
            continue
        out |= {(m, found.path) for m in found.methods or ()}
    return out


def test_every_route_is_in_the_table(city: City) -> None:
    app = city.client.app
    assert isinstance(app, FastAPI)
    served = _served(app)
    rows = {(r.method, r.path) for r in TABLE}
    assert len(rows) == len(TABLE), "a route has two rows"
    missing = sorted(served - rows)
    assert not missing, f"routes without a row in the authorization table: {missing}"
    assert not sorted(rows - served), "rows for routes the app does not serve"
    for row in TABLE:
        assert len(row.expect.split()) == len(ROLES), row


class World:
    """The seeded city plus what the table's requests need: an officer-bound key, a shared
    case with a photo, and fresh cases in any state."""

    def __init__(self, city: City) -> None:
        self.city = city
        ctx = city.ctx
        add_user(ctx, SYSTEM, "partner-roads", "officer", PASSWORD, "roads")
        self.keys = {
            "key": add_api_key(ctx, SYSTEM, "partner"),
            "key_as_account": add_api_key(ctx, SYSTEM, "partner-bound", acts_as="partner-roads"),
        }
        self.tokens = {role: login(ctx, user, PASSWORD) for role, user in STAFF.items()}
        self.admin = {"Authorization": f"Bearer {self.tokens['admin']}"}
        self.case_id, self.code, self.photo_id = self._case_with_photo()
        self.unknown_code = new_tracking_codes(1)[0]
        # a second resident's "me too" makes the shared case a concern
        support_case(ctx, self.case_id, Supporter(email="second.resident@example.org"))
        refresh_concerns(ctx)

    def _case_with_photo(self) -> tuple[int, str, int]:
        client = self.city.client
        client.cookies.clear()
        client.cookies.set("cp_csrf", CSRF)
        r = client.post(
            "/report",
            data={"csrf_token": CSRF, "text": "deep pothole, photo attached",
                  "category": "pothole"},
            files={"photo": ("a.jpg", jpeg_with_exif(), "image/jpeg")},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        code = r.headers["location"].rsplit("/", 1)[1]
        page = client.get(f"/track/{code}").text
        photo_id = int(re.findall(rf"/track/{code}/photos/(\d+)", page)[0])
        with self.city.ctx.db.reader() as s:
            case_id = s.scalar(select(Case.id).where(Case.tracking_code == code))
        return int(case_id or 0), code, photo_id

    def fresh(self, state: str) -> tuple[int, str]:
        """A new roads case in ``state`` (submitted: uncategorised, no department yet)."""
        client = self.city.client
        category = "other" if state == "submitted" else "pothole"
        r = client.post("/api/v1/voices", json={"text": f"a {state} case", "category": category})
        assert r.status_code == 201, r.text
        case_id, code = r.json()["case_id"], r.json()["tracking_code"]
        steps: list[tuple[str, dict[str, Any]]] = []
        if state in ("resolved", "disputed"):
            steps = [("resolve", {"message": "done"})]
        elif state == "rejected":
            steps = [("reject", {"reason": "not a city matter"})]
        elif state == "merged":
            steps = [("merge", {"into_case_id": self.fresh("assigned")[0]})]
        for action, body in steps:
            done = client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                               headers=self.admin)
            assert done.status_code == 200, done.text
        if state == "disputed":  # the resident says it is not fixed: a formalism flag
            said = client.post(f"/api/v1/track/{code}/verification",
                               json={"fixed": False, "satisfaction": 1})
            assert said.status_code == 200, said.text
        return int(case_id), str(code)

    def call(self, row: Row, role: str) -> tuple[int, str]:
        """Send ``row``'s request as ``role``; (status, where a redirect goes)."""
        case_id, code = (
            (self.case_id, self.code) if row.state == "shared" else self.fresh(row.state)
        )
        values = {
            "case_id": str(case_id),
            "other_case_id": str(self.fresh("assigned")[0]) if "merge" in row.path else "",
            "tracking_code": code if role == "resident" else self.unknown_code,
            "photo_id": str(self.photo_id),
            "fmt": "json", "service_code": "pothole", "service_request_id": str(case_id),
            "token": "no-such-token", "name": "cases.csv", "action": "start",
            "kind": "department", "rest": "nothing-here.json", "key": f"c{self.case_id}",
            "flag": f"reopened:c{case_id}:roads",
        }  # fmt: skip
        values["code"] = values["tracking_code"]
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], row.path)
        headers: dict[str, str] = {}
        client = self.city.client
        client.cookies.clear()
        client.cookies.set("cp_csrf", CSRF)
        if role in STAFF:
            user = STAFF[role]
            token = login(self.city.ctx, user, PASSWORD) if row.fresh_session else (
                self.tokens[role])
            headers["Authorization"] = f"Bearer {token}"
            client.cookies.set("cp_session", token)
        elif role in self.keys:
            headers["X-API-Key"] = self.keys[role]
        body: dict[str, Any] = {}
        if row.json is not None:
            body["json"] = {k: _fill(v, values) for k, v in row.json.items()}
        elif row.form is not None:
            form = {k: str(_fill(v, values)) for k, v in row.form.items()}
            body["data"] = {"csrf_token": CSRF, **form}
        r = client.request(row.method, path, headers=headers, follow_redirects=False, **body)
        return r.status_code, r.headers.get("location", "")


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        filled = values[value[1:-1]]
        return int(filled) if filled.isdigit() else filled
    return value


def _answer(status: int, location: str) -> str:
    if status == 303 and location.split("?")[0].endswith("/staff/login"):
        return "L"
    return str(status)


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(city: City, role: str) -> None:
    world = World(city)
    column = ROLES.index(role)
    wrong = []
    for row in TABLE:
        expected = row.expect.split()[column]
        got = _answer(*world.call(row, role))
        if got != expected:
            wrong.append(f"{row.method} {row.path}: expected {expected}, got {got}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
