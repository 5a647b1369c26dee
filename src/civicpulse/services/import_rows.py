"""From a row of the file to a checked voice with its route, or the reason it cannot be one.

A row is held to exactly what ``submit_voice`` demands (``validate_voice``, the same field
limits and wording, the same routing), plus what only history can get wrong: a NUL byte in
any column read, a time in the future. Bad rows never stop an import; each becomes a
``Rejection`` with its row number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import contains, polygons_of
from civicpulse.domain.limits import check_length
from civicpulse.domain.resident_keys import resident_key
from civicpulse.infra.context import Context
from civicpulse.services.import_options import ImportOptions, Rejection, SourceRow, parse_when
from civicpulse.services.resident_identity import identity_secret
from civicpulse.services.routing import Route, RouteTable
from civicpulse.services.text_reading import language_of
from civicpulse.services.voices import Contact, VoiceInput, validate_voice
from civicpulse.storage.tables import Category


@dataclass(slots=True)
class Prepared:
    """A row that passed every check, with everything needed to write it."""

    row: int
    voice: VoiceInput
    route: Route
    language: str
    #: supports the source system counted (``--map supports=COL``)
    supports: int = 0
    #: keyed hash of the source system's author id (``--map author=COL``)
    author_key: str | None = None


class ImportRouter:
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


class RowChecker:
    """Reads rows with one mapping, time zone and routing snapshot for the whole run."""

    def __init__(
        self, ctx: Context, options: ImportOptions, columns: list[str], zone: tzinfo
    ) -> None:
        self.options = options
        self.zone = zone
        self.router = ImportRouter(ctx)
        # a historical record cannot be from the future (a day of slack for clock skew)
        self.latest = ctx.now() + timedelta(days=1)
        self.mapped = dict(options.mapping)
        # only a run that maps authors needs the secret their ids are hashed with
        self.secret = identity_secret(ctx) if "author" in self.mapped else None
        self.unmapped = [c for c in columns if c not in set(self.mapped.values())]
        self.checked = list(self.mapped.values()) + (self.unmapped if options.keep_columns else [])

    def prepare(self, row: SourceRow) -> Prepared | Rejection:
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
            # before the domain's date bounds, which would name a far future less plainly
            if voice.occurred_at is not None and voice.occurred_at > self.latest:
                raise ValidationFailed("occurred_at is in the future")
            validate_voice(voice)
            supports = _count(cells.get("supports"), "supports")
            author = cells.get("author")
            check_length("author", author, limits.NAME)
            route = self.router.route(voice.category, voice.lat, voice.lon)
        except ValidationFailed as exc:
            return Rejection(row.number, exc.message, external_id)
        author_key = (
            resident_key(self.secret, "author", f"{voice.channel}:{author}")
            if author and self.secret else None
        )
        return Prepared(row.number, voice, route, language_of(voice.text, voice.language),
                        supports, author_key)

    def _cells(self, row: SourceRow) -> dict[str, str]:
        """The mapped fields of a row, trimmed, empty ones left out."""
        out = {}
        for name, column in self.mapped.items():
            value = row.values.get(column, "")
            text = value.isoformat() if isinstance(value, datetime) else value.strip()
            if text:
                out[name] = text
        return out

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


def _count(text: str | None, name: str) -> int:
    """A count another system kept ("1,234" included); empty is none."""
    if text is None:
        return 0
    cleaned = text.replace(",", "").replace("，", "").strip()
    if cleaned.endswith(".0"):
        cleaned = cleaned[:-2]
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise ValidationFailed(f"{name} {text!r} is not a whole number of at least 0")
    return int(cleaned)


def _number(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(f"{name} {text!r} is not a number") from None
