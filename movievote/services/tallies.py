"""The tallies the rankings are read from: votes folded in from the append-only deltas a
database trigger writes, or rebuilt from the votes; and the NOTIFY each fold sends other
processes, written and read here (`notify_payload`, `parse_payload`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.db import Database
from movievote.models import AllTimeTally, MonthlyTally, Movie, PeriodTotal, Vote, VoteDelta
from movievote.periods import format_period, parse_period

FOLD_LOCK_KEY = 0x6D76_0001  # pg advisory lock: one fold at a time across processes
CHANGES_CHANNEL = "movievote_ranking"  # pg NOTIFY channel: "<origin> <YYYY-MM>,<YYYY-MM>..."

monthly_t = MonthlyTally.__table__  # type: ignore[attr-defined]
all_time_t = AllTimeTally.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]
deltas_t = VoteDelta.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]


def notify_payload(origin: str, periods: set[date]) -> str:
    """What a fold tells other processes: who folded, and which months changed."""
    return f"{origin} {','.join(sorted(format_period(p) for p in periods))}"


def parse_payload(payload: str) -> tuple[str, set[date]]:
    """The origin and months of a `notify_payload`."""
    origin, _, months = payload.partition(" ")
    return origin, {parse_period(m) for m in months.split(",") if m}


# PostgreSQL folds in one statement, server-side: no rows travel to Python and back. It returns
# the periods whose totals changed (movie_id NULL) and the (period, movie) pairs that lost a
# vote (a void, a deleted vote), whose reached_at `_settle_reached_at` recomputes next.
PG_FOLD = sa.text(
    """
    WITH d AS (
        DELETE FROM vote_deltas RETURNING period, movie_id, delta, voted_at
    ), m AS (
        SELECT period, movie_id, sum(delta)::int AS votes, max(voted_at) AS reached_at,
               bool_or(delta < 0) AS lowered
        FROM d WHERE movie_id IN (SELECT id FROM movies) GROUP BY period, movie_id
    ), monthly AS (
        INSERT INTO monthly_tallies (period, movie_id, votes, reached_at)
        SELECT period, movie_id, votes, reached_at FROM m
        ON CONFLICT (period, movie_id) DO UPDATE
        SET votes = monthly_tallies.votes + EXCLUDED.votes,
            reached_at = GREATEST(monthly_tallies.reached_at, EXCLUDED.reached_at)
    ), all_time AS (
        INSERT INTO all_time_tallies (movie_id, votes, reached_at)
        SELECT movie_id, sum(votes)::int, max(reached_at) FROM m GROUP BY movie_id
        ON CONFLICT (movie_id) DO UPDATE
        SET votes = all_time_tallies.votes + EXCLUDED.votes,
            reached_at = GREATEST(all_time_tallies.reached_at, EXCLUDED.reached_at)
    ), totals AS (
        INSERT INTO period_totals (period, votes)
        SELECT period, sum(delta)::int FROM d GROUP BY period
        ON CONFLICT (period) DO UPDATE SET votes = period_totals.votes + EXCLUDED.votes
        RETURNING period
    )
    SELECT period, NULL::int AS movie_id FROM totals
    UNION ALL
    SELECT period, movie_id FROM m WHERE lowered
    """
).columns(period=sa.Date(), movie_id=sa.Integer())


def _latest_vote_of_month() -> sa.ScalarSelect[object]:
    return (
        sa.select(sa.func.max(votes_t.c.created_at))
        .where(
            votes_t.c.period == monthly_t.c.period,
            votes_t.c.movie_id == monthly_t.c.movie_id,
            votes_t.c.voided_at.is_(None),
        )
        .scalar_subquery()
    )


# A month's reached_at from its votes (an index range scan of ix_votes_period_movie_id), and
# the all-time one from the months, as rebuild_tallies computes them. A movie left with no
# counted vote keeps its time: its row has 0 votes, which no ranking shows.
_SETTLE_MONTH = (
    sa.update(monthly_t)
    .where(
        monthly_t.c.period == sa.bindparam("lowered_period"),
        monthly_t.c.movie_id == sa.bindparam("lowered_movie"),
    )
    .values(reached_at=sa.func.coalesce(_latest_vote_of_month(), monthly_t.c.reached_at))
)
_SETTLE_ALL_TIME = (
    sa.update(all_time_t)
    .where(all_time_t.c.movie_id == sa.bindparam("lowered_movie"))
    .values(
        reached_at=sa.func.coalesce(
            sa.select(sa.func.max(monthly_t.c.reached_at))
            .where(monthly_t.c.movie_id == all_time_t.c.movie_id, monthly_t.c.votes > 0)
            .scalar_subquery(),
            all_time_t.c.reached_at,
        )
    )
)


async def _settle_reached_at(conn: AsyncConnection, lowered: set[tuple[date, int]]) -> None:
    """After a fold that took votes away: the folds' GREATEST can only move `reached_at` later,
    but the vote that took a movie to its count may be the one just voided or deleted, so the
    tie-break would keep its time. Recompute it, in the fold's transaction, for the
    (period, movie) pairs that lost a vote and for those movies' all-time rows."""
    if not lowered:
        return
    pairs = sorted(lowered)
    await conn.execute(_SETTLE_MONTH, [{"lowered_period": p, "lowered_movie": m} for p, m in pairs])
    await conn.execute(
        _SETTLE_ALL_TIME, [{"lowered_movie": m} for m in sorted({m for _, m in pairs})]
    )


