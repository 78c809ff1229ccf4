"""Test set-up: a real database (MOVIEVOTE_TEST_DATABASE_URL, default a fresh SQLite file),
migrated once per run with Alembic, emptied after every test."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="movievote-tests-"))
TEST_DATABASE_URL = os.environ.get("MOVIEVOTE_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["MOVIEVOTE_DATA_DIR"] = str(_TMP / "data")  # the development outbox, ...
os.environ.setdefault("PASSWORD_HASH_MEMORY_KIB", "64")  # Argon2id at a test's cost: ~0.1 ms
os.environ.setdefault("PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("RANKING_REFRESH_DELAY_SECONDS", "0.02")
os.environ.setdefault("NOTIFY_RETRY_SECONDS", "0.01")
os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_USE_NPM", "1")
for name in (
    "SECRET_KEY",
    "MOVIEVOTE_ENV",
    "VOTE_TIMEZONE",
    "NOTIFY_SMTP_URL",
    "NOTIFY_SMS_GATEWAY_URL",
    "EMAIL_VERIFICATION",
    "SIGNUP_MODE",
    "PUBLIC_URL",
    "FORWARDED_ALLOW_IPS",
):
    os.environ.pop(name, None)

import sqlalchemy as sa  # noqa: E402

from movievote.adapters.base import MovieData  # noqa: E402
from movievote.config import Settings, get_settings  # noqa: E402
from movievote.db import (  # noqa: E402
    Database,
    get_database,
    reset_database,
)
from movievote.models import SQLModel, User, VotePublic  # noqa: E402
from movievote.root import built_root, get_root, reset_root  # noqa: E402
from movievote.services import accounts, catalogue, notifications, voting  # noqa: E402
from tests.databases import recreate_postgres_database  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgres")
postgres_only = pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL")


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> str:
    """An empty database brought to the newest revision by Alembic, as production does it."""
    from movievote.cli import migrate

    get_settings.cache_clear()
    if IS_POSTGRES:
        recreate_postgres_database(TEST_DATABASE_URL)
    migrate()
    return TEST_DATABASE_URL


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    yield get_database()


@pytest.fixture(autouse=True)
async def _isolated(migrated_database: str) -> AsyncIterator[None]:
    """Each test starts from empty tables and fresh process singletons."""
    reset_root()
    yield
    root = built_root()
    if root is not None:
        await root.subject.settle()
        await root.dispatcher.settle()
        await root.ratings.settle()
    await notifications.settle_in_flight()
    reset_root()
    database = get_database()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    if database.dialect == "postgresql":
        # A reader a test left running (rarely: measured once in ~400 tests) can deadlock with
        # the TRUNCATE, which PostgreSQL then aborts: let the reader finish, and empty again.
        for attempt in range(5):
            try:
                async with database.transaction() as conn:
                    await conn.execute(
                        sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                    )
                break
            except sa.exc.OperationalError as exc:
                if "deadlock" not in str(exc) or attempt == 4:
                    raise
                await notifications.settle_in_flight()
                await asyncio.sleep(0.2)
        await reset_database()
        return
    async with database.transaction() as conn:
        # the audit log refuses DELETE (its triggers): lift them for the clean-up only
        triggers = (
            await conn.execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_log'"
                )
            )
        ).all()
        for name, _ in triggers:
            await conn.execute(sa.text(f"DROP TRIGGER {name}"))
        for name in tables:
            await conn.execute(sa.text(f"DELETE FROM {name}"))
        for _, sql in triggers:
            await conn.execute(sa.text(sql))
    await reset_database()


SAMPLE_MOVIES = [
    MovieData(
        source="test",
        external_id="1",
        title="The Godfather",
        original_title="The Godfather",
        year=1972,
        genres=("Crime", "Drama"),
        overview="A crime family's patriarch.",
    ),
    MovieData(
        source="test",
        external_id="2",
        title="Spirited Away",
        original_title="千と千尋の神隠し",
        year=2001,
        genres=("Animation", "Fantasy"),
        overview="A girl in a spirit world.",
    ),
    MovieData(
        source="test",
        external_id="3",
        title="Parasite",
        original_title="기생충",
        year=2019,
        genres=("Drama", "Thriller", "Comedy"),
        overview="Two families.",
    ),
    MovieData(
        source="test",
        external_id="4",
        title="City of God",
        original_title="Cidade de Deus",
        year=2002,
        genres=("Crime", "Drama"),
        overview="Growing up in a favela.",
    ),
    MovieData(
        source="test",
        external_id="5",
        title="Amélie",
        original_title="Le Fabuleux Destin d'Amélie Poulain",
        year=2001,
        genres=("Comedy", "Romance"),
        overview="A shy waitress in Paris.",
    ),
]


@pytest.fixture
async def movies(db: Database) -> list[int]:
    """Five movies; returns their ids in SAMPLE_MOVIES order."""
    await catalogue.upsert_movies(SAMPLE_MOVIES, db=db)
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT external_id, id FROM movies WHERE source = 'test'")
        )
        ids = {e: i for e, i in rows}
    return [ids[m.external_id] for m in SAMPLE_MOVIES]


BASE_URL = "http://movievote.test"


async def cast_vote(**kw: Any) -> VotePublic:
    """`voting.cast_vote` with the test root's collaborators, unless a test gives its own
    (`subject=...`), and no session (the vote of a program that checked it)."""
    root = get_root()
    kw.setdefault("session_id", None)
    kw.setdefault("subject", root.subject)
    kw.setdefault("settings", root.settings)
    kw.setdefault("db", root.db)
    return await voting.cast_vote(**kw)


@pytest.fixture
def make_user() -> Callable[..., Awaitable[User]]:
    """Sign up through the service; the address is verified unless `verified=False`."""
    counter = iter(range(1, 1_000_000))

    async def make(
        email: str | None = None,
        password: str = "correct horse",
        verified: bool = True,
        **kw: object,
    ) -> User:
        n = next(counter)
        result = await accounts.sign_up(
            throttle=get_root().throttle,
            email=email or f"user{n}@example.com",
            password=password,
            display_name=str(kw.pop("display_name", f"User {n}")),
            base_url=BASE_URL,
            settings=get_root().settings,
            db=get_root().db,
            **kw,  # type: ignore[arg-type]
        )
        user = await accounts.get_user_by_email(email=result.email, db=get_root().db)
        assert user is not None and user.id is not None
        if verified:
            await accounts.mark_verified(user_id=user.id, db=get_root().db)
            user = await accounts.get_user(user_id=user.id, db=get_root().db)
        return user

    return make


@pytest.fixture
async def api() -> AsyncIterator[object]:
    """An HTTP client for the JSON API, over ASGI (the real app, no network). `client.app` is
    the FastAPI app: a test serves it another root through `app.dependency_overrides`."""
    import httpx

    from movievote.api.app import create_api

    app = create_api()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://movievote.test") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def login(api):  # type: ignore[no-untyped-def]
    """Sign up (if needed) and log in through the API; returns the Authorization header."""

    async def make(
        email: str = "voter@example.com", password: str = "password123", verified: bool = True
    ) -> dict[str, str]:
        signed_up = await api.post(
            "/api/signup",
            json={"email": email, "password": password, "display_name": email.split("@")[0]},
        )
        assert signed_up.status_code == 202, signed_up.text
        if verified:
            user = await accounts.get_user_by_email(email=email, db=get_root().db)
            assert user is not None and user.id is not None
            await accounts.mark_verified(user_id=user.id, db=get_root().db)
        response = await api.post("/api/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return make


async def verify_address(email: str) -> None:
    """Mark an address verified, as following its mailed link does (tests/integration/test_trust.py
    follows real links; elsewhere this stands in for the click)."""
    user = await accounts.get_user_by_email(email=email, db=get_root().db)
    assert user is not None and user.id is not None
    await accounts.mark_verified(user_id=user.id, db=get_root().db)
