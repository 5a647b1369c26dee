"""Every text the page templates translate has a Chinese translation in the catalogue."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from civicpulse.domain.workflow import Action, CaseStatus
from civicpulse.web.pages.common import LOCALE_DIR, WEB

MSGID = re.compile(r"""_\((["'])(.+?)\1\)""")


def test_every_template_string_and_status_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    translated = {m.id for m in catalog if m.id and m.string}
    wanted = {
        m.group(2)
        for path in (WEB / "templates").rglob("*.html")
        for m in MSGID.finditer(path.read_text(encoding="utf-8"))
    }
    wanted |= {s.value for s in CaseStatus} | {a.value for a in Action}
    missing = sorted(wanted - translated)
    assert not missing, missing
