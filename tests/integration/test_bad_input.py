"""Bad input on every /api/v1 endpoint: a 4xx with a sentence, and nothing changed.

One seeded city per database serves every bad request (none of them may change it, so they
can share it); each request is checked against a snapshot of every table taken just before.
Rate limits and Idempotency-Key use fresh cities of their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.staff import add_api_key, list_api_keys, revoke_api_key
from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.migrate import upgrade
from civicpulse.web.app import create_app
from tests.api_schema import OpenAPIContract
from tests.city import PASSWORD, City, seed_city
from tests.conftest import Clock, drop_pg_database, pg_test_url

TABLES = (
    "voices", "resident_contacts", "cases", "case_events", "audit_log", "audit_head",
    "outbox_messages", "outbox_deliveries", "verifications", "staff_tokens", "api_keys",
)
BIG_ID = 2**64  # beyond any database integer
TEN_MB = 10 * 1024 * 1024


def snapshot(ctx: Context, case_id: int | None = None) -> dict[str, Any]:
    """Row counts of every table that a request could touch, the chain head, one case."""
    with ctx.db.engine.connect() as conn:
        snap: dict[str, Any] = {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES
        }
        snap["audit_head"] = tuple(conn.execute(text("SELECT seq, hash FROM audit_head")).one())
        if case_id is not None:
            row = conn.execute(
                text("SELECT status, version, department_id, merged_into_id, updated_at "
                     "FROM cases WHERE id = :i"), {"i": case_id}).one()
            snap["case"] = tuple(row)
    return snap


# ---- one shared city per database -----------------------------------------------------------


@dataclass
class World:
    ctx: Context
    client: TestClient
    cases: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    contract: OpenAPIContract | None = None  # what /openapi.json promises, read once


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _build_world(ctx: Context, client: TestClient) -> World:
    w = World(ctx=ctx, client=client)
    for name in ("admin", "dispatch", "roads1", "parks1", "audit"):
        w.headers[name] = _login(client, name)
    w.headers["none"] = {}
    w.headers["garbage"] = {"Authorization": "Bearer not-a-real-token"}
    w.headers["basic"] = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    w.headers["empty-bearer"] = {"Authorization": "Bearer "}

    def voice(name: str, **body: Any) -> None:
        r = client.post("/api/v1/voices", json={"text": f"{name}: broken pavement", **body})
        assert r.status_code == 201, r.text
        w.cases[name] = r.json()["case_id"]
        w.codes[name] = r.json()["tracking_code"]

    mail = {"contact": {"email": "someone@example.org"}}
    voice("assigned", category="pothole", **mail)
    voice("submitted", **mail)
    voice("resolved", category="pothole", **mail)
    voice("rejected", category="pothole", **mail)
    voice("other", category="pothole")
    roads = w.headers["roads1"]
    for path, body in ((f"/cases/{w.cases['resolved']}/resolve", {"message": "Fixed"}),
                       (f"/cases/{w.cases['rejected']}/reject", {"reason": "Private land"})):
        r = client.post(f"/api/v1{path}", json=body, headers=roads)
        assert r.status_code == 200, r.text
    add_api_key(ctx, SYSTEM, "valid-partner")
    revoked = add_api_key(ctx, SYSTEM, "old-partner")
    key_id = next(k.id for k in list_api_keys(ctx) if k.name == "old-partner")
    revoke_api_key(ctx, SYSTEM, key_id)
    w.headers["revoked-key"] = {"X-API-Key": revoked}
    w.headers["garbage-key"] = {"X-API-Key": "cpk_made_up"}
    return w


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("bad-input")
    pg_name = f"civicpulse_badinput_{os.getpid()}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'civicpulse.db'}"
    else:
        url = pg_test_url(pg_name)
    settings = Settings(
        data_dir=tmp / "data", database_url=url, public_rate_limit_per_minute=100_000,
        login_rate_limit_per_minute=100_000, scorecard_min_sample=1,
        password_hash_memory_kib=1024, password_hash_time_cost=1,
        match_auto_merge=False,  # the world's cases share words on purpose
        _env_file=None,  # type: ignore[call-arg]
    )
    settings.data_dir.mkdir(parents=True)
    db = Database(url)
    upgrade(db.engine)
    ctx = Context(db=db, settings=settings, clock=Clock())
    seed_city(ctx)
    try:
        with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
            yield _build_world(ctx, client)
    finally:
        db.dispose()
        if request.param == "postgresql":
            drop_pg_database(url)


# ---- the bad requests -----------------------------------------------------------------------


@dataclass
class Bad:
    """One bad request. ``{x}`` in the path is case x's id, ``{x_code}`` its tracking code."""

    id: str
    method: str
    path: str
    status: int | tuple[int, ...]
    who: str = "none"
    json: Any = None
    content: bytes | str | None = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    case: str | None = None  # whose status and version must not move
    says: str | None = None  # words the detail must contain


