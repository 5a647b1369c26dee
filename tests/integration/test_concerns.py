"""Concerns and "me too" on a real database (SQLite and PostgreSQL): who counts once, the
guards' discounts, merged cases, notices to supporters, the public and staff forms of the
API, the CLI's JSON, imported likes, and refreshes that touch only what changed."""

from __future__ import annotations

import csv
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civicpulse.channels.tabular import file_sha256, open_table
from civicpulse.cli import app
from civicpulse.domain.roles import SYSTEM
from civicpulse.services.concerns import concern_detail, refresh_concerns, top_concerns
from civicpulse.services.import_options import ImportOptions
from civicpulse.services.imports import import_voices
from civicpulse.services.staff import add_api_key
from civicpulse.services.supports import Supporter, support_case
from civicpulse.storage.tables import CaseSupport, OutboxMessage, VoiceOrigin
from tests.city import City
from tests.conftest import Clock

LAMP = "The streetlight outside 12 Elm Road has been out for a week, the corner is dark"
BENCH = "Broken bench in Riverside park, the seat planks are split and sharp"


def voice(city: City, text: str, **extra: Any) -> dict[str, Any]:
    r = city.client.post("/api/v1/voices", json={"text": text, "category": "pothole", **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def adds_up(concern: dict[str, Any]) -> bool:
    written = sum((Decimal(repr(r["contribution"])) for r in concern["reasons"]), Decimal(0))
    return written == Decimal(repr(concern["score"]))


def listed(city: City, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    r = city.client.get("/api/v1/concerns?top=50", headers=headers or {})
    assert r.status_code == 200, r.text
    found = r.json()
    assert all(adds_up(c) for c in found)
    assert [c["rank"] for c in found] == list(range(1, len(found) + 1))
    return list(found)


def holding(concerns: list[dict[str, Any]], case_id: int) -> dict[str, Any]:
    return next(c for c in concerns if case_id in c["case_ids"])


def reason(concern: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in concern["reasons"] if r["name"] == name)


def test_one_residents_ten_voices_count_once(city: City) -> None:
    mine = {"email": "Pat.Resident@example.org", "phone": "+86 138-0000-1111"}
    first = voice(city, LAMP, contact=mine)
    for i in range(9):  # by web and api, sometimes naming only the phone
        contact = {"phone": "13800001111"} if i % 3 == 0 else {"email": "pat.resident@example.org"}
        voice(city, LAMP, contact=contact, channel="web" if i % 2 else "api")
    voice(city, LAMP, contact={"email": "neighbour@example.org"})
    refresh_concerns(city.ctx)
    concern = holding(listed(city), first["case_id"])
    assert concern["voices"] == 11 and concern["residents"] == 2
    assert reason(concern, "residents")["value"] == 2
    flagged = reason(concern, "flood_contact")  # flagged, and nothing more to take off
    assert flagged["value"] == 9 and flagged["contribution"] == 0


def test_a_flood_of_me_too_from_one_device_is_discounted_and_shown(city: City) -> None:
    case = voice(city, BENCH)["case_id"]
    for i in range(12):
        r = city.client.post(f"/api/v1/cases/{case}/support", json={
            "email": f"supporter{i}@example.org", "device": "one-device-token-000001"})
        assert r.status_code == 200 and r.json()["counted"], r.text
    refresh_concerns(city.ctx)
    concern = holding(listed(city), case)
    assert concern["supports"] == 12 and concern["residents"] == 1
    flood = reason(concern, "flood_device")
    assert flood["value"] == 9 and flood["contribution"] < 0
    # what is left counts as the three supporters a device may give
    kept = Decimal(repr(reason(concern, "support")["contribution"])) + Decimal(
        repr(flood["contribution"]))
    assert kept == Decimal(repr(round(3 * math.log2(1 + 3), 3)))


def test_me_too_twice_counts_once_and_a_merged_case_counts_for_its_target(
    city: City, clock: Clock
) -> None:
    merged = voice(city, LAMP)["case_id"]
    target = voice(city, "Elm Road streetlight dark at night")["case_id"]
    r = city.client.post(f"/api/v1/cases/{merged}/merge", json={"into_case_id": target},
                         headers=city.token("admin"))
    assert r.status_code == 200, r.text
    me = {"device": "my-phone-device-token-01"}
    first = city.client.post(f"/api/v1/cases/{merged}/support", json=me).json()
    again = city.client.post(f"/api/v1/cases/{target}/support", json=me).json()
    assert first == {"case_id": target, "counted": True, "supports": 1}
    assert again == {"case_id": target, "counted": False, "supports": 1}
    # the same person by e-mail is another key; by e-mail twice, still one
    for _ in range(2):
        support_case(city.ctx, target, Supporter(email="me@example.org"))
    with city.ctx.db.reader() as s:
        assert len(s.scalars(select(CaseSupport).where(CaseSupport.case_id == target)).all()) == 2
    refresh_concerns(city.ctx)
    concern = concern_detail(city.ctx, None, f"c{target}")
    assert concern.residents == 2 and concern.supports == 2
    assert sorted(concern.case_ids) == sorted([merged, target])
    assert concern_detail(city.ctx, None, f"c{merged}").key == concern.key  # found by its case


def test_a_supporter_who_asked_hears_the_outcome(city: City) -> None:
    case = voice(city, BENCH, contact={"email": "reporter@example.org"})["case_id"]
    support_case(city.ctx, case, Supporter(email="fan@example.org", notify=True, language="zh"))
    support_case(city.ctx, case, Supporter(email="quiet@example.org"))  # did not ask
    admin = city.token("admin")
    for action, body in (("start", {}), ("resolve", {"message": "Bench replaced"})):
        assert city.client.post(f"/api/v1/cases/{case}/{action}", json=body,
                                headers=admin).status_code == 200
    with city.ctx.db.reader() as s:
        sent = {(m.recipient, m.subject) for m in s.scalars(select(OutboxMessage))}
    recipients = {r for r, _ in sent}
    assert {"reporter@example.org", "fan@example.org"} <= recipients
    assert "quiet@example.org" not in recipients
    assert any(r == "fan@example.org" and "问题真的解决了吗" in subj for r, subj in sent)


def test_the_public_form_has_no_personal_data_and_staff_get_ids(city: City) -> None:
    partner = {"X-API-Key": add_api_key(city.ctx, SYSTEM, "hotline-desk")}
    ids = []
    for i in range(4):
        r = city.client.post("/api/v1/voices", headers=partner, json={
            "text": LAMP, "category": "pothole", "external_id": f"HL-{i:04d}",
            "contact": {"name": "Jordan Private", "email": f"private{i}@example.org",
                        "phone": f"1390000{i:04d}"}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["case_id"])
    support_case(city.ctx, ids[0], Supporter(email="fan.private@example.org", notify=True))
    refresh_concerns(city.ctx)
    public = city.client.get("/api/v1/concerns")
    body = public.text
    for secret in ("private", "Jordan", "1390000", "HL-0", "example.org"):
        assert secret not in body, secret
    concern = holding(public.json(), ids[0])
    assert concern["voice_ids"] is None and concern["external_ids"] is None
    assert concern["label"] and concern["residents"] == 4 and concern["supports"] == 1
    detail = city.client.get(f"/api/v1/concerns/{concern['key']}").json()
    assert detail["voice_ids"] is None and len(detail["cases"]) == 4
    assert sum(w["voices"] for w in detail["weeks"]) == 4
    staff = holding(listed(city, city.token("dispatch")), ids[0])
    assert len(staff["voice_ids"]) == 4
    assert sorted(staff["external_ids"]) == [f"hotline-desk:HL-{i:04d}" for i in range(4)]
    # an officer sees the ids of their own department's cases only
    assert holding(listed(city, city.token("roads1")), ids[0])["external_ids"]
    assert holding(listed(city, city.token("parks1")), ids[0])["voice_ids"] == []


def test_the_cli_lists_concerns_as_json(
    city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    for _ in range(3):
        voice(city, LAMP)
    single = voice(city, BENCH)["case_id"]
    support_case(city.ctx, single, Supporter(device="someone-elses-device-01"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CIVICPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["concerns", "--top", "5", "--format", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [c["rank"] for c in found] == [1, 2]
    assert list(found[0]) == [
        "rank", "key", "label", "score", "reasons", "voices", "residents", "supports",
        "first_at", "last_at", "case_ids", "voice_ids", "external_ids", "departments", "place",
    ]
    for c in found:
        assert adds_up(c) and len(c["voice_ids"]) == c["voices"]
        assert [set(r) for r in c["reasons"]] == [
            {"name", "value", "weight", "contribution"}] * len(c["reasons"])
    assert found[0]["departments"] == ["roads"]
    table = CliRunner().invoke(app, ["concerns", "--no-refresh", "--since", "2026-01-01"])
    assert table.exit_code == 0 and "residents" in table.stdout
    later = CliRunner().invoke(app, ["concerns", "--no-refresh", "--since", "2027-01-01"])
    assert later.exit_code == 0 and later.stdout.strip() == ""
    bad = CliRunner().invoke(app, ["concerns", "--since", "soon"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_imported_likes_are_a_count_on_the_voice(city: City, tmp_path: Path) -> None:
    path = tmp_path / "board.csv"
    rows = [
        ["1", "u-1", "Riverside park bench broken, planks split", "2024-05-01 10:00", "2000"],
        ["2", "u-2", "Pothole on Mill Lane by the school gate, deep", "2024-05-02 10:00", "0"],
        ["3", "u-2", "Pothole on Mill Lane by the school gate, still deep", "2024-05-03 10:00",
         "3"],
        ["4", "u-3", "Pothole on Mill Lane by the school gate is deep", "2024-05-04 10:00", ""],
        ["5", "u-4", "Pothole on Mill Lane at the school gate, very deep", "2024-05-05 10:00",
         "many"],
    ]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", "user", "text", "time", "likes"], *rows])
    table = open_table(path)
    try:
        report = import_voices(city.ctx, SYSTEM, table, file_sha256(path), ImportOptions(
            mapping={"external_id": "id", "author": "user", "text": "text",
                     "occurred_at": "time", "supports": "likes"}))
    finally:
        table.close()
    assert report.imported == 4 and [r.reason for r in report.rejected] == [
        "supports 'many' is not a whole number of at least 0"]
    with city.ctx.db.reader() as s:
        origins = {o.supports for o in s.scalars(select(VoiceOrigin))}
        keys = {o.author_key for o in s.scalars(select(VoiceOrigin))}
    assert origins == {2000, 0, 3} and None not in keys and "u-2" not in str(keys)
    refresh_concerns(city.ctx)
    found = top_concerns(city.ctx, SYSTEM)
    liked = next(c for c in found if c.external_ids == ["1"])
    assert liked.supports == 2000 and liked.residents == 1
    assert next(r for r in liked.reasons if r.name == "support").value == 2000
    lane = next(c for c in found if "2" in (c.external_ids or []))
    assert lane.voices == 3 and lane.residents == 2 and lane.supports == 3  # u-2 counts once


def test_a_refresh_recomputes_only_what_changed(city: City, clock: Clock) -> None:
    a = voice(city, LAMP)["case_id"]
    voice(city, LAMP)
    b = voice(city, BENCH)["case_id"]
    support_case(city.ctx, b, Supporter(device="bench-fan-device-token"))
    clock.advance(minutes=5)  # what was written before is settled
    first = refresh_concerns(city.ctx)
    assert first.recomputed == 2 and len(top_concerns(city.ctx, None)) == 2
    assert refresh_concerns(city.ctx).recomputed == 0
    clock.advance(minutes=5)
    late = voice(city, LAMP)["case_id"]
    clock.advance(minutes=5)
    run = refresh_concerns(city.ctx)
    assert run.new_voices == 1 and run.recomputed == 1
    assert holding([c.model_dump() for c in top_concerns(city.ctx, None)], a)["voices"] == 3
    # a merge and its undo move the voices along
    admin = city.token("admin")
    assert city.client.post(f"/api/v1/cases/{late}/merge", json={"into_case_id": b},
                            headers=admin).status_code == 200
    clock.advance(minutes=5)
    refresh_concerns(city.ctx)
    bench = concern_detail(city.ctx, None, f"c{b}")
    assert late in bench.case_ids and bench.voices == 2
    assert city.client.post(f"/api/v1/cases/{late}/unmerge", json={"reason": "not the same"},
                            headers=admin).status_code == 200
    clock.advance(minutes=5)
    refresh_concerns(city.ctx)
    assert late not in concern_detail(city.ctx, None, f"c{b}").case_ids
    assert late in concern_detail(city.ctx, None, f"c{late}").case_ids


def test_a_citys_weights_file_rescores_every_concern(city: City, tmp_path: Path) -> None:
    for _ in range(3):
        voice(city, LAMP)
    refresh_concerns(city.ctx)
    before = top_concerns(city.ctx, None)[0]
    weights = tmp_path / "weights.yaml"
    weights.write_text("components:\n  residents: {weight: 10}\n", encoding="utf-8")
    settings = city.ctx.settings.model_copy(update={"concern_weights_file": weights})
    city.ctx.settings = settings
    run = refresh_concerns(city.ctx)
    after = top_concerns(city.ctx, None)[0]
    assert run.rescored >= 1 and after.key == before.key
    residents = next(r for r in after.reasons if r.name == "residents")
    assert residents.weight == 10 and residents.contribution == 30
    assert after.score > before.score and adds_up(after.model_dump())


def test_the_lead_and_the_followers_pass_to_the_concern_that_takes_the_cases(
    city: City, clock: Clock
) -> None:
    """A concern's key names its grouping, so a merge (or a topic gathering the case) gives
    the problem a new key: the dispatcher's lead and the officers' follows go with it."""
    from civicpulse.domain.roles import Actor, Role
    from civicpulse.services.concern_leads import (
        concern_marks,
        follow_concern,
        set_lead_department,
    )
    from civicpulse.storage.tables import AuditEntry

    dispatcher = Actor(kind="staff", name="dispatch", role=Role.DISPATCHER)
    officer = Actor(kind="staff", name="roads1", role=Role.OFFICER)
    lamp = voice(city, LAMP)["case_id"]
    voice(city, LAMP)
    bench = voice(city, BENCH)["case_id"]
    voice(city, BENCH)
    clock.advance(minutes=5)
    refresh_concerns(city.ctx)
    lamp_key = concern_detail(city.ctx, None, f"c{lamp}").key  # c<lamp> or a topic's key
    set_lead_department(city.ctx, dispatcher, lamp_key, "roads")
    follow_concern(city.ctx, officer, lamp_key, True)
    follow_concern(city.ctx, dispatcher, f"c{bench}", True)
    assert city.client.post(f"/api/v1/cases/{lamp}/merge", json={"into_case_id": bench},
                            headers=city.token("admin")).status_code == 200
    clock.advance(minutes=5)
    refresh_concerns(city.ctx)
    assert lamp_key not in concern_marks(city.ctx, officer, [lamp_key])
    now_key = concern_detail(city.ctx, None, f"c{bench}").key  # c<bench> or a topic's key
    marks = concern_marks(city.ctx, officer, [now_key])[now_key]
    assert marks.lead_department == "roads"
    assert marks.following and marks.followers == 2
    with city.ctx.db.reader() as s:
        carried = s.execute(select(AuditEntry.subject, AuditEntry.data).where(
            AuditEntry.action == "concern.lead_carried")).all()
    assert [(subject, json.loads(data)["from_key"]) for subject, data in carried] == [
        (f"concern:{now_key}", lamp_key)
    ]


def test_one_device_with_and_without_an_email_is_one_supporter(city: City) -> None:
    """Pressing "me too" first without, then with an e-mail address (or the other way
    round) is one resident; two residents giving their own addresses at one shared computer
    are two (the flood guard weighs the device)."""
    case = voice(city, BENCH, contact={"email": "writer@example.org"})["case_id"]
    phone = "shared-device-token-0001"
    assert support_case(city.ctx, case, Supporter(device=phone)).counted
    later = support_case(city.ctx, case, Supporter(device=phone, email="writer@example.org",
                                                   notify=True))
    assert not later.counted and later.supports == 1
    other = "other-device-token-00002"
    assert support_case(city.ctx, case, Supporter(device=other, email="a@example.org")).counted
    assert not support_case(city.ctx, case, Supporter(device=other)).counted
    assert support_case(city.ctx, case, Supporter(device=other, email="b@example.org")).counted
    with city.ctx.db.reader() as s:
        rows = s.execute(select(CaseSupport.identity, CaseSupport.device_key)
                         .where(CaseSupport.case_id == case).order_by(CaseSupport.id)).all()
    assert [identity for identity, _ in rows] == ["email", "email", "email"]
    # the first supporter wrote in with that address: writing in and "me too" are one
    refresh_concerns(city.ctx)
    concern = concern_detail(city.ctx, None, f"c{case}")
    assert concern.residents == 1 and concern.supports == 2
