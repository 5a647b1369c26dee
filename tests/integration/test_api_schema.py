"""/openapi.json describes every answer of the JSON API, so a client generator and a fuzzer
can rely on it.

Three checks: every JSON route declares its response model (a route added without one
fails here, not in a client); every operation documents a 2xx body and its refusals with
the app's own error body; and real answers of a seeded city, good and bad, validate against
the document (``tests/api_schema.py``). The bad-input suite checks its hundred refusals the
same way.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import delete
from starlette.responses import Response

from civicpulse.infra.context import Context
from civicpulse.services.concerns import refresh_concerns
from civicpulse.settings import Settings
from civicpulse.storage.database import Database
from civicpulse.storage.tables import VoiceInsight
from civicpulse.web.app import create_app
from civicpulse.web.limits import RateLimiter
from tests.api_schema import OpenAPIContract
from tests.city import City


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """The app alone, for its routes and document: nothing here opens the database."""
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/unused.db",
        _env_file=None,  # type: ignore[call-arg]
    )
    ctx = Context(db=Database(settings.resolved_database_url()), settings=settings)
    yield create_app(ctx)
    ctx.close()


def _answers_json(route: APIRoute) -> bool:
    """False for pages, files and redirects: routes that say they return a non-JSON
    response class. Anything else answers JSON, typed or not."""
    if route.path.startswith("/open311"):
        return False  # Open311 answers the spec's XML and JSON, checked by its own tests
    declared = typing.get_type_hints(route.endpoint).get("return")
    if isinstance(declared, type) and issubclass(declared, Response):
        return issubclass(declared, JSONResponse)
    return True


def test_every_json_route_declares_its_response_model(app: FastAPI) -> None:
    untyped = []
    for found in iter_route_contexts(app.routes):
        route = found.original_route
        if not isinstance(route, APIRoute) or not _answers_json(route):
            continue
        if found.response_model is None and found.status_code != 204:
            untyped.append(f"{sorted(found.methods)} {found.path} ({route.endpoint.__module__})")
    assert not untyped, "JSON routes without a response model: " + ", ".join(untyped)


def test_every_operation_documents_its_answer_and_refusals(app: FastAPI) -> None:
    document = app.openapi()
    schemas = document["components"]["schemas"]
    # FastAPI's own 422 body is never sent: the app answers with its own error body
    assert "HTTPValidationError" not in schemas
    operations = [(m, p, op) for p, ops in document["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 20
    for method, path, op in operations:
        if path.startswith("/open311/"):
            continue  # the specification's own answers, checked below
        where = f"{method.upper()} {path}"
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert len(success) == 1, where
        (code, answer), = success.items()
        if code == "204":
            assert "content" not in answer, where
        else:
            body = answer["content"]["application/json"]["schema"]
            assert body.get("$ref") or body.get("items", {}).get("$ref"), f"{where}: {body}"
        refusals = {code: r for code, r in op["responses"].items() if code.startswith("4")}
        assert "422" in refusals, where
        for code, refusal in refusals.items():
            ref = refusal["content"]["application/json"]["schema"]["$ref"]
            expected = "ValidationErrorBody" if code == "422" else "ErrorBody"
            assert ref == f"#/components/schemas/{expected}", (where, code)
        if path.startswith("/api/v1/cases"):
            assert "401" in refusals, f"{where}: staff routes refuse callers without a login"


def test_open311_operations_document_both_formats_and_the_specifications_errors(
    app: FastAPI,
) -> None:
    """Open311 is in the document too (the fuzz covers it): every route the channel serves,
    its answer and its refusals each in JSON and XML, the refusals as the specification's
    ``[{code, description}]`` list and never the app's own 422."""
    document = app.openapi()
    served = {
        (method.lower(), found.path)
        for found in iter_route_contexts(app.routes)
        if isinstance(found.original_route, APIRoute) and found.path.startswith("/open311/")
        and found.original_route.include_in_schema
        for method in found.methods
    }
    documented = {
        (method, path) for path, ops in document["paths"].items()
        if path.startswith("/open311/") for method in ops
    }
    assert served == documented and len(served) == 9
    for method, path in documented:
        op = document["paths"][path][method]
        where = f"{method.upper()} {path}"
        assert {"200", "400", "404"} <= set(op["responses"]) and "422" not in op["responses"]
        assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == set(
            re.findall(r"\{(\w+)\}", path)), where
        for code, answer in op["responses"].items():
            content = answer["content"]
            if code == "413":
                assert set(content) == {"application/json"}, where
                continue
            assert set(content) == {"application/json", "text/xml"}, (where, code)
            if code != "200":
                assert content["text/xml"]["schema"]["xml"]["name"] == "errors", where
                items = content["application/json"]["schema"]["items"]
                assert items["$ref"].endswith("/Open311Error"), where


