"""Ratings: a member gives a movie 0.5 to 5 stars, in half steps, with an optional review;
changeable, removable. Separate from the monthly vote.

Writes are one statement each, in autocommit: `INSERT ... SELECT ... ON CONFLICT (user_id,
movie_id) DO UPDATE RETURNING` checks the movie (there, not hidden) and the member (session
open, not blocked, address verified when required) in the same round trip, and the unique
constraint makes a rating an upsert whatever races it. The database holds the rules (half stars
1..10, a review of 1 to 1,000 characters, one rating per member and movie).

Tallies without a hot row: a trigger appends each change to `rating_deltas`, and
`fold_rating_deltas` moves them into `rating_tallies` (per movie) and `rating_totals`, coalesced
(`RatingFolder`), as the votes do (docs/architecture.md, "Ratings"). No read aggregates over
the ratings.

"Top rated" orders by a Bayesian average, kept in each tally as `score` (in stars):

    score = (C·m + sum) / (C + n)      (sum and m in half stars, halved for stars)

n ratings summing to `sum` are read as if C more ratings at the global mean m had been given,
so a movie's score starts at the mean and moves to its own average as its ratings grow: one
5-star rating gives (10·3.5 + 5) / 11 = 3.6, not 5. C is PRIOR_WEIGHT (10 ratings). m is the
mean of every rating, snapped: the scores all use the m stored in `rating_totals`, which a fold
moves to the current mean (recomputing every tally's score) once the two differ by more than
PRIOR_DRIFT (0.05 stars). So one index (score DESC, ratings DESC, movie_id) orders every movie
by the same formula.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.errors import (
    EmailNotVerified,
    InvalidInput,
    MovieHidden,
    MovieNotFound,
)
from movievote.i18n import N_, checked_language
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import (
    REVIEW_MAX_CHARACTERS,
    Movie,
    MyRating,
    MyRatingPage,
    Rating,
    RatingDelta,
    RatingPublic,
    RatingTally,
    RatingTotal,
    ReviewPage,
    ReviewPublic,
    Session,
    User,
    UTCDateTime,
    utcnow,
)
from movievote.services.accounts import check_member
from movievote.services.catalogue import in_language
from movievote.text import storable

logger = logging.getLogger(__name__)

PRIOR_WEIGHT = 10.0  # C: a movie's ratings weigh against this many ratings at the mean
DEFAULT_PRIOR_MEAN = 7.0  # m before anyone rated anything: 3.5 stars, in half stars
PRIOR_DRIFT = 0.1  # half stars (0.05 stars): re-snap m, and every score, beyond this
FOLD_LOCK_KEY = 0x6D76_0003  # pg advisory lock: one rating fold at a time across processes
MAX_PAGE_SIZE = 50

ratings_t = Rating.__table__  # type: ignore[attr-defined]
deltas_t = RatingDelta.__table__  # type: ignore[attr-defined]
tallies_t = RatingTally.__table__  # type: ignore[attr-defined]
totals_t = RatingTotal.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
users_t = User.__table__  # type: ignore[attr-defined]
sessions_t = Session.__table__  # type: ignore[attr-defined]


def bayesian_score(
    half_stars: float, ratings: int, *, prior_mean: float, prior_weight: float = PRIOR_WEIGHT
) -> float:
    """The Bayesian average in stars of `ratings` ratings summing to `half_stars`, with the
    prior: `prior_weight` ratings at `prior_mean` (half stars)."""
    return (prior_weight * prior_mean + half_stars) / (2 * (prior_weight + ratings))


def half_stars_of(stars: float) -> int:
    """0.5..5 stars in half steps as half stars 1..10; InvalidInput (422) otherwise."""
    number = isinstance(stars, int | float) and not isinstance(stars, bool)
    doubled = stars * 2 if number and math.isfinite(stars) else -1
    if not 1 <= doubled <= 10 or abs(doubled - round(doubled)) > 1e-9:
        raise InvalidInput(N_("Give 0.5 to 5 stars, in steps of half a star."), field="stars")
    return round(doubled)


def review_of(review: str | None) -> str | None:
    """The review as stored: trimmed, None when empty; InvalidInput if it is too long or holds
    what no database can store."""
    if review is None:
        return None
    text = storable(review, field="review").strip()
    if len(text) > REVIEW_MAX_CHARACTERS:
        raise InvalidInput(
            N_("A review can be at most {count} characters long."),
            field="review",
            count=REVIEW_MAX_CHARACTERS,
        )
    return text or None


def _account(*, session: bool, verified: bool) -> str:
    """Who may write, as an EXISTS subquery (the votes' rule): the session the token names is
    still open, the account is not blocked, and its address is verified when required."""
    account = "SELECT 1 FROM users WHERE users.id = :user_id AND users.blocked_at IS NULL"
    if session:
        account = (
            "SELECT 1 FROM sessions JOIN users ON users.id = sessions.user_id "
            "WHERE sessions.id = :session_id AND sessions.user_id = :user_id "
            "AND sessions.ended_at IS NULL AND users.blocked_at IS NULL"
        )
    if verified:
        account += " AND users.email_verified_at IS NOT NULL"
    return account


def _rate_statement(*, session: bool, verified: bool) -> str:
    return f"""
        INSERT INTO ratings (user_id, movie_id, half_stars, review, created_at, updated_at)
        SELECT :user_id, movies.id, :half_stars, :review, :now, :now FROM movies
        WHERE movies.id = :movie_id AND movies.hidden_at IS NULL
        AND EXISTS ({_account(session=session, verified=verified)})
        ON CONFLICT (user_id, movie_id) DO UPDATE
        SET half_stars = EXCLUDED.half_stars, review = EXCLUDED.review,
            updated_at = EXCLUDED.updated_at
        RETURNING created_at, updated_at
        """


def _remove_statement(*, session: bool) -> str:
    return f"""
        DELETE FROM ratings WHERE user_id = :user_id AND movie_id = :movie_id
        AND EXISTS ({_account(session=session, verified=False)})
        RETURNING id
        """


def _typed(sql: str, *, session: bool, remove: bool = False) -> sa.TextClause:
    binds: list[sa.BindParameter[Any]] = [
        sa.bindparam("user_id", type_=sa.Integer()),
        sa.bindparam("movie_id", type_=sa.Integer()),
    ]
    if not remove:
        binds += [
            sa.bindparam("half_stars", type_=sa.Integer()),
            sa.bindparam("review", type_=sa.Text()),
            sa.bindparam("now", type_=UTCDateTime()),
        ]
    if session:
        binds.append(sa.bindparam("session_id", type_=sa.String()))
    return sa.text(sql).bindparams(*binds)


# Built once. Keys: (checks a session, needs a verified address); for removal, the session.
RATE = {
    (session, verified): _rate_statement(session=session, verified=verified)
    for session in (True, False)
    for verified in (True, False)
}
REMOVE = {session: _remove_statement(session=session) for session in (True, False)}
_SA_RATE = {
    key: _typed(sql, session=key[0]).columns(created_at=UTCDateTime(), updated_at=UTCDateTime())
    for key, sql in RATE.items()
}
_SA_REMOVE = {key: _typed(sql, session=key, remove=True) for key, sql in REMOVE.items()}
# The same statements for psycopg's own placeholders (the PostgreSQL fast path; the benchmark
# runs RATE_PG on raw psycopg as its baseline).
RATE_PG = {key: re.sub(r":(\w+)", r"%(\1)s", sql) for key, sql in RATE.items()}
_PG_REMOVE = {key: re.sub(r":(\w+)", r"%(\1)s", sql) for key, sql in REMOVE.items()}


async def _write(
    db: Database, sa_statement: Any, pg_statement: str, params: dict[str, Any]
) -> tuple[Any, ...] | None:
    """Run a one-statement write in autocommit; its first row, or None.

    On PostgreSQL it goes straight to psycopg on a connection of the one engine's pool, as the
    vote does: SQLAlchemy's execution layer costs more CPU than the database spends on it."""
    if db.dialect != "postgresql":
        async with db.autocommit() as conn:
            found = (await conn.execute(sa_statement, params)).first()
            return tuple(found) if found else None
    async with db.autocommit() as conn:
        driver: psycopg.AsyncConnection[Any] = (await conn.get_raw_connection()).driver_connection  # type: ignore[assignment]
        try:
            cursor = await driver.execute(pg_statement, params)
            return await cursor.fetchone()
        except Exception:
            await conn.invalidate()
            raise


@dataclass(frozen=True)
class Rated:
    """What `rate` did: the rating as stored, and whether it is new (else it was changed)."""

    rating: RatingPublic
    created: bool


async def rate(
    *,
    user_id: int,
    movie_id: int,
    stars: float,
    review: str | None = None,
    session_id: str | None,
    now: datetime | None = None,
    settings: Settings,
    folder: RatingFolder,
    db: Database,
) -> Rated:
    """Give the movie `stars` (0.5 to 5, in half steps) and an optional review (at most 1,000
    characters), or change the rating given before.

    One statement in autocommit. `session_id` is the verified token's session (None only for
    trusted callers: the CLI, benchmarks). Refused: InvalidInput (the stars or the review),
    MovieHidden, MovieNotFound, AccountBlocked, EmailNotVerified (EMAIL_VERIFICATION=required),
    InvalidToken (the session ended), UserNotFound. The movie's tally follows with the next
    fold (`folder`, within about 50 ms).
    """
    params: dict[str, Any] = {
        "user_id": user_id,
        "movie_id": movie_id,
        "half_stars": half_stars_of(stars),
        "review": review_of(review),
        "now": now or utcnow(),
    }
    if session_id is not None:
        params["session_id"] = session_id
    key = (session_id is not None, settings.email_verification == "required")
    row = await _write(db, _SA_RATE[key], RATE_PG[key], params)
    if row is None:
        await _raise_refusal(
            db, user_id=user_id, movie_id=movie_id, session_id=session_id, settings=settings
        )
    assert row is not None
    folder.rated()
    created_at, updated_at = (moment.astimezone(UTC) for moment in row)
    rating = RatingPublic.model_construct(  # built from checked values: no validation to pay
        movie_id=movie_id,
        stars=params["half_stars"] / 2,
        review=params["review"],
        created_at=created_at,
        updated_at=updated_at,
    )
    return Rated(rating, created=created_at == params["now"])


async def remove(
    *,
    user_id: int,
    movie_id: int,
    session_id: str | None,
    settings: Settings,
    folder: RatingFolder,
    db: Database,
) -> bool:
    """Take back the member's rating (and review) of a movie, hidden or not; False when there
    was none. Refused: MovieNotFound, AccountBlocked, InvalidToken, UserNotFound."""
    params: dict[str, Any] = {"user_id": user_id, "movie_id": movie_id}
    if session_id is not None:
        params["session_id"] = session_id
    key = session_id is not None
    row = await _write(db, _SA_REMOVE[key], _PG_REMOVE[key], params)
    if row is not None:
        folder.rated()
        return True
    async with db.engine.connect() as conn:
        await check_member(conn, user_id=user_id, session_id=session_id)
        if await conn.scalar(sa.select(movies_t.c.id).where(movies_t.c.id == movie_id)) is None:
            raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
    return False


async def _raise_refusal(
    db: Database, *, user_id: int, movie_id: int, session_id: str | None, settings: Settings
) -> None:
    """Why a rating was not written (only asked when it was not)."""
    async with db.engine.connect() as conn:
        user = await check_member(conn, user_id=user_id, session_id=session_id)
        if settings.email_verification == "required" and user.email_verified_at is None:
            raise EmailNotVerified(
                N_(
                    "Confirm your email address to rate movies: follow the link we sent you, "
                    "or ask for a new one."
                )
            )
        movie = (
            await conn.execute(sa.select(movies_t.c.hidden_at).where(movies_t.c.id == movie_id))
        ).first()
    if movie is None:
        raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
    raise MovieHidden(
        N_("This movie has been withdrawn: it cannot be rated."), movie_id=str(movie_id)
    )


def _public(row: Any) -> RatingPublic:
    return RatingPublic(
        movie_id=row.movie_id,
        stars=row.half_stars / 2,
        review=row.review,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def rating_of(*, user_id: int, movie_id: int, db: Database) -> RatingPublic | None:
    """The member's rating of a movie, or None."""
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    ratings_t.c.movie_id,
                    ratings_t.c.half_stars,
                    ratings_t.c.review,
                    ratings_t.c.created_at,
                    ratings_t.c.updated_at,
                ).where(ratings_t.c.user_id == user_id, ratings_t.c.movie_id == movie_id)
            )
        ).first()
    return _public(row) if row else None


