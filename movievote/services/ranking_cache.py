"""The rankings people read, kept for the TTL and refreshed when votes land (an observer of
the ranking subject)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from movievote.db import Database
from movievote.errors import InvalidInput
from movievote.i18n import N_
from movievote.models import Ranking
from movievote.periods import current_period, format_period
from movievote.services.cache import TTLCache
from movievote.services.observer import RankingChange
from movievote.services.ranking import MAX_LIMIT, Scope, compute_ranking, scope_key


class RankingCache:
    """Rankings kept for the TTL (the checklist's 5 minutes) and refreshed when votes land; at
    most `max_entries` scopes (RANKING_CACHE_MAX_ENTRIES), the least recently read go first,
    so asking for many past months cannot grow it without bound."""

    def __init__(self, *, ttl_seconds: float, max_entries: int, db: Database) -> None:
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
        raise InvalidInput(N_("The limit must be 1 to {count}."), field="limit", count=MAX_LIMIT)
    return await cache.get(scope or current_period(zone, now), limit=limit)
