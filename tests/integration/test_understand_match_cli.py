"""`civicpulse understand match`: intake's same-problem matching replayed over a file."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from civicpulse.cli import app
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.match_file import MatchOptions, match_file
from civicpulse.understanding.matching import MatchParams

HEADER = ["ref", "reported", "subject", "details", "y", "x", "kind"]
# in file order, which is not time order; R3 and R4 were reported at the same minute
ROWS = [
    ["R3", "2026-03-02 10:00", "Street light out",
     "The street light in front of 12 Elm St has been out for three nights", "42.35001",
     "-71.06001", "lighting"],
    ["R1", "2026-03-01 09:00", "Street light out",
     "Street light out in front of 12 Elm Street, very dark at night", "42.35", "-71.06",
     "lighting"],
    ["R2", "2026-03-01 12:30", "Overflowing bin",
     "The bin by the playground in Elm Park is overflowing again", "42.36", "-71.05",
     "litter"],
    ["R4", "2026-03-02 10:00", "Graffiti",
     "Fresh graffiti on the wall of the primary school", "42.3412", "-71.0803", "graffiti"],
    ["R5", "2026-03-03 08:15", "Pothole",
     "Deep pothole on Dock Road next to the bus stop", "42.3301", "-71.0402", "roads"],
]
MAPPING = {"external_id": "ref", "occurred_at": "reported", "title": "subject",
           "text": "details", "lat": "y", "lon": "x", "category": "kind"}


def maps(**change: str | None) -> list[str]:
    """--map options for MAPPING, with fields changed (or left out with None)."""
    fields = {**MAPPING, **change}
    return [a for f, c in fields.items() if c is not None for a in ("--map", f"{f}={c}")]


MAP = maps()


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI with the default settings: no database, no .env of the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in ("MATCH_RADIUS_METRES", "MATCH_WINDOW_DAYS", "MATCH_THRESHOLD",
                 "MATCH_AUTO_MERGE", "TIMEZONE"):
        monkeypatch.delenv(f"CIVICPULSE_{name}", raising=False)
    return CliRunner()


def match(runner: CliRunner, path: Path, *extra: str) -> Result:
    return runner.invoke(app, ["understand", "match", str(path), *extra])


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_near_repeat_at_the_same_place_is_the_same_as_the_earlier_row(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "history.csv", ROWS)
    result = match(runner, path, *MAP, "--format", "jsonl", "--timezone", "America/New_York")
    assert result.exit_code == 0, result.output
    answers = lines(result)
    # time order, ties in file order (R3 comes before R4 in the file)
    assert [a["external_id"] for a in answers] == ["R1", "R2", "R3", "R4", "R5"]
    by_id = {a["external_id"]: a for a in answers}
    repeat = by_id["R3"]
    assert repeat["same_as"] == "R1"
    assert repeat["score"] >= MatchParams().threshold
    assert any("m apart" in r for r in repeat["reasons"])
    assert "same category lighting" in repeat["reasons"]
    for other in ("R1", "R2", "R4", "R5"):
        assert by_id[other] == {"external_id": other, "same_as": None, "score": None,
                                "reasons": []}
    assert "5 rows, 1 the same problem as an earlier row" in result.stderr


def test_the_installation_settings_decide_as_at_intake(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "history.csv", ROWS)
    monkeypatch.setenv("CIVICPULSE_MATCH_THRESHOLD", "5")
    result = match(runner, path, *MAP)
    assert result.exit_code == 0, result.output
    assert all(a["same_as"] is None for a in lines(result))


def test_a_repeat_outside_the_window_or_in_another_category_is_not_matched(
    runner: CliRunner, tmp_path: Path
) -> None:
    late = ["R6", "2026-04-20 09:00", *ROWS[1][2:]]  # R1's words and place, 50 days on
    other = ["R7", "2026-03-01 09:30", *ROWS[1][2:6], "roads"]
    path = write_csv(tmp_path / "history.csv", [ROWS[1], late, other])
    result = match(runner, path, *MAP)
    assert result.exit_code == 0, result.output
    assert [(a["external_id"], a["same_as"]) for a in lines(result)] == [
        ("R1", None), ("R7", None), ("R6", None)
    ]


def test_with_closed_at_only_a_case_still_open_is_matched(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed on day 3; B repeats it on day 2 (joins A's case); C and D repeat it later
    header = [*HEADER, "closed"]
    spot = ROWS[1][2:]
    rows = [
        ["A", "2026-03-01 09:00", *spot, "2026-03-03 17:00"],
        ["B", "2026-03-02 09:00", *spot, ""],
        ["C", "2026-03-03 12:00", *spot, ""],
        ["D", "2026-03-04 12:00", *spot, ""],
    ]
    path = write_csv(tmp_path / "history.csv", rows, header)
    result = match(runner, path, *maps(closed_at="closed"))
    assert result.exit_code == 0, result.output
    # D comes after A's case closed, and B was merged into it: D starts a case of its own
    assert [(a["external_id"], a["same_as"]) for a in lines(result)] == [
        ("A", None), ("B", "A"), ("C", "A"), ("D", None)
    ]
    # without automatic merging B's case stays open on its own, so D is proposed as its repeat
    monkeypatch.setenv("CIVICPULSE_MATCH_AUTO_MERGE", "false")
    apart = match(runner, path, *maps(closed_at="closed"))
    assert [a["same_as"] for a in lines(apart)] == [None, "A", "A", "B"]
    bad = write_csv(tmp_path / "bad.csv", [[*rows[0][:-1], "soon"]], header)
    refused = match(runner, bad, *maps(closed_at="closed"))
    assert refused.exit_code == 2
    assert "row 2 [A]: closed_at 'soon' is not a date and time I can read" in refused.stderr


@pytest.mark.parametrize(
    ("args", "rows", "message"),
    [
        (maps(text="nope"), ROWS, "no column 'nope' in the file"),
        (maps(external_id=None), ROWS, "map a column to external_id"),
        (maps(colour="kind"), ROWS, "cannot map to colour"),
        (maps(lon=None), ROWS, "map both lat and lon, or neither"),
        ([*MAP, "--format", "csv"], ROWS, "--format must be jsonl"),
        ([*MAP, "--timezone", "Mars/Olympus"], ROWS, "unknown time zone 'Mars/Olympus'"),
        (MAP, [*ROWS, ["R9", "last tuesday", "Noise", "Loud music", "", "", ""]],
         "row 7 [R9]: occurred_at 'last tuesday' is not a date and time I can read"),
        (MAP, [*ROWS, ["R9", "", "Noise", "Loud music", "", "", ""]],
         "row 7 [R9]: occurred_at is empty"),
        (MAP, [["R9", "2026-03-01 09:00", "Noise", "Loud music", "91", "-71", ""]],
         "row 2 [R9]: location must have"),
        (MAP, [["R9", "2026-03-01 09:00", "Noise", "Loud music", "north", "-71", ""]],
         "row 2 [R9]: lat 'north' is not a number"),
        (MAP, [["", "2026-03-01 09:00", "Noise", "Loud music", "", "", ""]],
         "row 2: external_id must not be empty"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_printed(
    runner: CliRunner, tmp_path: Path, args: list[str], rows: list[list[str]], message: str
) -> None:
    path = write_csv(tmp_path / "history.csv", rows)
    result = match(runner, path, *args)
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in result.stderr
    assert result.stdout == ""


@dataclass
class _Row:
    number: int
    values: dict[str, str]
    problem: str | None = None


@dataclass
class _Table:
    """An in-memory table (the ``RowSource`` protocol)."""

    data: list[list[str]]
    columns: list[str] = field(default_factory=lambda: HEADER)
    name: str = "history"

    def rows(self) -> Iterator[_Row]:
        for i, row in enumerate(self.data, 2):
            yield _Row(i, dict(zip(self.columns, row, strict=True)))

    def progress(self) -> tuple[int, int | None]:
        return 0, None


def test_a_file_longer_than_one_sorted_run_gives_the_same_answers() -> None:
    # many rows, shuffled in time, with repeats at two spots: sorted in runs of 7 on disk
    rows = []
    for i in range(60):
        spot = ROWS[1] if i % 3 else ROWS[3]
        day = 1 + (i * 7) % 20
        rows.append([f"X{i}", f"2026-03-{day:02d} {i % 24:02d}:00", *spot[2:]])
    mapping = dict(MAPPING)
    params = MatchParams()
    whole = list(match_file(_Table(rows), MatchOptions(mapping), params))
    runs = list(match_file(_Table(rows), MatchOptions(mapping, chunk_rows=7), params))
    assert whole == runs
    assert len(whole) == 60
    times = {r[0]: r[1] for r in rows}
    order = [times[a.external_id] for a in whole]
    assert order == sorted(order)
    assert sum(a.same_as is not None for a in whole) == 58  # all but the first at each spot


def test_the_mapping_is_checked_before_any_row_is_read() -> None:
    class Unreadable(_Table):
        def rows(self) -> Iterator[_Row]:
            raise AssertionError("read")

    with pytest.raises(ValidationFailed, match="map a column to text"):
        match_file(Unreadable([]), MatchOptions({"occurred_at": "reported"}), MatchParams())


def test_the_file_replay_decides_as_intake_did(city: Any) -> None:
    """The same voices, submitted one by one (matched and merged in the database) and
    replayed from a file in another order (matched in memory), get the same answers."""
    import random
    from datetime import timedelta

    from sqlalchemy import select

    from civicpulse.domain.roles import SYSTEM
    from civicpulse.services.match_index import params_from
    from civicpulse.services.voices import VoiceInput, submit_voice
    from civicpulse.storage.tables import VoiceInsight

    ctx = city.ctx
    ctx.settings.match_auto_merge = True
    rng = random.Random(3)
    spots = [(30.05, 120.05), (30.0502, 120.05), (30.052, 120.05), (30.08, 120.02), None]
    says = [
        ("pothole", "Deep pothole in front of number 12, my tyre burst"),
        ("pothole", "Big hole in the road outside number 12"),
        ("tree", "A fallen tree is blocking the pavement"),
        ("tree", "Tree down across the footpath after the storm"),
        ("other", "小区门口的路灯坏了一个星期，晚上很黑，老人出行不便"),
        ("other", "小区门口路灯坏了快一周了，晚上太黑，老人走路不方便"),
        ("other", "建议增加公交班次，早上等车时间太长"),
    ]
    start = ctx.now() - timedelta(days=50)
    at = start
    rows = []
    for i in range(40):
        at += timedelta(hours=rng.choice([0.5, 3, 20, 60]))
        category, text = rng.choice(says)
        spot = rng.choice(spots)
        rows.append((f"V{i}", at, category, text, spot))
    intake: dict[str, tuple[int, int]] = {}
    for ident, when, category, text, spot in rows:
        result = submit_voice(ctx, SYSTEM, VoiceInput(
            text=text, category=category, occurred_at=when,
            lat=spot[0] if spot else None, lon=spot[1] if spot else None))
        intake[ident] = (result.voice_id, result.case_id)
    with ctx.db.reader() as s:
        found = {v: c for v, c in s.execute(
            select(VoiceInsight.voice_id, VoiceInsight.matched_case_id)).all()}
    shuffled = rows[:]
    rng.shuffle(shuffled)
    table = _Table([[ident, when.isoformat(), category, text,
                     str(spot[0]) if spot else "", str(spot[1]) if spot else ""]
                    for ident, when, category, text, spot in shuffled],
                   ["id", "when", "category", "text", "lat", "lon"])
    answers = list(match_file(
        table,
        MatchOptions({"external_id": "id", "occurred_at": "when", "category": "category",
                      "text": "text", "lat": "lat", "lon": "lon"}),
        params_from(ctx.settings),
    ))
    assert [a.external_id for a in answers] == [r[0] for r in rows]
    same_as = {a.external_id: a.same_as for a in answers}

    def case_of(ident: str) -> int:
        while same_as[ident] is not None:
            ident = same_as[ident]  # type: ignore[assignment]
        return intake[ident][1]

    replayed = {ident: case_of(ident) if same_as[ident] else None for ident, *_ in rows}
    stored = {ident: found[intake[ident][0]] for ident, *_ in rows}
    assert replayed == stored
    assert 5 < sum(v is not None for v in stored.values()) < 35  # both kinds of answer occur
