"""Accounts: who may join, verified addresses, log-ins as sessions that can end, passwords.

One vote per verified person: a sign-up proves nothing until its owner follows the link we mail
(EMAIL_VERIFICATION=required). Sign-up and password reset answer the same whether or not the
address has an account; what differs goes to the address's own inbox.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, overload

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select

from movievote.config import Channel, Settings
from movievote.db import Database
from movievote.errors import (
    AccountBlocked,
    InvalidCredentials,
    InvalidInput,
    InvalidLink,
    InvalidToken,
    PasswordRequired,
    ServerBusy,
    SignupClosed,
    TooManyAttempts,
    UserNotFound,
    WrongPassword,
)
from movievote.i18n import N_, Duration, checked_language
from movievote.models import EmailLink, Invite, Session, User, UserPublic, UTCDateTime, utcnow
from movievote.security import (
    BCRYPT_MAX_BYTES,
    PasswordCost,
    TokenClaims,
    burn_password_check,
    create_access_token,
    decode_access_token,
    digest,
    hash_password,
    needs_rehash,
    new_secret,
    verify_password,
)
from movievote.services import notifications
from movievote.services.throttle import LoginThrottle
from movievote.text import cleaned, is_storable

PASSWORD_MIN_CHARS = 8
CHANNELS: tuple[Channel, ...] = ("email", "sms", "in_app")
VERIFY, RESET = "verify", "reset"
InTransaction = Callable[[AsyncConnection], Awaitable[None]]  # more work in a transaction

users_t = User.__table__  # type: ignore[attr-defined]
sessions_t = Session.__table__  # type: ignore[attr-defined]
links_t = EmailLink.__table__  # type: ignore[attr-defined]
invites_t = Invite.__table__  # type: ignore[attr-defined]

# Full stops that IDNA treats as dots: ideographic, full-width and half-width ideographic.
_DOTS = re.compile("[\u3002\uff0e\uff61]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINK_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
GMAIL = ("gmail.com", "googlemail.com")


def _prepared(email: str) -> str:
    """Unicode compatibility form (full-width letters are letters), IDNA's look-alike full
    stops made dots, trimmed."""
    return _DOTS.sub(".", unicodedata.normalize("NFKC", email)).strip()


def normalize_email(email: str) -> str:
    """A valid email in its one normalised form (`email-validator`'s, lower-cased);
    InvalidInput otherwise."""
    if not is_storable(email):
        raise InvalidInput(N_("Enter a valid email address."), field="email")
    prepared = _prepared(email)
    if _CONTROL.search(prepared):
        raise InvalidInput(N_("An email address cannot contain control characters."), field="email")
    try:
        # test_environment: also accept the reserved `.test` domain (RFC 2606) used in testing
        result = validate_email(prepared, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidInput(
            N_("Enter a valid email address ({reason})."), field="email", reason=str(exc)
        ) from exc
    return result.normalized.lower()


def account_key(email: str) -> str:
    """The one form of an address every comparison uses (accounts, throttles, links): the
    stored form for a valid address, and the same preparation for anything else."""
    try:
        return normalize_email(email)
    except InvalidInput:
        return _prepared(cleaned(email)).lower()


def mailbox_of(address: str) -> str:
    """The inbox a normalised address reaches: no sub-address (`ana+votes@` is `ana@`), and at
    Gmail no dots. One account per inbox, or one person could vote once per alias."""
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), GMAIL[0]
    return f"{local}@{domain}"


def check_password_rules(password: str) -> None:
    """At least 8 characters and at most 72 bytes (the accounts made before Argon2id have
    bcrypt hashes, which ignore anything past 72 bytes: one rule for every account)."""
    if not is_storable(password):
        raise InvalidInput(
            N_("A password cannot contain a NUL character or half of a character pair."),
            field="password",
        )
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidInput(
            N_("The password must have at least {count} characters."),
            field="password",
            count=PASSWORD_MIN_CHARS,
        )
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise InvalidInput(
            N_(
                "The password must be at most {count} bytes long "
                "(fewer characters if you use accents or emoji)."
            ),
            field="password",
            count=BCRYPT_MAX_BYTES,
        )


def _clean_display_name(display_name: str) -> str:
    if _CONTROL.search(display_name) or not is_storable(display_name):
        raise InvalidInput(
            N_("The display name cannot contain control characters."), field="display_name"
        )
    name = " ".join(display_name.split())
    if not 1 <= len(name) <= 80:
        raise InvalidInput(
            N_("The display name must have 1 to 80 characters."), field="display_name"
        )
    return name


def allowed_domains(settings: Settings) -> list[str]:
    return [
        d.strip().lower().lstrip("@")
        for d in settings.allowed_email_domains.split(",")
        if d.strip()
    ]


def signup_source(client: str | None, settings: Settings) -> str | None:
    """What an account keeps of the address it signed up from: an HMAC of it under the
    server's secret (16 hex characters), enough to group accounts made from one address (a
    stuffing sign admins read), never the address itself; None when the address is unknown."""
    if not client:
        return None
    key = hmac.new(settings.secret_key.encode(), b"movievote signup source", hashlib.sha256)
    return hmac.new(key.digest(), client.encode(), hashlib.sha256).hexdigest()[:16]


def _check_domain(address: str, settings: Settings) -> None:
    if settings.signup_mode != "domains":
        return
    domains = allowed_domains(settings)
    domain = address.rsplit("@", 1)[1]
    if not any(domain == d or domain.endswith("." + d) for d in domains):
        if not domains:
            raise SignupClosed(N_("Sign-up is closed: no address domain is admitted yet."))
        raise SignupClosed(
            N_("Sign-up is open to addresses at {domains} only."), domains=", ".join(domains)
        )


@dataclass(frozen=True)
class SignUpResult:
    """What a sign-up may tell its caller: the same for a new and an existing address."""

    email: str
    verification_required: bool


async def sign_up(
    *,
    email: str,
    password: str,
    display_name: str,
    base_url: str,
    invite_code: str | None = None,
    client: str | None = None,
    notification_channel: Channel | None = None,
    language: str | None = None,
    throttle: LoginThrottle,
    settings: Settings,
    db: Database,
) -> SignUpResult:
    """Create an unverified account and mail its verification link; or, if the address has an
    account already, mail its owner a note with a reset link. Answers the same either way.

    `language`: the one the member reads (None: not chosen, the pages follow the browser).
    Refused before anything is written: malformed input or an unknown language
    (InvalidInput), an address or invite this vote does not admit (SignupClosed), too many
    sign-ups from the client (TooManyAttempts).
    """
    address = normalize_email(email)
    check_password_rules(password)
    name = _clean_display_name(display_name)
    chosen = None if language is None else checked_language(language)
    channel = notification_channel or settings.notify_default_channel
    if channel not in CHANNELS:
        raise InvalidInput(
            N_("Unknown notification channel {channel}."),
            field="notification_channel",
            channel=repr(channel),
        )
    _check_domain(address, settings)
    code = (invite_code or "").strip()
    if settings.signup_mode == "invite" and not code:
        raise SignupClosed(N_("Joining this vote needs an invite code."))
    await throttle.mail_request(client=client)
    if settings.signup_mode == "invite":  # before the costly hash: a wrong code costs nothing
        async with db.engine.connect() as conn:
            await _check_invite(conn, code, utcnow())
    # hashed on both paths, so the answer takes as long for a known address as a new one
    password_hash = await hash_password(password, cost=PasswordCost.of(settings))
    now = utcnow()
    mailbox = mailbox_of(address)
    async with db.transaction() as conn:
        if settings.signup_mode == "invite":
            await _check_invite(conn, code, now)
        row = (
            (
                await conn.execute(
                    db.insert(User)
                    .values(
                        email=address,
                        mailbox=mailbox,
                        display_name=name,
                        password_hash=password_hash,
                        notification_channel=channel,
                        language=chosen,
                        is_admin=False,
                        created_at=now,
                        signup_source=signup_source(client, settings),
                    )
                    .on_conflict_do_nothing()  # the address or its inbox has an account
                    .returning(users_t.c.id)
                )
            )
            .mappings()
            .first()
        )
        if row is not None and settings.signup_mode == "invite":
            await _use_invite(conn, code, now)
    required = settings.email_verification == "required"
    if row is not None:
        if required:
            await _mail_link(
                db=db,
                settings=settings,
                user_id=row["id"],
                purpose=VERIFY,
                base_url=base_url,
                kind="verify_email",
            )
    else:
        existing = await _user_of_inbox(db, address, mailbox)
        if existing is not None and existing.id is not None:
            await _mail_link(
                db=db,
                settings=settings,
                user_id=existing.id,
                purpose=RESET,
                base_url=base_url,
                kind="account_exists",
                quiet_when_limited=True,
            )
    return SignUpResult(email=address, verification_required=required)


async def _user_of_inbox(db: Database, address: str, mailbox: str) -> User | None:
    async with db.session() as session:
        found = await session.exec(
            select(User)
            .where(sa.or_(User.email == address, User.mailbox == mailbox))  # type: ignore[arg-type]
            .order_by(User.id)  # type: ignore[arg-type]
        )
        return found.first()


async def _check_invite(conn: Any, code: str, now: datetime) -> None:
    found = (
        await conn.execute(
            sa.select(invites_t.c.uses, invites_t.c.max_uses, invites_t.c.expires_at).where(
                invites_t.c.code == code
            )
        )
    ).first()
    if (
        found is None
        or found.uses >= found.max_uses
        or (found.expires_at and found.expires_at <= now)
    ):
        raise SignupClosed(N_("This invite code is not valid: it is unknown, used up or expired."))


async def _use_invite(conn: Any, code: str, now: datetime) -> None:
    """Take one use of the invite, in the sign-up's transaction: the database decides races."""
    used = await conn.execute(
        sa.update(invites_t)
        .where(
            invites_t.c.code == code,
            invites_t.c.uses < invites_t.c.max_uses,
            sa.or_(invites_t.c.expires_at.is_(None), invites_t.c.expires_at > now),
        )
        .values(uses=invites_t.c.uses + 1)
        .returning(invites_t.c.id)
    )
    if used.first() is None:
        raise SignupClosed(N_("This invite code is not valid: it is unknown, used up or expired."))


