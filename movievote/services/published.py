"""Published month results, read: a month's result, the list of months, the winners, what
admins see of a publication, a member's own ballot, and the streamed exports (the ballots in
the canonical form, whose SHA-256 the result carries, and one JSON document). What pages and
routes show of a closed month; services/results.py publishes them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.errors import ResultNotFound
from movievote.i18n import N_, Day, Month, checked_language
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import (
    MonthRanking,
    MonthResult,
    MonthResultPublic,
    Movie,
    MoviePublic,
    PublishedBallot,
    PublishedBallotPublic,
    RankingEntry,
    ResultCheck,
    ResultSummary,
    TallyMismatch,
    Vote,
    Winner,
    WinnerMovie,
    utcnow,
)
from movievote.periods import (
    format_period,
    next_vote_opens,
    period_of,
    previous_period,
    results_due,
)
from movievote.services.ballots import CSV_HEADER, TIE_BREAK, cast_at_text, csv_row, json_ballot
from movievote.services.catalogue import genres_of, in_language, to_public

BALLOT_BATCH = 5000  # ballots per fetch of a server-side cursor (the hash, the exports)
PUBLISHING = timedelta(minutes=2)  # a month due is published within a minute: look again then

results_t = MonthResult.__table__  # type: ignore[attr-defined]
rankings_t = MonthRanking.__table__  # type: ignore[attr-defined]
ballots_t = PublishedBallot.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]


async def has_votes(conn: AsyncConnection, period: date) -> bool:
    """Whether anyone voted in the month (voided votes included)."""
    found = await conn.scalar(sa.select(votes_t.c.id).where(votes_t.c.period == period).limit(1))
    return found is not None


async def not_published(
    conn: AsyncConnection, period: date, now: datetime, settings: Settings
) -> ResultNotFound:
    """Why a month has no published result: when it will have one, or that it never will."""
    try:
        due = results_due(period, settings.zone, settings.results_grace_hours)
    except (ValueError, OverflowError):  # December 9999: no month follows it
        due = None
    if due is not None and due > now:
        local = due.astimezone(settings.zone)
        return ResultNotFound(
            N_("The result of {month} will be published on {day} at {time} ({zone})."),
            month=Month(period),
            day=Day(local),
            time=f"{local:%H:%M}",
            zone=settings.vote_timezone,
        )
    if await has_votes(conn, period):
        return ResultNotFound(
            N_("The result of {month} is being published: try again in a minute."),
            month=Month(period),
        )
    return ResultNotFound(N_("Nobody voted in {month}: it has no result."), month=Month(period))


# PostgreSQL writes each ballot's cast_at in the canonical form itself (to_char of the instant
# in UTC), sparing Python a datetime per ballot; SQLite's rows are formatted in Python
_CANONICAL_INSTANT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def ballot_rows(dialect: str, period: date) -> sa.Select[tuple[Any, ...]]:
    """A month's published ballots by vote_id, fetched BALLOT_BATCH at a time from a
    server-side cursor: (vote_id, movie_id, cast_at, pseudonym, voided)."""
    cast_at: sa.ColumnElement[Any] = ballots_t.c.cast_at
    if dialect == "postgresql":
        cast_at = sa.func.to_char(sa.func.timezone("UTC", cast_at), _CANONICAL_INSTANT)
    return (
        sa.select(
            ballots_t.c.vote_id,
            ballots_t.c.movie_id,
            cast_at,
            ballots_t.c.pseudonym,
            ballots_t.c.voided,
        )
        .where(ballots_t.c.period == period)
        .order_by(ballots_t.c.vote_id)
        .execution_options(yield_per=BALLOT_BATCH)
    )


def _instant(cast_at: str | datetime) -> str:
    return cast_at if isinstance(cast_at, str) else cast_at_text(cast_at)


async def canonical_csv(conn: AsyncConnection, period: date) -> AsyncIterator[bytes]:
    """The month's ballots in the canonical form (services/ballots.py), streamed from a
    server-side cursor BALLOT_BATCH rows at a time: the bytes `ballots_sha256` is taken of,
    and the bytes the CSV export sends."""
    yield CSV_HEADER.encode()
    result = await conn.stream(ballot_rows(conn.dialect.name, period))
    async for rows in result.partitions():
        yield "".join(
            csv_row(vote_id, movie_id, _instant(cast_at), voter, voided)
            for vote_id, movie_id, cast_at, voter, voided in rows
        ).encode()


async def _places(
    conn: AsyncConnection, language: str, *conditions: Any, limit: int | None = None
) -> list[tuple[date, int, RankingEntry]]:
    """Published places (period, total, entry) with their movies in `language` (the title as
    published where the catalogue no longer has the movie), by month and rank."""
    read = in_language(language)
    source = rankings_t.join(results_t, results_t.c.period == rankings_t.c.period).outerjoin(
        read.source, movies_t.c.id == rankings_t.c.movie_id
    )
    query = (
        sa.select(
            rankings_t.c.period,
            rankings_t.c.rank,
            rankings_t.c.movie_id,
            rankings_t.c.title.label("published_title"),
            rankings_t.c.votes,
            results_t.c.total_votes,
            *read.columns,
        )
        .select_from(source)
        .where(*conditions)
        .order_by(rankings_t.c.period.desc(), rankings_t.c.rank)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await conn.execute(query)).mappings().all()
    genres = await genres_of(conn, sorted({r["id"] for r in rows if r["id"] is not None}))
    places = []
    for row in rows:
        if row["id"] is not None:
            movie = to_public(row, genres)
        else:  # the movie left the catalogue after its month was published
            movie = MoviePublic(
                id=row["movie_id"],
                title=row["published_title"],
                original_title=row["published_title"],
                year=None,
                release_date=None,
                overview="",
                poster_url=None,
                genres=[],
            )
        total = row["total_votes"]
        entry = RankingEntry(
            rank=row["rank"],
            movie=movie,
            votes=row["votes"],
            share=round(row["votes"] / total, 6) if total else 0.0,
        )
        places.append((row["period"], total, entry))
    return places


async def get_result(
    *,
    period: date,
    language: str = DEFAULT_LANGUAGE,
    limit: int | None = None,
    now: datetime | None = None,
    settings: Settings,
    db: Database,
) -> MonthResultPublic:
    """A month's published result, its movies in `language` (the first `limit` places, or
    all); ResultNotFound (saying when it will be published, or why never) otherwise."""
    language = checked_language(language)
    async with db.engine.connect() as conn:
        row = (await conn.execute(sa.select(results_t).where(results_t.c.period == period))).first()
        if row is None:
            raise await not_published(conn, period, now or utcnow(), settings)
        conditions = [rankings_t.c.period == period]
        if limit is not None:
            conditions.append(rankings_t.c.rank <= limit)
        ranking = [entry for _, _, entry in await _places(conn, language, *conditions)]
    return MonthResultPublic(
        month=format_period(period),
        published_at=row.published_at,
        total_votes=row.total_votes,
        ballots=row.ballots,
        ballots_sha256=row.ballots_sha256,
        tie_break=TIE_BREAK,
        winner=ranking[0] if ranking else None,
        ranking=ranking,
    )


async def published_months(
    *, language: str = DEFAULT_LANGUAGE, db: Database
) -> list[ResultSummary]:
    """Every published month, newest first, with its winner in `language`."""
    language = checked_language(language)
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    results_t.c.period, results_t.c.published_at, results_t.c.total_votes
                ).order_by(results_t.c.period.desc())
            )
        ).all()
        winners = {p: e for p, _, e in await _places(conn, language, rankings_t.c.rank == 1)}
    return [
        ResultSummary(
            month=format_period(row.period),
            published_at=row.published_at,
            total_votes=row.total_votes,
            winner=winners.get(row.period),
        )
        for row in rows
    ]


def _winner(period: date, total: int, entry: RankingEntry, language: str) -> Winner:
    return Winner(
        month=format_period(period),
        movie=WinnerMovie(
            id=entry.movie.id,
            title=entry.movie.title,
            poster_url=entry.movie.poster_url,
            cover_url=f"/api/movies/{entry.movie.id}/poster.svg?language={language}",
        ),
        votes=entry.votes,
        share=entry.share,
        total_votes=total,
    )


async def winners(*, language: str = DEFAULT_LANGUAGE, db: Database) -> list[Winner]:
    """The movie of every published month that had one, newest first, in `language`."""
    language = checked_language(language)
    async with db.engine.connect() as conn:
        places = await _places(conn, language, rankings_t.c.rank == 1)
    return [_winner(period, total, entry, language) for period, total, entry in places]


async def last_month_winner(
    *,
    language: str = DEFAULT_LANGUAGE,
    now: datetime | None = None,
    settings: Settings,
    db: Database,
) -> tuple[Winner | None, datetime]:
    """The movie of the month a lobby screen shows: last month's, or the month before's
    while last month's result is not out yet (its grace for voiding, or the minute the
    publisher takes); and until when that answer holds (read again then, not before)."""
    language = checked_language(language)
    now = now or utcnow()
    current = period_of(now, settings.zone)
    last = previous_period(current)
    before = previous_period(last)
    month_ends = next_vote_opens(current, settings.zone)
    due = results_due(last, settings.zone, settings.results_grace_hours)
    async with db.engine.connect() as conn:
        out = set(
            await conn.scalars(
                sa.select(results_t.c.period).where(results_t.c.period.in_([last, before]))
            )
        )
        if last in out:
            shown, until = last, month_ends
        elif now < due:
            shown, until = before, due
        elif await has_votes(conn, last):  # due, and about to be published
            shown, until = before, now + PUBLISHING
        else:  # nobody voted last month
            return None, month_ends
        places = await _places(conn, language, rankings_t.c.rank == 1, rankings_t.c.period == shown)
    winner = next((_winner(p, total, e, language) for p, total, e in places), None)
    return winner, until


async def result_checks(*, db: Database) -> list[ResultCheck]:
    """What admins see of every publication, newest first (`result_check`'s, all at once)."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(results_t).order_by(results_t.c.period.desc()))).all()
    return [_check(row) for row in rows]


async def result_check(
    *, period: date, now: datetime | None = None, settings: Settings, db: Database
) -> ResultCheck:
    """What admins see of a month's publication: whether the tallies agreed, and where not."""
    async with db.engine.connect() as conn:
        row = (await conn.execute(sa.select(results_t).where(results_t.c.period == period))).first()
        if row is None:
            raise await not_published(conn, period, now or utcnow(), settings)
    return _check(row)


def _check(row: Any) -> ResultCheck:
    return ResultCheck(
        month=format_period(row.period),
        published_at=row.published_at,
        total_votes=row.total_votes,
        ballots=row.ballots,
        tallies_match=row.tallies_match,
        mismatches=[TallyMismatch(**m) for m in row.tally_mismatches or []],
        notified_at=row.notified_at,
    )


async def ballot_of(*, user_id: int, period: date, db: Database) -> PublishedBallotPublic | None:
    """A member's own published ballot of a month (to find it in the export), or None."""
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(ballots_t)
                .join(votes_t, votes_t.c.id == ballots_t.c.vote_id)
                .where(
                    votes_t.c.user_id == user_id,
                    votes_t.c.period == period,
                    ballots_t.c.period == period,
                )
            )
        ).first()
    if row is None:
        return None
    return PublishedBallotPublic(
        month=format_period(period),
        vote_id=row.vote_id,
        movie_id=row.movie_id,
        cast_at=cast_at_text(row.cast_at),
        voter=row.pseudonym,
        voided=bool(row.voided),
    )


