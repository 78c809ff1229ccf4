"""Failed-login counters shared by many processes through Redis (as many workers use them)."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from movievote.config import Settings
from movievote.errors import TooManyAttempts
from movievote.services.throttle import LoginThrottle

REDIS_URL = os.environ.get("MOVIEVOTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def worker(**settings: object) -> LoginThrottle:
    return LoginThrottle(Settings(**settings))  # type: ignore[arg-type]


async def test_workers_on_redis_share_the_failures_of_an_account():
    redis.Redis.from_url(REDIS_URL).ping()  # fails clearly when Redis is not running
    account = f"shared-{uuid.uuid4().hex}@example.com"
    # addresses of this run only: the counters outlive a run in Redis
    guesser, owner = (f"2001:db8:{uuid.uuid4().hex[:4]}:{n}::1" for n in (1, 2))
    workers = [worker(reflex_redis_url=REDIS_URL) for _ in range(3)]  # Reflex's Redis: used
    for attempt in range(5):  # 5 failures, spread over the three workers
        await workers[attempt % 3].failed(account=account, client=guesser)
    for w in workers:
        with pytest.raises(TooManyAttempts):
            await w.check(account=account, client=guesser)
        await w.check(account=account, client=owner)  # the owner, elsewhere, is not locked out
    await workers[0].succeeded(account=account, client=guesser)  # forgiven everywhere
    await workers[2].check(account=account, client=guesser)


async def test_workers_in_memory_count_apart():
    account = f"apart-{uuid.uuid4().hex}@example.com"
    one, other = worker(), worker()
    for _ in range(5):
        await one.failed(account=account, client="198.51.100.1")
    with pytest.raises(TooManyAttempts):
        await one.check(account=account, client="198.51.100.1")
    await other.check(account=account, client="198.51.100.1")  # memory:// is one process's own
