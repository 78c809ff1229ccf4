"""Ranking and vote-rate benchmark on PostgreSQL; prints figures (it asserts nothing).

    python -m benchmarks.bench_ranking [--dsn postgresql://postgres@127.0.0.1:5432/movievote_bench]

1. Loads 1,000,000 and then 5,000,000 votes over 5,000 movies and 24 past months (the trigger
   is disabled during the bulk load and the tallies are rebuilt from the votes with the
   service's GROUP BY path), and prints the server time (EXPLAIN ANALYZE) of the exact queries
   the ranking service runs for one month and for all time.
2. Measures the votes/s that `cast_vote` sustains with 16 concurrent tasks (votes spread over
   movies, then all on one movie) next to raw psycopg `INSERT ... ON CONFLICT DO NOTHING`
   at the same concurrency, and a counter row updated inside every vote (the hot-movie trap).
The named database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MOVIES = 5_000
MONTHS = 24
CONCURRENCY = 16


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench")
    p.add_argument("--sizes", default="1000000,5000000", help="vote counts to load, ascending")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each vote-rate run")
    p.add_argument("--rounds", type=int, default=3, help="runs of each vote-rate variant (median)")
    return p.parse_args()


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def months_back(current: date, n: int) -> date:
    index = current.year * 12 + current.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


async def load(conn, *, first_user: int, last_user: int, current: date) -> None:
    """Votes of users first..last in each of the 24 months before `current`, skewed to popular movies."""
    oldest = months_back(current, MONTHS)
    await conn.execute("ALTER TABLE votes DISABLE TRIGGER votes_to_deltas")
    await conn.execute(
        """
        INSERT INTO votes (user_id, movie_id, period, created_at)
        SELECT u, 1 + floor(%(movies)s * power(random(), 2))::int, p::date,
               p + (random() * interval '27 days')
        FROM generate_series(%(first)s::int, %(last)s::int) AS u,
             generate_series(%(oldest)s::timestamptz, %(oldest)s::timestamptz + interval '23 months',
                             interval '1 month') AS p
        """,
        {"movies": MOVIES, "first": first_user, "last": last_user, "oldest": oldest},
    )
    await conn.execute("ALTER TABLE votes ENABLE TRIGGER votes_to_deltas")


async def explain(conn, statement) -> tuple[float, str]:
    from sqlalchemy.dialects import postgresql

    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    times, plan = [], ""
    for _ in range(7):
        cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [r[0] for r in await cur.fetchall()]
        times.append(
            float(next(line for line in lines if line.startswith("Execution Time")).split()[2])
        )
        plan = "\n".join(lines)
    return statistics.median(times[2:]), f"{sql}\n\n{plan}"


async def ranking_figures(conn, *, votes: int, current: date, plans: dict[str, str]) -> None:
    from movievote.services.catalogue import genres_query
    from movievote.services.ranking import top_query, total_query

    month = months_back(current, 1)
    for name, scope in (("month", month), ("all time", "all")):
        top_ms, top_plan = await explain(conn, top_query(scope, 10))
        total_ms, total_plan = await explain(conn, total_query(scope))
        cur = await conn.execute(
            "SELECT movie_id FROM monthly_tallies WHERE period = %s ORDER BY votes DESC LIMIT 10",
            (month,),
        )
        ids = [r[0] for r in await cur.fetchall()]
        genres_ms, genres_plan = await explain(conn, genres_query(ids))
        print(
            f"  {votes:>9,} votes  {name:<8}  top 10: {top_ms:.3f} ms   total: {total_ms:.3f} ms   "
            f"genres: {genres_ms:.3f} ms   sum: {top_ms + total_ms + genres_ms:.3f} ms"
        )
        plans[f"{votes:,} votes, {name}, top 10"] = top_plan
        plans[f"{votes:,} votes, {name}, total"] = total_plan
        plans[f"{votes:,} votes, {name}, genres of the 10"] = genres_plan
    group_by = (
        "SELECT movie_id, count(*) FROM votes WHERE period = %(p)s GROUP BY movie_id "
        "ORDER BY count(*) DESC LIMIT 10"
    )
    cur = await conn.execute("EXPLAIN ANALYZE " + group_by, {"p": month})
    lines = [r[0] for r in await cur.fetchall()]
    ms = float(next(line for line in lines if line.startswith("Execution Time")).split()[2])
    print(f"  {votes:>9,} votes  (for comparison: GROUP BY over one month's votes: {ms:.1f} ms)")


async def run_tasks(make_vote, *, users: list[int], seconds: float) -> tuple[float, float, int]:
    """Run CONCURRENCY tasks casting votes for successive users until time is up."""
    queue = iter(users)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            user = next(queue)
            await make_vote(user)
            done += 1

    cpu0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - t0
    return done / elapsed, (cpu() - cpu0) / elapsed * 100, done


async def vote_rates(dsn: str, *, seconds: float, rounds: int, current: date) -> None:
    import psycopg

    from movievote.root import build_root
    from movievote.services import voting

    root = build_root()  # the benchmark's own
    db = root.db
    next_user = [1]

    def take(n: int) -> list[int]:
        start = next_user[0]
        next_user[0] += n
        return list(range(start, start + n))

    conns = [
        await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(CONCURRENCY)
    ]
    free: asyncio.Queue = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    now = datetime.now(UTC)

    async def raw(user: int, movie: int, *, counter: bool) -> None:
        conn = await free.get()
        try:
            if counter:  # the trap: a shared counter row updated in every vote's transaction
                async with conn.transaction():
                    cur = await conn.execute(
                        "INSERT INTO votes (user_id, movie_id, period, created_at) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (user_id, period) DO NOTHING RETURNING id",
                        (user, movie, current, now),
                    )
                    if await cur.fetchone():
                        await conn.execute(
                            "UPDATE period_totals SET votes = votes + 1 WHERE period = %s",
                            (current,),
                        )
            else:
                cur = await conn.execute(
                    "INSERT INTO votes (user_id, movie_id, period, created_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (user_id, period) DO NOTHING RETURNING id",
                    (user, movie, current, now),
                )
                await cur.fetchone()
        finally:
            free.put_nowait(conn)

    async with db.autocommit() as c:  # warm the pool
        await c.exec_driver_sql("SELECT 1")
    await conns[0].execute(
        "INSERT INTO period_totals (period, votes) VALUES (%s, 0) ON CONFLICT DO NOTHING",
        (current,),
    )
    rng = random.Random(7)
    variants = {
        "cast_vote, spread over movies": lambda u: voting.cast_vote(
            user_id=u,
            movie_id=rng.randint(1, MOVIES),
            session_id=f"bench-{u}",
            subject=root.subject,
            db=root.db,
            settings=root.settings,
        ),
        "cast_vote, all on one movie": lambda u: voting.cast_vote(
            user_id=u,
            movie_id=1,
            session_id=f"bench-{u}",
            subject=root.subject,
            db=root.db,
            settings=root.settings,
        ),
        "raw psycopg, spread": lambda u: raw(u, rng.randint(1, MOVIES), counter=False),
        "raw psycopg, one movie": lambda u: raw(u, 1, counter=False),
        "raw psycopg + counter row per vote, one movie": lambda u: raw(u, 1, counter=True),
    }
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    for _ in range(rounds):  # alternate the variants so machine noise hits them all alike
        for name, make_vote in variants.items():
            rate, load_cpu, _ = await run_tasks(make_vote, users=take(40_000), seconds=seconds)
            await root.subject.settle()
            results[name].append((rate, load_cpu))
    print(
        f"\nvote rate, {CONCURRENCY} concurrent tasks, {seconds:.0f} s per run, median of {rounds} runs"
    )
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(r for r, _ in runs)
        print(
            f"  {name:<48} {medians[name]:>7,.0f} votes/s   (this process's CPU {statistics.median(c for _, c in runs):.0f}%)"
        )
    spread = medians["cast_vote, spread over movies"]
    hot = medians["cast_vote, all on one movie"]
    print(
        f"  cast_vote / raw psycopg (spread): {spread / medians['raw psycopg, spread']:.0%}   (target >= 40%)"
    )
    print(f"  hot movie / spread (cast_vote):   {hot / spread:.0%}   (target >= 70%)")
    for c in conns:
        await c.close()

    from movievote.services.tallies import fold_vote_deltas

    await fold_vote_deltas(db=db)
    async with db.autocommit() as c:
        truth = (
            await c.exec_driver_sql(
                "SELECT count(*) FROM votes WHERE period = %(p)s", {"p": current}
            )
        ).scalar()
        tally = (
            await c.exec_driver_sql(
                "SELECT coalesce(sum(votes), 0) FROM monthly_tallies WHERE period = %(p)s",
                {"p": current},
            )
        ).scalar()
    print(
        f"  check: {truth:,} votes this month, tallies say {tally:,} "
        "(the counter variant's rows are counted by the trigger too)"
    )


async def main() -> None:
    args = parse()
    os.environ["DATABASE_URL"] = args.dsn
    os.environ.setdefault("DATABASE_POOL_SIZE", str(CONCURRENCY))
    import psycopg
    import sqlalchemy as sa

    from movievote.cli import migrate
    from movievote.config import get_settings
    from movievote.db import get_database, reset_database
    from movievote.periods import current_period
    from movievote.services.tallies import rebuild_tallies
    from tests.databases import recreate_postgres_database

    recreate_postgres_database(args.dsn)
    await asyncio.to_thread(migrate)
    sizes = [int(s) for s in args.sizes.split(",")]
    current = current_period(get_settings().zone)
    users_needed = max(sizes) // MONTHS + 1 + 5 * 40_000 * args.rounds
    plain = sa.make_url(args.dsn).render_as_string(False)
    plans: dict[str, str] = {}
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
        t = time.monotonic()
        await conn.execute(
            "INSERT INTO movies (title, original_title, overview, source, external_id, year, created_at, updated_at) "
            "SELECT 'Movie ' || i, 'Movie ' || i, '', 'bench', i::text, 1950 + i %% 75, now(), now() "
            "FROM generate_series(1, %s::int) AS i",
            (MOVIES,),
        )
        await conn.execute(
            "INSERT INTO users (email, display_name, password_hash, notification_channel, "
            "is_admin, created_at, email_verified_at) "
            "SELECT 'u' || i || '@bench.local', 'User ' || i, 'x', 'in_app', false, now(), now() "
            "FROM generate_series(1, %s::int) AS i",
            (users_needed,),
        )
        # an open session each, as a log-in makes: the vote statement checks it
        await conn.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) "
            "SELECT 'bench-' || id, id, now(), now() + interval '1 day' FROM users"
        )
        await conn.execute(
            "INSERT INTO genres (name) SELECT 'Genre ' || g FROM generate_series(1, 18) AS g"
        )
        await conn.execute(
            "INSERT INTO movie_genres (movie_id, genre_id) SELECT m, 1 + m %% 18 FROM generate_series(1, %s::int) m "
            "UNION ALL SELECT m, 1 + (m / 18) %% 18 FROM generate_series(1, %s::int) m "
            "WHERE (m / 18) %% 18 <> m %% 18",
            (MOVIES, MOVIES),
        )
        await conn.execute(
            "INSERT INTO movie_translations (movie_id, language, title, overview) "
            "SELECT id, 'pt-BR', 'Filme ' || id, '' FROM movies"
        )
        print(
            f"set-up: {MOVIES:,} movies (2 genres each, a pt-BR translation each), "
            f"{users_needed:,} users in {time.monotonic() - t:.1f} s"
        )
        loaded = 0
        print("\nranking queries (EXPLAIN ANALYZE execution time, median of 5 warm runs)")
        for size in sizes:
            per_month_users = size // MONTHS
            t = time.monotonic()
            await load(conn, first_user=loaded + 1, last_user=per_month_users, current=current)
            loaded = per_month_users
            await rebuild_tallies(db=get_database())
            await conn.execute("VACUUM ANALYZE")
            count = (await (await conn.execute("SELECT count(*) FROM votes")).fetchone())[0]
            print(
                f"  loaded {count:,} votes and rebuilt the tallies in {time.monotonic() - t:.1f} s"
            )
            await ranking_figures(conn, votes=count, current=current, plans=plans)
        # vote-rate runs use users beyond the loaded ones, in the current month
        await conn.execute("SELECT setval('users_id_seq', (SELECT max(id) FROM users))")
    await reset_database()
    os.environ["RANKING_REFRESH_DELAY_SECONDS"] = "0.05"
    await vote_rates(plain, seconds=args.seconds, rounds=args.rounds, current=current)
    print("\nplans of the largest load:")
    for name, plan in plans.items():
        if name.startswith(f"{count:,}"):
            print(f"\n--- {name}\n{plan}")
    await reset_database()


if __name__ == "__main__":
    asyncio.run(main())
