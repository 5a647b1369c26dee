"""Every text the page and report templates translate has a Chinese translation in the
catalogue."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from civicpulse.domain.roles import Role
from civicpulse.domain.workflow import Action, CaseStatus
from civicpulse.infra.catalogues import LOCALE_DIR
from civicpulse.reports.brief_document import TEMPLATES as REPORT_TEMPLATES
from civicpulse.web.pages.common import WEB

MSGID = re.compile(r"""_\((["'])(.+?)\1\)""")


def test_every_template_string_and_status_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    translated = {m.id for m in catalog if m.id and m.string}
    wanted = {
        m.group(2)
        for folder in (WEB / "templates", REPORT_TEMPLATES)
        for path in folder.rglob("*.html")
        for m in MSGID.finditer(path.read_text(encoding="utf-8"))
    }
    wanted |= {s.value for s in CaseStatus} | {a.value for a in Action} | {r.value for r in Role}
    missing = sorted(wanted - translated)
    assert not missing, missing