@dataclass
class _Sum:
    votes: int = 0
    reached_at: datetime | None = None

    def add(self, votes: int, at: datetime | None) -> None:
        self.votes += votes
        if at is not None and (self.reached_at is None or at > self.reached_at):
            self.reached_at = at


async def fold_vote_deltas(*, db: Database, origin: str = "") -> set[date]:
    """Move pending vote deltas into the tallies; returns the periods that changed.

    One folder at a time (a PostgreSQL advisory lock); DELETE ... RETURNING takes exactly the
    committed deltas, so a vote committing meanwhile is folded next time, never lost or doubled.
    On PostgreSQL a fold that changed anything also sends one NOTIFY on CHANGES_CHANNEL, in the
    same transaction (so it is heard exactly when the new tallies are visible), naming `origin`
    and the periods: every other process then knows, whoever cast the votes (services.changes).
    """
    if db.dialect == "postgresql":
        async with db.transaction() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(FOLD_LOCK_KEY)))
            folded = (await conn.execute(PG_FOLD)).all()
            periods = {period for period, movie_id in folded if movie_id is None}
            await _settle_reached_at(
                conn, {(period, movie_id) for period, movie_id in folded if movie_id is not None}
            )
            if periods:
                payload = notify_payload(origin, periods)
                await conn.execute(sa.select(sa.func.pg_notify(CHANGES_CHANNEL, payload)))
            return periods
    async with db.transaction() as conn:  # SQLite: one writer at a time anyway
        rows = (
            await conn.execute(
                sa.delete(deltas_t).returning(
                    deltas_t.c.period, deltas_t.c.movie_id, deltas_t.c.delta, deltas_t.c.voted_at
                )
            )
        ).all()
        if not rows:
            return set()
        monthly: dict[tuple[date, int], _Sum] = defaultdict(_Sum)
        lowered: set[tuple[date, int]] = set()
        for period, movie_id, delta, voted_at in rows:
            monthly[(period, movie_id)].add(delta, voted_at)
            if delta < 0:
                lowered.add((period, movie_id))
        live = set(
            await conn.scalars(
                sa.select(movies_t.c.id).where(movies_t.c.id.in_({m for _, m in monthly}))
            )
        )
        all_time: dict[int, _Sum] = defaultdict(_Sum)
        totals: dict[date, int] = defaultdict(int)
        for (period, movie_id), summed in monthly.items():
            totals[period] += summed.votes
            all_time[movie_id].add(summed.votes, summed.reached_at)
        month_rows = [
            {"period": p, "movie_id": m, "votes": t.votes, "reached_at": t.reached_at}
            for (p, m), t in sorted(monthly.items())
            if m in live
        ]
        movie_rows = [
            {"movie_id": m, "votes": t.votes, "reached_at": t.reached_at}
            for m, t in sorted(all_time.items())
            if m in live
        ]
        if month_rows:
            await conn.execute(_add_votes(db, monthly_t, ["period", "movie_id"]), month_rows)
        if movie_rows:
            await conn.execute(_add_votes(db, all_time_t, ["movie_id"]), movie_rows)
        await _settle_reached_at(conn, {(p, m) for p, m in lowered if m in live})
        total_rows = [{"period": p, "votes": v} for p, v in sorted(totals.items())]
        await conn.execute(_add_votes(db, totals_t, ["period"]), total_rows)
    return set(totals)


def _add_votes(db: Database, table: sa.Table, keys: list[str]) -> sa.Executable:
    statement = db.insert(table)
    updates = {"votes": table.c.votes + statement.excluded.votes}
    if "reached_at" in table.c:
        newer = statement.excluded.reached_at > table.c.reached_at
        updates["reached_at"] = sa.case(
            (newer, statement.excluded.reached_at), else_=table.c.reached_at
        )
    return statement.on_conflict_do_update(index_elements=keys, set_=updates)


async def rebuild_tallies(*, db: Database) -> None:
    """Recompute every tally from the votes themselves, voided votes left out (repair and
    verification path)."""
    votes = sa.table(
        "votes",
        sa.column("period"),
        sa.column("movie_id"),
        sa.column("created_at"),
        sa.column("voided_at"),
    )
    async with db.transaction() as conn:
        if db.dialect == "postgresql":
            # maintenance, not a request: millions of votes may take longer than a request may
            await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(FOLD_LOCK_KEY)))
        for table in (deltas_t, monthly_t, all_time_t, totals_t):
            await conn.execute(sa.delete(table))
        await conn.execute(
            sa.insert(monthly_t).from_select(
                ["period", "movie_id", "votes", "reached_at"],
                sa.select(
                    votes.c.period,
                    votes.c.movie_id,
                    sa.func.count(),
                    sa.func.max(votes.c.created_at),
                )
                .where(votes.c.voided_at.is_(None))  # a voided vote is not counted
                .group_by(votes.c.period, votes.c.movie_id),
            )
        )
        await conn.execute(
            sa.insert(all_time_t).from_select(
                ["movie_id", "votes", "reached_at"],
                sa.select(
                    monthly_t.c.movie_id,
                    sa.func.sum(monthly_t.c.votes),
                    sa.func.max(monthly_t.c.reached_at),
                ).group_by(monthly_t.c.movie_id),
            )
        )
        await conn.execute(
            sa.insert(totals_t).from_select(
                ["period", "votes"],
                sa.select(monthly_t.c.period, sa.func.sum(monthly_t.c.votes)).group_by(
                    monthly_t.c.period
                ),
            )
        )
