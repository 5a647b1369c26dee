"""The leader's brief as a document: HTML from a Jinja2 template, PDF from that HTML.

One template (``templates/brief.html``, whose sections are ``templates/brief_sections.html``)
makes the standalone document that the CLI writes and WeasyPrint turns into PDF, and the
sections alone are what the staff page shows inside its own layout. Every word goes through
the catalogues (``locale/<lang>/LC_MESSAGES/messages.po``), so the Chinese brief carries no
English besides numbers, codes and what residents wrote; names of departments, categories
and areas come from the catalogue in the reader's language.

Charts and the hotspot map are inline SVG drawn from the same geometry as the public pages
(``reports/charts.py``, ``reports/maps.py``); WeasyPrint draws SVG as vector paths and its
text as text, so the PDF stays small and sharp and a chart's words can be searched. No
base-map tiles: a PDF is made offline.

Fonts: WeasyPrint sets text with Pango, which picks the fonts through fontconfig. The list
"WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif names the CJK fonts Debian ships
(``fonts-wqy-zenhei``, ``fonts-noto-cjk``); without any CJK font Chinese would come out as
empty boxes, which the tests check by reading the text back out of the PDF.

Nothing is built at import: WeasyPrint itself is imported on the first PDF (it takes about a
second), and a :class:`BriefRenderer` compiles its catalogues when constructed.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from civicpulse.infra.catalogues import LANGUAGES, load_translations
from civicpulse.reports.charts import Bar, Column, horizontal_bars, stacked_columns
from civicpulse.reports.maps import MapShape, project_map
from civicpulse.services.brief import Brief

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_FAMILY = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif'
#: SVG user units of every chart's width (about the width of an A4 page's text)
CHART_WIDTH = 640
#: the tallest the hotspot map may be, in the same units (about half an A4 page)
MAP_HEIGHT = 400


@dataclass(frozen=True)
class Figures:
    """The geometry of the brief's charts and map, in one language (labels are names)."""

    days: list[Column]
    days_top: int  # the tallest day: the trend's scale
    weeks: list[Bar]
    weeks_height: float
    concerns: list[Bar]
    concerns_height: float
    confirmed: list[Bar]  # residents' confirmation rate per department, in whole percent
    confirmed_height: float
    map: MapShape
    map_labels: list[tuple[int, float, float]]  # hotspot rank at its box's centre


def figures(brief: Brief, lang: str) -> Figures:
    """Chart and map geometry for ``brief`` with the names of ``lang``."""
    days = stacked_columns(
        [d.day.strftime("%m-%d") for d in brief.days],
        {
            "before": [0 if d.in_week else d.voices for d in brief.days],
            "week": [d.voices if d.in_week else 0 for d in brief.days],
        },
        width=CHART_WIDTH,
        height=180,
    )
    weeks, weeks_height = horizontal_bars(
        [(str(w.week), w.voices) for w in brief.weeks], width=CHART_WIDTH, label_width=90
    )
    concerns, concerns_height = horizontal_bars(
        [(_short(c.label, 24) or f"#{c.rank}", c.residents) for c in brief.concerns],
        width=CHART_WIDTH,
        label_width=250,
    )
    confirmed, confirmed_height = horizontal_bars(
        [
            (brief.name("departments", r.department, lang),
             round(r.confirmed_resolution_rate * 100))
            for r in brief.departments
            if r.confirmed_resolution_rate is not None
        ],
        width=CHART_WIDTH,
        label_width=200,
    )
    areas = [(code, label.get(lang) or code, rings) for code, label, rings in brief.areas]
    boxes = [(h.rank, h.south, h.west, h.north, h.east) for h in brief.hotspots]
    shape = project_map(areas, [], width=CHART_WIDTH, boxes=boxes)
    if shape.height > MAP_HEIGHT:  # a tall city: narrower, so the map keeps to half a page
        width = CHART_WIDTH * MAP_HEIGHT / shape.height
        shape = project_map(areas, [], width=width, boxes=boxes)
    return Figures(
        days=days,
        days_top=max((d.voices for d in brief.days), default=0),
        weeks=weeks,
        weeks_height=weeks_height,
        concerns=concerns,
        concerns_height=concerns_height,
        confirmed=confirmed,
        confirmed_height=confirmed_height,
        map=shape,
        map_labels=[(rank, x + w / 2, y + h / 2) for rank, x, y, w, h in shape.boxes],
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def filename(brief: Brief, lang: str, extension: str) -> str:
    """``civicpulse-brief-2026-W09-zh.pdf``: the week and the language, no other name."""
    return f"civicpulse-brief-{brief.week}-{lang}.{extension}"


class BriefRenderer:
    """The template environment and catalogues of the brief; build one and keep it.

    ``translations`` lets the web app share the catalogues its pages already compiled."""

    def __init__(
        self, translations: Mapping[str, gettext.NullTranslations] | None = None
    ) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.translations = dict(translations or {})
        for lang in LANGUAGES:
            if lang not in self.translations:
                self.translations[lang] = load_translations(lang)

    def _values(self, brief: Brief, lang: str) -> dict[str, Any]:
        if lang not in self.translations:
            lang = "en"
        gettext_: Callable[[str], str] = self.translations[lang].gettext
        return {
            "brief": brief,
            "lang": lang,
            "_": gettext_,
            "fig": figures(brief, lang),
            "pct": _percent,
            "font_family": Markup(FONT_FAMILY),  # a constant of ours, not input
        }

    def html(self, brief: Brief, lang: str) -> str:
        """The whole document, with its print styles: what the CLI writes and the PDF is."""
        return self.env.get_template("brief.html").render(**self._values(brief, lang))

    def sections(self, brief: Brief, lang: str) -> Markup:
        """The brief's sections without a page around them, for the staff page."""
        html = self.env.get_template("brief_sections.html").render(**self._values(brief, lang))
        return Markup(html)  # rendered by our autoescaping template

    def pdf(self, brief: Brief, lang: str) -> bytes:
        """The document as PDF (A4), by WeasyPrint; a few seconds for a busy week."""
        from weasyprint import HTML  # about a second to import: only when a PDF is wanted

        document: bytes = HTML(string=self.html(brief, lang)).write_pdf()
        return document


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"
