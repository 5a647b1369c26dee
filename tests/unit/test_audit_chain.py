"""The audit hash chain as pure functions: every kind of tampering is named at its record."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from civicpulse.domain.audit_chain import (
    GENESIS,
    AuditRecord,
    ChainProblem,
    canonical_json,
    record_hash,
    verify_chain,
)


def make_record(seq: int, prev: str, **fields: Any) -> AuditRecord:
    body: dict[str, Any] = {
        "at": f"2026-03-02T09:{seq:02d}:00+00:00",
        "actor": "staff:roads1",
        "action": "case.resolve",
        "subject": f"case:{seq}",
        "data": {"n": seq, "message": f"fixed {seq}", "zh": "已修复"},
    }
    body.update(fields)
    digest = record_hash(seq=seq, prev=prev, **body)
    return AuditRecord(seq=seq, prev_hash=prev, hash=digest, **body)


def make_chain(n: int) -> list[AuditRecord]:
    chain: list[AuditRecord] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        rec = make_record(seq, prev)
        chain.append(rec)
        prev = rec.hash
    return chain


def kinds(problems: list[ChainProblem]) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in problems]


def head_of(chain: list[AuditRecord]) -> tuple[int, str]:
    return chain[-1].seq, chain[-1].hash


def test_intact_chain_is_ok() -> None:
    chain = make_chain(6)
    assert verify_chain(chain, *head_of(chain)) == []
    assert verify_chain(iter(chain), *head_of(chain)) == []  # a one-pass iterator is enough


def test_empty_chain_with_empty_head_is_ok() -> None:
    assert verify_chain([], 0, GENESIS) == []
    assert verify_chain([], None, None) == []


def test_hash_does_not_depend_on_key_order() -> None:
    a = record_hash(seq=1, at="t", actor="a", action="x", subject="s",
                    data={"b": 1, "a": [1, {"y": 2, "x": 3}]}, prev=GENESIS)
    b = record_hash(seq=1, at="t", actor="a", action="x", subject="s",
                    data={"a": [1, {"x": 3, "y": 2}], "b": 1}, prev=GENESIS)
    assert a == b
    assert canonical_json({"b": 1, "a": "中"}) == '{"a":"中","b":1}'


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"n": 3, "message": "fixed 3 (edited)", "zh": "已修复"}},
        {"actor": "staff:someone-else"},
        {"action": "case.reject"},
        {"subject": "case:999"},
        {"at": "2020-01-01T00:00:00+00:00"},
    ],
    ids=["data", "actor", "action", "subject", "at"],
)
def test_altered_field_is_named(change: dict[str, Any]) -> None:
    chain = make_chain(5)
    head = head_of(chain)
    chain[2] = replace(chain[2], **change)
    problems = verify_chain(chain, *head)
    assert kinds(problems) == [(3, "altered")]
    assert "record 3: altered" in str(problems[0])


def test_altered_and_rehashed_record_breaks_the_next_link() -> None:
    """Recomputing the edited record's hash does not help: the next record points elsewhere."""
    chain = make_chain(5)
    head = head_of(chain)
    forged = make_record(3, chain[1].hash, data={"n": 3, "message": "nothing to see"})
    chain[2] = forged
    assert kinds(verify_chain(chain, *head)) == [(4, "inserted")]


def test_altered_and_rehashed_last_record_differs_from_head() -> None:
    chain = make_chain(5)
    head = head_of(chain)
    chain[4] = make_record(5, chain[3].hash, data={"rewritten": True})
    assert kinds(verify_chain(chain, *head)) == [(5, "altered")]


@pytest.mark.parametrize("gone", [1, 2, 3, 4])
def test_removed_record_is_named(gone: int) -> None:
    chain = make_chain(5)
    head = head_of(chain)
    del chain[gone - 1]
    problems = verify_chain(chain, *head)
    assert kinds(problems) == [(gone, "removed")]
    assert f"{gone} missing" in problems[0].detail


