"""Streaming table readers: encodings, gzip, delimiters, row numbers, broken rows, XLSX."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pytest

from civicpulse.channels.tabular import (
    Row,
    detect_encoding,
    guess_delimiter,
    normalise_encoding,
    open_table,
    unique_columns,
)
from civicpulse.domain.errors import ValidationFailed

CHINESE = "编号,内容\n1,小区门口路灯不亮已经一个星期了\n2,垃圾清运不及时\n"


def read(path: Path, **kw: str) -> tuple[list[str], list[Row], str | None]:
    table = open_table(path, **kw)
    try:
        return table.columns, list(table.rows()), table.encoding
    finally:
        table.close()


def test_utf8_with_and_without_bom_and_gb18030_are_told_apart() -> None:
    text = CHINESE.encode("utf-8")
    assert detect_encoding(text) == "utf-8-sig"
    assert detect_encoding(b"\xef\xbb\xbf" + text) == "utf-8-sig"
    assert detect_encoding(CHINESE.encode("gb18030")) == "gb18030"
    # a sample cut inside a multi-byte character is still UTF-8
    assert detect_encoding(text[: text.index("路".encode()) + 1]) == "utf-8-sig"


def test_bytes_that_are_neither_encoding_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="--encoding"):
        detect_encoding(b"id,text\n1,\xff\xfe\xff\n")


def test_named_encodings_are_checked() -> None:
    assert normalise_encoding("UTF8") == "utf-8-sig"
    assert normalise_encoding("gbk") == "gbk"
    with pytest.raises(ValidationFailed, match="unknown encoding"):
        normalise_encoding("klingon")


def test_delimiter_and_header_cleanup() -> None:
    assert guess_delimiter("a;b;c") == ";"
    assert guess_delimiter("a\tb") == "\t"
    assert guess_delimiter("single") == ","
    names = unique_columns(["\ufeffid", " text ", "text", ""])
    assert names == ["id", "text", "text_2", "column_4"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "messages.csv"
    path.write_bytes(CHINESE.encode(encoding))
    columns, rows, detected = read(path)
    assert columns == ["编号", "内容"]
    assert [r.values["内容"] for r in rows] == ["小区门口路灯不亮已经一个星期了", "垃圾清运不及时"]
    assert detected == ("gb18030" if encoding == "gb18030" else "utf-8-sig")


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(gzip.compress(CHINESE.encode("gb18030")))
    columns, rows, detected = read(path)
    assert detected == "gb18030" and len(rows) == 2 and columns[0] == "编号"


def test_row_numbers_count_records_and_skip_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,text\n1,"two\nlines"\n\n2,plain\n3\n4,x,extra\n5,x,\n', encoding="utf-8")
    _, rows, _ = read(path)
    by_id = {r.values.get("id"): r for r in rows if r.problem is None}
    assert by_id["1"].values["text"] == "two\nlines" and by_id["1"].number == 2
    assert by_id["2"].number == 4  # the blank line keeps its number but is not a row
    assert by_id["3"].values == {"id": "3", "text": ""}  # short rows are padded
    assert by_id["5"].values == {"id": "5", "text": "x"}  # trailing empty cells are harmless
    broken = [r for r in rows if r.problem]
    assert [(r.number, r.problem) for r in broken] == [
        (6, "row has 3 cells but the header names 2")
    ]


def test_semicolon_files_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("id;text\n1;a,b\n", encoding="utf-8")
    _, rows, _ = read(path)
    assert rows[0].values == {"id": "1", "text": "a,b"}
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValidationFailed, match="header"):
        read(empty)


def test_utf8_error_after_the_sample_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    ascii_part = "id,text\n" + "".join(f"{i},plain\n" for i in range(120_000))
    path.write_bytes(ascii_part.encode() + "9,路灯".encode("gb18030") + b"\n")
    table = open_table(path)
    try:
        with pytest.raises(ValidationFailed, match="not valid utf-8-sig"):
            list(table.rows())
    finally:
        table.close()


def test_xlsx_cells_keep_dates_and_show_numbers_as_people_see_them(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["留言编号", "留言时间", "留言详情", "评分"])
    ws.append([188006, datetime(2019, 2, 28, 11, 25, 5), "路灯不亮", 4.0])
    ws.append([None, None, None, None])
    ws.append([188007, "2019-03-01 08:00:00", "噪音扰民", 3.5])
    path = tmp_path / "board.xlsx"
    wb.save(path)
    columns, rows, encoding = read(path)
    assert encoding is None and columns == ["留言编号", "留言时间", "留言详情", "评分"]
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].values == {
        "留言编号": "188006",
        "留言时间": datetime(2019, 2, 28, 11, 25, 5),
        "留言详情": "路灯不亮",
        "评分": "4",
    }
    assert rows[1].values["评分"] == "3.5"


def test_old_binary_excel_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ValidationFailed, match=r"save it as \.xlsx or CSV"):
        read(path)


def test_xlsx_sheet_by_name(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["ignored"])
    other = wb.create_sheet("留言")
    other.append(["id", "text"])
    other.append([1, "hello"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    _, rows, _ = read(path, sheet="留言")
    assert rows[0].values == {"id": "1", "text": "hello"}
    with pytest.raises(ValidationFailed, match="no sheet"):
        read(path, sheet="nope")