def _contract(city: City) -> OpenAPIContract:
    app = city.client.app
    assert isinstance(app, FastAPI)
    return OpenAPIContract(app)


def test_real_answers_match_the_document(city: City) -> None:
    contract = _contract(city)
    checked: list[str] = []

    def get(url: str, **kw: Any) -> httpx.Response:
        r = city.client.get(url, **kw)
        contract.check(r)
        checked.append(f"GET {url} {r.status_code}")
        return r

    def post(url: str, **kw: Any) -> httpx.Response:
        r = city.client.post(url, **kw)
        contract.check(r)
        checked.append(f"POST {url} {r.status_code}")
        return r

    admin, disp, parks, audit = (city.token(u) for u in ("admin", "dispatch", "parks1", "audit"))
    pothole = post("/api/v1/voices", json={
        "text": "Deep pothole outside the school gate, a danger to children",
        "category": "pothole", "title": "Pothole",
        "location": {"lat": 30.05, "lon": 120.05}, "attributes": {"size": "large"},
        "contact": {"name": "Li Lei", "email": "li@example.org"},
    }).json()
    post("/api/v1/voices", json={"text": "Deep pothole outside the school gate, a danger to "
                                 "children", "category": "pothole"})
    lamp = post("/api/v1/voices", json={"text": "路灯坏了三天了"}).json()
    tree = post("/api/v1/voices", json={"text": "Tree fell on the path", "category": "tree"}).json()
    one, code = pothole["case_id"], pothole["tracking_code"]

    post(f"/api/v1/cases/{one}/start", headers=admin)
    post(f"/api/v1/cases/{one}/reply", json={"message": "on it", "public": False}, headers=admin)
    post(f"/api/v1/cases/{one}/resolve", json={"message": "filled"}, headers=admin)
    post(f"/api/v1/track/{code}/verification", json={"fixed": True, "satisfaction": 4,
                                                     "comment": "thanks"})
    post(f"/api/v1/track/{code}/verification", json={"fixed": True, "satisfaction": 4})  # 409
    post(f"/api/v1/cases/{lamp['case_id']}/assign", json={"department": "parks"}, headers=disp)
    post(f"/api/v1/cases/{lamp['case_id']}/transfer",
         json={"department": "roads", "reason": "lights are roads"}, headers=parks)
    post(f"/api/v1/cases/{tree['case_id']}/reject", json={"reason": "private land"},
         headers=admin)
    post(f"/api/v1/track/{tree['tracking_code']}/contest", json={"reason": "it is public"})
    post(f"/api/v1/cases/{lamp['case_id']}/urgency", json={"urgent": True, "reason": "dark"},
         headers=admin)
    post(f"/api/v1/cases/{lamp['case_id']}/urgency", json={"urgent": True, "reason": "x"},
         headers=audit)  # 403
    post(f"/api/v1/cases/{lamp['case_id']}/merge", json={"into_case_id": tree["case_id"]},
         headers=admin)
    post(f"/api/v1/cases/{lamp['case_id']}/unmerge", json={"reason": "different"},
         headers=admin)
    post(f"/api/v1/cases/{lamp['case_id']}/unmerge", json={"reason": "again"},
         headers=admin)  # 409: not merged
    post(f"/api/v1/cases/{one}/assign", json={"department": "roads", "version": 1},
         headers=admin)  # 409: stale version or a closed case

    for case_id in (one, lamp["case_id"], tree["case_id"]):
        get(f"/api/v1/cases/{case_id}", headers=admin)
        get(f"/api/v1/cases/{case_id}/understanding", headers=admin)
        get(f"/api/v1/cases/{case_id}", headers=parks)  # 200 or 403 by department
    for voice in (pothole, lamp, tree):
        get(f"/api/v1/track/{voice['tracking_code']}")
    get("/api/v1/cases", headers=admin)
    get("/api/v1/cases?triage=true&page_size=1", headers=disp)
    get("/api/v1/cases?overdue=true&q=pothole", headers=parks)
    get("/api/v1/departments/scorecard")
    get("/api/v1/topics")
    post(f"/api/v1/cases/{one}/support", json={"device": "schema-device-token-01"})
    post(f"/api/v1/cases/{lamp['case_id']}/support",
         json={"email": "me.too@example.org", "notify": True, "language": "en"})
    post(f"/api/v1/cases/{one}/support", json={"device": "schema-device-token-01"})  # again
    post("/api/v1/cases/999999/support", json={"device": "schema-device-token-01"})  # 404
    post(f"/api/v1/cases/{one}/support", json={})  # 422: nobody named
    post(f"/api/v1/cases/{one}/support", json={"device": "short"})  # 422 from the body
    post(f"/api/v1/cases/{one}/support", json={"device": "schema-device-token-01"},
         headers={"X-API-Key": "cpk_unknown"})  # 401
    refresh_concerns(city.ctx)
    for who in ({}, admin, parks):
        get("/api/v1/concerns?top=5", headers=who)
        get(f"/api/v1/concerns/c{one}", headers=who)
    get("/api/v1/concerns/no-such-concern")  # 404
    get("/api/v1/concerns?top=0")  # 422
    get("/api/v1/concerns", headers={"Authorization": "Bearer nonsense"})  # 401
    post("/api/v1/understand", json={"text": "Tree down on the road, call 13812345678",
                                     "lat": 30.05, "lon": 120.05}, headers=admin)

    # refusals, one of each kind
    get("/api/v1/cases")  # 401
    get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"})  # 401
    get("/api/v1/cases?department=nowhere", headers=admin)  # 404
    get("/api/v1/cases/999999", headers=admin)  # 404
    get("/api/v1/cases/0", headers=admin)  # 422 from a parameter
    get("/api/v1/track/NOPE-NOPE-NOPE-NOPE")  # 404
    get("/api/v1/track/x%00y")  # 422 without field errors
    post("/api/v1/voices", json={"text": ""})  # 422 with field errors
    post("/api/v1/voices", content=b"{not json", headers={"Content-Type": "application/json"})
    post("/api/v1/voices", json={"text": "x"}, headers={"X-API-Key": "cpk_unknown"})  # 401
    post("/api/v1/auth/token", data={"username": "admin", "password": "wrong"})  # 401
    post("/api/v1/understand", json={"text": "x"})  # 401
    post("/api/v1/voices", content=b"{" + b" " * (city.ctx.settings.max_body_bytes + 1),
         headers={"Content-Type": "application/json"})  # 413
    contract_app = city.client.app
    assert isinstance(contract_app, FastAPI)
    contract_app.state.limiters["public"] = RateLimiter(1)  # one request a minute
    get("/api/v1/departments/scorecard")
    get("/api/v1/departments/scorecard")  # 429
    get("/api/v1/concerns")  # 429
    get("/api/v1/track/NOPE-NOPE-NOPE-NOPE")  # 429

    statuses = {line.rsplit(" ", 1)[1] for line in checked}
    assert {"200", "201", "204", "401", "403", "404", "409", "413", "422", "429"} <= statuses


def test_voices_never_assessed_have_no_assessment_keys(city: City) -> None:
    """Kept as it always was: the urgency and match keys are absent, not null, for a voice
    intake never assessed (here its stored insight is removed), and that too is documented."""
    contract = _contract(city)
    v = city.client.post("/api/v1/voices", json={"text": "Bench broken", "category": "tree"})
    with city.ctx.db.transaction() as s:
        s.execute(delete(VoiceInsight).where(VoiceInsight.case_id == v.json()["case_id"]))
    r = city.client.get(f"/api/v1/cases/{v.json()['case_id']}/understanding",
                        headers=city.token("admin"))
    contract.check(r)
    (voice,) = r.json()["voices"]
    assert set(voice) == {"voice_id", "case_id", "topic"}