def test_removed_run_of_records_is_named_once() -> None:
    chain = make_chain(8)
    head = head_of(chain)
    del chain[2:5]  # seq 3, 4, 5
    problems = verify_chain(chain, *head)
    assert kinds(problems) == [(3, "removed")]
    assert "3–5" in problems[0].detail


def test_inserted_forged_record_with_wrong_link() -> None:
    """A correctly hashed record that does not link to its predecessor is an insertion."""
    chain = make_chain(5)
    head = head_of(chain)
    # replace record 3 by a forgery hashed over a made-up predecessor
    chain[2] = make_record(3, "f" * 64, data={"n": 3, "message": "forged"})
    problems = verify_chain(chain, *head)
    assert problems[0].seq == 3 and problems[0].kind == "inserted"
    assert "link" in problems[0].detail
    # the real record 4 no longer links to what now stands at 3 either
    assert kinds(problems) == [(3, "inserted"), (4, "inserted")]


def test_inserted_record_with_duplicate_seq() -> None:
    chain = make_chain(5)
    head = head_of(chain)
    forged = make_record(3, chain[1].hash, data={"forged": True})
    chain.insert(3, forged)  # 1, 2, 3, 3', 4, 5
    problems = verify_chain(chain, *head)
    assert (3, "inserted") in kinds(problems)
    assert all(p.seq in (3, 4) for p in problems)


def test_forged_record_appended_with_wrong_link() -> None:
    chain = make_chain(5)
    head = head_of(chain)
    chain.append(make_record(6, GENESIS))
    assert kinds(verify_chain(chain, *head)) == [(6, "inserted")]


def test_forged_record_appended_past_the_head_is_caught() -> None:
    """Even perfectly linked, a record the head never knew about was not written by us."""
    chain = make_chain(5)
    head = head_of(chain)
    chain.append(make_record(6, chain[-1].hash))
    problems = verify_chain(chain, *head)
    assert kinds(problems) == [(6, "inserted")]


@pytest.mark.parametrize("cut", [1, 2, 5])
def test_truncated_tail(cut: int) -> None:
    chain = make_chain(5)
    head = head_of(chain)
    kept = chain[: len(chain) - cut]
    problems = verify_chain(kept, *head)
    assert kinds(problems) == [(len(kept) + 1, "truncated")]
    assert f"head is {head[0]}" in problems[0].detail


def test_truncated_tail_without_a_head_goes_unnoticed_only_without_head() -> None:
    chain = make_chain(5)
    assert verify_chain(chain[:3], None, None) == []  # no head: nothing to compare with
    assert verify_chain(chain[:3], 5, None) != []


def test_reordered_records_are_caught() -> None:
    """Swapping two records' places (renumbering them) breaks both their hashes."""
    chain = make_chain(6)
    head = head_of(chain)
    third, fourth = chain[2], chain[3]
    chain[2] = replace(fourth, seq=3, prev_hash=third.prev_hash)
    chain[3] = replace(third, seq=4, prev_hash=fourth.prev_hash)
    # both moved records fail their own hash; the record after them no longer links
    assert kinds(verify_chain(chain, *head)) == [(3, "altered"), (4, "altered"), (5, "inserted")]


def test_records_read_out_of_order_are_caught_where_the_order_breaks() -> None:
    chain = make_chain(6)
    head = head_of(chain)
    chain[2], chain[3] = chain[3], chain[2]  # 1, 2, 4, 3, 5, 6
    problems = verify_chain(chain, *head)
    assert problems, "out-of-order records must not pass"
    assert kinds(problems)[0] == (3, "removed")
    assert (3, "inserted") in kinds(problems)


def test_problem_str_names_seq_and_kind() -> None:
    p = ChainProblem(7, "removed", "record(s) 7 missing")
    assert str(p) == "record 7: removed — record(s) 7 missing"
