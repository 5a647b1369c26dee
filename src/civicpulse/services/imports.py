"""import_voices: bring a table of historical records (hotline logs, message boards) in as voices.

Each accepted row becomes a voice and a case exactly as ``submit_voice`` makes them: the same
validation (``validate_voice``), the same routing (a ``RouteTable``), the same opening status,
deadlines and timeline (``opening_status``, ``opening_events``), counted from the time of the
import. What differs is the cost. A city's archive runs to millions of rows, so rows are
written in batches, one transaction per batch, with bulk writes (see ``_bulk_insert`` for why
these are COPY and executemany rather than INSERT ... RETURNING), while the next batch is
being read and checked.

Exactly once, even after a crash. Each batch's transaction also moves the import job's
checkpoint (``rows_done``: the last row number written) from where the previous batch left
it, and ends by appending one audit record; so a batch is either wholly in the database, with
its checkpoint and its audit record, or not at all. Running the same command again finds the
job by its fingerprint (file bytes, mapping, channel) and resumes after the checkpoint. On top
of that, a row whose ``(channel, external_id)`` is already stored, or came earlier in the
file, is skipped, so importing an overlapping export does not duplicate anything either.

No notifications. These are records of the past, often years old: telling residents today
that a complaint from 2011 was "received", with a tracking code, would be noise at best and a
privacy surprise at worst, and a department's inbox flooded with thousands of "new case"
mails would bury the cases that are really new. Imported cases appear in the department's
queue like any other; nobody is mailed about them.

Bad rows never stop an import: each one is rejected with its row number and the reason, and
the job keeps the full list so the report can be printed again after a resume.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from operator import itemgetter
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    CursorResult,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicpulse.domain.deadlines import Deadlines, compute_deadlines
from civicpulse.domain.errors import Conflict, ValidationFailed
from civicpulse.domain.geo import contains, polygons_of
from civicpulse.domain.roles import Actor
from civicpulse.domain.tracking import ALPHABET
from civicpulse.infra.context import Context
from civicpulse.services.routing import Route, RouteTable
from civicpulse.services.voices import (
    CHANNELS,
    Contact,
    VoiceInput,
    case_title,
    opening_events,
    opening_status,
    validate_voice,
)
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import (
    Case,
    CaseEvent,
    Category,
    ImportJob,
    ResidentContact,
    Voice,
)
from civicpulse.understanding.language import detect_language

FIELDS = (
    "text",
    "title",
    "category",
    "language",
    "channel",
    "lat",
    "lon",
    "address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "external_id",
    "occurred_at",
)
"""What a column can be mapped to."""

AUDIT_ACTION = "voices.imported"
DEFAULT_BATCH = 2000


_DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)

_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)
_IN_CHUNK = 900  # stays under SQLite's smallest bind-parameter limit (999)

_CASES = cast(Table, Case.__table__)
_VOICES = cast(Table, Voice.__table__)
_EVENTS = cast(Table, CaseEvent.__table__)
_CONTACTS = cast(Table, ResidentContact.__table__)
_JOBS = cast(Table, ImportJob.__table__)


class SourceRow(Protocol):
    """A row of a table being imported (``channels.tabular.Row`` is one)."""

    @property
    def number(self) -> int: ...

    @property
    def values(self) -> Mapping[str, str | datetime]: ...

    @property
    def problem(self) -> str | None: ...


class RowSource(Protocol):
    """An open table: its name, its columns and its rows, read once from the top."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> list[str]: ...

    def rows(self) -> Iterator[SourceRow]: ...

    def progress(self) -> tuple[int, int | None]: ...


@dataclass(frozen=True)
class ImportOptions:
    """How to read the table: ``mapping`` is field → column name."""

    mapping: Mapping[str, str]
    channel: str = "import"
    timezone: str = "UTC"
    keep_columns: bool = False
    batch_size: int = DEFAULT_BATCH


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str
    external_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "reason": self.reason}
        if self.external_id is not None:
            out["external_id"] = self.external_id
        return out


@dataclass(frozen=True)
class ImportProgress:
    """Told to the caller after every committed batch (and while a resume skips ahead)."""

    rows_read: int  # all of the file so far, over every run of the job
    rows_this_run: int  # committed by this run
    imported: int
    skipped: int
    rejected: int
    position: int
    total: int | None


