"""Month results: a month closes in the vote time zone, is published after the grace from its
votes (voided ones left out, the documented tie-break), checked against the tallies, frozen,
hashed, announced to every member once, and re-checkable from its export."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from movievote.config import get_settings
from movievote.errors import ResultNotDue, ResultNotFound
from movievote.root import get_root, reset_root
from movievote.services import announcements, ballots, published, results
from movievote.services.dispatcher import NotificationDispatcher
from movievote.services.tallies import fold_vote_deltas
from tests.conftest import cast_vote
from tests.mail import Inbox, body_of

NOVEMBER = date(2026, 11, 1)
# America/Sao_Paulo is UTC-3 all year: November ends at 2026-12-01 03:00 UTC, and with the
# default 24 hours of grace its result is due at 2026-12-02 03:00 UTC (00:00 there)
LAST_MINUTES = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 23:30 on 30 November, local
DUE = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def configure(monkeypatch) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Settings (as environment variables) for one test; the root built afresh."""

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        get_settings.cache_clear()
        reset_root()

    apply(vote_timezone="America/Sao_Paulo")
    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_root()


@pytest.fixture
def inbox(configure) -> Iterator[Inbox]:  # type: ignore[no-untyped-def]
    handler = Inbox()
    configure(notify_smtp_url=handler.start())
    yield handler
    handler.stop()


def collaborators() -> dict[str, object]:
    root = get_root()
    return {"settings": root.settings, "db": root.db, "dispatcher": root.dispatcher}


async def publish(period: date = NOVEMBER, now: datetime = DUE, **kw: object):  # type: ignore[no-untyped-def]
    return await results.publish_month(period=period, now=now, **{**collaborators(), **kw})  # type: ignore[arg-type]


async def voters(make_user, n: int, **kw: object) -> list[int]:  # type: ignore[no-untyped-def]
    return [(await make_user(**kw)).id for _ in range(n)]


async def void(db, vote_id: int) -> None:  # type: ignore[no-untyped-def]
    """What the moderation service does to a vote (another branch): it stays, not counted."""
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE votes SET voided_at = :at, void_reason = 'test' WHERE id = :id"),
            {"at": datetime(2026, 12, 1, 12, tzinfo=UTC), "id": vote_id},
        )


async def csv_bytes(period: date = NOVEMBER) -> bytes:
    root = get_root()
    chunks = await published.ballots_csv(period=period, settings=root.settings, db=root.db)
    return b"".join([chunk async for chunk in chunks])


async def json_bytes(period: date = NOVEMBER) -> bytes:
    root = get_root()
    chunks = await published.export_json(period=period, settings=root.settings, db=root.db)
    return b"".join([chunk async for chunk in chunks])


async def test_a_month_closes_at_midnight_in_the_vote_zone_and_is_published_after_the_grace(
    configure, movies, make_user
):
    ana, bia, caio = await voters(make_user, 3)
    # 23:30 on 30 November in São Paulo is already 1 December in UTC: it is November's
    late = await cast_vote(user_id=ana, movie_id=movies[0], now=LAST_MINUTES)
    assert late.period == "2026-11"
    await cast_vote(user_id=bia, movie_id=movies[1], now=datetime(2026, 11, 10, tzinfo=UTC))
    # 00:30 on 1 December there is December's
    december = await cast_vote(
        user_id=caio, movie_id=movies[1], now=datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    )
    assert december.period == "2026-12"
    root = get_root()

    closed = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # the month has closed; its grace runs
    assert await results.months_due(now=closed, settings=root.settings, db=root.db) == []
    with pytest.raises(ResultNotDue) as refused:
        await publish(now=closed)
    assert "2 December 2026" in refused.value.message or "December 2, 2026" in refused.value.message
    assert "00:00 (America/Sao_Paulo)" in refused.value.message
    with pytest.raises(ResultNotFound) as pending:
        await published.get_result(period=NOVEMBER, now=closed, settings=root.settings, db=root.db)
    assert "will be published on December 2, 2026 at 00:00" in pending.value.message

    just_before = DUE - timedelta(microseconds=1)
    assert await results.months_due(now=just_before, settings=root.settings, db=root.db) == []
    assert await results.months_due(now=DUE, settings=root.settings, db=root.db) == [NOVEMBER]
    done = await results.publish_due(now=DUE, **collaborators())  # type: ignore[arg-type]
    assert [d.period for d in done] == [NOVEMBER]
    november = done[0]
    assert november.total_votes == 2 and november.ballots == 2
    assert [(p.movie_id, p.votes) for p in november.ranking] == [
        (movies[1], 1),  # 10 November: it reached one vote first
        (movies[0], 1),
    ]
    assert await results.months_due(now=DUE, settings=root.settings, db=root.db) == []
    exported = await csv_bytes()
    assert hashlib.sha256(exported).hexdigest() == november.ballots_sha256
    assert b"2026-12-01T02:30:00.000000Z" in exported  # the late vote, in UTC
    assert exported.count(b"\n") == 3  # the header and November's two ballots


