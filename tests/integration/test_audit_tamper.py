"""Tampering with the stored audit log is found and named, by the service and by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from civicpulse.domain.audit_chain import GENESIS, ChainProblem, canonical_json, record_hash
from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.voices import VoiceInput, submit_voice
from tests.city import City

CLI = Path(sys.executable).parent / "civicpulse"



def do_some_work(city: City) -> None:
    """A few real actions through the API, so the chain holds more than the seed."""
    c = city.client
    officer = city.token("roads1")
    v = c.post("/api/v1/voices", json={"text": "Pothole on Elm St", "category": "pothole",
                                       "contact": {"email": "r@example.org"}}).json()
    assert c.post(f"/api/v1/cases/{v['case_id']}/start", headers=officer).status_code == 200
    r = c.post(f"/api/v1/cases/{v['case_id']}/resolve", json={"message": "Filled, 修好了"},
               headers=officer)
    assert r.status_code == 200, r.text
    r = c.post(f"/api/v1/track/{v['tracking_code']}/verification",
               json={"fixed": True, "satisfaction": 4})
    assert r.status_code == 200, r.text
    w = c.post("/api/v1/voices", json={"text": "路灯坏了"}).json()
    r = c.post(f"/api/v1/cases/{w['case_id']}/assign", json={"department": "parks"},
               headers=city.token("dispatch"))
    assert r.status_code == 200, r.text


def rows(ctx: Context) -> list[dict]:
    with ctx.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            text("SELECT seq, at, actor, action, subject, data, prev_hash, hash "
                 "FROM audit_log ORDER BY seq"))]


def sql(ctx: Context, statement: str, **params: object) -> None:
    with ctx.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def forge(seq: int, prev: str, **overrides: object) -> dict:
    """A record hashed exactly as the application would, over a chosen predecessor."""
    rec = {"seq": seq, "at": "2026-03-02T09:30:00+00:00", "actor": "staff:admin",
           "action": "case.reject", "subject": "case:1", "data": {"forged": True}}
    rec.update(overrides)
    digest = record_hash(prev=prev, **rec)  # type: ignore[arg-type]
    return {**rec, "data": canonical_json(rec["data"]), "prev_hash": prev, "hash": digest}


def insert(ctx: Context, rec: dict) -> None:
    sql(ctx, "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) "
             "VALUES (:seq, :at, :actor, :action, :subject, :data, :prev_hash, :hash)", **rec)


def problems_of(ctx: Context) -> list[tuple[int, str]]:
    _, problems = verify_audit_log(ctx.db)
    return [(p.seq, p.kind) for p in problems]


def test_real_activity_verifies_clean(city: City) -> None:
    do_some_work(city)
    count, problems = verify_audit_log(city.ctx.db)
    stored = rows(city.ctx)
    assert problems == []
    assert count == len(stored) >= 12
    assert [r["seq"] for r in stored] == list(range(1, count + 1))
    assert stored[0]["prev_hash"] == GENESIS
    actions = [r["action"] for r in stored]
    for expected in ("voice.submitted", "case.start", "case.resolve", "case.confirm",
                     "case.assign", "user.added"):
        assert expected in actions
    assert "修好了" in next(r["data"] for r in stored if r["action"] == "case.resolve")


def _alter_data(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    k = seqs[len(seqs) // 2]
    sql(ctx, "UPDATE audit_log SET data = :d WHERE seq = :s",
        d=canonical_json({"message": "nothing happened here"}), s=k)
    return [(k, "altered")]


def _alter_actor(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    k = seqs[3]
    sql(ctx, "UPDATE audit_log SET actor = 'staff:someone-else' WHERE seq = :s", s=k)
    return [(k, "altered")]


def _delete_middle(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    k = seqs[len(seqs) // 2]
    sql(ctx, "DELETE FROM audit_log WHERE seq = :s", s=k)
    return [(k, "removed")]


def _replace_by_forgery(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    """Swap a middle record for one hashed with record_hash but linked to the wrong parent."""
    k = seqs[len(seqs) // 2]
    sql(ctx, "DELETE FROM audit_log WHERE seq = :s", s=k)
    insert(ctx, forge(k, prev="ab" * 32))
    # the forgery fails its link, and the genuine next record no longer links to it
    return [(k, "inserted"), (k + 1, "inserted")]


def _append_forgery_wrong_link(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    insert(ctx, forge(seqs[-1] + 1, prev=GENESIS))
    return [(seqs[-1] + 1, "inserted")]


def _append_forgery_good_link(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    """Perfectly linked, but no append ever moved the head to it."""
    last = rows(ctx)[-1]
    insert(ctx, forge(seqs[-1] + 1, prev=last["hash"]))
    return [(seqs[-1] + 1, "inserted")]


def _shift_last_row(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    """Renumber the last record one place up, as if something had been slipped in before it."""
    n = seqs[-1]
    sql(ctx, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=n + 1, old=n)
    # n is gone, the moved record fails its hash (seq is hashed), and it lies past the head
    return [(n, "removed"), (n + 1, "altered"), (n + 1, "inserted")]


def _delete_last(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    sql(ctx, "DELETE FROM audit_log WHERE seq = :s", s=seqs[-1])
    return [(seqs[-1], "truncated")]


def _delete_first(ctx: Context, seqs: list[int]) -> list[tuple[int, str]]:
    sql(ctx, "DELETE FROM audit_log WHERE seq = 1")
    return [(1, "removed")]


TAMPERING: dict[str, Callable[[Context, list[int]], list[tuple[int, str]]]] = {
    "update-data": _alter_data,
    "update-actor": _alter_actor,
    "delete-middle": _delete_middle,
    "replace-by-forgery": _replace_by_forgery,
    "append-forgery-wrong-link": _append_forgery_wrong_link,
    "append-forgery-good-link": _append_forgery_good_link,
    "shift-last-row": _shift_last_row,
    "delete-last": _delete_last,
    "delete-first": _delete_first,
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_named(city: City, how: str) -> None:
    do_some_work(city)
    ctx = city.ctx
    assert problems_of(ctx) == []
    seqs = [r["seq"] for r in rows(ctx)]
    expected = TAMPERING[how](ctx, seqs)
    found = problems_of(ctx)
    assert found[: len(expected)] == expected, found
    assert found == expected  # and nothing else is blamed


def test_restoring_the_record_makes_the_chain_whole_again(city: City) -> None:
    do_some_work(city)
    ctx = city.ctx
    original = rows(ctx)[5]
    sql(ctx, "UPDATE audit_log SET data = '{}' WHERE seq = :s", s=original["seq"])
    assert problems_of(ctx) == [(original["seq"], "altered")]
    sql(ctx, "UPDATE audit_log SET data = :d WHERE seq = :s", d=original["data"],
        s=original["seq"])
    assert problems_of(ctx) == []


def test_unparseable_data_is_reported_not_crashing(city: City) -> None:
    ctx = city.ctx
    sql(ctx, "UPDATE audit_log SET data = '{not json' WHERE seq = 2")
    assert problems_of(ctx) == [(2, "altered")]


def test_missing_head_row_is_reported(city: City) -> None:
    ctx = city.ctx
    sql(ctx, "DELETE FROM audit_head")
    found = problems_of(ctx)
    assert (0, "altered") in found


def test_verifying_while_others_write_sees_no_false_alarm(city: City) -> None:
    """Appends committed while the verifier reads must not look like forged records."""
    ctx = city.ctx
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set() and i < 200:
                submit_voice(ctx, SYSTEM, VoiceInput(text=f"noise {i}"))
                i += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    seen: list[list[ChainProblem]] = []
    try:
        for _ in range(25):
            _, problems = verify_audit_log(ctx.db)
            seen.append(problems)
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors
    assert all(p == [] for p in seen), [p for p in seen if p][:1]
    assert problems_of(ctx) == []


def _cli(ctx: Context, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env["CIVICPULSE_DATABASE_URL"] = ctx.settings.resolved_database_url()
    env["CIVICPULSE_DATA_DIR"] = str(tmp_path / "cli-data")
    return subprocess.run([str(CLI), "audit", "verify"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_cli_audit_verify(city: City, tmp_path: Path) -> None:
    do_some_work(city)
    ctx = city.ctx
    n = len(rows(ctx))
    ok = _cli(ctx, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"audit log intact: {n} records verified" in ok.stdout

    target = rows(ctx)[n // 2]
    data = json.loads(target["data"])
    data["tampered"] = True
    sql(ctx, "UPDATE audit_log SET data = :d WHERE seq = :s", d=canonical_json(data),
        s=target["seq"])
    broken = _cli(ctx, tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"record {target['seq']}: altered" in broken.stdout
    assert f"audit log BROKEN: 1 problem(s) in {n} records" in broken.stdout
