"""Notifications: one factory makes the notifier for a channel; every delivery is recorded.

Sending is simulated unless a transport is configured (an SMTP server, an SMS HTTP gateway), but
it is real in what it leaves behind: a row per notification with its status and attempts, and a
log line per delivery. A failure is retried a bounded number of times and never touches the vote.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import select

from movievote.config import Settings, get_settings
from movievote.db import Database, get_database
from movievote.errors import InvalidInput
from movievote.models import Notification, User, VotePublic, utcnow
from movievote.periods import parse_period

logger = logging.getLogger("movievote.notifications")
notifications_t = Notification.__table__  # type: ignore[attr-defined]


class DeliveryError(Exception):
    """The channel could not deliver; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def render(kind: str, payload: dict[str, Any]) -> Message:
    """The text of a notification of a given kind."""
    if kind == "vote_registered":
        subject = "Your vote is in"
        body = (
            f"You voted for {payload.get('movie_title', 'a movie')} in {payload.get('period_label', '')}."
            f" Your next vote opens on {payload.get('next_vote_label', 'the 1st of next month')}."
        )
        return Message(subject=subject, body=" ".join(body.split()))
    return Message(subject=kind.replace("_", " ").capitalize(), body=str(payload.get("text", "")))


class Notifier(Protocol):
    channel: str

    async def send(self, *, user: User, message: Message) -> None: ...


class EmailNotifier:
    """Email through SMTP when NOTIFY_SMTP_URL is set (smtp://host:port), else to the log."""

    channel = "email"

    def __init__(self, *, smtp_url: str, sender: str) -> None:
        self.smtp_url = smtp_url
        self.sender = sender

    async def send(self, *, user: User, message: Message) -> None:
        if not self.smtp_url:
            logger.info(
                "email (simulated) to %s: %s | %s", user.email, message.subject, message.body
            )
            return
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, user.email, message.subject
        mail.set_content(message.body)
        await asyncio.to_thread(self._send_sync, mail)
        logger.info("email sent to %s via %s: %s", user.email, self.smtp_url, message.subject)

    def _send_sync(self, mail: EmailMessage) -> None:
        parts = urlsplit(self.smtp_url)
        try:
            with smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=5) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}") from exc


class SmsNotifier:
    """SMS through an HTTP gateway (POST {to, body}) when configured, else to the log."""

    channel = "sms"

    def __init__(self, *, gateway_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.gateway_url = gateway_url
        self.http = http

    async def send(self, *, user: User, message: Message) -> None:
        if not user.phone:
            raise DeliveryError("no phone number on the account", permanent=True)
        text = f"{message.subject}: {message.body}"[:320]
        if not self.gateway_url:
            logger.info("sms (simulated) to %s: %s", user.phone, text)
            return
        try:
            if self.http is not None:
                response = await self.http.post(
                    self.gateway_url, json={"to": user.phone, "body": text}
                )
            else:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.post(
                        self.gateway_url, json={"to": user.phone, "body": text}
                    )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise DeliveryError(
                f"SMS gateway answered {response.status_code}",
                permanent=400 <= response.status_code < 500 and response.status_code != 429,
            )
        logger.info("sms sent to %s via gateway", user.phone)


class InAppNotifier:
    """In-app: the stored row is the delivery; the user's pages read it (and mark it read)."""

    channel = "in_app"

    async def send(self, *, user: User, message: Message) -> None:
        logger.info("in-app notification for user %s: %s", user.id, message.body)


def create_notifier(
    channel: str, *, settings: Settings | None = None, http: httpx.AsyncClient | None = None
) -> Notifier:
    """The factory: the one place that knows which class serves which channel."""
    settings = settings or get_settings()
    if channel == "email":
        return EmailNotifier(smtp_url=settings.notify_smtp_url, sender=settings.notify_email_from)
    if channel == "sms":
        return SmsNotifier(gateway_url=settings.notify_sms_gateway_url, http=http)
    if channel == "in_app":
        return InAppNotifier()
    raise InvalidInput(f"Unknown notification channel {channel!r}.", field="channel")


async def notify(
    *,
    user: User,
    kind: str,
    payload: dict[str, Any],
    channel: str | None = None,
    notifier: Notifier | None = None,
    settings: Settings | None = None,
    db: Database | None = None,
) -> Notification:
    """Record a notification, deliver it with bounded retries, record the outcome. Never raises
    for a delivery failure: the outcome is in the returned row."""
    settings = settings or get_settings()
    db = db or get_database()
    channel = channel or user.notification_channel or settings.notify_default_channel
    notifier = notifier or create_notifier(channel, settings=settings)
    message = render(kind, payload)
    async with db.session() as session:
        note = Notification(user_id=user.id, channel=channel, kind=kind, payload=payload)  # type: ignore[arg-type]
        session.add(note)
        await session.commit()
    status, error = "failed", None
    attempts = 0
    for attempt in range(1, settings.notify_max_attempts + 1):
        attempts = attempt
        try:
            await notifier.send(user=user, message=message)
            status, error = "sent", None
            break
        except DeliveryError as exc:
            error = str(exc)
            logger.warning(
                "notification %s to user %s via %s failed (attempt %d/%d): %s",
                note.id,
                user.id,
                channel,
                attempt,
                settings.notify_max_attempts,
                exc,
            )
            if exc.permanent:
                break
        except Exception as exc:  # a bug in a notifier must not escape into the vote's request
            error = f"{type(exc).__name__}: {exc}"
            logger.exception("notifier %s crashed", channel)
        if attempt < settings.notify_max_attempts:
            await asyncio.sleep(settings.notify_retry_seconds * 2 ** (attempt - 1))
    sent_at = utcnow() if status == "sent" else None
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(notifications_t)
            .where(notifications_t.c.id == note.id)
            .values(
                status=status, attempts=attempts, last_error=error and error[:500], sent_at=sent_at
            )
        )
    return note.model_copy(
        update={"status": status, "attempts": attempts, "last_error": error, "sent_at": sent_at}
    )


async def list_notifications(
    *, user_id: int, unread_only: bool = False, limit: int = 20, db: Database | None = None
) -> list[Notification]:
    """A user's latest notifications, newest first."""
    db = db or get_database()
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))  # type: ignore[union-attr]
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)  # type: ignore[attr-defined,union-attr]
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def vote_registered(
    *, user: User, vote: VotePublic, db: Database | None = None
) -> Notification:
    """The "vote registered" notification, through the user's channel (run after the response)."""
    from movievote.services.catalogue import get_movie

    movie = await get_movie(movie_id=vote.movie_id, db=db)
    period = parse_period(vote.period)
    payload = {
        "vote_id": vote.id,
        "movie_id": vote.movie_id,
        "movie_title": movie.title,
        "period": vote.period,
        "period_label": f"{period:%B %Y}",
        "next_vote_at": vote.next_vote_at.isoformat(),
        "next_vote_label": f"{vote.next_vote_at.day} {vote.next_vote_at:%B %Y}",
    }
    return await notify(user=user, kind="vote_registered", payload=payload, db=db)
