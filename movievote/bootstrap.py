"""The composition root: builds the ranking cache and subject once per process."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from movievote import security
from movievote.config import get_settings
from movievote.db import get_database
from movievote.services.changes import ChangeListener, process_origin
from movievote.services.dispatcher import NotificationDispatcher
from movievote.services.observer import RankingBroadcast, RankingSubject
from movievote.services.ranking import RankingCache, fold_vote_deltas
from movievote.services.throttle import LoginThrottle
from movievote.services.voting import current_period

logger = logging.getLogger(__name__)

_cache: RankingCache | None = None
_subject: RankingSubject | None = None
_broadcast: RankingBroadcast | None = None
_throttle: LoginThrottle | None = None
_dispatcher: NotificationDispatcher | None = None


def get_ranking_cache() -> RankingCache:
    """The process's ranking cache."""
    global _cache
    if _cache is None:
        _cache = RankingCache(ttl_seconds=get_settings().ranking_cache_ttl_seconds)
    return _cache


async def _fold_here() -> set[date]:
    """Fold, naming this process as the origin; asked at each fold, never cached, so a subject
    built before granian forks its workers still names the worker that folds."""
    return await fold_vote_deltas(origin=process_origin())


def get_ranking_subject() -> RankingSubject:
    """The process's ranking subject; the cache is its first observer, so it refreshes first."""
    global _subject
    if _subject is None:
        settings = get_settings()
        _subject = RankingSubject(
            fold=_fold_here,
            delay_seconds=settings.ranking_refresh_delay_seconds,
        )
        _subject.subscribe(get_ranking_cache())
        _subject.subscribe(get_ranking_broadcast())
    return _subject


def get_ranking_broadcast() -> RankingBroadcast:
    """Wakes listeners after the cache has refreshed (it subscribes second)."""
    global _broadcast
    if _broadcast is None:
        _broadcast = RankingBroadcast()
    return _broadcast


def get_notification_dispatcher() -> NotificationDispatcher:
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = NotificationDispatcher()
    return _dispatcher


def get_login_throttle() -> LoginThrottle:
    global _throttle
    if _throttle is None:
        _throttle = LoginThrottle(get_settings())
    return _throttle


async def run_background() -> None:
    """Long-running work of a serving process: fold votes written elsewhere into the tallies
    and, on PostgreSQL, hear what other processes folded (services.changes)."""
    settings = get_settings()
    await security.warm_up(rounds=settings.bcrypt_rounds)
    subject = get_ranking_subject()
    try:
        await subject.refresh()
    except Exception:
        logger.exception("initial ranking fold failed")
    async with asyncio.TaskGroup() as tasks:
        if get_database().dialect == "postgresql":
            listener = ChangeListener(
                subject, settings.database_url, origin=process_origin(), current=current_period
            )
            tasks.create_task(listener.run(), name="ranking-change-listener")
        tasks.create_task(subject.run_periodic(settings.ranking_fold_interval_seconds))


def reset() -> None:
    """Forget the built objects (tests)."""
    global _cache, _subject, _broadcast, _throttle, _dispatcher
    _cache = _subject = _broadcast = _throttle = _dispatcher = None
