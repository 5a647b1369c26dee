"""`civicpulse audit replies`: each official reply of a file assessed against its message."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from civicpulse.cli import app
from tests.conftest import shared_data
from tests.live import run_cli

HEADER = ["编号", "留言用户", "留言主题", "留言详情", "答复意见", "留言时间"]
THANKS = "感谢您对我们工作的关心、理解和支持！"
ROWS = [
    ["1", "A0001", "桃子湖路路灯不亮",
     "岳麓区桃子湖路的路灯坏了一个多星期，晚上一片漆黑，请尽快修复。",
     f"网友“A0001”您好！经核查，桃子湖路3盏路灯电缆老化，我局已于2019年5月10日更换电缆，"
     f"路灯已恢复照明。{THANKS}", "2019-05-02 10:00:00"],
    ["2", "A0002", "芙蓉中路垃圾站臭气扰民",
     "天心区芙蓉中路小区门口的垃圾站臭气熏天，夏天更严重，希望搬迁或加强清运。",
     f"网友“A0001”您好！经核查，桃子湖路3盏路灯电缆老化，我局已于2019年5月10日更换电缆，"
     f"路灯已恢复照明。{THANKS}", "2019-05-03 09:00:00"],
    ["3", "A0003", "咨询公租房申请",
     "请问外地户口在本市工作满三年，可以申请公租房吗？需要什么材料？",
     f"网友：您好！您反映的问题不属于我局职责范围，请您向市住房保障中心咨询。{THANKS}",
     "2019-05-04 09:00:00"],
    ["4", "U17", "Street light out",
     "The street light in front of 12 Elm Street has been out for a week.",
     "Crew replaced the lamp at 12 Elm Street on March 3.", "2019-03-01 08:00"],
    ["5", "U18", "Bin overflowing",
     "The litter bin by the playground on Dock Road is overflowing again.",
     "Your request was forwarded to the Parks Department.", "2019-03-02 08:00"],
]
TOPICS = ("小区噪音", "道路积水", "违章停车", "公交线路", "学校招生", "医保报销")
for n, topic in enumerate(TOPICS, 6):
    ROWS.append([str(n), f"A00{n:02d}", f"关于{topic}", f"反映{topic}的问题，请处理。",
                 f"网友您好！关于{topic}的问题，我们已安排人员核实处理。{THANKS}",
                 "2019-05-05 09:00:00"])

MAPPING = {"message": "留言详情", "title": "留言主题", "reply": "答复意见", "author": "留言用户",
           "occurred_at": "留言时间"}


def maps(**change: str | None) -> list[str]:
    fields = {**MAPPING, **change}
    return [a for f, c in fields.items() if c is not None for a in ("--map", f"{f}={c}")]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CIVICPULSE_TIMEZONE", raising=False)
    return CliRunner()


def audit(runner: CliRunner, path: Path, *extra: str) -> Result:
    return runner.invoke(app, ["audit", "replies", str(path), *extra])


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_every_row_is_assessed_in_order_with_reasons_in_its_language(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "replies.csv", ROWS)
    result = audit(runner, path, *maps(), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    got = lines(result)
    assert len(got) == len(ROWS)
    for line in got:
        assert list(line) == ["relevance", "boilerplate", "deflection", "concrete", "flags",
                              "reasons"]
        assert 0 <= line["relevance"] <= 1 and 0 <= line["boilerplate"] <= 1
    answered, borrowed, passed_on, english, forwarded = got[:5]
    assert answered["relevance"] > 0.9 and answered["concrete"] and answered["flags"] == []
    assert "称呼了留言人“A0001”" in answered["reasons"]
    # row 2 got row 1's reply: it greets another resident and names another road
    assert borrowed["relevance"] < 0.1 and "does_not_answer" in borrowed["flags"]
    assert "称呼的是“A0001”，而不是留言人“A0002”" in borrowed["reasons"]
    assert passed_on["deflection"] and "deflection" in passed_on["flags"]
    assert any(r.startswith("把问题推给他处而没有具体措施") for r in passed_on["reasons"])
    assert english["concrete"] and english["relevance"] > 0.5
    assert any(r.startswith("names the message's places: 12 Elm Street")
               for r in english["reasons"])
    assert forwarded["deflection"] and "passes the matter on without an action: “Your " \
        "request was forwarded to the Parks Department.”" in forwarded["reasons"]
    # the six replies made of one template
    assert all("boilerplate" in line["flags"] for line in got[5:])
    assert any(r.startswith("模板句") for r in got[5]["reasons"])
    assert "11 replies: 3 do not answer" in result.stderr
    assert "note: 11 replies say little" in result.stderr
    english_only = lines(audit(runner, path, *maps(), "--lang", "en"))
    assert "greets the message's author “A0001”" in english_only[0]["reasons"]
    assert [e["relevance"] for e in english_only] == [g["relevance"] for g in got]


def test_a_saved_reference_judges_a_short_file_as_the_long_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    whole = write_csv(tmp_path / "history.csv", ROWS)
    saved = tmp_path / "replies.json.gz"
    first = audit(runner, whole, *maps(), "--save-reference", str(saved))
    assert first.exit_code == 0, first.output
    assert saved.exists()
    short = write_csv(tmp_path / "two.csv", ROWS[5:7])
    alone = audit(runner, short, *maps())
    with_history = audit(runner, short, *maps(), "--reference", str(saved))
    assert with_history.exit_code == 0, with_history.output
    assert lines(with_history) == lines(first)[5:7]
    # learnt from two rows, the two replies' shared sentence is not yet a template: only
    # their formulas (greeting, thanks) count, and no template sentence is named
    for by_itself, by_history in zip(lines(alone), lines(with_history), strict=True):
        assert by_itself["boilerplate"] < by_history["boilerplate"]
        assert not any(r.startswith("模板句") for r in by_itself["reasons"])
        assert any(r.startswith("模板句") for r in by_history["reasons"])
    assert "reference of 11 replies, from" in with_history.stderr


@pytest.mark.parametrize(
    ("args", "rows", "message"),
    [
        (maps(message="nope"), ROWS, "no column 'nope' in the file"),
        (maps(reply=None), ROWS, "map a column to reply"),
        (maps(colour="编号"), ROWS, "cannot map to colour"),
        ([*maps(), "--format", "csv"], ROWS, "--format must be jsonl"),
        ([*maps(), "--lang", "fr"], ROWS, "--lang must be auto or one of en, zh"),
        ([*maps(), "--reference", "missing.json.gz"], ROWS, "no reply reference at"),
        (maps(), [*ROWS, ["99", "A9", "t", "  ", "a reply", "2019-05-01"]],
         "row 13: message is empty"),
        (maps(), [*ROWS, ["99", "A9", "t", "text", "x" * 8001, "2019-05-01"]],
         "row 13: reply must be at most 8000 characters"),
        (maps(), [*ROWS, ["99", "A9", "t", "text", "reply", "last tuesday"]],
         "row 13: occurred_at 'last tuesday' is not a date and time I can read"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    runner: CliRunner, tmp_path: Path, args: list[str], rows: list[list[str]], message: str
) -> None:
    path = write_csv(tmp_path / "replies.csv", rows)
    saved = tmp_path / "replies.json.gz"
    extra = [] if "--reference" in args else ["--save-reference", str(saved)]
    result = audit(runner, path, *args, *extra)
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in result.stderr
    assert result.stdout == ""
    assert not saved.exists()


def test_the_installed_command_runs(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "replies.csv", ROWS[:5])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    done = run_cli(env, "audit", "replies", str(path), *maps(), "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["deflection"] for line in done.stdout.splitlines()] == [
        False, False, True, False, True]


def test_real_replies_are_more_relevant_than_the_next_messages(
    runner: CliRunner, tmp_path: Path
) -> None:
    """300 real message–reply pairs: each real reply against the next message's."""
    with shared_data("gov_message_board", "messages_with_replies.csv").open(
            encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:300]
    header = ["user", "title", "message", "reply"]
    real = [[r["留言用户"], r["留言主题"], r["留言详情"], r["答复意见"]] for r in rows]
    moved = [[*row[:3], real[(k + 1) % len(real)][3]] for k, row in enumerate(real)]
    path = write_csv(tmp_path / "pairs.csv", real + moved, header)
    result = audit(runner, path, "--map", "author=user", "--map", "title=title",
                   "--map", "message=message", "--map", "reply=reply")
    assert result.exit_code == 0, result.output
    scores = [line["relevance"] for line in lines(result)]
    ahead = sum(a > b for a, b in zip(scores[:300], scores[300:], strict=True))
    assert ahead >= 0.95 * 300


def test_the_flags_agree_with_the_replies_labelled_by_hand(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The command over the message board, its boilerplate and deflection flags against the
    640 replies of tests/data/reply_labels.csv (bench/README.md: "Replies: boilerplate and
    deflection"); a guard against rules that drift, not the measure itself."""
    source = shared_data("gov_message_board", "messages_with_replies.csv")
    labels_path = Path(__file__).resolve().parents[1] / "data" / "reply_labels.csv"
    with labels_path.open(encoding="utf-8", newline="") as f:
        labelled = {r["留言编号"]: r for r in csv.DictReader(f)}
    with source.open(encoding="utf-8", newline="") as f:
        ids = [r["留言编号"] for r in csv.DictReader(f)]
    result = audit(runner, source, "--map", "message=留言详情", "--map", "title=留言主题",
                   "--map", "reply=答复意见")
    assert result.exit_code == 0, result.output
    got = dict(zip(ids, lines(result), strict=True))
    for flag in ("boilerplate", "deflection"):
        truth = {i for i, r in labelled.items() if r[flag] == "1"}
        flagged = {i for i in labelled if flag in got[i]["flags"]}
        right = len(truth & flagged)
        assert right >= 0.9 * len(flagged) and right >= 0.8 * len(truth), (flag, right)
