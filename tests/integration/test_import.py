"""`import voices` on SQLite and PostgreSQL: mapping, encodings, XLSX, gzip, rejected rows,
idempotent reruns, resuming from the checkpoint, and a real SIGKILL in the middle."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text, update
from typer.testing import CliRunner

from civicpulse.channels.tabular import Row, file_sha256, open_table
from civicpulse.cli import app
from civicpulse.domain.errors import Conflict, ValidationFailed
from civicpulse.domain.roles import SYSTEM
from civicpulse.domain.tracking import new_tracking_codes as tracking_codes
from civicpulse.infra.context import Context
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.catalogue import import_catalogue
from civicpulse.services.import_options import ImportOptions, parse_when
from civicpulse.services.import_run import ImportProgress
from civicpulse.services.imports import ImportReport, import_voices
from civicpulse.storage.tables import (
    AuditEntry,
    Case,
    CaseEvent,
    ImportJob,
    OutboxMessage,
    ResidentContact,
    Voice,
)
from tests.city import CATALOGUE
from tests.conftest import shared_data

HEADER = ["编号", "标题", "内容", "类别", "时间", "纬度", "经度", "地址", "姓名", "电话", "邮箱",
          "来源"]  # fmt: skip
ROWS = [
    ["A-1", "路面坑洼", "学校门口有一个很深的坑", "pothole", "2024-05-01 08:30:00", "", "", "",
     "", "", "", "热线"],
    ["A-2", "", "Street light out on Elm St\nsince Monday", "", "2024/05/02 21:15:00",
     "30.05", "120.05", "Elm St 12", "Li Lei", "13800000000", "li@example.org", "web"],
    ["A-3", "北区坑洼", "北区道路坑洼", "Pothole", "2024-05-03T10:00:00+00:00", "30.05",
     "120.05", "", "", "", "", ""],
]  # fmt: skip
MAPPING = {
    "external_id": "编号",
    "title": "标题",
    "text": "内容",
    "category": "类别",
    "occurred_at": "时间",
    "lat": "纬度",
    "lon": "经度",
    "address": "地址",
    "contact_name": "姓名",
    "contact_phone": "电话",
    "contact_email": "邮箱",
}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


def run_import(ctx: Context, path: Path, **options: Any) -> ImportReport:
    options.setdefault("mapping", MAPPING)
    table = open_table(path)
    try:
        return import_voices(ctx, SYSTEM, table, file_sha256(path), ImportOptions(**options))
    finally:
        table.close()


@pytest.fixture
def catalogue(ctx: Context) -> Context:
    import_catalogue(ctx, SYSTEM, CATALOGUE)
    return ctx


def count(ctx: Context, model: Any) -> int:
    with ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_mapped_rows_become_voices_and_cases_like_submitted_ones(
    catalogue: Context, tmp_path: Path
) -> None:
    ctx = catalogue
    report = run_import(ctx, write_csv(tmp_path / "hotline.csv", ROWS), timezone="Asia/Shanghai")
    assert (report.imported, report.skipped, report.rejected) == (3, 0, [])
    now = ctx.now()
    with ctx.db.reader() as s:
        voices = {v.external_id: v for v in s.scalars(select(Voice))}
        cases = {c.id: c for c in s.scalars(select(Case))}
        events = s.execute(select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.data)).all()
        contacts = {c.voice_id: c for c in s.scalars(select(ResidentContact))}
        s.expunge_all()  # keep the loaded rows readable after the reader rolls back
    first, second, third = voices["A-1"], voices["A-2"], voices["A-3"]
    assert first.channel == "import" and first.language == "zh" and second.language == "en"
    # naive times are read in the given zone; explicit offsets are kept
    assert first.occurred_at == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    assert second.occurred_at == datetime(2024, 5, 2, 13, 15, tzinfo=UTC)
    assert third.occurred_at == datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
    assert first.attributes == {} and first.received_at == now
    routed = cases[first.case_id]
    assert routed.status == "assigned" and routed.title == "路面坑洼"
    assert routed.first_response_due == now + timedelta(hours=24)
    assert routed.resolution_due == now + timedelta(hours=72)
    assert len(routed.tracking_code) == 19
    unrouted = cases[second.case_id]
    assert unrouted.status == "submitted" and unrouted.title == "Street light out on Elm St"
    assert unrouted.department_id is None and unrouted.resolution_due is None
    # the category is matched by code whatever its case, and the area rule applies
    assert cases[third.case_id].status == "assigned" and cases[third.case_id].area_id is not None
    assert cases[third.case_id].department_id != routed.department_id
    kinds = sorted((case_id, kind) for case_id, kind, _ in events)
    assert kinds == sorted(
        [(first.case_id, "submitted"), (first.case_id, "assigned"),
         (second.case_id, "submitted"),
         (third.case_id, "submitted"), (third.case_id, "assigned")]
    )  # fmt: skip
    submitted = {case_id: data for case_id, kind, data in events if kind == "submitted"}
    assert submitted[first.case_id] == {"voice_id": first.id, "channel": "import"}
    assert set(contacts) == {second.id}
    assert (contacts[second.id].name, contacts[second.id].phone) == ("Li Lei", "13800000000")
    assert contacts[second.id].address == "Elm St 12"
    # historical records notify nobody
    assert count(ctx, OutboxMessage) == 0


def test_each_batch_leaves_one_audit_record_with_a_digest(
    catalogue: Context, tmp_path: Path
) -> None:
    ctx = catalogue
    path = write_csv(tmp_path / "hotline.csv", ROWS)
    report = run_import(ctx, path, batch_size=2)
    assert report.imported == 3
    with ctx.db.reader() as s:
        records = s.execute(
            select(AuditEntry.data).where(AuditEntry.action == "voices.imported")
            .order_by(AuditEntry.seq)
        ).scalars().all()
        last_seq = s.scalar(select(func.max(AuditEntry.seq)))
        last_action = s.scalar(select(AuditEntry.action).where(AuditEntry.seq == last_seq))
        voices = s.execute(select(Voice.id, Voice.text).order_by(Voice.id)).all()
    data = [json.loads(r) for r in records]
    assert [(d["first_row"], d["last_row"], d["count"]) for d in data] == [(2, 3, 2), (4, 4, 1)]
    assert last_action == "voices.imported"
    expected = hashlib.sha256()
    for voice_id, body in voices[:2]:
        expected.update(f"{voice_id}\x1f{body}\x1e".encode())
    assert data[0]["digest"] == expected.hexdigest()
    assert verify_audit_log(ctx.db) == (count(ctx, AuditEntry), [])


def test_gb18030_file_is_detected(catalogue: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "board.csv", ROWS, encoding="gb18030")
    assert path.read_bytes().decode("gb18030").startswith("编号")
    report = run_import(catalogue, path)
    assert report.imported == 3
    with catalogue.db.reader() as s:
        texts = set(s.scalars(select(Voice.text)))
    assert "学校门口有一个很深的坑" in texts


def test_gzipped_csv_is_read_transparently(catalogue: Context, tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "plain.csv", ROWS)
    packed = tmp_path / "hotline.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert run_import(catalogue, packed).imported == 3


def test_xlsx_with_real_dates_and_numeric_ids(catalogue: Context, tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["留言编号", "留言主题", "留言时间", "留言详情"])
    ws.append([188006, "婚纱影楼是否纳税", datetime(2019, 2, 28, 11, 25, 5), "请税务局查一下"])
    ws.append([188007, "道路命名", "2019-02-14 20:00:00", "咨询道路命名规划初步成果公示"])
    path = tmp_path / "board.xlsx"
    wb.save(path)
    mapping = {"external_id": "留言编号", "title": "留言主题", "occurred_at": "留言时间",
               "text": "留言详情"}  # fmt: skip
    report = run_import(catalogue, path, mapping=mapping, timezone="Asia/Shanghai")
    assert report.imported == 2
    with catalogue.db.reader() as s:
        voice = s.scalars(select(Voice).where(Voice.external_id == "188006")).one()
        assert voice.occurred_at == datetime(2019, 2, 28, 3, 25, 5, tzinfo=UTC)
        assert voice.title == "婚纱影楼是否纳税"


def test_unmapped_columns_are_kept_only_when_asked(catalogue: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hotline.csv", ROWS[:1])
    run_import(catalogue, path, keep_columns=True)
    with catalogue.db.reader() as s:
        assert s.scalars(select(Voice.attributes)).one() == {"columns": {"来源": "热线"}}


def test_bad_rows_are_rejected_with_row_and_reason_and_the_rest_imported(
    catalogue: Context, tmp_path: Path
) -> None:
    ok = ROWS[0]
    bad = [
        ["B-1", "", "   ", "", "", "", "", "", "", "", "", ""],
        ["B-2", "", "x" * 8001, "", "", "", "", "", "", "", "", ""],
        ["B-3", "", "text", "no-such", "", "", "", "", "", "", "", ""],
        ["B-4", "", "text", "", "", "north", "120", "", "", "", "", ""],
        ["B-5", "", "text", "", "", "95", "120", "", "", "", "", ""],
        ["B-6", "", "text", "", "", "30", "", "", "", "", "", ""],
        ["B-7", "", "text", "", "yesterday", "", "", "", "", "", "", ""],
        ["B-8", "", "text", "", "", "", "", "", "", "", "not-an-email", ""],
        ["B-9", "", "text", "", "2999-01-01 00:00:00", "", "", "", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "mixed.csv", [ok, *bad, ["C-1", *ok[1:]]])
    with path.open("a", encoding="utf-8") as f:
        f.write("D-1,,text,,,,,,,,,,,surplus\n")
    report = run_import(catalogue, path, batch_size=4)
    assert report.imported == 2 and report.rows_read == 12
    reasons = {r.row: r.reason for r in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
    assert reasons[3] == "text must not be empty"
    assert "8000" in reasons[4]
    assert reasons[5] == "unknown category 'no-such'"
    assert reasons[6] == "lat 'north' is not a number"
    assert "-90" in reasons[7]
    assert reasons[8] == "location needs both lat and lon"
    assert "'yesterday'" in reasons[9]
    assert "e-mail" in reasons[10]
    assert reasons[11] == "occurred_at is in the future"
    assert "14 cells" in reasons[13]
    assert {r.external_id for r in report.rejected if r.row == 5} == {"B-3"}
    assert count(catalogue, Voice) == 2


def test_cli_prints_the_report_and_writes_every_rejection(
    catalogue: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    rows = [ROWS[0]] + [[f"E-{i}", "", "", "", "", "", "", "", "", "", "", ""] for i in range(25)]
    path = write_csv(tmp_path / "hotline.csv", rows)
    rejects = tmp_path / "rejects.csv"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CIVICPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(tmp_path / "data"))
    args = ["import", "voices", str(path), "--rejects", str(rejects), "--show", "3",
            "--timezone", "Asia/Shanghai"]  # fmt: skip
    for field, column in MAPPING.items():
        args += ["--map", f"{field}={column}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "rows read  26" in result.output and "imported   1" in result.output
    assert "rejected   25" in result.output and "rows/s" in result.output
    assert "row 3 [E-0]: text must not be empty" in result.output
    assert "row 6" not in result.output  # only the first three on screen
    lines = list(csv.reader(rejects.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[0] == ["row", "reason", "external_id"] and len(lines) == 26
    again = CliRunner().invoke(app, args)
    assert "already imported in full" in again.output and "rejected   25" in again.output
    bad = CliRunner().invoke(app, ["import", "voices", str(path), "--map", "text=nope"])
    assert bad.exit_code == 2 and "no column 'nope'" in bad.output


def test_rerun_and_overlapping_files_import_nothing_twice(
    catalogue: Context, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "may.csv", ROWS)
    first = run_import(catalogue, path)
    again = run_import(catalogue, path)
    assert again.already_finished and again.job_id == first.job_id and again.imported == 3
    assert count(catalogue, Voice) == 3
    # a later export repeats two records and adds one; the same ids in another channel are new
    overlap = write_csv(tmp_path / "may-june.csv", [*ROWS[1:], ["A-4", "", "新的", *[""] * 9]])
    report = run_import(catalogue, overlap)
    assert (report.imported, report.skipped) == (1, 2)
    other = run_import(catalogue, overlap, channel="hotline")
    assert other.imported == 3
    # the same external id twice in one file is imported once
    twice = write_csv(tmp_path / "twice.csv", [["T-1", "", "a", *[""] * 9]] * 2)
    assert (run_import(catalogue, twice).imported, count(catalogue, Voice)) == (1, 8)


def test_repeats_across_batches_in_flight_are_skipped(catalogue: Context, tmp_path: Path) -> None:
    # with two batches written at once, a key repeated in the next batch is not yet
    # visible in the database; one repeated two batches later is
    keys = ["K1", "K2", "K1", "K3", "K2", "K4", "K5", "K3"]
    path = write_csv(tmp_path / "repeats.csv", [[k, "", f"row {i}", *[""] * 9]
                                               for i, k in enumerate(keys)])  # fmt: skip
    report = run_import(catalogue, path, batch_size=2)
    assert (report.imported, report.skipped) == (5, 3)
    with catalogue.db.reader() as s:
        texts = dict(s.execute(select(Voice.external_id, Voice.text)).all())
    assert texts == {"K1": "row 0", "K2": "row 1", "K3": "row 3", "K4": "row 5", "K5": "row 6"}


class Crashing:
    """A table that dies after ``limit`` rows, as a process killed mid-file would."""

    def __init__(self, path: Path, limit: int) -> None:
        self._table = open_table(path)
        self._limit = limit
        self.name, self.columns = self._table.name, self._table.columns

    def rows(self) -> Iterator[Row]:
        for i, row in enumerate(self._table.rows()):
            if i == self._limit:
                raise OSError("disk vanished")
            yield row

    def progress(self) -> tuple[int, int | None]:
        return self._table.progress()


def test_resume_after_a_failure_continues_from_the_checkpoint(
    catalogue: Context, tmp_path: Path
) -> None:
    rows = [[f"R-{i}", "", f"voice {i}", *[""] * 9] for i in range(10)]
    rows[4][2] = ""  # one rejected row before the crash
    path = write_csv(tmp_path / "ten.csv", rows)
    options = ImportOptions(mapping=MAPPING, batch_size=3)
    with pytest.raises(OSError):
        import_voices(catalogue, SYSTEM, Crashing(path, 7), file_sha256(path), options)
    with catalogue.db.reader() as s:
        job = s.scalars(select(ImportJob)).one()
        assert (job.rows_done, job.imported, len(job.rejected), job.finished_at) == (
            7, 5, 1, None
        )
    assert count(catalogue, Voice) == 5
    report = run_import(catalogue, path, batch_size=3)
    assert report.resumed_after == 7 and report.rows_this_run == 4
    assert (report.imported, report.skipped, len(report.rejected)) == (9, 0, 1)
    assert report.rejected[0].row == 6
    with catalogue.db.reader() as s:
        ids = list(s.scalars(select(Voice.external_id).order_by(Voice.id)))
    assert ids == [f"R-{i}" for i in range(10) if i != 4]


def test_a_second_run_of_the_same_job_is_refused(catalogue: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ten.csv", [[f"R-{i}", "", "v", *[""] * 9] for i in range(6)])

    def meddle(p: ImportProgress) -> None:
        # another process moves the checkpoint under our feet
        with catalogue.db.transaction() as s:
            s.execute(update(ImportJob).values(rows_done=ImportJob.rows_done + 1))

    table = open_table(path)
    options = ImportOptions(mapping=MAPPING, batch_size=2)
    try:
        with pytest.raises(Conflict, match="only one may run"):
            import_voices(catalogue, SYSTEM, table, file_sha256(path), options, meddle)
    finally:
        table.close()
    assert count(catalogue, Voice) == 2


def test_options_are_checked_before_reading(catalogue: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ROWS)
    with pytest.raises(ValidationFailed, match="map a column to text"):
        run_import(catalogue, path, mapping={"title": "标题"})
    with pytest.raises(ValidationFailed, match="cannot map to colour"):
        run_import(catalogue, path, mapping={"text": "内容", "colour": "标题"})
    with pytest.raises(ValidationFailed, match="unknown time zone"):
        run_import(catalogue, path, timezone="Mars/Olympus")
    with pytest.raises(ValidationFailed, match="channel must be one of"):
        run_import(catalogue, path, channel="pigeon")


def test_times_in_the_usual_shapes() -> None:
    shanghai = pytest.importorskip("zoneinfo").ZoneInfo("Asia/Shanghai")
    expect = datetime(2019, 2, 8, 14, 22, 5, tzinfo=shanghai)
    for raw in ("2019-02-08 14:22:05", "2019/2/8 14:22:05", "2019-02-08T14:22:05",
                "2019-02-08T06:22:05Z", "2019-02-08 14:22:05+08:00", "2019年2月8日 14:22:05"):
        assert parse_when(raw, shanghai) == expect, raw  # fmt: skip
    assert parse_when("2019/02/08", shanghai) == datetime(2019, 2, 8, tzinfo=shanghai)
    with pytest.raises(ValidationFailed):
        parse_when("08.02.2019 14:22", shanghai)


def test_tracking_codes_have_the_usual_shape() -> None:
    codes = tracking_codes(500)
    assert len(set(codes)) == 500
    alphabet = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ-")
    assert all(len(c) == 19 and c[4] == c[9] == c[14] == "-" and set(c) <= alphabet
               for c in codes)  # fmt: skip


BOSTON_MAP = {
    "text": "case_title",
    "external_id": "case_enquiry_id",
    "occurred_at": "open_dt",
    "lat": "latitude",
    "lon": "longitude",
    "address": "location",
}


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "civicpulse"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from civicpulse.cli import main; main()"]


@pytest.mark.slow
def test_sigkill_mid_import_then_rerun_imports_every_row_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    source = shared_data("boston311", "requests_2011_jul_nov.csv.gz")
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        data_rows = sum(1 for _ in csv.reader(f)) - 1
    env = {**os.environ, "CIVICPULSE_DATABASE_URL": db_url,
           "CIVICPULSE_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    command = [*_cli(), "import", "voices", str(source), "--batch-size", "1000", "--quiet",
               "--timezone", "America/New_York"]  # fmt: skip
    for field, column in BOSTON_MAP.items():
        command += ["--map", f"{field}={column}"]
    engine = create_engine(db_url)
    try:
        victim = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)  # fmt: skip
        killed_at = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and victim.poll() is None:
            with engine.connect() as conn:
                voices = conn.execute(text("SELECT count(*) FROM voices")).scalar_one()
            if voices >= 3000:
                victim.send_signal(signal.SIGKILL)
                killed_at = voices
                break
            time.sleep(0.02)
        victim.wait(timeout=30)
        assert killed_at is not None and victim.returncode == -signal.SIGKILL, (
            victim.stdout.read().decode() if victim.stdout else ""
        )
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM voices")).scalar_one()
        assert 3000 <= left < data_rows  # whole batches only, and far from done

        rerun = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)  # fmt: skip
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "resumed job" in rerun.stdout

        with engine.connect() as conn:
            voices = conn.execute(text("SELECT count(*) FROM voices")).scalar_one()
            distinct = conn.execute(
                text("SELECT count(DISTINCT external_id) FROM voices")
            ).scalar_one()
            cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
            submitted = conn.execute(
                text("SELECT count(*) FROM case_events WHERE kind = 'submitted'")
            ).scalar_one()
            rejected, rows_done, finished = conn.execute(
                text("SELECT rejected, rows_done, finished_at FROM import_jobs")
            ).one()
            audited = conn.execute(
                text("SELECT data FROM audit_log WHERE action = 'voices.imported'")
            ).scalars().all()
        rejected = json.loads(rejected) if isinstance(rejected, str) else rejected
        assert finished is not None and rows_done == data_rows + 1
        assert voices == distinct == cases == submitted == data_rows - len(rejected)
        assert sum(json.loads(d)["count"] for d in audited) == voices
        from civicpulse.storage.database import Database

        db = Database(db_url)
        try:
            records, problems = verify_audit_log(db)
        finally:
            db.dispose()
        assert problems == [] and records == len(audited)
    finally:
        engine.dispose()