MAX_INVITE_USES = 100_000


async def insert_invite(
    conn: AsyncConnection,
    *,
    max_uses: int = 1,
    days: float | None = 14,
    created_by: int | None = None,
) -> Any:
    """A new invite code in the caller's transaction (an admin's commits with its audit row):
    usable `max_uses` times for `days` days (None: no expiry). The row inserted."""
    if not 1 <= max_uses <= MAX_INVITE_USES:
        raise InvalidInput(N_("An invite is usable 1 to 100,000 times."), field="max_uses")
    now = utcnow()
    return (
        await conn.execute(
            sa.insert(invites_t)
            .values(
                code=new_secret()[:16],
                max_uses=max_uses,
                uses=0,
                expires_at=now + timedelta(days=days) if days else None,
                created_by=created_by,
                created_at=now,
            )
            .returning(*invites_t.c)
        )
    ).one()


async def create_invite(
    *,
    max_uses: int = 1,
    days: float | None = 14,
    created_by: int | None = None,
    db: Database,
) -> Invite:
    """A new invite code usable `max_uses` times for `days` days (None: no expiry), with no
    audit row (admins and the CLI go through `admin.create_invite`, which records one)."""
    async with db.transaction() as conn:
        row = await insert_invite(conn, max_uses=max_uses, days=days, created_by=created_by)
    return Invite(**row._mapping)


