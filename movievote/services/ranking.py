"""Rankings: the most-voted movies of a month and of all time, read from the tallies.

Tie-break (documented): more votes first; among equal counts, the movie that reached its count
first (`reached_at`, the time of the vote that took it there); then the lower movie id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from movievote.db import Database, get_database
from movievote.errors import InvalidInput
from movievote.models import (
    AllTimeTally,
    MonthlyTally,
    Movie,
    PeriodTotal,
    Ranking,
    RankingEntry,
    VoteDelta,
    utcnow,
)
from movievote.periods import ALL_TIME, current_period, format_period
from movievote.services.cache import TTLCache
from movievote.services.catalogue import PUBLIC_COLUMNS, genres_of, to_public
from movievote.services.observer import RankingChange

MAX_LIMIT = 100
FOLD_LOCK_KEY = 0x6D76_0001  # pg advisory lock: one fold at a time across processes
CHANGES_CHANNEL = "movievote_ranking"  # pg NOTIFY channel: "<origin> <YYYY-MM>,<YYYY-MM>..."
Scope = date | Literal["all"]

monthly_t = MonthlyTally.__table__  # type: ignore[attr-defined]
all_time_t = AllTimeTally.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]
deltas_t = VoteDelta.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]


def scope_key(scope: Scope) -> str:
    return ALL_TIME if scope == ALL_TIME else format_period(scope)  # type: ignore[arg-type]


def top_query(scope: Scope, limit: int) -> sa.Select[tuple[object, ...]]:
    """Top `limit` movies of a scope: an ordered index scan of the tally, `limit` movie lookups."""
    tally = all_time_t if scope == ALL_TIME else monthly_t
    query = (
        sa.select(tally.c.votes, *PUBLIC_COLUMNS)
        .join(movies_t, movies_t.c.id == tally.c.movie_id)
        .where(tally.c.votes > 0)
        .order_by(tally.c.votes.desc(), tally.c.reached_at, tally.c.movie_id)
        .limit(limit)
    )
    if scope != ALL_TIME:
        query = query.where(tally.c.period == scope)
    return query


def total_query(scope: Scope) -> sa.Select[tuple[object]]:
    """All votes of a scope: one row for a month, one row per month for all time."""
    query = sa.select(sa.func.coalesce(sa.func.sum(totals_t.c.votes), 0))
    return query if scope == ALL_TIME else query.where(totals_t.c.period == scope)


async def compute_ranking(
    scope: Scope, *, limit: int = MAX_LIMIT, db: Database | None = None
) -> Ranking:
    """The ranking straight from the tallies (no cache)."""
    db = db or get_database()
    async with db.engine.connect() as conn:
        rows = (await conn.execute(top_query(scope, limit))).mappings().all()
        total = int(await conn.scalar(total_query(scope)) or 0)
        genres = await genres_of(conn, [r["id"] for r in rows])
    return Ranking(
        period=scope_key(scope),
        generated_at=utcnow(),
        total_votes=total,
        items=[
            RankingEntry(
                rank=position,
                movie=to_public(row, genres),
                votes=row["votes"],
                share=round(row["votes"] / total, 6) if total else 0.0,
            )
            for position, row in enumerate(rows, start=1)
        ],
    )


class RankingCache:
    """Rankings kept for the TTL (the checklist's 5 minutes) and refreshed when votes land; at
    most `max_entries` scopes (RANKING_CACHE_MAX_ENTRIES), the least recently read go first,
    so asking for many past months cannot grow it without bound."""

    def __init__(self, *, ttl_seconds: float, max_entries: int, db: Database | None = None) -> None:
        self.entries: TTLCache[str, Ranking] = TTLCache(
            ttl_seconds=ttl_seconds, max_entries=max_entries
        )
        self.db = db

    async def get(self, scope: Scope, *, limit: int = 10) -> Ranking:
        """The cached ranking of a scope, cut to `limit` rows."""
        full = await self.entries.get(
            scope_key(scope), lambda: compute_ranking(scope, limit=MAX_LIMIT, db=self.db)
        )
        return (
            full
            if limit >= len(full.items)
            else full.model_copy(update={"items": full.items[:limit]})
        )

    async def ranking_changed(self, change: RankingChange) -> None:
        """Observer: recompute the cached scopes the change touches (all time always)."""
        cached = set(self.entries.keys())
        scopes: list[Scope] = [p for p in sorted(change.periods) if format_period(p) in cached]
        if "all" in cached:
            scopes.append("all")
        fresh = [await compute_ranking(scope, limit=MAX_LIMIT, db=self.db) for scope in scopes]
        for ranking in fresh:  # all at once, so readers never see the month and all-time disagree
            self.entries.put(ranking.period, ranking)
        self.entries.computations += len(fresh)


# PostgreSQL folds in one statement, server-side: no rows travel to Python and back.
PG_FOLD = sa.text(
    """
    WITH d AS (
        DELETE FROM vote_deltas RETURNING period, movie_id, delta, voted_at
    ), m AS (
        SELECT period, movie_id, sum(delta)::int AS votes, max(voted_at) AS reached_at
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
    )
    INSERT INTO period_totals (period, votes)
    SELECT period, sum(delta)::int FROM d GROUP BY period
    ON CONFLICT (period) DO UPDATE SET votes = period_totals.votes + EXCLUDED.votes
    RETURNING period
    """
).columns(period=sa.Date())


@dataclass
class _Sum:
    votes: int = 0
    reached_at: datetime | None = None

    def add(self, votes: int, at: datetime | None) -> None:
        self.votes += votes
        if at is not None and (self.reached_at is None or at > self.reached_at):
            self.reached_at = at


async def fold_vote_deltas(*, db: Database | None = None, origin: str = "") -> set[date]:
    """Move pending vote deltas into the tallies; returns the periods that changed.

    One folder at a time (a PostgreSQL advisory lock); DELETE ... RETURNING takes exactly the
    committed deltas, so a vote committing meanwhile is folded next time, never lost or doubled.
    On PostgreSQL a fold that changed anything also sends one NOTIFY on CHANGES_CHANNEL, in the
    same transaction (so it is heard exactly when the new tallies are visible), naming `origin`
    and the periods: every other process then knows, whoever cast the votes (services.changes).
    """
    db = db or get_database()
    if db.dialect == "postgresql":
        async with db.transaction() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(FOLD_LOCK_KEY)))
            periods = set(await conn.scalars(PG_FOLD))
            if periods:
                payload = f"{origin} {','.join(sorted(format_period(p) for p in periods))}"
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
        for period, movie_id, delta, voted_at in rows:
            monthly[(period, movie_id)].add(delta, voted_at)
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


async def rebuild_tallies(*, db: Database | None = None) -> None:
    """Recompute every tally from the votes themselves (repair and verification path)."""
    db = db or get_database()
    votes = sa.table("votes", sa.column("period"), sa.column("movie_id"), sa.column("created_at"))
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
                ).group_by(votes.c.period, votes.c.movie_id),
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


async def ranking_for(
    scope: Scope | None = None,
    *,
    limit: int = 10,
    cache: RankingCache,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> Ranking:
    """The ranking of a month (default: the current one in `zone`) or of all time, through
    the cache."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"The limit must be 1 to {MAX_LIMIT}.", field="limit")
    return await cache.get(scope or current_period(zone, now), limit=limit)


async def periods_with_votes(*, db: Database | None = None) -> list[date]:
    """Every month that has votes, newest first (for choosing a past month's ranking)."""
    db = db or get_database()
    async with db.engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(totals_t.c.period)
            .where(totals_t.c.votes > 0)
            .order_by(totals_t.c.period.desc())
        )
        return list(rows)
