"""Log-ins under vote load, for several configurations of this tree side by side.

    python -m benchmarks.bench_logins [--dsn postgresql://postgres@127.0.0.1:5432/movievote_bench_logins]
        [--workers 2] [--redis-url redis://127.0.0.1:6379/9] [--rounds 2] [--seconds 10]
        [--config NAME:VAR=VALUE,VAR=VALUE ...]

Starts one production server (`reflex run --env prod`, `--workers` workers; each on its own
Redis database, from `--redis-url`'s on) per `--config`, with those environment variables
(e.g. `normal:PASSWORD_HASH_NICE=0` and `idle:PASSWORD_HASH_NICE=-1`), on one fresh database,
and drives them in turn, round after round: 32 clients voting for `--seconds` (as fast as the
server answers, or `--vote-rate` votes a second on a fixed schedule: a month's opening is
people arriving, not 32 programs voting in a loop), then the same
with 10 log-ins per second alongside (5 threads, each pacing itself to 2 a second, as
bench_api does). Prints each run, then per configuration the medians: votes/s and p99
without and with the log-ins, and the log-ins' rate and latency.

With `--control-ms MS`, each round also drives the first configuration's server with no log-in
but a process beside it burning MS ms of CPU ten times a second (at nice 5, as the password
threads): what the same CPU, taken from the same saturated cores by anything at all, does to
the votes. Set MS to a log-in's CPU (the server's CPU per log-in) to tell what the log-in
path costs the votes beyond its CPU from what any work of that size would.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial

from benchmarks.bench_api import drive, rate_of, run_with_logins
from benchmarks.common import pct, prepare_database, production_server, tokens_for

LOGINS_PER_SECOND = 10.0
BURNER = """
import os, sys, time
os.nice(5)
each, rate = float(sys.argv[1]) / 1000, float(sys.argv[2])
next_at = time.monotonic()
while True:
    started = time.thread_time()
    while time.thread_time() - started < each:
        pass
    next_at += 1 / rate
    time.sleep(max(0.0, next_at - time.monotonic()))
