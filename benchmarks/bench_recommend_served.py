"""Recommendations served through the real service on PostgreSQL; prints figures (asserts
nothing).

    python -m benchmarks.bench_recommend_served [--dsn postgresql://.../movievote_bench_reco]
        [--members 10000] [--interactions 105000] [--movies 2000] [--calls 2000]

The named database is dropped and recreated. It gets `--movies` movies (each with a pt-BR
title), `--members` members plus 200 with no feedback at all, and bench_recommend's synthetic
feedback (20 taste clusters, Zipf-like popularity, log-normal activity) written as ratings
(4-5 stars for most, 1-2.5 for a tenth: seen, not liked) and, for 5% of it, votes (one per
member and month, in the months before this one and this one). Then, in this process as a
serving worker does it:

- training: `Recommendations.train()` (the feedback streamed from the database, EASE fitted in
  a child process), its time, the event loop's stalls meanwhile (a probe sleeping 1 ms in a
  loop), the process's RSS before and after and the child's peak RSS;
- serving: `recommend_for` (history query, model, movies' texts) for random members, the
  busiest member, members with nothing (the cold lists), in English and Portuguese, and
  `similar_to` for random movies: p50 / p99 / max per call, one call at a time, and this
  process's CPU per call (what the machine's load does not change); the same while a
  training runs; then the throughput of 16 concurrent callers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from datetime import date

import numpy as np
import psutil

from benchmarks.bench_recommend import synthetic
from movievote.recommend import VOTE_WEIGHT

COLD_MEMBERS = 200


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_reco")
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--interactions", type=int, default=105_000)
    p.add_argument("--movies", type=int, default=2_000)
    p.add_argument("--calls", type=int, default=2_000, help="timed calls of each kind")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args()


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def months_before(period: date, n: int) -> date:
    index = period.year * 12 + period.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def percentiles(samples_ns: list[int]) -> str:
    ms = np.array(samples_ns) / 1e6
    p50, p99 = np.percentile(ms, [50, 99])
    return f"p50 {p50:.2f} ms   p99 {p99:.2f} ms   max {ms.max():.2f} ms"


async def load(dsn: str, args: argparse.Namespace, period: date) -> tuple[int, int]:
    """Movies, members, ratings and votes, written with COPY; the tallies rebuilt."""
    import psycopg
    import sqlalchemy as sa

    data = synthetic(args.members, args.interactions, args.movies, args.seed)
    rng = np.random.default_rng(args.seed)
    plain = sa.make_url(dsn).render_as_string(False)
    ratings = votes = 0
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO movies (title, original_title, overview, source, external_id, year, "
            "created_at, updated_at) SELECT 'Movie ' || i, 'Movie ' || i, '', 'bench', i::text, "
            "1950 + i %% 75, now(), now() FROM generate_series(1, %s::int) AS i",
            (args.movies,),
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
            (args.members + COLD_MEMBERS,),
        )
        for name in ("ratings_to_deltas", "votes_to_deltas"):
            table = name.split("_")[0]
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        async with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY ratings (user_id, movie_id, half_stars, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            for row, member in enumerate(data.member_ids):
                start, end = data.matrix.indptr[row], data.matrix.indptr[row + 1]
                for column, weight in zip(
                    data.matrix.indices[start:end], data.matrix.data[start:end], strict=True
                ):
                    if weight >= VOTE_WEIGHT:
                        continue
                    half = rng.integers(8, 11) if rng.random() > 0.1 else rng.integers(2, 6)
                    movie = int(data.movie_ids[column])
                    await copy.write_row((int(member), movie, int(half), "now", "now"))
                    ratings += 1
        async with (
            conn.cursor() as cursor,
            cursor.copy("COPY votes (user_id, movie_id, period, created_at) FROM STDIN") as copy,
        ):
            for row, member in enumerate(data.member_ids):
                start, end = data.matrix.indptr[row], data.matrix.indptr[row + 1]
                voted = [
                    int(data.movie_ids[c])
                    for c, w in zip(
                        data.matrix.indices[start:end], data.matrix.data[start:end], strict=True
                    )
                    if w >= VOTE_WEIGHT
                ]
                first = int(rng.integers(0, 3))  # a third of the voters voted this month
                for k, movie in enumerate(voted):
                    month = months_before(period, first + k)
                    await copy.write_row((int(member), movie, month, "now"))
                    votes += 1
        for name in ("ratings_to_deltas", "votes_to_deltas"):
            table = name.split("_")[0]
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        await conn.execute("VACUUM ANALYZE")
    return ratings, votes


async def probe(stop: asyncio.Event, lateness: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(0.001)
        lateness.append((loop.time() - started - 0.001) * 1000)


async def timed(call, samples: list[int]) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter_ns()
    await call()
    samples.append(time.perf_counter_ns() - started)


async def main() -> None:
    args = parse()
    os.environ["DATABASE_URL"] = args.dsn
    os.environ.setdefault("DATABASE_POOL_SIZE", "8")  # a shared server: few connections
    from movievote.cli import migrate
    from movievote.config import get_settings
    from movievote.db import get_database
    from movievote.periods import current_period
    from movievote.root import build_root
    from movievote.services.ratings import rebuild_rating_tallies
    from movievote.services.tallies import rebuild_tallies
    from tests.databases import recreate_postgres_database

    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    recreate_postgres_database(args.dsn)
    await asyncio.to_thread(migrate)
    settings = get_settings()
    started = time.perf_counter()
    ratings, votes = await load(args.dsn, args, current_period(settings.zone))
    db = get_database()
    await rebuild_rating_tallies(db=db)
    await rebuild_tallies(db=db)
    print(
        f"loaded {ratings:,} ratings and {votes:,} votes of {args.members:,} members "
        f"(+{COLD_MEMBERS} with none) on {args.movies:,} movies in "
        f"{time.perf_counter() - started:.1f} s"
    )

    root = build_root(settings, db)
    service = root.recommendations
    print(f"\nprocess RSS before training: {rss_mb():.0f} MB")
    for attempt in range(1, 4):
        stop, lateness = asyncio.Event(), []
        probing = asyncio.create_task(probe(stop, lateness))
        await asyncio.sleep(0.2)
        idle = list(lateness)
        lateness.clear()
        started = time.perf_counter()
        trained = await service.train()
        seconds = time.perf_counter() - started
        stop.set()
        await probing
        stall = np.array(lateness)
        print(
            f"training {attempt}: {seconds:.2f} s ({trained.interactions:,} interactions, "
            f"{trained.members:,} members, {trained.movies:,} movies); event loop meanwhile: "
            f"p99 late {np.percentile(stall, 99):.1f} ms, max {stall.max():.1f} ms "
            f"(idle: p99 {np.percentile(idle, 99):.1f}, max {max(idle):.1f}); "
            f"RSS {rss_mb():.0f} MB"
        )
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    weights = getattr(trained.model, "weights", np.empty(0)).nbytes / 2**20
    print(f"training process peak RSS {child_peak:.0f} MB; model weights {weights:.0f} MB")

    rng = np.random.default_rng(args.seed)
    members = rng.integers(1, args.members + 1, args.calls)
    cold = rng.integers(args.members + 1, args.members + COLD_MEMBERS + 1, args.calls // 4)
    movies = rng.integers(1, args.movies + 1, args.calls)
    async with db.engine.connect() as conn:
        import sqlalchemy as sa

        busiest, seen = (
            await conn.execute(
                sa.text(
                    "SELECT user_id, count(*) FROM ratings GROUP BY user_id "
                    "ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).one()
    for member in members[:100]:  # warm up: connections, caches, the ranking
        await service.recommend_for(user_id=int(member))

    async def run(label: str, calls) -> None:  # type: ignore[no-untyped-def]
        samples: list[int] = []
        cpu = time.process_time()
        for call in calls:
            await timed(call, samples)
        cpu_ms = (time.process_time() - cpu) / len(samples) * 1000
        print(f"  {label:44s} {percentiles(samples)}   CPU {cpu_ms:.2f} ms")

    print("\nserving, one call at a time (history query + model + the movies' texts):")
    await run(
        "recommend_for, random members",
        [lambda m=int(m): service.recommend_for(user_id=m) for m in members],
    )
    await run(
        "recommend_for, random members, pt-BR",
        [lambda m=int(m): service.recommend_for(user_id=m, language="pt-BR") for m in members],
    )
    await run(
        f"recommend_for, busiest member ({seen} rated)",
        [lambda: service.recommend_for(user_id=busiest)] * 200,
    )
    await run(
        "recommend_for, members with nothing (cold)",
        [lambda m=int(m): service.recommend_for(user_id=m) for m in cold],
    )
    await run(
        "similar_to, random movies",
        [lambda m=int(m): service.similar_to(movie_id=m) for m in movies],
    )
    training = asyncio.create_task(service.train())
    during: list[int] = []
    for member in members:
        if training.done():
            break
        await timed(lambda m=int(member): service.recommend_for(user_id=m), during)
    await training
    print(
        f"  {'recommend_for while a training runs':44s} {percentiles(during)} ({len(during)} calls)"
    )
    sample = await service.recommend_for(user_id=int(members[0]))
    kinds = [item.reason.kind for item in sample.items]
    print(f"  (member {members[0]}: {len(sample.items)} items, reasons {kinds})")

    queue = list(members)
    done = 0

    async def caller() -> None:
        nonlocal done
        while queue:
            await service.recommend_for(user_id=int(queue.pop()))
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(16)))
    seconds = time.perf_counter() - started
    print(f"\n16 concurrent callers: {done / seconds:,.0f} recommend_for/s")
    print(f"process RSS at the end: {rss_mb():.0f} MB")
    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
