"""Redaction: each kind of personal data is found whole, checksums keep lookalikes visible,
and the labelled spans in tests/data reach the recall/precision target."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from civicpulse.understanding.redaction import (
    Span,
    id_check_char,
    luhn_valid,
    redact,
    valid_resident_id,
)

SPANS_FILE = Path(__file__).resolve().parents[1] / "data" / "redaction_spans.jsonl"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_redaction.py"

# invented numbers with valid checksums (built in the tests below)
ID_NUMBER = "11010519491231002" + id_check_char("11010519491231002")
CARD = "6222020200112233445"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in redact(text).spans]


def test_checksums() -> None:
    assert valid_resident_id(ID_NUMBER)
    assert not valid_resident_id(ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1"))
    assert not valid_resident_id("110105194913310021")  # month 13
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678请回电", [("phone", "13812345678")]),
        ("手机 138-1234-5678。", [("phone", "138-1234-5678")]),
        ("座机0731-84561234", [("phone", "0731-84561234")]),
        ("call (617) 555-0143 today", [("phone", "(617) 555-0143")]),
        ("邮箱 li.ming@example.com 谢谢", [("email", "li.ming@example.com")]),
        (f"身份证{ID_NUMBER}", [("id_number", ID_NUMBER)]),
        ("卡号4111 1111 1111 1111", [("bank_card", "4111 1111 1111 1111")]),
        ("车牌湘A12345乱停", [("plate", "湘A12345")]),
        ("我叫张伟，住在A3区", [("name", "张伟")]),
        ("联系人：欧阳娜娜 电话", [("name", "欧阳娜娜")]),
        ("My name is Mary O'Brien and", [("name", "Mary O'Brien")]),
    ],
)
def test_finds_each_kind(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号4111111111111111一直没发货",  # passes Luhn, but it is an order number
        "2019年12月3日缴费1234.56元",
        "2019-12-03 at 10:30, 3栋2单元门口",  # a building and unit: many households
        "身份证号110105194912310020是错的",  # wrong check character
        "本人于上周在超市买到过期食品",
        "I am writing about the hydrant",
        "公交128路",
    ],
)
def test_leaves_lookalikes_alone(text: str) -> None:
    assert kinds(text) == []


def test_redacted_text_keeps_the_rest() -> None:
    out = redact("我叫李强，电话13912345678，邮箱a@example.org。")
    assert out.text == "我叫[name]，电话[phone]，邮箱[email]。"
    assert out.spans[0] == Span(2, 4, "name")


def test_labelled_spans_meet_the_target() -> None:
    spec = importlib.util.spec_from_file_location("bench_redaction", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = [json.loads(line) for line in SPANS_FILE.read_text(encoding="utf-8").splitlines()]
    assert sum(len(r["spans"]) for r in rows) >= 200
    result = bench.evaluate(SPANS_FILE)
    assert result["all"]["recall"] >= 0.95
    assert result["all"]["precision"] >= 0.9
