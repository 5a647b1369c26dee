"""Outbound mail transports: SMTP when configured, otherwise a local spool file.

The spool keeps the embedded default self-contained: a city trying CivicPulse on a laptop
sees every message it would have sent, one JSON object a line.
"""

from __future__ import annotations

import json
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from civicpulse.settings import Settings


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, recipient: str, subject: str, body: str) -> str:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.mail_from
        msg["To"] = recipient
        msg["Subject"] = subject
        msg.set_content(body)
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

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, recipient: str, subject: str, body: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "to": recipient,
                "subject": subject,
                "body": body,
            },
            ensure_ascii=False,
        )
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
        return f"written to {self.path}"


def transport_for(settings: Settings) -> SmtpTransport | SpoolTransport:
    """SMTP if a host is set, else the spool file in the data directory."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return SpoolTransport(settings.mail_spool_path)
