"""The ranking subject with a fake fold (no database): announcements, order, coalescing."""

from __future__ import annotations

import asyncio
from datetime import date

from movievote.services.observer import RankingBroadcast, RankingChange, RankingSubject

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


class Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log, self.changes = name, log, []

    async def ranking_changed(self, change: RankingChange) -> None:
        self.log.append(self.name)
        self.changes.append(change)


class FakeFold:
    """A fold that takes `seconds` and reports `periods` as folded."""

    def __init__(self, seconds: float = 0.0, periods: set[date] | None = None) -> None:
        self.seconds, self.periods, self.calls = seconds, periods or set(), 0

    async def __call__(self) -> set[date]:
        self.calls += 1
        await asyncio.sleep(self.seconds)
        return set(self.periods)


async def test_observers_hear_in_the_order_they_subscribed_and_a_failing_one_is_skipped():
    log: list[str] = []
    subject = RankingSubject(fold=FakeFold(), delay_seconds=0.01)
    cache, streams = Recorder("cache", log), Recorder("streams", log)

    class Broken:
        async def ranking_changed(self, change: RankingChange) -> None:
            raise RuntimeError("boom")

    for observer in (cache, Broken(), streams):
        subject.subscribe(observer)
    subject.vote_cast(period=NOV)
    await subject.settle()
    assert log == ["cache", "streams"]
    assert cache.changes == [RankingChange(periods=frozenset({NOV}))]


async def test_a_lone_vote_is_announced_at_once_whatever_the_window():
    fold = FakeFold()
    subject = RankingSubject(fold=fold, delay_seconds=5.0)
    heard = Recorder("cache", [])
    subject.subscribe(heard)
    started = asyncio.get_running_loop().time()
    subject.vote_cast(period=NOV)
    await subject.settle()
    assert asyncio.get_running_loop().time() - started < 0.5  # not the 5 s window
    assert fold.calls == 1 and subject.refreshes == 1


async def test_a_burst_costs_at_most_two_folds_and_loses_no_month():
    fold = FakeFold(seconds=0.02)
    subject = RankingSubject(fold=fold, delay_seconds=0.05)
    heard = Recorder("cache", [])
    subject.subscribe(heard)
    for i in range(200):
        subject.vote_cast(period=NOV if i % 2 else DEC)
        if i % 50 == 0:
            await asyncio.sleep(0)
    await subject.settle()
    assert fold.calls <= 2
    assert set().union(*(c.periods for c in heard.changes)) == {NOV, DEC}


async def test_a_fold_that_fails_keeps_its_months_for_the_next_refresh():
    class Flaky(FakeFold):
        async def __call__(self) -> set[date]:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("database away")
            return set()

    subject = RankingSubject(fold=Flaky(), delay_seconds=0.0)
    heard = Recorder("cache", [])
    subject.subscribe(heard)
    subject.vote_cast(period=NOV)
    await subject.settle()  # the first refresh failed (logged), nothing announced
    assert heard.changes == []
    assert await subject.refresh() == RankingChange(periods=frozenset({NOV}))


async def test_the_broadcast_wakes_waiters_once_per_change_and_times_out_otherwise():
    broadcast = RankingBroadcast()
    version = broadcast.version
    assert await broadcast.wait(after=version, timeout_seconds=0.01) == version
    waiter = asyncio.create_task(broadcast.wait(after=version, timeout_seconds=5))
    await asyncio.sleep(0)
    await broadcast.ranking_changed(RankingChange(periods=frozenset({NOV})))
    assert await waiter == version + 1
