"""A CSV row with an unbalanced quote is rejected with the lines it took in, never allowed
to swallow the rows after it in silence; well-quoted multi-line cells still read as one.

The file is shaped like a hotline export: Chinese headers, a ticket id, a time, the
resident's words (quoted, some over several lines, some with commas and doubled quotes),
an area and a category."""

from __future__ import annotations

from pathlib import Path

from civicpulse.channels.tabular import Row, open_table

HEADER = "工单编号,来电时间,诉求内容,区域,类别\n"
GOOD = [
    'GD-0001,2026-03-01 08:12,"小区门口路灯不亮，已经一个星期了",C2区,路灯\n',
    'GD-0002,2026-03-01 08:40,"The drain on ""Linden St"" overflows,\nevery time it rains.\n'
    'Please send someone.",C1区,排水\n',
    "GD-0003,2026-03-01 09:05,垃圾清运不及时,C3区,环卫\n",
]
#: the resident's words open a quote that the export never closed
BROKEN = 'GD-0004,2026-03-01 09:30,"井盖丢失 很危险,C2区,道路\n'
AFTER = [
    "GD-0005,2026-03-01 10:02,噪音扰民,C1区,噪音\n",
    'GD-0006,2026-03-01 10:15,"树枝挡住了红绿灯",C2区,园林\n',
    "GD-0007,2026-03-01 10:40,公交站牌破损,C3区,交通\n",
]


def read(path: Path) -> list[Row]:
    table = open_table(path)
    try:
        return list(table.rows())
    finally:
        table.close()


def test_well_quoted_cells_over_several_lines_are_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "hotline.csv"
    path.write_text(HEADER + "".join(GOOD + AFTER), encoding="utf-8")
    rows = read(path)
    assert [r.problem for r in rows] == [None] * 6
    assert [r.values["工单编号"] for r in rows] == [f"GD-000{i}" for i in (1, 2, 3, 5, 6, 7)]
    assert rows[1].values["诉求内容"] == (
        'The drain on "Linden St" overflows,\nevery time it rains.\nPlease send someone.'
    )
    assert rows[1].values["区域"] == "C1区"


def test_an_unbalanced_quote_is_rejected_and_swallows_nothing_in_silence(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hotline.csv"
    path.write_text(HEADER + "".join([*GOOD, BROKEN, *AFTER]), encoding="utf-8")
    rows = read(path)
    good = [r for r in rows if r.problem is None]
    broken = [r for r in rows if r.problem is not None]
    # the quote opened on GD-0004 closes at GD-0006's opening quote, so GD-0004 and GD-0005
    # are in the broken record; it is rejected with its row number and its lines named
    (bad,) = broken
    assert bad.number == 5
    why = bad.problem or ""
    assert "starts on line 7" in why and "lines 7–9" in why and "none of them is imported" in why
    # nothing of it was taken as good data, and the rows after it are read again
    ids = [r.values["工单编号"] for r in good]
    assert ids == ["GD-0001", "GD-0002", "GD-0003", "GD-0007"]
    assert all("GD-0005" not in v for r in good for v in map(str, r.values.values()))
    # rows keep the numbers they have once the quote is fixed (GD-0007 is row 8)
    assert good[-1].number == 8


def test_an_unbalanced_quote_running_to_the_end_of_the_file_is_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hotline.csv"
    path.write_text(HEADER + "".join(GOOD) + BROKEN + AFTER[0] + AFTER[2], encoding="utf-8")
    rows = read(path)
    assert [r.values["工单编号"] for r in rows if r.problem is None] == [
        "GD-0001", "GD-0002", "GD-0003"]
    (bad,) = [r for r in rows if r.problem is not None]
    assert bad.number == 5 and "lines 7–9" in (bad.problem or "")
