"""Voting: one vote per user per calendar month (in the vote time zone), final once cast."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.errors import (
    AlreadyVoted,
    EmailNotVerified,
    MovieHidden,
    MovieNotFound,
)
from movievote.i18n import N_, Day, Month
from movievote.models import (
    Movie,
    Notification,
    Session,
    User,
    UTCDateTime,
    Vote,
    VotePublic,
    utcnow,
)
from movievote.periods import (
    current_period,
    format_period,
    next_vote_opens,
    period_of,
)
from movievote.services.accounts import check_member
from movievote.services.ballot_box import BallotBox
from movievote.services.dispatcher import NotificationDispatcher
from movievote.services.observer import RankingSubject

votes_t = Vote.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
users_t = User.__table__  # type: ignore[attr-defined]
sessions_t = Session.__table__  # type: ignore[attr-defined]


def _cast_vote_statement(*, session: bool, verified: bool) -> sa.TextualSelect:
    """The vote in one statement, the same on PostgreSQL and SQLite. Who may vote is part of
    it, at no extra round trip: the session the token names is still open (log-out, a password
    change), the account is not blocked (a block that commits first refuses it) and, when
    EMAIL_VERIFICATION=required, the account's address is verified. The movie must not be
    hidden: a hide that commits first refuses the vote, so a hide racing a vote cannot let one
    in after it."""
    account = "SELECT 1 FROM users WHERE users.id = :user_id AND users.blocked_at IS NULL"
    if session:
        account = (
            "SELECT 1 FROM sessions JOIN users ON users.id = sessions.user_id "
            "WHERE sessions.id = :session_id AND sessions.user_id = :user_id "
            "AND sessions.ended_at IS NULL AND users.blocked_at IS NULL"
        )
    if verified:
        account += " AND users.email_verified_at IS NOT NULL"
    binds: list[sa.BindParameter[Any]] = [
        sa.bindparam("user_id", type_=sa.Integer()),
        sa.bindparam("movie_id", type_=sa.Integer()),
        sa.bindparam("period", type_=sa.Date()),
        sa.bindparam("created_at", type_=UTCDateTime()),
    ]
    if session:
        binds.append(sa.bindparam("session_id", type_=sa.String()))
    return (
        sa.text(
            f"""
            INSERT INTO votes (user_id, movie_id, period, created_at)
            SELECT :user_id, movies.id, :period, :created_at FROM movies
            WHERE movies.id = :movie_id AND movies.hidden_at IS NULL AND EXISTS ({account})
            ON CONFLICT (user_id, period) DO NOTHING
            RETURNING id, movie_id, period, created_at
            """
        )
        .bindparams(*binds)
        .columns(id=sa.Integer(), movie_id=sa.Integer(), period=sa.Date(), created_at=UTCDateTime())
    )


# Built once: no per-vote query construction. Keys: (checks a session, needs a verified address)
CAST_VOTE = {
    (session, verified): _cast_vote_statement(session=session, verified=verified)
    for session in (True, False)
    for verified in (True, False)
}
# The same statements for psycopg's own placeholders (the PostgreSQL fast path below).
PG_CAST_VOTE = {key: re.sub(r":(\w+)", r"%(\1)s", str(sql)) for key, sql in CAST_VOTE.items()}


async def _insert_vote(
    db: Database, params: dict[str, Any], key: tuple[bool, bool]
) -> tuple[Any, ...] | None:
    """Run the vote in autocommit; the inserted (id, movie_id, period, created_at) or None.

    On PostgreSQL the statement goes straight to psycopg on a connection of the one engine's
    pool: SQLAlchemy's execution layer would cost more CPU than the database spends on the
    vote (1,400 vs 2,300 votes/s at 16 tasks, docs/performance.md).
    """
    if db.dialect != "postgresql":
        async with db.autocommit() as conn:
            found = (await conn.execute(CAST_VOTE[key], params)).first()
            return tuple(found) if found else None
    async with db.autocommit() as conn:  # autocommit: the pool skips the reset rollback
        driver: psycopg.AsyncConnection[Any] = (await conn.get_raw_connection()).driver_connection  # type: ignore[assignment]
        try:
            cursor = await driver.execute(PG_CAST_VOTE[key], params)
            return await cursor.fetchone()
        except Exception:
            await conn.invalidate()
            raise


def _public(row: Sequence[Any], settings: Settings) -> VotePublic:
    vote_id, movie_id, period, created_at, *voided = row
    return VotePublic(
        id=vote_id,
        movie_id=movie_id,
        period=format_period(period),
        created_at=created_at.astimezone(UTC),
        next_vote_at=next_vote_opens(period, settings.zone),
        voided_at=voided[0] if voided else None,
    )


async def cast_vote(
    *,
    user_id: int,
    movie_id: int,
    session_id: str | None,
    now: datetime | None = None,
    settings: Settings,
    subject: RankingSubject,
    db: Database,
    ballot_box: BallotBox | None = None,
) -> VotePublic:
    """Record the user's vote for this month.

    One statement, `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`, in autocommit: the
    unique (user_id, period) decides between concurrent requests. `session_id` is the session
    of the caller's verified token (every page and route passes it; None only for trusted
    callers such as the CLI and benchmarks). No row back means the user has voted already
    (AlreadyVoted), the account is blocked (AccountBlocked), the session has ended
    (InvalidToken), the address is not verified
    (EmailNotVerified), an admin hid the movie (MovieHidden), or the movie or user does not
    exist. With a `ballot_box` (PostgreSQL), the statement is the box's next batch, written
    with the votes of other callers (group commit); the answer is the same.
    """
    vote, _ = await _cast(
        user_id=user_id,
        movie_id=movie_id,
        session_id=session_id,
        now=now,
        settings=settings,
        subject=subject,
        dispatcher=None,
        db=db,
        ballot_box=ballot_box,
    )
    return vote


async def cast_and_notify(
    *,
    user_id: int,
    movie_id: int,
    session_id: str | None,
    subject: RankingSubject,
    dispatcher: NotificationDispatcher,
    now: datetime | None = None,
    settings: Settings,
    db: Database,
    ballot_box: BallotBox | None = None,
) -> tuple[VotePublic, asyncio.Future[Notification | None]]:
    """Cast the vote, then hand its "vote registered" notification to the dispatcher without
    waiting for it: the one way the pages and the API vote. The future resolves once the
    notification is sent and stored (the page shows it; the API does not wait). The ranking
    subject and the dispatcher hear of the vote as soon as it is stored, before this caller
    resumes: a caller that goes away then (a closed connection) cannot skip them."""
    vote, notified = await _cast(
        user_id=user_id,
        movie_id=movie_id,
        session_id=session_id,
        now=now,
        settings=settings,
        subject=subject,
        dispatcher=dispatcher,
        db=db,
        ballot_box=ballot_box,
    )
    assert notified is not None
    return vote, notified


async def _cast(
    *,
    user_id: int,
    movie_id: int,
    session_id: str | None,
    now: datetime | None,
    settings: Settings,
    subject: RankingSubject,
    dispatcher: NotificationDispatcher | None,
    db: Database,
    ballot_box: BallotBox | None,
) -> tuple[VotePublic, asyncio.Future[Notification | None] | None]:
    instant = now or utcnow()
    period = period_of(instant, settings.zone)
    params: dict[str, Any] = {
        "user_id": user_id,
        "movie_id": movie_id,
        "period": period,
        "created_at": instant,
    }
    if session_id is not None:
        params["session_id"] = session_id
    key = (session_id is not None, settings.email_verification == "required")

    def committed(
        row: Sequence[Any],
    ) -> tuple[VotePublic, asyncio.Future[Notification | None] | None]:
        subject.vote_cast(period=period)
        vote = _public(row, settings)
        return vote, dispatcher.submit(user_id=user_id, vote=vote) if dispatcher else None

    if ballot_box is not None and db.dialect == "postgresql":
        outcome = await ballot_box.cast(params, key, committed)
    else:
        row = await _insert_vote(db, params, key)
        outcome = committed(row) if row is not None else None
    if outcome is None:
        async with db.engine.connect() as conn:
            await _raise_refusal(
                conn,
                user_id=user_id,
                movie_id=movie_id,
                period=period,
                session_id=session_id,
                settings=settings,
            )
    assert outcome is not None
    return outcome


async def _raise_refusal(
    conn: AsyncConnection,
    *,
    user_id: int,
    movie_id: int,
    period: date,
    session_id: str | None,
    settings: Settings,
) -> None:
    user = await check_member(conn, user_id=user_id, session_id=session_id)
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
            N_("You have already voted in {month}. Your next vote opens on {day}."),
            vote_id=existing["id"],
            movie_id=existing["movie_id"],
            period=period,
            voted_at=existing["created_at"],
            next_vote_at=opens,
            month=Month(period),
            day=Day(opens),
        )
    if settings.email_verification == "required" and user.email_verified_at is None:
        raise EmailNotVerified(
            N_(
                "Confirm your email address to vote: follow the link we sent you, or ask for a new one."
            )
        )
    hidden = (
        await conn.execute(sa.select(movies_t.c.hidden_at).where(movies_t.c.id == movie_id))
    ).first()
    if hidden is not None and hidden.hidden_at is not None:
        raise MovieHidden(
            N_("This movie has been withdrawn from the vote. Choose another one."),
            movie_id=str(movie_id),
        )
    raise MovieNotFound(
        N_("There is no movie with id {movie_id}."),
        movie_id=str(movie_id),  # an id, not a count
    )


async def vote_of(
    *,
    user_id: int,
    period: date | None = None,
    settings: Settings,
    db: Database,
) -> VotePublic | None:
    """The user's vote in a period (default: the current one), or None; `voided_at` says
    whether an admin voided it (it no longer counts, but stays the month's one vote)."""
    period = period or current_period(settings.zone)
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    votes_t.c.id,
                    votes_t.c.movie_id,
                    votes_t.c.period,
                    votes_t.c.created_at,
                    votes_t.c.voided_at,
                ).where(votes_t.c.user_id == user_id, votes_t.c.period == period)
            )
        ).first()
    return _public(tuple(row), settings) if row else None