# --- exports ----------------------------------------------------------------------------------


async def published_row(
    *, period: date, now: datetime | None = None, settings: Settings, db: Database
) -> Any:
    """A month's row of month_results; ResultNotFound (when, or why never) if none."""
    async with db.engine.connect() as conn:
        row = (await conn.execute(sa.select(results_t).where(results_t.c.period == period))).first()
        if row is None:
            raise await not_published(conn, period, now or utcnow(), settings)
    return row


async def ballots_csv(
    *, period: date, now: datetime | None = None, settings: Settings, db: Database
) -> AsyncIterator[bytes]:
    """A published month's ballots in the canonical form, streamed (its SHA-256 is the
    month's `ballots_sha256`); ResultNotFound at once if the month has no result."""
    await published_row(period=period, now=now, settings=settings, db=db)

    async def stream() -> AsyncIterator[bytes]:
        async with db.engine.connect() as conn:
            async for chunk in canonical_csv(conn, period):
                yield chunk

    return stream()


async def export_json(
    *, period: date, now: datetime | None = None, settings: Settings, db: Database
) -> AsyncIterator[bytes]:
    """A published month as one JSON document, streamed: month, published_at, tie_break,
    ranking (rank, movie_id, title as published, votes, share), total_votes, ballots_sha256,
    then its ballots, one per line; ResultNotFound at once if the month has no result."""
    row = await published_row(period=period, now=now, settings=settings, db=db)

    async def stream() -> AsyncIterator[bytes]:
        async with db.engine.connect() as conn:
            places = (
                await conn.execute(
                    sa.select(
                        rankings_t.c.rank,
                        rankings_t.c.movie_id,
                        rankings_t.c.title,
                        rankings_t.c.votes,
                    )
                    .where(rankings_t.c.period == period)
                    .order_by(rankings_t.c.rank)
                )
            ).all()
            total = row.total_votes
            head = {
                "month": format_period(period),
                "published_at": row.published_at.astimezone(UTC).isoformat(),
                "tie_break": TIE_BREAK,
                "ranking": [
                    {
                        "rank": rank,
                        "movie_id": movie_id,
                        "title": title,
                        "votes": votes,
                        "share": round(votes / total, 6) if total else 0.0,
                    }
                    for rank, movie_id, title, votes in places
                ],
                "total_votes": total,
                "ballots_sha256": row.ballots_sha256,
            }
            text = json.dumps(head, ensure_ascii=False)
            yield (text[:-1] + ', "ballots": [').encode()
            result = await conn.stream(ballot_rows(conn.dialect.name, period))
            separator = "\n"
            async for rows in result.partitions():
                lines = [
                    json_ballot(vote_id, movie_id, _instant(cast_at), voter, voided)
                    for vote_id, movie_id, cast_at, voter, voided in rows
                ]
                yield (separator + ",\n".join(lines)).encode()
                separator = ",\n"
            yield b"\n]}\n"

    return stream()
