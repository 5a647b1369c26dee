"""The formalism audit where leaders and staff read it besides its own page: a section of
the leader's brief (rates and flag counts per department, Chinese and English) and the
flags of one case on the staff case page (staff only, on request)."""

from __future__ import annotations

import html as html_text

from civicpulse.domain.roles import SYSTEM
from civicpulse.domain.weeks import IsoWeek
from civicpulse.reports.brief_document import BriefRenderer
from civicpulse.services.brief import leader_brief
from civicpulse.services.staff import login
from tests.city import PASSWORD, City
from tests.conftest import Clock
from tests.integration.test_formalism import _answered


def test_the_brief_has_each_departments_rates_and_flag_count(city: City, clock: Clock) -> None:
    _answered(city, clock, [True, False])
    clock.advance(days=7)
    brief = leader_brief(city.ctx, SYSTEM, IsoWeek.of(clock.now.date()).shifted(-1))
    assert brief.formalism is not None
    roads = next(r for r in brief.formalism.departments if r.department == "roads")
    assert roads.hollow_reply_rate == 0.5 and roads.flags.get("hollow_reply") == 1
    english = html_text.unescape(BriefRenderer().html(brief, "en"))
    assert "Hollow replies" in english and "50%" in english
    chinese = BriefRenderer().html(brief, "zh")
    assert "空洞答复" in chinese and "形式主义审查" in chinese


def test_the_staff_case_page_lists_the_cases_flags_when_asked(
    city: City, clock: Clock
) -> None:
    made = _answered(city, clock, [True])
    client = city.client
    assert client.get(f"/staff/cases/{made[0]}?formalism=1",
                      follow_redirects=False).status_code == 303  # staff only
    client.cookies.set("cp_session", login(city.ctx, "roads1", PASSWORD))
    plain = client.get(f"/staff/cases/{made[0]}?lang=en").text
    assert "Check this case for formalism flags" in plain and "Hollow replies" not in plain
    asked = client.get(f"/staff/cases/{made[0]}?lang=zh&formalism=1").text
    assert "空洞答复" in asked and "没有针对本留言的具体内容" in asked
    assert f"#flag-hollow_reply:c{made[0]}:roads" in asked
    client.cookies.set("cp_session", login(city.ctx, "parks1", PASSWORD))
    assert client.get(f"/staff/cases/{made[0]}?formalism=1").status_code == 403
