"""Group commit for votes (PostgreSQL): the votes that arrive while the previous batch is being
written go to the database together, in one `INSERT ... SELECT ... FROM unnest(...) ON
CONFLICT DO NOTHING RETURNING` in autocommit, and each caller is answered with its own row
(or with None: refused) once that statement has committed.

Why: one statement per vote costs a round trip, a commit (a WAL flush) and a pooled
connection per vote, and under load the client's CPU per statement, not PostgreSQL, is the
limit (docs/performance.md). A batch of N votes costs one of each. A lone vote is never held
back: with nothing in flight it is written at once; only votes arriving during a write wait,
at most for that write.

The rules are the single-vote statement's (`voting.PG_CAST_VOTE`), row by row: the session
open, the account not blocked (and verified), the movie not hidden, one vote per member per
month by `UNIQUE (user_id, period)`. One member's second vote is never put in the same batch
as their first (the second waits for the next batch, where the unique index refuses it), so
each returned row names exactly one caller, by (user_id, period). Rows are inserted in
(user_id, period) order, so two processes' batches take the unique index's entries in the
same order and cannot deadlock on each other. A failed statement fails that batch's callers
only; the next batch is written as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from movievote.db import Database, pg_array, pg_instant, pg_text

logger = logging.getLogger(__name__)
T = TypeVar("T")
Key = tuple[bool, bool]  # (checks a session, needs a verified address): the statement to run
Row = tuple[Any, ...]  # (id, movie_id, period, created_at) of a stored vote
MAX_BATCH = 500


def _batch_statement(*, session: bool, verified: bool) -> str:
    """The single-vote statement's rules over arrays, one row per vote (psycopg placeholders)."""
    account = "SELECT 1 FROM users WHERE users.id = b.user_id AND users.blocked_at IS NULL"
    columns = (
        "%(user_ids)s::int[], %(movie_ids)s::int[], %(periods)s::date[], %(times)s::timestamptz[]"
    )
    names = "user_id, movie_id, period, created_at"
    if session:
        account = (
            "SELECT 1 FROM sessions JOIN users ON users.id = sessions.user_id "
            "WHERE sessions.id = b.session_id AND sessions.user_id = b.user_id "
            "AND sessions.ended_at IS NULL AND users.blocked_at IS NULL"
        )
        columns += ", %(session_ids)s::text[]"
        names += ", session_id"
    if verified:
        account += " AND users.email_verified_at IS NOT NULL"
    return f"""
        INSERT INTO votes (user_id, movie_id, period, created_at)
        SELECT b.user_id, movies.id, b.period, b.created_at
        FROM unnest({columns}) AS b({names})
        JOIN movies ON movies.id = b.movie_id
        WHERE movies.hidden_at IS NULL AND EXISTS ({account})
        ORDER BY b.user_id, b.period
        ON CONFLICT (user_id, period) DO NOTHING
        RETURNING user_id, id, movie_id, period, created_at
    """


BATCH_CAST_VOTE = {
    (session, verified): _batch_statement(session=session, verified=verified)
    for session in (True, False)
    for verified in (True, False)
}


@dataclass
class Ballot(Generic[T]):
    """One caller's vote: the single-vote statement's parameters, the statement's key, what to
    do once it is stored (run in the writer, before the caller resumes, so a caller that goes
    away cannot skip it), and the caller's answer: what that returned, or None if refused."""

    params: dict[str, Any]
    key: Key
    committed: Callable[[Row], T]
    answer: asyncio.Future[T | None] = field(repr=False)

    @property
    def voter(self) -> tuple[int, date]:
        return self.params["user_id"], self.params["period"]


