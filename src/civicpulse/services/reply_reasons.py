"""The reasons of a reply assessment in words, Chinese or English.

``understanding.replies`` gives findings as catalogue keys with their values; this renders
them through the same translation catalogues as the pages and the brief
(``infra.catalogues``), so "模板句" on a page and in an export are one text. By default each
row's reasons are in the language of its reply: staff reading a Chinese reply read Chinese.
"""

from __future__ import annotations

import gettext

from civicpulse.domain.errors import ValidationFailed
from civicpulse.infra.catalogues import LANGUAGES, load_translations
from civicpulse.understanding.language import detect_language
from civicpulse.understanding.replies import Finding
from civicpulse.understanding.replies.text import has_han

AUTO = "auto"
_SAMPLE = 100
"""Characters of a text enough to tell its language (the whole of a reply took 0.3 ms)."""


class ReasonWriter:
    """Renders findings; the catalogues are compiled once, when the writer is made."""

    def __init__(self, lang: str = AUTO) -> None:
        if lang != AUTO and lang not in LANGUAGES:
            raise ValidationFailed(f"--lang must be {AUTO} or one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self._catalogues: dict[str, gettext.NullTranslations] = {
            code: load_translations(code) for code in LANGUAGES
        }

    def language_for(self, *texts: str) -> str:
        """The chosen language, or with ``auto`` the first text's that is Chinese or English
        (English when none is)."""
        if self.lang != AUTO:
            return self.lang
        for text in texts:
            sample = text[:_SAMPLE]
            found = "zh" if has_han(sample) else detect_language(sample)
            if found in LANGUAGES:
                return found
        return "en"

    def render(self, findings: list[Finding], lang: str) -> list[str]:
        catalogue = self._catalogues[lang]
        return [f.render(catalogue.gettext, lang) for f in findings]
