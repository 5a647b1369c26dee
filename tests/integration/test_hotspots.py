"""Hotspots of unresolved cases: found where they gather, through the service, the API and
the CLI; resolved and merged cases do not count; bad periods are refused."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.hotspots import city_hotspots
from civicpulse.services.voices import VoiceInput, submit_voice
from tests.city import City

# a 3 km square of scattered reports, and a block of about 500 m where thirty gather (a
# single address with many reports is one case's place, not a hotspot: insight/hotspots.py)
WEST, SOUTH, SPAN = 120.01, 30.01, 0.03
BLOCK = (30.025, 120.025)


def _report(city: City, lat: float, lon: float, text: str) -> int:
    result = submit_voice(city.ctx, SYSTEM, VoiceInput(text=text, lat=lat, lon=lon))
    return int(result.case_id)


def _seed(city: City) -> set[int]:
    rng = random.Random(7)
    for i in range(90):
        _report(city, SOUTH + rng.random() * SPAN, WEST + rng.random() * SPAN,
                f"Broken pavement number {i} on a quiet street")
    block = set()
    for i in range(30):
        lat = BLOCK[0] + rng.uniform(-0.0025, 0.0025)
        lon = BLOCK[1] + rng.uniform(-0.0025, 0.0025)
        block.add(_report(city, lat, lon, f"Overflowing bins again, report {i}"))
    return block


def test_the_block_is_a_hotspot_everywhere_it_is_shown(city: City) -> None:
    block = _seed(city)
    found = city_hotspots(city.ctx)
    assert found.cases == 120
    assert found.hotspots, "thirty reports in one block among ninety scattered ones"
    top = found.hotspots[0]
    # the edge of a block falls in cells of its own; most of it is in the hotspot
    assert len(block & set(top.case_ids)) >= 20
    assert abs(top.place.lat - BLOCK[0]) < 0.003 and abs(top.place.lon - BLOCK[1]) < 0.003
    assert top.cases > top.expected and top.q <= found.fdr

    r = city.client.get("/api/v1/hotspots")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "getis-ord-gi*"
    assert body["hotspots"][0]["key"] == top.key
    assert set(body["hotspots"][0]["case_ids"]) == set(top.case_ids)
    assert "Overflowing" not in r.text  # counts and places, never text

    from civicpulse.cli.app import app

    env = {"CIVICPULSE_DATABASE_URL": city.ctx.settings.resolved_database_url(),
           "CIVICPULSE_DATA_DIR": str(city.ctx.settings.data_dir)}
    out = CliRunner().invoke(app, ["hotspots", "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    assert listed["hotspots"][0]["key"] == top.key
    bad = CliRunner().invoke(app, ["hotspots", "--format", "xml"], env=env)
    assert bad.exit_code == 2 and "--format" in bad.output


def test_scattered_reports_alone_make_no_hotspot(city: City) -> None:
    rng = random.Random(11)
    for i in range(90):
        _report(city, SOUTH + rng.random() * SPAN, WEST + rng.random() * SPAN,
                f"Broken pavement number {i} on a quiet street")
    assert city_hotspots(city.ctx).hotspots == []


def test_a_period_without_a_zone_or_backwards_is_refused(city: City) -> None:
    assert city.client.get("/api/v1/hotspots",
                           params={"since": "2026-01-01T00:00:00"}).status_code == 422
    r = city.client.get("/api/v1/hotspots", params={"since": "2026-02-01T00:00:00Z",
                                                    "until": "2026-01-01T00:00:00Z"})
    assert r.status_code == 422 and "since must be before until" in r.text
