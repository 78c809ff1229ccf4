"""Password hashing (bcrypt, always off the event loop) and access tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import bcrypt
import jwt

from movievote.config import Settings
from movievote.errors import N_, InvalidToken

T = TypeVar("T")
ALGORITHM = "HS256"
BCRYPT_MAX_BYTES = 72


def _hash_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def _check_sync(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # a password past 72 bytes or a malformed hash: not a match
        return False


_hasher: ThreadPoolExecutor | None = None


def _lower_priority() -> None:
    """Schedule this thread as SCHED_IDLE (Linux sets it per thread; elsewhere, nice 19): a
    burst of logins then takes only the CPU that request handling leaves, rather than raising
    every vote's latency. Logins wait instead: they are rare, and slow by design."""
    tid = threading.get_native_id()
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, tid, 19)


async def _in_hasher(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy password work off the event loop, in the low-priority bcrypt threads."""
    global _hasher
    if _hasher is None:
        _hasher = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2,
            thread_name_prefix="bcrypt",
            initializer=_lower_priority,
        )
    return await asyncio.get_running_loop().run_in_executor(_hasher, fn, *args)


async def hash_password(password: str, *, rounds: int) -> str:
    """bcrypt hash, computed in a worker thread."""
    return await _in_hasher(_hash_sync, password, rounds)


async def verify_password(password: str, password_hash: str) -> bool:
    """bcrypt check, computed in a worker thread."""
    return await _in_hasher(_check_sync, password, password_hash)


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return _hash_sync("movievote-dummy-password", rounds)


async def warm_up(*, rounds: int) -> None:
    """Compute the dummy hash ahead, so even the first unknown-email login takes the usual time."""
    await _in_hasher(_dummy_hash, rounds)


async def burn_password_check(password: str, *, rounds: int) -> None:
    """Spend the time a real check takes, so an unknown email answers as slowly as a known one."""
    dummy = await _in_hasher(_dummy_hash, rounds)
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


def decode_access_token(token: str, *, settings: Settings) -> TokenClaims:
    """What a valid token names; InvalidToken for anything expired, forged or malformed.

    The signature and expiry only: whether its session is still open is the database's to say.
    """
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
