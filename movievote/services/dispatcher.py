"""The "vote registered" notifications, sent in batches: whatever queued up while the previous
batch was being written goes out together."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa

from movievote.config import Settings
from movievote.db import Database, pg_array, pg_instant, pg_text
from movievote.models import Movie, MovieTranslation, Notification, User, VotePublic, utcnow
from movievote.services.messages import render, vote_registered_payload
from movievote.services.notifications import (
    Contact,
    _deliver,
    create_notifier,
    notifications_t,
    notify,
    record,
)

logger = logging.getLogger("movievote.notifications")
KEEP_OUTCOMES_SECONDS = 60.0
ANNOUNCE_CONCURRENCY = 16  # deliveries of one announcement in flight at once (email, SMS)
users_t = User.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
translations_t = MovieTranslation.__table__  # type: ignore[attr-defined]


# The dispatcher's statements on PostgreSQL (see NotificationDispatcher._send_pg).
PG_CONTACTS = (
    "SELECT id, email, phone, notification_channel, language FROM users "
    "WHERE id = ANY(%(ids)s::int[])"
)
PG_TITLES = (
    "SELECT movies.id, movies.title, movie_translations.language, movie_translations.title "
    "FROM movies LEFT JOIN movie_translations ON movie_translations.movie_id = movies.id "
    "WHERE movies.id = ANY(%(ids)s::int[])"
)
PG_RECORD = """
    INSERT INTO notifications
        (user_id, channel, kind, payload, status, attempts, last_error, created_at, sent_at)
    SELECT * FROM unnest(%(user_ids)s::int[], %(channels)s::text[], %(kinds)s::text[],
        %(payloads)s::json[], %(statuses)s::text[], %(attempts)s::int[], %(errors)s::text[],
        %(created)s::timestamptz[], %(sent)s::timestamptz[])
    RETURNING id, user_id, (payload->>'vote_id')::bigint
