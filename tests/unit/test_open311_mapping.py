"""The Open311 mapping rules, without a database: statuses, update plans, attributes, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from civicpulse.channels.open311.mapping import (
    EXTENDED_STATUSES,
    attribute_params,
    attributes_of,
    check_attributes,
    extended_status_of_event,
    open311_status,
    parse_w3c,
    plan_update,
    w3c,
)
from civicpulse.channels.open311.views import date_window, paging, request_query
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.workflow import Action, CaseStatus

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SIZE = {
    "code": "size",
    "datatype": "singlevaluelist",
    "required": True,
    "order": 2,
    "description": "How big?",
    "values": [{"key": "s", "name": "Small"}, {"key": "l", "name": "Large"}],
}
ITEMS = {
    "code": "items",
    "datatype": "multivaluelist",
    "required": False,
    "order": 1,
    "values": [{"key": "sofa", "name": "Sofa"}, {"key": "bed", "name": "Bed"}],
}
DEPTH = {"code": "depth", "datatype": "number", "order": 3}
SEEN = {"code": "seen", "datatype": "datetime", "order": 4}
NOTE = {"code": "note", "datatype": "string", "order": 5}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("submitted", "open"),
        ("assigned", "open"),
        ("in_progress", "open"),
        ("resolved", "open"),
        ("reopened", "open"),
        ("contested", "open"),
        ("confirmed", "closed"),
        ("unverified", "closed"),
        ("rejected", "closed"),
        ("merged", "closed"),
    ],
)
def test_only_closed_states_are_closed(state: str, expected: str) -> None:
    assert open311_status(state) == expected


def test_every_event_kind_has_an_extended_status() -> None:
    assert extended_status_of_event("resolve", "resolved") == "FIXED"
    assert extended_status_of_event("transfer", "assigned") == "INTERNAL_REFERRAL"
    assert extended_status_of_event("reply", "in_progress") == "IN_PROGRESS"
    assert extended_status_of_event("reply", "resolved") == "FIXED"
    assert extended_status_of_event("dispute", "reopened") == "REOPEN"
    for state in CaseStatus:
        assert extended_status_of_event("reply", state.value) in EXTENDED_STATUSES


def plan(status: str, state: CaseStatus, **kw: object) -> tuple[Action, ...]:
    args: dict[str, object] = {"description": None, "department": None, "duplicate_of": None}
    args.update(kw)
    return plan_update(status, state, **args).actions  # type: ignore[arg-type]


def test_update_plans() -> None:
    assert plan("INVESTIGATING", CaseStatus.ASSIGNED) == (Action.START,)
    assert plan("in progress", CaseStatus.REOPENED, description="On it") == (
        Action.START,
        Action.REPLY,
    )
    assert plan("ACTION_SCHEDULED", CaseStatus.IN_PROGRESS, description="Monday") == (Action.REPLY,)
    assert plan("FIXED", CaseStatus.IN_PROGRESS, description="Done") == (Action.RESOLVE,)
    assert plan("CLOSED", CaseStatus.ASSIGNED, description="Done") == (Action.RESOLVE,)
    assert plan("NO_FURTHER_ACTION", CaseStatus.ASSIGNED, description="x") == (Action.REJECT,)
    assert plan("NOT_COUNCILS_RESPONSIBILITY", CaseStatus.SUBMITTED) == (Action.REJECT,)
    assert plan("DUPLICATE", CaseStatus.ASSIGNED, duplicate_of=4) == (Action.MERGE,)
    assert plan("INTERNAL_REFERRAL", CaseStatus.SUBMITTED, department="parks") == (Action.ASSIGN,)
    assert plan("INTERNAL_REFERRAL", CaseStatus.IN_PROGRESS, department="parks") == (
        Action.TRANSFER,
    )
    assert plan("OPEN", CaseStatus.ASSIGNED, description="Noted") == (Action.REPLY,)


@pytest.mark.parametrize(
    ("status", "state", "kw", "words"),
    [
        ("REOPEN", CaseStatus.RESOLVED, {}, "resident"),
        ("BOGUS", CaseStatus.ASSIGNED, {}, "status must be one of"),
        ("", CaseStatus.ASSIGNED, {}, "status must be one of"),
        ("OPEN", CaseStatus.ASSIGNED, {}, "without a description"),
        ("IN_PROGRESS", CaseStatus.IN_PROGRESS, {}, "already in_progress"),
        ("DUPLICATE", CaseStatus.ASSIGNED, {}, "duplicate_of"),
        ("INTERNAL_REFERRAL", CaseStatus.ASSIGNED, {}, "department"),
    ],
)
def test_update_refusals(status: str, state: CaseStatus, kw: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationFailed, match=words):
        plan(status, state, **kw)


def test_attributes_follow_the_catalogue_order() -> None:
    attrs = attributes_of([SIZE, ITEMS, DEPTH])
    assert [a["code"] for a in attrs] == ["items", "size", "depth"]
    assert attrs[1] == {
        "variable": True,
        "code": "size",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "One key from values",
        "order": 2,
        "description": "How big?",
        "values": [{"key": "s", "name": "Small"}, {"key": "l", "name": "Large"}],
    }
    assert attrs[2]["values"] == [] and attrs[2]["required"] is False


def test_attribute_parameters_single_and_multi() -> None:
    given = attribute_params(
        [
            ("attribute[size]", "l"),
            ("attribute[items][]", "sofa"),
            ("attribute[items][]", "bed"),
            ("attributes[x]", "ignored"),
            ("description", "x"),
        ]
    )
    assert given == {"size": ["l"], "items": ["sofa", "bed"]}
    fields = [SIZE, ITEMS, DEPTH, SEEN, NOTE]
    checked = check_attributes(
        fields,
        {**given, "depth": ["2.5"], "seen": ["2026-03-01T08:00"], "note": ["  by the gate "]},
        ZONE,
    )
    assert checked == {
        "size": "l",
        "items": ["sofa", "bed"],
        "depth": 2.5,
        "seen": "2026-03-01T08:00:00+08:00",
        "note": "by the gate",
    }
    assert check_attributes(fields, {"size": ["s"], "depth": ["3"]}, ZONE)["depth"] == 3


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({}, "'size' is required"),
        ({"size": ["xl"]}, "'xl' is not one of s, l"),
        ({"size": ["s", "l"]}, "takes one value"),
        ({"size": ["s"], "items": ["sofa", "car"]}, "'car' is not one of"),
        ({"size": ["s"], "depth": ["deep"]}, "must be a number"),
        ({"size": ["s"], "depth": ["nan"]}, "finite"),
        ({"size": ["s"], "seen": ["last week"]}, "W3C"),
        ({"size": ["s"], "note": ["x" * 1001]}, "at most 1000"),
        ({"size": ["s"], "colour": ["red"]}, "unknown attribute 'colour'"),
    ],
)
def test_bad_attribute_values_are_refused(given: dict[str, list[str]], words: str) -> None:
    with pytest.raises(ValidationFailed, match=words):
        check_attributes([SIZE, ITEMS, DEPTH, SEEN, NOTE], given, ZONE)


def test_w3c_dates() -> None:
    assert parse_w3c("2010-01-01T00:00:00Z", ZONE) == datetime(2010, 1, 1, tzinfo=UTC)
    assert parse_w3c("2010-01-01", ZONE).utcoffset() == timedelta(hours=8)
    assert parse_w3c("2010-01-01T10:00:00-05:00", ZONE).hour == 10
    with pytest.raises(ValidationFailed, match="W3C"):
        parse_w3c("01/02/2010", ZONE)
    assert w3c(NOW, ZONE) == "2026-03-02T17:00:00+08:00"
    assert w3c(None, ZONE) is None


def test_default_window_page_and_query() -> None:
    window = date_window(None, None, NOW, ZONE)
    assert window.end == NOW and window.end - window.start == timedelta(days=90)
    only_start = date_window("2026-01-01T00:00:00Z", None, NOW, ZONE)
    assert only_start.end - only_start.start == timedelta(days=90)
    only_end = date_window(None, "2026-01-01T00:00:00Z", NOW, ZONE)
    assert only_end.end - only_end.start == timedelta(days=90)
    with pytest.raises(ValidationFailed, match="90 days"):
        date_window("2026-01-01T00:00:00Z", "2026-04-02T00:00:00Z", NOW, ZONE)
    with pytest.raises(ValidationFailed, match="before"):
        date_window("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z", NOW, ZONE)
    assert paging(None, None).page_size == 1000 and paging(None, None).offset == 0
    assert paging("3", "50").offset == 100
    for page, size in [("0", None), (None, "1001"), ("x", None), (None, "0")]:
        with pytest.raises(ValidationFailed):
            paging(page, size)
    q = request_query([("service_request_id", "4, 7"), ("status", "closed")], NOW, ZONE)
    assert q.ids == [4, 7] and q.closed is None  # the ids override every other argument
    with pytest.raises(ValidationFailed, match="service_request_id"):
        request_query([("service_request_id", "4;DROP")], NOW, ZONE)
    q = request_query([("status", "closed")], NOW, ZONE)
    assert q.ids is None and q.closed is True
    assert request_query([("status", "open,closed")], NOW, ZONE).closed is None


def test_service_request_id_overrides_a_bad_start_date() -> None:
    q = request_query(
        [("service_request_id", "4"), ("start_date", "yesterday"), ("page_size", "0")], NOW, ZONE
    )
    assert q.ids == [4]


def test_repeated_service_codes_work_like_the_comma_list() -> None:
    repeated = request_query([("service_code", "a"), ("service_code", "b")], NOW, ZONE)
    commas = request_query([("service_code", "a,b")], NOW, ZONE)
    assert repeated.service_codes == commas.service_codes == ("a", "b")
