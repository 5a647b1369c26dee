"""Outbound mail transports: SMTP when configured, otherwise a local spool file.

The spool keeps the embedded default self-contained: a city trying CivicPulse on a laptop
sees every message it would have sent, one JSON object a line. A message with attachments
(the leader's brief) is also written whole, as the ``.eml`` file SMTP would have carried,
in a folder beside the spool, and its line names that file: open it in any mail program.
"""

from __future__ import annotations

import json
import smtplib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from civicpulse.services.outbox import MailAttachment
from civicpulse.settings import Settings


def build_message(
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    attachments: Sequence[MailAttachment] = (),
) -> EmailMessage:
    """The message as sent: plain text, and a MIME multipart with one part per attachment."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content(body)
    for a in attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(
            a.data, maintype=maintype, subtype=subtype or "octet-stream", filename=a.filename
        )
    return msg


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(
        self,
        recipient: str,
        subject: str,
        body: str,
        attachments: Sequence[MailAttachment] = (),
    ) -> str:
        s = self.settings
        msg = build_message(s.mail_from, recipient, subject, body, attachments)
        assert s.smtp_host
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            refused = smtp.send_message(msg)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
        return f"accepted by {s.smtp_host}:{s.smtp_port}"


class SpoolTransport:
    name = "file"

    def __init__(self, path: Path, sender: str = "civicpulse@localhost") -> None:
        self.path = path
        self.sender = sender

    @property
    def eml_dir(self) -> Path:
        """Where whole messages with attachments go: ``outbox-mail/`` beside the spool."""
        return self.path.with_suffix("")

    def send(
        self,
        recipient: str,
        subject: str,
        body: str,
        attachments: Sequence[MailAttachment] = (),
    ) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        at = datetime.now(UTC)
        entry: dict[str, object] = {
            "at": at.isoformat(),
            "to": recipient,
            "subject": subject,
            "body": body,
        }
        if attachments:
            msg = build_message(self.sender, recipient, subject, body, attachments)
            msg["Date"] = format_datetime(at)
            msg["Message-ID"] = make_msgid(domain="civicpulse.local")
            self.eml_dir.mkdir(parents=True, exist_ok=True)
            eml = self.eml_dir / f"{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
            eml.write_bytes(msg.as_bytes())
            entry["attachments"] = [a.filename for a in attachments]
            entry["eml"] = str(eml)
        line = json.dumps(entry, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
        return f"written to {self.path}"


def transport_for(settings: Settings) -> SmtpTransport | SpoolTransport:
    """SMTP if a host is set, else the spool file in the data directory."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return SpoolTransport(settings.mail_spool_path, settings.mail_from)
