"""Ranking changes folded by one process reach every other (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from functools import partial

import sqlalchemy as sa

from movievote.config import get_settings
from movievote.periods import current_period
from movievote.root import get_root
from movievote.services.changes import APPLICATION_NAME, ChangeListener, parse_payload
from movievote.services.observer import RankingChange, RankingSubject
from movievote.services.tallies import fold_vote_deltas
from tests.conftest import TEST_DATABASE_URL, cast_vote, postgres_only

pytestmark = postgres_only


class Heard:
    """An observer that keeps what it was told."""

    def __init__(self) -> None:
        self.changes: asyncio.Queue[RankingChange] = asyncio.Queue()

    async def ranking_changed(self, change: RankingChange) -> None:
        self.changes.put_nowait(change)

    async def next(self, within: float = 2.0) -> RankingChange:
        return await asyncio.wait_for(self.changes.get(), within)


async def other_process(origin: str = "B") -> tuple[ChangeListener, Heard, asyncio.Task[None]]:
    """What another serving process has: a subject with an observer, and a listener."""
    subject = RankingSubject(fold=partial(fold_vote_deltas, origin=origin, db=get_root().db))
    heard = Heard()
    subject.subscribe(heard)
    listener = ChangeListener(
        subject,
        TEST_DATABASE_URL,
        origin=origin,
        current=lambda: current_period(get_settings().zone),
        retry_seconds=0.1,
    )
    task = asyncio.create_task(listener.run())
    await asyncio.wait_for(listener.connected.wait(), 5)
    resync = await heard.next()  # on connecting, it re-reads the current month unasked
    assert resync.periods == {current_period(get_settings().zone)}
    return listener, heard, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task  # its connection is closed before the next test counts connections


async def _no_fold() -> set[date]:
    return set()


QUIET = RankingSubject(fold=_no_fold)  # votes cast here are folded by the test itself


def test_payloads_name_the_origin_and_the_months():
    assert parse_payload("web-1:42 2026-10,2026-11") == (
        "web-1:42",
        {date(2026, 10, 1), date(2026, 11, 1)},
    )


async def test_a_fold_elsewhere_is_heard_and_a_process_ignores_its_own(db, movies, make_user):
    _, heard, task = await other_process("B")
    try:
        month = current_period(get_settings().zone)
        for origin in ("B", "A"):  # its own fold first: notifications arrive in order
            user = await make_user()
            await cast_vote(user_id=user.id, movie_id=movies[0], subject=QUIET)
            assert await fold_vote_deltas(origin=origin, db=get_root().db) == {month}
        change = await heard.next()
        assert change.periods == {month}
        assert heard.changes.empty()  # B's own fold was not announced to B again
        assert (
            await fold_vote_deltas(origin="A", db=get_root().db) == set()
        )  # nothing folded: no NOTIFY
        await asyncio.sleep(0.3)
        assert heard.changes.empty()
    finally:
        await stop(task)


async def test_a_stray_notification_on_the_channel_is_ignored(db, movies, make_user):
    _, heard, task = await other_process("B")
    try:
        async with db.autocommit() as conn:
            await conn.execute(sa.text("SELECT pg_notify('movievote_ranking', 'x not-a-month')"))
        user = await make_user()
        await cast_vote(user_id=user.id, movie_id=movies[0], subject=QUIET)
        assert await fold_vote_deltas(origin="A", db=get_root().db) == {
            current_period(get_settings().zone)
        }
        assert (await heard.next()).periods == {
            current_period(get_settings().zone)
        }  # still listening
        assert not task.done()
    finally:
        await stop(task)


async def test_votes_written_by_a_sql_client_are_announced_by_the_next_fold(db, movies, make_user):
    _, heard, task = await other_process("B")
    try:
        user = await make_user()
        async with db.transaction() as conn:  # not the app: a plain INSERT, as psql would
            await conn.execute(
                sa.text(
                    "INSERT INTO votes (user_id, movie_id, period, created_at) "
                    "VALUES (:u, :m, :p, now())"
                ),
                {"u": user.id, "m": movies[1], "p": current_period(get_settings().zone)},
            )
        assert await fold_vote_deltas(origin="A", db=get_root().db) == {
            current_period(get_settings().zone)
        }
        assert (await heard.next()).periods == {current_period(get_settings().zone)}
    finally:
        await stop(task)


async def test_the_listener_reconnects_and_re_reads_the_ranking(db):
    listener, heard, task = await other_process("B")
    try:
        async with db.autocommit() as conn:
            killed = await conn.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
        assert killed == 1
        change = await heard.next(within=5)  # back, and re-reading what it may have missed
        assert change.periods == {current_period(get_settings().zone)}
        assert listener.connections == 2
    finally:
        await stop(task)
