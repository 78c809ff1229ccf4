"""Password hashing (Argon2id, always off the event loop; bcrypt hashes of older accounts still
checked, and replaced at their next log-in) and access tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import bcrypt
import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from movievote.config import Settings
from movievote.errors import N_, InvalidToken, ServerBusy

T = TypeVar("T")
ALGORITHM = "HS256"
BCRYPT_MAX_BYTES = 72
ARGON2ID = "$argon2id$"


@dataclass(frozen=True)
class PasswordCost:
    """Argon2id's cost: `memory_kib` of memory and `time_cost` passes over it, one lane.

    Why Argon2id and not bcrypt (the first design, at cost 10): it is OWASP's first choice for
    password storage (bcrypt is for systems that cannot have it), and at OWASP's first
    recommended setting (19 MiB, 2 passes) a hash takes ~20 ms of CPU on these cores against
    bcrypt's ~65 ms: a third of the CPU a wave of log-ins takes from the votes. Its strength
    against a guesser with GPUs comes from the memory each guess needs, not from CPU time."""

    memory_kib: int = 19_456
    time_cost: int = 2

    @classmethod
    def of(cls, settings: Settings) -> PasswordCost:
        return cls(settings.password_hash_memory_kib, settings.password_hash_time_cost)


@lru_cache(maxsize=8)
def _hasher(cost: PasswordCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=1,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def _hash_sync(password: str, cost: PasswordCost) -> str:
    return _hasher(cost).hash(password)


def _check_sync(password: str, password_hash: str) -> bool:
    """Whether `password` is the one `password_hash` was made from: an Argon2 hash (its own
    parameters are in it) or an older account's bcrypt hash."""
    if password_hash.startswith("$argon2"):
        try:
            return _hasher(PasswordCost()).verify(password_hash, password)
        except (VerificationError, InvalidHashError):  # a mismatch or a malformed hash
            return False
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # a password past 72 bytes or a malformed hash: not a match
        return False


def needs_rehash(password_hash: str, cost: PasswordCost) -> bool:
    """Whether a hash that just checked should be replaced: bcrypt (an account from before
    Argon2id), or Argon2id at another cost than the one set now."""
    if not password_hash.startswith(ARGON2ID):
        return True
    try:
        return _hasher(cost).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _lower_priority() -> None:
    """Schedule this thread as SCHED_IDLE (Linux sets it per thread; elsewhere, nice 19): it
    then takes only the CPU that nothing else wants (PasswordWork with nice=None)."""
    tid = threading.get_native_id()
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, tid, 19)


class PasswordWork:
    """Where password hashing runs: `threads` threads of this process, scheduled at `nice` (0: like the
    request handling; SCHED_IDLE if None); work that would wait more than `max_wait_seconds`
    (or behind more than `queue` others) is refused at once: the caller gets ServerBusy (503,
    Retry-After).

    Why not idle-priority threads (the first design): they only get CPU that nobody else
    wants, and when several workers keep both cores busy with votes there is none: log-ins
    waited 5-10 s and ran at a third of the rate asked (docs/performance.md, issue 16). At
    normal priority a check takes its CPU (~20 ms for Argon2id at the default cost; bcrypt's
    cost 10 took 68 ms) when it is its turn (and an idle
    core, when there is one, as an idle thread would), a bounded number of threads bounds how
    much of the machine a wave of log-ins takes, and the bounded queue turns a wave bigger
    than the machine into quick 503s instead of ever longer waits. Measured side by side
    under vote load, idle threads first with a copy on normal threads after 0.3 s (a hedge)
    did worse than normal threads alone: under load the idle copy never ran, so the hedge
    only delayed every log-in. The default nice value is 5 (PASSWORD_HASH_NICE): log-ins
    nearly as fast as at 0, votes taking the log-ins' load better (bench_logins).
    """

    def __init__(
        self,
        *,
        threads: int = 1,
        nice: int | None = 0,
        queue: int = 32,
        max_wait_seconds: float = 1.0,
    ) -> None:
        self.threads, self.nice, self.queue = max(1, threads), nice, max(1, queue)
        self.max_wait_seconds = max_wait_seconds
        self._pool: ThreadPoolExecutor | None = None
        self.waiting = 0  # submitted and not finished (running included)
        self.refused = 0
        self.seconds_each: float | None = None  # a moving average of a piece of work's time

    @property
    def settings(self) -> tuple[int, int | None, int, float]:
        return self.threads, self.nice, self.queue, self.max_wait_seconds

    def _schedule(self) -> None:
        """Runs in each thread at its start: Linux schedules threads one by one."""
        tid = threading.get_native_id()
        if self.nice is None:
            _lower_priority()
            return
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, tid, self.nice)

    def _busy(self) -> bool:
        """Whether new work would wait too long: more than `queue` pieces already waiting for
        the threads, or a wait (those ahead, at the time a piece takes lately) over
        `max_wait_seconds`. The time per piece follows the hash's cost and the machine's load:
        a test's tiny cost takes a millisecond, the default under vote load some hundreds."""
        ahead = self.waiting - self.threads + 1
        if ahead <= 0:
            return False
        if ahead > self.queue:
            return True
        each = self.seconds_each
        return each is not None and ahead * each / self.threads > self.max_wait_seconds

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            took = time.perf_counter() - started
            each = self.seconds_each
            self.seconds_each = took if each is None else 0.8 * each + 0.2 * took

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._busy():
            self.refused += 1
            raise ServerBusy(
                N_("Too many people are logging in right now. Try again in a moment."),
                retry_after=1,
            )
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.threads, thread_name_prefix="password", initializer=self._schedule
            )
        self.waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, self._timed, fn, *args
            )
        finally:
            self.waiting -= 1


