"""Email through SMTP, or, in development without a mail server, a local outbox file."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from movievote.adapters.delivery import DeliveryError, Message, Recipient
from movievote.models import utcnow

logger = logging.getLogger("movievote.notifications")


class EmailNotifier:
    """Email through SMTP when NOTIFY_SMTP_URL is set (smtp://host:port). Without one: the log,
    and in development a local outbox (a JSON-lines file the /dev/outbox page shows), so a new
    user of the zero-setup app can follow their verification link."""

    channel = "email"

    def __init__(self, *, smtp_url: str, sender: str, outbox: Path | None = None) -> None:
        self.smtp_url = smtp_url
        self.sender = sender
        self.outbox = outbox

    async def send(self, *, user: Recipient, message: Message) -> None:
        if not self.smtp_url:
            if self.outbox is None:  # production without a mail server: never log links
                logger.info(
                    "email (not sent: no NOTIFY_SMTP_URL) to %s: %s", user.email, message.subject
                )
                return
            logger.info(
                "email (development outbox) to %s: %s | %s",
                user.email,
                message.subject,
                message.body,
            )
            await asyncio.to_thread(self._append_to_outbox, user.email, message)
            return
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, user.email, message.subject
        mail.set_content(message.body)
        await asyncio.to_thread(self._send_sync, mail)
        where = urlsplit(self.smtp_url).hostname  # never the credentials the URL may hold
        logger.info("email sent to %s via %s: %s", user.email, where, message.subject)

    def _append_to_outbox(self, to: str, message: Message) -> None:
        assert self.outbox is not None
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "at": utcnow().isoformat(),
            "to": to,
            "subject": message.subject,
            "body": message.body,
        }
        with self.outbox.open("a", encoding="utf-8") as file:
            file.write(json.dumps(entry) + "\n")

    def _send_sync(self, mail: EmailMessage) -> None:
        """smtp://[user:password@]host[:port] (STARTTLS when the server offers it, and always
        before a password is sent) or smtps://... (TLS from the start, port 465)."""
        parts = urlsplit(self.smtp_url)
        host = parts.hostname or "localhost"
        try:
            if parts.scheme == "smtps":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=5)
            else:
                smtp = smtplib.SMTP(host, parts.port or 25, timeout=5)
            with smtp:
                if parts.scheme != "smtps":
                    smtp.ehlo()
                    if smtp.has_extn("starttls"):
                        smtp.starttls()
                        smtp.ehlo()
                    elif parts.username:
                        raise DeliveryError(
                            "the mail server offers no STARTTLS: refusing to send a password "
                            "in clear text (use smtps://)",
                            permanent=True,
                        )
                if parts.username:
                    smtp.login(unquote(parts.username), unquote(parts.password or ""))
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}") from exc