async def test_the_result_is_the_votes_with_the_voided_ones_left_out(
    configure, movies, make_user, db
):
    people = await voters(make_user, 6)
    at = datetime(2026, 11, 5, 12, tzinfo=UTC)
    cast = []
    for n, (person, movie) in enumerate(zip(people, [0, 0, 0, 1, 1, 2], strict=True)):
        cast.append(
            await cast_vote(user_id=person, movie_id=movies[movie], now=at + timedelta(hours=n))
        )
    await void(db, cast[0].id)
    await void(db, cast[1].id)  # the first movie falls from 3 votes to 1
    done = await publish()
    assert done is not None
    assert [(p.movie_id, p.votes) for p in done.ranking] == [
        (movies[1], 2),
        (movies[0], 1),  # 1 vote reached at 14:00, before the third movie's at 17:00
        (movies[2], 1),
    ]
    assert done.total_votes == 4 and done.ballots == 6 and done.tallies_match
    root = get_root()
    result = await published.get_result(period=NOVEMBER, settings=root.settings, db=root.db)
    assert result.winner is not None and result.winner.movie.title == "Spirited Away"
    assert result.total_votes == 4 and result.ballots == 6
    assert [e.share for e in result.ranking] == [0.5, 0.25, 0.25]
    lines = (await csv_bytes()).decode().splitlines()
    assert lines[0] == "vote_id,movie_id,cast_at,voter,voided"
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["true", "true"] + ["false"] * 4


async def test_ties_go_to_the_movie_that_reached_its_count_first_then_the_lower_id(
    configure, movies, make_user
):
    people = await voters(make_user, 6)
    at = datetime(2026, 11, 5, 12, tzinfo=UTC)
    # movies[2] and movies[0]: 2 votes each, movies[2] reached 2 first; movies[3] and
    # movies[1]: 1 vote each at the same instant, so the lower id comes first
    plan = [(2, at), (0, at), (2, at + timedelta(hours=1)), (0, at + timedelta(hours=2))]
    plan += [(3, at + timedelta(hours=3)), (1, at + timedelta(hours=3))]
    for person, (movie, when) in zip(people, plan, strict=True):
        await cast_vote(user_id=person, movie_id=movies[movie], now=when)
    done = await publish()
    assert done is not None
    lower, higher = sorted([movies[1], movies[3]])
    assert [(p.rank, p.movie_id, p.votes) for p in done.ranking] == [
        (1, movies[2], 2),
        (2, movies[0], 2),
        (3, lower, 1),
        (4, higher, 1),
    ]
    assert done.ranking == ballots.rank_movies(
        {p.movie_id: (p.votes, p.reached_at) for p in reversed(done.ranking)}
    )


