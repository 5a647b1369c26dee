"""`civicpulse open311 pull` against a local GeoReport v2 endpoint over real HTTP: real San
Francisco Open311 records land once each, however often the pull runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from civicpulse.infra.context import Context
from civicpulse.storage.tables import Case, CaseEvent, OutboxMessage, ResidentContact, Voice
from tests.city import seed_city
from tests.conftest import shared_data
from tests.live import cli_env, run_cli


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Endpoint:
    """Just enough of a GeoReport v2 server: requests.json filtered by requested_datetime and
    cut at ``limit`` like a real one (whatever page_size asks), and an optional updates
    feed cut the same way; ``pages`` says whether it honours page/page_size."""

    def __init__(
        self,
        records: list[dict[str, Any]],
        updates: list[dict[str, Any]] | None,
        limit: int = 1000,
        pages: bool = False,
    ) -> None:
        self.records = sorted(records, key=lambda r: r["requested_datetime"])
        self.updates = updates
        self.limit = limit
        self.pages = pages
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.sizes: list[int] = []

    def _page(self, rows: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
        if not self.pages:
            return rows[: self.limit]
        size = min(self.limit, int(params.get("page_size") or self.limit))
        first = (int(params.get("page") or 1) - 1) * size
        return rows[first : first + size]

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        self.calls.append((path, params))
        start, end = _when(params["start_date"]), _when(params["end_date"])
        if path.endswith("/requests.json"):
            rows = [r for r in self.records if start <= _when(r["requested_datetime"]) <= end]
            self.sizes.append(len(self._page(rows, params)))
            return 200, self._page(rows, params)
        if path.endswith("/servicerequestupdates.json") and self.updates is not None:
            feed = [u for u in self.updates if start <= _when(u["updated_datetime"]) <= end]
            return 200, self._page(feed, params)
        return 404, [{"code": 404, "description": "not here"}]


@contextmanager
def serve(endpoint: Endpoint) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, body = endpoint.answer(parts.path, params)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/open311/v2"
    finally:
        server.shutdown()
        server.server_close()


def sf_records() -> list[dict[str, Any]]:
    raw = json.loads(shared_data("sf311", "encampments_raw_api.json").read_text(encoding="utf-8"))
    records: list[dict[str, Any]] = json.loads(raw["body"])  # an API gateway envelope
    return records


def open311_voices(ctx: Context) -> int:
    with ctx.db.reader() as s:
        return int(
            s.scalar(select(func.count()).select_from(Voice).where(Voice.channel == "open311")) or 0
        )


def test_sf_requests_land_once_each(ctx: Context, db_url: str, tmp_path: Path) -> None:
    seed_city(ctx)
    records = sf_records()
    assert len(records) == 1095
    endpoint = Endpoint(records, updates=None)
    env = cli_env(db_url, tmp_path / "data", CIVICPULSE_MATCH_AUTO_MERGE="true")
    args = ["--since", "2025-08-01T00:00:00Z", "--map-service", "HSOC:Homeless:Encampment=other"]
    with serve(endpoint) as url:
        first = run_cli(env, "open311", "pull", url, *args)
        assert first.returncode == 0, first.stderr
        assert "fetched 1095 requests: 1095 added, 0 already here, 0 refused" in first.stdout
        assert "updates: not read" in first.stdout
        # the window holding all 1,095 came back cut at 1,000 and was split
        assert max(endpoint.sizes) == 1000 and sum(endpoint.sizes) > 1095
        again = run_cli(env, "open311", "pull", url, *args)
        assert again.returncode == 0, again.stderr
        assert "1095 already here" in again.stdout and " 0 added" in again.stdout
        endpoint.calls.clear()
        incremental = run_cli(env, "open311", "pull", url)
        assert incremental.returncode == 0, incremental.stderr
        assert "fetched 0 requests" in incremental.stdout
        first_start = _when(endpoint.calls[0][1]["start_date"])
        assert (datetime.now(UTC) - first_start).total_seconds() < 3 * 3600

    assert open311_voices(ctx) == 1095
    with ctx.db.reader() as s:
        distinct = s.scalar(
            select(func.count(func.distinct(Voice.external_id))).where(Voice.channel == "open311")
        )
        assert distinct == 1095
        voice = s.scalars(select(Voice).where(Voice.external_id.like("%:101002555701"))).one()
        assert voice.text.startswith("There is a person bending over")
        assert voice.occurred_at == datetime(2025, 9, 4, 22, 37, 50, tzinfo=UTC)
        assert (voice.lat, voice.lon) == (37.77762504, -122.41780958)
        meta = voice.attributes["open311"]
        assert meta["status"] == "closed" and meta["status_notes"] == "Case Resolved."
        assert meta["service_code"] == "HSOC:Homeless:Encampment"
        assert meta["media_url"].endswith(".jpeg") and meta["source"].endswith("/open311/v2")
        assert meta["extra"]["police_district"] == "NORTHERN"
        contact = s.get(ResidentContact, voice.id)
        assert contact is not None and contact.address == "94 Hayes St"
        case = s.get(Case, voice.case_id)
        assert case is not None and case.category_id is not None  # mapped to "other"
        other = next(r for r in records if r["service_code"].startswith("City Services"))
        general = s.scalars(
            select(Voice).where(Voice.external_id.like(f"%:{other['service_request_id']}"))
        ).one()
        assert general.category_id is None  # an unmapped, unknown code waits for triage
        blank = next(r for r in records if not (r["description"] or "").strip())
        stored = s.scalars(
            select(Voice).where(Voice.external_id.like(f"%:{blank['service_request_id']}"))
        ).one()
        assert stored.text == blank["service_code"]
        # history notifies nobody and is never merged by itself, even with auto-merge on
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert s.scalar(select(func.count()).where(Case.status == "merged")) == 0


def test_updates_are_recorded_once_as_internal_notes(
    ctx: Context, db_url: str, tmp_path: Path
) -> None:
    seed_city(ctx)
    records = [
        {
            "service_request_id": "A1",
            "service_code": "pothole",
            "status": "open",
            "description": "Hole at the corner",
            "requested_datetime": "2026-11-01T10:00:00Z",
            "lat": "30.05",
            "long": "120.05",
        },
        {
            "service_request_id": "A2",
            "service_code": "x",
            "status": "open",
            "description": "Broken bench",
            "requested_datetime": "2026-11-02T10:00:00-05:00",
        },
        {"description": "no id at all", "requested_datetime": "2026-11-02T11:00:00Z"},
    ]
    updates = [
        {
            "update_id": "u1",
            "service_request_id": "A1",
            "status": "INVESTIGATING",
            "description": "Crew sent",
            "updated_datetime": "2026-11-03T10:00:00Z",
        },
        {
            "update_id": "u2",
            "service_request_id": "A2",
            "status": "CLOSED",
            "description": "",
            "updated_datetime": "2026-11-04T10:00:00Z",
        },
        {
            "update_id": "u3",
            "service_request_id": "ZZ",
            "status": "CLOSED",
            "description": "not ours",
            "updated_datetime": "2026-11-04T11:00:00Z",
        },
    ]
    endpoint = Endpoint(records, updates)
    env = cli_env(db_url, tmp_path / "data")
    with serve(endpoint) as url:
        args = ["--since", "2026-10-01", "--updates-as", "dispatch"]
        first = run_cli(env, "open311", "pull", url, *args)
        assert first.returncode == 0, first.stderr
        assert "2 added" in first.stdout and "1 refused" in first.stdout
        assert "updates: 3 fetched, 2 recorded, 1 skipped" in first.stdout
        second = run_cli(env, "open311", "pull", url, *args)
        assert "updates: 3 fetched, 0 recorded, 3 skipped" in second.stdout
        unknown = run_cli(env, "open311", "pull", url, "--updates-as", "nobody")
        assert unknown.returncode == 2 and "nobody" in unknown.stderr
        bad = run_cli(env, "open311", "pull", "ftp://example.org", "--since", "2026-10-01")
        assert bad.returncode == 2 and "http" in bad.stderr
    with ctx.db.reader() as s:
        notes = s.scalars(
            select(CaseEvent).where(CaseEvent.kind == "reply").order_by(CaseEvent.id)
        ).all()
        assert [n.public for n in notes] == [False, False]
        assert "INVESTIGATING" in (notes[0].message or "") and "Crew sent" in (
            notes[0].message or ""
        )
        assert all(n.actor == "staff:dispatch" for n in notes)
        a1 = s.scalars(select(Voice).where(Voice.external_id.like("%:A1"))).one()
        case = s.get(Case, a1.case_id)
        assert case is not None and case.status == "assigned"  # recorded, not obeyed
