"""The ranking cache's container: bounded (least recently used go first), TTL, single flight."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from movievote.services.cache import TTLCache


def _value(key: str) -> dict[str, object]:
    return {"period": key, "items": [{"rank": n, "title": f"Movie {n}"} for n in range(10)]}


async def test_distinct_keys_never_grow_it_past_its_bound():
    """Regression: 24,000 distinct `period` values grew the cache by 20 MB."""
    cache: TTLCache[str, dict[str, object]] = TTLCache(ttl_seconds=300, max_entries=256)

    async def fill(first: int, count: int) -> None:
        for n in range(first, first + count):
            key = f"{1000 + n // 12:04d}-{n % 12 + 1:02d}"
            await cache.get(key, lambda key=key: _compute(key))

    async def _compute(key: str) -> dict[str, object]:
        return _value(key)

    await fill(0, 1_000)  # warm up: the interpreter's own allocations are not the cache's
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await fill(1_000, 24_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == 256
    assert cache.evictions == 25_000 - 256
    assert cache.computations == 25_000
    assert grown < 256 * 1024, f"grew by {grown} bytes"  # unbounded: megabytes


async def test_the_least_recently_used_entry_goes_first():
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=300, max_entries=3)
    for key in ("a", "b", "c"):
        cache.put(key, key.upper())
    assert cache.peek("a") == "A"  # read: now the most recently used
    cache.put("d", "D")
    assert cache.keys() == ["c", "a", "d"]  # "b" was the least recently used
    assert cache.peek("b") is None
    await cache.get("c", _fail)  # a hit through get() counts as a use too
    cache.put("e", "E")
    assert cache.keys() == ["d", "c", "e"]


async def test_expired_entries_are_recomputed_and_dropped():
    now = [0.0]
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=10, max_entries=8, clock=lambda: now[0])
    cache.put("a", "old")
    now[0] = 10.0
    assert cache.peek("a") is None and len(cache) == 0

    async def fresh() -> str:
        return "new"

    assert await cache.get("a", fresh) == "new"
    assert cache.computations == 1


async def test_concurrent_misses_compute_once_and_share_errors():
    cache: TTLCache[str, int] = TTLCache(ttl_seconds=300, max_entries=8)
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return 42

    readers = [asyncio.create_task(cache.get("k", slow)) for _ in range(5)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*readers) == [42] * 5
    assert calls == 1

    async def broken() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("database away")

    failing = [asyncio.create_task(cache.get("x", broken)) for _ in range(3)]
    results = await asyncio.gather(*failing, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert cache.keys() == ["k"]  # nothing stored for the failure, nothing left in flight


async def test_a_cancelled_computation_lets_a_waiter_compute_it():
    cache: TTLCache[str, int] = TTLCache(ttl_seconds=300, max_entries=8)
    started = asyncio.Event()

    async def hangs() -> int:
        started.set()
        await asyncio.sleep(3600)
        return 0

    async def quick() -> int:
        return 7

    first = asyncio.create_task(cache.get("k", hangs))
    await started.wait()
    second = asyncio.create_task(cache.get("k", quick))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == 7
    with pytest.raises(asyncio.CancelledError):
        await first


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError):
        TTLCache(ttl_seconds=1, max_entries=0)


async def _fail() -> str:
    raise AssertionError("should have been a hit")
