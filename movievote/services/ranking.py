"""Rankings: the most-voted movies of a month and of all time, read from the tallies (which
services/tallies.py keeps; services/ranking_cache.py keeps the rankings people read).

Tie-break (documented): more votes first; among equal counts, the movie that reached its count
first (`reached_at`, the time of the vote that took it there); then the lower movie id.

Languages: a ranking is read once, in English, its movies' translations LEFT JOINed in the same
query (by primary key: N lookups per language, no extra round trip), and kept that way
(`RankingSnapshot`): the ranking in another language is derived from it in memory, once per
snapshot and language, so a cache of snapshots serves every language with no query and no
recomputation per language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import sqlalchemy as sa

from movievote.db import Database
from movievote.i18n import checked_language
from movievote.languages import DEFAULT_LANGUAGE
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
from movievote.services.catalogue import (
    PUBLIC_COLUMNS,
    genres_of,
    to_public,
    translations_in,
    with_translations,
)

MAX_LIMIT = 100
Scope = date | Literal["all"]

monthly_t = MonthlyTally.__table__  # type: ignore[attr-defined]
all_time_t = AllTimeTally.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]
deltas_t = VoteDelta.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]


def scope_key(scope: Scope) -> str:
    return ALL_TIME if scope == ALL_TIME else format_period(scope)


# each tally joined to the movies and their translations (built once: it is the same every time)
_RANKED = {
    tally.name: with_translations(tally.join(movies_t, movies_t.c.id == tally.c.movie_id))
    for tally in (monthly_t, all_time_t)
}


def top_query(scope: Scope, limit: int) -> sa.Select[tuple[object, ...]]:
    """Top `limit` movies of a scope, in every language: an ordered index scan of the tally,
    `limit` movie lookups and `limit` translation lookups per language."""
    tally = all_time_t if scope == ALL_TIME else monthly_t
    source, translated = _RANKED[tally.name]
    query = (
        sa.select(tally.c.votes, *PUBLIC_COLUMNS, *translated)
        .select_from(source)
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


@dataclass
class RankingSnapshot:
    """A ranking as read from the tallies, in the catalogue's default language, with the
    translated title and overview of its movies (movie id -> language -> (title, overview)).
    `in_language` builds the ranking in another language on first use and keeps it."""

    ranking: Ranking
    translations: dict[int, dict[str, tuple[str, str]]]
    _languages: dict[str, Ranking] = field(default_factory=dict, repr=False)

    def in_language(self, language: str) -> Ranking:
        """The ranking with each movie's title and overview in `language` (English where a
        movie has no translation); the same object on every call."""
        if language == DEFAULT_LANGUAGE or not self.translations:
            return self.ranking
        found = self._languages.get(language)
        if found is None:
            found = self._languages[language] = self._translated(language)
        return found

    def _translated(self, language: str) -> Ranking:
        items = []
        for entry in self.ranking.items:
            text = self.translations.get(entry.movie.id, {}).get(language)
            if text is not None:
                movie = entry.movie.model_copy(update={"title": text[0], "overview": text[1]})
                entry = entry.model_copy(update={"movie": movie})
            items.append(entry)
        return self.ranking.model_copy(update={"items": items})


async def read_ranking(scope: Scope, *, limit: int = MAX_LIMIT, db: Database) -> RankingSnapshot:
    """The ranking straight from the tallies (no cache), with its movies' translations."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(top_query(scope, limit))).mappings().all()
        total = int(await conn.scalar(total_query(scope)) or 0)
        genres = await genres_of(conn, [r["id"] for r in rows])
    # built without validation: the database's own typed values, and this runs after every
    # fold for every cached scope (validating 100 rows cost about half of it under load)
    ranking = Ranking.model_construct(
        period=scope_key(scope),
        generated_at=utcnow(),
        total_votes=total,
        items=[
            RankingEntry.model_construct(
                rank=position,
                movie=to_public(row, genres, validate=False),
                votes=row["votes"],
                share=round(row["votes"] / total, 6) if total else 0.0,
            )
            for position, row in enumerate(rows, start=1)
        ],
    )
    translations = {row["id"]: found for row in rows if (found := translations_in(row))}
    return RankingSnapshot(ranking, translations)


async def compute_ranking(
    scope: Scope, *, limit: int = MAX_LIMIT, language: str = DEFAULT_LANGUAGE, db: Database
) -> Ranking:
    """The ranking straight from the tallies (no cache), titles and overviews in `language`."""
    language = checked_language(language)
    return (await read_ranking(scope, limit=limit, db=db)).in_language(language)


async def periods_with_votes(*, db: Database) -> list[date]:
    """Every month that has votes, newest first (for choosing a past month's ranking)."""
    async with db.engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(totals_t.c.period)
            .where(totals_t.c.votes > 0)
            .order_by(totals_t.c.period.desc())
        )
        return list(rows)