def _check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise InvalidInput(N_("The page number starts at 1."), field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("The page size must be 1 to {count}."), field="page_size", count=MAX_PAGE_SIZE
        )


async def my_ratings(
    *,
    user_id: int,
    page: int = 1,
    page_size: int = 20,
    language: str = DEFAULT_LANGUAGE,
    db: Database,
) -> MyRatingPage:
    """The member's ratings, the latest given or changed first, each with the movie's title in
    `language` (hidden movies included: the rating is still theirs)."""
    _check_page(page, page_size)
    read = in_language(checked_language(language))
    mine = ratings_t.c.user_id == user_id
    async with db.engine.connect() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).select_from(ratings_t).where(mine))
        rows = (
            await conn.execute(
                sa.select(
                    ratings_t.c.movie_id,
                    ratings_t.c.half_stars,
                    ratings_t.c.review,
                    ratings_t.c.created_at,
                    ratings_t.c.updated_at,
                    read.title.label("title"),
                )
                .select_from(ratings_t.join(read.source, movies_t.c.id == ratings_t.c.movie_id))
                .where(mine)
                .order_by(ratings_t.c.updated_at.desc(), ratings_t.c.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
    return MyRatingPage(
        items=[MyRating(**_public(row).model_dump(), title=row.title) for row in rows],
        total=total or 0,
        page=page,
        page_size=page_size,
    )


async def reviews_of(
    *, movie_id: int, page: int = 1, page_size: int = 10, db: Database
) -> ReviewPage:
    """A movie's ratings and reviews, the latest given or changed first, each with its
    member's display name; `total` is the movie's tally. MovieNotFound if there is no movie."""
    _check_page(page, page_size)
    async with db.engine.connect() as conn:
        found = (
            await conn.execute(
                sa.select(movies_t.c.id, tallies_t.c.ratings)
                .select_from(movies_t.outerjoin(tallies_t, tallies_t.c.movie_id == movies_t.c.id))
                .where(movies_t.c.id == movie_id)
            )
        ).first()
        if found is None:
            raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
        rows = (
            await conn.execute(
                sa.select(
                    users_t.c.display_name,
                    ratings_t.c.half_stars,
                    ratings_t.c.review,
                    ratings_t.c.created_at,
                    ratings_t.c.updated_at,
                )
                .select_from(ratings_t.join(users_t, users_t.c.id == ratings_t.c.user_id))
                .where(ratings_t.c.movie_id == movie_id)
                .order_by(ratings_t.c.updated_at.desc(), ratings_t.c.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
    return ReviewPage(
        items=[
            ReviewPublic(
                reviewer=row.display_name,
                stars=row.half_stars / 2,
                review=row.review,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ],
        total=max(found.ratings or 0, (page - 1) * page_size + len(rows)),
        page=page,
        page_size=page_size,
    )


# --- the tallies ---------------------------------------------------------------------------

# PostgreSQL folds in one statement, server-side: the deltas are summed per movie, added to the
# tallies of movies that still exist with the score under the stored prior, and to the totals
# (the deltas of a deleted movie's ratings too: they were counted there); it returns the new
# totals and the prior, from which Python decides whether to re-snap the prior.
PG_FOLD = sa.text(
    """
    WITH d AS (
        DELETE FROM rating_deltas RETURNING movie_id, ratings, half_stars
    ), summed AS (
        SELECT movie_id, sum(ratings)::int AS ratings, sum(half_stars)::int AS half_stars
        FROM d GROUP BY movie_id
    ), prior AS (
        SELECT coalesce(
                   (SELECT prior_weight * prior_mean FROM rating_totals WHERE id = 1),
                   :weight * :mean) AS weighted,
               coalesce((SELECT prior_weight FROM rating_totals WHERE id = 1), :weight) AS weight
    ), tallied AS (
        INSERT INTO rating_tallies (movie_id, ratings, half_stars, score)
        SELECT summed.movie_id, summed.ratings, summed.half_stars,
               (prior.weighted + summed.half_stars) / (2 * (prior.weight + summed.ratings))
        FROM summed JOIN movies ON movies.id = summed.movie_id CROSS JOIN prior
        WHERE true
        ON CONFLICT (movie_id) DO UPDATE
        SET ratings = rating_tallies.ratings + EXCLUDED.ratings,
            half_stars = rating_tallies.half_stars + EXCLUDED.half_stars,
            score = ((SELECT weighted FROM prior) + rating_tallies.half_stars
                     + EXCLUDED.half_stars)
                    / (2 * ((SELECT weight FROM prior) + rating_tallies.ratings
                            + EXCLUDED.ratings))
        RETURNING movie_id
    )
    INSERT INTO rating_totals (id, ratings, half_stars, prior_mean, prior_weight)
    SELECT 1, sum(ratings), sum(half_stars), :mean, :weight FROM summed HAVING count(*) > 0
    ON CONFLICT (id) DO UPDATE
    SET ratings = rating_totals.ratings + EXCLUDED.ratings,
        half_stars = rating_totals.half_stars + EXCLUDED.half_stars
    RETURNING ratings, half_stars, prior_mean, prior_weight,
              (SELECT count(*) FROM tallied) AS movies
    """
).bindparams(sa.bindparam("weight", type_=sa.Float()), sa.bindparam("mean", type_=sa.Float()))


def _score(ratings: Any, half_stars: Any, *, mean: float) -> Any:
    """The score as SQL, under the prior (`mean`, PRIOR_WEIGHT)."""
    return (sa.literal(PRIOR_WEIGHT * mean) + half_stars) / (
        sa.literal(2.0) * (sa.literal(PRIOR_WEIGHT) + ratings)
    )


async def _snap_prior(conn: AsyncConnection, totals: Any) -> None:
    """Move the prior to the current mean, and every score with it, once they drift apart (or
    C changed): all the scores always share one prior, so their index orders them rightly."""
    ratings, half_stars, prior_mean, prior_weight = totals
    mean = half_stars / ratings if ratings > 0 else DEFAULT_PRIOR_MEAN
    if abs(mean - prior_mean) <= PRIOR_DRIFT and prior_weight == PRIOR_WEIGHT:
        return
    await conn.execute(
        sa.update(totals_t)
        .where(totals_t.c.id == 1)
        .values(prior_mean=mean, prior_weight=PRIOR_WEIGHT)
    )
    await conn.execute(
        sa.update(tallies_t).values(
            score=_score(tallies_t.c.ratings, tallies_t.c.half_stars, mean=mean)
        )
    )


async def fold_rating_deltas(*, db: Database) -> int:
    """Move pending rating deltas into the tallies and totals; returns how many movies'
    tallies changed.

    One folder at a time (a PostgreSQL advisory lock); DELETE ... RETURNING takes exactly the
    committed deltas, so a rating committing meanwhile is folded next time, never lost or
    doubled."""
    if db.dialect == "postgresql":
        async with db.transaction() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(FOLD_LOCK_KEY)))
            row = (
                await conn.execute(PG_FOLD, {"weight": PRIOR_WEIGHT, "mean": DEFAULT_PRIOR_MEAN})
            ).first()
            if row is None:
                return 0
            await _snap_prior(conn, tuple(row)[:4])
            return int(row.movies)
    async with db.transaction() as conn:  # SQLite: one writer at a time anyway
        rows = (
            await conn.execute(
                sa.delete(deltas_t).returning(
                    deltas_t.c.movie_id, deltas_t.c.ratings, deltas_t.c.half_stars
                )
            )
        ).all()
        if not rows:
            return 0
        summed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for movie_id, ratings, half_stars in rows:
            summed[movie_id][0] += ratings
            summed[movie_id][1] += half_stars
        prior = (
            await conn.execute(sa.select(totals_t.c.prior_mean).where(totals_t.c.id == 1))
        ).scalar()
        mean = DEFAULT_PRIOR_MEAN if prior is None else float(prior)
        live = set(
            await conn.scalars(sa.select(movies_t.c.id).where(movies_t.c.id.in_(list(summed))))
        )
        tally_rows = [
            {
                "movie_id": movie_id,
                "ratings": n,
                "half_stars": s,
                "score": bayesian_score(s, n, prior_mean=mean),
            }
            for movie_id, (n, s) in sorted(summed.items())
            if movie_id in live
        ]
        if tally_rows:
            upsert = db.insert(tallies_t)
            ratings = tallies_t.c.ratings + upsert.excluded.ratings
            half_stars = tallies_t.c.half_stars + upsert.excluded.half_stars
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["movie_id"],
                    set_={
                        "ratings": ratings,
                        "half_stars": half_stars,
                        "score": _score(ratings, half_stars, mean=mean),
                    },
                ),
                tally_rows,
            )
        upsert = db.insert(totals_t)
        totals = (
            await conn.execute(
                upsert.values(
                    id=1,
                    ratings=sum(n for n, _ in summed.values()),
                    half_stars=sum(s for _, s in summed.values()),
                    prior_mean=mean,
                    prior_weight=PRIOR_WEIGHT,
                )
                .on_conflict_do_update(
                    index_elements=["id"],
                    set_={
                        "ratings": totals_t.c.ratings + upsert.excluded.ratings,
                        "half_stars": totals_t.c.half_stars + upsert.excluded.half_stars,
                    },
                )
                .returning(
                    totals_t.c.ratings,
                    totals_t.c.half_stars,
                    totals_t.c.prior_mean,
                    totals_t.c.prior_weight,
                )
            )
        ).one()
        await _snap_prior(conn, tuple(totals))
        return len(tally_rows)


async def rebuild_rating_tallies(*, db: Database) -> None:
    """Recompute the tallies, the totals and every score from the ratings themselves (repair
    and verification; a GROUP BY over all the ratings, never on a request)."""
    async with db.transaction() as conn:
        if db.dialect == "postgresql":
            await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(FOLD_LOCK_KEY)))
        for table in (deltas_t, tallies_t, totals_t):
            await conn.execute(sa.delete(table))
        ratings, half_stars = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(ratings_t.c.half_stars), 0))
            )
        ).one()
        mean = half_stars / ratings if ratings else DEFAULT_PRIOR_MEAN
        await conn.execute(
            sa.insert(totals_t).values(
                id=1,
                ratings=ratings,
                half_stars=half_stars,
                prior_mean=mean,
                prior_weight=PRIOR_WEIGHT,
            )
        )
        count = sa.func.count()
        summed = sa.func.sum(ratings_t.c.half_stars)
        await conn.execute(
            sa.insert(tallies_t).from_select(
                ["movie_id", "ratings", "half_stars", "score"],
                sa.select(
                    ratings_t.c.movie_id,
                    count,
                    summed,
                    _score(count, summed, mean=mean),
                ).group_by(ratings_t.c.movie_id),
            )
        )


