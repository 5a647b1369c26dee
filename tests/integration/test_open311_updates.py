"""The servicerequestupdates extension: the feed, and updates posted by a back office
that go through the same case actions, permissions and audit as staff clicks."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import select

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.staff import add_api_key, add_user, list_api_keys
from civicpulse.storage.tables import AuditEntry, Case, CaseEvent
from tests.city import PASSWORD, City
from tests.live import cli_env, run_cli

BASE = "/open311/v2"


@pytest.fixture
def key(city: City) -> str:
    return add_api_key(city.ctx, SYSTEM, "back-office")


#: every request somewhere else (kilometres apart, outside the north area, so routed to
#: roads), so that intake's duplicate matching never merges two of them
PLACES = itertools.count()


def new_request(city: City, key: str, **fields: str) -> str:
    n = next(PLACES)
    data = {
        "api_key": key,
        "service_code": "pothole",
        "description": f"Hole number {n} on street {n}",
        "lat": f"{31 + n * 0.05:.2f}",
        "long": "121.0",
        **fields,
    }
    r = city.client.post(f"{BASE}/requests.json", data=data)
    assert r.status_code == 200, r.text
    return str(r.json()[0]["service_request_id"])


def update(city: City, key: str | None, who: str | None, fmt: str = "json", **fields: Any) -> Any:
    data = {k: v for k, v in {"api_key": key, **fields}.items() if v is not None}
    headers = city.token(who) if who else {}
    return city.client.post(f"{BASE}/servicerequestupdates.{fmt}", data=data, headers=headers)


def case_state(city: City, rid: str) -> tuple[str, int]:
    with city.ctx.db.reader() as s:
        case = s.get(Case, int(rid))
        assert case is not None
        return case.status, case.version


def test_posted_updates_are_staff_actions(city: City, key: str) -> None:
    rid = new_request(city, key)
    before = case_state(city, rid)
    assert (
        update(city, None, "roads1", service_request_id=rid, status="IN_PROGRESS").status_code
        == 403
    )
    r = update(city, key, None, service_request_id=rid, status="IN_PROGRESS")
    assert r.status_code == 403 and "not bound to a staff account" in r.json()[0]["description"]
    r = update(
        city, key, "parks1", service_request_id=rid, status="IN_PROGRESS", description="On our way"
    )
    assert r.status_code == 403 and "own department" in r.json()[0]["description"]
    r = update(city, key, "audit", service_request_id=rid, status="FIXED", description="Done")
    assert r.status_code == 403
    assert case_state(city, rid) == before  # nothing changed

    r = update(
        city,
        key,
        "roads1",
        service_request_id=rid,
        status="in progress",
        description="Crew booked for Monday",
    )
    assert r.status_code == 200, r.text
    [answer] = r.json()
    assert case_state(city, rid)[0] == "in_progress"
    with city.ctx.db.reader() as s:
        events = s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == int(rid)).order_by(CaseEvent.id)
        ).all()
        assert [e.kind for e in events][-2:] == ["start", "reply"]
        assert events[-1].actor == "staff:roads1" and str(events[-1].id) == answer["update_id"]
        audit = [
            a.action
            for a in s.scalars(
                select(AuditEntry).where(
                    AuditEntry.subject == f"case:{rid}", AuditEntry.actor == "staff:roads1"
                )
            )
        ]
        assert audit == ["case.start", "case.reply"]

    r = update(city, key, "roads1", service_request_id=rid, status="REOPEN", description="x")
    assert r.status_code == 400 and "resident" in r.json()[0]["description"]
    r = update(city, key, "roads1", service_request_id=rid, status="FIXED")
    assert r.status_code == 400 and "public reply" in r.json()[0]["description"]
    r = update(city, key, "roads1", service_request_id=rid, status="BOGUS", fmt="xml")
    assert r.status_code == 400 and ET.fromstring(r.content).tag == "errors"
    assert (
        update(
            city, key, "roads1", service_request_id="777777", status="FIXED", description="x"
        ).status_code
        == 404
    )
    r = update(
        city, key, "roads1", service_request_id=rid, status="FIXED", description="Filled", fmt="xml"
    )
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.tag == "service_request_updates" and root[0].tag == "request_update"
    assert root[0].findtext("update_id")
    assert case_state(city, rid)[0] == "resolved"


def test_referral_duplicate_and_refusal(city: City, key: str) -> None:
    first, second, third = (new_request(city, key) for _ in range(3))
    r = update(
        city,
        key,
        "dispatch",
        service_request_id=second,
        status="DUPLICATE",
        description="Same hole",
    )
    assert r.status_code == 400 and "duplicate_of" in r.json()[0]["description"]
    r = update(
        city, key, "dispatch", service_request_id=second, status="DUPLICATE", duplicate_of=first
    )
    assert r.status_code == 200, r.text
    assert case_state(city, second)[0] == "merged"
    r = update(
        city,
        key,
        "dispatch",
        service_request_id=third,
        status="INTERNAL_REFERRAL",
        department="parks",
        description="Tree roots, not the road",
    )
    assert r.status_code == 200, r.text
    with city.ctx.db.reader() as s:
        case = s.get(Case, int(third))
        assert case is not None and case.status == "assigned"
        last = s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
        ).first()
        assert last is not None and last.kind == "transfer"
    r = update(
        city,
        key,
        "parks1",
        service_request_id=third,
        status="NOT_COUNCILS_RESPONSIBILITY",
        description="Private land",
    )
    assert r.status_code == 200 and case_state(city, third)[0] == "rejected"


def test_updates_feed(city: City, key: str) -> None:
    rid = new_request(city, key)
    assert (
        update(
            city,
            key,
            "roads1",
            service_request_id=rid,
            status="INVESTIGATING",
            description="Looking",
        ).status_code
        == 200
    )
    assert (
        update(
            city, key, "roads1", service_request_id=rid, status="FIXED", description="Filled"
        ).status_code
        == 200
    )
    feed = city.client.get(f"{BASE}/servicerequestupdates.json").json()
    mine = [(u["status"], u["description"]) for u in feed if u["service_request_id"] == rid]
    assert mine == [
        ("OPEN", ""),
        ("OPEN", ""),
        ("IN_PROGRESS", ""),
        ("IN_PROGRESS", "Looking"),
        ("FIXED", "Filled"),
    ]
    assert all(u["updated_datetime"] for u in feed)
    page = city.client.get(
        f"{BASE}/servicerequestupdates.json", params={"page": 2, "page_size": 2}
    ).json()
    assert [u["update_id"] for u in page] == [u["update_id"] for u in feed[2:4]]
    xml = ET.fromstring(city.client.get(f"{BASE}/servicerequestupdates.xml").content)
    assert xml.tag == "service_request_updates"
    assert {c.tag for c in xml[0]} >= {
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
    }
    later = city.client.get(
        f"{BASE}/servicerequestupdates.json", params={"start_date": "2027-01-01T00:00:00Z"}
    ).json()
    assert later == []


def audit_actors(city: City, rid: str) -> list[tuple[str, str]]:
    with city.ctx.db.reader() as s:
        return [
            (a.actor, a.action)
            for a in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject == f"case:{rid}")
                .order_by(AuditEntry.seq)
            )
        ]


def test_a_key_bound_to_an_account_updates_with_the_api_key_alone(
    city: City, key: str, db_url: str, tmp_path: Any
) -> None:
    """FixMyStreet posts updates with its api_key only: a key made with ``--as USER`` acts
    as that account (its role and department), and the timeline and audit name it."""
    add_user(city.ctx, SYSTEM, "fms-roads", "officer", PASSWORD, "roads")
    made = run_cli(
        cli_env(db_url, tmp_path / "data"), "keys", "add", "fixmystreet", "--as", "fms-roads"
    )
    assert made.returncode == 0, made.stderr
    bound = made.stdout.strip().splitlines()[-1]
    assert [k.acts_as for k in list_api_keys(city.ctx) if k.name == "fixmystreet"] == [
        "fms-roads"
    ]
    rid = new_request(city, key)
    r = update(city, bound, None, service_request_id=rid, status="IN_PROGRESS",
               description="Crew booked")
    assert r.status_code == 200, r.text
    assert case_state(city, rid)[0] == "in_progress"
    assert audit_actors(city, rid)[-2:] == [
        ("staff:fms-roads", "case.start"),
        ("staff:fms-roads", "case.reply"),
    ]
    # the account's limits are the key's: a parks officer's key cannot touch a roads case
    add_user(city.ctx, SYSTEM, "fms-parks", "officer", PASSWORD, "parks")
    parks_key = add_api_key(city.ctx, SYSTEM, "fms-parks", acts_as="fms-parks")
    r = update(city, parks_key, None, service_request_id=rid, status="FIXED", description="x")
    assert r.status_code == 403 and "own department" in r.json()[0]["description"]
    # and an unbound key still cannot change a case
    r = update(city, key, None, service_request_id=rid, status="FIXED", description="x")
    assert r.status_code == 403 and case_state(city, rid)[0] == "in_progress"
    refused = run_cli(
        cli_env(db_url, tmp_path / "data"), "keys", "add", "ghost", "--as", "nobody"
    )
    assert refused.returncode != 0 and "nobody" in refused.stderr


def test_a_posted_update_is_one_transaction(
    city: City, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IN_PROGRESS with a description is START then REPLY: when the reply fails, the start
    must not stay behind."""
    import civicpulse.services.case_change as case_change

    rid = new_request(city, key)
    before = case_state(city, rid)
    real = case_change.tell_residents

    def failing(*args: Any, **kwargs: Any) -> None:
        if args[3] == "reply":
            raise RuntimeError("the mail queue is down")
        real(*args, **kwargs)

    monkeypatch.setattr(case_change, "tell_residents", failing)
    with pytest.raises(RuntimeError):
        update(city, key, "roads1", service_request_id=rid, status="IN_PROGRESS",
               description="Crew booked")
    assert case_state(city, rid) == before
    assert [a for _, a in audit_actors(city, rid)] == ["voice.submitted"]
