"""Accounts: sign up, authenticate, tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlmodel import select

from movievote.config import Channel, Settings, get_settings
from movievote.db import Database, get_database
from movievote.errors import EmailTaken, InvalidCredentials, InvalidInput, UserNotFound
from movievote.models import User, utcnow
from movievote.security import (
    BCRYPT_MAX_BYTES,
    burn_password_check,
    create_access_token,
    decode_access_token,
    hash_password,
    verify_password,
)
from movievote.services.throttle import LoginThrottle

PASSWORD_MIN_CHARS = 8
CHANNELS: tuple[Channel, ...] = ("email", "sms", "in_app")


def normalize_email(email: str) -> str:
    """A valid email, lower-cased; InvalidInput otherwise."""
    try:
        # test_environment: also accept the reserved `.test` domain (RFC 2606) used in testing
        result = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidInput(f"Enter a valid email address ({exc}).", field="email") from exc
    return result.normalized.lower()


def check_password_rules(password: str) -> None:
    """At least 8 characters and at most 72 bytes (bcrypt ignores anything past 72 bytes)."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidInput(
            f"The password must have at least {PASSWORD_MIN_CHARS} characters.", field="password"
        )
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise InvalidInput(
            f"The password must be at most {BCRYPT_MAX_BYTES} bytes long "
            "(fewer characters if you use accents or emoji).",
            field="password",
        )


def _clean_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if not 1 <= len(name) <= 80:
        raise InvalidInput("The display name must have 1 to 80 characters.", field="display_name")
    return name


async def sign_up(
    *,
    email: str,
    password: str,
    display_name: str,
    notification_channel: Channel | None = None,
    settings: Settings | None = None,
    db: Database | None = None,
) -> User:
    """Create an account; EmailTaken if the address (in any case) has one already."""
    settings = settings or get_settings()
    db = db or get_database()
    address = normalize_email(email)
    check_password_rules(password)
    name = _clean_display_name(display_name)
    channel = notification_channel or settings.notify_default_channel
    if channel not in CHANNELS:
        raise InvalidInput(
            f"Unknown notification channel {channel!r}.", field="notification_channel"
        )
    password_hash = await hash_password(password, rounds=settings.bcrypt_rounds)
    statement = (
        db.insert(User)
        .values(
            email=address,
            display_name=name,
            password_hash=password_hash,
            notification_channel=channel,
            is_admin=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(*User.__table__.columns)  # type: ignore[attr-defined]
    )
    async with db.transaction() as conn:
        row = (await conn.execute(statement)).mappings().first()
    if row is None:
        raise EmailTaken("An account with this email already exists.")
    return User.model_validate(dict(row))


async def authenticate(
    *, email: str, password: str, settings: Settings | None = None, db: Database | None = None
) -> User:
    """The user whose email and password these are; InvalidCredentials otherwise (same time)."""
    settings = settings or get_settings()
    db = db or get_database()
    try:
        address = normalize_email(email)
    except InvalidInput:
        address = None
    user = await get_user_by_email(email=address, db=db) if address else None
    if user is None:
        await burn_password_check(password, rounds=settings.bcrypt_rounds)
        raise InvalidCredentials("Incorrect email or password.")
    if not await verify_password(password, user.password_hash):
        raise InvalidCredentials("Incorrect email or password.")
    return user


async def get_user(*, user_id: int, db: Database | None = None) -> User:
    """A user by id; UserNotFound if there is none."""
    db = db or get_database()
    async with db.session() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound("This account no longer exists.")
    return user


async def get_user_by_email(*, email: str, db: Database | None = None) -> User | None:
    db = db or get_database()
    async with db.session() as session:
        result = await session.exec(select(User).where(User.email == email.lower()))
        return result.first()


@dataclass(frozen=True)
class AccessToken:
    user: User
    token: str
    expires_in: int


async def log_in(
    *,
    email: str,
    password: str,
    client: str | None = None,
    throttle: LoginThrottle | None = None,
    settings: Settings | None = None,
    db: Database | None = None,
) -> AccessToken:
    """Authenticate and issue a token, throttling failures per account and per client address.

    TooManyAttempts once an account or a client has too many recent failures (checked before
    the password, so a locked-out guesser learns nothing).
    """
    if throttle is None:
        from movievote import bootstrap

        throttle = bootstrap.get_login_throttle()
    await throttle.check(email=email, client=client)
    try:
        user = await authenticate(email=email, password=password, settings=settings, db=db)
    except InvalidCredentials:
        await throttle.failed(email=email, client=client)
        raise
    await throttle.succeeded(email=email)
    token, expires_in = issue_token(user=user, settings=settings)
    return AccessToken(user=user, token=token, expires_in=expires_in)


def issue_token(
    *, user: User, settings: Settings | None = None, now: datetime | None = None
) -> tuple[str, int]:
    """An access token for the user, and its lifetime in seconds."""
    assert user.id is not None
    return create_access_token(user_id=user.id, settings=settings or get_settings(), now=now)


async def user_from_token(
    *, token: str, settings: Settings | None = None, db: Database | None = None
) -> User:
    """The user a token names, verified (signature, expiry, algorithm) and still existing."""
    user_id = decode_access_token(token, settings=settings or get_settings())
    return await get_user(user_id=user_id, db=db)