class BallotBox:
    """The process's vote writer on PostgreSQL: batches of at most `max_batch` votes, one
    written at a time (whatever arrives meanwhile is the next batch). `window_seconds` > 0
    also waits that long before writing a batch that is not full (more votes per batch, each
    vote that much slower); 0, the default, never waits."""

    def __init__(
        self, *, db: Database, max_batch: int = MAX_BATCH, window_seconds: float = 0.0
    ) -> None:
        self.db = db
        self.max_batch = max_batch
        self.window_seconds = window_seconds
        self._queue: list[Ballot[Any]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # statements written (tests, benchmarks)
        self.ballots = 0  # votes sent in them

    async def cast(
        self, params: dict[str, Any], key: Key, committed: Callable[[Row], T]
    ) -> T | None:
        """Queue one vote; `committed(row)`'s result once the batch holding it has committed,
        None if the database refused it (already voted, session ended, hidden movie ...), or
        the batch's error."""
        loop = asyncio.get_running_loop()
        ballot: Ballot[T] = Ballot(params, key, committed, loop.create_future())
        self._queue.append(ballot)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="ballot-box")
        return await ballot.answer

    async def settle(self) -> None:
        """Wait until every vote queued so far is written (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def _take(self) -> list[Ballot[Any]]:
        """The next batch: queued votes in order, at most one per member and month (a
        member's later vote stays queued for a later batch), skipping callers gone away."""
        batch: list[Ballot[Any]] = []
        later: list[Ballot[Any]] = []
        voters: set[tuple[int, date]] = set()
        for ballot in self._queue:
            if ballot.answer.done():  # the caller was cancelled before its vote was sent
                continue
            if len(batch) >= self.max_batch or ballot.voter in voters:
                later.append(ballot)
                continue
            voters.add(ballot.voter)
            batch.append(ballot)
        self._queue = later
        return batch

    async def _drain(self) -> None:
        batch: list[Ballot[Any]] = []
        try:
            while self._queue:
                if self.window_seconds > 0 and len(self._queue) < self.max_batch:
                    await asyncio.sleep(self.window_seconds)
                batch = self._take()
                groups: dict[Key, list[Ballot[Any]]] = {}
                for ballot in batch:
                    groups.setdefault(ballot.key, []).append(ballot)
                for key, group in groups.items():
                    await self._write(key, group)
        except BaseException as exc:  # cancelled (shutdown): nobody is left waiting
            for ballot in [*batch, *self._queue]:
                if not ballot.answer.done():
                    ballot.answer.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError("shutting down")
                    )
            self._queue = []
            raise

    async def _write(self, key: Key, group: list[Ballot[Any]]) -> None:
        try:
            rows = await self._insert(key, group)
        except BaseException as exc:
            for ballot in group:
                if not ballot.answer.done():
                    ballot.answer.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError("shutting down")
                    )
            if not isinstance(exc, Exception):
                raise
            logger.warning("a batch of %d votes failed: %r", len(group), exc)
            return
        self.batches += 1
        self.ballots += len(group)
        stored = {(row[0], row[3]): row[1:] for row in rows}
        for ballot in group:
            row = stored.get(ballot.voter)
            answer = None
            if row is not None:
                try:
                    answer = ballot.committed(row)
                except Exception as exc:  # the vote is stored; its follow-up failed
                    logger.exception("after a stored vote")
                    if not ballot.answer.done():
                        ballot.answer.set_exception(exc)
                    continue
            if not ballot.answer.done():
                ballot.answer.set_result(answer)

    async def _insert(self, key: Key, group: list[Ballot[Any]]) -> list[Row]:
        """One statement for the group, in autocommit, straight on psycopg, on the box's own
        connection (one batch is written at a time). The arrays go as PostgreSQL array
        literals, one string each: psycopg's list adapter dumps element by element in Python,
        which was most of the batch's own cost."""
        params: dict[str, Any] = {
            "user_ids": pg_array(str(b.params["user_id"]) for b in group),
            "movie_ids": pg_array(str(b.params["movie_id"]) for b in group),
            "periods": pg_array(b.params["period"].isoformat() for b in group),
            "times": pg_array(pg_instant(b.params["created_at"]) for b in group),
        }
        if key[0]:
            params["session_ids"] = pg_array(pg_text(b.params["session_id"]) for b in group)
        async with self.db.direct("ballot box").use() as conn:
            cursor = await conn.execute(BATCH_CAST_VOTE[key], params)
            return await cursor.fetchall()
