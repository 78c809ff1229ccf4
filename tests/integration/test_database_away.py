"""The database away, slow or saturated: the API answers 503 `unavailable` with Retry-After,
quickly (the connect, pool and statement time-outs of db.py), and a connection the server
closed is never handed to a request."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import psycopg
import pytest
import sqlalchemy as sa

from movievote.config import Settings
from movievote.db import Database, postgres_connect_args
from movievote.root import build_root, get_root
from tests.conftest import TEST_DATABASE_URL, postgres_only
from tests.integration.test_api_accounts import assert_error


@asynccontextmanager
async def serving_from(api, url: str, **settings: object) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """The API served by a root of its own, whose database is a real one at `url`."""
    configured = Settings(database_url=url, **settings)  # type: ignore[arg-type]
    database = Database(configured)
    root = build_root(configured, database)
    api.app.dependency_overrides[get_root] = lambda: root
    try:
        yield database
    finally:
        del api.app.dependency_overrides[get_root]
        await database.dispose()


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_unavailable(response) -> None:  # type: ignore[no-untyped-def]
    assert_error(response, 503, "unavailable")
    assert int(response.headers["Retry-After"]) > 0


async def timed(request) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


ROUTES = ["/api/health", "/api/movies", "/api/movies/1", "/api/ranking?period=2020-01"]


async def test_a_stopped_database_is_503_at_once(api):
    async with serving_from(api, f"postgresql://postgres@127.0.0.1:{closed_port()}/movievote"):
        for path in ROUTES:
            response, seconds = await timed(api.get(path))
            assert_unavailable(response)
            assert seconds < 1.0, (path, seconds)


async def test_a_vote_with_the_database_away_is_503(api, login):
    headers = await login()  # a token from the real database; then the database goes away
    async with serving_from(api, f"postgresql://postgres@127.0.0.1:{closed_port()}/movievote"):
        response, seconds = await timed(api.post("/api/vote/1", headers=headers))
        assert_unavailable(response)
        assert seconds < 1.0


async def test_a_database_that_never_answers_is_503_within_the_connect_timeout(api):
    with silent_server() as port:
        async with serving_from(
            api,
            f"postgresql://postgres@127.0.0.1:{port}/movievote",
            database_connect_timeout_seconds=2,
        ):
            for path in ("/api/health", "/api/movies"):
                response, seconds = await timed(api.get(path))
                assert_unavailable(response)
                assert 1.5 < seconds < 4.0, (path, seconds)  # not the OS's minutes


async def test_an_unopenable_sqlite_file_is_503(api, tmp_path):
    async with serving_from(api, f"sqlite:///{tmp_path}"):  # a directory, not a database file
        for path in ROUTES:
            assert_unavailable(await api.get(path))


def test_the_time_outs_reach_the_driver():
    args = postgres_connect_args(
        Settings(database_connect_timeout_seconds=2.5, database_statement_timeout_seconds=4)
    )
    assert args == {
        "connect_timeout": 3,
        "options": "-c statement_timeout=4000",
        "tcp_user_timeout": 4000,
    }


@postgres_only
async def test_a_statement_over_the_statement_timeout_is_503(api, movies):
    async with serving_from(api, TEST_DATABASE_URL, database_statement_timeout_seconds=0.5):
        locker = await psycopg.AsyncConnection.connect(_libpq(TEST_DATABASE_URL))
        try:
            await locker.execute("LOCK TABLE movies IN ACCESS EXCLUSIVE MODE")  # a slow migration
            response, seconds = await timed(api.get("/api/movies"))
            assert_unavailable(response)
            assert 0.4 < seconds < 2.0, seconds
        finally:
            await locker.rollback()
            await locker.close()
        assert (await api.get("/api/movies")).status_code == 200


@postgres_only
async def test_a_full_pool_is_503_after_the_pool_timeout(api, movies):
    async with serving_from(
        api, TEST_DATABASE_URL, database_pool_size=1, database_pool_timeout_seconds=0.5
    ) as database:
        async with database.engine.connect() as held:  # the only connection, taken
            await held.execute(sa.text("SELECT 1"))
            response, seconds = await timed(api.get("/api/movies"))
            assert_unavailable(response)
            assert 0.4 < seconds < 2.0, seconds
        assert (await api.get("/api/movies")).status_code == 200


@postgres_only
async def test_connections_the_server_closed_are_never_handed_to_a_request(api, movies, login):
    """After a database restart every pooled connection is dead; without the check at
    checkout each would fail one request before the pool noticed."""
    headers = await login()
    database = get_root().db
    # fill the pool with several connections, as a busy server has
    await asyncio.gather(*(api.get("/api/movies") for _ in range(8)))
    pooled = database.engine.pool.checkedin()  # type: ignore[attr-defined]
    assert pooled >= 2
    with psycopg.connect(_libpq(TEST_DATABASE_URL), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]  # type: ignore[index]
    assert killed >= pooled
    await asyncio.sleep(0.2)  # the server's goodbye reaches the sockets
    for _ in range(pooled + 2):
        assert (await api.get("/api/movies")).status_code == 200
    assert (await api.post(f"/api/vote/{movies[0]}", headers=headers)).status_code == 201
    assert (await api.get("/api/health")).status_code == 200


def _libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_closed_port_is_what_we_think(tmp_path):
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", closed_port()), timeout=1)


async def test_the_listen_task_gives_up_a_server_that_never_answers_and_retries(caplog):
    from movievote.services.changes import ChangeListener
    from movievote.services.observer import RankingSubject
    from movievote.services.voting import current_period

    async def no_fold() -> set:
        return set()

    with silent_server() as port:
        listener = ChangeListener(
            RankingSubject(fold=no_fold),
            f"postgresql://postgres@127.0.0.1:{port}/movievote",
            origin="test",
            current=current_period,
            connect_args=postgres_connect_args(Settings()),  # the default time-outs
            retry_seconds=0.1,
        )
        task = asyncio.create_task(listener.run())
        started = time.monotonic()
        try:
            while "lost its connection" not in caplog.text:
                assert time.monotonic() - started < 5.0, "the connection attempt hung"
                await asyncio.sleep(0.05)
            assert not task.done() and listener.connections == 0  # alive, retrying
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
