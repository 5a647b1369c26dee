"""The real CLI and a real server over real HTTP, on SQLite and PostgreSQL.

Set-up is done only through the CLI (as an operator would), then the whole loop runs
through HTTP against ``civicpulse serve``.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import yaml

from tests.city import CATALOGUE, PASSWORD
from tests.live import cli_env, live_server, run_cli


def test_operator_sets_up_and_the_loop_runs_over_http(db_url: str, tmp_path: Path) -> None:
    env = cli_env(db_url, tmp_path / "data", CIVICPULSE_JOB_INTERVAL_SECONDS="0.5")
    r = run_cli(env, "init")
    assert r.returncode == 0 and "revision" in r.stdout, r.stderr
    cat_file = tmp_path / "catalogue.yaml"
    cat_file.write_text(yaml.safe_dump(CATALOGUE, allow_unicode=True), encoding="utf-8")
    r = run_cli(env, "categories", "import", str(cat_file))
    assert r.returncode == 0 and "3 categories" in r.stdout, r.stderr
    for name, role, dept in [("boss", "admin", None), ("ann", "officer", "roads")]:
        args = ["users", "add", name, "--role", role, "--password", PASSWORD]
        r = run_cli(env, *args, *(["--department", dept] if dept else []))
        assert r.returncode == 0, r.stderr
    listed = run_cli(env, "users", "list").stdout
    assert "ann\tofficer\troads" in listed and "boss\tadmin" in listed
    dup = run_cli(env, "users", "add", "ann", "--role", "admin", "--password", PASSWORD)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    key = run_cli(env, "keys", "add", "hotline-app").stdout.strip()
    assert key.startswith("cpk_")

    with live_server(env) as base, httpx.Client(base_url=base, timeout=10) as http:
        r = http.post(
            "/api/v1/voices",
            headers={"X-API-Key": key},
            json={
                "text": "Pothole on Elm St",
                "category": "pothole",
                "contact": {"email": "res@example.org"},
            },
        )
        assert r.status_code == 201, r.text
        voice = r.json()
        assert voice["department"] == "roads"
        token = http.post(
            "/api/v1/auth/token", data={"username": "ann", "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        cid = voice["case_id"]
        assert http.post(f"/api/v1/cases/{cid}/resolve", json={}, headers=auth).status_code == 422
        r = http.post(f"/api/v1/cases/{cid}/resolve", json={"message": "Patched."}, headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "resolved"
        code = voice["tracking_code"]
        r = http.post(f"/api/v1/track/{code}/verification", json={"fixed": True, "satisfaction": 4})
        assert r.json()["status"] == "confirmed"
        assert http.get("/openapi.json").json()["info"]["title"] == "CivicPulse"
        # the in-process job loop delivers the queued mails to the spool file
        spool = tmp_path / "data" / "outbox-mail.jsonl"
        import time

        for _ in range(60):
            if spool.exists() and len(spool.read_text().splitlines()) >= 3:
                break
            time.sleep(0.25)
        mails = [json.loads(line) for line in spool.read_text().splitlines()]
        assert {m["to"] for m in mails} == {"res@example.org", "roads@city.test"}
        assert any(code in m["body"] for m in mails)

    keys = run_cli(env, "keys", "list").stdout
    assert "hotline-app" in keys and key not in keys
    assert run_cli(env, "keys", "revoke", "1").returncode == 0
    assert "revoked" in run_cli(env, "keys", "list").stdout
    assert run_cli(env, "keys", "revoke", "1").returncode == 2
    exported = run_cli(env, "categories", "export", "--format", "yaml").stdout
    assert yaml.safe_load(exported)["routing_rules"][0]["department"] == "north-roads"
    csv_out = tmp_path / "cats.csv"
    assert run_cli(env, "categories", "export", "-o", str(csv_out)).returncode == 0
    assert csv_out.read_text(encoding="utf-8").splitlines()[0].startswith("code,name_en")
    verify = run_cli(env, "audit", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout


def test_bad_catalogue_changes_nothing(db_url: str, tmp_path: Path) -> None:
    env = cli_env(db_url, tmp_path / "data")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "departments": [{"code": "x", "name_en": "X"}],
                "categories": [{"code": "c", "name_en": "C", "department": "nope"}],
            }
        ),
        encoding="utf-8",
    )
    r = run_cli(env, "categories", "import", str(bad))
    assert r.returncode == 2 and "unknown department 'nope'" in r.stderr
    out = yaml.safe_load(run_cli(env, "categories", "export").stdout)
    assert out["departments"] == [] and out["categories"] == []


def test_worker_delivers_and_enforces_deadlines(db_url: str, tmp_path: Path) -> None:
    """`civicpulse worker --once` sends queued mail and closes expired verification windows."""
    env = cli_env(db_url, tmp_path / "data", CIVICPULSE_VERIFICATION_DAYS="1")
    assert run_cli(env, "init").returncode == 0
    cat_file = tmp_path / "catalogue.yaml"
    cat_file.write_text(yaml.safe_dump(CATALOGUE, allow_unicode=True), encoding="utf-8")
    assert run_cli(env, "categories", "import", str(cat_file)).returncode == 0
    from datetime import UTC, datetime, timedelta

    from civicpulse.domain.roles import SYSTEM, Actor, Role
    from civicpulse.infra.context import Context
    from civicpulse.services.cases import resolve_case
    from civicpulse.services.voices import Contact, VoiceInput, submit_voice
    from civicpulse.settings import Settings
    from civicpulse.storage.database import Database

    past = datetime.now(UTC) - timedelta(days=5)
    ctx = Context(
        db=Database(db_url),
        settings=Settings(
            data_dir=tmp_path / "data", database_url=db_url, verification_days=1, _env_file=None
        ),  # type: ignore[call-arg]
        clock=lambda: past,
    )
    voice = submit_voice(
        ctx,
        SYSTEM,
        VoiceInput(text="Pothole", category="pothole", contact=Contact(email="a@example.org")),
    )
    admin = Actor(kind="staff", name="boss", role=Role.ADMIN)
    resolve_case(ctx, admin, voice.case_id, "Filled.")
    ctx.db.dispose()
    r = run_cli(env, "worker", "--once")
    assert r.returncode == 0, r.stderr
    assert "escalated 0, unverified 1" in r.stdout
    sent = int(r.stdout.split("sent ")[1].split(",")[0])
    assert sent == 3  # received + resolved to the resident, new case to the department
    mails = (tmp_path / "data" / "outbox-mail.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(mails) == 3
    again = run_cli(env, "worker", "--once")
    assert "sent 0, failed 0, escalated 0, unverified 0" in again.stdout
