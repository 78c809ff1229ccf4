"""A small bounded TTL cache with single-flight recomputation, for the rankings."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Values kept `ttl` seconds, at most `max_entries` of them (the least recently used go
    first); concurrent misses for one key compute it once."""

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._computing: dict[K, asyncio.Future[V]] = {}  # only keys being computed right now
        self.computations = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: K) -> V | None:
        """The value if present and fresh (it becomes the most recently used), else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self.clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1

    def keys(self) -> list[K]:
        return list(self._entries)

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        while True:
            value = self.peek(key)
            if value is not None:
                return value
            pending = self._computing.get(key)
            if pending is None:
                break
            try:  # someone is computing it: share their result (or their error)
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # we were cancelled ourselves
                # the task computing it was cancelled: look again, compute it if still missing
        pending = asyncio.get_running_loop().create_future()
        self._computing[key] = pending
        try:
            value = await compute()
        except asyncio.CancelledError:
            pending.cancel()
            raise
        except Exception as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._computing[key]
        self.computations += 1
        self.put(key, value)
        pending.set_result(value)
        return value
