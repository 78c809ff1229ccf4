"""Month results benchmark on PostgreSQL; prints figures (it asserts nothing).

    python -m benchmarks.bench_results [--dsn postgresql://postgres@127.0.0.1:5432/movievote_bench_results]

Seeds two past months, of 100,000 and 1,000,000 votes over 5,000 movies (generate_series, the
vote trigger off, the tallies rebuilt from the votes; then 1% of each month voided through
the trigger, as admins would), and for each month times, in this process, through the
services the server and the CLI run:

1. publish: the result from the frozen ballots, the tallies check, the freeze (INSERT ...
   SELECT with the pseudonyms) and the SHA-256 of the canonical CSV, in one transaction;
2. export: the canonical CSV streamed to /dev/null, and the JSON export streamed to a file;
3. verify: `movievote verify-results` on that file (the CLI's function);
4. notify: telling 10,000 members (8,000 in the app, 1,500 by email to a local SMTP server,
   500 by SMS, logged), through the dispatcher in batches.

Each step prints its wall time, then its peak of Python allocations (tracemalloc, in a second
run of the same step: tracing slows Python down) and how much the process's peak RSS grew
(ru_maxrss). The export's and the verification's memory must not grow with the votes: compare
the two months. The named database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

MOVIES = 5_000
MONTHS = {date(2026, 9, 1): 100_000, date(2026, 10, 1): 1_000_000}
NOW = datetime(2026, 11, 15, tzinfo=UTC)  # both months are due


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_results")
    p.add_argument("--members", type=int, default=10_000, help="members told each result")
    return p.parse_args()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(
    name: str,
    step: Callable[[], Awaitable[object]],
    *,
    reset: Callable[[], Awaitable[object]] | None = None,
    traced: bool = True,
) -> object:
    """Time one step; then, after `reset`, run it again under tracemalloc for its peak."""
    before = rss_mb()
    start = time.perf_counter()
    outcome = await step()
    seconds = time.perf_counter() - start
    grew = rss_mb() - before
    peak = ""
    if traced:
        if reset is not None:
            await reset()
        tracemalloc.start()
        await step()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = f"   Python peak {top / 2**20:7.1f} MB"
    print(f"    {name:<34} {seconds:7.2f} s{peak}   peak RSS +{grew:.0f} MB")
    return outcome


async def seed(conn, members: int) -> None:  # type: ignore[no-untyped-def]
    users = max(MONTHS.values())
    await conn.execute(
        "INSERT INTO movies (title, original_title, overview, source, external_id, year, "
        "created_at, updated_at) SELECT 'Movie ' || i, 'Movie ' || i, '', 'bench', i::text, "
        "1950 + i %% 75, now(), now() FROM generate_series(1, %s::int) AS i",
        (MOVIES,),
    )
    await conn.execute(
        "INSERT INTO movie_translations (movie_id, language, title, overview) "
        "SELECT id, 'pt-BR', 'Filme ' || id, '' FROM movies"
    )
    # members 1..members hear the results (by email, SMS or in the app); the other voters
    # are blocked, so each announcement tells exactly `members` people
    await conn.execute(
        "INSERT INTO users (email, display_name, password_hash, notification_channel, phone, "
        "is_admin, created_at, email_verified_at, language, blocked_at) "
        "SELECT 'u' || i || '@bench.local', 'User ' || i, 'x', "
        "CASE WHEN i <= %(members)s * 15 / 100 THEN 'email' "
        "     WHEN i <= %(members)s * 20 / 100 THEN 'sms' ELSE 'in_app' END, "
        "'+5511' || lpad(i::text, 9, '0'), false, now(), now(), "
        "CASE WHEN i %% 2 = 0 THEN 'pt-BR' END, "
        "CASE WHEN i > %(members)s THEN now() END "
        "FROM generate_series(1, %(users)s::int) AS i",
        {"members": members, "users": users},
    )
    await conn.execute("ALTER TABLE votes DISABLE TRIGGER votes_to_deltas")
    for period, votes in MONTHS.items():
        await conn.execute(
            "INSERT INTO votes (user_id, movie_id, period, created_at) "
            "SELECT u, 1 + floor(%(movies)s * power(random(), 2))::int, %(period)s, "
            "%(period)s::timestamptz + random() * interval '29 days' "
            "FROM generate_series(1, %(votes)s::int) AS u",
            {"movies": MOVIES, "period": period, "votes": votes},
        )
    await conn.execute("ALTER TABLE votes ENABLE TRIGGER votes_to_deltas")


async def main() -> None:
    args = parse()
    os.environ["DATABASE_URL"] = args.dsn
    from tests.mail import Inbox

    inbox = Inbox()
    os.environ["NOTIFY_SMTP_URL"] = inbox.start()
    import psycopg
    import sqlalchemy as sa

    from movievote.cli import migrate, verify_results
    from movievote.root import build_root
    from movievote.services import announcements, published, results
    from movievote.services.tallies import fold_vote_deltas, rebuild_tallies
    from tests.databases import recreate_postgres_database

    recreate_postgres_database(args.dsn)
    await asyncio.to_thread(migrate)
    plain = sa.make_url(args.dsn).render_as_string(False)
    root = build_root()
    db, settings = root.db, root.settings
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
        t = time.perf_counter()
        await seed(conn, args.members)
        await rebuild_tallies(db=db)
        for period in MONTHS:  # 1% voided, through the trigger (-1 deltas), as admins do
            await conn.execute(
                "UPDATE votes SET voided_at = now(), void_reason = 'bench' "
                "WHERE period = %s AND id %% 100 = 0",
                (period,),
            )
        await fold_vote_deltas(db=db)
        await conn.execute("VACUUM ANALYZE")
        print(
            f"set-up: {MOVIES:,} movies, {max(MONTHS.values()):,} users ({args.members:,} "
            f"members), {sum(MONTHS.values()):,} votes in {time.perf_counter() - t:.1f} s"
        )
    kw = {"settings": settings, "db": db, "dispatcher": root.dispatcher}

    async def members_blocked(blocked: bool) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                sa.text("UPDATE users SET blocked_at = :at WHERE id <= :members"),
                {"at": NOW if blocked else None, "members": args.members},
            )

    folder = Path(tempfile.mkdtemp(prefix="movievote-bench-results-"))
    for period, votes in MONTHS.items():
        month = f"{period:%Y-%m}"
        print(f"\n{month}: {votes:,} votes")

        async def unpublish(period: date = period) -> None:
            async with db.transaction() as conn:
                await conn.execute(
                    sa.text("DELETE FROM month_results WHERE period = :p"), {"p": period}
                )
                # the members were all told by the first run: let them be told again
                await conn.execute(sa.text("DELETE FROM notifications"))

        async def publish(period: date = period) -> object:
            return await results.publish_month(period=period, now=NOW, **kw)  # type: ignore[arg-type]

        # the members hear it in step 4, timed on its own: while publishing, nobody is told
        await members_blocked(True)
        done = await measure("publish (result, check, freeze, hash)", publish, reset=unpublish)
        await members_blocked(False)
        assert done is not None
        print(
            f"      {done.total_votes:,} counted of {done.ballots:,} ballots, tallies match: "  # type: ignore[attr-defined]
            f"{done.tallies_match}, sha256 {done.ballots_sha256[:16]}..."  # type: ignore[attr-defined]
        )

        async def export_csv(period: date = period) -> int:
            size = 0
            with open(os.devnull, "wb") as sink:  # noqa: ASYNC230 (a local sink)
                chunks = await published.ballots_csv(period=period, settings=settings, db=db)
                async for chunk in chunks:
                    size += sink.write(chunk)
            return size

        size = await measure("export ballots.csv -> /dev/null", export_csv)
        print(f"      {size / 2**20:.1f} MB")  # type: ignore[operator]
        path = folder / f"movievote-{month}.json"

        async def export_json(period: date = period, path: Path = path) -> int:
            size = 0
            with open(path, "wb") as sink:  # noqa: ASYNC230 (a local file)
                chunks = await published.export_json(period=period, settings=settings, db=db)
                async for chunk in chunks:
                    size += sink.write(chunk)
            return size

        size = await measure("export export.json -> a file", export_json)
        print(f"      {size / 2**20:.1f} MB")  # type: ignore[operator]

        async def verify(path: Path = path) -> object:
            return await verify_results(str(path))

        found = await measure("verify-results export.json", verify)
        print(f"      {found.report().splitlines()[0][:110]}")  # type: ignore[attr-defined]

        async def notify(period: date = period) -> int:
            async with db.transaction() as conn:
                await conn.execute(sa.text("DELETE FROM notifications"))
                await conn.execute(
                    sa.text(
                        "UPDATE month_results SET notified_at = NULL, notifying_since = NULL "
                        "WHERE period = :p"
                    ),
                    {"p": period},
                )
            return await announcements.announce_result(period=period, now=NOW, **kw)  # type: ignore[arg-type]

        mails = len(inbox.messages)
        told = await measure(f"notify {args.members:,} members", notify, traced=False)
        print(
            f"      told {told:,} members; {len(inbox.messages) - mails:,} emails received by "
            "the local SMTP server"
        )
    inbox.stop()
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
