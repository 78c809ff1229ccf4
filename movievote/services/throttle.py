"""Throttles that stop attackers, not owners: failed logins and sign-ups, in moving windows.

Logins are limited three ways (keys use the one normalised form of an address):
- per client address (LOGIN_FAILURES_PER_CLIENT failures): one machine guessing at many accounts;
- per account and client (LOGIN_FAILURES_PER_ACCOUNT failures): one machine guessing at one;
- per account, from everywhere: once an account has had ACCOUNT_UNDER_ATTACK failures in the
  window, clients that have never logged in to it share one slow lane (an attempt every
  UNTRUSTED_LANE_SECONDS). A botnet's guessing slows to a trickle, and the owner still gets
  in: at once from a device (address) they logged in from before, after a few seconds'
  wait from a new one. Nothing ever locks an account for everyone.
Sign-ups and password-reset requests (each sends an email) are limited per client address
(SIGNUPS_PER_CLIENT in SIGNUP_WINDOW_SECONDS).

A client is its address, and an IPv6 client its /64 (one host's usual share: counting single
IPv6 addresses would give anyone with a /64 2^64 fresh clients).

Built on the `limits` library, so the counters live in memory (one process) or in Redis (many
workers) by changing RATE_LIMIT_STORAGE_URL.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from movievote.clients import network_of
from movievote.config import Settings
from movievote.errors import TooManyAttempts
from movievote.i18n import N_, Duration

ACCOUNT_UNDER_ATTACK = 10  # failures on one account (from anywhere) before the slow lane
PAIRING_FAILURES = 10  # wrong screen codes per admin in PAIRING_WINDOW_SECONDS
PAIRING_WINDOW_SECONDS = 600
UNTRUSTED_LANE_SECONDS = 5  # the slow lane: one attempt per account this often
TRUSTED_DAYS = 60  # how long a client stays known for an account after logging in to it


class LoginThrottle:
    """Counts failed logins and sign-ups; refuses further attempts with TooManyAttempts."""

    def __init__(self, settings: Settings) -> None:
        window = settings.login_failure_window_seconds
        self.per_pair = RateLimitItemPerSecond(settings.login_failures_per_account, window)
        self.per_client = RateLimitItemPerSecond(settings.login_failures_per_client, window)
        self.account_failures = RateLimitItemPerSecond(ACCOUNT_UNDER_ATTACK, window)
        self.slow_lane = RateLimitItemPerSecond(1, UNTRUSTED_LANE_SECONDS)
        self.known = RateLimitItemPerSecond(1_000_000, TRUSTED_DAYS * 86_400)
        self.signups = RateLimitItemPerSecond(
            settings.signups_per_client, settings.signup_window_seconds
        )
        self.pairing = RateLimitItemPerSecond(PAIRING_FAILURES, PAIRING_WINDOW_SECONDS)
        url = settings.rate_limit_storage_url or settings.reflex_redis_url or "memory://"
        url = url if url.startswith("async+") else f"async+{url}"
        # Redis through redis-py (which Reflex uses too), not limits' default coredis
        options = {"implementation": "redispy"} if "+redis" in url else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(url, **options))

    async def check(self, *, account: str, client: str | None) -> None:
        """Before the password is checked: TooManyAttempts if this client may not try now."""
        client = network_of(client)
        known = bool(client) and await self._known(account, client)  # type: ignore[arg-type]
        if client:
            if not known:  # a lobby behind one address: others' typos do not lock you out
                await self._refuse_if_spent(self.per_client, "client", client)
            await self._refuse_if_spent(self.per_pair, "pair", f"{account}|{client}")
        if await self._spent(self.account_failures, "account", account):
            if known:
                return
            if not await self.limiter.hit(self.slow_lane, "lane", account):
                raise TooManyAttempts(
                    N_(
                        "This account is getting many wrong passwords, so log-ins to it from "
                        "new places are slowed down. Try again in {wait}, or reset your "
                        "password by email to get in now."
                    ),
                    wait=Duration(UNTRUSTED_LANE_SECONDS),
                    retry_after=await self._retry_after(self.slow_lane, "lane", account),
                )

    async def failed(self, *, account: str, client: str | None) -> None:
        client = network_of(client)
        await self.limiter.hit(self.account_failures, "account", account)
        if client:
            await self.limiter.hit(self.per_client, "client", client)
            await self.limiter.hit(self.per_pair, "pair", f"{account}|{client}")

    async def succeeded(self, *, account: str, client: str | None) -> None:
        """Remember the client as one the owner uses, and forgive this pair's failures."""
        client = network_of(client)
        if client:
            await self.limiter.hit(self.known, "known", f"{account}|{client}")
            await self.limiter.clear(self.per_pair, "pair", f"{account}|{client}")

    async def owner_proved(self, *, account: str, client: str | None) -> None:
        """The owner proved who they are another way (a reset link from their inbox): the
        account starts afresh, and this client goes straight through from now on."""
        await self.limiter.clear(self.account_failures, "account", account)
        await self.limiter.clear(self.slow_lane, "lane", account)
        await self.succeeded(account=account, client=client)

    async def mail_request(self, *, client: str | None) -> None:
        """Count a request that makes us send an email (a sign-up, a password reset) from this
        client; TooManyAttempts past the limit."""
        client = network_of(client)
        if client and not await self.limiter.hit(self.signups, "signup", client):
            retry_after = await self._retry_after(self.signups, "signup", client)
            raise TooManyAttempts(
                N_("Too many sign-ups or reset requests from this network. Try again in {wait}."),
                retry_after=retry_after,
                wait=Duration(retry_after),
            )

    async def check_pairing(self, *, actor: str) -> None:
        """Before a screen code is tried: TooManyAttempts after PAIRING_FAILURES wrong codes
        (codes are short: guessing them must stay slow, even for an admin's stolen session)."""
        if await self._spent(self.pairing, "pairing", actor):
            retry_after = await self._retry_after(self.pairing, "pairing", actor)
            raise TooManyAttempts(
                N_("Too many wrong screen codes. Try again in {wait}."),
                retry_after=retry_after,
                wait=Duration(retry_after),
            )

    async def pairing_failed(self, *, actor: str) -> None:
        await self.limiter.hit(self.pairing, "pairing", actor)

    async def _known(self, account: str, client: str) -> bool:
        stats = await self.limiter.get_window_stats(self.known, "known", f"{account}|{client}")
        return stats.remaining < self.known.amount

    async def _spent(self, item: RateLimitItem, scope: str, key: str) -> bool:
        return not await self.limiter.test(item, scope, key)

    async def _refuse_if_spent(self, item: RateLimitItem, scope: str, key: str) -> None:
        if await self._spent(item, scope, key):
            retry_after = await self._retry_after(item, scope, key)
            raise TooManyAttempts(
                N_("Too many failed logins. Try again in {wait}."),
                retry_after=retry_after,
                wait=Duration(retry_after),
            )

    async def _retry_after(self, item: RateLimitItem, scope: str, key: str) -> int:
        stats = await self.limiter.get_window_stats(item, scope, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
