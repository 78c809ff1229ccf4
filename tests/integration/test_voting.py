"""cast_vote: once per calendar month in the vote time zone, enforced by the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from movievote.config import Settings, get_settings
from movievote.errors import AlreadyVoted, MovieNotFound, UserNotFound
from movievote.periods import current_period
from movievote.services import voting
from tests.conftest import cast_vote


async def _count(db, sql: str, **params) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(sa.text(sql), params) or 0)


async def test_a_vote_is_recorded_with_its_period_and_next_opening(db, movies, make_user, settings):
    user = await make_user()
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    vote = await cast_vote(user_id=user.id, movie_id=movies[0], now=now, settings=settings)
    assert vote.movie_id == movies[0]
    assert vote.period == "2026-11"
    assert vote.created_at == now
    assert vote.next_vote_at == datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC"))
    assert await _count(db, "SELECT count(*) FROM votes WHERE user_id = :u", u=user.id) == 1
    assert (
        await voting.vote_of(user_id=user.id, period=date(2026, 11, 1), db=db, settings=settings)
        == vote
    )


async def test_second_vote_in_the_month_is_refused_with_the_vote_already_cast(
    db, movies, make_user
):
    user = await make_user()
    first = await cast_vote(
        user_id=user.id, movie_id=movies[0], now=datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    )
    with pytest.raises(AlreadyVoted) as refused:
        await cast_vote(
            user_id=user.id, movie_id=movies[1], now=datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
        )
    err = refused.value
    assert err.code == "already_voted"
    assert (err.vote_id, err.movie_id, err.period) == (first.id, movies[0], date(2026, 11, 1))
    assert err.next_vote_at == datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC"))
    assert err.message == (
        "You have already voted in November 2026. Your next vote opens on December 1, 2026."
    )
    assert await _count(db, "SELECT count(*) FROM votes") == 1


async def test_the_next_month_opens_a_new_vote(db, movies, make_user):
    user = await make_user()
    await cast_vote(user_id=user.id, movie_id=movies[0], now=datetime(2026, 11, 30, tzinfo=UTC))
    december = await cast_vote(
        user_id=user.id, movie_id=movies[0], now=datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert december.period == "2026-12"


async def test_month_boundary_follows_the_vote_time_zone(db, movies, make_user, monkeypatch):
    zone = ZoneInfo("America/Sao_Paulo")  # UTC-3
    settings = Settings(vote_timezone="America/Sao_Paulo")
    user = await make_user()
    last_second = datetime(2026, 1, 31, 23, 59, 59, tzinfo=zone)  # 2026-02-01 02:59:59 UTC
    first_second = datetime(2026, 2, 1, 0, 0, 0, tzinfo=zone)
    january = await cast_vote(
        user_id=user.id, movie_id=movies[0], now=last_second, settings=settings
    )
    assert january.period == "2026-01"  # in UTC this instant is already February
    assert january.next_vote_at == first_second
    february = await cast_vote(
        user_id=user.id, movie_id=movies[1], now=first_second, settings=settings
    )
    assert february.period == "2026-02"
    with pytest.raises(AlreadyVoted):
        await cast_vote(
            user_id=user.id,
            movie_id=movies[2],
            now=datetime(2026, 2, 28, 23, 59, 59, tzinfo=zone),
            settings=settings,
        )
    # the same two instants, seen from UTC, are one month: the zone is what decides
    other = await make_user()
    await cast_vote(user_id=other.id, movie_id=movies[0], now=last_second)
    with pytest.raises(AlreadyVoted):
        await cast_vote(user_id=other.id, movie_id=movies[0], now=first_second)


async def test_unknown_movie_and_unknown_user_are_their_own_errors(db, movies, make_user):
    user = await make_user()
    with pytest.raises(MovieNotFound):
        await cast_vote(user_id=user.id, movie_id=999_999)
    with pytest.raises(UserNotFound):
        await cast_vote(user_id=999_999, movie_id=movies[0])
    assert await _count(db, "SELECT count(*) FROM votes") == 0
    # a refused vote leaves no ballot spent: the user can still vote
    assert (await cast_vote(user_id=user.id, movie_id=movies[0])).movie_id == movies[0]


async def test_100_concurrent_votes_by_one_user_record_exactly_one(db, movies, make_user):
    user = await make_user()
    results = await asyncio.gather(
        *(cast_vote(user_id=user.id, movie_id=movies[i % 5]) for i in range(100)),
        return_exceptions=True,
    )
    cast = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AlreadyVoted)]
    assert len(cast) == 1, [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, AlreadyVoted)
    ][:3]
    assert len(refused) == 99
    assert {r.vote_id for r in refused} == {cast[0].id}
    assert await _count(db, "SELECT count(*) FROM votes WHERE user_id = :u", u=user.id) == 1
    assert (
        await _count(db, "SELECT count(*) FROM vote_deltas")
        + await _count(db, "SELECT coalesce(sum(votes), 0) FROM period_totals")
        == 1
    )


async def test_the_database_itself_refuses_a_second_vote(db, movies, make_user):
    user = await make_user()
    await cast_vote(user_id=user.id, movie_id=movies[0])
    period = current_period(get_settings().zone)
    with pytest.raises(sa.exc.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO votes (user_id, movie_id, period, created_at) "
                    "VALUES (:u, :m, :p, :t)"
                ),
                {"u": user.id, "m": movies[1], "p": period, "t": datetime.now(UTC)},
            )
