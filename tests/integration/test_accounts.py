"""Accounts: sign-up rules, authentication without timing leaks, tokens that can't be forged."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import jwt
import pytest
import sqlalchemy as sa

from movievote.config import Settings
from movievote.errors import InvalidCredentials, InvalidInput, InvalidToken
from movievote.models import User
from movievote.root import get_root
from movievote.services import accounts
from tests.conftest import BASE_URL


async def test_sign_up_stores_an_argon2id_hash_and_a_lowercased_email(db):
    result = await accounts.sign_up(
        throttle=get_root().throttle,
        email="  Ana.Silva@Example.COM ",
        password="s3cret-pass",
        display_name=" Ana  Silva ",
        base_url=BASE_URL,
        db=db,
        settings=get_root().settings,
    )
    assert result.email == "ana.silva@example.com" and result.verification_required
    user = await accounts.get_user_by_email(email="ana.silva@example.com", db=db)
    assert user is not None and user.id is not None
    assert user.display_name == "Ana Silva"
    assert user.password_hash.startswith("$argon2id$") and "s3cret-pass" not in user.password_hash
    assert user.notification_channel == "in_app" and user.is_admin is False
    assert user.email_verified_at is None  # verified only by following the mailed link


async def test_email_is_unique_whatever_its_case_and_the_answer_does_not_tell(db):
    first = await accounts.sign_up(
        throttle=get_root().throttle,
        email="bob@example.com",
        password="password1",
        display_name="Bob",
        base_url=BASE_URL,
        db=db,
        settings=get_root().settings,
    )
    again = await accounts.sign_up(
        throttle=get_root().throttle,
        email="BOB@Example.com",
        password="password2",
        display_name="Bob 2",
        base_url=BASE_URL,
        db=db,
        settings=get_root().settings,
    )
    assert first == again
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM users")) == 1


async def test_concurrent_sign_ups_with_one_email_create_one_account(db):
    results = await asyncio.gather(
        *(
            accounts.sign_up(
                throttle=get_root().throttle,
                email="race@example.com",
                password="password1",
                display_name=f"R{i}",
                base_url=BASE_URL,
                db=db,
                settings=get_root().settings,
            )
            for i in range(10)
        ),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM users")) == 1


async def test_the_database_refuses_a_mixed_case_email(db):
    with pytest.raises(sa.exc.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (email, display_name, password_hash, notification_channel, is_admin, created_at) "
                    "VALUES ('Mixed@Example.com', 'x', 'x', 'in_app', false, :t)"
                ),
                {"t": datetime.now(UTC)},
            )


@pytest.mark.parametrize(
    ("email", "password", "name", "field"),
    [
        ("not-an-email", "password1", "X", "email"),
        ("a@b", "password1", "X", "email"),
        ("ok@example.com", "short", "X", "password"),
        ("ok@example.com", "x" * 73, "X", "password"),
        ("ok@example.com", "é" * 37, "X", "password"),  # 37 characters but 74 bytes
        ("ok@example.com", "password1", "   ", "display_name"),
        ("ok@example.com", "password1", "n" * 81, "display_name"),
        ("ok\x00@example.com", "password1", "X", "email"),
        ("ok@example.com", "pass\x00word1", "X", "password"),
        ("ok@example.com", "password1", "Ana\x00", "display_name"),
    ],
)
async def test_sign_up_rejects_bad_input_with_a_clear_message(db, email, password, name, field):
    with pytest.raises(InvalidInput) as refused:
        await accounts.sign_up(
            throttle=get_root().throttle,
            email=email,
            password=password,
            display_name=name,
            base_url=BASE_URL,
            db=db,
            settings=get_root().settings,
        )
    assert refused.value.field == field
    assert refused.value.message.endswith(".") or refused.value.message.endswith(")")


async def test_a_72_byte_password_is_accepted_and_checked_in_full(db):
    password = "p" * 71 + "!"
    await accounts.sign_up(
        throttle=get_root().throttle,
        email="long@example.com",
        password=password,
        display_name="L",
        base_url=BASE_URL,
        db=db,
        settings=get_root().settings,
    )
    assert (
        await accounts.authenticate(
            email="long@example.com", password=password, db=db, settings=get_root().settings
        )
    ).email == "long@example.com"
    with pytest.raises(InvalidCredentials):
        await accounts.authenticate(
            email="long@example.com", password="p" * 71 + "?", db=db, settings=get_root().settings
        )


async def test_authenticate_accepts_the_right_password_only(db, make_user):
    user = await make_user(email="carla@example.com", password="right-password")
    assert (
        await accounts.authenticate(
            email="CARLA@example.com",
            password="right-password",
            db=db,
            settings=get_root().settings,
        )
    ).id == user.id
    for email, password in [
        ("carla@example.com", "wrong-password"),
        ("nobody@example.com", "right-password"),
        ("garbage", "x"),
    ]:
        with pytest.raises(InvalidCredentials) as refused:
            await accounts.authenticate(
                email=email, password=password, db=db, settings=get_root().settings
            )
        assert refused.value.message == "Incorrect email or password."


async def test_password_hashing_never_blocks_the_event_loop(db, make_user):
    settings = Settings(password_hash_memory_kib=65_536, password_hash_time_cost=3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    await accounts.sign_up(
        throttle=get_root().throttle,
        email="slow@example.com",
        password="password1",
        display_name="S",
        settings=settings,
        base_url=BASE_URL,
        db=db,
    )
    user = await accounts.get_user_by_email(email="slow@example.com", db=db)
    assert user is not None
    with pytest.raises(InvalidCredentials):  # unknown email: the dummy check costs as much
        await accounts.authenticate(
            email="unknown@example.com", password="password1", settings=settings, db=db
        )
    elapsed = time.monotonic() - started
    task.cancel()
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    assert elapsed > 0.1  # Argon2id at 64 MiB and 3 passes really ran twice
    assert ticks >= elapsed / 0.005 / 4  # the loop kept ticking meanwhile


async def test_unknown_email_costs_a_real_password_check(db, make_user, monkeypatch):
    from movievote import security

    checked: list[str] = []
    real = security._check_sync
    monkeypatch.setattr(security, "_check_sync", lambda p, h: checked.append(h) or real(p, h))
    with pytest.raises(InvalidCredentials):
        await accounts.authenticate(
            email="ghost@example.com", password="whatever1", db=db, settings=get_root().settings
        )
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")


async def test_an_older_account_s_bcrypt_hash_is_replaced_at_its_next_log_in(db, make_user):
    """Accounts made before Argon2id keep logging in with their bcrypt hash; the first log-in
    with the right password replaces it (the password is at hand only then), a wrong one
    changes nothing, and so does a log-in at the cost set now; a new cost upgrades again."""
    import bcrypt

    user = await make_user(email="old@example.com", password="correct horse")
    legacy = bcrypt.hashpw(b"correct horse", bcrypt.gensalt(4)).decode()
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(User.__table__)
            .where(User.__table__.c.id == user.id)
            .values(password_hash=legacy)  # type: ignore[attr-defined]
        )
    settings, root = get_root().settings, get_root()

    async def log_in(password: str, settings: Settings = settings) -> accounts.AccessToken:
        return await accounts.log_in(
            email="old@example.com",
            password=password,
            throttle=root.throttle,
            settings=settings,
            db=db,
        )

    async def stored() -> str:
        return (await accounts.get_user(user_id=user.id, db=db)).password_hash

    with pytest.raises(InvalidCredentials):
        await log_in("wrong horse")
    assert await stored() == legacy
    issued = await log_in("correct horse")
    upgraded = await stored()
    assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert (
        await accounts.user_from_token(token=issued.token, db=db, settings=settings)
    ).id == user.id
    await log_in("correct horse")  # the cost set now: kept
    assert await stored() == upgraded
    dearer = Settings(password_hash_memory_kib=128, password_hash_time_cost=2)
    await log_in("correct horse", dearer)
    assert (await stored()).startswith("$argon2id$v=19$m=128,t=2,p=1$")
    await log_in("correct horse")  # a hash at another cost still checks
    with pytest.raises(InvalidCredentials):
        await log_in("correct horse!")


async def test_two_log_ins_at_once_both_get_in_while_one_upgrades_the_hash(
    db, make_user, monkeypatch
):
    """A log-in whose checked hash another log-in has just upgraded is let in (its password
    checks against the new hash), where a password change meanwhile would refuse it."""
    import bcrypt

    user = await make_user(email="twice@example.com", password="correct horse")
    legacy = bcrypt.hashpw(b"correct horse", bcrypt.gensalt(4)).decode()
    users = User.__table__  # type: ignore[attr-defined]
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(users).where(users.c.id == user.id).values(password_hash=legacy)
        )
    root, real = get_root(), accounts.authenticate

    async def log_in() -> accounts.AccessToken:
        return await accounts.log_in(
            email="twice@example.com",
            password="correct horse",
            throttle=root.throttle,
            settings=root.settings,
            db=db,
        )

    async def checked_then_the_other_device_logs_in(**kw):  # type: ignore[no-untyped-def]
        found = await real(**kw)
        monkeypatch.setattr(accounts, "authenticate", real)
        await log_in()  # the other device: its log-in upgrades the hash
        return found

    monkeypatch.setattr(accounts, "authenticate", checked_then_the_other_device_logs_in)
    issued = await log_in()
    assert (
        await accounts.user_from_token(token=issued.token, db=db, settings=root.settings)
    ).id == user.id
    assert (await accounts.get_user(user_id=user.id, db=db)).password_hash.startswith("$argon2id$")


async def test_token_round_trip_and_claims(db, make_user, settings):
    user = await make_user()
    issued = await accounts.open_session(user=user, db=db, settings=settings)
    assert issued.expires_in == settings.access_token_minutes * 60
    claims = jwt.decode(issued.token, settings.secret_key, algorithms=["HS256"])
    assert claims["sub"] == str(user.id) and claims["exp"] - claims["iat"] == issued.expires_in
    assert claims["sid"] == issued.session_id and len(issued.session_id) == 43
    assert (
        await accounts.user_from_token(token=issued.token, db=db, settings=settings)
    ).id == user.id


async def test_expired_tampered_wrong_key_and_unsigned_tokens_are_rejected(db, make_user, settings):
    user = await make_user()
    old = await accounts.open_session(user=user, settings=Settings(access_token_minutes=1), db=db)
    good = await accounts.open_session(user=user, db=db, settings=settings)
    header, payload, signature = good.token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        f'{{"sub":"1","sid":"{good.session_id}","iat":1,"exp":9999999999}}'.encode()
    ).decode()
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": str(user.id), "sid": good.session_id, "iat": now, "exp": now + 600}
    bad_tokens = {
        "expired": jwt.encode(
            {**claims, "iat": now - 120, "exp": now - 60}, settings.secret_key, algorithm="HS256"
        ),
        "tampered payload": f"{header}.{forged_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "wrong key": jwt.encode(
            claims, "another-secret-that-is-long-enough-32b", algorithm="HS256"
        ),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "HS512": jwt.encode(claims, settings.secret_key, algorithm="HS512"),
        "no exp": jwt.encode(
            {"sub": str(user.id), "sid": good.session_id, "iat": now},
            settings.secret_key,
            algorithm="HS256",
        ),
        "no session": jwt.encode(
            {"sub": str(user.id), "iat": now, "exp": now + 600},
            settings.secret_key,
            algorithm="HS256",
        ),
        "a session never opened": jwt.encode(
            {**claims, "sid": "x" * 43}, settings.secret_key, algorithm="HS256"
        ),
        "another member's session": jwt.encode(
            {**claims, "sub": str(user.id + 1)}, settings.secret_key, algorithm="HS256"
        ),
        "non-numeric sub": jwt.encode(
            {**claims, "sub": "admin"}, settings.secret_key, algorithm="HS256"
        ),
        "garbage": "not.a.token",
        "empty": "",
    }
    for name, token in bad_tokens.items():
        with pytest.raises(InvalidToken):
            await accounts.user_from_token(token=token, db=db, settings=settings)
        assert name
    assert old.token != good.token


async def test_a_token_for_a_deleted_user_is_refused_and_never_names_a_new_account(db, make_user):
    user = await make_user()
    issued = await accounts.open_session(user=user, db=db, settings=get_root().settings)
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": user.id})
    with pytest.raises(InvalidToken):
        await accounts.user_from_token(token=issued.token, db=db, settings=get_root().settings)
    newcomer = await make_user()
    assert newcomer.id != user.id  # ids are never handed out again (AUTOINCREMENT on SQLite)
    with pytest.raises(InvalidToken):
        await accounts.user_from_token(token=issued.token, db=db, settings=get_root().settings)


async def test_a_member_chooses_a_language(db, make_user):
    user = await make_user()
    assert user.language is None and accounts.public(user).language is None  # not chosen yet
    chosen = await accounts.set_language(user_id=user.id, language="pt-BR", db=db)
    assert chosen.language == "pt-BR"
    assert (await accounts.get_user(user_id=user.id, db=db)).language == "pt-BR"
    assert accounts.public(chosen).language == "pt-BR"
    assert (await accounts.set_language(user_id=user.id, language="en", db=db)).language == "en"
    for unknown in ("fr", "", "pt", "pt-br", "en-US-x-very-long-tag"):
        with pytest.raises(InvalidInput) as refused:
            await accounts.set_language(user_id=user.id, language=unknown, db=db)
        assert refused.value.field == "language"
    assert (await accounts.get_user(user_id=user.id, db=db)).language == "en"
    from movievote.errors import UserNotFound

    with pytest.raises(UserNotFound):
        await accounts.set_language(user_id=987654, language="en", db=db)


async def test_sign_up_stores_the_language_and_refuses_an_unknown_one(db, make_user):
    brazilian = await make_user(email="bia@example.com", language="pt-BR")
    assert brazilian.language == "pt-BR"
    with pytest.raises(InvalidInput) as refused:
        await make_user(email="klaus@example.com", language="de")
    assert refused.value.field == "language"
    assert await accounts.get_user_by_email(email="klaus@example.com", db=db) is None
