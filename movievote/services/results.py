"""Month results: a month closes at midnight in the vote time zone; once the grace for voiding
has passed (`periods.results_due`) its result is published, final, with an export anyone can
re-check (services/ballots.py holds the canonical form and the verification).

Publishing a month (`publish_month`) freezes its votes into `published_ballots` with one
INSERT ... SELECT (the voter as a pseudonym for the month), computes the ranking from those
frozen ballots (the ones not voided, by the tie-break), checks it against the live tallies,
hashes the canonical ballots CSV as it streams, and stores it all in one transaction with its
audit row. Exactly one of several racing publishers publishes (a per-month lock on
PostgreSQL, and the month's primary key everywhere), and only that one tells the members.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.errors import ResultNotDue, ResultNotFound
from movievote.i18n import N_, Day, Month
from movievote.models import (
    MonthlyTally,
    MonthRanking,
    MonthResult,
    Movie,
    PeriodTotal,
    PublishedBallot,
    Vote,
    VoteDelta,
    utcnow,
)
from movievote.periods import format_period, next_period, period_of, previous_period, results_due
from movievote.services.admin import Actor, record
from movievote.services.announcements import (
    ANNOUNCE_WITHIN,
    announce_result,
    close_announcement,
    resume_announcements,
)
from movievote.services.ballots import (
    Place,
    cast_at_text,
    hmac_pads,
    pseudonym,
    pseudonym_key,
    rank_movies,
)
from movievote.services.dispatcher import NotificationDispatcher
from movievote.services.published import canonical_csv, has_votes
from movievote.services.tallies import fold_vote_deltas

logger = logging.getLogger("movievote.results")

SYSTEM = Actor(None, "system")  # the background publisher
PUBLISH_LOCK = 0x6D76_0002  # pg advisory lock (PUBLISH_LOCK, yyyymm): one publisher per month
PUBLISH_INTERVAL_SECONDS = 60.0

results_t = MonthResult.__table__  # type: ignore[attr-defined]
rankings_t = MonthRanking.__table__  # type: ignore[attr-defined]
ballots_t = PublishedBallot.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
monthly_t = MonthlyTally.__table__  # type: ignore[attr-defined]
deltas_t = VoteDelta.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]


# --- which months are due -------------------------------------------------------------------


def first_open_period(now: datetime, settings: Settings) -> date:
    """The earliest month whose result is not yet due at `now`: every month before it is."""
    period = period_of(now, settings.zone)  # the current month is never due
    while results_due(previous_period(period), settings.zone, settings.results_grace_hours) > now:
        period = previous_period(period)
    return period


async def next_publication(
    *, now: datetime | None = None, settings: Settings, db: Database
) -> tuple[date, datetime]:
    """The month whose result comes out next, and when: the earliest month not yet due that
    has votes, else the current month (it may still get some)."""
    now = now or utcnow()
    period, current = first_open_period(now, settings), period_of(now, settings.zone)
    async with db.engine.connect() as conn:
        while period < current and not await has_votes(conn, period):
            period = next_period(period)
    return period, results_due(period, settings.zone, settings.results_grace_hours)


# The months that have votes, before :before: a loose index scan of ix_votes_period_movie_id
# (one probe per month, whatever the number of votes), the same on both databases.
_PERIODS_WITH_VOTES = (
    sa.text(
        """
        WITH RECURSIVE months(period) AS (
            SELECT min(period) FROM votes
            UNION ALL
            SELECT (SELECT min(v.period) FROM votes v WHERE v.period > months.period)
            FROM months WHERE months.period < :before
        )
        SELECT period FROM months WHERE period < :before
        """
    )
    .bindparams(sa.bindparam("before", type_=sa.Date()))
    .columns(period=sa.Date())
)


async def months_due(
    *, now: datetime | None = None, settings: Settings, db: Database
) -> list[date]:
    """The months with votes whose result is due at `now` and not yet published, oldest first."""
    before = first_open_period(now or utcnow(), settings)
    async with db.engine.connect() as conn:
        with_votes = list(await conn.scalars(_PERIODS_WITH_VOTES, {"before": before}))
        published = set(
            await conn.scalars(sa.select(results_t.c.period).where(results_t.c.period < before))
        )
    return [period for period in with_votes if period not in published]


def _not_due(period: date, due: datetime, settings: Settings) -> ResultNotDue:
    local = due.astimezone(settings.zone)
    return ResultNotDue(
        N_(
            "The result of {month} is final on {day} at {time} ({zone}): it cannot be "
            "published before."
        ),
        month=Month(period),
        day=Day(local),
        time=f"{local:%H:%M}",
        zone=settings.vote_timezone,
    )


# --- publishing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """What one publisher published (the one that won the month)."""

    period: date
    published_at: datetime
    total_votes: int
    ballots: int
    ballots_sha256: str
    ranking: list[Place]
    tallies_match: bool
    mismatches: list[dict[str, Any]]

    @property
    def winner(self) -> Place | None:
        return self.ranking[0] if self.ranking else None


def _freeze_statement(dialect: str) -> sa.TextClause:
    """INSERT ... SELECT of a month's votes into published_ballots, the voter replaced by the
    month's pseudonym. PostgreSQL computes HMAC-SHA256 from its built-in sha256() and the
    padded keys (RFC 2104); SQLite calls `movievote_pseudonym`, registered on the connection."""
    voter = (
        "substr(encode(sha256(CAST(:outer_key AS bytea) || sha256(CAST(:inner_key AS bytea) || "
        "convert_to(:prefix || user_id::text, 'UTF8'))), 'hex'), 1, 16)"
        if dialect == "postgresql"
        else "movievote_pseudonym(user_id)"
    )
    statement = sa.text(
        "INSERT INTO published_ballots (period, vote_id, movie_id, cast_at, pseudonym, voided) "
        f"SELECT period, id, movie_id, created_at, {voter}, voided_at IS NOT NULL "
        "FROM votes WHERE period = :period"
    ).bindparams(sa.bindparam("period", type_=sa.Date()))
    if dialect == "postgresql":
        statement = statement.bindparams(
            sa.bindparam("outer_key", type_=sa.LargeBinary()),
            sa.bindparam("inner_key", type_=sa.LargeBinary()),
            sa.bindparam("prefix", type_=sa.String()),
        )
    return statement


async def _freeze(conn: AsyncConnection, period: date, settings: Settings, dialect: str) -> int:
    """Copy the month's votes into published_ballots; how many."""
    key = pseudonym_key(settings.secret_key)
    params: dict[str, Any] = {"period": period}
    if dialect == "postgresql":
        inner, outer = hmac_pads(key)
        params |= {"inner_key": inner, "outer_key": outer, "prefix": f"{format_period(period)}:"}
    else:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function(  # type: ignore[union-attr]
            "movievote_pseudonym",
            1,
            lambda user_id: pseudonym(key, period, int(user_id)),
            deterministic=True,
        )
    result = await conn.execute(_freeze_statement(dialect), params)
    return int(result.rowcount)


