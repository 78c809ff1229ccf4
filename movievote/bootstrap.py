"""The composition root: builds the ranking cache and subject once per process."""

from __future__ import annotations

import logging

from movievote.config import get_settings
from movievote.services.observer import RankingSubject
from movievote.services.ranking import RankingCache, fold_vote_deltas

logger = logging.getLogger(__name__)

_cache: RankingCache | None = None
_subject: RankingSubject | None = None


def get_ranking_cache() -> RankingCache:
    """The process's ranking cache."""
    global _cache
    if _cache is None:
        _cache = RankingCache(ttl_seconds=get_settings().ranking_cache_ttl_seconds)
    return _cache


def get_ranking_subject() -> RankingSubject:
    """The process's ranking subject; the cache is its first observer, so it refreshes first."""
    global _subject
    if _subject is None:
        settings = get_settings()
        _subject = RankingSubject(
            fold=fold_vote_deltas, delay_seconds=settings.ranking_refresh_delay_seconds
        )
        _subject.subscribe(get_ranking_cache())
    return _subject


async def run_background() -> None:
    """Long-running work of a serving process: fold votes written elsewhere into the tallies."""
    subject = get_ranking_subject()
    try:
        await subject.refresh()
    except Exception:
        logger.exception("initial ranking fold failed")
    await subject.run_periodic(get_settings().ranking_fold_interval_seconds)


def reset() -> None:
    """Forget the built objects (tests)."""
    global _cache, _subject
    _cache = None
    _subject = None
