"""The composition root: every long-lived collaborator built once per process, in one place.

Services never import this module: they take what they need as keyword arguments. The edges
hand the root's parts out: FastAPI routes through a dependency (`api.deps.RootDep`), Reflex
states through `get_root()`, the CLI and the benchmarks by building their own (`build_root`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import date
from functools import partial

import httpx

from movievote import security
from movievote.config import Settings, get_settings
from movievote.db import Database, get_database, postgres_connect_args
from movievote.models import Notification, VotePublic
from movievote.periods import current_period
from movievote.recommend.service import Recommendations
from movievote.services import voting
from movievote.services.ballot_box import BallotBox
from movievote.services.changes import ChangeListener, process_origin
from movievote.services.dispatcher import NotificationDispatcher
from movievote.services.observer import RankingBroadcast, RankingSubject
from movievote.services.ranking_cache import RankingCache
from movievote.services.ratings import RatingFolder
from movievote.services.results import run_publisher
from movievote.services.screens import HealthWrites, ScreenBus, parse_note, watch_silence
from movievote.services.tallies import fold_vote_deltas
from movievote.services.throttle import LoginThrottle

logger = logging.getLogger(__name__)


@dataclass
class Root:
    """What a serving process shares: settings, the database, the ranking cache and the
    subject that refreshes it, the broadcast that wakes API streams, the notification
    dispatcher, the login throttle, the rating folder, the recommendations (their model and its
    training), and the HTTP client admins' catalogue searches use (TMDB, OMDb; tests give it an
    httpx.MockTransport)."""

    settings: Settings
    db: Database
    cache: RankingCache
    subject: RankingSubject
    broadcast: RankingBroadcast
    dispatcher: NotificationDispatcher
    throttle: LoginThrottle
    ratings: RatingFolder  # folds rating deltas into the rating tallies
    recommendations: Recommendations  # the trained model, its background training, serving
    ballot_box: BallotBox  # group commit of votes (PostgreSQL; SQLite votes one at a time)
    screens: ScreenBus = field(default_factory=ScreenBus)  # tells this process's displays
    screen_beats: HealthWrites = field(default_factory=HealthWrites)
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    extras: dict[str, object] = field(default_factory=dict)  # edges hang theirs here

    async def cast_vote(
        self, *, user_id: int, movie_id: int, session_id: str | None
    ) -> tuple[VotePublic, asyncio.Future[Notification | None]]:
        """`voting.cast_and_notify` with this process's database, settings, ranking subject,
        dispatcher and ballot box: how the pages, the API and the vote route in front vote."""
        return await voting.cast_and_notify(
            user_id=user_id,
            movie_id=movie_id,
            session_id=session_id,
            subject=self.subject,
            dispatcher=self.dispatcher,
            ballot_box=self.ballot_box,
            settings=self.settings,
            db=self.db,
        )


async def _fold_here(db: Database) -> set[date]:
    """Fold, naming this process as the origin; asked at each fold, never cached, so a subject
    built before granian forks its workers still names the worker that folds."""
    return await fold_vote_deltas(origin=process_origin(), db=db)


def password_threads(settings: Settings) -> int:
    """Password hashing threads for this process: as set, or half the cores shared among the workers
    (GRANIAN_WORKERS), at least one: a wave of log-ins may take at most about half the machine
    from the votes (one worker on 2 cores with 2 threads: votes fell 70% under 10 log-ins/s)."""
    if settings.password_hash_threads:
        return settings.password_hash_threads
    try:
        workers = max(1, int(os.environ.get("GRANIAN_WORKERS", "1")))
    except ValueError:
        workers = 1
    return max(1, (os.cpu_count() or 1) // (2 * workers))


def build_root(settings: Settings | None = None, db: Database | None = None) -> Root:
    """Build every collaborator (no I/O: connections open on first use)."""
    settings = settings or get_settings()
    db = db or get_database()
    security.configure_password_work(
        threads=password_threads(settings),
        nice=None if settings.password_hash_nice < 0 else settings.password_hash_nice,
        queue=settings.password_hash_queue,
        max_wait_seconds=settings.password_hash_max_wait_seconds,
    )
    cache = RankingCache(
        ttl_seconds=settings.ranking_cache_ttl_seconds,
        max_entries=settings.ranking_cache_max_entries,
        db=db,
    )
    subject = RankingSubject(
        fold=partial(_fold_here, db), delay_seconds=settings.ranking_refresh_delay_seconds
    )
    broadcast = RankingBroadcast()
    subject.subscribe(cache)  # first: the cache refreshes before anyone is woken
    subject.subscribe(broadcast)  # then the API streams read the refreshed cache
    return Root(
        settings=settings,
        db=db,
        cache=cache,
        subject=subject,
        broadcast=broadcast,
        dispatcher=NotificationDispatcher(settings=settings, db=db),
        throttle=LoginThrottle(settings),
        ratings=RatingFolder(db=db, delay_seconds=settings.ranking_refresh_delay_seconds),
        recommendations=Recommendations(
            db=db, cache=cache, zone=settings.zone, retrain_after=settings.recommend_retrain_after
        ),
        ballot_box=BallotBox(
            db=db,
            max_batch=settings.vote_batch_max,
            window_seconds=settings.vote_batch_window_seconds,
        ),
    )


_root: Root | None = None


def get_root() -> Root:
    """The process's root, built on first use (after granian has forked the workers)."""
    global _root
    if _root is None:
        _root = build_root()
    return _root


def built_root() -> Root | None:
    """The process's root if it was built (tests settle its background work)."""
    return _root


def reset_root() -> None:
    """Forget the process's root (tests; the next `get_root` builds a new one)."""
    global _root
    _root = None


async def _screen_note(root: Root, payload: str) -> None:
    """A screen changed in another process: tell this process's displays."""
    try:
        origin, screen_id, what = parse_note(payload)
    except ValueError:
        logger.warning("ignored screen notification %r", payload)
        return
    if origin != process_origin():  # this process told its own at once
        await root.screens.publish(screen_id, what)


async def run_background(root: Root | None = None) -> None:
    """Long-running work of a serving process: fold votes and ratings written elsewhere into
    their tallies, on PostgreSQL hear what other processes folded (services.changes), publish the month
    results that are due (services.results; one process publishes each month), and train the
    recommendations' model at start-up and when enough new feedback has arrived (each process
    its own copy; recommend/service.py)."""
    root = root or get_root()
    settings = root.settings
    await security.warm_up(cost=security.PasswordCost.of(settings))
    try:
        await root.subject.refresh()
    except Exception:
        logger.exception("initial ranking fold failed")
    async with asyncio.TaskGroup() as tasks:
        if root.db.dialect == "postgresql":
            listener = ChangeListener(
                root.subject,
                settings.database_url,
                origin=process_origin(),
                current=partial(current_period, settings.zone),
                connect_args=postgres_connect_args(settings),
                on_screen=partial(_screen_note, root),
            )
            tasks.create_task(listener.run(), name="ranking-change-listener")
        tasks.create_task(root.subject.run_periodic(settings.ranking_fold_interval_seconds))
        tasks.create_task(
            root.ratings.run_periodic(settings.ranking_fold_interval_seconds), name="rating-folds"
        )
        tasks.create_task(
            run_publisher(settings=settings, db=root.db, dispatcher=root.dispatcher),
            name="month-results-publisher",
        )
        tasks.create_task(
            root.recommendations.run(settings.recommend_check_seconds), name="recommendations"
        )
        tasks.create_task(watch_silence(db=root.db), name="screens-silence")