async def _counted(conn: AsyncConnection, period: date) -> tuple[list[Place], dict[int, str]]:
    """The ranking of the month's frozen ballots that are not voided, and the titles."""
    rows = (
        await conn.execute(
            sa.select(
                ballots_t.c.movie_id,
                sa.func.count(),
                sa.func.max(ballots_t.c.cast_at),
                sa.func.max(movies_t.c.title),
            )
            .select_from(ballots_t.outerjoin(movies_t, movies_t.c.id == ballots_t.c.movie_id))
            .where(ballots_t.c.period == period, ballots_t.c.voided.is_(False))
            .group_by(ballots_t.c.movie_id)
        )
    ).all()
    counts = {movie_id: (votes, cast_at_text(last)) for movie_id, votes, last, _ in rows}
    titles = {movie_id: title or "" for movie_id, _, _, title in rows}
    return rank_movies(counts), titles


async def _tally_mismatches(
    conn: AsyncConnection, period: date, ranking: Sequence[Place]
) -> list[dict[str, Any]]:
    """Where the live tallies (folded, plus any delta not folded yet) disagree with the ballots
    counted; empty when they agree. In the publication's snapshot, so a vote deleted meanwhile
    cannot look like a disagreement."""
    tallies: dict[int, int] = dict(
        (
            await conn.execute(
                sa.select(monthly_t.c.movie_id, monthly_t.c.votes).where(
                    monthly_t.c.period == period
                )
            )
        ).all()
    )
    pending = (
        await conn.execute(
            sa.select(deltas_t.c.movie_id, sa.func.sum(deltas_t.c.delta))
            .where(deltas_t.c.period == period)
            .group_by(deltas_t.c.movie_id)
        )
    ).all()
    for movie_id, delta in pending:
        tallies[movie_id] = tallies.get(movie_id, 0) + int(delta)
    counted = {place.movie_id: place.votes for place in ranking}
    found: list[dict[str, Any]] = [
        {
            "movie_id": movie_id,
            "ballots": counted.get(movie_id, 0),
            "tallies": tallies.get(movie_id, 0),
        }
        for movie_id in sorted(set(tallies) | set(counted))
        if counted.get(movie_id, 0) != tallies.get(movie_id, 0)
    ]
    total = int(
        await conn.scalar(sa.select(totals_t.c.votes).where(totals_t.c.period == period)) or 0
    ) + sum(int(delta) for _, delta in pending)
    if total != sum(counted.values()):
        found.append({"movie_id": None, "ballots": sum(counted.values()), "tallies": total})
    return found