"""


async def _record_pg(db: Database, rows: list[dict[str, Any]]) -> list[int]:
    """Store "vote registered" rows in one statement; their ids, in order (matched by member
    and vote, each row's own: the order RETURNING gives is not promised)."""
    async with db.direct("dispatcher").use() as driver:
        return await _insert_rows(driver, rows)


async def _insert_rows(
    driver: psycopg.AsyncConnection[Any], rows: list[dict[str, Any]]
) -> list[int]:
    cursor = await driver.execute(
        PG_RECORD,
        {
            "user_ids": pg_array(str(row["user_id"]) for row in rows),
            "channels": pg_array(pg_text(row["channel"]) for row in rows),
            "kinds": pg_array(pg_text(row["kind"]) for row in rows),
            "payloads": pg_array(pg_text(json.dumps(row["payload"])) for row in rows),
            "statuses": pg_array(pg_text(row["status"]) for row in rows),
            "attempts": pg_array(str(row["attempts"]) for row in rows),
            "errors": pg_array(pg_text(row["last_error"]) for row in rows),
            "created": pg_array(pg_instant(row["created_at"]) for row in rows),
            "sent": pg_array(pg_instant(row["sent_at"]) for row in rows),
        },
    )
    ids = {(user_id, vote_id): new_id for new_id, user_id, vote_id in await cursor.fetchall()}
    return [ids[(row["user_id"], row["payload"]["vote_id"])] for row in rows]


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

    def __init__(self, *, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._queue: list[_Job] = []
        self._task: asyncio.Task[None] | None = None
        self._by_vote: dict[int, asyncio.Future[Notification | None]] = {}
        self._forget: deque[tuple[float, int]] = deque()  # (when, vote id), oldest first
        self.batches = 0

    def submit(self, *, user_id: int, vote: VotePublic) -> asyncio.Future[Notification | None]:
        """Queue a notification; the future resolves once it is sent and stored."""
        loop = asyncio.get_running_loop()
        job = _Job(user_id, vote, loop.create_future())
        job.done.add_done_callback(_consume)  # a failure is logged by _drain, not re-raised
        self._queue.append(job)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="notifications")
        # kept a while for `outcome` (a page shows the stored notification), then forgotten
        # (one sweep here, not a timer per vote: thousands a second under load)
        now = loop.time()
        while self._forget and self._forget[0][0] <= now:
            _, old = self._forget.popleft()
            future = self._by_vote.get(old)
            if future is not None and future.done():
                del self._by_vote[old]
        self._by_vote[vote.id] = job.done
        self._forget.append((now + KEEP_OUTCOMES_SECONDS, vote.id))
        return job.done

    async def vote_registered(self, *, user_id: int, vote: VotePublic) -> Notification | None:
        return await self.submit(user_id=user_id, vote=vote)

    async def outcome(self, vote_id: int) -> Notification | None:
        """The stored notification of a vote submitted in this process (None if unknown)."""
        future = self._by_vote.pop(vote_id, None)
        return await asyncio.shield(future) if future is not None else None

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
        db = self.db
        if db.dialect == "postgresql":
            return await self._send_pg(batch)
        async with db.engine.connect() as conn:
            contacts = {
                row.id: Contact(
                    id=row.id,
                    email=row.email,
                    phone=row.phone,
                    notification_channel=row.notification_channel,
                    language=row.language,
                )
                for row in await conn.execute(
                    sa.select(
                        users_t.c.id,
                        users_t.c.email,
                        users_t.c.phone,
                        users_t.c.notification_channel,
                        users_t.c.language,
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
            translated: dict[int, dict[str, str]] = {}
            for found in await conn.execute(
                sa.select(
                    translations_t.c.movie_id, translations_t.c.language, translations_t.c.title
                ).where(translations_t.c.movie_id.in_({job.vote.movie_id for job in batch}))
            ):
                translated.setdefault(found.movie_id, {})[found.language] = found.title
        return await self._deliver_all(batch, contacts, titles, translated, record)

    async def _send_pg(self, batch: list[_Job]) -> list[Notification | None]:
        """The same on PostgreSQL, straight on psycopg (as the vote): statements whose text
        does not change with the batch's size (arrays, not IN lists or VALUES rows), so the
        driver parses and prepares each once, not per batch."""
        titles: dict[int, str] = {}
        translated: dict[int, dict[str, str]] = {}
        async with self.db.direct("dispatcher").use() as driver:
            users = await driver.execute(
                PG_CONTACTS, {"ids": pg_array(str(i) for i in sorted({j.user_id for j in batch}))}
            )
            contacts = {
                row[0]: Contact(
                    id=row[0],
                    email=row[1],
                    phone=row[2],
                    notification_channel=row[3],
                    language=row[4],
                )
                for row in await users.fetchall()
            }
            movies = await driver.execute(
                PG_TITLES,
                {"ids": pg_array(str(i) for i in sorted({j.vote.movie_id for j in batch}))},
            )
            for movie_id, title, language, translation in await movies.fetchall():
                titles[movie_id] = title
                if language is not None:
                    translated.setdefault(movie_id, {})[language] = translation
        return await self._deliver_all(batch, contacts, titles, translated, _record_pg)

    async def _deliver_all(
        self,
        batch: list[_Job],
        contacts: dict[int, Contact],
        titles: dict[int, str],
        translated: dict[int, dict[str, str]],
        store: Callable[[Database, list[dict[str, Any]]], Awaitable[list[int]]],
    ) -> list[Notification | None]:
        settings, db = self.settings, self.db
        notifiers: dict[str, Any] = {}
        results: list[Notification | None] = [None] * len(batch)
        instant_rows: list[tuple[int, dict[str, Any]]] = []
        others: list[tuple[int, Contact, dict[str, Any]]] = []
        for index, job in enumerate(batch):
            contact = contacts.get(job.user_id)
            title = titles.get(job.vote.movie_id)
            if contact is None or title is None:
                continue
            payload = vote_registered_payload(
                job.vote, title, translated.get(job.vote.movie_id, {})
            )
            channel = contact.notification_channel or settings.notify_default_channel
            if channel not in notifiers:
                notifiers[channel] = create_notifier(channel, settings=settings)
            notifier = notifiers[channel]
            if not getattr(notifier, "instant", False):
                others.append((index, contact, payload))
                continue
            if getattr(notifier, "quiet", False):  # in-app with its log line off: the row is all
                status, attempts, error = "sent", 1, None
            else:
                status, attempts, error = await _deliver(
                    notifier,
                    contact,
                    render("vote_registered", payload, language=contact.language or "en"),
                    settings,
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
            ids = await store(db, [row for _, row in instant_rows])
            for (index, row), new_id in zip(instant_rows, ids, strict=True):
                # rows we just wrote: built without validation (a table model's __init__ cost
                # about 70 us a row under load)
                results[index] = Notification.model_construct(**row, id=new_id)
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

    async def announce(
        self, *, kind: str, payload: dict[str, Any], contacts: Sequence[Contact]
    ) -> Counter[str]:
        """One notification (the same facts, `payload`, worded in each reader's language) to
        many members as one batch: the in-app ones stored with one INSERT; email and SMS
        recorded `pending` with one INSERT, delivered ANNOUNCE_CONCURRENCY at a time with
        `notify`'s bounded retries, and their outcomes stored with one executemany UPDATE.
        Returns how many ended in each status ("sent", "failed")."""
        settings, db = self.settings, self.db
        notifiers = {}
        texts = {}
        instant: list[dict[str, Any]] = []
        queued: list[tuple[Contact, dict[str, Any]]] = []
        now = utcnow()
        for contact in contacts:
            channel = contact.notification_channel or settings.notify_default_channel
            if channel not in notifiers:
                notifiers[channel] = create_notifier(channel, settings=settings)
            row = {
                "user_id": contact.id,
                "channel": channel,
                "kind": kind,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "last_error": None,
                "created_at": now,
                "sent_at": None,
            }
            if getattr(notifiers[channel], "instant", False):
                instant.append({**row, "status": "sent", "attempts": 1, "sent_at": now})
            else:
                queued.append((contact, row))
        outcomes: Counter[str] = Counter()
        if instant:
            await record(db, instant)
            outcomes["sent"] += len(instant)
        if not queued:
            return outcomes
        ids = await record(db, [row for _, row in queued])
        gate = asyncio.Semaphore(ANNOUNCE_CONCURRENCY)

        async def deliver(contact: Contact, row: dict[str, Any], row_id: int) -> dict[str, Any]:
            language = contact.language or "en"
            if language not in texts:
                texts[language] = render(kind, payload, language=language)
            async with gate:
                status, attempts, error = await _deliver(
                    notifiers[row["channel"]], contact, texts[language], settings
                )
            return {
                "row_id": row_id,
                "new_status": status,
                "new_attempts": attempts,
                "new_error": error[:500] if error else None,
                "new_sent_at": utcnow() if status == "sent" else None,
            }

        done = await asyncio.gather(
            *(deliver(c, row, i) for (c, row), i in zip(queued, ids, strict=True))
        )
        async with db.autocommit() as conn:
            await conn.execute(
                sa.update(notifications_t)
                .where(notifications_t.c.id == sa.bindparam("row_id"))
                .values(
                    status=sa.bindparam("new_status"),
                    attempts=sa.bindparam("new_attempts"),
                    last_error=sa.bindparam("new_error"),
                    sent_at=sa.bindparam("new_sent_at"),
                ),
                done,
            )
        outcomes.update(outcome["new_status"] for outcome in done)
        return outcomes
