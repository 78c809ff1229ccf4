"""Rankings from the tallies: correct counts, order, shares; cached; refreshed after votes."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from movievote.config import get_settings
from movievote.errors import InvalidInput
from movievote.periods import current_period
from movievote.root import get_root
from movievote.services import ranking, ranking_cache, tallies
from movievote.services.observer import RankingChange
from tests.conftest import cast_vote

NOV = date(2026, 11, 1)


def at(day: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, 12, minute, tzinfo=UTC)


async def _vote_all(make_user, plan: list[tuple[int, datetime]]) -> None:
    for movie_id, when in plan:
        user = await make_user()
        await cast_vote(user_id=user.id, movie_id=movie_id, now=when)


async def test_month_ranking_counts_orders_and_shares(db, movies, make_user):
    godfather, spirited, parasite, city, amelie = movies
    await _vote_all(
        make_user,
        [
            (parasite, at(1)),
            (parasite, at(2)),
            (parasite, at(3)),
            (spirited, at(1, 5)),
            (godfather, at(1, 1)),  # tie at 1 vote: godfather reached it first
            (spirited, at(4)),
        ],
    )
    await get_root().subject.settle()
    board = await ranking.compute_ranking(NOV, db=db)
    assert board.period == "2026-11"
    assert board.total_votes == 6
    assert [(e.rank, e.movie.id, e.votes) for e in board.items] == [
        (1, parasite, 3),
        (2, spirited, 2),
        (3, godfather, 1),
    ]
    assert board.items[0].share == pytest.approx(0.5)
    assert board.items[0].movie.genres == ["Comedy", "Drama", "Thriller"]
    assert city not in [e.movie.id for e in board.items] and amelie


async def test_tie_break_is_who_reached_the_count_first_then_movie_id(db, movies, make_user):
    a, b, c = movies[:3]
    await _vote_all(make_user, [(c, at(1)), (b, at(2)), (a, at(3)), (b, at(4)), (c, at(5))])
    await get_root().subject.settle()
    board = await ranking.compute_ranking(NOV, db=db)
    # b and c both have 2 votes; b reached 2 at day 4, c at day 5
    assert [(e.movie.id, e.votes) for e in board.items] == [(b, 2), (c, 2), (a, 1)]


async def test_all_time_ranking_spans_months(db, movies, make_user):
    a, b = movies[:2]
    for month in (9, 10, 11):
        user = await make_user()
        await cast_vote(user_id=user.id, movie_id=a, now=datetime(2026, month, 10, tzinfo=UTC))
        await cast_vote(
            user_id=(await make_user()).id, movie_id=b, now=datetime(2026, month, 11, tzinfo=UTC)
        )
        await cast_vote(
            user_id=user.id, movie_id=a, now=datetime(2026, month + 1, 2, tzinfo=UTC)
        ) if month == 11 else None
    await get_root().subject.settle()
    board = await ranking.compute_ranking("all", db=db)
    assert board.period == "all"
    assert board.total_votes == 7
    assert [(e.movie.id, e.votes) for e in board.items] == [(a, 4), (b, 3)]
    december = await ranking.compute_ranking(date(2026, 12, 1), db=db)
    assert [(e.movie.id, e.votes, e.share) for e in december.items] == [(a, 1, 1.0)]


async def test_tallies_equal_a_group_by_over_the_votes(db, movies, make_user):
    plan = [(movies[i % 5], at(1 + i % 20, i % 60)) for i in range(60)]
    await asyncio.gather(*(_vote_all(make_user, plan[i::6]) for i in range(6)))
    await get_root().subject.settle()
    await tallies.fold_vote_deltas(db=db)
    async with db.engine.connect() as conn:
        truth = dict(
            (m, n)
            for m, n in await conn.execute(
                sa.text("SELECT movie_id, count(*) FROM votes GROUP BY movie_id")
            )
        )
        tally = dict(
            (m, n)
            for m, n in await conn.execute(sa.text("SELECT movie_id, votes FROM monthly_tallies"))
        )
        pending = await conn.scalar(sa.text("SELECT count(*) FROM vote_deltas"))
    assert pending == 0
    assert tally == truth
    before = await ranking.compute_ranking(NOV, db=db)
    await tallies.rebuild_tallies(db=db)
    after = await ranking.compute_ranking(NOV, db=db)
    assert [(e.movie.id, e.votes, e.rank) for e in after.items] == [
        (e.movie.id, e.votes, e.rank) for e in before.items
    ]


async def test_votes_written_by_any_client_reach_the_tallies(db, movies, make_user):
    """The trigger lives in the database: a vote inserted with plain SQL is counted too."""
    user = await make_user()
    async with db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO votes (user_id, movie_id, period, created_at) VALUES (:u, :m, :p, :t)"
            ),
            {"u": user.id, "m": movies[3], "p": NOV, "t": at(5)},
        )
    change = await get_root().subject.refresh()
    assert change == RankingChange(periods=frozenset({NOV}))
    board = await ranking.compute_ranking(NOV, db=db)
    assert [(e.movie.id, e.votes) for e in board.items] == [(movies[3], 1)]


async def test_deleting_a_user_takes_their_votes_out_of_the_tallies(db, movies, make_user):
    users = [await make_user() for _ in range(3)]
    for u in users:
        await cast_vote(user_id=u.id, movie_id=movies[0], now=at(3))
    await get_root().subject.settle()
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": users[0].id})
    await tallies.fold_vote_deltas(db=db)
    board = await ranking.compute_ranking(NOV, db=db)
    assert (board.total_votes, board.items[0].votes) == (2, 2)


async def test_cache_serves_within_ttl_and_recomputes_after(db, movies, make_user):
    clock = [1000.0]
    cache = ranking_cache.RankingCache(ttl_seconds=300, max_entries=256, db=db)
    cache.entries.clock = lambda: clock[0]
    user = await make_user()
    first = await cache.get(NOV)
    assert first.total_votes == 0 and cache.entries.computations == 1
    async with db.transaction() as conn:  # a vote the cache is not told about
        await conn.execute(
            sa.text(
                "INSERT INTO votes (user_id, movie_id, period, created_at) VALUES (:u, :m, :p, :t)"
            ),
            {"u": user.id, "m": movies[0], "p": NOV, "t": at(1)},
        )
    await tallies.fold_vote_deltas(db=db)
    clock[0] += 299
    assert (await cache.get(NOV)).total_votes == 0  # still the cached answer
    clock[0] += 2
    assert (await cache.get(NOV)).total_votes == 1  # 5 minutes passed: recomputed
    assert cache.entries.computations == 2


async def test_every_reader_sees_a_committed_vote_within_one_second(db, movies, make_user):
    now = datetime.now(UTC)
    before = await ranking_cache.ranking_for(
        cache=get_root().cache, zone=get_settings().zone
    )  # warms the cache for the current month
    assert before.total_votes == 0
    await ranking_cache.ranking_for("all", cache=get_root().cache, zone=get_settings().zone)
    user = await make_user()
    await cast_vote(user_id=user.id, movie_id=movies[2], now=now)
    started = time.monotonic()
    while (
        await ranking_cache.ranking_for(cache=get_root().cache, zone=get_settings().zone)
    ).total_votes != 1:
        assert time.monotonic() - started < 1.0, "the cached ranking lagged the vote by over 1 s"
        await asyncio.sleep(0.01)
    assert (
        await ranking_cache.ranking_for("all", cache=get_root().cache, zone=get_settings().zone)
    ).items[0].movie.id == movies[2]


async def test_a_lone_vote_is_announced_without_waiting_for_the_window(db, movies, make_user):
    subject = get_root().subject
    subject.delay_seconds = 5.0  # a window no live update could wait out unnoticed
    user = await make_user()
    await subject.settle()
    refreshes_before = subject.refreshes
    started = time.monotonic()
    await cast_vote(user_id=user.id, movie_id=movies[1])
    await subject.settle()
    assert time.monotonic() - started < 2.5, "the first vote after a quiet spell waited"
    assert subject.refreshes - refreshes_before == 1
    assert (
        await ranking_cache.ranking_for(cache=get_root().cache, zone=get_settings().zone)
    ).total_votes == 1


async def test_a_burst_of_votes_is_coalesced_into_one_refresh_per_window(db, movies, make_user):
    subject = get_root().subject
    subject.delay_seconds = 1.0  # a burst shorter than the window
    cache = get_root().cache
    await ranking_cache.ranking_for(cache=get_root().cache, zone=get_settings().zone)
    await subject.settle()
    refreshes_before, computed_before = subject.refreshes, cache.entries.computations
    users = [await make_user() for _ in range(50)]
    started = time.monotonic()
    await asyncio.gather(*(cast_vote(user_id=u.id, movie_id=movies[1]) for u in users))
    assert time.monotonic() - started < 1.0, (
        "the burst outlasted the window; the test means nothing"
    )
    await subject.settle()
    # the first vote's refresh at once, then one for everything that arrived during the window
    assert subject.refreshes - refreshes_before <= 2
    assert cache.entries.computations - computed_before <= 2  # the month; all time not cached
    assert time.monotonic() - started >= 1.0, "the votes after the first were not held back"
    assert (
        await ranking_cache.ranking_for(cache=get_root().cache, zone=get_settings().zone)
    ).items[0].votes == 50


async def test_observers_subscribe_and_unsubscribe(db, movies, make_user):
    subject = get_root().subject
    seen: list[RankingChange] = []

    class Screen:
        async def ranking_changed(self, change: RankingChange) -> None:
            seen.append(change)

    screen = Screen()
    subject.subscribe(screen)
    assert subject.observers == (
        get_root().cache,
        get_root().broadcast,
        screen,
    )
    await cast_vote(user_id=(await make_user()).id, movie_id=movies[0], now=at(2))
    await subject.settle()
    assert seen == [RankingChange(periods=frozenset({NOV}))]
    subject.unsubscribe(screen)
    await cast_vote(user_id=(await make_user()).id, movie_id=movies[0], now=at(3))
    await subject.settle()
    assert len(seen) == 1


async def test_a_failing_observer_does_not_stop_the_others(db, movies, make_user):
    subject = get_root().subject
    seen = []

    class Broken:
        async def ranking_changed(self, change):
            raise RuntimeError("screen fell over")

    class Fine:
        async def ranking_changed(self, change):
            seen.append(change)

    subject.subscribe(Broken())
    subject.subscribe(Fine())
    await cast_vote(user_id=(await make_user()).id, movie_id=movies[0], now=at(2))
    await subject.settle()
    assert len(seen) == 1


async def test_announcements_run_one_at_a_time_so_the_newest_reading_wins(db, movies, make_user):
    """The subject's refresh, its periodic fold and the change listener can announce at once;
    an older cache computation must never be stored after a newer one."""
    subject = get_root().subject
    cache = get_root().cache
    now = current_period(get_settings().zone)
    await ranking_cache.ranking_for(
        None, cache=get_root().cache, zone=get_settings().zone
    )  # cached
    running, overlaps = 0, 0

    class SlowScreen:
        async def ranking_changed(self, change: RankingChange) -> None:
            nonlocal running, overlaps
            running += 1
            overlaps += running > 1
            await asyncio.sleep(0.05)
            running -= 1

    subject.subscribe(SlowScreen())
    first = asyncio.create_task(subject.announce({now}))  # reads before the vote
    await asyncio.sleep(0)
    await cast_vote(user_id=(await make_user()).id, movie_id=movies[0])
    second = asyncio.create_task(subject.announce({now}))  # reads after it
    await asyncio.gather(first, second)
    await subject.settle()
    assert overlaps == 0
    assert (await cache.get(now)).total_votes == 1


async def test_limit_is_bounded_and_cuts_the_cached_list(db, movies, make_user):
    await _vote_all(make_user, [(m, at(1)) for m in movies])
    await get_root().subject.settle()
    period = current_period(get_settings().zone, at(1))
    assert (
        len(
            (
                await ranking_cache.ranking_for(
                    period, limit=2, cache=get_root().cache, zone=get_settings().zone
                )
            ).items
        )
        == 2
    )
    assert (
        len(
            (
                await ranking_cache.ranking_for(
                    period, limit=10, cache=get_root().cache, zone=get_settings().zone
                )
            ).items
        )
        == 5
    )
    for bad in (0, 101):
        with pytest.raises(InvalidInput):
            await ranking_cache.ranking_for(
                period, limit=bad, cache=get_root().cache, zone=get_settings().zone
            )
    assert (
        timedelta(0)
        <= datetime.now(UTC)
        - (
            await ranking_cache.ranking_for(
                period, cache=get_root().cache, zone=get_settings().zone
            )
        ).generated_at
    )
