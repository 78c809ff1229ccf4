"""What members said about movies, as the recommendations read it: every rating (stars) and
every counted vote (voided ones left out), for training; one member's, for serving; and how
many have arrived since a training read them.

Reads only: the ratings and votes are written by services/ratings.py and services/voting.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from movievote.db import Database
from movievote.errors import MovieNotFound
from movievote.i18n import N_
from movievote.models import Movie, Rating, Vote

ratings_t = Rating.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]

CHUNK_ROWS = 20_000  # rows per statement when reading them all (the event loop runs in between)


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


def _chunk_query(table: sa.Table, columns: list[str], *conditions: Any) -> sa.Select:
    """The next `:rows` rows after id `:after`, in id order, packed into ONE string of
    comma-separated numbers (string_agg / group_concat), with their last id and count: a chunk
    costs the serving process one string, not a Python object per row, so reading a hundred
    thousand ratings does not set off the garbage collector's full passes (measured 60-80 ms
    each, several per training, when the rows came as tuples)."""
    chunk = (
        sa.select(table.c.id, *(table.c[name] for name in columns))
        .where(table.c.id > sa.bindparam("after"), *conditions)
        .order_by(table.c.id)
        .limit(sa.bindparam("rows"))
        .subquery("chunk")
    )
    row: sa.ColumnElement[str] = sa.cast(chunk.c[columns[0]], sa.String)
    for name in columns[1:]:
        row = row + "," + sa.cast(chunk.c[name], sa.String)
    return sa.select(sa.func.aggregate_strings(row, ","), sa.func.max(chunk.c.id), sa.func.count())


async def _chunks(
    query: sa.Select, width: int, *, db: Database, rows: int
) -> AsyncIterator[tuple[int, npt.NDArray[np.int64]]]:
    after = 0
    while True:
        async with db.engine.connect() as conn:  # a short statement each: no long transaction
            packed, last, count = (await conn.execute(query, {"after": after, "rows": rows})).one()
        if count:
            yield last, np.fromstring(packed, dtype=np.int64, sep=",").reshape(count, width)
        if count < rows:
            return
        after = last


_RATINGS = _chunk_query(ratings_t, ["user_id", "movie_id", "half_stars"])
_VOTES = _chunk_query(votes_t, ["user_id", "movie_id"], votes_t.c.voided_at.is_(None))


def rating_chunks(
    *, db: Database, rows: int = CHUNK_ROWS
) -> AsyncIterator[tuple[int, npt.NDArray[np.int64]]]:
    """Every rating, in id order, a chunk at a time: (the chunk's last id, an array of rows
    [member, movie, half stars])."""
    return _chunks(_RATINGS, 3, db=db, rows=rows)


def vote_chunks(
    *, db: Database, rows: int = CHUNK_ROWS
) -> AsyncIterator[tuple[int, npt.NDArray[np.int64]]]:
    """Every counted vote (voided ones left out), in id order, a chunk at a time: (the
    chunk's last id, an array of rows [member, movie])."""
    return _chunks(_VOTES, 2, db=db, rows=rows)


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


def _history_query() -> sa.CompoundSelect:
    """A member's (`:user_id`) ratings and counted votes of listed movies, and the hidden
    movies: built once (building a statement costs more than the database spends on it)."""
    user_id = sa.bindparam("user_id", type_=sa.Integer())
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


_HISTORY = _history_query()


async def history_of(*, user_id: int, db: Database) -> MemberHistory:
    """The member's ratings and counted votes of listed movies, as they are now (a rating
    given a second ago included), and the hidden movies: one statement, index lookups of the
    member's rows (ratings' and votes' unique keys start with the member)."""
    history = MemberHistory()
    async with db.engine.connect() as conn:
        for kind, movie_id, half_stars in await conn.execute(_HISTORY, {"user_id": user_id}):
            if kind == "r":
                history.stars[movie_id] = half_stars / 2
            elif kind == "v":
                history.voted.add(movie_id)
            else:
                history.hidden.add(movie_id)
    return history


_MOVIE_AND_HIDDEN = sa.select(movies_t.c.id, movies_t.c.hidden_at.is_not(None)).where(
    sa.or_(movies_t.c.id == sa.bindparam("movie_id"), movies_t.c.hidden_at.is_not(None))
)


async def hidden_movies(*, movie_id: int, db: Database) -> set[int]:
    """The ids of the movies an admin hid, read with the movie `movie_id` (one statement);
    MovieNotFound if there is no such movie."""
    found, hidden = False, set()
    async with db.engine.connect() as conn:
        for row_id, is_hidden in await conn.execute(_MOVIE_AND_HIDDEN, {"movie_id": movie_id}):
            found = found or row_id == movie_id
            if is_hidden:
                hidden.add(row_id)
    if not found:
        raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
    return hidden
