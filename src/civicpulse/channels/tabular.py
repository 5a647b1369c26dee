"""Streaming readers for the tables cities export: CSV (plain or gzipped) and XLSX.

Hotline and message-board exports run to millions of rows, so nothing here holds a whole
file in memory: CSV is decoded and parsed as it is read, XLSX goes through openpyxl's
read-only mode. Every row carries its row number as a spreadsheet would show it (the
header is row 1), so a rejected row can be found by whoever has to fix it.

The encoding of a CSV is guessed from its first chunk: Chinese offices still export
GB18030 (or its GBK subset) as often as UTF-8, and a UTF-8 check is strict enough to tell
the two apart. Gzip is recognised by its magic bytes, not by the file name.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Protocol, cast

from civicpulse.domain.errors import ValidationFailed

Cell = str | datetime
"""A cell as rows give it: text, or a datetime when a spreadsheet stored a real date."""

SAMPLE_BYTES = 1 << 20
"""How much of a CSV is looked at to choose its encoding and delimiter."""

DELIMITERS = (",", "\t", ";", "|")
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc) container


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its number in the file, its cells by column name, or why it is broken."""

    number: int
    values: dict[str, Cell]
    problem: str | None = None


class Table(Protocol):
    """What an importer needs from any tabular file."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> list[str]: ...

    @property
    def encoding(self) -> str | None: ...

    def rows(self) -> Iterator[Row]: ...

    def progress(self) -> tuple[int, int | None]:
        """How far reading has got and how far it will go, in the reader's own unit."""
        ...

    def close(self) -> None: ...


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of the file's bytes, read in chunks (files can be gigabytes)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes strictly as UTF-8, else GB18030.

    The sample may end inside a multi-byte character, so it is decoded as a non-final
    chunk. ``utf-8-sig`` is returned for UTF-8 because it also reads files without a BOM
    and drops the BOM from the first header when there is one.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "the file is neither UTF-8 nor GB18030; name its encoding with --encoding"
        ) from exc


def normalise_encoding(name: str) -> str:
    """Check an encoding name given by a person; plain UTF-8 also tolerates a BOM."""
    try:
        info = codecs.lookup(name)
    except LookupError as exc:
        raise ValidationFailed(f"unknown encoding {name!r}") from exc
    return "utf-8-sig" if info.name == "utf-8" else info.name


def guess_delimiter(header_line: str) -> str:
    """The separator used most often in the header line (comma when none appears)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def unique_columns(names: list[str]) -> list[str]:
    """Header names, trimmed, with repeats made distinct (``x``, ``x_2``...) so none is lost."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, raw in enumerate(names):
        name = raw.strip().lstrip("\ufeff") or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def open_table(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Table:
    """Open a CSV, CSV.GZ or XLSX file for streaming, whatever its name says."""
    with path.open("rb") as f:
        magic = f.read(4)
    if magic == ZIP_MAGIC:
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise ValidationFailed(f"{path.name} is a zip file but not .xlsx")
        return XlsxTable(path, sheet)
    if magic == OLE_MAGIC:
        raise ValidationFailed(f"{path.name} is an old binary Excel file: save it as .xlsx or CSV")
    if sheet is not None:
        raise ValidationFailed("--sheet only applies to .xlsx files")
    return CsvTable(path, encoding)


class CsvTable:
    """A CSV (optionally gzipped) read row by row; progress is in bytes of the file on disk."""

    def __init__(self, path: Path, encoding: str | None = None) -> None:
        self.name = path.name
        self._raw: IO[bytes] = path.open("rb")
        self._size = os.fstat(self._raw.fileno()).st_size
        try:
            sample = self._binary().read(SAMPLE_BYTES)
            self.encoding = normalise_encoding(encoding) if encoding else detect_encoding(sample)
            first_line = sample.split(b"\n", 1)[0].decode(self.encoding, errors="replace")
            self._text = io.TextIOWrapper(self._binary(), encoding=self.encoding, newline="")
            # strict: a quote that is never closed, or closed in the middle of a cell, is an
            # error rather than a cell that silently swallows the rows after it
            self._reader = csv.reader(
                self._text, delimiter=guess_delimiter(first_line), strict=True
            )
            _allow_long_fields()
            try:
                header = self._next_record()
            except csv.Error as exc:
                raise ValidationFailed(f"{self.name}: the header row is unreadable: {exc}") from exc
        except BaseException:
            self._raw.close()
            raise
        if header is None:
            self._raw.close()
            raise ValidationFailed(f"{self.name} is empty: it needs a header row")
        self.columns = unique_columns(header)

    def _binary(self) -> IO[bytes]:
        self._raw.seek(0)
        if self._raw.read(2) == GZIP_MAGIC:
            self._raw.seek(0)
            return cast(IO[bytes], gzip.GzipFile(fileobj=self._raw, mode="rb"))
        self._raw.seek(0)
        return self._raw

    def _next_record(self) -> list[str] | None:
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                f"{self.name} is not valid {self.encoding} after row {self._reader.line_num}; "
                "name its encoding with --encoding"
            ) from exc
        except (EOFError, gzip.BadGzipFile) as exc:
            raise ValidationFailed(f"{self.name} is a damaged gzip file: {exc}") from exc

    def rows(self) -> Iterator[Row]:
        """Each record as a row, numbered as a spreadsheet numbers them.

        A record the strict reader cannot end (a quoted cell whose closing quote is missing
        or not followed by a separator) is one rejected row that names the lines it ran
        over: the lines after an unbalanced quote were read into it, so they are reported
        with it, never dropped in silence. Each of those lines counts as a row, so the rows
        after it keep the numbers they have once the quote is fixed."""
        width = len(self.columns)
        columns = self.columns
        number = 1
        while True:
            first_line = self._reader.line_num + 1
            try:
                record = self._next_record()
            except csv.Error as exc:
                number += 1
                yield Row(number, {}, _quote_problem(exc, first_line, self._reader.line_num))
                number += max(0, self._reader.line_num - first_line)
                continue
            if record is None:
                return
            number += 1
            if len(record) <= width:
                if not any(record):
                    continue  # a blank line is not a row
                if len(record) < width:
                    record += [""] * (width - len(record))
                yield Row(number, dict(zip(columns, record, strict=True)))
            elif any(record[width:]):
                yield Row(number, {}, f"row has {len(record)} cells but the header names {width}")
            else:
                yield Row(number, dict(zip(columns, record[:width], strict=True)))

    def progress(self) -> tuple[int, int | None]:
        return self._raw.tell(), self._size

    def close(self) -> None:
        self._text.close()
        self._raw.close()