async def test_tallies_that_disagree_with_the_ballots_are_logged_and_kept_for_admins(
    configure, movies, make_user, db, caplog
):
    people = await voters(make_user, 3)
    for person in people:
        await cast_vote(user_id=person, movie_id=movies[0], now=datetime(2026, 11, 5, tzinfo=UTC))
    await fold_vote_deltas(db=db)
    async with db.transaction() as conn:  # corrupt the tally on purpose
        await conn.execute(
            sa.text("UPDATE monthly_tallies SET votes = votes + 5 WHERE movie_id = :m"),
            {"m": movies[0]},
        )
    with caplog.at_level(logging.ERROR, logger="movievote.results"):
        done = await publish()
    assert done is not None and not done.tallies_match
    assert done.total_votes == 3  # the ballots are the truth
    assert [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"movie {movies[0]}: ballots 3, tallies 8" in caplog.text
    root = get_root()
    check = await published.result_check(period=NOVEMBER, settings=root.settings, db=root.db)
    assert not check.tallies_match
    assert [(m.movie_id, m.ballots, m.tallies) for m in check.mismatches] == [(movies[0], 3, 8)]
    async with db.engine.connect() as conn:
        audit = (
            await conn.execute(sa.text("SELECT actor_label, action, target_id FROM audit_log"))
        ).all()
    assert audit == [("system", "month.publish", "2026-11")]


async def test_two_publishers_racing_give_one_result_and_one_set_of_notifications(
    configure, movies, make_user, db
):
    people = await voters(make_user, 4)
    for person in people[:3]:
        await cast_vote(user_id=person, movie_id=movies[1], now=datetime(2026, 11, 5, tzinfo=UTC))
    root = get_root()
    second = NotificationDispatcher(settings=root.settings, db=root.db)  # another process's
    outcomes = await asyncio.gather(publish(), publish(dispatcher=second))
    assert sorted(o is not None for o in outcomes) == [False, True]
    assert await publish() is None  # and again later: nothing happens
    async with db.engine.connect() as conn:
        counts = [
            await conn.scalar(sa.text(sql))
            for sql in (
                "SELECT count(*) FROM month_results",
                "SELECT count(*) FROM published_ballots",
                "SELECT count(*) FROM month_rankings",
                "SELECT count(*) FROM audit_log WHERE action = 'month.publish'",
                "SELECT count(*) FROM notifications WHERE kind = 'month_result'",
                "SELECT count(DISTINCT user_id) FROM notifications WHERE kind = 'month_result'",
            )
        ]
        notified = await conn.scalar(sa.text("SELECT notified_at FROM month_results"))
    assert counts == [1, 3, 1, 1, 4, 4]  # every member told once, voters or not
    assert notified is not None


async def test_every_member_hears_the_movie_of_the_month_in_their_language_and_channel(
    configure, inbox, movies, make_user, db
):
    async with db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO movie_translations (movie_id, language, title, overview) "
                "VALUES (:m, 'pt-BR', 'A Viagem de Chihiro', '')"
            ),
            {"m": movies[1]},
        )
    mailed = await make_user(email="mail@example.com", notification_channel="email")
    brasileira = await make_user(email="pt@example.com", language="pt-BR")
    blocked = await make_user(email="blocked@example.com")
    unverified = await make_user(
        email="new@example.com", notification_channel="email", verified=False
    )
    await cast_vote(
        user_id=brasileira.id, movie_id=movies[1], now=datetime(2026, 11, 5, tzinfo=UTC)
    )
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE users SET blocked_at = :at WHERE id = :id"),
            {"at": datetime(2026, 11, 20, tzinfo=UTC), "id": blocked.id},
        )
    await publish()
    mail = inbox.wait("mail@example.com", "The movie of November 2026")
    assert "The movie of November 2026 is Spirited Away, with 1 of 1 vote." in body_of(mail)
    assert inbox.to("new@example.com") == [] or all(
        "movie of" not in m["Subject"] for m in inbox.to("new@example.com")
    )
    async with db.engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    sa.text(
                        "SELECT user_id, channel FROM notifications WHERE kind = 'month_result'"
                    )
                )
            ).all()
        )
    assert rows == {
        mailed.id: "email",
        brasileira.id: "in_app",
        unverified.id: "in_app",  # an address nobody confirmed is not mailed
    }
    from movievote.services.messages import render
    from movievote.services.notifications import list_notifications

    [note] = [
        n
        for n in await list_notifications(user_id=brasileira.id, db=db)
        if n.kind == "month_result"
    ]
    text = render(note.kind, note.payload, language="pt-BR")
    assert text.subject == "O filme de novembro de 2026"
    assert text.body.startswith(
        "O filme de novembro de 2026 é A Viagem de Chihiro, com 1 de 1 voto"
    )


