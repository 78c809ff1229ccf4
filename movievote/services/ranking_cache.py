"""The rankings people read, kept for the TTL and refreshed when votes land (an observer of
the ranking subject), in every language from one entry per scope."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from movievote.db import Database
from movievote.errors import InvalidInput
from movievote.i18n import N_, checked_language
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import Ranking
from movievote.periods import current_period, format_period
from movievote.services.cache import TTLCache
from movievote.services.observer import RankingChange
from movievote.services.ranking import MAX_LIMIT, RankingSnapshot, Scope, read_ranking, scope_key


class RankingCache:
    """Rankings kept for the TTL (the checklist's 5 minutes) and refreshed when votes land; at
    most `max_entries` scopes (RANKING_CACHE_MAX_ENTRIES), the least recently read go first,
    so asking for many past months cannot grow it without bound.

    An entry is a scope's RankingSnapshot: the English ranking and its movies' translations,
    read together; each language's ranking is derived from it on first read and kept with it,
    so languages add no entry, no query and no recomputation after a vote."""

    def __init__(self, *, ttl_seconds: float, max_entries: int, db: Database) -> None:
        self.entries: TTLCache[str, RankingSnapshot] = TTLCache(
            ttl_seconds=ttl_seconds, max_entries=max_entries
        )
        self.db = db

    async def get(
        self, scope: Scope, *, limit: int = 10, language: str = DEFAULT_LANGUAGE
    ) -> Ranking:
        """The cached ranking of a scope in a language, cut to `limit` rows."""
        snapshot = await self.entries.get(
            scope_key(scope), lambda: read_ranking(scope, limit=MAX_LIMIT, db=self.db)
        )
        full = snapshot.in_language(language)
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
        fresh = [await read_ranking(scope, limit=MAX_LIMIT, db=self.db) for scope in scopes]
        for snapshot in fresh:  # all at once, so readers never see the month and all-time disagree
            self.entries.put(snapshot.ranking.period, snapshot)
        self.entries.computations += len(fresh)


async def ranking_for(
    scope: Scope | None = None,
    *,
    limit: int = 10,
    language: str = DEFAULT_LANGUAGE,
    cache: RankingCache,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> Ranking:
    """The ranking of a month (default: the current one in `zone`) or of all time, through
    the cache, with the movies' titles and overviews in `language`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(N_("The limit must be 1 to {count}."), field="limit", count=MAX_LIMIT)
    return await cache.get(
        scope or current_period(zone, now), limit=limit, language=checked_language(language)
    )
