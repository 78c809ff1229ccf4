"""The ranking subject: votes mark it dirty; it folds them into the tallies and tells observers.

A lone vote is folded and announced at once. Bursts are coalesced: a refresh starts no sooner
than `delay_seconds` after the previous one ended, and however many votes arrive while one is
waiting or running, they cause at most one more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankingChange:
    """Months whose ranking changed; the all-time ranking changes whenever any month does."""

    periods: frozenset[date]


class RankingObserver(Protocol):
    async def ranking_changed(self, change: RankingChange) -> None: ...


class RankingSubject:
    """Fans a ranking change out to its observers, in the order they subscribed."""

    def __init__(
        self, *, fold: Callable[[], Awaitable[set[date]]], delay_seconds: float = 0.05
    ) -> None:
        self._fold = fold
        self.delay_seconds = delay_seconds
        self._observers: list[RankingObserver] = []
        self._pending: set[date] = set()  # months of votes cast here, not folded yet
        self._elsewhere: set[date] = set()  # months other processes folded, not announced yet
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._last_ended = float("-inf")  # loop time at which the latest refresh ended
        self._announcing: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self.refreshes = 0

    def subscribe(self, observer: RankingObserver) -> None:
        if observer not in self._observers:
            self._observers.append(observer)

    def unsubscribe(self, observer: RankingObserver) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    @property
    def observers(self) -> tuple[RankingObserver, ...]:
        return tuple(self._observers)

    def vote_cast(self, *, period: date) -> None:
        """A vote was committed in `period`: schedule one coalesced refresh (never blocks)."""
        self._pending.add(period)
        self._schedule()

    def changed_elsewhere(self, periods: set[date]) -> None:
        """Another process folded votes of these months (its NOTIFY): announce them with the
        next coalesced refresh, as this process's own votes are (never blocks). Under load
        every process hears every other's folds: coalesced, N workers cost each one
        announcement per window, not N."""
        self._elsewhere |= periods
        self._schedule()

    def _schedule(self) -> None:
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ranking-refresh")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            wait = self._last_ended + self.delay_seconds - loop.time()
            if wait > 0:  # a refresh ended less than a window ago: let the burst gather
                await asyncio.sleep(wait)
            self._dirty = False
            try:
                await self.refresh(fold=bool(self._pending))
            except Exception:  # keep serving; the next vote or the periodic fold retries
                logger.exception("ranking refresh failed")
            finally:
                self._last_ended = loop.time()

    async def refresh(self, *, fold: bool = True) -> RankingChange | None:
        """Fold pending votes into the tallies (unless `fold` is false: only other processes'
        folds to announce) and notify observers if anything changed."""
        local, self._pending = self._pending, set()
        elsewhere, self._elsewhere = self._elsewhere, set()
        try:
            folded = await self._fold() if fold or local else set()
        except Exception:
            self._pending |= local
            self._elsewhere |= elsewhere
            raise
        return await self.announce(local | folded | elsewhere)

    async def announce(self, periods: set[date]) -> RankingChange | None:
        """Tell the observers that these months changed (already folded, here or elsewhere).

        One announcement at a time: this subject's refresh, its periodic fold and the change
        listener may all announce at once, and an observer that reads the database (the cache)
        must not store an older reading after a newer one."""
        if not periods:
            return None
        change = RankingChange(periods=frozenset(periods))
        async with self._announcement_lock():
            self.refreshes += 1
            for observer in tuple(self._observers):
                try:
                    await observer.ranking_changed(change)
                except Exception:
                    logger.exception("ranking observer %r failed", observer)
        return change

    def _announcement_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._announcing is None or self._announcing[0] is not loop:
            self._announcing = (loop, asyncio.Lock())
        return self._announcing[1]

    async def settle(self) -> None:
        """Wait until every vote seen so far has been folded and announced."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def run_periodic(self, interval_seconds: float) -> None:
        """Fold votes written by other processes (scripts, SQL clients) every interval."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.refresh()
            except Exception:
                logger.exception("periodic ranking fold failed")


class RankingBroadcast:
    """Observer that wakes every waiting listener (API streams, live pages) on a change.

    Listeners then read the cached ranking, which the cache observer has just refreshed: any
    number of listeners cost one ranking computation per change.
    """

    def __init__(self) -> None:
        self.version = 0
        self._changed = asyncio.Event()

    async def ranking_changed(self, change: RankingChange) -> None:
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, *, after: int, timeout_seconds: float) -> int:
        """The version once it differs from `after`, or the same one after the timeout."""
        changed = self._changed
        if self.version == after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout_seconds)
        return self.version
