"""The translation catalogues of everything CivicPulse writes for people: the pages, the
leader's brief and its mail. One loader, so a text translated for a page reads the same in
the brief.

The catalogues are Babel/gettext ``.po`` files under ``locale/<lang>/LC_MESSAGES``, compiled
in memory when a user of them is built (never at import).
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
#: the languages every reader-facing text exists in
LANGUAGES = ("en", "zh")


def load_translations(lang: str) -> gettext.NullTranslations:
    """Compile the Babel catalogue ``locale/<lang>/LC_MESSAGES/messages.po`` in memory.

    Compiling at start-up keeps the repository free of binary .mo files and means an edited
    catalogue can never be out of step with a stale compiled one."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
