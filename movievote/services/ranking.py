"""Rankings: the most-voted movies of a month and of all time, read from the tallies (which
services/tallies.py keeps; services/ranking_cache.py keeps the rankings people read).

Tie-break (documented): more votes first; among equal counts, the movie that reached its count
first (`reached_at`, the time of the vote that took it there); then the lower movie id.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import sqlalchemy as sa

from movievote.db import Database
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
from movievote.periods import ALL_TIME, format_period
from movievote.services.catalogue import PUBLIC_COLUMNS, genres_of, to_public

MAX_LIMIT = 100
Scope = date | Literal["all"]

monthly_t = MonthlyTally.__table__  # type: ignore[attr-defined]
all_time_t = AllTimeTally.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]
deltas_t = VoteDelta.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]


def scope_key(scope: Scope) -> str:
    return ALL_TIME if scope == ALL_TIME else format_period(scope)


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


async def compute_ranking(scope: Scope, *, limit: int = MAX_LIMIT, db: Database) -> Ranking:
    """The ranking straight from the tallies (no cache)."""
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


async def periods_with_votes(*, db: Database) -> list[date]:
    """Every month that has votes, newest first (for choosing a past month's ranking)."""
    async with db.engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(totals_t.c.period)
            .where(totals_t.c.votes > 0)
            .order_by(totals_t.c.period.desc())
        )
        return list(rows)
