"""Notifications: one factory makes the notifier for a channel; every delivery is recorded.

Sending is simulated unless a transport is configured (an SMTP server, an SMS HTTP gateway), but
it is real in what it leaves behind: a row per notification with its status and attempts, and a
log line per delivery. A failure is retried a bounded number of times and never touches the vote.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import smtplib
from collections.abc import Coroutine
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import select

from movievote.config import Settings, get_settings
from movievote.db import Database, get_database
from movievote.errors import InvalidInput
from movievote.models import Movie, Notification, User, VotePublic, utcnow
from movievote.periods import parse_period

logger = logging.getLogger("movievote.notifications")
T = TypeVar("T")
notifications_t = Notification.__table__  # type: ignore[attr-defined]
users_t = User.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]


class DeliveryError(Exception):
    """The channel could not deliver; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


ACCOUNT_MESSAGES = {
    "verify_email": (
        "Confirm your email address",
        "Hi, confirm your address to vote on movievote: {link} "
        "(the link works once, for {valid_for}). If you did not sign up, ignore this email.",
    ),
    "account_exists": (
        "You already have a movievote account",
        "Hi, someone (maybe you) tried to sign up with this address, which "
        "already has an account. Log in with it, or if you forgot your password set a new one: "
        "{link} (the link works once, for {valid_for}). If it was not you, ignore this email.",
    ),
    "password_reset": (
        "Reset your movievote password",
        "Hi, set a new password here: {link} (the link works once, for "
        "{valid_for}; it logs you out everywhere). If you did not ask, ignore this email.",
    ),
    "password_changed": (
        "Your movievote password was changed",
        "Hi, your password was just changed and every other session was "
        "logged out. If this was not you, reset your password at once.",
    ),
}


def render(kind: str, payload: dict[str, Any], link: str | None = None) -> Message:
    """The text of a notification of a given kind (`link`: a one-time link, never stored)."""
    if kind in ACCOUNT_MESSAGES:
        subject, body = ACCOUNT_MESSAGES[kind]
        values = {"valid_for": "", **payload, "link": link or "(link)"}
        return Message(subject=subject, body=body.format(**values))
    if kind == "vote_registered":
        subject = "Your vote is in"
        body = (
            f"You voted for {payload.get('movie_title', 'a movie')} in {payload.get('period_label', '')}."
            f" Your next vote opens on {payload.get('next_vote_label', 'the 1st of next month')}."
        )
        return Message(subject=subject, body=" ".join(body.split()))
    return Message(subject=kind.replace("_", " ").capitalize(), body=str(payload.get("text", "")))