def _quote_problem(exc: csv.Error, first_line: int, last_line: int) -> str:
    """Why a record could not be read, with the lines of the file it took in."""
    if last_line > first_line:
        return (
            f"unreadable CSV: a quoted cell that starts on line {first_line} is not closed "
            f"properly ({exc}), so lines {first_line}–{last_line} were read as one cell and "
            "none of them is imported; fix the quotes and import the file again"
        )
    return f"unreadable CSV on line {first_line}: {exc}"


def _allow_long_fields() -> None:
    """The csv module refuses cells over 128 KiB; a long cell is a rejected row, not a crash."""
    limit = 64 * 1024 * 1024
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


class XlsxTable:
    """The first (or named) sheet of a workbook, read in openpyxl's read-only mode.

    Progress is in sheet rows, estimated from the size the workbook declares.
    """

    encoding = None

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        import openpyxl

        self.name = path.name
        try:
            self._wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise ValidationFailed(f"{path.name} is not a readable .xlsx file: {exc}") from exc
        if sheet is not None and sheet not in self._wb.sheetnames:
            self._wb.close()
            raise ValidationFailed(
                f"no sheet {sheet!r}; the workbook has {', '.join(self._wb.sheetnames)}"
            )
        ws = self._wb[sheet] if sheet is not None else self._wb.worksheets[0]
        self._total: int | None = ws.max_row if isinstance(ws.max_row, int) else None
        # declared dimensions are often wrong in exports; read until the real end instead
        ws.reset_dimensions()
        self._iter: Iterator[tuple[Any, ...]] = ws.iter_rows(values_only=True)
        self._at = 0
        header: tuple[Any, ...] = ()
        for values in self._iter:
            self._at += 1
            if any(v not in (None, "") for v in values):
                header = values
                break
        if not header:
            self._wb.close()
            raise ValidationFailed(f"{path.name} is empty: it needs a header row")
        while header and header[-1] in (None, ""):
            header = header[:-1]
        self.columns = unique_columns([_text_of(v) for v in header])

    def rows(self) -> Iterator[Row]:
        columns = self.columns
        width = len(columns)
        for values in self._iter:
            self._at += 1
            cells = [_cell(v) for v in values[:width]]
            if not any(cells):
                continue
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            yield Row(self._at, dict(zip(columns, cells, strict=True)))

    def progress(self) -> tuple[int, int | None]:
        total = self._total if self._total and self._total >= self._at else None
        return self._at, total

    def close(self) -> None:
        self._wb.close()


def _cell(value: Any) -> Cell:
    if isinstance(value, datetime):
        return value
    return _text_of(value)


def _text_of(value: Any) -> str:
    """A spreadsheet value as the text a person sees (12 not 12.0; ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