async def test_a_stopped_announcement_is_finished_by_another_process_without_repeats(
    configure, movies, make_user, db
):
    people = await voters(make_user, 5)
    await cast_vote(user_id=people[0], movie_id=movies[2], now=datetime(2026, 11, 5, tzinfo=UTC))
    await publish()
    async with db.transaction() as conn:  # as if the publisher died after telling two members
        await conn.execute(
            sa.text("DELETE FROM notifications WHERE user_id > :id"), {"id": people[1]}
        )
        await conn.execute(
            sa.text("UPDATE month_results SET notified_at = NULL, notifying_since = :at"),
            {"at": DUE},
        )
    root = get_root()
    kw = {"settings": root.settings, "db": root.db, "dispatcher": root.dispatcher}
    # the lease is still the publisher's: nobody else tells anyone
    assert await announcements.resume_announcements(now=DUE + timedelta(minutes=1), **kw) == 0  # type: ignore[arg-type]
    later = DUE + announcements.NOTIFY_LEASE + timedelta(seconds=1)
    assert await announcements.resume_announcements(now=later, **kw) == 3  # type: ignore[arg-type]
    async with db.engine.connect() as conn:
        told = (
            await conn.execute(
                sa.text(
                    "SELECT user_id, count(*) FROM notifications WHERE kind = 'month_result' "
                    "GROUP BY user_id ORDER BY user_id"
                )
            )
        ).all()
    assert told == [(person, 1) for person in people]


async def test_deleting_an_account_after_publication_changes_nothing_published(
    configure, movies, make_user, db
):
    people = await voters(make_user, 3)
    for n, person in enumerate(people):
        await cast_vote(
            user_id=person, movie_id=movies[n % 2], now=datetime(2026, 11, 5, n, tzinfo=UTC)
        )
    done = await publish()
    assert done is not None
    before_csv, before_json = await csv_bytes(), await json_bytes()
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": people[0]})
        assert await conn.scalar(sa.text("SELECT count(*) FROM votes")) == 2  # cascaded
    assert await csv_bytes() == before_csv
    assert await json_bytes() == before_json
    assert hashlib.sha256(before_csv).hexdigest() == done.ballots_sha256


async def test_the_pseudonyms_are_the_documented_hmac_stable_in_a_month_unlinkable_across(
    configure, movies, make_user, db
):
    [person] = await voters(make_user, 1)
    await cast_vote(user_id=person, movie_id=movies[0], now=datetime(2026, 10, 5, tzinfo=UTC))
    await cast_vote(user_id=person, movie_id=movies[0], now=datetime(2026, 11, 5, tzinfo=UTC))
    await results.publish_due(now=DUE, **collaborators())  # type: ignore[arg-type]
    key = ballots.pseudonym_key(get_root().settings.secret_key)
    async with db.engine.connect() as conn:
        found = dict(
            (await conn.execute(sa.text("SELECT period, pseudonym FROM published_ballots"))).all()
        )
    october, november = sorted(found.items())
    assert october[1] == ballots.pseudonym(key, date(2026, 10, 1), person)
    assert november[1] == ballots.pseudonym(key, NOVEMBER, person)
    assert october[1] != november[1] and len(november[1]) == 16
    mine = await published.ballot_of(user_id=person, period=NOVEMBER, db=db)
    assert mine is not None and mine.voter == november[1] and not mine.voided


async def test_a_month_nobody_voted_in_is_never_published(configure, movies):
    root = get_root()
    with pytest.raises(ResultNotFound, match="Nobody voted in November 2026"):
        await publish()
    with pytest.raises(ResultNotFound, match="Nobody voted in November 2026"):
        await published.get_result(period=NOVEMBER, now=DUE, settings=root.settings, db=root.db)
    assert await results.publish_due(now=DUE, **collaborators()) == []  # type: ignore[arg-type]


