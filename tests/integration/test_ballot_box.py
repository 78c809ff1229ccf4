"""Group commit of votes (services.ballot_box, PostgreSQL): votes arriving together are written
by one statement, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from movievote.errors import (
    AccountBlocked,
    AlreadyVoted,
    EmailNotVerified,
    InvalidToken,
    MovieHidden,
    MovieNotFound,
)
from movievote.models import utcnow
from movievote.periods import period_of
from movievote.root import get_root
from movievote.services import accounts, voting
from movievote.services.ballot_box import BallotBox
from tests.conftest import postgres_only

pytestmark = postgres_only


async def _scalar(db, sql: str, **params) -> Any:
    async with db.engine.connect() as conn:
        return await conn.scalar(sa.text(sql), params)


async def _session(user) -> str:
    root = get_root()
    return (await accounts.open_session(user=user, settings=root.settings, db=root.db)).session_id


async def _vote(user_id: int, movie_id: int, session_id: str, box: BallotBox | None = None):
    root = get_root()
    return await voting.cast_and_notify(
        user_id=user_id,
        movie_id=movie_id,
        session_id=session_id,
        subject=root.subject,
        dispatcher=root.dispatcher,
        settings=root.settings,
        db=root.db,
        ballot_box=box or root.ballot_box,
    )


async def test_many_members_voting_at_once_are_each_stored_once_in_few_statements(
    db, movies, make_user
):
    users = [await make_user() for _ in range(40)]
    sessions = [await _session(u) for u in users]
    box = get_root().ballot_box
    before = box.batches
    results = await asyncio.gather(
        *(
            _vote(u.id, movies[i % 5], s)
            for i, (u, s) in enumerate(zip(users, sessions, strict=True))
        )
    )
    votes = [vote for vote, _ in results]
    assert len({v.id for v in votes}) == 40
    assert [v.movie_id for v in votes] == [movies[i % 5] for i in range(40)]
    assert box.batches - before < 40  # batched: 40 votes, far fewer statements
    assert await _scalar(db, "SELECT count(*) FROM votes") == 40
    for (vote, _), user in zip(results, users, strict=True):
        assert await _scalar(db, "SELECT user_id FROM votes WHERE id = :i", i=vote.id) == user.id
    # each "vote registered" note is recorded, for its own vote
    notes = await asyncio.gather(*(notified for _, notified in results))
    assert sorted(n.payload["vote_id"] for n in notes) == sorted(v.id for v in votes)
    assert (
        await _scalar(db, "SELECT count(*) FROM notifications WHERE kind = 'vote_registered'") == 40
    )
    # and the ranking heard of them
    await get_root().subject.settle()
    assert await _scalar(db, "SELECT coalesce(sum(votes), 0) FROM period_totals") == 40


async def test_one_member_s_votes_at_once_give_one_vote_and_already_voted_for_the_rest(
    db, movies, make_user
):
    alice = await make_user()
    others = [await make_user() for _ in range(5)]
    alice_session = await _session(alice)
    other_sessions = [await _session(u) for u in others]
    jobs = [_vote(alice.id, movies[i % 5], alice_session) for i in range(20)]
    jobs += [_vote(u.id, movies[0], s) for u, s in zip(others, other_sessions, strict=True)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    alice_results, other_results = results[:20], results[20:]
    cast = [r for r in alice_results if not isinstance(r, BaseException)]
    refused = [r for r in alice_results if isinstance(r, AlreadyVoted)]
    assert len(cast) == 1 and len(refused) == 19, alice_results
    assert {r.vote_id for r in refused} == {cast[0][0].id}
    assert all(not isinstance(r, BaseException) for r in other_results), other_results
    assert await _scalar(db, "SELECT count(*) FROM votes WHERE user_id = :u", u=alice.id) == 1
    assert await _scalar(db, "SELECT count(*) FROM votes") == 6
    await get_root().dispatcher.settle()
    assert (
        await _scalar(db, "SELECT count(*) FROM notifications WHERE kind = 'vote_registered'") == 6
    )


async def test_each_refusal_in_a_batch_gets_its_own_error(db, movies, make_user):
    good, voted, ended, blocked, unverified, hiding, missing = [
        await make_user(verified=n != 4) for n in range(7)
    ]
    sessions = {
        u.id: await _session(u) for u in (good, voted, ended, blocked, unverified, hiding, missing)
    }
    await _vote(voted.id, movies[0], sessions[voted.id])
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE sessions SET ended_at = now() WHERE id = :s"), {"s": sessions[ended.id]}
        )
        await conn.execute(
            sa.text("UPDATE users SET blocked_at = now() WHERE id = :u"), {"u": blocked.id}
        )
        await conn.execute(
            sa.text("UPDATE movies SET hidden_at = now() WHERE id = :m"), {"m": movies[4]}
        )
    box = get_root().ballot_box
    before = box.batches
    results = await asyncio.gather(
        _vote(good.id, movies[1], sessions[good.id]),
        _vote(voted.id, movies[1], sessions[voted.id]),
        _vote(ended.id, movies[1], sessions[ended.id]),
        _vote(blocked.id, movies[1], sessions[blocked.id]),
        _vote(unverified.id, movies[1], sessions[unverified.id]),
        _vote(hiding.id, movies[4], sessions[hiding.id]),
        _vote(missing.id, 999_999, sessions[missing.id]),
        return_exceptions=True,
    )
    assert box.batches - before == 1  # all seven in one statement
    assert not isinstance(results[0], BaseException) and results[0][0].movie_id == movies[1]
    expected = [
        AlreadyVoted,
        InvalidToken,
        AccountBlocked,
        EmailNotVerified,
        MovieHidden,
        MovieNotFound,
    ]
    assert [type(r) for r in results[1:]] == expected, results
    assert results[1].movie_id == movies[0]  # the vote already cast, as a lone refusal says
    assert await _scalar(db, "SELECT count(*) FROM votes") == 2


async def test_a_failed_batch_fails_its_own_callers_only_and_the_next_is_written(
    db, movies, make_user
):
    users = [await make_user() for _ in range(6)]
    sessions = [await _session(u) for u in users]
    root = get_root()
    box = BallotBox(db=root.db)
    now = utcnow()

    def params(user, session, *, created_at) -> dict[str, Any]:
        return {
            "user_id": user.id,
            "movie_id": movies[0],
            "period": period_of(now, root.settings.zone),
            "created_at": created_at,
            "session_id": session,
        }

    key = (True, True)
    # a row the database refuses (created_at NOT NULL) fails the whole statement: all three
    # callers of that batch get the database's error, none hangs, nothing is stored
    failed = await asyncio.wait_for(
        asyncio.gather(
            *(
                box.cast(params(u, s, created_at=None if i == 1 else now), key, lambda row: row)
                for i, (u, s) in enumerate(zip(users[:3], sessions[:3], strict=True))
            ),
            return_exceptions=True,
        ),
        timeout=10,
    )
    assert all(isinstance(r, psycopg.errors.NotNullViolation) for r in failed), failed
    assert await _scalar(db, "SELECT count(*) FROM votes") == 0
    # the next batch is written as usual
    stored = await asyncio.wait_for(
        asyncio.gather(
            *(
                box.cast(params(u, s, created_at=now), key, lambda row: row)
                for u, s in zip(users[3:], sessions[3:], strict=True)
            )
        ),
        timeout=10,
    )
    assert [row[0] for row in stored] == [
        await _scalar(db, "SELECT id FROM votes WHERE user_id = :u", u=u.id) for u in users[3:]
    ]


async def test_a_failing_write_answers_every_waiting_caller_with_its_error(
    db, movies, make_user, monkeypatch
):
    users = [await make_user() for _ in range(4)]
    sessions = [await _session(u) for u in users]
    box = BallotBox(db=get_root().db)
    calls = 0
    real = box._insert

    async def flaky(key, group):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.05)  # the others queue up meanwhile: the second batch
            raise psycopg.OperationalError("the server closed the connection")
        return await real(key, group)

    monkeypatch.setattr(box, "_insert", flaky)
    first = asyncio.ensure_future(_vote(users[0].id, movies[0], sessions[0], box))
    await asyncio.sleep(0.01)
    rest = [_vote(u.id, movies[0], s, box) for u, s in zip(users[1:], sessions[1:], strict=True)]
    results = await asyncio.wait_for(asyncio.gather(first, *rest, return_exceptions=True), 10)
    assert isinstance(results[0], psycopg.OperationalError)
    assert all(not isinstance(r, BaseException) for r in results[1:]), results
    assert box.batches == 1 and calls == 2
    assert await _scalar(db, "SELECT count(*) FROM votes") == 3


async def test_two_processes_batching_the_same_members_in_opposite_orders_do_not_deadlock(
    db, movies, make_user
):
    """Each process (a box here) writes its batch in (user_id, period) order, so two batches
    naming the same members take their index entries in the same order."""
    root = get_root()
    one, two = BallotBox(db=root.db), BallotBox(db=root.db)
    for _ in range(3):
        users = [await make_user() for _ in range(15)]
        sessions = [await _session(u) for u in users]
        pairs = list(zip(users, sessions, strict=True))
        jobs = [_vote(u.id, movies[1], s, one) for u, s in pairs]
        jobs += [_vote(u.id, movies[2], s, two) for u, s in reversed(pairs)]
        results = await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), 30)
        unexpected = [
            r for r in results if isinstance(r, BaseException) and not isinstance(r, AlreadyVoted)
        ]
        assert not unexpected, unexpected
        assert sum(not isinstance(r, BaseException) for r in results) == 15
        for user in users:
            assert (
                await _scalar(db, "SELECT count(*) FROM votes WHERE user_id = :u", u=user.id) == 1
            )


async def test_a_lone_vote_is_not_held_back(db, movies, make_user):
    user = await make_user()
    session = await _session(user)
    started = asyncio.get_running_loop().time()
    vote, _ = await _vote(user.id, movies[0], session)
    assert asyncio.get_running_loop().time() - started < 1
    assert vote.created_at <= utcnow() and utcnow() - vote.created_at < timedelta(seconds=5)


@pytest.mark.parametrize("window", [0.002])
async def test_a_window_gathers_votes_into_one_statement(db, movies, make_user, window):
    users = [await make_user() for _ in range(5)]
    sessions = [await _session(u) for u in users]
    box = BallotBox(db=get_root().db, window_seconds=window)
    await asyncio.gather(
        *(_vote(u.id, movies[0], s, box) for u, s in zip(users, sessions, strict=True))
    )
    assert (box.batches, box.ballots) == (1, 5)


async def test_session_ids_are_passed_whole_whatever_their_characters(db, movies, make_user):
    """The batch sends its arrays as literals: a session id with quotes, backslashes, commas or
    braces must name exactly that session."""
    odd, other = await make_user(), await make_user()
    weird = 'a"b\\c,{d} NULL'
    async with db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) "
                "VALUES (:s, :u, now(), now() + interval '1 day')"
            ),
            {"s": weird, "u": odd.id},
        )
    with pytest.raises(InvalidToken):  # nearly the same id: no such session
        await _vote(other.id, movies[0], weird[:-1])
    vote, _ = await _vote(odd.id, movies[0], weird)
    assert await _scalar(db, "SELECT user_id FROM votes WHERE id = :i", i=vote.id) == odd.id


async def test_the_box_keeps_one_connection_of_its_own(db, movies, make_user):
    users = [await make_user() for _ in range(6)]
    sessions = [await _session(u) for u in users]
    box = BallotBox(db=get_root().db)
    for user, session in zip(users[:3], sessions[:3], strict=True):
        await _vote(user.id, movies[0], session, box)
    direct = get_root().db.direct("ballot box")
    assert direct.connections == 1
    # the server ends it (a restart, an administrator): the next batch connects anew
    async with db.autocommit() as conn:
        await conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'movievote ballot box' AND datname = current_database()"
            )
        )
    await asyncio.sleep(0.2)
    await asyncio.gather(
        *(_vote(u.id, movies[1], s, box) for u, s in zip(users[3:], sessions[3:], strict=True))
    )
    assert direct.connections == 2
    assert await _scalar(db, "SELECT count(*) FROM votes") == 6


async def test_notes_keep_titles_with_quotes_backslashes_and_accents(db, movies, make_user):
    title = 'Le "Fabuleux" \\ Destin d\'Amélie, {1}'
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE movies SET title = :t WHERE id = :m"), {"t": title, "m": movies[4]}
        )
    user = await make_user()
    vote, notified = await _vote(user.id, movies[4], await _session(user))
    note = await notified
    assert note.payload["movie_title"] == title and note.payload["vote_id"] == vote.id
    await get_root().dispatcher.settle()
    async with db.engine.connect() as conn:
        stored = await conn.scalar(
            sa.text("SELECT payload FROM notifications WHERE id = :i"), {"i": note.id}
        )
    assert stored["movie_title"] == title and stored["vote_id"] == vote.id


async def test_a_writer_stopped_mid_batch_leaves_no_caller_waiting(
    db, movies, make_user, monkeypatch
):
    """Shutdown cancels the writer: every caller of the batch being written, of the batch's
    other statements (votes with and without a session) and of the queue gets an error."""
    users = [await make_user() for _ in range(4)]
    sessions = [await _session(u) for u in users]
    box = BallotBox(db=get_root().db)
    started = asyncio.Event()

    async def stuck(key, group):  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.sleep(30)

    monkeypatch.setattr(box, "_insert", stuck)
    root = get_root()
    with_session = [
        asyncio.ensure_future(_vote(u.id, movies[0], s, box))
        for u, s in zip(users[:2], sessions[:2], strict=True)
    ]
    without = [
        asyncio.ensure_future(
            voting.cast_vote(
                user_id=u.id,
                movie_id=movies[0],
                session_id=None,
                subject=root.subject,
                settings=root.settings,
                db=root.db,
                ballot_box=box,
            )
        )
        for u in users[2:]
    ]
    await asyncio.wait_for(started.wait(), 5)
    assert box._task is not None
    box._task.cancel()
    results = await asyncio.wait_for(
        asyncio.gather(*with_session, *without, return_exceptions=True), 5
    )
    assert all(isinstance(r, BaseException) for r in results), results