def _lost_race(error: sa.exc.DBAPIError) -> bool:
    """Another publisher committed the month while this one was at it (PostgreSQL:
    serialization failure under REPEATABLE READ, or the primary key)."""
    return getattr(error.orig, "sqlstate", None) in ("40001", "23505")


async def _publish(
    period: date, now: datetime, actor: Actor, settings: Settings, db: Database
) -> Publication | None:
    """The publication's one transaction; None if another publisher has (or is doing) it."""
    async with contextlib.AsyncExitStack() as stack:
        if db.dialect == "postgresql":
            # a session lock, taken before the transaction's snapshot: whoever holds it sees
            # everything committed before (a void racing the deadline takes it shared)
            holder = await stack.enter_async_context(db.autocommit())
            lock = (PUBLISH_LOCK, period.year * 100 + period.month)
            if not await holder.scalar(sa.select(sa.func.pg_try_advisory_lock(*lock))):
                return None
            stack.push_async_callback(_unlock, holder, lock)
        try:
            return await _publish_locked(period, now, actor, settings, db)
        except sa.exc.DBAPIError as error:
            if _lost_race(error):
                return None
            raise


async def _unlock(holder: AsyncConnection, lock: tuple[int, int]) -> None:
    try:
        await holder.execute(sa.select(sa.func.pg_advisory_unlock(*lock)))
    except Exception:  # the lock must not outlive this publication on a pooled connection
        await holder.invalidate()
        raise


async def _publish_locked(
    period: date, now: datetime, actor: Actor, settings: Settings, db: Database
) -> Publication | None:
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            # one snapshot for the ballots, the tallies and the deltas: they are compared
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            if db.dialect == "postgresql":
                # a month of a million votes takes longer than a request may
                await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            claimed = await conn.scalar(
                db.insert(results_t)
                .values(
                    period=period,
                    published_at=now,
                    total_votes=0,
                    ballots=0,
                    ballots_sha256="",
                    tallies_match=False,
                    notifying_since=now,  # the publisher tells the members: it holds the lease
                )
                .on_conflict_do_nothing(index_elements=["period"])
                .returning(results_t.c.period)
            )
            if claimed is None:
                return None
            frozen = await _freeze(conn, period, settings, db.dialect)
            ranking, titles = await _counted(conn, period)
            mismatches = await _tally_mismatches(conn, period, ranking)
            if ranking:
                await conn.execute(
                    sa.insert(rankings_t),
                    [
                        {
                            "period": period,
                            "rank": place.rank,
                            "movie_id": place.movie_id,
                            "title": titles[place.movie_id],
                            "votes": place.votes,
                            "reached_at": datetime.fromisoformat(place.reached_at),
                        }
                        for place in ranking
                    ],
                )
            digest = hashlib.sha256()
            async for chunk in canonical_csv(conn, period):
                digest.update(chunk)
            total = sum(place.votes for place in ranking)
            published = Publication(
                period=period,
                published_at=now,
                total_votes=total,
                ballots=frozen,
                ballots_sha256=digest.hexdigest(),
                ranking=ranking,
                tallies_match=not mismatches,
                mismatches=mismatches,
            )
            await conn.execute(
                sa.update(results_t)
                .where(results_t.c.period == period)
                .values(
                    total_votes=total,
                    ballots=frozen,
                    winner_movie_id=ranking[0].movie_id if ranking else None,
                    ballots_sha256=published.ballots_sha256,
                    tallies_match=published.tallies_match,
                    tally_mismatches=mismatches or None,
                )
            )
            await record(
                conn,
                actor=actor,
                action="month.publish",
                target_type="month",
                target_id=format_period(period),
                before=None,
                after={
                    "total_votes": total,
                    "ballots": frozen,
                    "winner_movie_id": ranking[0].movie_id if ranking else None,
                    "ballots_sha256": published.ballots_sha256,
                    "tallies_match": published.tallies_match,
                },
            )
    return published


