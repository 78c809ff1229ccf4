"""Telling every member a month's result: "The movie of November 2026 is ...", in each
member's language and channel, in batches through the notification dispatcher (one INSERT for
the in-app notes of a batch, batched deliveries for email and SMS), resumable if the process
doing it stops half-way."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.models import MonthRanking, MonthResult, MovieTranslation, Notification, User
from movievote.periods import format_period
from movievote.services.dispatcher import NotificationDispatcher
from movievote.services.messages import month_result_payload
from movievote.services.notifications import Contact

logger = logging.getLogger("movievote.results")

MEMBER_BATCH = 1000  # members told per batch
NOTIFY_LEASE = timedelta(minutes=5)  # a teller that stops renewing it is presumed gone
RESULT_KIND = "month_result"  # the notification's kind
# a month published later than this after it was due is not announced (it is old news)
ANNOUNCE_WITHIN = timedelta(days=7)

results_t = MonthResult.__table__  # type: ignore[attr-defined]
rankings_t = MonthRanking.__table__  # type: ignore[attr-defined]
translations_t = MovieTranslation.__table__  # type: ignore[attr-defined]
users_t = User.__table__  # type: ignore[attr-defined]
notifications_t = Notification.__table__  # type: ignore[attr-defined]


async def _claim(conn: AsyncConnection, period: date, at: datetime) -> bool:
    """Take (or renew) the lease on telling a month's members."""
    found = await conn.scalar(
        sa.update(results_t)
        .where(
            results_t.c.period == period,
            results_t.c.notified_at.is_(None),
            sa.or_(
                results_t.c.notifying_since.is_(None),
                results_t.c.notifying_since < at - NOTIFY_LEASE,
            ),
        )
        .values(notifying_since=at)
        .returning(results_t.c.period)
    )
    return found is not None


def _members(after: int) -> sa.Select[tuple[Any, ...]]:
    """The next members who are not blocked, by id."""
    return (
        sa.select(
            users_t.c.id,
            users_t.c.email,
            users_t.c.phone,
            users_t.c.notification_channel,
            users_t.c.language,
            users_t.c.email_verified_at,
        )
        .where(users_t.c.id > after, users_t.c.blocked_at.is_(None))
        .order_by(users_t.c.id)
        .limit(MEMBER_BATCH)
    )


async def _told(conn: AsyncConnection, month: str, user_ids: list[int]) -> set[int]:
    """Which of these members were told this month's result already (a resumed announcement
    skips them): one look-up by user id for the batch. (A NOT EXISTS in the members' query
    let PostgreSQL plan an anti-join over every notification, quadratic.)"""
    return set(
        await conn.scalars(
            sa.select(notifications_t.c.user_id).where(
                notifications_t.c.user_id.in_(user_ids),
                notifications_t.c.kind == RESULT_KIND,
                notifications_t.c.payload["period"].as_string() == month,
            )
        )
    )


def _contact(row: Any, settings: Settings) -> Contact:
    channel = row.notification_channel or settings.notify_default_channel
    if (
        channel == "email"
        and row.email_verified_at is None
        and settings.email_verification == "required"
    ):
        channel = "in_app"  # never mail an address nobody has confirmed
    return Contact(
        id=row.id,
        email=row.email,
        phone=row.phone,
        notification_channel=channel,
        language=row.language,
    )


async def announce_result(
    *,
    period: date,
    now: datetime,
    lease_held: bool = False,
    settings: Settings,
    db: Database,
    dispatcher: NotificationDispatcher,
) -> int:
    """Tell every member who is not blocked "The movie of <month> is <title>", in their
    language and channel, MEMBER_BATCH members per batch (`dispatcher.announce`: one INSERT
    for the in-app ones, batched deliveries for the others). Resumable: it holds a lease it
    renews after each batch, and skips members already told. How many were told."""
    month = format_period(period)
    started = time.monotonic()

    def at() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    async with db.autocommit() as conn:
        if not lease_held and not await _claim(conn, period, at()):
            return 0
        result = (
            await conn.execute(sa.select(results_t).where(results_t.c.period == period))
        ).first()
        winner = (
            await conn.execute(
                sa.select(rankings_t.c.movie_id, rankings_t.c.title, rankings_t.c.votes).where(
                    rankings_t.c.period == period, rankings_t.c.rank == 1
                )
            )
        ).first()
        translated: dict[str, str] = (
            dict(
                (
                    await conn.execute(
                        sa.select(translations_t.c.language, translations_t.c.title).where(
                            translations_t.c.movie_id == winner.movie_id
                        )
                    )
                ).all()
            )
            if winner is not None
            else {}
        )
    told = 0
    if result is not None and winner is not None:
        payload = month_result_payload(
            period=month,
            movie_id=winner.movie_id,
            movie_title=winner.title,
            translated=translated,
            votes=winner.votes,
            total_votes=result.total_votes,
            url=f"{settings.public_url.rstrip('/')}/results/{month}"
            if settings.public_url
            else None,
        )
        after = 0
        while True:
            async with db.engine.connect() as conn:
                rows = (await conn.execute(_members(after))).all()
                if not rows:
                    break
                skip = await _told(conn, month, [row.id for row in rows])
            contacts = [_contact(row, settings) for row in rows if row.id not in skip]
            if contacts:
                await dispatcher.announce(kind=RESULT_KIND, payload=payload, contacts=contacts)
            told += len(contacts)
            after = rows[-1].id
            async with db.autocommit() as conn:
                await conn.execute(
                    sa.update(results_t)
                    .where(results_t.c.period == period)
                    .values(notifying_since=at())
                )
    async with db.autocommit() as conn:
        await conn.execute(
            sa.update(results_t).where(results_t.c.period == period).values(notified_at=at())
        )
    if told:
        logger.info("told %d members the result of %s", told, month)
    return told


async def close_announcement(*, period: date, now: datetime, db: Database) -> None:
    """Record that a month's members will not be told (nothing left to do for it)."""
    async with db.autocommit() as conn:
        await conn.execute(
            sa.update(results_t).where(results_t.c.period == period).values(notified_at=now)
        )


async def resume_announcements(
    *,
    now: datetime,
    settings: Settings,
    db: Database,
    dispatcher: NotificationDispatcher,
) -> int:
    """Finish telling the members of months whose publisher stopped before it was done (its
    lease ran out); how many members this told."""
    async with db.engine.connect() as conn:
        stale = list(
            await conn.scalars(
                sa.select(results_t.c.period).where(
                    results_t.c.notified_at.is_(None),
                    sa.or_(
                        results_t.c.notifying_since.is_(None),
                        results_t.c.notifying_since < now - NOTIFY_LEASE,
                    ),
                )
            )
        )
    told = 0
    for period in stale:
        told += await announce_result(
            period=period, now=now, settings=settings, db=db, dispatcher=dispatcher
        )
    return told