class Recipient(Protocol):
    """Whom a notification goes to: a User row, or the few columns of one."""

    @property
    def id(self) -> int | None: ...
    @property
    def email(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def notification_channel(self) -> str: ...


@dataclass(frozen=True)
class Contact:
    id: int
    email: str
    phone: str | None
    notification_channel: str


class Notifier(Protocol):
    channel: str

    async def send(self, *, user: Recipient, message: Message) -> None: ...


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


class SmsNotifier:
    """SMS through an HTTP gateway (POST {to, body}) when configured, else to the log."""

    channel = "sms"

    def __init__(self, *, gateway_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.gateway_url = gateway_url
        self.http = http

    async def send(self, *, user: Recipient, message: Message) -> None:
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
    instant = True  # nothing leaves the process: record the row once, already sent

    async def send(self, *, user: Recipient, message: Message) -> None:
        logger.info("in-app notification for user %s: %s", user.id, message.body)


def create_notifier(
    channel: str, *, settings: Settings | None = None, http: httpx.AsyncClient | None = None
) -> Notifier:
    """The factory: the one place that knows which class serves which channel."""
    settings = settings or get_settings()
    if channel == "email":
        return EmailNotifier(
            smtp_url=settings.notify_smtp_url,
            sender=settings.notify_email_from,
            outbox=outbox_path(settings),
        )
    if channel == "sms":
        return SmsNotifier(gateway_url=settings.notify_sms_gateway_url, http=http)
    if channel == "in_app":
        return InAppNotifier()
    raise InvalidInput(f"Unknown notification channel {channel!r}.", field="channel")


def outbox_path(settings: Settings) -> Path | None:
    """Where development keeps the mail it would have sent: only with MOVIEVOTE_ENV=development,
    no mail server, and Reflex's development server (`reflex run --env prod` sets
    REFLEX_ENV_MODE=prod, and a production-mode app never keeps links where a page shows them)."""
    if settings.movievote_env != "development" or settings.notify_smtp_url:
        return None
    if os.environ.get("REFLEX_ENV_MODE", "dev") == "prod":
        return None
    return settings.data_dir / "outbox.jsonl"


def read_outbox(settings: Settings, *, limit: int = 50) -> list[dict[str, str]]:
    """The newest development mails first (empty in production)."""
    path = outbox_path(settings)
    if path is None or not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-limit:]
    return [json.loads(line) for line in reversed(lines) if line.strip()]


_in_flight: set[asyncio.Task[Any]] = set()


def run_soon(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run account mail work after the answer: the caller's answer neither waits for the
    database look-ups and the mail server nor reveals, by its time, what they found."""
    task = asyncio.get_running_loop().create_task(work)
    _in_flight.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _in_flight.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("background mail work failed", exc_info=task.exception())


def send_soon(**kwargs: Any) -> asyncio.Task[Notification]:
    """Deliver a notification (`notify`'s arguments) in the background (see `run_soon`)."""
    return run_soon(notify(**kwargs))


async def settle_in_flight() -> None:
    """Wait for the notifications `send_soon` started (tests, shutdown)."""
    while _in_flight:
        await asyncio.gather(*list(_in_flight), return_exceptions=True)


async def notify(
    *,
    user: Recipient,
    kind: str,
    payload: dict[str, Any],
    link: str | None = None,
    channel: str | None = None,
    notifier: Notifier | None = None,
    settings: Settings | None = None,
    db: Database | None = None,
) -> Notification:
    """Deliver a notification with bounded retries and record it with its outcome. Never raises
    for a delivery failure: the outcome is in the returned (and stored) row.

    A channel whose delivery is the stored row itself (in-app) is written once, already sent;
    the others are recorded as pending first, so a crash mid-delivery leaves a trace.
    """
    settings = settings or get_settings()
    db = db or get_database()
    channel = channel or user.notification_channel or settings.notify_default_channel
    notifier = notifier or create_notifier(channel, settings=settings)
    message = render(kind, payload, link)
    row: dict[str, Any] = {
        "user_id": user.id,
        "channel": channel,
        "kind": kind,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "created_at": utcnow(),
    }
    if not getattr(notifier, "instant", False):
        async with db.autocommit() as conn:
            row["id"] = await conn.scalar(
                sa.insert(notifications_t).values(row).returning(notifications_t.c.id)
            )
    status, attempts, error = await _deliver(notifier, user, message, settings)
    outcome = {
        "status": status,
        "attempts": attempts,
        "last_error": error[:500] if error else None,
        "sent_at": utcnow() if status == "sent" else None,
    }
    async with db.autocommit() as conn:
        if "id" in row:
            await conn.execute(
                sa.update(notifications_t).where(notifications_t.c.id == row["id"]).values(outcome)
            )
        else:
            row["id"] = await conn.scalar(
                sa.insert(notifications_t)
                .values({**row, **outcome})
                .returning(notifications_t.c.id)
            )
    return Notification.model_validate({**row, **outcome})


async def _deliver(
    notifier: Notifier, user: Recipient, message: Message, settings: Settings
) -> tuple[str, int, str | None]:
    """Try up to NOTIFY_MAX_ATTEMPTS times with exponential back-off: (status, attempts, error)."""
    error: str | None = None
    for attempt in range(1, settings.notify_max_attempts + 1):
        try:
            await notifier.send(user=user, message=message)
            return "sent", attempt, None
        except DeliveryError as exc:
            error = str(exc)
            logger.warning(
                "notification to user %s via %s failed (attempt %d/%d): %s",
                user.id,
                notifier.channel,
                attempt,
                settings.notify_max_attempts,
                exc,
            )
            if exc.permanent:
                return "failed", attempt, error
        except Exception as exc:  # a bug in a notifier must not escape into the vote's request
            error = f"{type(exc).__name__}: {exc}"
            logger.exception("notifier %s crashed", notifier.channel)
        if attempt < settings.notify_max_attempts:
            await asyncio.sleep(settings.notify_retry_seconds * 2 ** (attempt - 1))
    return "failed", settings.notify_max_attempts, error


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


def vote_registered_payload(vote: VotePublic, movie_title: str) -> dict[str, Any]:
    period = parse_period(vote.period)
    return {
        "vote_id": vote.id,
        "movie_id": vote.movie_id,
        "movie_title": movie_title,
        "period": vote.period,
        "period_label": f"{period:%B %Y}",
        "next_vote_at": vote.next_vote_at.isoformat(),
        "next_vote_label": f"{vote.next_vote_at.day} {vote.next_vote_at:%B %Y}",
    }


async def queue_vote_registered(*, user_id: int, vote: VotePublic) -> None:
    """Hand the "vote registered" notification to the dispatcher and return at once.

    The API's background task calls this: awaiting delivery there would hold the client's
    keep-alive connection until the notification is stored.
    """
    from movievote import bootstrap

    bootstrap.get_notification_dispatcher().submit(user_id=user_id, vote=vote)


async def vote_registered(*, user_id: int, vote: VotePublic) -> Notification | None:
    """Send the "vote registered" notification through the user's channel; returns the stored
    row (None if the account or movie went away). Run it after the response: it waits for the
    dispatcher, which handles concurrent notifications together."""
    from movievote import bootstrap

    return await bootstrap.get_notification_dispatcher().vote_registered(user_id=user_id, vote=vote)


def _consume(future: asyncio.Future[Notification | None]) -> None:
    if not future.cancelled():
        future.exception()


@dataclass
class _Job:
    user_id: int
    vote: VotePublic
    done: asyncio.Future[Notification | None]


class NotificationDispatcher:
    """Sends "vote registered" notifications in batches: whatever queued up while the previous
    batch was being written goes out together (one lookup, one insert for in-app ones), so a
    burst of votes costs a few statements rather than several per vote. Never delays a lone
    notification."""

    def __init__(self, *, settings: Settings | None = None, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db
        self._queue: list[_Job] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def submit(self, *, user_id: int, vote: VotePublic) -> asyncio.Future[Notification | None]:
        """Queue a notification; the future resolves once it is sent and stored."""
        loop = asyncio.get_running_loop()
        job = _Job(user_id, vote, loop.create_future())
        job.done.add_done_callback(_consume)  # a failure is logged by _drain, not re-raised
        self._queue.append(job)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="notifications")
        return job.done

    async def vote_registered(self, *, user_id: int, vote: VotePublic) -> Notification | None:
        return await self.submit(user_id=user_id, vote=vote)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:500], self._queue[500:]
            try:
                results = await self._send(batch)
            except Exception as exc:
                logger.exception("notification batch failed")
                for job in batch:
                    if not job.done.done():
                        job.done.set_exception(exc)
                continue
            self.batches += 1
            for job, result in zip(batch, results, strict=True):
                if not job.done.done():
                    job.done.set_result(result)

    async def _send(self, batch: list[_Job]) -> list[Notification | None]:
        settings = self.settings or get_settings()
        db = self.db or get_database()
        async with db.engine.connect() as conn:
            contacts = {
                row.id: Contact(
                    id=row.id,
                    email=row.email,
                    phone=row.phone,
                    notification_channel=row.notification_channel,
                )
                for row in await conn.execute(
                    sa.select(
                        users_t.c.id,
                        users_t.c.email,
                        users_t.c.phone,
                        users_t.c.notification_channel,
                    ).where(users_t.c.id.in_({job.user_id for job in batch}))
                )
            }
            titles = dict(
                (row.id, row.title)
                for row in await conn.execute(
                    sa.select(movies_t.c.id, movies_t.c.title).where(
                        movies_t.c.id.in_({job.vote.movie_id for job in batch})
                    )
                )
            )
        results: list[Notification | None] = [None] * len(batch)
        instant_rows: list[tuple[int, dict[str, Any]]] = []
        others: list[tuple[int, Contact, dict[str, Any]]] = []
        for index, job in enumerate(batch):
            contact = contacts.get(job.user_id)
            title = titles.get(job.vote.movie_id)
            if contact is None or title is None:
                continue
            payload = vote_registered_payload(job.vote, title)
            channel = contact.notification_channel or settings.notify_default_channel
            notifier = create_notifier(channel, settings=settings)
            if not getattr(notifier, "instant", False):
                others.append((index, contact, payload))
                continue
            status, attempts, error = await _deliver(
                notifier, contact, render("vote_registered", payload), settings
            )
            now = utcnow()
            instant_rows.append(
                (
                    index,
                    {
                        "user_id": contact.id,
                        "channel": channel,
                        "kind": "vote_registered",
                        "payload": payload,
                        "status": status,
                        "attempts": attempts,
                        "last_error": error,
                        "created_at": now,
                        "sent_at": now if status == "sent" else None,
                    },
                )
            )
        if instant_rows:
            async with db.autocommit() as conn:
                ids = (
                    (
                        await conn.execute(
                            sa.insert(notifications_t).returning(
                                notifications_t.c.id, sort_by_parameter_order=True
                            ),
                            [row for _, row in instant_rows],
                        )
                    )
                    .scalars()
                    .all()
                )
            for (index, row), new_id in zip(instant_rows, ids, strict=True):
                results[index] = Notification.model_validate({**row, "id": new_id})
        if others:
            sent = await asyncio.gather(
                *(
                    notify(
                        user=contact,
                        kind="vote_registered",
                        payload=payload,
                        settings=settings,
                        db=db,
                    )
                    for _, contact, payload in others
                )
            )
            for (index, _, _), note in zip(others, sent, strict=True):
                results[index] = note
        return results

    async def settle(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


async def mark_read(*, user_id: int, ids: list[int], db: Database | None = None) -> None:
    """Mark a user's in-app notifications as read (only theirs)."""
    if not ids:
        return
    db = db or get_database()
    async with db.autocommit() as conn:
        await conn.execute(
            sa.update(notifications_t)
            .where(notifications_t.c.user_id == user_id, notifications_t.c.id.in_(ids))
            .values(read_at=utcnow())
        )