async def publish_month(
    *,
    period: date,
    now: datetime | None = None,
    actor: Actor = SYSTEM,
    settings: Settings,
    db: Database,
    dispatcher: NotificationDispatcher,
) -> Publication | None:
    """Publish a month's result, final, then tell every member the movie of the month (if it
    is published within ANNOUNCE_WITHIN of being due: upgrading an installation with two
    years of votes publishes them all at once, and tells nobody about two-year-old news).

    ResultNotDue before `results_due`; ResultNotFound for a month nobody voted in. Idempotent:
    None if the month is published already, or another publisher is at it right now (the
    one that wins it tells the members). Tallies that disagree with the ballots do not stop
    the publication (the ballots are the truth): the disagreement is logged as an error and
    kept for admins (`result_check`)."""
    now = now or utcnow()
    period = date(period.year, period.month, 1)
    due = results_due(period, settings.zone, settings.results_grace_hours)
    if due > now:
        raise _not_due(period, due, settings)
    async with db.engine.connect() as conn:
        if await conn.scalar(sa.select(results_t.c.period).where(results_t.c.period == period)):
            return None
        if not await has_votes(conn, period):
            raise ResultNotFound(
                N_("Nobody voted in {month}: there is no result to publish."), month=Month(period)
            )
    await fold_vote_deltas(db=db)  # what the check compares with is as fresh as it can be
    published = await _publish(period, now, actor, settings, db)
    if published is None:
        return None
    winner = published.winner
    logger.info(
        "published %s: %d votes counted of %d ballots, winner %s, ballots sha256 %s (by %s)",
        format_period(period),
        published.total_votes,
        published.ballots,
        winner.movie_id if winner else None,
        published.ballots_sha256,
        actor.label,
    )
    if not published.tallies_match:
        logger.error(
            "the tallies of %s disagree with its ballots (published from the ballots): %s",
            format_period(period),
            "; ".join(
                f"{'total' if m['movie_id'] is None else 'movie ' + str(m['movie_id'])}: "
                f"ballots {m['ballots']}, tallies {m['tallies']}"
                for m in published.mismatches
            ),
        )
    if now - due <= ANNOUNCE_WITHIN:
        await announce_result(
            period=period, now=now, lease_held=True, settings=settings, db=db, dispatcher=dispatcher
        )
    else:  # a month published long after it closed (a first deployment): news no longer
        await close_announcement(period=period, now=now, db=db)
        logger.info(
            "%s was published %s after it was due: the members are not told",
            format_period(period),
            now - due,
        )
    return published


async def publish_due(
    *,
    now: datetime | None = None,
    actor: Actor = SYSTEM,
    settings: Settings,
    db: Database,
    dispatcher: NotificationDispatcher,
) -> list[Publication]:
    """Publish every month that is due (oldest first), and finish telling the members of a
    month whose publisher stopped half-way; what this call published."""
    now = now or utcnow()
    done = []
    for period in await months_due(now=now, settings=settings, db=db):
        try:
            published = await publish_month(
                period=period, now=now, actor=actor, settings=settings, db=db, dispatcher=dispatcher
            )
        except Exception:
            logger.exception("publishing %s failed; retrying at the next round", period)
            continue
        if published is not None:
            done.append(published)
    await resume_announcements(now=now, settings=settings, db=db, dispatcher=dispatcher)
    return done


async def run_publisher(
    *,
    settings: Settings,
    db: Database,
    dispatcher: NotificationDispatcher,
    interval_seconds: float = PUBLISH_INTERVAL_SECONDS,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Every serving process, forever: publish the months that are due every interval (the
    first at once). Several processes may run it: one publishes each month."""
    while True:
        try:
            await publish_due(now=clock(), settings=settings, db=db, dispatcher=dispatcher)
        except Exception:
            logger.exception("publishing the months due failed")
        await asyncio.sleep(interval_seconds)
