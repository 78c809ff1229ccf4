"""What members said about movies, as the recommendations read it: every rating (stars) and
every counted vote (voided ones left out), for training; one member's, for serving; and how
many have arrived since a training read them.

Reads only: the ratings and votes are written by services/ratings.py and services/voting.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from movievote.db import Database
from movievote.models import Movie, Rating, Vote

ratings_t = Rating.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]

CHUNK_ROWS = 5000  # rows per fetch while streaming: the event loop gets a turn between chunks


@dataclass(frozen=True)
class Watermark:
    """The newest rating and vote (by id) a training read; later ones are new to it."""

    rating_id: int = 0
    vote_id: int = 0


@dataclass
class MemberHistory:
    """One member's feedback on the movies that are listed (not hidden), and the hidden
    movies, which nothing may recommend: read together in one statement."""

    stars: dict[int, float] = field(default_factory=dict)  # movie id -> stars (0.5..5)
    voted: set[int] = field(default_factory=set)  # movie ids of their counted votes
    hidden: set[int] = field(default_factory=set)  # every hidden movie's id

    @property
    def seen(self) -> set[int]:
        return set(self.stars) | self.voted

    def __bool__(self) -> bool:
        return bool(self.stars or self.voted)


async def stream_ratings(*, db: Database) -> AsyncIterator[list[tuple[int, int, int, float]]]:
    """Every rating as (id, member, movie, stars), a chunk at a time (a server-side cursor on
    PostgreSQL), in no particular order."""
    query = sa.select(
        ratings_t.c.id, ratings_t.c.user_id, ratings_t.c.movie_id, ratings_t.c.half_stars
    )
    async with db.engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=CHUNK_ROWS))
        async for chunk in result.partitions(CHUNK_ROWS):
            yield [(r[0], r[1], r[2], r[3] / 2) for r in chunk]


async def stream_votes(*, db: Database) -> AsyncIterator[list[tuple[int, int, int]]]:
    """Every counted vote (voided ones left out) as (id, member, movie), a chunk at a time."""
    query = sa.select(votes_t.c.id, votes_t.c.user_id, votes_t.c.movie_id).where(
        votes_t.c.voided_at.is_(None)
    )
    async with db.engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=CHUNK_ROWS))
        async for chunk in result.partitions(CHUNK_ROWS):
            yield [(r[0], r[1], r[2]) for r in chunk]


async def arrived_since(watermark: Watermark, *, db: Database) -> int:
    """How many ratings and votes were given after the watermark: two range scans of the
    primary keys, as long as what arrived. A rating changed in place or taken back, and a
    void, are not counted (the next training reads them all the same)."""
    new_ratings = sa.select(sa.func.count()).where(ratings_t.c.id > watermark.rating_id)
    new_votes = sa.select(sa.func.count()).where(votes_t.c.id > watermark.vote_id)
    async with db.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(new_ratings.scalar_subquery() + new_votes.scalar_subquery())
        )
    return int(found or 0)


def _history_query(user_id: int) -> sa.CompoundSelect:
    listed = movies_t.c.hidden_at.is_(None)
    rated = (
        sa.select(
            sa.literal("r").label("kind"),
            ratings_t.c.movie_id.label("movie_id"),
            ratings_t.c.half_stars.label("half_stars"),
        )
        .select_from(ratings_t.join(movies_t, movies_t.c.id == ratings_t.c.movie_id))
        .where(ratings_t.c.user_id == user_id, listed)
    )
    voted = (
        sa.select(sa.literal("v"), votes_t.c.movie_id, sa.null())
        .select_from(votes_t.join(movies_t, movies_t.c.id == votes_t.c.movie_id))
        .where(votes_t.c.user_id == user_id, votes_t.c.voided_at.is_(None), listed)
    )
    hidden = sa.select(sa.literal("h"), movies_t.c.id, sa.null()).where(
        movies_t.c.hidden_at.is_not(None)
    )
    return sa.union_all(rated, voted, hidden)


async def history_of(*, user_id: int, db: Database) -> MemberHistory:
    """The member's ratings and counted votes of listed movies, as they are now (a rating
    given a second ago included), and the hidden movies: one statement, index lookups of the
    member's rows (ratings' and votes' unique keys start with the member)."""
    history = MemberHistory()
    async with db.engine.connect() as conn:
        for kind, movie_id, half_stars in await conn.execute(_history_query(user_id)):
            if kind == "r":
                history.stars[movie_id] = half_stars / 2
            elif kind == "v":
                history.voted.add(movie_id)
            else:
                history.hidden.add(movie_id)
    return history


async def hidden_movies(*, db: Database) -> set[int]:
    """The ids of the movies an admin hid."""
    async with db.engine.connect() as conn:
        return set(
            await conn.scalars(sa.select(movies_t.c.id).where(movies_t.c.hidden_at.is_not(None)))
        )