def link_url(base_url: str, purpose: str, token: str) -> str:
    page = "verify-email" if purpose == VERIFY else "reset-password"
    return f"{base_url.rstrip('/')}/{page}?token={token}"


async def _mail_link(
    *,
    db: Database,
    settings: Settings,
    user_id: int,
    purpose: str,
    base_url: str,
    kind: str,
    quiet_when_limited: bool = False,
    also: InTransaction | None = None,
) -> None:
    """Create a one-time link and mail it (in the background: the caller's answer does not
    wait for, or reveal, the mail server). At most VERIFICATION_EMAILS_PER_HOUR links of a
    purpose per account per hour: past that TooManyAttempts, or nothing when `quiet`.
    `also` runs in the link's transaction (an admin's audit row)."""
    now = utcnow()
    lifetime = (
        timedelta(hours=settings.verification_link_hours)
        if purpose == VERIFY
        else timedelta(minutes=settings.password_reset_minutes)
    )
    token = new_secret()
    async with db.transaction() as conn:
        # a write on the member's row first: concurrent requests for one member queue here,
        # so the count below cannot be read by two of them at once (a row lock on PostgreSQL,
        # the write lock on SQLite)
        await conn.execute(
            sa.update(users_t).where(users_t.c.id == user_id).values(id=users_t.c.id)
        )
        recent = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.min(links_t.c.created_at)).where(
                    links_t.c.user_id == user_id,
                    links_t.c.purpose == purpose,
                    links_t.c.created_at > now - timedelta(hours=1),
                )
            )
        ).one()
        if recent[0] >= settings.verification_emails_per_hour:
            if quiet_when_limited:
                return
            oldest = recent[1] if recent[1].tzinfo else recent[1].replace(tzinfo=now.tzinfo)
            wait = max(1, int((oldest + timedelta(hours=1) - now).total_seconds()))
            raise TooManyAttempts(
                N_(
                    "We have sent you {count} emails in the last hour. Check your inbox (and "
                    "spam folder), or ask again in {wait}."
                ),
                retry_after=wait,
                count=recent[0],
                wait=Duration(wait),
            )
        await conn.execute(
            sa.insert(links_t).values(
                user_id=user_id,
                purpose=purpose,
                token_hash=digest(token),
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        if also is not None:
            await also(conn)
        contact = (
            await conn.execute(
                sa.select(
                    users_t.c.id,
                    users_t.c.email,
                    users_t.c.phone,
                    users_t.c.notification_channel,
                    users_t.c.language,
                ).where(users_t.c.id == user_id)
            )
        ).one()
    # nothing a stranger typed goes into these mails: anyone can make us mail any address
    payload = {
        "expires_at": (now + lifetime).isoformat(),
        "valid_for_seconds": lifetime.total_seconds(),
    }
    notifications.send_soon(
        user=notifications.Contact(
            id=contact.id,
            email=contact.email,
            phone=contact.phone,
            notification_channel="email",
            language=contact.language,
        ),
        kind=kind,
        payload=payload,
        link=link_url(base_url, purpose, token),
        channel="email",
        settings=settings,
        db=db,
    )


async def resend_verification(
    *,
    user_id: int,
    base_url: str,
    settings: Settings,
    db: Database,
    also: InTransaction | None = None,
) -> bool:
    """Mail a new verification link; False if the address is verified already.
    TooManyAttempts past VERIFICATION_EMAILS_PER_HOUR. `also` runs in the link's
    transaction (an admin's audit row)."""
    user = await get_user(user_id=user_id, db=db)
    if user.email_verified_at is not None:
        return False
    await _mail_link(
        db=db,
        settings=settings,
        user_id=user_id,
        purpose=VERIFY,
        base_url=base_url,
        kind="verify_email",
        also=also,
    )
    return True


async def _link_owner(db: Database, token: str, purpose: str) -> int:
    """Whose a usable link is (without using it); InvalidLink if unknown, used or expired."""
    if not _LINK_TOKEN.match(token):
        raise InvalidLink(_invalid_link(purpose))
    async with db.engine.connect() as conn:
        user_id = await conn.scalar(
            sa.select(links_t.c.user_id).where(
                links_t.c.token_hash == digest(token),
                links_t.c.purpose == purpose,
                links_t.c.used_at.is_(None),
                links_t.c.expires_at > utcnow(),
            )
        )
    if user_id is None:
        raise InvalidLink(_invalid_link(purpose))
    return int(user_id)


async def _consume_link(db: Database, token: str, purpose: str) -> int:
    """Use a link once: the user id it was made for; InvalidLink if unknown, used or expired."""
    now = utcnow()
    if not _LINK_TOKEN.match(token):
        raise InvalidLink(_invalid_link(purpose))
    async with db.transaction() as conn:
        user_id = await conn.scalar(
            sa.update(links_t)
            .where(
                links_t.c.token_hash == digest(token),
                links_t.c.purpose == purpose,
                links_t.c.used_at.is_(None),
                links_t.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(links_t.c.user_id)
        )
    if user_id is None:
        raise InvalidLink(_invalid_link(purpose))
    return int(user_id)


def _invalid_link(purpose: str) -> str:
    if purpose == VERIFY:
        return N_(
            "This verification link is not valid: it was used already, has expired or was "
            "mistyped. Log in and ask for a new one."
        )
    return N_(
        "This password-reset link is not valid: it was used already, has expired or was "
        "mistyped. Ask for a new one."
    )


async def verify_email(
    *,
    token: str,
    user_id: int | None = None,
    password: str | None = None,
    db: Database,
) -> User:
    """Follow a verification link: the account's address is verified from now on.

    Whoever follows it must also be the account's owner: logged in as it (`user_id`, from a
    verified session) or knowing its password. A mailbox alone is not enough, or whoever
    signed up someone else's address with a password of their own would get a verified
    account the day its owner clicks "confirm" (or a mail scanner follows the link);
    that owner uses "forgot password" instead. PasswordRequired (the link is kept) otherwise.
    """
    owner = await _link_owner(db, token, VERIFY)
    if owner != user_id:
        user = await get_user(user_id=owner, db=db)
        if not password or not await verify_password(password, user.password_hash):
            raise PasswordRequired(
                N_(
                    "Enter the password of the account to confirm its address (forgot it? reset it "
                    "from the log-in page: that confirms the address too)."
                )
            )
    if await _consume_link(db, token, VERIFY) != owner:
        raise InvalidLink(_invalid_link(VERIFY))
    await mark_verified(user_id=owner, db=db)
    return await get_user(user_id=owner, db=db)


async def set_language(*, user_id: int, language: str, db: Database) -> User:
    """Record the language the member reads ("en", "pt-BR"); InvalidInput for one movievote
    does not speak, UserNotFound if the account is gone."""
    chosen = checked_language(language)
    async with db.transaction() as conn:
        changed = await conn.scalar(
            sa.update(users_t)
            .where(users_t.c.id == user_id)
            .values(language=chosen)
            .returning(users_t.c.id)
        )
    if changed is None:
        raise UserNotFound(N_("This account no longer exists."))
    return await get_user(user_id=user_id, db=db)


async def mark_verified(*, user_id: int, db: Database) -> None:
    """Record that the account's owner reads its address (a followed link, or an operator)."""
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(users_t)
            .where(users_t.c.id == user_id, users_t.c.email_verified_at.is_(None))
            .values(email_verified_at=utcnow())
        )


async def request_password_reset(
    *,
    email: str,
    base_url: str,
    client: str | None = None,
    throttle: LoginThrottle,
    settings: Settings,
    db: Database,
) -> None:
    """Mail a reset link if the address has an account; the same (silent) answer if not."""
    address = normalize_email(email)
    await throttle.mail_request(client=client)
    # the look-up, the link and the mail happen after the answer, for every address: the
    # answer's time says nothing about whether the address has an account
    notifications.run_soon(_mail_reset_link(db, settings, address, base_url))


async def _mail_reset_link(db: Database, settings: Settings, address: str, base_url: str) -> None:
    user = await get_user_by_email(email=address, db=db)
    if user is None or user.id is None:
        return
    await _mail_link(
        db=db,
        settings=settings,
        user_id=user.id,
        purpose=RESET,
        base_url=base_url,
        kind="password_reset",
        quiet_when_limited=True,
    )


async def reset_password(
    *,
    token: str,
    new_password: str,
    client: str | None = None,
    throttle: LoginThrottle,
    settings: Settings,
    db: Database,
) -> User:
    """Follow a reset link: set the password, end every session. The link came to the
    account's inbox, so the address counts as verified too, and the account's log-in throttle
    starts afresh with this client known: a reset by mail always lets the owner back in."""
    check_password_rules(new_password)
    user_id = await _consume_link(db, token, RESET)
    await _set_password(db, settings, user_id, new_password)
    await mark_verified(user_id=user_id, db=db)
    user = await get_user(user_id=user_id, db=db)
    await throttle.owner_proved(account=user.email, client=client)
    return user


async def change_password(
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    client: str | None = None,
    throttle: LoginThrottle,
    settings: Settings,
    db: Database,
) -> AccessToken:
    """Change the password with the current one: every earlier session ends, and a new one
    (returned) keeps the member logged in where they made the change. Wrong current passwords
    count as failed log-ins (a stolen session is no way to guess the password)."""
    check_password_rules(new_password)
    user = await get_user(user_id=user_id, db=db)
    await throttle.check(account=user.email, client=client)
    if not await verify_password(current_password, user.password_hash):
        await throttle.failed(account=user.email, client=client)
        raise WrongPassword(N_("The current password is not right."))
    await _set_password(db, settings, user_id, new_password)
    notifications.send_soon(
        user=notifications.Contact(
            id=user_id,
            email=user.email,
            phone=user.phone,
            notification_channel="email",
            language=user.language,
        ),
        kind="password_changed",
        payload={},
        channel="email",
        settings=settings,
        db=db,
    )
    return await open_session(user=user, settings=settings, db=db)


async def _set_password(db: Database, settings: Settings, user_id: int, password: str) -> None:
    password_hash = await hash_password(password, cost=PasswordCost.of(settings))
    now = utcnow()
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(users_t).where(users_t.c.id == user_id).values(password_hash=password_hash)
        )
        await conn.execute(
            sa.update(sessions_t)
            .where(sessions_t.c.user_id == user_id, sessions_t.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        await conn.execute(  # and no reset link mailed before this works any more
            sa.update(links_t)
            .where(
                links_t.c.user_id == user_id,
                links_t.c.purpose == RESET,
                links_t.c.used_at.is_(None),
            )
            .values(used_at=now)
        )


async def authenticate(*, email: str, password: str, settings: Settings, db: Database) -> User:
    """The user whose email and password these are; InvalidCredentials otherwise (same time)."""
    try:
        address = normalize_email(email)
    except InvalidInput:
        address = None
    user = await get_user_by_email(email=address, db=db) if address else None
    if user is None or "\x00" in password:
        await burn_password_check(password.replace("\x00", ""), cost=PasswordCost.of(settings))
        raise InvalidCredentials(N_("Incorrect email or password."))
    if not await verify_password(password, user.password_hash):
        raise InvalidCredentials(N_("Incorrect email or password."))
    return user


async def get_user(*, user_id: int, db: Database) -> User:
    """A user by id; UserNotFound if there is none."""
    async with db.session() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound(N_("This account no longer exists."))
    return user


async def get_user_by_email(*, email: str, db: Database) -> User | None:
    async with db.session() as session:
        result = await session.exec(select(User).where(User.email == account_key(email)))
        return result.first()


@dataclass(frozen=True)
class AccessToken:
    user: User
    token: str
    expires_in: int
    session_id: str


async def log_in(
    *,
    email: str,
    password: str,
    client: str | None = None,
    throttle: LoginThrottle,
    settings: Settings,
    db: Database,
) -> AccessToken:
    """Authenticate and open a session, throttling failures (services.throttle).

    TooManyAttempts is decided before the password is checked, so a throttled guesser learns
    nothing from the answer.
    """
    key = account_key(email)
    await throttle.check(account=key, client=client)
    try:
        user = await authenticate(email=email, password=password, settings=settings, db=db)
    except InvalidCredentials:
        await throttle.failed(account=key, client=client)
        raise
    await throttle.succeeded(account=key, client=client)
    if user.blocked_at is not None:
        raise _blocked()
    issued = await open_session(
        user=user, settings=settings, db=db, checked_hash=user.password_hash
    )
    if issued is None:
        # the hash changed while this log-in checked the old one: a password change (this
        # password is then wrong, unless it is the new one) or another log-in's upgrade of the
        # hash (then it still checks): checked again against the hash as it is now
        current = await get_user(user_id=user.id, db=db)  # type: ignore[arg-type]
        if current.password_hash != user.password_hash and await verify_password(
            password, current.password_hash
        ):
            issued = await open_session(
                user=current, settings=settings, db=db, checked_hash=current.password_hash
            )
        if issued is None:
            raise InvalidCredentials(N_("Incorrect email or password."))
        return issued
    await _upgrade_hash(user, password, settings=settings, db=db)
    return issued


async def _upgrade_hash(user: User, password: str, *, settings: Settings, db: Database) -> None:
    """After a log-in, replace the account's hash if it is bcrypt (from before Argon2id) or
    Argon2id at another cost than the one set: the password is at hand only now. Only if the
    hash is still the one just checked (a password change meanwhile wins); the sessions stay."""
    cost = PasswordCost.of(settings)
    if not needs_rehash(user.password_hash, cost):
        return
    try:
        new_hash = await hash_password(password, cost=cost)
    except ServerBusy:  # log-ins are queueing for the threads: the next log-in upgrades it
        return
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(users_t)
            .where(users_t.c.id == user.id, users_t.c.password_hash == user.password_hash)
            .values(password_hash=new_hash)
        )


@overload
async def open_session(*, user: User, settings: Settings, db: Database) -> AccessToken: ...
@overload
async def open_session(
    *, user: User, checked_hash: str, settings: Settings, db: Database
) -> AccessToken | None: ...
async def open_session(
    *,
    user: User,
    checked_hash: str | None = None,
    settings: Settings,
    db: Database,
) -> AccessToken | None:
    """A new session for the user and the access token that names it.

    `checked_hash`: the password hash a log-in just verified. The session is opened only if it
    is still the account's (None otherwise), in one statement that holds the member's row
    (FOR SHARE on PostgreSQL): a password change or reset either waits for this session and
    then ends it, or happens first and this log-in fails. None slips between the two. A
    blocked account gets no session (AccountBlocked), on the same terms against a block.
    """
    assert user.id is not None
    now = utcnow()
    session_id = new_secret()
    token, expires_in = create_access_token(
        user_id=user.id, session_id=session_id, settings=settings, now=now
    )
    source = sa.select(
        sa.literal(session_id, sa.String()),
        users_t.c.id,
        sa.literal(now, UTCDateTime()),
        sa.literal(now + timedelta(seconds=expires_in), UTCDateTime()),
    ).where(users_t.c.id == user.id, users_t.c.blocked_at.is_(None))
    if checked_hash is not None:
        source = source.where(users_t.c.password_hash == checked_hash)
    if db.dialect == "postgresql":
        source = source.with_for_update(read=True)
    async with db.transaction() as conn:
        opened = await conn.scalar(
            sa.insert(sessions_t)
            .from_select(["id", "user_id", "created_at", "expires_at"], source)
            .returning(sessions_t.c.id)
        )
    if opened is None:
        async with db.engine.connect() as conn:
            blocked_at = await conn.scalar(
                sa.select(users_t.c.blocked_at).where(users_t.c.id == user.id)
            )
        if blocked_at is not None:  # blocked while this log-in checked the password
            raise _blocked()
        if checked_hash is None:
            raise UserNotFound(N_("This account no longer exists."))
        return None
    return AccessToken(user=user, token=token, expires_in=expires_in, session_id=session_id)


async def log_out(*, token: str, settings: Settings, db: Database) -> None:
    """End the session a token names (a token that is not valid any more has none to end)."""
    try:
        claims = decode_access_token(token, settings=settings)
    except InvalidToken:
        return
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(sessions_t)
            .where(
                sessions_t.c.id == claims.session_id,
                sessions_t.c.user_id == claims.user_id,
                sessions_t.c.ended_at.is_(None),
            )
            .values(ended_at=utcnow())
        )


async def user_from_token(*, token: str, settings: Settings, db: Database) -> User:
    """The user a token names: verified (signature, expiry, algorithm), its session still
    open and its account still there, in one query. InvalidToken otherwise."""
    claims = decode_access_token(token, settings=settings)
    return await user_of_session(claims=claims, db=db)


async def user_of_session(*, claims: TokenClaims, db: Database) -> User:
    """The member of an open session, not blocked (InvalidToken otherwise)."""
    async with db.session() as session:
        result = await session.exec(
            select(User)
            .join(Session, Session.user_id == User.id)  # type: ignore[arg-type]
            .where(
                Session.id == claims.session_id,
                Session.user_id == claims.user_id,
                Session.ended_at.is_(None),  # type: ignore[union-attr]
                User.blocked_at.is_(None),  # type: ignore[union-attr]
            )
        )
        user = result.first()
    if user is None:
        raise InvalidToken(N_("Your session has ended. Please log in again."))
    return user


def _blocked() -> AccountBlocked:
    return AccountBlocked(N_("This account is blocked. Contact the people who run this vote."))


def public(user: User) -> UserPublic:
    """What an account shows of itself (never its password hash)."""
    assert user.id is not None
    return UserPublic(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        notification_channel=user.notification_channel,
        is_admin=user.is_admin,
        created_at=user.created_at,
        email_verified=user.email_verified_at is not None,
        language=user.language,
    )


def verification_link_lifetime(settings: Settings) -> Duration:
    return Duration(timedelta(hours=settings.verification_link_hours).total_seconds())


def reset_link_lifetime(settings: Settings) -> Duration:
    return Duration(timedelta(minutes=settings.password_reset_minutes).total_seconds())


def is_verified(user: User, settings: Settings) -> bool:
    """May this member vote as far as the address goes (verified, or verification off)?"""
    return settings.email_verification == "off" or user.email_verified_at is not None


async def check_member(conn: AsyncConnection, *, user_id: int, session_id: str | None) -> Any:
    """Refuse a member who may not act (asked after a write that did not happen, to say why):
    an account gone (UserNotFound), blocked (AccountBlocked), or a session that has ended
    (InvalidToken). Returns the member's row (`email_verified_at`, `blocked_at`)."""
    user = (
        await conn.execute(
            sa.select(users_t.c.email_verified_at, users_t.c.blocked_at).where(
                users_t.c.id == user_id
            )
        )
    ).first()
    if user is None:
        raise UserNotFound(N_("This account no longer exists."))
    if user.blocked_at is not None:
        raise AccountBlocked(N_("This account is blocked. Contact the people who run this vote."))
    if session_id is not None:
        open_session = await conn.scalar(
            sa.select(sessions_t.c.id).where(
                sessions_t.c.id == session_id,
                sessions_t.c.user_id == user_id,
                sessions_t.c.ended_at.is_(None),
            )
        )
        if open_session is None:
            raise InvalidToken(N_("Your session has ended. Please log in again."))
    return user
