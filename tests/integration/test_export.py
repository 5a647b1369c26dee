"""The public export: every case, its figures, and none of anybody's personal data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.export import FIELDS, export_cases, public_case_rows
from civicpulse.services.staff import add_api_key
from tests.city import City
from tests.live import cli_env, run_cli

MARKER = "ZQX-SECRET-7731"
PRIVATE = {
    "name": f"Wang {MARKER}name",
    "email": "wang.private.7731@example.org",
    "phone": "+86 138 7731 0042",
    "address": f"77 {MARKER} Lane, flat 31",
}


def _submit(city: City, **body: object) -> dict:
    # only an integration may name a channel other than web or set an external id
    headers = {}
    if body.get("external_id") or body.get("channel") not in (None, "web", "api"):
        headers["X-API-Key"] = add_api_key(city.ctx, SYSTEM, "desk")
    r = city.client.post("/api/v1/voices", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _seed(city: City) -> list[dict]:
    """Three cases: one confirmed with a verdict, one merged duplicate, one waiting."""
    first = _submit(
        city, text=f"Pothole by the school {MARKER} text", title=f"{MARKER} title",
        category="pothole", channel="web", location={"lat": 30.0512345, "lon": 120.0498765},
        address=PRIVATE["address"], external_id=f"ext-{MARKER}",
        contact={k: PRIVATE[k] for k in ("name", "email", "phone")},
    )
    duplicate = _submit(city, text=f"Same pothole again {MARKER}", category="pothole",
                        channel="hotline", contact={"phone": PRIVATE["phone"]})
    waiting = _submit(city, text=f"路灯坏了 {MARKER}", channel="email")
    officer, dispatcher = city.token("admin"), city.token("dispatch")
    cid = first["case_id"]
    r = city.client.post(f"/api/v1/cases/{duplicate['case_id']}/merge",
                         json={"into_case_id": cid}, headers=dispatcher)
    assert r.status_code == 200, r.text
    r = city.client.post(f"/api/v1/cases/{cid}/resolve",
                         json={"message": f"Filled {MARKER} reply"}, headers=officer)
    assert r.status_code == 200, r.text
    r = city.client.post(f"/api/v1/track/{first['tracking_code']}/verification",
                         json={"fixed": True, "satisfaction": 4, "comment": f"{MARKER} ok"})
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    return [first, duplicate, waiting]


def _assert_private_data_absent(text: str, submitted: list[dict]) -> None:
    assert MARKER not in text
    for value in PRIVATE.values():
        assert value not in text
    for v in submitted:
        assert v["tracking_code"] not in text
    assert "ext-" not in text


def test_csv_export_has_figures_and_no_personal_data(city: City) -> None:
    submitted = _seed(city)
    out = io.StringIO()
    assert export_cases(city.ctx, "csv", out) == 3
    text = out.getvalue()
    _assert_private_data_absent(text, submitted)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == FIELDS
    first, duplicate, waiting = rows
    assert first["status"] == "confirmed" and first["confirmed"] == "true"
    assert (first["category"], first["department"], first["area"]) == (
        "pothole", "north-roads", "north")
    assert (first["lat"], first["lon"]) == ("30.051", "120.05")
    assert first["satisfaction"] == "4.0" and first["channels"] == "web"
    assert first["resolved_at"] and first["closed_at"] and first["first_responded_at"]
    assert duplicate["status"] == "merged" and duplicate["channels"] == "hotline"
    assert waiting["status"] == "submitted" and waiting["category"] == ""
    assert waiting["satisfaction"] == "" and waiting["lat"] == ""


def test_json_export_parses_and_has_no_personal_data(city: City) -> None:
    submitted = _seed(city)
    out = io.StringIO()
    export_cases(city.ctx, "json", out)
    text = out.getvalue()
    _assert_private_data_absent(text, submitted)
    rows = json.loads(text)
    assert [tuple(r) for r in rows] == [FIELDS] * 3
    assert rows[0]["confirmed"] is True and rows[0]["satisfaction"] == 4.0
    assert rows[0]["voices"] == 1 and rows[0]["channels"] == ["web"]
    assert rows[2]["lat"] is None and rows[2]["satisfaction"] is None


def test_empty_exports_are_still_valid(ctx: Context) -> None:
    as_json, as_csv = io.StringIO(), io.StringIO()
    assert export_cases(ctx, "json", as_json) == 0 and json.loads(as_json.getvalue()) == []
    assert export_cases(ctx, "csv", as_csv) == 0
    assert as_csv.getvalue() == ",".join(FIELDS) + "\n"


def test_export_streams_in_batches_in_id_order(city: City) -> None:
    for i in range(7):
        _submit(city, text=f"voice {i}", category="tree")
    ids = [r["case_id"] for r in public_case_rows(city.ctx, batch_size=2)]
    assert ids == sorted(ids) and len(ids) == 7


def test_export_command_writes_a_file_or_stdout(city: City, tmp_path: Path) -> None:
    submitted = _seed(city)
    env = cli_env(city.ctx.db.url, tmp_path / "data")
    target = tmp_path / "cases.json"
    r = run_cli(env, "export", "--format", "json", "--output", str(target))
    assert r.returncode == 0 and "exported 3 cases" in r.stderr, r.stderr
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 3
    assert not list(tmp_path.glob("*.partial"))
    r = run_cli(env, "export")
    assert r.returncode == 0 and r.stdout.startswith("case_id,status,")
    _assert_private_data_absent(r.stdout, submitted)
    bad = run_cli(env, "export", "--format", "xml")
    assert bad.returncode == 2 and "csv, json" in bad.stderr
