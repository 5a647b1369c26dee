"""The weekly brief in the outbox: once per ISO week and recipient, whatever runs it.

Several workers (or a worker and ``serve``'s in-process loop) reach the same Monday together.
Each recipient's mail is queued in its own transaction together with a ``brief_mailings``
row keyed by (week, recipient): the second insert of the same key fails, and its
transaction, mail and attachments included, rolls back. Nothing is sent twice, and a
recipient added to the setting later in the week still gets the week's brief once.

The PDF is made before these transactions (it takes seconds and must not hold the write
lock); a worker that loses the race has only wasted that work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civicpulse.domain.weeks import IsoWeek
from civicpulse.services.outbox import MailAttachment, enqueue_mail
from civicpulse.storage.tables import BriefMailing

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


def briefs_due(ctx: Context, week: IsoWeek, recipients: Sequence[str]) -> list[str]:
    """The recipients whose brief of ``week`` is not queued yet, in the order given."""
    if not recipients:
        return []
    with ctx.db.reader() as s:
        done = set(
            s.scalars(
                select(BriefMailing.recipient).where(
                    BriefMailing.week == str(week), BriefMailing.recipient.in_(recipients)
                )
            )
        )
    return [r for r in dict.fromkeys(recipients) if r not in done]


def queue_brief(
    ctx: Context,
    week: IsoWeek,
    recipients: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[MailAttachment],
) -> int:
    """Queue the brief for each recipient not served yet; how many this call queued."""
    queued = 0
    for recipient in recipients:
        now = ctx.now()
        try:
            with ctx.db.transaction() as s:
                message_id = enqueue_mail(
                    s, recipient=recipient, subject=subject, body=body, case_id=None, now=now,
                    attachments=attachments,
                )
                s.add(BriefMailing(week=str(week), recipient=recipient, message_id=message_id,
                                   created_at=now))
                s.flush()  # the key is checked here, inside the transaction
        except IntegrityError:
            continue  # another process queued it first; this mail rolled back with the row
        queued += 1
    return queued
