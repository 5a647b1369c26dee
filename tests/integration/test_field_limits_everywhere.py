"""Every entry point takes a field up to the same limit and refuses one character more.

The limits live in ``domain/limits.py`` and the services enforce them; the pages, the JSON
API, Open311, the import and the CLI only repeat them. Before they were one rule the verify
comment was 2,000 characters on the page and 4,000 in the API, and the report form's title
was 200 while the API took 300. Each case below sends the longest allowed value (accepted)
and one character more (refused, nothing stored), through the real entry point.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civicpulse.channels.open311.mapping import MAX_DESCRIPTION
from civicpulse.domain import limits
from civicpulse.domain.roles import SYSTEM
from civicpulse.services.staff import add_api_key
from civicpulse.storage.tables import Voice
from tests.city import City
from tests.live import cli_env, run_cli

FIELDS = [("text", limits.TEXT), ("title", limits.TITLE), ("address", limits.ADDRESS)]


def _voices(city: City) -> int:
    with city.ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Voice)) or 0)


def _value(n: int) -> str:
    # words, not one long run, so the texts look like texts to the classifier and matcher
    return ("pothole by the school gate " * (n // 26 + 1))[:n].rstrip().ljust(n, "x")


def _form_token(city: City) -> str:
    page = city.client.get("/report").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


@pytest.mark.parametrize(("field", "limit"), FIELDS)
def test_the_report_form(city: City, field: str, limit: int) -> None:
    def send(n: int) -> int:
        data = {"csrf_token": _form_token(city), "text": "a hole", field: _value(n)}
        return city.client.post("/report", data=data, follow_redirects=False).status_code

    assert send(limit) == 303
    before = _voices(city)
    assert send(limit + 1) == 422
    assert _voices(city) == before


@pytest.mark.parametrize(("field", "limit"), FIELDS)
def test_the_json_api(city: City, field: str, limit: int) -> None:
    def send(n: int) -> int:
        body = {"text": "a hole", field: _value(n)}
        return city.client.post("/api/v1/voices", json=body).status_code

    assert send(limit) == 201
    before = _voices(city)
    assert send(limit + 1) == 422
    assert _voices(city) == before


def test_open311_refuses_a_text_over_its_own_smaller_limit_and_ours(city: City) -> None:
    """GeoReport v2 bounds a description at 4,000 characters, below ``limits.TEXT``: clients
    are built to that number, so the channel keeps it; past ours it is refused all the more."""
    key = add_api_key(city.ctx, SYSTEM, "partner")

    def send(n: int) -> int:
        data = {
            "api_key": key,
            "service_code": "pothole",
            "lat": "30.05",
            "long": "120.05",
            "description": _value(n),
        }
        return city.client.post("/open311/v2/requests.json", data=data).status_code

    assert MAX_DESCRIPTION < limits.TEXT
    assert send(MAX_DESCRIPTION) == 200
    before = _voices(city)
    assert send(MAX_DESCRIPTION + 1) == 400
    assert send(limits.TEXT + 1) == 400
    assert _voices(city) == before


@pytest.mark.parametrize(("field", "limit"), FIELDS)
def test_the_import_command(
    city: City, db_url: str, tmp_path: Path, field: str, limit: int
) -> None:
    path = tmp_path / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", field] if field != "text" else ["id", "text"])
        for external_id, n in (("fits", limit), ("too-long", limit + 1)):
            cells = [external_id, "a hole", _value(n)] if field != "text" else [
                external_id, _value(n)]
            writer.writerow(cells)
    mapping = ["--map", "external_id=id", "--map", "text=text"]
    if field != "text":
        mapping += ["--map", f"{field}={field}"]
    env = cli_env(db_url, tmp_path / "data")
    r = run_cli(env, "import", "voices", str(path), *mapping, "--quiet")
    assert f"{field} must be at most {limit} characters" in r.stdout + r.stderr, r.stdout
    with city.ctx.db.reader() as s:
        stored = set(s.scalars(select(Voice.external_id)))
    assert stored == {"fits"}


def _resolved_case(city: City) -> str:
    """A case resolved by its department, waiting for the resident's verdict."""
    from civicpulse.domain.roles import Actor, Role
    from civicpulse.services.cases import resolve_case
    from civicpulse.services.voices import VoiceInput, submit_voice

    admin = Actor(kind="staff", name="admin", role=Role.ADMIN)
    voice = submit_voice(city.ctx, SYSTEM, VoiceInput(text="a hole", category="pothole"))
    resolve_case(city.ctx, admin, voice.case_id, "filled the hole")
    return voice.tracking_code


@pytest.mark.parametrize("entry", ["page", "api"])
def test_a_verdict_comment(city: City, entry: str) -> None:
    """The page took 2,000 characters and the API 4,000; now both take limits.COMMENT."""
    code = _resolved_case(city)

    def send(n: int) -> int:
        if entry == "api":
            body = {"fixed": True, "satisfaction": 4, "comment": "y" * n}
            return city.client.post(f"/api/v1/track/{code}/verification", json=body).status_code
        form = {
            "csrf_token": _form_token(city),
            "fixed": "yes",
            "satisfaction": "4",
            "comment": "y" * n,
        }
        r = city.client.post(f"/track/{code}/verify", data=form, follow_redirects=False)
        return r.status_code

    assert send(limits.COMMENT + 1) == 422
    assert send(limits.COMMENT) in (200, 303)
