"""The weekly brief by mail: on Monday, the week just ended, as PDF, to each recipient once.

A step of the background pass (``jobs/runner.py``). It costs one indexed read while nothing
is due, so it runs on every pass; on the first pass after ``brief_send_hour`` on Monday (city
time) it makes the brief once, one PDF per language of ``brief_languages``, and queues one
mail per recipient of ``brief_recipients`` through the outbox, where delivery is retried
like any other mail. Once per week and recipient is kept by ``services/brief_mailings.py``.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from civicpulse.domain.roles import SYSTEM
from civicpulse.domain.weeks import IsoWeek
from civicpulse.reports.brief_document import BriefRenderer, filename
from civicpulse.services.brief import Brief, leader_brief
from civicpulse.services.brief_mailings import briefs_due, queue_brief
from civicpulse.services.outbox import MailAttachment

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


def week_to_mail(ctx: Context) -> IsoWeek | None:
    """The week whose brief is due now: last week, once Monday's send hour has passed."""
    s = ctx.settings
    zone = ZoneInfo(s.timezone)
    local_now = ctx.now().astimezone(zone)
    this_week = IsoWeek.of(local_now.date())
    if local_now < datetime.combine(this_week.monday, time(s.brief_send_hour), zone):
        return None
    return this_week.shifted(-1)


def mail_weekly_brief(ctx: Context, renderer: BriefRenderer | None = None) -> int:
    """Queue the brief of the week just ended for every recipient who has not had it yet;
    how many mails this call queued (0 when none is due or another process was first)."""
    recipients = ctx.settings.brief_recipient_list
    if not recipients:
        return 0
    week = week_to_mail(ctx)
    if week is None:
        return 0
    due = briefs_due(ctx, week, recipients)
    if not due:
        return 0
    brief = leader_brief(ctx, SYSTEM, week)
    renderer = renderer or BriefRenderer()
    languages = ctx.settings.brief_language_list
    attachments = [
        MailAttachment(filename(brief, lang, "pdf"), "application/pdf", renderer.pdf(brief, lang))
        for lang in languages
    ]
    subject, body = mail_text(renderer, brief, languages, ctx.settings.public_base_url)
    return queue_brief(ctx, week, due, subject, body, attachments)


def mail_text(
    renderer: BriefRenderer, brief: Brief, languages: list[str], base_url: str
) -> tuple[str, str]:
    """The subject (in the first language) and a short body in each language: what is
    attached, the week's headline figures and where to read the brief online."""
    link = f"{base_url.rstrip('/')}/staff/brief?week={brief.week}"
    h = brief.headline
    parts = []
    for lang in languages:
        _ = renderer.translations[lang].gettext
        parts.append("\n".join([
            _("The leader's brief of %(week)s (%(start)s – %(end)s) is attached as PDF.") % {
                "week": brief.week, "start": brief.week.monday.isoformat(),
                "end": brief.week.sunday.isoformat(),
            },
            "",
            _("Voices: %(voices)s · new cases: %(cases)s · overdue: %(overdue)s · "
              "residents said not fixed: %(not_fixed)s") % {
                "voices": h.voices, "cases": h.new_cases, "overdue": h.overdue,
                "not_fixed": h.not_fixed,
            },
            "",
            _("Read it online (staff login): %(link)s") % {"link": link},
        ]))
    subject = renderer.translations[languages[0]].gettext("Leader's brief %(week)s") % {
        "week": brief.week
    }
    return subject, "\n\n* * *\n\n".join(parts) + "\n"
