"""A small TTL cache with single-flight recomputation, for the rankings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Values kept `ttl` seconds; concurrent misses for one key compute it once."""

    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._locks: dict[K, asyncio.Lock] = {}
        self.computations = 0

    def peek(self, key: K) -> V | None:
        """The value if present and fresh, else None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self.clock() + self.ttl, value)

    def keys(self) -> list[K]:
        return list(self._entries)

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        value = self.peek(key)
        if value is not None:
            return value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            value = self.peek(key)
            if value is None:
                value = await compute()
                self.computations += 1
                self.put(key, value)
            return value
