"""Notifications: one factory makes the notifier for a channel; every delivery is recorded.

Sending is simulated unless a transport is configured (an SMTP server, an SMS HTTP gateway), but
it is real in what it leaves behind: a row per notification with its status and attempts, and a
log line per delivery. A failure is retried a bounded number of times and never touches the vote.
The words are in services/messages.py, the transports in adapters/, the batched "vote
registered" sender in services/dispatcher.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from sqlmodel import select

from movievote.adapters.delivery import DeliveryError, Message, Notifier, Recipient
from movievote.adapters.email import EmailNotifier
from movievote.adapters.sms import SmsNotifier
from movievote.config import Settings
from movievote.db import Database
from movievote.errors import InvalidInput
from movievote.i18n import N_
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import Notification, utcnow
from movievote.services.messages import render

logger = logging.getLogger("movievote.notifications")
T = TypeVar("T")
notifications_t = Notification.__table__  # type: ignore[attr-defined]

__all__ = ["Contact", "DeliveryError", "EmailNotifier", "InAppNotifier", "SmsNotifier"]


@dataclass(frozen=True)
class Contact:
    id: int
    email: str
    phone: str | None
    notification_channel: str
    language: str | None = None  # the language their messages are written in (None: English)


class InAppNotifier:
    """In-app: the stored row is the delivery; the user's pages read it (and mark it read)."""

    channel = "in_app"
    instant = True  # nothing leaves the process: record the row once, already sent

    async def send(self, *, user: Recipient, message: Message) -> None:
        logger.info("in-app notification for user %s: %s", user.id, message.body)

    @property
    def quiet(self) -> bool:
        """Sending would do nothing (its log line is off): callers may skip wording it."""
        return not logger.isEnabledFor(logging.INFO)


def create_notifier(
    channel: str, *, settings: Settings, http: httpx.AsyncClient | None = None
) -> Notifier:
    """The factory: the one place that knows which class serves which channel."""
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
    raise InvalidInput(
        N_("Unknown notification channel {channel}."), field="channel", channel=repr(channel)
    )


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
    settings: Settings,
    db: Database,
) -> Notification:
    """Deliver a notification with bounded retries and record it with its outcome. Never raises
    for a delivery failure: the outcome is in the returned (and stored) row.

    A channel whose delivery is the stored row itself (in-app) is written once, already sent;
    the others are recorded as pending first, so a crash mid-delivery leaves a trace.
    """
    channel = channel or user.notification_channel or settings.notify_default_channel
    notifier = notifier or create_notifier(channel, settings=settings)
    message = render(kind, payload, link, language=user.language or DEFAULT_LANGUAGE)
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
        [row["id"]] = await record(db, [row])
    status, attempts, error = await _deliver(notifier, user, message, settings)
    outcome = {
        "status": status,
        "attempts": attempts,
        "last_error": error[:500] if error else None,
        "sent_at": utcnow() if status == "sent" else None,
    }
    if "id" in row:
        async with db.autocommit() as conn:
            await conn.execute(
                sa.update(notifications_t).where(notifications_t.c.id == row["id"]).values(outcome)
            )
    else:
        [row["id"]] = await record(db, [{**row, **outcome}])
    return Notification.model_validate({**row, **outcome})


async def record(db: Database, rows: list[dict[str, Any]]) -> list[int]:
    """Store notification rows, however many, in one statement; their ids, in order."""
    async with db.autocommit() as conn:
        result = await conn.execute(
            sa.insert(notifications_t).returning(
                notifications_t.c.id, sort_by_parameter_order=True
            ),
            rows,
        )
        return list(result.scalars().all())


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
    *, user_id: int, unread_only: bool = False, limit: int = 20, db: Database
) -> list[Notification]:
    """A user's latest notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))  # type: ignore[union-attr]
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)  # type: ignore[attr-defined,union-attr]
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def mark_read(*, user_id: int, ids: list[int], db: Database) -> None:
    """Mark a user's in-app notifications as read (only theirs)."""
    if not ids:
        return
    async with db.autocommit() as conn:
        await conn.execute(
            sa.update(notifications_t)
            .where(notifications_t.c.user_id == user_id, notifications_t.c.id.in_(ids))
            .values(read_at=utcnow())
        )