_work = PasswordWork()


def configure_password_work(
    *, threads: int, nice: int | None, queue: int, max_wait_seconds: float
) -> None:
    """Set where password hashing runs in this process (the composition root does, from the settings;
    before any password work: threads already started keep their priority)."""
    global _work
    wanted = PasswordWork(
        threads=threads, nice=nice, queue=queue, max_wait_seconds=max_wait_seconds
    )
    if wanted.settings != _work.settings:
        _work = wanted


def password_work() -> PasswordWork:
    return _work


async def _in_hasher(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy password work off the event loop, in the password threads."""
    return await _work.run(fn, *args)


async def hash_password(password: str, *, cost: PasswordCost) -> str:
    """Argon2id hash, computed in a password thread."""
    return await _in_hasher(_hash_sync, password, cost)


async def verify_password(password: str, password_hash: str) -> bool:
    """Argon2id (or an older account's bcrypt) check, computed in a password thread."""
    return await _in_hasher(_check_sync, password, password_hash)


@lru_cache(maxsize=4)
def _dummy_hash(cost: PasswordCost) -> str:
    return _hash_sync("movievote-dummy-password", cost)


async def warm_up(*, cost: PasswordCost) -> None:
    """Compute the dummy hash ahead, so even the first unknown-email login takes the usual time."""
    await _in_hasher(_dummy_hash, cost)


async def burn_password_check(password: str, *, cost: PasswordCost) -> None:
    """Spend the time a real check takes, so an unknown email answers as slowly as a known one."""
    dummy = await _in_hasher(_dummy_hash, cost)
    await verify_password(password, dummy)


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says: whose it is and which log-in (session) issued it."""

    user_id: int
    session_id: str


def new_secret() -> str:
    """A random, URL-safe secret of 256 bits (session ids, link tokens)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The SHA-256 of a secret, as stored in place of the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_access_token(
    *, user_id: int, session_id: str, settings: Settings, now: datetime | None = None
) -> tuple[str, int]:
    """A signed token for a user's session, and its lifetime in seconds."""
    issued = now or datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {"sub": str(user_id), "sid": session_id, "iat": issued, "exp": issued + lifetime}
    token = jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


# The header of every token create_access_token signs, as PyJWT writes it.
_OUR_HEADER = jwt.encode({}, "k" * 32, algorithm=ALGORITHM).split(".")[0]
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_OUR_CLAIMS = frozenset({"sub", "sid", "iat", "exp"})


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _plainly_valid(token: str, key: bytes) -> TokenClaims | None:
    """The claims of a token exactly as create_access_token makes them, checked without
    PyJWT's generality (which cost about 5% of a worker's event loop under vote load); None for
    anything else, which PyJWT then judges. So it never accepts a token PyJWT would refuse: our
    exact header (HS256 pinned, nothing else), a signature that verifies (constant-time),
    base64url segments with no stray character, and exactly our four claims, `sub` a string of
    digits, `sid` a string, `iat` and `exp` integers, `exp` still ahead and `iat` not ahead
    (PyJWT's rules, with its default leeway of 0)."""
    header, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if (
        header != _OUR_HEADER
        or not _SEGMENT.fullmatch(payload)
        or not _SEGMENT.fullmatch(signature)
    ):
        return None
    try:
        given = _b64decode(signature)
        claims = json.loads(_b64decode(payload))
    except ValueError:
        return None
    expected = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        return None
    if not isinstance(claims, dict) or claims.keys() != _OUR_CLAIMS:
        return None
    sub, sid, iat, exp = claims["sub"], claims["sid"], claims["iat"], claims["exp"]
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and isinstance(sid, str)):
        return None
    if type(iat) is not int or type(exp) is not int:
        return None
    now = datetime.now(tz=UTC).timestamp()
    if exp <= now or iat > now or not 0 < len(sid) <= 43:
        return None
    return TokenClaims(user_id=int(sub), session_id=sid)


def decode_access_token(token: str, *, settings: Settings) -> TokenClaims:
    """What a valid token names; InvalidToken for anything expired, forged or malformed.

    The signature and expiry only: whether its session is still open is the database's to say.
    """
    plain = _plainly_valid(token, settings.secret_key.encode())
    if plain is not None:
        return plain
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken(N_("Your session has expired. Please log in again.")) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(N_("The access token is not valid.")) from exc
    try:
        user_id, session_id = int(claims["sub"]), str(claims["sid"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken(N_("The access token is not valid.")) from exc
    if not 0 < len(session_id) <= 43:
        raise InvalidToken(N_("The access token is not valid."))
    return TokenClaims(user_id=user_id, session_id=session_id)