async def test_the_export_verifies_and_a_changed_ballot_or_ranking_does_not(
    configure, movies, make_user, tmp_path, capsys
):
    from movievote import cli

    people = await voters(make_user, 5)
    for n, person in enumerate(people):
        await cast_vote(
            user_id=person, movie_id=movies[min(n, 2)], now=datetime(2026, 11, 5, n, tzinfo=UTC)
        )
    await publish()
    export = tmp_path / "movievote-2026-11.json"
    export.write_bytes(await json_bytes())
    ballots_csv = tmp_path / "movievote-2026-11-ballots.csv"
    ballots_csv.write_bytes(await csv_bytes())

    found = await cli.verify_results(str(export))
    assert found.ok, found.report()
    assert found.report().startswith("OK: 2026-11: 5 ballots, 5 counted")
    csv_found = await cli.verify_results(str(ballots_csv))
    assert csv_found.ok and csv_found.sha256 == found.sha256

    text = export.read_text()
    changed = tmp_path / "changed-ballot.json"  # one ballot moved to another movie
    first_ballot = f'"movie_id": {movies[0]}, "cast_at": "2026-11-05T00:00:00.000000Z"'
    assert first_ballot in text
    changed.write_text(
        text.replace(first_ballot, first_ballot.replace(str(movies[0]), str(movies[1])), 1)
    )
    bad = await cli.verify_results(str(changed))
    assert not bad.ok
    report = bad.report()
    assert report.startswith("FAILED") and "SHA-256 mismatch" in report
    assert "ranking mismatch: rank 2" in report

    reranked = tmp_path / "changed-ranking.json"  # the ranking says another winner
    reranked.write_text(
        text.replace(f'"movie_id": {movies[2]}, "title"', f'"movie_id": {movies[4]}, "title"', 1)
    )
    worse = await cli.verify_results(str(reranked))
    assert not worse.ok and "SHA-256 mismatch" not in worse.report()
    assert f"the export says movie {movies[4]} with 3 votes" in worse.report()


def test_verify_results_from_the_command_line_exits_non_zero_on_a_changed_ballot(tmp_path):
    """`movievote verify-results FILE` run as people run it (a process of its own, no database)."""
    import subprocess
    import sys
    from pathlib import Path

    key = ballots.pseudonym_key("x")
    rows = [
        (1, 7, "2026-11-01T10:00:00.000000Z", ballots.pseudonym(key, NOVEMBER, 1), False),
        (2, 8, "2026-11-01T11:00:00.000000Z", ballots.pseudonym(key, NOVEMBER, 2), False),
        (3, 8, "2026-11-02T11:00:00.000000Z", ballots.pseudonym(key, NOVEMBER, 3), True),
    ]
    csv_text = ballots.CSV_HEADER + "".join(ballots.csv_row(*row) for row in rows)
    export = tmp_path / "movievote-2026-11.json"
    export.write_text(
        '{"month": "2026-11", "published_at": "2026-12-02T03:00:00+00:00", "tie_break": "", '
        '"ranking": [{"rank": 1, "movie_id": 7, "title": "A", "votes": 1, "share": 0.5}, '
        '{"rank": 2, "movie_id": 8, "title": "B", "votes": 1, "share": 0.5}], '
        f'"total_votes": 2, "ballots_sha256": "{hashlib.sha256(csv_text.encode()).hexdigest()}", '
        '"ballots": [\n' + ",\n".join(ballots.json_ballot(*row) for row in rows) + "\n]}\n"
    )
    root = Path(__file__).resolve().parents[2]

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "movievote.cli", "verify-results", str(path)],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=60,
        )

    good = run(export)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("OK: 2026-11: 3 ballots, 2 counted, 1 voided")
    changed = tmp_path / "changed.json"
    changed.write_text(export.read_text().replace('"voided": true', '"voided": false'))
    bad = run(changed)
    assert bad.returncode == 1
    assert "SHA-256 mismatch" in bad.stdout and "total mismatch" in bad.stdout


async def test_both_databases_write_the_canonical_instant_exactly(configure, movies, make_user):
    """PostgreSQL formats cast_at itself (to_char); it must be the text Python writes."""
    people = await voters(make_user, 4)
    instants = [
        datetime(2026, 11, 1, 3, 0, 0, 1, tzinfo=UTC),  # 00:00:00.000001 in São Paulo
        datetime(2026, 11, 15, 12, 34, 56, 123456, tzinfo=UTC),
        datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 12, 1, 2, 59, 59, 500000, tzinfo=UTC),  # 23:59:59.5 on the 30th there
    ]
    for person, at in zip(people, instants, strict=True):
        await cast_vote(user_id=person, movie_id=movies[0], now=at)
    await publish()
    written = [line.split(",")[2] for line in (await csv_bytes()).decode().splitlines()[1:]]
    assert written == [ballots.cast_at_text(at) for at in instants]
    assert written[0] == "2026-11-01T03:00:00.000001Z"