V = "/voices"
CT_JSON = {"content-type": "application/json"}
INVALID_UTF8 = b'{"text": "caf\xe9 \xff\xfe broken"}'


def _ten_mb_voice() -> bytes:
    return json.dumps({"text": "x" * TEN_MB}).encode()


BAD: list[Bad] = [
    # POST /voices
    Bad("voices-missing-text", "POST", V, 422, json={"title": "no text"}, says="text"),
    Bad("voices-text-number", "POST", V, 422, json={"text": 123}),
    Bad("voices-text-empty", "POST", V, 422, json={"text": ""}),
    Bad("voices-text-blank", "POST", V, 422, json={"text": "   \n\t"}, says="empty"),
    Bad("voices-text-too-long", "POST", V, 422, json={"text": "x" * 8001}),
    Bad("voices-text-nul", "POST", V, 422, json={"text": "a\x00b"}),
    Bad("voices-title-nul", "POST", V, 422, json={"text": "ok", "title": "a\x00b"}),
    Bad("voices-contact-nul", "POST", V, 422,
        json={"text": "ok", "contact": {"name": "Li\x00Lei"}}),
    Bad("voices-category-nul", "POST", V, 422, json={"text": "ok", "category": "pot\x00hole"}),
    Bad("voices-title-number", "POST", V, 422, json={"text": "ok", "title": 5}),
    Bad("voices-lat-string", "POST", V, 422,
        json={"text": "ok", "location": {"lat": "30.1", "lon": 120.0}}),
    Bad("voices-lat-out-of-range", "POST", V, 422,
        json={"text": "ok", "location": {"lat": 91, "lon": 120.0}}),
    Bad("voices-lon-missing", "POST", V, 422, json={"text": "ok", "location": {"lat": 30}}),
    Bad("voices-location-bool", "POST", V, 422,
        json={"text": "ok", "location": {"lat": True, "lon": False}}),
    Bad("voices-channel-unknown", "POST", V, 422, json={"text": "ok", "channel": "fax"}),
    Bad("voices-email-invalid", "POST", V, 422,
        json={"text": "ok", "contact": {"email": "not-an-address"}}),
    Bad("voices-extra-field", "POST", V, 422, json={"text": "ok", "is_admin": True},
        says="is_admin"),
    Bad("voices-nested-extra-field", "POST", V, 422,
        json={"text": "ok", "contact": {"email": "a@b.org", "ssn": "123"}}),
    Bad("voices-occurred-naive", "POST", V, 422,
        json={"text": "ok", "occurred_at": "2026-03-01T10:00:00"}, says="time zone"),
    Bad("voices-occurred-garbage", "POST", V, 422, json={"text": "ok", "occurred_at": "soon"}),
    Bad("voices-unknown-category", "POST", V, 422, json={"text": "ok", "category": "ufo"},
        says="ufo"),
    Bad("voices-external-id-empty", "POST", V, 422, json={"text": "ok", "external_id": ""}),
    Bad("voices-attributes-list", "POST", V, 422, json={"text": "ok", "attributes": [1]}),
    Bad("voices-body-array", "POST", V, 422, json=[{"text": "ok"}]),
    Bad("voices-body-string", "POST", V, 422, json="ok"),
    Bad("voices-body-null", "POST", V, 422, json=None, content=b"null", headers=CT_JSON),
    Bad("voices-malformed-json", "POST", V, 422, content=b'{"text": "ok",', headers=CT_JSON),
    Bad("voices-invalid-utf8", "POST", V, (400, 422), content=INVALID_UTF8, headers=CT_JSON),
    Bad("voices-not-json-type", "POST", V, 422, content=b"text=ok",
        headers={"content-type": "application/x-www-form-urlencoded"}),
    Bad("voices-empty-body", "POST", V, 422, content=b"", headers=CT_JSON),
    Bad("voices-10mb", "POST", V, 413, content=b"", headers=CT_JSON, says="larger"),
    Bad("voices-revoked-key", "POST", V, 401, who="revoked-key", json={"text": "ok"},
        says="revoked"),
    Bad("voices-garbage-key", "POST", V, 401, who="garbage-key", json={"text": "ok"}),
    Bad("voices-idempotency-key-too-long", "POST", V, 422, json={"text": "ok"},
        headers={"Idempotency-Key": "k" * 201}),
    Bad("voices-idempotency-key-empty", "POST", V, 422, json={"text": "ok"},
        headers={"Idempotency-Key": ""}),
    # POST /auth/token
    Bad("token-missing-password", "POST", "/auth/token", 422, data={"username": "admin"}),
    Bad("token-json-not-form", "POST", "/auth/token", 422,
        json={"username": "admin", "password": PASSWORD}),
    Bad("token-wrong-password", "POST", "/auth/token", 401,
        data={"username": "admin", "password": "wrong horse"}, says="wrong username or password"),
    Bad("token-unknown-user", "POST", "/auth/token", 401,
        data={"username": "nobody", "password": PASSWORD}, says="wrong username or password"),
    Bad("token-nul-username", "POST", "/auth/token", (401, 422),
        data={"username": "ad\x00min", "password": PASSWORD}),
    Bad("token-username-too-long", "POST", "/auth/token", 422,
        data={"username": "a" * 101, "password": PASSWORD}),
    Bad("token-10mb", "POST", "/auth/token", 413, content=b"",
        headers={"content-type": "application/x-www-form-urlencoded"}),
    # GET /cases
    Bad("cases-no-token", "GET", "/cases", 401, says="log in"),
    Bad("cases-garbage-token", "GET", "/cases", 401, who="garbage"),
    Bad("cases-basic-auth", "GET", "/cases", 401, who="basic"),
    Bad("cases-empty-bearer", "GET", "/cases", 401, who="empty-bearer"),
    Bad("cases-page-zero", "GET", "/cases?page=0", 422, who="admin"),
    Bad("cases-page-word", "GET", "/cases?page=two", 422, who="admin"),
    Bad("cases-page-size-huge", "GET", "/cases?page_size=100000", 422, who="admin"),
    Bad("cases-overdue-not-bool", "GET", "/cases?overdue=perhaps", 422, who="admin"),
    Bad("cases-unknown-department", "GET", "/cases?department=ufo", 404, who="admin",
        says="ufo"),
    Bad("cases-unknown-category", "GET", "/cases?category=ufo", 404, who="admin"),
    Bad("cases-unknown-status", "GET", "/cases?status=fixed", 422, who="admin"),
    Bad("cases-status-nul", "GET", "/cases?status=%00", 422, who="admin"),
    Bad("cases-q-nul", "GET", "/cases?q=a%00b", 422, who="admin"),
    Bad("cases-q-too-long", "GET", "/cases?q=" + "a" * 201, 422, who="admin"),
    # GET /cases/{id}
    Bad("case-unknown", "GET", "/cases/999999", 404, who="admin", says="999999"),
    Bad("case-id-word", "GET", "/cases/abc", 422, who="admin"),
    Bad("case-id-huge", "GET", f"/cases/{BIG_ID}", (404, 422), who="admin"),
    Bad("case-id-float", "GET", "/cases/1.5", 422, who="admin"),
    Bad("case-other-department", "GET", "/cases/{assigned}", 403, who="parks1"),
    Bad("case-no-token", "GET", "/cases/{assigned}", 401),
    # POST /cases/{id}/assign
    Bad("assign-by-auditor", "POST", "/cases/{submitted}/assign", 403, who="audit",
        json={"department": "roads"}, case="submitted"),
    Bad("assign-by-officer", "POST", "/cases/{submitted}/assign", 403, who="roads1",
        json={"department": "roads"}, case="submitted"),
    Bad("assign-no-token", "POST", "/cases/{submitted}/assign", 401,
        json={"department": "roads"}, case="submitted"),
    Bad("assign-missing-department", "POST", "/cases/{submitted}/assign", 422, who="dispatch",
        json={}, case="submitted"),
    Bad("assign-department-number", "POST", "/cases/{submitted}/assign", 422, who="dispatch",
        json={"department": 7}, case="submitted"),
    Bad("assign-unknown-department", "POST", "/cases/{submitted}/assign", 404, who="dispatch",
        json={"department": "ufo"}, case="submitted", says="ufo"),
    Bad("assign-version-string", "POST", "/cases/{submitted}/assign", 422, who="dispatch",
        json={"department": "roads", "version": "1"}, case="submitted"),
    Bad("assign-extra-field", "POST", "/cases/{submitted}/assign", 422, who="dispatch",
        json={"department": "roads", "priority": "high"}, case="submitted"),
    Bad("assign-already-assigned", "POST", "/cases/{assigned}/assign", 409, who="dispatch",
        json={"department": "parks"}, case="assigned", says="cannot assign"),
    Bad("assign-unknown-case", "POST", "/cases/999999/assign", 404, who="dispatch",
        json={"department": "roads"}),
    Bad("assign-huge-case-id", "POST", f"/cases/{BIG_ID}/assign", (404, 422), who="dispatch",
        json={"department": "roads"}),
    Bad("assign-malformed-json", "POST", "/cases/{submitted}/assign", 422, who="dispatch",
        content=b"{department: roads}", headers=CT_JSON, case="submitted"),
    Bad("assign-invalid-utf8", "POST", "/cases/{submitted}/assign", (400, 422),
        who="dispatch", content=b'{"department": "\xff"}', headers=CT_JSON, case="submitted"),
    Bad("assign-department-nul", "POST", "/cases/{submitted}/assign", (404, 422),
        who="dispatch", json={"department": "roads\x00"}, case="submitted"),
    Bad("assign-10mb", "POST", "/cases/{submitted}/assign", 413, who="dispatch", content=b"",
        headers=CT_JSON, case="submitted"),
    # POST /cases/{id}/transfer
    Bad("transfer-missing-reason", "POST", "/cases/{assigned}/transfer", 422, who="roads1",
        json={"department": "parks"}, case="assigned"),
    Bad("transfer-blank-reason", "POST", "/cases/{assigned}/transfer", 422, who="roads1",
        json={"department": "parks", "reason": "   "}, case="assigned", says="reason"),
    Bad("transfer-same-department", "POST", "/cases/{assigned}/transfer", 422, who="roads1",
        json={"department": "roads", "reason": "mine"}, case="assigned", says="already"),
    Bad("transfer-unknown-department", "POST", "/cases/{assigned}/transfer", 404, who="roads1",
        json={"department": "ufo", "reason": "aliens"}, case="assigned"),
    Bad("transfer-other-officer", "POST", "/cases/{assigned}/transfer", 403, who="parks1",
        json={"department": "parks", "reason": "grab it"}, case="assigned",
        says="own department"),
    Bad("transfer-by-auditor", "POST", "/cases/{assigned}/transfer", 403, who="audit",
        json={"department": "parks", "reason": "x"}, case="assigned"),
    Bad("transfer-submitted", "POST", "/cases/{submitted}/transfer", 409, who="dispatch",
        json={"department": "parks", "reason": "x"}, case="submitted"),
    Bad("transfer-reason-number", "POST", "/cases/{assigned}/transfer", 422, who="roads1",
        json={"department": "parks", "reason": 42}, case="assigned"),
    Bad("transfer-reason-nul", "POST", "/cases/{assigned}/transfer", 422, who="roads1",
        json={"department": "parks", "reason": "a\x00b"}, case="assigned"),
    # POST /cases/{id}/start
    Bad("start-version-word", "POST", "/cases/{assigned}/start", 422, who="roads1",
        json={"version": "one"}, case="assigned"),
    Bad("start-body-array", "POST", "/cases/{assigned}/start", 422, who="roads1", json=[1],
        case="assigned"),
    Bad("start-malformed-json", "POST", "/cases/{assigned}/start", 422, who="roads1",
        content=b"{", headers=CT_JSON, case="assigned"),
    Bad("start-stale-version", "POST", "/cases/{assigned}/start", 409, who="roads1",
        json={"version": 99}, case="assigned", says="reload"),
    Bad("start-submitted", "POST", "/cases/{submitted}/start", 409, who="admin",
        case="submitted"),
    Bad("start-other-officer", "POST", "/cases/{assigned}/start", 403, who="parks1",
        case="assigned"),
    Bad("start-by-dispatcher", "POST", "/cases/{assigned}/start", 403, who="dispatch",
        case="assigned"),
    Bad("start-garbage-token", "POST", "/cases/{assigned}/start", 401, who="garbage",
        case="assigned"),
    # POST /cases/{id}/reply
    Bad("reply-missing-message", "POST", "/cases/{assigned}/reply", 422, who="roads1",
        json={"public": True}, case="assigned"),
    Bad("reply-blank-message", "POST", "/cases/{assigned}/reply", 422, who="roads1",
        json={"message": " \u3000 "}, case="assigned"),
    Bad("reply-public-string", "POST", "/cases/{assigned}/reply", 422, who="roads1",
        json={"message": "hi", "public": "yes"}, case="assigned"),
    Bad("reply-message-number", "POST", "/cases/{assigned}/reply", 422, who="roads1",
        json={"message": 3.14}, case="assigned"),
    Bad("reply-too-long", "POST", "/cases/{assigned}/reply", 422, who="roads1",
        json={"message": "x" * 8001}, case="assigned"),
    Bad("reply-nul", "POST", "/cases/{assigned}/reply", 422, who="roads1",
        json={"message": "a\x00b"}, case="assigned"),
    Bad("reply-rejected-case", "POST", "/cases/{rejected}/reply", 409, who="roads1",
        json={"message": "hello"}, case="rejected"),
    Bad("reply-by-auditor", "POST", "/cases/{assigned}/reply", 403, who="audit",
        json={"message": "hello"}, case="assigned"),
    # POST /cases/{id}/resolve
    Bad("resolve-submitted", "POST", "/cases/{submitted}/resolve", 409, who="admin",
        json={"message": "done"}, case="submitted", says="cannot resolve"),
    Bad("resolve-resolved", "POST", "/cases/{resolved}/resolve", 409, who="roads1",
        json={"message": "done again"}, case="resolved"),
    Bad("resolve-by-dispatcher", "POST", "/cases/{assigned}/resolve", 403, who="dispatch",
        json={"message": "done"}, case="assigned"),
    Bad("resolve-by-auditor", "POST", "/cases/{assigned}/resolve", 403, who="audit",
        json={"message": "done"}, case="assigned"),
    Bad("resolve-other-officer", "POST", "/cases/{assigned}/resolve", 403, who="parks1",
        json={"message": "done"}, case="assigned"),
    Bad("resolve-missing-message", "POST", "/cases/{assigned}/resolve", 422, who="roads1",
        json={}, case="assigned"),
    Bad("resolve-blank-message", "POST", "/cases/{assigned}/resolve", 422, who="roads1",
        json={"message": "\n"}, case="assigned", says="public reply"),
    Bad("resolve-message-list", "POST", "/cases/{assigned}/resolve", 422, who="roads1",
        json={"message": ["done"]}, case="assigned"),
    Bad("resolve-stale-version", "POST", "/cases/{assigned}/resolve", 409, who="roads1",
        json={"message": "done", "version": 0}, case="assigned"),
    Bad("resolve-unknown-case", "POST", "/cases/999999/resolve", 404, who="roads1",
        json={"message": "done"}),
    Bad("resolve-no-token", "POST", "/cases/{assigned}/resolve", 401,
        json={"message": "done"}, case="assigned"),
    # POST /cases/{id}/reject
    Bad("reject-missing-reason", "POST", "/cases/{assigned}/reject", 422, who="roads1",
        json={}, case="assigned"),
    Bad("reject-blank-reason", "POST", "/cases/{assigned}/reject", 422, who="roads1",
        json={"reason": "\t"}, case="assigned"),
    Bad("reject-by-auditor", "POST", "/cases/{assigned}/reject", 403, who="audit",
        json={"reason": "no"}, case="assigned"),
    Bad("reject-resolved", "POST", "/cases/{resolved}/reject", 409, who="roads1",
        json={"reason": "no"}, case="resolved"),
    Bad("reject-already-rejected", "POST", "/cases/{rejected}/reject", 409, who="roads1",
        json={"reason": "no"}, case="rejected"),
    # POST /cases/{id}/merge
    Bad("merge-into-self", "POST", "/cases/{assigned}/merge", 422, who="dispatch",
        json={"into_case_id": "{assigned}"}, case="assigned", says="itself"),
    Bad("merge-into-unknown", "POST", "/cases/{assigned}/merge", 404, who="dispatch",
        json={"into_case_id": 999999}, case="assigned"),
    Bad("merge-into-huge", "POST", "/cases/{assigned}/merge", (404, 422), who="dispatch",
        json={"into_case_id": BIG_ID}, case="assigned"),
    Bad("merge-into-string", "POST", "/cases/{assigned}/merge", 422, who="dispatch",
        json={"into_case_id": "{other}s"}, case="assigned"),
    Bad("merge-into-rejected", "POST", "/cases/{assigned}/merge", 422, who="dispatch",
        json={"into_case_id": "{rejected}"}, case="assigned", says="rejected"),
    Bad("merge-by-officer", "POST", "/cases/{assigned}/merge", 403, who="roads1",
        json={"into_case_id": "{other}"}, case="assigned"),
    Bad("merge-resolved", "POST", "/cases/{resolved}/merge", 409, who="dispatch",
        json={"into_case_id": "{other}"}, case="resolved"),
    Bad("merge-missing-target", "POST", "/cases/{assigned}/merge", 422, who="dispatch",
        json={}, case="assigned"),
    # GET /track/{code}
    Bad("track-unknown", "GET", "/track/ABCD-EFGH-JKMN-PQRS", 404, says="tracking code"),
    Bad("track-garbage", "GET", "/track/" + "z" * 300, 404),
    Bad("track-nul", "GET", "/track/AB%00CD", (404, 422)),
    Bad("track-non-ascii", "GET", "/track/%E4%BD%A0%E5%A5%BD", 404),
    # POST /track/{code}/verification
    Bad("verify-unknown-code", "POST", "/track/ABCD-EFGH-JKMN-PQRS/verification", 404,
        json={"fixed": True, "satisfaction": 5}),
    Bad("verify-not-resolved", "POST", "/track/{assigned_code}/verification", 409,
        json={"fixed": True, "satisfaction": 5}, case="assigned", says="cannot confirm"),
    Bad("verify-satisfaction-zero", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": True, "satisfaction": 0}, case="resolved"),
    Bad("verify-satisfaction-six", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": True, "satisfaction": 6}, case="resolved"),
    Bad("verify-satisfaction-string", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": True, "satisfaction": "5"}, case="resolved"),
    Bad("verify-satisfaction-float", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": True, "satisfaction": 4.5}, case="resolved"),
    Bad("verify-fixed-string", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": "yes", "satisfaction": 5}, case="resolved"),
    Bad("verify-fixed-number", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": 1, "satisfaction": 5}, case="resolved"),
    Bad("verify-missing-fixed", "POST", "/track/{resolved_code}/verification", 422,
        json={"satisfaction": 5}, case="resolved"),
    Bad("verify-comment-too-long", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": True, "satisfaction": 5, "comment": "x" * 4001}, case="resolved"),
    Bad("verify-comment-nul", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": False, "satisfaction": 2, "comment": "a\x00b"}, case="resolved"),
    Bad("verify-extra-field", "POST", "/track/{resolved_code}/verification", 422,
        json={"fixed": True, "satisfaction": 5, "department": "roads"}, case="resolved"),
    Bad("verify-malformed-json", "POST", "/track/{resolved_code}/verification", 422,
        content=b'{"fixed": tru', headers=CT_JSON, case="resolved"),
    Bad("verify-invalid-utf8", "POST", "/track/{resolved_code}/verification", (400, 422),
        content=b'{"fixed": true, "satisfaction": 5, "comment": "\xc3\x28"}', headers=CT_JSON,
        case="resolved"),
    Bad("verify-10mb", "POST", "/track/{resolved_code}/verification", 413, content=b"",
        headers=CT_JSON, case="resolved"),
    # POST /track/{code}/contest
    Bad("contest-not-rejected", "POST", "/track/{assigned_code}/contest", 409,
        json={"reason": "please"}, case="assigned"),
    Bad("contest-unknown-code", "POST", "/track/ABCD-EFGH-JKMN-PQRS/contest", 404,
        json={"reason": "please"}),
    Bad("contest-missing-reason", "POST", "/track/{rejected_code}/contest", 422, json={},
        case="rejected"),
    Bad("contest-blank-reason", "POST", "/track/{rejected_code}/contest", 422,
        json={"reason": "  "}, case="rejected", says="reason"),
    Bad("contest-reason-number", "POST", "/track/{rejected_code}/contest", 422,
        json={"reason": 1}, case="rejected"),
    Bad("contest-extra-field", "POST", "/track/{rejected_code}/contest", 422,
        json={"reason": "wrong", "status": "assigned"}, case="rejected"),
    # GET /departments/scorecard
    Bad("scorecard-since-garbage", "GET", "/departments/scorecard?since=yesterday", 422),
    Bad("scorecard-since-naive", "GET", "/departments/scorecard?since=2026-01-01T00:00:00",
        422, says="time zone"),
    Bad("scorecard-since-after-until", "GET",
        "/departments/scorecard?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", 422,
        says="before"),
    Bad("scorecard-until-number-too-big", "GET", "/departments/scorecard?until=1e400", 422),
]


def _fill(value: Any, w: World) -> Any:
    """Put the world's ids and codes into a path or body."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in w.cases:
            return w.cases[value[1:-1]]  # a bare placeholder becomes the integer id
        names = {**{k: v for k, v in w.cases.items()},
                 **{f"{k}_code": v for k, v in w.codes.items()}}
        for k, v in names.items():
            value = value.replace("{" + k + "}", str(v))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    return value


def send(w: World, bad: Bad) -> Any:
    kwargs: dict[str, Any] = {"headers": {**w.headers[bad.who], **bad.headers}}
    if bad.id.endswith("10mb"):
        big = _ten_mb_voice()
        if "token" in bad.id:
            big = b"username=admin&password=" + b"x" * TEN_MB
        kwargs["content"] = big
    elif bad.content is not None:
        kwargs["content"] = bad.content
    elif bad.data is not None:
        kwargs["data"] = bad.data
    elif bad.json is not None:
        kwargs["json"] = _fill(bad.json, w)
    return w.client.request(bad.method, "/api/v1" + _fill(bad.path, w), **kwargs)


ENDPOINTS = [
    ("POST", "/voices"), ("POST", "/auth/token"), ("GET", "/cases"), ("GET", "/cases/{id}"),
    *[("POST", f"/cases/{{id}}/{a}") for a in
      ("assign", "transfer", "start", "reply", "resolve", "reject", "merge")],
    ("GET", "/track/{code}"), ("POST", "/track/{code}/verification"),
    ("POST", "/track/{code}/contest"), ("GET", "/departments/scorecard"),
]


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
def test_every_endpoint_has_bad_requests(method: str, template: str) -> None:
    pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$")
    paths = [b.path.split("?")[0] for b in BAD if b.method == method]
    assert sum(bool(pattern.match(p)) for p in paths) >= 3, f"{method} {template}"


@pytest.mark.parametrize("bad", BAD, ids=[b.id for b in BAD])
def test_bad_request_is_refused_and_changes_nothing(world: World, bad: Bad) -> None:
    case_id = world.cases[bad.case] if bad.case else None
    before = snapshot(world.ctx, case_id)
    r = send(world, bad)
    allowed = bad.status if isinstance(bad.status, tuple) else (bad.status,)
    assert r.status_code in allowed, f"{r.status_code}: {r.text[:300]}"
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/json"), r.headers
    detail = r.json().get("detail")
    assert isinstance(detail, str) and detail.strip(), r.text[:300]
    if bad.says:
        assert bad.says.lower() in detail.lower(), detail
    if r.status_code == 401:
        assert r.headers.get("www-authenticate") == "Bearer"
    if world.contract is None:
        assert isinstance(world.client.app, FastAPI)
        world.contract = OpenAPIContract(world.client.app)
    world.contract.check(r)  # the refusal is one the document lists, with its body
    assert snapshot(world.ctx, case_id) == before


def test_the_shared_city_is_still_intact(world: World) -> None:
    """After every refusal above, the good paths still work and the chain verifies."""
    from civicpulse.services.audit import verify_audit_log

    c = world.client
    assert verify_audit_log(world.ctx.db)[1] == []
    r = c.get(f"/api/v1/cases/{world.cases['assigned']}", headers=world.headers["roads1"])
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    assert r.json()["version"] == 1


def test_chunked_oversized_body_is_never_acted_on(world: World) -> None:
    """A body without Content-Length that grows past the cap is refused before it is used,
    even when its first chunks already form a complete, valid request."""
    app = world.client.app
    cap = world.ctx.settings.max_body_bytes
    chunks = [b'{"text": "sneaked in before the cap"}'] + [b" " * 65536] * (cap // 65536 + 2)
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        pending = iter(chunks)

        async def receive() -> dict[str, Any]:
            chunk = next(pending, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def sink(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/api/v1/voices",
            "raw_path": b"/api/v1/voices", "query_string": b"", "root_path": "",
            "headers": [(b"content-type", b"application/json"),
                        (b"transfer-encoding", b"chunked"), (b"host", b"test")],
            "client": ("127.0.0.9", 5000), "server": ("test", 80), "app": app,
        }
        await app(scope, receive, sink)  # type: ignore[operator]

    before = snapshot(world.ctx)
    asyncio.run(run())
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert b"larger than" in sent[-1]["body"]
    assert snapshot(world.ctx) == before


# ---- rate limits ----------------------------------------------------------------------------


def _limited_client(city: City, **limits: int) -> TestClient:
    ctx = Context(db=city.ctx.db, settings=city.ctx.settings.model_copy(update=limits),
                  clock=city.ctx.clock)
    return TestClient(create_app(ctx))


def test_public_rate_limit(city: City) -> None:
    limit = 4
    key = add_api_key(city.ctx, SYSTEM, "partner")
    with _limited_client(city, public_rate_limit_per_minute=limit) as c:
        code = c.post("/api/v1/voices", json={"text": "first"}).json()["tracking_code"]
        for _ in range(limit - 2):
            assert c.get(f"/api/v1/track/{code}").status_code == 200
        assert c.get("/api/v1/departments/scorecard").status_code == 200  # the N-th
        before = snapshot(city.ctx)
        for attempt in (
            lambda: c.get(f"/api/v1/track/{code}"),
            lambda: c.post("/api/v1/voices", json={"text": "one too many"}),
            lambda: c.post(f"/api/v1/track/{code}/contest", json={"reason": "x"}),
            lambda: c.get("/api/v1/departments/scorecard"),
        ):
            r = attempt()
            assert r.status_code == 429, r.text
            detail = r.json()["detail"]
            assert "too many requests" in detail and "try again in" in detail
        assert snapshot(city.ctx) == before
        # an integration with a valid key is not held to the public limit
        for i in range(limit + 2):
            r = c.post("/api/v1/voices", json={"text": f"from partner {i}"},
                       headers={"X-API-Key": key})
            assert r.status_code == 201, r.text
        # a revoked or made-up key is refused, not waved through
        assert c.post("/api/v1/voices", json={"text": "x"},
                      headers={"X-API-Key": "cpk_nope"}).status_code == 401
        # staff routes are not the public bucket
        assert c.get("/api/v1/cases", headers=city.token("admin")).status_code == 200


def test_limits_are_per_app_instance_and_other_clients_unaffected(city: City) -> None:
    with _limited_client(city, public_rate_limit_per_minute=1) as c:
        assert c.get("/api/v1/departments/scorecard").status_code == 200
        assert c.get("/api/v1/departments/scorecard").status_code == 429
    # the main app of the city has its own, generous limiter
    assert city.client.get("/api/v1/departments/scorecard").status_code == 200


def test_login_throttling(city: City) -> None:
    limit = 3
    with _limited_client(city, login_rate_limit_per_minute=limit) as c:
        for _ in range(limit):
            r = c.post("/api/v1/auth/token", data={"username": "admin", "password": "guess"})
            assert r.status_code == 401
        before = snapshot(city.ctx)
        r = c.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
        assert r.status_code == 429, r.text  # even the right password waits
        assert "too many requests" in r.json()["detail"]
        assert snapshot(city.ctx) == before
        # public reads are a different bucket
        assert c.get("/api/v1/departments/scorecard").status_code == 200


def test_expired_token_is_refused(city: City, clock: Clock) -> None:
    headers = city.token("admin")
    assert city.client.get("/api/v1/cases", headers=headers).status_code == 200
    clock.advance(hours=city.ctx.settings.token_ttl_hours, seconds=1)
    r = city.client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


# ---- Idempotency-Key ------------------------------------------------------------------------


def test_same_idempotency_key_gives_the_same_voice(city: City) -> None:
    c = city.client
    body = {"text": "Bin not emptied", "contact": {"email": "bins@example.org"}}
    before = snapshot(city.ctx)
    first = c.post("/api/v1/voices", json=body, headers={"Idempotency-Key": "abc-123"})
    again = c.post("/api/v1/voices", json=body, headers={"Idempotency-Key": "abc-123"})
    assert first.status_code == 201 and again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    after = snapshot(city.ctx)
    assert after["voices"] == before["voices"] + 1
    assert after["cases"] == before["cases"] + 1
    assert after["outbox_messages"] == before["outbox_messages"] + 1  # one "received" mail
    other = c.post("/api/v1/voices", json=body, headers={"Idempotency-Key": "abc-124"})
    assert other.json()["voice_id"] != first.json()["voice_id"]


def test_concurrent_requests_with_one_idempotency_key(city: City) -> None:
    c = city.client
    n = 6
    barrier = threading.Barrier(n)
    responses: list[Any] = []
    errors: list[BaseException] = []
    before = snapshot(city.ctx)

    def post() -> None:
        barrier.wait()
        try:
            responses.append(c.post("/api/v1/voices", json={
                "text": "Water main burst", "contact": {"email": "w@example.org"}},
                headers={"Idempotency-Key": "burst-1"}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert [r.status_code for r in responses] == [201] * n, [r.text for r in responses]
    assert len({r.json()["voice_id"] for r in responses}) == 1
    assert len({r.json()["case_id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    after = snapshot(city.ctx)
    for table, grew in (("voices", 1), ("cases", 1), ("outbox_messages", 1),
                        ("resident_contacts", 1)):
        assert after[table] == before[table] + grew, table
    from civicpulse.services.audit import verify_audit_log

    assert verify_audit_log(city.ctx.db)[1] == []


def test_refusals_are_precise_good_neighbours_pass(city: City) -> None:
    """The valid twin of several refused inputs is accepted, so the refusals are not blanket."""
    c = city.client
    r = c.post("/api/v1/voices", json={"text": "Noise at night",
                                       "occurred_at": "2026-03-01T23:30:00+08:00",
                                       "contact": {"name": "李雷", "email": "l@example.org"}})
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    admin = city.token("admin")
    detail = c.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    assert detail["voices"][0]["occurred_at"] == "2026-03-01T15:30:00Z"
    listed = c.get("/api/v1/cases?status=submitted&q=Noise", headers=admin).json()
    assert [i["case_id"] for i in listed["items"]] == [case_id]
    other = c.post("/api/v1/voices", json={"text": "Noise at night again"}).json()
    r = c.post(f"/api/v1/cases/{other['case_id']}/merge", json={"into_case_id": case_id},
               headers=city.token("dispatch"))
    assert r.status_code == 200 and r.json()["status"] == "merged"


def test_reused_key_or_external_id_for_another_report_leaks_nothing(city: City) -> None:
    """Replaying someone else's key (or external id) with other words must not hand out
    their tracking code, which would let a stranger confirm or contest their case."""
    c = city.client
    mine = c.post("/api/v1/voices", json={"text": "Broken swing in the park"},
                  headers={"Idempotency-Key": "1"})
    desk = {"X-API-Key": add_api_key(city.ctx, SYSTEM, "desk")}  # external ids need a key
    ext = c.post("/api/v1/voices", json={"text": "Hotline: blocked drain", "channel": "hotline",
                                         "external_id": "call-17"}, headers=desk)
    assert mine.status_code == 201 and ext.status_code == 201
    before = snapshot(city.ctx)
    for r in (
        c.post("/api/v1/voices", json={"text": "guessing"}, headers={"Idempotency-Key": "1"}),
        c.post("/api/v1/voices", json={"text": "guessing", "channel": "hotline",
                                       "external_id": "call-17"}, headers=desk),
    ):
        assert r.status_code == 422, r.text
        assert "already used" in r.json()["detail"]
        for leaked in (mine.json()["tracking_code"], ext.json()["tracking_code"]):
            assert leaked not in r.text
    assert snapshot(city.ctx) == before
