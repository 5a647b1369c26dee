"""The outbox: notifications are rows written with the change, delivered after commit.

Nothing is sent for a change that rolled back, and nothing is lost if the process dies
between commit and delivery: the next delivery run finds the row still pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civicpulse.infra.context import Context
from civicpulse.storage.tables import OutboxAttachment, OutboxDelivery, OutboxMessage


@dataclass(frozen=True)
class MailAttachment:
    """A file sent with a message, e.g. the leader's brief as PDF."""

    filename: str
    content_type: str  # "application/pdf"
    data: bytes


class Transport(Protocol):
    """Where delivery happens; the adapters live in ``channels.mail``.

    A message without attachments is sent as ``send(recipient, subject, body)``, so a
    transport that never carries files needs no fourth parameter."""

    name: str

    def send(
        self,
        recipient: str,
        subject: str,
        body: str,
        attachments: Sequence[MailAttachment] = (),
    ) -> str:
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
    attachments: Sequence[MailAttachment] = (),
) -> int:
    """Queue one e-mail (and its attachments) inside the caller's transaction; its id."""
    conn = session.connection()
    result = conn.execute(
        insert(OutboxMessage).values(
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
    key = result.inserted_primary_key
    assert key is not None
    message_id = int(key[0])
    for a in attachments:
        conn.execute(
            insert(OutboxAttachment).values(
                message_id=message_id,
                filename=a.filename,
                content_type=a.content_type,
                data=a.data,
            )
        )
    return message_id


def backoff(base_seconds: float, attempts: int) -> timedelta:
    """Delay before the next try: base, 2×base, 4×base... capped at one day."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 86_400))


#: how long a claimed message is reserved for the worker sending it; after that (a crash
#: mid-send) another pass may try again, so delivery is at-least-once, never lost
CLAIM_SECONDS = 300


def deliver_pending(ctx: Context, transport: Transport, limit: int = 100) -> tuple[int, int]:
    """Try every due message once; returns (sent, failed attempts).

    Each message is claimed in a short transaction, sent with no transaction open (a slow
    mail server must not hold the database's write lock), then settled in another short
    transaction that records the attempt whatever its outcome.
    """
    now = ctx.now()
    with ctx.db.reader() as session:
        due = session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_(("pending", "sending")),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    sent = failed = 0
    for message_id in due:
        claimed = _claim(ctx, message_id)
        if claimed is None:
            continue  # another worker took it
        recipient, subject, body, attempt, attachments = claimed
        try:
            if attachments:
                detail = transport.send(recipient, subject, body, attachments)
            else:
                detail = transport.send(recipient, subject, body)
            ok = True
        except Exception as exc:  # any transport failure is recorded and retried
            detail = f"{type(exc).__name__}: {exc}"
            ok = False
        _settle(ctx, message_id, attempt, transport.name, ok, detail)
        if ok:
            sent += 1
        else:
            failed += 1
    return sent, failed


def _claim(
    ctx: Context, message_id: int
) -> tuple[str, str, str, int, list[MailAttachment]] | None:
    now = ctx.now()
    with ctx.db.transaction() as session:
        msg = session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status.in_(("pending", "sending")),
                OutboxMessage.next_attempt_at <= now,
            )
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if msg is None:
            return None
        msg.attempts += 1
        msg.status = "sending"
        msg.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        attachments = [
            MailAttachment(a.filename, a.content_type, a.data)
            for a in session.scalars(
                select(OutboxAttachment)
                .where(OutboxAttachment.message_id == message_id)
                .order_by(OutboxAttachment.id)
            )
        ]
        return msg.recipient, msg.subject, msg.body, msg.attempts, attachments


def _settle(
    ctx: Context, message_id: int, attempt: int, transport: str, ok: bool, detail: str
) -> None:
    now = ctx.now()
    with ctx.db.transaction() as session:
        msg = session.get(OutboxMessage, message_id)
        assert msg is not None
        session.add(
            OutboxDelivery(
                message_id=message_id,
                attempt=attempt,
                transport=transport,
                ok=ok,
                detail=detail[:2000],
                at=now,
            )
        )
        if ok:
            msg.status = "sent"
            msg.sent_at = now
        elif attempt >= ctx.settings.outbox_max_attempts:
            msg.status = "failed"
        else:
            msg.status = "pending"
            msg.next_attempt_at = now + backoff(ctx.settings.outbox_backoff_seconds, attempt)