"""


@contextlib.contextmanager
def burning(ms: float, per_second: float) -> Iterator[None]:
    """A process burning `ms` ms of CPU `per_second` times a second while the block runs."""
    burner = subprocess.Popen([sys.executable, "-c", BURNER, str(ms), str(per_second)])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_logins")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--users", type=int, default=300_000)
    p.add_argument("--control-ms", type=float, default=0.0, help="see the description")
    p.add_argument(
        "--vote-rate",
        type=float,
        default=0.0,
        help="votes a second, open loop (0: closed loop, as fast as the server goes)",
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        help="NAME:VAR=VALUE,VAR=VALUE (repeat for each configuration)",
    )
    return p.parse_args()


def main() -> None:
    args = parse()
    configs: dict[str, dict[str, str]] = {}
    for spec in args.config or ["default:"]:
        name, _, assignments = spec.partition(":")
        configs[name] = dict(a.split("=", 1) for a in assignments.split(",") if a)
    os.environ["DATABASE_URL"] = args.dsn
    print(f"preparing {args.dsn} ...", flush=True)
    prepare_database(args.dsn, args.users)
    tokens = iter(tokens_for(args.users))
    lock = threading.Lock()

    def vote_request():
        with lock:
            token = next(tokens)
        return (
            "POST",
            f"/api/vote/{random.randint(1, 443)}",
            None,
            {"Authorization": f"Bearer {token}"},
        )

    base_redis, _, first_db = args.redis_url.rpartition("/")
    results: dict[str, dict[str, list]] = {name: {"votes": [], "logins": []} for name in configs}
    controls: list = []
    with contextlib.ExitStack() as stack:
        servers = {}
        for n, (name, env) in enumerate(configs.items()):
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                servers[name] = stack.enter_context(
                    production_server(
                        args.dsn,
                        workers=args.workers,
                        redis_url=f"{base_redis}/{int(first_db or 0) + n}",
                        log_path=f"/tmp/movievote-bench-logins-{name}.log",
                    )
                )
            finally:
                os.environ.clear()
                os.environ.update(saved)
            drive(servers[name], 32, 3, vote_request)  # warm-up
        print(f"servers up: {', '.join(f'{k} {v}' for k, v in configs.items())}\n", flush=True)
        for n in range(args.rounds):
            for name, base in servers.items():
                votes = drive(base, 32, args.seconds, vote_request, args.vote_rate)
                alongside, recorder = run_with_logins(
                    base,
                    LOGINS_PER_SECOND,
                    partial(drive, base, 32, args.seconds, vote_request, args.vote_rate),
                )
                results[name]["votes"].append(votes)
                results[name]["logins"].append((alongside, recorder))
                print(
                    f"  round {n + 1} {name:<10} votes {rate_of(votes):6,.0f}/s p99 "
                    f"{pct(votes[0].latencies, 0.99):6.1f} ms | with log-ins "
                    f"{rate_of(alongside):6,.0f}/s p99 {pct(alongside[0].latencies, 0.99):6.1f} ms"
                    f" | log-ins {recorder.statuses.get(200, 0) / args.seconds:4.1f}/s p50 "
                    f"{pct(recorder.latencies, 0.5):5.0f} p99 {pct(recorder.latencies, 0.99):5.0f} ms "
                    f"{recorder.statuses}",
                    flush=True,
                )
            if args.control_ms:
                base = next(iter(servers.values()))
                with burning(args.control_ms, LOGINS_PER_SECOND):
                    control = drive(base, 32, args.seconds, vote_request, args.vote_rate)
                controls.append(control)
                print(
                    f"  round {n + 1} control    votes {rate_of(control):6,.0f}/s p99 "
                    f"{pct(control[0].latencies, 0.99):6.1f} ms with {args.control_ms:.0f} ms "
                    f"of CPU burnt {LOGINS_PER_SECOND:.0f} times a second beside the server",
                    flush=True,
                )
    print()
    for name, found in results.items():
        votes, logins = found["votes"], found["logins"]
        p99 = statistics.median(pct(r.latencies, 0.99) for r, _, _ in votes)
        p99_logins = statistics.median(pct(run[0].latencies, 0.99) for run, _ in logins)
        latencies = [x for _, rec in logins for x in rec.latencies]
        ok = sum(rec.statuses.get(200, 0) for _, rec in logins)
        print(
            f"{name:<10} votes {statistics.median(rate_of(r) for r in votes):6,.0f}/s p99 {p99:6.1f} ms"
            f" | with log-ins {statistics.median(rate_of(run) for run, _ in logins):6,.0f}/s "
            f"p99 {p99_logins:6.1f} ms ({(p99_logins / p99 - 1) * 100:+.0f}%) | log-ins "
            f"{ok / (len(logins) * args.seconds):4.1f}/s p50 {pct(latencies, 0.5):5.0f} ms "
            f"p99 {pct(latencies, 0.99):5.0f} ms"
        )
    if controls:
        first = next(iter(results.values()))
        p99 = statistics.median(pct(r.latencies, 0.99) for r, _, _ in first["votes"])
        p99_control = statistics.median(pct(r.latencies, 0.99) for r, _, _ in controls)
        print(
            f"control    votes {statistics.median(rate_of(r) for r in first['votes']):6,.0f}/s p99 "
            f"{p99:6.1f} ms | with {args.control_ms:.0f} ms of CPU burnt "
            f"{LOGINS_PER_SECOND:.0f}x a second {statistics.median(rate_of(r) for r in controls):6,.0f}/s "
            f"p99 {p99_control:6.1f} ms ({(p99_control / p99 - 1) * 100:+.0f}%)"
        )


if __name__ == "__main__":
    main()