async def test_movievote_publish_publishes_what_is_due_and_refuses_what_is_not(
    configure, movies, make_user, db
):
    from movievote import cli

    [person] = await voters(make_user, 1)
    await cast_vote(user_id=person, movie_id=movies[3], now=datetime(2020, 5, 10, tzinfo=UTC))
    with pytest.raises(SystemExit, match=r"The result of January 2099 is final on"):
        await cli.publish("2099-01", db=db)
    with pytest.raises(SystemExit, match="Nobody voted in June 2020"):
        await cli.publish("2020-06", db=db)
    with pytest.raises(SystemExit, match="a period is written YYYY-MM"):
        await cli.publish("May 2020", db=db)
    said = await cli.publish("2020-05", db=db)
    assert said.startswith("published 2020-05: 1 vote counted of 1 ballot; winner: movie")
    assert "was published already" in await cli.publish("2020-05", db=db)
    assert await cli.publish(None, db=db) == "no month is due: nothing to publish"
    async with db.engine.connect() as conn:
        actor = await conn.scalar(sa.text("SELECT actor_label FROM audit_log"))
    assert actor == "cli"


async def test_a_serving_process_publishes_what_is_due_by_itself(configure, movies, make_user, db):
    """`root.run_background` (the lifespan task of every serving process) runs the publisher."""
    from movievote.root import run_background

    [person] = await voters(make_user, 1)
    await cast_vote(user_id=person, movie_id=movies[3], now=datetime(2020, 5, 10, tzinfo=UTC))
    running = asyncio.create_task(run_background(get_root()))
    try:
        async with asyncio.timeout(20):
            while True:
                async with db.engine.connect() as conn:
                    found = await conn.scalar(sa.text("SELECT notified_at FROM month_results"))
                if found is not None:
                    break
                await asyncio.sleep(0.1)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT actor_label FROM audit_log")) == "system"
        # May 2020 is old news: published, nobody told
        told = "SELECT count(*) FROM notifications WHERE kind = 'month_result'"
        assert await conn.scalar(sa.text(told)) == 0


async def test_a_month_published_long_after_it_was_due_is_not_announced(
    configure, movies, make_user, db
):
    people = await voters(make_user, 2)
    await cast_vote(user_id=people[0], movie_id=movies[0], now=datetime(2026, 11, 5, tzinfo=UTC))
    late = DUE + announcements.ANNOUNCE_WITHIN + timedelta(seconds=1)
    assert await publish(now=late) is not None
    async with db.engine.connect() as conn:
        told = await conn.scalar(
            sa.text("SELECT count(*) FROM notifications WHERE kind = 'month_result'")
        )
        notified = await conn.scalar(sa.text("SELECT notified_at FROM month_results"))
    assert told == 0 and notified is not None


async def test_a_void_racing_the_publication_is_in_the_frozen_ballots_or_refused(
    configure, movies, make_user, db
):
    """The clock lets a void through a moment before the deadline, and it may commit after the
    publisher started: the publication lock (PostgreSQL) or the write lock (SQLite) orders
    them, so each void is either in the frozen ballots (voided) or refused as final; and once
    published, no void gets in whatever its clock says."""
    from movievote.errors import ResultFinal
    from movievote.services import admin, moderation

    root = get_root()
    people = await voters(make_user, 8)
    at = datetime(2026, 11, 5, 12, tzinfo=UTC)
    cast = [
        await cast_vote(user_id=p, movie_id=movies[n % 2], now=at + timedelta(minutes=n))
        for n, p in enumerate(people)
    ]
    just_before = DUE - timedelta(seconds=1)  # what each void's clock says

    async def void_now(vote_id: int) -> bool:
        try:
            await moderation.void_vote(
                vote_id=vote_id,
                reason="stuffing",
                actor=admin.Actor(None, "boss@example.com"),
                now=just_before,
                settings=root.settings,
                db=root.db,
                subject=root.subject,
            )
        except ResultFinal:
            return False
        return True

    outcomes = await asyncio.gather(publish(), *(void_now(v.id) for v in cast[:6]))
    # a publisher finding a void holding the month's lock gives up until its next round
    done, voided = outcomes[0] or await publish(), outcomes[1:]
    assert done is not None
    lines = (await csv_bytes()).decode().splitlines()[1:]
    frozen = {int(line.split(",")[0]): line.endswith(",true") for line in lines}
    for vote, went_through in zip(cast[:6], voided, strict=True):
        assert frozen[vote.id] is went_through  # in the ballots exactly when it committed
    assert done.total_votes == 8 - sum(voided)
    assert not await void_now(cast[7].id)  # after publication: refused, whatever the clock
