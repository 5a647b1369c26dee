"""The channel and external id of a voice are set by who sent it (issue 10, finding 4).

An external id is a claim: the import skips a row whose (channel, external id) is already
stored. Anonymous callers used to be able to post ``channel: import`` with the id of a row
the city had not imported yet, so the genuine row was later skipped as a duplicate.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.staff import add_api_key
from civicpulse.storage.tables import Voice
from tests.city import City
from tests.integration.test_import import ROWS, run_import, write_csv


def _stored(city: City) -> list[tuple[str, str | None]]:
    with city.ctx.db.reader() as s:
        return [(v.channel, v.external_id) for v in s.scalars(select(Voice).order_by(Voice.id))]


def test_an_anonymous_caller_cannot_pre_claim_an_import_row(city: City, tmp_path: Path) -> None:
    claim = city.client.post(
        "/api/v1/voices",
        json={"text": "not the real report", "channel": "import", "external_id": "A-1"},
    )
    assert claim.status_code == 403, claim.text
    assert "external_id" in claim.json()["detail"]
    report = run_import(city.ctx, write_csv(tmp_path / "hotline.csv", ROWS))
    assert report.imported == 3  # the genuine A-1 is imported, not skipped
    assert ("import", "A-1") in _stored(city)


def test_anonymous_callers_get_web_or_api_and_no_external_id(city: City) -> None:
    post = city.client.post
    assert post("/api/v1/voices", json={"text": "a", "external_id": "x"}).status_code == 403
    for channel in ("import", "open311", "hotline", "email"):
        r = post("/api/v1/voices", json={"text": "a", "channel": channel})
        assert r.status_code == 403, (channel, r.text)
    assert post("/api/v1/voices", json={"text": "plain"}).status_code == 201
    assert post("/api/v1/voices", json={"text": "as api", "channel": "api"}).status_code == 201
    assert _stored(city) == [("web", None), ("api", None)]


def test_an_integration_claims_ids_in_its_own_namespace_only(
    city: City, tmp_path: Path
) -> None:
    hotline = {"X-API-Key": add_api_key(city.ctx, SYSTEM, "hotline-desk")}
    partner = {"X-API-Key": add_api_key(city.ctx, SYSTEM, "partner")}
    post = city.client.post
    for channel in ("import", "open311"):
        r = post("/api/v1/voices", headers=hotline,
                 json={"text": "a", "channel": channel, "external_id": "A-2"})
        assert r.status_code == 403, (channel, r.text)
    first = post("/api/v1/voices", headers=hotline,
                 json={"text": "call 1", "channel": "hotline", "external_id": "A-2"})
    assert first.status_code == 201, first.text
    again = post("/api/v1/voices", headers=hotline,
                 json={"text": "call 1", "channel": "hotline", "external_id": "A-2"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["voice_id"] == first.json()["voice_id"]
    # another integration with the same id is another voice, not a replay of the first
    other = post("/api/v1/voices", headers=partner,
                 json={"text": "call 1", "channel": "hotline", "external_id": "A-2"})
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert _stored(city) == [("hotline", "hotline-desk:A-2"), ("hotline", "partner:A-2")]
    # and the city's import of its own A-2 is not skipped
    assert run_import(city.ctx, write_csv(tmp_path / "hotline.csv", ROWS)).imported == 3
    long_id = post("/api/v1/voices", headers=partner, json={"text": "b", "external_id": "x" * 200})
    assert long_id.status_code == 422 and "<key name>:<external_id>" in long_id.text
