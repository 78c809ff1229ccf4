"""Ranking changes made by other processes: PostgreSQL LISTEN/NOTIFY.

Every fold that changes the tallies sends one NOTIFY on `ranking.CHANGES_CHANNEL` in its own
transaction (services.ranking.fold_vote_deltas), naming the process that folded and the months
it touched. Votes are folded in batches (a process's ranking subject folds at most once per
coalescing window, and every process folds what others wrote once a second), so there is one NOTIFY per
batch, never one per vote, and votes written outside the app (an import, a SQL client) are
announced by whichever process folds them.

Each serving process listens on a connection of its own and announces what others folded to
its ranking subject: its cache refreshes, its API streams wake, its live pages are set. After
(re)connecting it announces the current month unasked, because notifications sent while it was
not listening are lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from typing import Any

import psycopg
import sqlalchemy as sa

from movievote.services.observer import RankingSubject
from movievote.services.screens import CHANNEL as SCREENS_CHANNEL
from movievote.services.tallies import CHANGES_CHANNEL, parse_payload

logger = logging.getLogger(__name__)
APPLICATION_NAME = "movievote-listener"  # how its connection shows in pg_stat_activity


def process_origin() -> str:
    """This process, as named in its NOTIFY payloads (host and pid: forked workers differ)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def libpq_url(database_url: str) -> str:
    """The libpq form of a SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    url = sa.make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    """LISTENs for folds announced by other processes and passes them to `subject`."""

    def __init__(
        self,
        subject: RankingSubject,
        database_url: str,
        *,
        origin: str,
        current: Callable[[], date],
        connect_args: Mapping[str, Any] | None = None,
        retry_seconds: float = 1.0,
        probe_seconds: float = 15.0,
        on_screen: Callable[[str], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.subject = subject
        self.on_screen = on_screen  # a screen's settings changed (services.screens)
        self._screen_tasks: set[asyncio.Task[None]] = set()
        # the pool's time-outs (db.postgres_connect_args): a server that never answers is
        # given up, then retried
        self.connect_args = dict(connect_args or {})
        self.conninfo = libpq_url(database_url)
        self.origin = origin
        self.current = current
        self.retry_seconds = retry_seconds
        self.probe_seconds = probe_seconds
        self.connected = asyncio.Event()
        self.connections = 0

    async def run(self) -> None:
        """Listen forever, reconnecting after any failure."""
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                logger.warning("ranking change listener lost its connection (%s); retrying", exc)
            except Exception:  # never let the listener die: it is how this process hears others
                logger.exception("ranking change listener failed; retrying")
            finally:
                self.connected.clear()
            await asyncio.sleep(self.retry_seconds)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            application_name=APPLICATION_NAME,
            **self.connect_args,
        ) as conn:
            await conn.execute(f"LISTEN {CHANGES_CHANNEL}")
            if self.on_screen is not None:
                await conn.execute(f"LISTEN {SCREENS_CHANNEL}")
            self.connections += 1
            self.connected.set()
            # anything folded while we were not listening went unheard: re-read the ranking
            await self.subject.announce({self.current()})
            while True:
                async for note in conn.notifies(timeout=self.probe_seconds):
                    if note.channel == SCREENS_CHANNEL:
                        self._screen(note.payload)
                        continue
                    try:
                        origin, periods = parse_payload(note.payload)
                    except ValueError:  # someone else's NOTIFY on our channel: not a fold
                        logger.warning("ignored notification %r", note.payload)
                        continue
                    if origin != self.origin:  # coalesced with this process's own refreshes
                        self.subject.changed_elsewhere(periods)
                await conn.execute("SELECT 1")  # quiet for a while: is the server still there?

    def _screen(self, payload: str) -> None:
        """Pass a screen's change on, without holding up the notifications behind it."""
        if self.on_screen is None:
            return
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self.on_screen(payload))
        self._screen_tasks.add(task)
        task.add_done_callback(self._screen_tasks.discard)