class RatingFolder:
    """Folds the rating deltas into the tallies soon after ratings are written: a lone rating
    at once, a burst at most once per `delay_seconds` after the previous fold ended (however
    many ratings arrive meanwhile, one more fold); what other processes wrote, every
    `run_periodic` interval. Writers never wait for it; a page that wants its member to see
    their own rating in the average awaits `caught_up()`."""

    def __init__(self, *, db: Database, delay_seconds: float = 0.05) -> None:
        self.db = db
        self.delay_seconds = delay_seconds
        self._written = 0  # ratings written through this folder
        self._folded = 0  # how many of them a finished fold has taken
        self._task: asyncio.Task[None] | None = None
        self._last_ended = float("-inf")
        self._changed: asyncio.Event | None = None
        self.folds = 0
        self.failures = 0

    def rated(self) -> None:
        """A rating was committed: schedule one coalesced fold (never blocks)."""
        self._written += 1
        self._start()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rating-fold")

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._folded < self._written:
            wait = self._last_ended + self.delay_seconds - loop.time()
            if wait > 0:  # a fold ended less than a window ago: let the burst gather
                await asyncio.sleep(wait)
            target = self._written
            try:
                await fold_rating_deltas(db=self.db)
                self._folded = target
                self.folds += 1
            except Exception:  # keep serving; the next rating or the periodic fold retries
                logger.exception("rating fold failed")
                self.failures += 1
                return
            finally:
                self._last_ended = loop.time()
                changed, self._changed = self._event(), asyncio.Event()
                changed.set()

    async def caught_up(self, timeout_seconds: float = 2.0) -> bool:
        """Wait until every rating written through this folder so far is in the tallies;
        False if that took longer than the timeout (the tallies then show it a little later)."""
        target, failures = self._written, self.failures
        try:
            async with asyncio.timeout(timeout_seconds):
                while self._folded < target and self.failures == failures:
                    changed = self._event()
                    self._start()
                    await changed.wait()
        except TimeoutError:
            return False
        return self._folded >= target

    async def settle(self) -> None:
        """Wait until the fold in progress, if any, has finished (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def run_periodic(self, interval_seconds: float) -> None:
        """Fold what other processes (or SQL clients) wrote, every interval."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await fold_rating_deltas(db=self.db)
            except Exception:
                logger.exception("periodic rating fold failed")
