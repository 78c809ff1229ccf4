"""Ratings benchmark on PostgreSQL; prints figures (it asserts nothing).

    python -m benchmarks.bench_ratings [--dsn postgresql://postgres@127.0.0.1:5432/movievote_bench_ratings]
                                       [--ratings 1000000] [--seconds 8] [--rounds 3]

1. Loads about 1,000,000 ratings over 5,000 movies (popular movies rated more; the trigger is
   disabled during the bulk load and the tallies rebuilt with the service's GROUP BY path), and
   prints the server time (EXPLAIN ANALYZE, median of 5 warm runs) of the exact statements the
   catalogue runs for the first page sorted by `top_rated`: the page itself (an ordered scan of
   ix_rating_tallies_top), in English and in Portuguese, and the page's count.
2. Measures the rating writes per second that `ratings.rate` sustains with 16 concurrent tasks,
   ratings spread over the movies and all on one hot movie, next to raw psycopg sending the same
   upsert (`ratings.RATE_PG`: the same statement, its member and movie checks, the same
   triggers) at the same concurrency; for scale, raw psycopg sending a plain upsert without the
   checks, and the hot-movie trap: a counter row updated inside every rating's transaction.
   Each run's raters are new members (every write is a first rating); the variants alternate,
   medians of `--rounds`.
3. Checks that the tallies equal a GROUP BY over the ratings afterwards.
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
from datetime import UTC, datetime

MOVIES = 5_000
CONCURRENCY = 16
PER_MEMBER = 20  # ratings each loaded member gives (some collide and are dropped)
RUN_MEMBERS = 100_000  # new members per write run (a run stops early if it uses them all)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_ratings")
    p.add_argument("--ratings", type=int, default=1_000_000, help="ratings to load (about)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each write run")
    p.add_argument("--rounds", type=int, default=3, help="runs of each write variant (median)")
    return p.parse_args()


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def explain(conn, statement) -> tuple[float, str]:  # type: ignore[no-untyped-def]
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


async def load(conn, *, members: int) -> None:  # type: ignore[no-untyped-def]
    """PER_MEMBER ratings by each of the first `members` members, popular movies more often,
    each movie with a mean of its own (so the Bayesian order means something)."""
    await conn.execute("ALTER TABLE ratings DISABLE TRIGGER ratings_to_deltas")
    await conn.execute(
        """
        INSERT INTO ratings (user_id, movie_id, half_stars, review, created_at, updated_at)
        SELECT u, m, least(10, greatest(1, round(2 + (m %% 7) + random() * 3)))::int,
               CASE WHEN random() < 0.1 THEN 'A few words about it.' END, now(), now()
        FROM (
            SELECT u, 1 + floor(%(movies)s * power(random(), 2))::int AS m
            FROM generate_series(1, %(members)s::int) AS u,
                 generate_series(1, %(per)s::int) AS k
        ) AS picks
        ON CONFLICT (user_id, movie_id) DO NOTHING
        """,
        {"movies": MOVIES, "members": members, "per": PER_MEMBER},
    )
    await conn.execute("ALTER TABLE ratings ENABLE TRIGGER ratings_to_deltas")


async def query_figures(conn, *, count: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from movievote.models import Movie
    from movievote.services.catalogue import in_language, top_rated_query

    movies = Movie.__table__  # type: ignore[attr-defined]
    listed = [movies.c.hidden_at.is_(None)]  # what list_movies always asks
    plans: dict[str, str] = {}
    print(
        f"\ntop-rated page (EXPLAIN ANALYZE execution time, median of 5 warm runs), {count:,} ratings"
    )
    for language in ("en", "pt-BR"):
        read = in_language(language)
        page_ms, plans[f"top 24, {language}"] = await explain(
            conn, top_rated_query(read, listed, limit=24, offset=0)
        )
        print(f"  first page of 24, {language:<5}  {page_ms:.3f} ms")
    count_ms, plans["count"] = await explain(
        conn,
        sa.select(sa.func.count()).select_from(in_language("en").source).where(*listed),
    )
    print(f"  the page's total (count of listed movies, every sort runs it): {count_ms:.3f} ms")
    cur = await conn.execute(
        "EXPLAIN ANALYZE SELECT movie_id, count(*), avg(half_stars) FROM ratings "
        "GROUP BY movie_id ORDER BY avg(half_stars) DESC LIMIT 24"
    )
    lines = [r[0] for r in await cur.fetchall()]
    ms = float(next(line for line in lines if line.startswith("Execution Time")).split()[2])
    print(f"  (for comparison: an average over all the ratings, GROUP BY: {ms:.1f} ms)")
    return plans


async def run_tasks(write, *, members: list[int], seconds: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    queue = iter(members)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            member = next(queue, None)
            if member is None:
                break
            await write(member)
            done += 1

    cpu0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - t0
    return done / elapsed, (cpu() - cpu0) / elapsed * 100


async def write_rates(dsn: str, *, first_member: int, seconds: float, rounds: int) -> None:
    import psycopg

    from movievote.root import build_root
    from movievote.services import ratings

    root = build_root()
    next_member = [first_member]

    def take(n: int) -> list[int]:
        start = next_member[0]
        next_member[0] += n
        return list(range(start, start + n))

    conns = [
        await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(CONCURRENCY)
    ]
    free: asyncio.Queue = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    upsert = (
        "INSERT INTO ratings (user_id, movie_id, half_stars, review, created_at, updated_at) "
        "VALUES (%s, %s, %s, NULL, %s, %s) ON CONFLICT (user_id, movie_id) DO UPDATE "
        "SET half_stars = EXCLUDED.half_stars, review = EXCLUDED.review, "
        "updated_at = EXCLUDED.updated_at RETURNING created_at"
    )

    checked = ratings.RATE_PG[(True, True)]  # the service's own statement, for psycopg

    async def raw_checked(member: int, movie: int) -> None:
        """Exactly the statement `ratings.rate` sends (the member and movie checks in it)."""
        conn = await free.get()
        now = datetime.now(UTC)
        params = {
            "user_id": member,
            "movie_id": movie,
            "half_stars": rng.randint(1, 10),
            "review": None,
            "now": now,
            "session_id": f"bench-{member}",
        }
        try:
            cur = await conn.execute(checked, params)
            await cur.fetchone()
        finally:
            free.put_nowait(conn)

    async def raw(member: int, movie: int, *, counter: bool) -> None:
        conn = await free.get()
        now = datetime.now(UTC)
        stars = rng.randint(1, 10)
        try:
            if counter:  # the trap: a counter row updated in every rating's transaction
                async with conn.transaction():
                    cur = await conn.execute(upsert, (member, movie, stars, now, now))
                    await cur.fetchone()
                    await conn.execute(
                        "UPDATE bench_counter SET ratings = ratings + 1, "
                        "half_stars = half_stars + %s WHERE movie_id = %s",
                        (stars, movie),
                    )
            else:
                cur = await conn.execute(upsert, (member, movie, stars, now, now))
                await cur.fetchone()
        finally:
            free.put_nowait(conn)

    def service(member: int, movie: int):  # type: ignore[no-untyped-def]
        return ratings.rate(
            user_id=member,
            movie_id=movie,
            stars=rng.randint(1, 10) / 2,
            session_id=f"bench-{member}",
            settings=root.settings,
            folder=root.ratings,
            db=root.db,
        )

    async with root.db.autocommit() as c:  # warm the pool
        await c.exec_driver_sql("SELECT 1")
    rng = random.Random(7)
    variants = {
        "ratings.rate, spread over movies": lambda u: service(u, rng.randint(1, MOVIES)),
        "ratings.rate, all on one movie": lambda u: service(u, 1),
        "raw psycopg, the same upsert, spread": lambda u: raw_checked(u, rng.randint(1, MOVIES)),
        "raw psycopg, the same upsert, one movie": lambda u: raw_checked(u, 1),
        "raw psycopg, plain upsert (no checks), spread": lambda u: raw(
            u, rng.randint(1, MOVIES), counter=False
        ),
        "raw psycopg + tally row per rating, one movie": lambda u: raw(u, 1, counter=True),
    }
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    for _ in range(rounds):  # alternate the variants so machine noise hits them all alike
        for name, write in variants.items():
            results[name].append(await run_tasks(write, members=take(RUN_MEMBERS), seconds=seconds))
            await root.ratings.settle()
            await ratings.fold_rating_deltas(db=root.db)
    print(
        f"\nrating writes, {CONCURRENCY} concurrent tasks, {seconds:.0f} s per run, "
        f"median of {rounds} runs"
    )
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(r for r, _ in runs)
        load_cpu = statistics.median(c for _, c in runs)
        print(f"  {name:<46} {medians[name]:>7,.0f} /s   (this process's CPU {load_cpu:.0f}%)")
    spread = medians["ratings.rate, spread over movies"]
    hot = medians["ratings.rate, all on one movie"]
    same_spread = medians["raw psycopg, the same upsert, spread"]
    same_hot = medians["raw psycopg, the same upsert, one movie"]
    plain = medians["raw psycopg, plain upsert (no checks), spread"]
    print(f"  ratings.rate / raw psycopg, same upsert, spread:    {spread / same_spread:.0%}")
    print(f"  ratings.rate / raw psycopg, same upsert, one movie: {hot / same_hot:.0%}")
    print(f"  (ratings.rate / raw plain upsert without the checks, spread: {spread / plain:.0%})")
    print(f"  hot movie / spread (ratings.rate): {hot / spread:.0%}   folds: {root.ratings.folds}")
    for c in conns:
        await c.close()


async def main() -> None:
    args = parse()
    os.environ["DATABASE_URL"] = args.dsn
    os.environ.setdefault("DATABASE_POOL_SIZE", str(CONCURRENCY))
    os.environ["RANKING_REFRESH_DELAY_SECONDS"] = "0.05"
    import psycopg
    import sqlalchemy as sa

    from movievote.cli import migrate
    from movievote.db import get_database, reset_database
    from movievote.services.ratings import fold_rating_deltas, rebuild_rating_tallies
    from tests.databases import recreate_postgres_database

    recreate_postgres_database(args.dsn)
    await asyncio.to_thread(migrate)
    loaded_members = args.ratings // PER_MEMBER + args.ratings // (PER_MEMBER * 50)
    members = loaded_members + 7 * RUN_MEMBERS * args.rounds
    plain = sa.make_url(args.dsn).render_as_string(False)
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
        t = time.monotonic()
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
        await conn.execute(
            "INSERT INTO users (email, display_name, password_hash, notification_channel, "
            "is_admin, created_at, email_verified_at) "
            "SELECT 'u' || i || '@bench.local', 'User ' || i, 'x', 'in_app', false, now(), now() "
            "FROM generate_series(1, %s::int) AS i",
            (members,),
        )
        # an open session each, as a log-in makes: the rating statement checks it
        await conn.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) "
            "SELECT 'bench-' || id, id, now(), now() + interval '1 day' FROM users"
        )
        # the trap variant's counter (a table of its own, so the tallies stay checkable)
        await conn.execute(
            "CREATE TABLE bench_counter (movie_id int PRIMARY KEY, ratings int, half_stars int)"
        )
        await conn.execute("INSERT INTO bench_counter VALUES (1, 0, 0)")
        print(f"set-up: {MOVIES:,} movies, {members:,} members in {time.monotonic() - t:.1f} s")
        t = time.monotonic()
        await load(conn, members=loaded_members)
        await rebuild_rating_tallies(db=get_database())
        await conn.execute("VACUUM ANALYZE")
        count = (await (await conn.execute("SELECT count(*) FROM ratings")).fetchone())[0]
        print(f"loaded {count:,} ratings and rebuilt the tallies in {time.monotonic() - t:.1f} s")
        plans = await query_figures(conn, count=count)
    await reset_database()
    await write_rates(
        plain, first_member=loaded_members + 1, seconds=args.seconds, rounds=args.rounds
    )
    await fold_rating_deltas(db=get_database())
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM (SELECT movie_id, count(*) AS n, sum(half_stars) AS s "
            "FROM ratings GROUP BY movie_id) AS truth FULL JOIN rating_tallies t "
            "USING (movie_id) WHERE coalesce(truth.n, 0) <> coalesce(t.ratings, 0) "
            "OR coalesce(truth.s, 0) <> coalesce(t.half_stars, 0)"
        )
        wrong = (await cur.fetchone())[0]
        cur = await conn.execute("SELECT count(*) FROM ratings")
        total = (await cur.fetchone())[0]
        print(f"  check: {total:,} ratings; movies whose tally differs from a GROUP BY: {wrong}")
    print("\nplans:")
    for name, plan in plans.items():
        print(f"\n--- {name}\n{plan}")
    await reset_database()


if __name__ == "__main__":
    asyncio.run(main())
