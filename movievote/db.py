"""The process's one async engine and session factory, created on first use (no I/O at import)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import select
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from movievote.config import LEGACY_DATABASE_FILE, Settings, get_settings

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class Database:
    """One engine and one session factory for a database URL; everything is built lazily."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._autocommit_engine: AsyncEngine | None = None
        self._direct: dict[str, DirectConnection] = {}
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return "sqlite" if self.settings.is_sqlite else "postgresql"

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._create_engine()
        return self._engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            self._sessions = async_sessionmaker(
                self.engine, class_=AsyncSession, expire_on_commit=False, autoflush=False
            )
        return self._sessions

    def insert(self, table: Any) -> Any:
        """An INSERT of this dialect, so `on_conflict_do_*` is available on both databases."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def session(self) -> AsyncSession:
        """A new ORM session (use as `async with db.session() as s:`)."""
        return self.sessions()

    def autocommit(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection where each statement commits on its own: one round trip per write."""
        if self._autocommit_engine is None:
            self._autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        return self._autocommit_engine.connect()

    def direct(self, name: str) -> DirectConnection:
        """A psycopg connection of its own (PostgreSQL), named by its one user (the ballot
        box, the notification dispatcher): see DirectConnection."""
        if name not in self._direct:
            self._direct[name] = DirectConnection(self.settings, name)
        return self._direct[name]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection inside one transaction, committed on success."""
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        """One `SELECT 1`, answered within the longer of the connect and statement time-outs
        whatever the network does (TimeoutError, or the driver's error, otherwise)."""
        deadline = max(
            self.settings.database_connect_timeout_seconds,
            self.settings.database_statement_timeout_seconds,
        )
        async with asyncio.timeout(deadline), self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        for direct in self._direct.values():
            await direct.close()
        self._direct = {}
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None
        self._autocommit_engine = None

    def _create_engine(self) -> AsyncEngine:
        url = self.settings.async_database_url
        if self.settings.is_sqlite:
            ensure_database_directory(self.settings)
            engine = create_async_engine(
                url,
                connect_args={"timeout": 30},
                pool_timeout=self.settings.database_pool_timeout_seconds,
            )
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            return engine
        engine = create_async_engine(
            url,
            connect_args=postgres_connect_args(self.settings),
            pool_size=self.settings.database_pool_size,
            # few overflow connections: each is opened for one request and closed after,
            # and under sustained load that churn costs more than waiting for a pooled one
            max_overflow=self.settings.database_pool_size // 4,
            pool_timeout=self.settings.database_pool_timeout_seconds,
            pool_pre_ping=False,  # a round trip per checkout; _discard_closed costs none
            pool_recycle=1800,
            skip_autocommit_rollback=True,  # autocommit has nothing to roll back: skip the call
        )
        event.listen(engine.sync_engine.pool, "checkout", _discard_closed)
        return engine


class DirectConnection:
    """One psycopg connection in autocommit, outside the engine's pool, for a path that runs one
    statement at a time at a high rate (the ballot box's batches, the dispatcher's): a pooled
    checkout costs more Python than the statement (SQLAlchemy's checkout events, setting and
    resetting the isolation level on every use), measured at about 5% of a worker's event
    loop under vote load. The same guards as the pool: libpq's time-outs
    (`postgres_connect_args`), and before each use a connection the server has closed is
    replaced without a round trip; a connection broken during a statement is dropped (the
    caller gets psycopg's error: 503), and the next use connects anew."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.connections = 0  # opened so far (tests)

    @asynccontextmanager
    async def use(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken or _hung_up(conn):
            await self.close()
            url = sa.make_url(self.settings.database_url).set(drivername="postgresql")
            conn = await psycopg.AsyncConnection.connect(
                url.render_as_string(hide_password=False),
                autocommit=True,
                application_name=f"movievote {self.name}",
                **postgres_connect_args(self.settings),
            )
            self._conn = conn
            self.connections += 1
        try:
            yield conn
        except BaseException as exc:
            # a statement the server refused leaves the connection usable; anything that broke
            # or interrupted it mid-statement (an outage, a cancellation) does not
            if conn.broken or conn.closed or not isinstance(exc, psycopg.Error):
                await self.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def pg_array(elements: Iterable[str]) -> str:
    """A PostgreSQL array literal of elements already written (`pg_text`, `pg_instant`, str of
    an int), for a statement that casts it (`%(ids)s::int[]`): one string, where psycopg's
    list adapter dumps element by element in Python."""
    return "{" + ",".join(elements) + "}"


def pg_text(text: str | None) -> str:
    """A text element of an array literal: quoted, its quotes and backslashes escaped."""
    if text is None:
        return "NULL"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pg_instant(instant: datetime | None) -> str:
    """A timestamptz element of an array literal (aware instants only)."""
    if instant is None:
        return "NULL"
    if instant.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return '"' + instant.isoformat() + '"'


def _hung_up(driver: Any) -> bool:
    """Whether the server closed this idle connection (its socket is readable): no round trip."""
    try:
        socket_fd = driver.pgconn.socket
    except Exception:  # no socket any more
        return True
    poller = select.poll()
    poller.register(socket_fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """libpq parameters bounding how long the database can keep a request waiting.

    `connect_timeout` (whole seconds, at least 2: libpq's rule) for an unreachable server,
    `statement_timeout` for a statement the server is too slow to finish, and
    `tcp_user_timeout` for a server that vanished from the network mid-statement (data
    unacknowledged that long closes the connection). A stopped server refuses at once.
    """
    statement_ms = round(settings.database_statement_timeout_seconds * 1000)
    return {
        "connect_timeout": max(2, math.ceil(settings.database_connect_timeout_seconds)),
        "options": f"-c statement_timeout={statement_ms}",
        "tcp_user_timeout": statement_ms,
    }


def _discard_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: refuse a connection the server has closed (it restarted, or ended the
    session), so requests after an outage get fresh connections instead of failing one stale
    connection at a time. An idle connection has nothing to read: if its socket is readable,
    the server sent its goodbye (or the socket is at end of file). No round trip."""
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    if driver.closed or driver.broken:
        raise exc.DisconnectionError("connection closed")
    if _hung_up(driver):
        raise exc.DisconnectionError("the server closed the connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on (cascades), WAL so readers never block the writer, wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def ensure_database_directory(settings: Settings) -> None:
    """Create the folder a SQLite file lives in (the default is in the hidden `.data/`)."""
    path = settings.sqlite_path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def adopt_legacy_database(settings: Settings) -> str | None:
    """Move a SQLite database left at the old default place (`<project>/movievote.db`, where
    the development server's reloader saw every write) to the default one, with its journal
    files. Never replaces a database: if both exist, the new one is used and a message says
    where the old one is. Returns a message for the person running the command, or None."""
    if not settings.uses_default_database or not LEGACY_DATABASE_FILE.exists():
        return None
    target = settings.sqlite_path
    assert target is not None
    if target.exists():
        return (
            f"note: an older database is still at {LEGACY_DATABASE_FILE}; this app uses "
            f"{target}. Delete the old file, or stop the app and move it over the new one."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", *SQLITE_SIDE_FILES):
        source = LEGACY_DATABASE_FILE.with_name(LEGACY_DATABASE_FILE.name + suffix)
        if source.exists():
            source.rename(target.with_name(target.name + suffix))
    return f"moved the database from {LEGACY_DATABASE_FILE} to {target} (its new default place)"


_database: Database | None = None
_database_lock = threading.Lock()


def get_database() -> Database:
    """The process's Database, created from the settings on first call."""
    global _database
    if _database is None:
        with _database_lock:
            if _database is None:
                _database = Database(get_settings())
    return _database


async def reset_database() -> None:
    """Dispose of the engine and forget the singleton (tests and forked workers)."""
    global _database
    if _database is not None:
        await _database.dispose()
    _database = None
