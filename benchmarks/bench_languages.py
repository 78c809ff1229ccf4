"""The ranking cache in two languages, in-process on PostgreSQL; prints figures (asserts nothing).

    python -m benchmarks.bench_languages [--dsn ...] [--baseline-ref REF] [--rounds 5]

Fills a fresh database with the bundled catalogue (and its pt-BR translations) and a vote for
every movie this month and all time, then measures what languages could cost the ranking:
recomputing a scope's top 100 (what the cache does after each fold), a cached read of the top
10 in English and in pt-BR, and the first pt-BR read of a fresh snapshot. With
`--baseline-ref`, the same measurements of the revision REF (English only) run on the same
database, the two trees alternating, each in a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def measure(rounds: int) -> dict[str, float]:
    """Medians over `rounds` of each figure, with the movievote package on sys.path."""
    from movievote.config import get_settings
    from movievote.db import get_database
    from movievote.periods import current_period
    from movievote.services import ranking, ranking_cache

    db = get_database()
    languages = "read_ranking" in vars(ranking)  # a tree from before languages has neither
    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    for _ in range(20):  # warm the pool and the statement caches
        await ranking.compute_ranking("all", limit=100, db=db)
    scopes: list[tuple[str, ranking.Scope]] = [
        ("month", current_period(get_settings().zone)),
        ("all time", "all"),
    ]
    for _ in range(rounds):
        for scope_name, scope in scopes:
            started = time.perf_counter()
            for _ in range(200):
                await ranking.compute_ranking(scope, limit=100, db=db)
            note(f"recompute top 100, {scope_name} (ms)", (time.perf_counter() - started) * 5)
        cache = ranking_cache.RankingCache(ttl_seconds=300, max_entries=256, db=db)
        for language in ("en", "pt-BR") if languages else ("en",):
            extra = {"language": language} if languages else {}
            await cache.get("all", limit=10, **extra)
            started = time.perf_counter()
            for _ in range(20_000):
                await cache.get("all", limit=10, **extra)
            note(f"cached top 10, {language} (us)", (time.perf_counter() - started) / 0.02)
        if languages:
            snapshot = await ranking.read_ranking("all", limit=100, db=db)
            started = time.perf_counter()
            snapshot.in_language("pt-BR")
            note("first pt-BR read of a snapshot (ms)", (time.perf_counter() - started) * 1000)
    await db.dispose()
    return {name: statistics.median(values) for name, values in figures.items()}


def prepare(dsn: str) -> None:
    """A fresh database: the bundled catalogue, and one vote per movie in the current month."""
    import psycopg
    import sqlalchemy as sa

    from tests.databases import recreate_postgres_database

    recreate_postgres_database(dsn)
    env = {**os.environ, "DATABASE_URL": dsn}
    cli = [sys.executable, "-m", "movievote.cli"]
    subprocess.run([*cli, "prestart", "--quiet"], env=env, cwd=ROOT, check=True)
    with psycopg.connect(sa.make_url(dsn).render_as_string(False), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (email, display_name, password_hash, notification_channel, "
            "is_admin, created_at) SELECT 'v' || id || '@bench.local', 'V', 'x', 'in_app', "
            "false, now() FROM movies"
        )
        conn.execute(
            "INSERT INTO votes (user_id, movie_id, period, created_at) "
            "SELECT u.id, m.id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, now() "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) u "
            "JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM movies) m USING (n)"
        )
    subprocess.run([*cli, "rebuild-tallies"], env=env, cwd=ROOT, check=True)


def run_tree(tree: Path, dsn: str, rounds: int) -> dict[str, float]:
    """This script's measurements of the movievote package in `tree`, in a new process."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", "--rounds", str(rounds)],
        env={**os.environ, "DATABASE_URL": dsn, "PYTHONPATH": str(tree)},
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_lang")
    p.add_argument("--baseline-ref", help="a git revision to measure beside this tree")
    p.add_argument("--rounds", type=int, default=5, help="rounds per process (median)")
    p.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.rounds))))
        return
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import baseline_tree

    prepare(args.dsn)
    results: dict[str, list[dict[str, float]]] = {"this tree": []}
    with baseline_tree(args.baseline_ref) if args.baseline_ref else nullcontext() as old:
        trees = {"this tree": ROOT} | ({f"at {args.baseline_ref}": old} if old else {})
        for _ in range(2):  # alternate, so the machine's drift hits both alike
            for name, tree in trees.items():
                results.setdefault(name, []).append(run_tree(tree, args.dsn, args.rounds))
    for name, runs in results.items():
        print(f"{name}:")
        for figure in runs[0]:
            values = ", ".join(f"{run[figure]:.3f}" for run in runs)
            print(f"  {figure:<40} {values}")


if __name__ == "__main__":
    main()