@dataclass
class ImportReport:
    """Totals for the whole file (over every run of the job) and the speed of this run."""

    job_id: int
    source: str
    imported: int
    skipped: int
    rejected: list[Rejection]
    resumed_after: int = 0
    already_finished: bool = False
    rows_this_run: int = 0
    elapsed: float = 0.0

    @property
    def rows_read(self) -> int:
        return self.imported + self.skipped + len(self.rejected)

    @property
    def rows_per_second(self) -> float:
        return self.rows_this_run / self.elapsed if self.elapsed > 0 else 0.0


def import_fingerprint(file_sha256: str, options: ImportOptions) -> str:
    """Identifies one import: the same bytes read with the same mapping into the same channel."""
    ident = json.dumps(
        {
            "file": file_sha256,
            "mapping": sorted(options.mapping.items()),
            "channel": options.channel,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


def import_voices(
    ctx: Context,
    actor: Actor,
    source: RowSource,
    file_sha256: str,
    options: ImportOptions,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Import every row of ``source`` once; resumes a job that an earlier run left unfinished."""
    zone = check_options(options, source.columns)
    if ctx.db.dialect not in ("postgresql", "sqlite"):
        raise ValidationFailed("bulk import needs SQLite or PostgreSQL")
    started = time.monotonic()
    job = _open_job(ctx, import_fingerprint(file_sha256, options), source.name)
    if job.finished_at is not None:
        return ImportReport(
            job_id=job.id,
            source=source.name,
            imported=job.imported,
            skipped=job.skipped,
            rejected=[_rejection(r) for r in job.rejected],
            resumed_after=job.rows_done,
            already_finished=True,
        )
    run = _Run(ctx, actor, source, options, zone, job, on_progress)
    run.execute()
    with ctx.db.reader() as s:
        imported, skipped, rejected = s.execute(
            select(ImportJob.imported, ImportJob.skipped, ImportJob.rejected).where(
                ImportJob.id == job.id
            )
        ).one()
    return ImportReport(
        job_id=job.id,
        source=source.name,
        imported=imported,
        skipped=skipped,
        rejected=[_rejection(r) for r in rejected],
        resumed_after=job.rows_done,
        rows_this_run=run.rows_this_run,
        elapsed=time.monotonic() - started,
    )


def check_options(options: ImportOptions, columns: Sequence[str]) -> tzinfo:
    """Refuse a mapping that cannot work before a single row is read; returns the time zone."""
    unknown = sorted(set(options.mapping) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            f"cannot map to {', '.join(unknown)}; fields are {', '.join(FIELDS)}"
        )
    if "text" not in options.mapping:
        raise ValidationFailed("map a column to text (e.g. --map text=留言详情)")
    missing = [c for c in options.mapping.values() if c not in columns]
    if missing:
        raise ValidationFailed(
            f"no column {', '.join(map(repr, missing))} in the file; "
            f"its columns are {', '.join(columns)}"
        )
    if options.channel not in CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}")
    if not 1 <= options.batch_size <= 100_000:
        raise ValidationFailed("batch size must be between 1 and 100000")
    try:
        return ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {options.timezone!r}") from exc


def parse_when(value: str | datetime, zone: tzinfo) -> datetime:
    """ISO 8601 or the usual ``YYYY-MM-DD HH:MM:SS`` / ``YYYY/MM/DD`` shapes; naive → ``zone``."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise ValidationFailed(
                    f"occurred_at {text!r} is not a date and time I can read"
                ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def tracking_codes(n: int) -> list[str]:
    """``n`` tracking codes in the format of ``domain.tracking`` from one read of the OS RNG.

    Same 80 random bits in Crockford base32 as ``new_tracking_code``, but that draws the OS
    generator once per character, which costs more than the rest of a row's import.
    """
    # 10 random bytes are exactly 16 base32 digits; RFC 4648's digits are mapped onto ours
    c = base64.b32encode(secrets.token_bytes(10 * n)).decode("ascii").translate(_TO_CROCKFORD)
    return [
        f"{c[i : i + 4]}-{c[i + 4 : i + 8]}-{c[i + 8 : i + 12]}-{c[i + 12 : i + 16]}"
        for i in range(0, 16 * n, 16)
    ]


@dataclass(frozen=True)
class _JobState:
    id: int
    rows_done: int
    imported: int
    skipped: int
    rejected: list[dict[str, Any]]
    finished_at: datetime | None


def _open_job(ctx: Context, fingerprint: str, source_name: str) -> _JobState:
    """The job for this fingerprint, created on the first run."""
    for _ in range(2):
        try:
            with ctx.db.transaction() as s:
                job = s.scalars(
                    select(ImportJob).where(ImportJob.fingerprint == fingerprint)
                ).first()
                if job is None:
                    job = ImportJob(
                        fingerprint=fingerprint,
                        source_name=source_name[:500],
                        rows_done=0,
                        imported=0,
                        skipped=0,
                        rejected=[],
                        started_at=ctx.now(),
                    )
                    s.add(job)
                    s.flush()
                return _JobState(
                    job.id,
                    job.rows_done,
                    job.imported,
                    job.skipped,
                    list(job.rejected or []),
                    job.finished_at,
                )
        except IntegrityError:
            continue  # another run created it at the same moment: read theirs
    raise Conflict("could not open the import job; try again")


def _rejection(d: Mapping[str, Any]) -> Rejection:
    return Rejection(int(d["row"]), str(d["reason"]), d.get("external_id"))


@dataclass(slots=True)
class _Prepared:
    """A row that passed every check, with everything needed to write it."""

    row: int
    voice: VoiceInput
    route: Route
    language: str


@dataclass
class _Batch:
    """Consecutive rows of the file, committed (with the checkpoint) all or not at all."""

    rows: list[_Prepared] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    first_row: int = 0
    last_row: int = 0
    size: int = 0
    repeated: int = 0  # rows whose external id came earlier in this run
    done_before: int = 0  # the checkpoint this batch continues from
    rejected_so_far: list[dict[str, Any]] | None = None  # the job's list, if this adds to it
    plan: _Plan | None = None  # built ahead of the writer where ids can be reserved early


class _Router:
    """Routing for a whole run: one ``RouteTable`` snapshot, answers kept per (category, area).

    A route depends only on the category and the area a point falls in, so a million rows
    need a handful of routing decisions; and the whole file is routed against one reading
    of the catalogue. Areas are held with their bounding boxes so that most points are
    placed without running the polygon test.
    """

    def __init__(self, ctx: Context) -> None:
        self._cache: dict[tuple[str | None, int | None], Route | ValidationFailed] = {}
        with ctx.db.reader() as s:
            self._table = RouteTable(s)
            categories = s.execute(
                select(Category.code, Category.name_zh, Category.name_en).where(
                    Category.active.is_(True)
                )
            ).all()
        self._areas = [(i, geo, _bbox(geo)) for i, geo in self._table.areas]
        self._codes: dict[str, str] = {}
        for code, name_zh, name_en in categories:
            for label in (name_zh, name_en):
                if label:
                    self._codes.setdefault(label.strip().casefold(), code)
        for code, _, _ in categories:  # a code always wins over a name that happens to equal it
            self._codes[code.casefold()] = code

    def category_code(self, given: str) -> str:
        """A category named by code, or by its English or Chinese name as exports often do."""
        return self._codes.get(given.casefold(), given)

    def area_id(self, lat: float | None, lon: float | None) -> int | None:
        if lat is None or lon is None or not self._areas:
            return None
        for area_id, geojson, (min_lon, min_lat, max_lon, max_lat) in self._areas:
            if (
                min_lat <= lat <= max_lat
                and min_lon <= lon <= max_lon
                and contains(geojson, lat, lon)
            ):
                return area_id
        return None

    def route(self, category: str | None, lat: float | None, lon: float | None) -> Route:
        key = (category, self.area_id(lat, lon))
        found = self._cache.get(key)
        if found is None:
            try:
                found = self._table.route(category, lat, lon)
            except ValidationFailed as exc:
                found = exc
            self._cache[key] = found
        if isinstance(found, ValidationFailed):
            raise found
        return found


def _bbox(geojson: dict[str, Any]) -> tuple[float, float, float, float]:
    points = [p for poly in polygons_of(geojson) for p in poly[0]]
    return (
        min(p[0] for p in points),
        min(p[1] for p in points),
        max(p[0] for p in points),
        max(p[1] for p in points),
    )


class _Run:
    """One run of a job: reads on from the checkpoint, commits batch after batch."""

    def __init__(
        self,
        ctx: Context,
        actor: Actor,
        source: RowSource,
        options: ImportOptions,
        zone: tzinfo,
        job: _JobState,
        on_progress: Callable[[ImportProgress], None] | None,
    ) -> None:
        self.ctx = ctx
        self.actor = actor
        self.source = source
        self.options = options
        self.zone = zone
        self.job_id = job.id
        self.resume_after = job.rows_done
        self.rejected_so_far = list(job.rejected)
        self.rows_this_run = 0
        # what the committed batches add up to, kept for progress reports
        self.lock = threading.Lock()
        self.imported = job.imported
        self.skipped = job.skipped
        self.rejected = len(job.rejected)
        self.committed = 0
        self.grown = 0  # voices added since the last ANALYZE
        self.analyzed_size = 0
        self.analyzing = False
        # a historical record cannot be from the future (a day of slack for clock skew)
        self.latest = ctx.now() + timedelta(days=1)
        self.on_progress = on_progress
        self.router = _Router(ctx)
        self.mapped = dict(options.mapping)
        self.unmapped = [c for c in source.columns if c not in set(self.mapped.values())]
        self.checked = list(self.mapped.values()) + (self.unmapped if options.keep_columns else [])
        postgresql = ctx.db.dialect == "postgresql"
        self.sequences = _sequences(ctx) if postgresql else None
        # SQLite has one writer at a time whatever we do; PostgreSQL can take two batches
        self.writers = 2 if postgresql else 1

    # -- reading -------------------------------------------------------------------------

    def execute(self) -> None:
        """Read and check the next batch while writer threads write the previous ones.

        Most of a batch's time is the database's, so on PostgreSQL two batches are written
        at once, each in its own transaction; but each waits for the one before it to commit
        before it moves the checkpoint and appends its audit record, so batches still commit
        in file order and the checkpoint only ever moves over committed rows. Keys repeated
        across the two batches in flight are caught while reading (see ``_batches``), so the
        two never wait on each other inside the database.
        """
        with ThreadPoolExecutor(self.writers, thread_name_prefix="import-writer") as pool:
            in_flight: deque[Future[None]] = deque()
            previous: Future[None] | None = None
            for batch, final in self._batches():
                while len(in_flight) >= self.writers:
                    in_flight.popleft().result()  # re-raises what a writer hit
                previous = pool.submit(self._commit, batch, final, previous)
                in_flight.append(previous)
            for pending in in_flight:
                pending.result()

    def _batches(self) -> Iterator[tuple[_Batch, bool]]:
        """Checked rows after the checkpoint, ``batch_size`` at a time, and whether it is the
        last batch (which may be short, or empty)."""
        done = self.resume_after
        seen_before: set[tuple[str, str]] = set()  # keys of the batch that may be in flight
        seen: set[tuple[str, str]] = set()
        batch = _Batch(done_before=done)
        skipped_over = 0
        for row in self.source.rows():
            if row.number <= self.resume_after:
                skipped_over += 1
                if skipped_over % self.options.batch_size == 0:
                    self._tell()
                continue
            if not batch.size:
                batch.first_row = row.number
            batch.last_row = row.number
            batch.size += 1
            prepared = self._prepare(row)
            if isinstance(prepared, Rejection):
                batch.rejected.append(prepared)
            elif prepared.voice.external_id is None:
                batch.rows.append(prepared)
            else:
                key = (prepared.voice.channel, prepared.voice.external_id)
                if key in seen or key in seen_before:
                    batch.repeated += 1
                else:
                    seen.add(key)
                    batch.rows.append(prepared)
            if batch.size >= self.options.batch_size:
                yield self._sealed(batch), False
                done = batch.last_row
                seen_before, seen = seen, set()
                batch = _Batch(done_before=done)
        yield self._sealed(batch), True

    def _sealed(self, batch: _Batch) -> _Batch:
        """Note the job's rejection list as of this batch; on PostgreSQL, also reserve ids
        and build every row to write here, off the writer.

        Sequence values are not transactional, so reserving them outside the batch's
        transaction costs at most a gap in the ids if the batch never commits.
        """
        self.rows_this_run += batch.size
        if batch.rejected:
            self.rejected_so_far += [r.as_json() for r in batch.rejected]
            batch.rejected_so_far = list(self.rejected_so_far)
        if self.sequences is not None and batch.rows:
            ids = _reserve_postgresql(self.ctx, self.sequences, len(batch.rows))
            batch.plan = _plan(self.actor, batch.rows, self.ctx.now(), *ids)
        return batch

    def _tell(self) -> None:
        if self.on_progress is None:
            return
        position, total = self.source.progress()
        with self.lock:
            progress = ImportProgress(
                rows_read=self.imported + self.skipped + self.rejected,
                rows_this_run=self.committed,
                imported=self.imported,
                skipped=self.skipped,
                rejected=self.rejected,
                position=position,
                total=total,
            )
        self.on_progress(progress)

    def _cells(self, row: SourceRow) -> dict[str, str]:
        """The mapped fields of a row, trimmed, empty ones left out."""
        out = {}
        for name, column in self.mapped.items():
            value = row.values.get(column, "")
            text = value.isoformat() if isinstance(value, datetime) else value.strip()
            if text:
                out[name] = text
        return out

    def _prepare(self, row: SourceRow) -> _Prepared | Rejection:
        """Turn a row into a checked voice, or say why it cannot be one."""
        external_id = None
        try:
            if row.problem is not None:
                raise ValidationFailed(row.problem)
            cells = self._cells(row)
            external_id = cells.get("external_id")
            for column in self.checked:
                value = row.values.get(column)
                if isinstance(value, str) and "\x00" in value:
                    raise ValidationFailed(f"column {column!r} contains a NUL character")
            voice = self._voice(row, cells)
            validate_voice(voice)
            _check_lengths(voice)
            if voice.occurred_at is not None and voice.occurred_at > self.latest:
                raise ValidationFailed("occurred_at is in the future")
            route = self.router.route(voice.category, voice.lat, voice.lon)
        except ValidationFailed as exc:
            return Rejection(row.number, exc.message, external_id)
        language = voice.language or detect_language(voice.text)
        return _Prepared(row.number, voice, route, language)

    def _voice(self, row: SourceRow, cells: dict[str, str]) -> VoiceInput:
        category = cells.get("category")
        when = None
        column = self.mapped.get("occurred_at")
        if column is not None:
            raw = row.values.get(column, "")
            if isinstance(raw, datetime) or raw.strip():
                when = parse_when(raw, self.zone)
        attributes: dict[str, Any] = {}
        if self.options.keep_columns:
            kept = {}
            for c in self.unmapped:
                value = row.values.get(c, "")
                text = value.isoformat() if isinstance(value, datetime) else value
                if text:
                    kept[c] = text
            if kept:
                attributes = {"columns": kept}
        return VoiceInput(
            text=cells.get("text", ""),
            title=cells.get("title"),
            category=self.router.category_code(category) if category else None,
            language=cells.get("language"),
            channel=cells.get("channel", self.options.channel).lower(),
            lat=_number(cells.get("lat"), "lat"),
            lon=_number(cells.get("lon"), "lon"),
            address=cells.get("address"),
            contact=Contact(
                name=cells.get("contact_name"),
                email=cells.get("contact_email"),
                phone=cells.get("contact_phone"),
            ),
            external_id=cells.get("external_id"),
            occurred_at=when,
            attributes=attributes,
        )

    # -- writing -------------------------------------------------------------------------

    def _commit(self, batch: _Batch, final: bool, previous: Future[None] | None) -> None:
        """Write one batch, its checkpoint and its audit record in one transaction.

        The rows go in first, possibly while the previous batch is still being written;
        then, once the previous batch has committed, the checkpoint moves from exactly where
        that batch left it (else someone else is running this import: refused) and the audit
        record is appended as the transaction's last statement.
        """
        with self.ctx.db.transaction() as session:
            fresh = _not_stored(session, batch.rows)
            if batch.plan is not None:
                plan = batch.plan if len(fresh) == len(batch.rows) else batch.plan.keep(fresh)
            else:  # SQLite: ids can only be handed out under the write lock, that is, here
                kept = [batch.rows[i] for i in fresh]
                ids = _reserve_sqlite(session, len(kept)) if kept else ([], [])
                plan = _plan(self.actor, kept, self.ctx.now(), *ids)
            _write(session, plan)
            if previous is not None:
                previous.result()  # its failure is ours too: this transaction rolls back
            now = self.ctx.now()
            imported = len(plan.voice_ids)
            skipped = len(batch.rows) - imported + batch.repeated
            values: dict[str, Any] = {
                "rows_done": max(batch.done_before, batch.last_row),
                "imported": _JOBS.c.imported + imported,
                "skipped": _JOBS.c.skipped + skipped,
            }
            if batch.rejected_so_far is not None:
                values["rejected"] = batch.rejected_so_far
            if final:
                values["finished_at"] = now
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(_JOBS)
                    .where(_JOBS.c.id == self.job_id, _JOBS.c.rows_done == batch.done_before)
                    .values(**values)
                ),
            )
            if claimed.rowcount != 1:
                raise Conflict(
                    "another run of this import moved its checkpoint; only one may run at a time"
                )
            if batch.size:
                append_audit(
                    session,
                    actor=self.actor.label,
                    action=AUDIT_ACTION,
                    subject=f"import:{self.job_id}",
                    data={
                        "job": self.job_id,
                        "source": self.source.name,
                        "first_row": batch.first_row,
                        "last_row": batch.last_row,
                        "count": imported,
                        "skipped": skipped,
                        "rejected": len(batch.rejected),
                        "digest": plan.digest(),
                    },
                    at=now,
                )
        with self.lock:
            self.imported += imported
            self.skipped += skipped
            self.rejected += len(batch.rejected)
            self.committed += batch.size
        self._keep_statistics_fresh(imported)
        self._tell()

    def _keep_statistics_fresh(self, added: int) -> None:
        """ANALYZE voices on PostgreSQL each time this run has doubled it.

        The duplicate check looks ``(channel, external_id)`` up in the unique index, but a
        table that grew from nothing within minutes has no statistics yet, and the planner
        then filters every stored row against the batch's ids instead, which got slower
        with every batch (seconds per batch at 30,000 rows). The PostgreSQL manual's advice
        after a bulk load is to ANALYZE; doing it at each doubling costs a few ANALYZEs per
        run, each on a sample.
        """
        if self.ctx.db.dialect != "postgresql":
            return
        with self.lock:
            self.grown += added
            if self.analyzing or self.grown < max(5000, self.analyzed_size):
                return
            self.analyzing = True
        try:
            with self.ctx.db.transaction() as session:
                session.execute(text("ANALYZE voices"))
                size = session.execute(select(func.count()).select_from(_VOICES)).scalar_one()
            with self.lock:
                self.analyzed_size, self.grown = size, 0
        finally:
            self.analyzing = False


def _check_lengths(v: VoiceInput) -> None:
    """Column sizes the single-voice path enforces in its request schema.

    A value too long for its column would fail the whole batch's INSERT, so it is refused
    here, as one rejected row.
    """
    for name, value, limit in (
        ("language", v.language, 16),
        ("contact_name", v.contact.name, 200),
        ("contact_email", v.contact.email, 320),
        ("contact_phone", v.contact.phone, 64),
        ("address", v.address, 500),
    ):
        if value is not None and len(value) > limit:
            raise ValidationFailed(f"{name} must be at most {limit} characters")


def _number(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(f"{name} {text!r} is not a number") from None


def _not_stored(session: Session, rows: list[_Prepared]) -> list[int]:
    """Indices of the rows whose (channel, external_id) is neither stored nor earlier in the
    batch; rows without an external id always count as new."""
    wanted: dict[str, set[str]] = {}
    for p in rows:
        if p.voice.external_id is not None:
            wanted.setdefault(p.voice.channel, set()).add(p.voice.external_id)
    stored: set[tuple[str, str]] = set()
    postgresql = session.get_bind().dialect.name == "postgresql"
    for channel, ids in wanted.items():
        id_list = sorted(ids)
        step = len(id_list) if postgresql else _IN_CHUNK
        for i in range(0, len(id_list), step):
            chunk = id_list[i : i + step]
            # PostgreSQL gets one array parameter rather than thousands of placeholders: a
            # short statement for psycopg to parse, and a test the executor can hash
            match = (
                Voice.external_id == any_(bindparam("ids", chunk, type_=ARRAY(String(200))))
                if postgresql
                else Voice.external_id.in_(chunk)
            )
            found = session.scalars(
                select(Voice.external_id).where(Voice.channel == channel, match)
            )
            stored.update((channel, e) for e in found if e is not None)
    fresh: list[int] = []
    for i, p in enumerate(rows):
        if p.voice.external_id is not None:
            key = (p.voice.channel, p.voice.external_id)
            if key in stored:
                continue
            stored.add(key)
        fresh.append(i)
    return fresh


_CASE_COLUMNS = (
    "id",
    "tracking_code",
    "status",
    "title",
    "category_id",
    "department_id",
    "area_id",
    "lat",
    "lon",
    "created_at",
    "updated_at",
    "first_response_due",
    "resolution_due",
)
_VOICE_COLUMNS = (
    "id",
    "case_id",
    "channel",
    "text",
    "title",
    "language",
    "category_id",
    "lat",
    "lon",
    "external_id",
    "attributes",
    "occurred_at",
    "received_at",
)
_CONTACT_COLUMNS = ("voice_id", "name", "email", "phone", "address")


@dataclass
class _Plan:
    """Every row one batch writes, per imported row, with the ids already in place."""

    voice_ids: list[int]
    texts: list[str]
    cases: list[tuple[Any, ...]]
    voices: list[tuple[Any, ...]]
    events: list[list[tuple[Any, ...]]]
    event_columns: tuple[str, ...]
    contacts: list[tuple[Any, ...] | None]

    def keep(self, indices: list[int]) -> _Plan:
        """The plan without the rows found to be stored already (their ids stay unused)."""
        return _Plan(
            voice_ids=[self.voice_ids[i] for i in indices],
            texts=[self.texts[i] for i in indices],
            cases=[self.cases[i] for i in indices],
            voices=[self.voices[i] for i in indices],
            events=[self.events[i] for i in indices],
            event_columns=self.event_columns,
            contacts=[self.contacts[i] for i in indices],
        )

    def digest(self) -> str:
        """SHA-256 over the imported voices' ids and texts, for the batch's audit record."""
        h = hashlib.sha256()
        for voice_id, body in zip(self.voice_ids, self.texts, strict=True):
            h.update(f"{voice_id}\x1f{body}\x1e".encode())
        return h.hexdigest()


def _plan(
    actor: Actor, rows: list[_Prepared], now: datetime, case_ids: list[int], voice_ids: list[int]
) -> _Plan:
    """The cases, voices, opening events and contacts of ``rows``, as ``submit_voice`` does."""
    opening: dict[Route, tuple[str, Deadlines]] = {}
    for p in rows:
        if p.route not in opening:
            opening[p.route] = (
                opening_status(p.route).value,
                compute_deadlines(now, p.route.first_response_hours, p.route.resolution_hours),
            )
    plan = _Plan(voice_ids, [p.voice.text for p in rows], [], [], [], (), [])
    codes = tracking_codes(len(rows))
    as_row: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None
    for p, code, case_id, voice_id in zip(rows, codes, case_ids, voice_ids, strict=True):
        r, v = p.route, p.voice
        status, due = opening[r]
        plan.cases.append(
            (case_id, code, status, case_title(v), r.category_id, r.department_id, r.area_id,
             v.lat, v.lon, now, now, due.first_response_due, due.resolution_due)
        )  # fmt: skip
        plan.voices.append(
            (voice_id, case_id, v.channel, v.text, v.title, p.language, r.category_id, v.lat,
             v.lon, v.external_id, v.attributes, v.occurred_at, now)
        )  # fmt: skip
        events = opening_events(
            case_id=case_id, voice_id=voice_id, channel=v.channel, actor=actor.label, route=r,
            now=now,
        )  # fmt: skip
        if as_row is None:
            plan.event_columns = tuple(events[0])
            as_row = itemgetter(*plan.event_columns)
        plan.events.append([as_row(e) for e in events])
        c = v.contact
        plan.contacts.append(
            (voice_id, c.name, c.email, c.phone, v.address) if c.any() or v.address else None
        )
    return plan


def _write(session: Session, plan: _Plan) -> None:
    _bulk_insert(session, _CASES, _CASE_COLUMNS, plan.cases)
    _bulk_insert(session, _VOICES, _VOICE_COLUMNS, plan.voices)
    events = [event for per_row in plan.events for event in per_row]
    _bulk_insert(session, _EVENTS, plan.event_columns, events)
    contacts = [c for c in plan.contacts if c is not None]
    _bulk_insert(session, _CONTACTS, _CONTACT_COLUMNS, contacts)


def _sequences(ctx: Context) -> tuple[str, str]:
    """The sequences that hand out case and voice ids on PostgreSQL."""
    with ctx.db.reader() as s:
        found = s.execute(
            text(
                "SELECT pg_get_serial_sequence('cases', 'id'), "
                "pg_get_serial_sequence('voices', 'id')"
            )
        ).one()
    return str(found[0]), str(found[1])


def _reserve_postgresql(
    ctx: Context, sequences: tuple[str, str], n: int
) -> tuple[list[int], list[int]]:
    """``n`` case ids and ``n`` voice ids, taken from their sequences in one round trip."""
    with ctx.db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT nextval(%(c)s::regclass), nextval(%(v)s::regclass) "
            "FROM generate_series(1, %(n)s)",
            {"c": sequences[0], "v": sequences[1], "n": n},
        ).all()
        conn.commit()
    return [r[0] for r in rows], [r[1] for r in rows]


def _reserve_sqlite(session: Session, n: int) -> tuple[list[int], list[int]]:
    """The ``n`` ids after each table's largest, safe because the write lock is ours.

    A SQLite write transaction holds the database's only write lock from its
    ``BEGIN IMMEDIATE``, and these tables' ids are plain rowids, so these are exactly the
    ids SQLite itself would hand out.
    """
    out = []
    for table in (_CASES, _VOICES):
        start = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        out.append(list(range(start + 1, start + 1 + n)))
    return out[0], out[1]


def _bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows whose ids, where they need one, are already known.

    The obvious tool, an executemany of ``insert().returning(..., sort_by_parameter_order=True)``
    (SQLAlchemy's insertmanyvalues), was measured at 340 rows/s end to end on PostgreSQL and
    2,500 on SQLite: psycopg 3 re-parses, in Python, every multi-row statement tens of
    thousands of placeholders long, and on SQLite SQLAlchemy keeps parameter order only by
    sending one row per statement. Ids are therefore reserved first (``_reserve_*``) and the
    rows go in with binary COPY on PostgreSQL and one plain executemany on SQLite.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_postgresql(session, table, columns, rows)
    else:
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _copy_postgresql(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Binary COPY of ``rows`` into ``table``.

    Values go to psycopg as they are: every datetime here is timezone-aware (``now``, or an
    ``occurred_at`` that ``validate_voice`` checked), which is all ``UTCDateTime`` would
    ensure, and JSON is dumped by psycopg with ``json.dumps``, like SQLAlchemy's JSON type.
    """
    from psycopg import sql

    # COPY bypasses SQLAlchemy, so its client-side column defaults are applied here
    defaults: dict[str, Any] = {}
    for column in table.c:
        if column.name in columns or column.primary_key or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name} needs a value for COPY")
        defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    names = [*columns, *defaults]
    fill = tuple(defaults.values())
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            copy.set_types([_pg_wire_type(table.c[name]) for name in names])
            write = copy.write_row
            for row in rows:
                write((*row, *fill) if fill else row)
    finally:
        cursor.close()


def _pg_wire_type(column: Column[Any]) -> str:
    """The PostgreSQL type whose binary format a column's values are sent in."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, String):
        return "text"  # varchar and text share their binary format
    raise TypeError(f"no COPY type for {column.table.name}.{column.name}: {kind!r}")
