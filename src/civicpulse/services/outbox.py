"""The outbox: notifications are rows written with the change, delivered after commit.

Nothing is sent for a change that rolled back, and nothing is lost if the process dies
between commit and delivery: the next delivery run finds the row still pending.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpulse.services.context import Context
from civicpulse.storage.tables import OutboxDelivery, OutboxMessage


class Transport(Protocol):
    """Where delivery happens; the adapters live in ``channels.mail``."""

    name: str

    def send(self, recipient: str, subject: str, body: str) -> str:
        """Deliver or raise; returns a short note of what the far end said."""
        ...


def enqueue_mail(
    session: Session,
    *,
    recipient: str,
    subject: str,
    body: str,
    case_id: int | None,
    now: datetime,
) -> None:
    """Queue one e-mail inside the caller's transaction."""
    session.add(
        OutboxMessage(
            channel="email",
            recipient=recipient,
            subject=subject,
            body=body,
            case_id=case_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def backoff(base_seconds: float, attempts: int) -> timedelta:
    """Delay before the next try: base, 2×base, 4×base... capped at one day."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 86_400))


def deliver_pending(ctx: Context, transport: Transport, limit: int = 100) -> tuple[int, int]:
    """Try every due message once; returns (sent, failed attempts).

    Each message is claimed and settled in its own transaction so one bad address does not
    hold back the rest, and each attempt is recorded whatever its outcome.
    """
    now = ctx.now()
    with ctx.db.reader() as session:
        due = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    sent = failed = 0
    for message_id in due:
        with ctx.db.transaction() as session:
            msg = session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if msg is None:
                continue  # another worker took it
            msg.attempts += 1
            try:
                detail = transport.send(msg.recipient, msg.subject, msg.body)
                ok = True
            except Exception as exc:  # any transport failure is recorded and retried
                detail = f"{type(exc).__name__}: {exc}"
                ok = False
            session.add(
                OutboxDelivery(
                    message_id=msg.id,
                    attempt=msg.attempts,
                    transport=transport.name,
                    ok=ok,
                    detail=detail[:2000],
                    at=ctx.now(),
                )
            )
            if ok:
                msg.status = "sent"
                msg.sent_at = ctx.now()
                sent += 1
            else:
                failed += 1
                if msg.attempts >= ctx.settings.outbox_max_attempts:
                    msg.status = "failed"
                else:
                    msg.next_attempt_at = ctx.now() + backoff(
                        ctx.settings.outbox_backoff_seconds, msg.attempts
                    )
    return sent, failed
