"""Voting: one vote per user per calendar month (in the vote time zone), final once cast."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings, get_settings
from movievote.db import Database, get_database
from movievote.errors import AlreadyVoted, MovieNotFound, UserNotFound
from movievote.models import Movie, User, Vote, VotePublic, utcnow
from movievote.periods import format_period, next_vote_opens, period_of
from movievote.services.observer import RankingSubject

votes_t = Vote.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
users_t = User.__table__  # type: ignore[attr-defined]


def current_period(*, settings: Settings | None = None, now: datetime | None = None) -> date:
    """The period votes cast now belong to."""
    settings = settings or get_settings()
    return period_of(now or utcnow(), settings.zone)


def _public(row: sa.RowMapping, settings: Settings) -> VotePublic:
    return VotePublic(
        id=row["id"],
        movie_id=row["movie_id"],
        period=format_period(row["period"]),
        created_at=row["created_at"],
        next_vote_at=next_vote_opens(row["period"], settings.zone),
    )


async def cast_vote(
    *,
    user_id: int,
    movie_id: int,
    now: datetime | None = None,
    settings: Settings | None = None,
    db: Database | None = None,
    subject: RankingSubject | None = None,
) -> VotePublic:
    """Record the user's vote for this month.

    One statement, `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`, in autocommit: the
    unique (user_id, period) decides between concurrent requests. No row back means the user has
    voted already (AlreadyVoted), or the movie or user does not exist.
    """
    settings = settings or get_settings()
    db = db or get_database()
    instant = now or utcnow()
    period = period_of(instant, settings.zone)
    source = sa.select(
        sa.literal(user_id, sa.Integer),
        movies_t.c.id,
        sa.literal(period, sa.Date),
        sa.literal(instant, Vote.__table__.c.created_at.type),  # type: ignore[attr-defined]
    ).where(
        movies_t.c.id == movie_id,
        sa.exists().where(users_t.c.id == user_id),
    )
    statement = (
        db.insert(votes_t)
        .from_select(["user_id", "movie_id", "period", "created_at"], source)
        .on_conflict_do_nothing(index_elements=["user_id", "period"])
        .returning(votes_t.c.id, votes_t.c.movie_id, votes_t.c.period, votes_t.c.created_at)
    )
    async with db.autocommit() as conn:
        row = (await conn.execute(statement)).mappings().first()
        if row is None:
            await _raise_refusal(
                conn, user_id=user_id, movie_id=movie_id, period=period, settings=settings
            )
    assert row is not None
    if subject is None:
        from movievote import bootstrap

        subject = bootstrap.get_ranking_subject()
    subject.vote_cast(period=period)
    return _public(row, settings)


async def _raise_refusal(
    conn: AsyncConnection,
    *,
    user_id: int,
    movie_id: int,
    period: date,
    settings: Settings,
) -> None:
    existing = (
        (
            await conn.execute(
                sa.select(
                    votes_t.c.id, votes_t.c.movie_id, votes_t.c.period, votes_t.c.created_at
                ).where(votes_t.c.user_id == user_id, votes_t.c.period == period)
            )
        )
        .mappings()
        .first()
    )
    if existing is not None:
        opens = next_vote_opens(period, settings.zone)
        raise AlreadyVoted(
            f"You have already voted in {period:%B %Y}. "
            f"Your next vote opens on {opens.day} {opens:%B %Y}.",
            vote_id=existing["id"],
            movie_id=existing["movie_id"],
            period=period,
            voted_at=existing["created_at"],
            next_vote_at=opens,
        )
    if await conn.scalar(sa.select(users_t.c.id).where(users_t.c.id == user_id)) is None:
        raise UserNotFound("This account no longer exists.")
    raise MovieNotFound(f"There is no movie with id {movie_id}.")


async def vote_of(
    *,
    user_id: int,
    period: date | None = None,
    settings: Settings | None = None,
    db: Database | None = None,
) -> VotePublic | None:
    """The user's vote in a period (default: the current one), or None."""
    settings = settings or get_settings()
    db = db or get_database()
    period = period or current_period(settings=settings)
    async with db.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    sa.select(
                        votes_t.c.id, votes_t.c.movie_id, votes_t.c.period, votes_t.c.created_at
                    ).where(votes_t.c.user_id == user_id, votes_t.c.period == period)
                )
            )
            .mappings()
            .first()
        )
    return _public(row, settings) if row else None
