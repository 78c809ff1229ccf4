"""Failed-login throttling: per account and per client address, in a moving window.

Built on the `limits` library, so the counters can live in memory (one process) or in Redis
(many workers) by changing RATE_LIMIT_STORAGE_URL.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from movievote.config import Settings
from movievote.errors import TooManyAttempts


class LoginThrottle:
    """Counts failed logins; refuses further attempts once an account or a client has too many."""

    def __init__(self, settings: Settings) -> None:
        window = settings.login_failure_window_seconds
        self.per_account = RateLimitItemPerSecond(settings.login_failures_per_account, window)
        self.per_client = RateLimitItemPerSecond(settings.login_failures_per_client, window)
        url = settings.rate_limit_storage_url or settings.reflex_redis_url or "memory://"
        url = url if url.startswith("async+") else f"async+{url}"
        # Redis through redis-py (which Reflex uses too), not limits' default coredis
        options = {"implementation": "redispy"} if "+redis" in url else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(url, **options))

    def _keys(self, email: str, client: str | None) -> list[tuple[RateLimitItemPerSecond, str]]:
        keys = [(self.per_account, f"account:{email.strip().lower()}")]
        if client:
            keys.append((self.per_client, f"client:{client}"))
        return keys

    async def check(self, *, email: str, client: str | None) -> None:
        """TooManyAttempts if the account or the client has used up its failures."""
        for item, key in self._keys(email, client):
            if not await self.limiter.test(item, "login", key):
                stats = await self.limiter.get_window_stats(item, "login", key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyAttempts(
                    f"Too many failed logins. Try again in {_minutes(retry_after)}.",
                    retry_after=retry_after,
                )

    async def failed(self, *, email: str, client: str | None) -> None:
        for item, key in self._keys(email, client):
            await self.limiter.hit(item, "login", key)

    async def succeeded(self, *, email: str) -> None:
        """A successful login forgives the account's earlier failures (not the client's)."""
        await self.limiter.clear(self.per_account, "login", f"account:{email.strip().lower()}")


def _minutes(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{seconds} seconds" if seconds < 60 else f"{minutes} minute{'s' * (minutes != 1)}"
