"""HTTP benchmark of the JSON API against the production server; prints figures, asserts nothing.

    python -m benchmarks.bench_api [--dsn postgresql://postgres@127.0.0.1:5432/movievote_bench_api]
                                [--clients 32] [--seconds 10] [--rounds 3] [--workers 1]
                                [--redis-url URL] [--no-plain] [--logins-per-second 10]
                                [--baseline-ref REV] [--py-spy PREFIX]
    python -m benchmarks.bench_api --dev [--clients 32] [--seconds 10]

Starts `reflex run --env prod` (one port, granian, GRANIAN_WORKERS workers) on a fresh
PostgreSQL database with the catalogue and `--users` users, then drives it over real HTTP with
a lean load generator (persistent `http.client` connections in threads; httpx is too slow to
measure a server with, see DATABASE_NOTES.md):
  1. POST /api/vote/{id}, each request a different user's token, `--clients` at once;
  2. the same against the plain FastAPI + psycopg app of the same vote contract
     (`benchmarks/plain_vote_app.py`, uvicorn, as many workers), on the same database: the
     yardstick of issue 16, whose ratio is printed;
  3. the app's votes again while 10 logins per second (POST /api/token, real bcrypt) run
     alongside (`--logins-per-second 0`: not run);
  4. GET /api/ranking (the cached ranking).
Runs 1-3 alternate `--rounds` times; medians are printed. The client's own CPU use is printed next to
every figure: on 2 cores the client, the server and PostgreSQL share the machine.
With `--py-spy PREFIX`, one more vote round of the app (and of the baseline revision and the
plain app), not counted in the figures, is recorded by py-spy (`PREFIX-app.txt`,
`PREFIX-baseline.txt`, `PREFIX-plain.txt`, collapsed stacks, every thread) and summarised
(`benchmarks/flame_summary.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from benchmarks.common import PASSWORD as LOGIN_PASSWORD
from benchmarks.common import (
    baseline_tree,
    dev_server,
    pct,
    plain_vote_server,
    prepare_database,
    production_server,
    server_pids,
    tokens_for,
)

USERS = 400_000  # a vote round at ~2,000/s spends 20,000 members
DEV_USERS = 2_000
ERROR = 0  # the status recorded for a request whose connection broke
_T = TypeVar("_T")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_api")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=3, help="alternations of runs 1 and 3")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--redis-url", default="", help="REFLEX_REDIS_URL for the server (many workers)")
    p.add_argument("--users", type=int, default=USERS)
    p.add_argument("--logins-per-second", type=float, default=10.0, help="0: no rounds with logins")
    p.add_argument(
        "--no-plain",
        action="store_true",
        help="do not serve the plain FastAPI + psycopg app beside the app (no ratio)",
    )
    p.add_argument("--py-spy", default="", help="record an extra round with py-spy to PREFIX-*.txt")
    p.add_argument(
        "--baseline-ref",
        default="",
        help="also serve this git revision (same database) and alternate its vote runs with "
        "this tree's: the figures of a change before and after, in one run",
    )
    p.add_argument(
        "--dev",
        action="store_true",
        help="instead: one run against the README's development server (scripts/run.sh, SQLite)",
    )
    return p.parse_args()


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()

    def add(self, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


def drive(
    base: str, clients: int, seconds: float, make_request, rate: float = 0.0
) -> tuple[Recorder, float, float]:
    """`clients` threads, each with one keep-alive connection, until time is up: each sends its
    next request when the last is answered (closed loop: as fast as the server goes). With a
    `rate`, open loop: together they send `rate` requests a second on a fixed schedule, and a
    request's latency counts from when it was due, so an answer that comes late delays the next
    request and is counted in full (no coordinated omission)."""
    parsed = urllib.parse.urlsplit(base)
    recorder = Recorder()
    deadline = time.monotonic() + seconds
    interval = clients / rate if rate else 0.0

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        due = time.perf_counter() + n * interval / clients
        while time.monotonic() < deadline:
            method, path, body, headers = make_request()
            if interval:
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                started, due = due, due + interval
            else:
                started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = ERROR  # the connection broke mid-request: counted, then a new one
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            recorder.add(time.perf_counter() - started, status)
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    cpu0, t0 = cpu(), time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return recorder, elapsed, (cpu() - cpu0) / elapsed * 100


def main_dev(args: argparse.Namespace) -> None:
    """The README's run command under load: sign-ups, then votes, from `--clients` clients at
    once; prints the statuses (a broken connection is status 0) and the backend's restarts."""
    with dev_server(log_path="/tmp/movievote-bench-api-dev.log") as (base, restarts, database):
        emails = iter(range(1, DEV_USERS + 1))
        lock = threading.Lock()

        def signup_request():
            with lock:
                n = next(emails, None)
            if n is None:
                n = random.randint(1, DEV_USERS)  # the rest answer 409: the set-up is done
            body = json.dumps(
                {"email": f"dev{n}@example.com", "password": LOGIN_PASSWORD, "display_name": "D"}
            )
            return "POST", "/api/signup", body, {"Content-Type": "application/json"}

        print(
            f"server up: scripts/run.sh (development, SQLite), {args.clients} clients", flush=True
        )
        signups = Recorder()
        while len(signups.latencies) < DEV_USERS:
            rec, _, _ = drive(base, args.clients, 2, signup_request)
            signups.latencies += rec.latencies
            for status, n in rec.statuses.items():
                signups.statuses[status] = signups.statuses.get(status, 0) + n
        print(f"sign-ups: {dict(sorted(signups.statuses.items()))}", flush=True)
        with sqlite3.connect(database) as conn:  # a session per member, as a log-in opens
            conn.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) SELECT 'bench-' || id,"
                " id, datetime('now'), datetime('now', '+1 day') FROM users"
            )
        tokens = iter(tokens_for(DEV_USERS))

        def vote_request():
            with lock:
                token = next(tokens, None)
            if token is None:
                return "GET", "/api/ranking", None, {}
            return (
                "POST",
                f"/api/vote/{random.randint(1, 443)}",
                None,
                {"Authorization": f"Bearer {token}"},
            )

        rec, elapsed, client = drive(base, args.clients, args.seconds, vote_request)
        print(
            f"votes of the {DEV_USERS:,} members, then ranking reads, for {elapsed:.0f} s: "
            f"statuses {dict(sorted(rec.statuses.items()))}, p50 {pct(rec.latencies, 0.5):.1f} ms, "
            f"p99 {pct(rec.latencies, 0.99):.1f} ms (client CPU {client:.0f}%)"
        )
        print(f"backend restarts during the run: {restarts()}")


def main() -> None:
    args = parse()
    if args.dev:
        main_dev(args)
        return
    os.environ["DATABASE_URL"] = args.dsn
    print(f"preparing {args.dsn} ...", flush=True)
    prepare_database(args.dsn, args.users)
    all_tokens = tokens_for(args.users)
    tokens = iter(all_tokens)
    spent = threading.Event()
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(
            production_server(
                args.dsn,
                workers=args.workers,
                redis_url=args.redis_url,
                log_path="/tmp/movievote-bench-api-server.log",
            )
        )
        baseline = ""
        if args.baseline_ref:
            tree = stack.enter_context(baseline_tree(args.baseline_ref))
            baseline = stack.enter_context(
                production_server(
                    args.dsn,
                    workers=args.workers,
                    redis_url=args.redis_url,
                    log_path="/tmp/movievote-bench-api-baseline.log",
                    project=tree,
                )
            )
        plain_base = ""
        if not args.no_plain:
            plain_base = stack.enter_context(
                plain_vote_server(
                    args.dsn, workers=args.workers, log_path="/tmp/movievote-bench-api-plain.log"
                )
            )
        movies = list(range(1, 444))
        lock = threading.Lock()

        def vote_request():
            nonlocal tokens
            with lock:
                token = next(tokens, None)
                if token is None:  # every member voted: the rest are 409s, counted apart
                    spent.set()
                    tokens = itertools.cycle(all_tokens)
                    token = next(tokens)
            return (
                "POST",
                f"/api/vote/{random.choice(movies)}",
                None,
                {"Authorization": f"Bearer {token}"},
            )

        def ranking_request():
            return "GET", "/api/ranking", None, {}

        print(
            f"server up: reflex run --env prod, {args.workers} worker(s), {args.clients} clients, "
            f"{args.seconds:.0f} s per run"
            + (
                f"; plain FastAPI + psycopg app on uvicorn, {args.workers} worker(s)"
                if plain_base
                else ""
            )
            + "\n",
            flush=True,
        )
        drive(base, args.clients, 3, vote_request)  # warm-up
        for other in (baseline, plain_base):
            if other:
                drive(other, args.clients, 3, vote_request)
        plain, with_logins, logins, before, yardstick = [], [], [], [], []
        before_with_logins, before_logins = [], []

        def votes_with_logins(target: str):
            """A vote run with `--logins-per-second` logins alongside: (the run, the logins)."""
            return run_with_logins(
                target,
                args.logins_per_second,
                lambda: drive(target, args.clients, args.seconds, vote_request),
            )

        for n in range(args.rounds):
            plain.append(drive(base, args.clients, args.seconds, vote_request))
            if baseline:
                before.append(drive(baseline, args.clients, args.seconds, vote_request))
            if plain_base:
                yardstick.append(drive(plain_base, args.clients, args.seconds, vote_request))
                print(
                    f"  round {n + 1}: app {rate_of(plain[-1]):,.0f} votes/s, "
                    f"plain {rate_of(yardstick[-1]):,.0f} votes/s",
                    flush=True,
                )
            if not args.logins_per_second:
                continue
            run, login_rec = votes_with_logins(base)
            with_logins.append(run)
            logins.append(login_rec)
            if baseline:
                run, login_rec = votes_with_logins(baseline)
                before_with_logins.append(run)
                before_logins.append(login_rec)
        ranking = drive(base, args.clients, args.seconds / 2, ranking_request)
        if args.py_spy:
            profile(args, base, vote_request, "app")
            if baseline:
                profile(args, baseline, vote_request, "baseline")
            if plain_base:
                profile(args, plain_base, vote_request, "plain")

        def summary(name: str, runs) -> float:
            rates = [rate_of(run) for run in runs]
            p50 = statistics.median(pct(r.latencies, 0.50) for r, _, _ in runs)
            p99 = statistics.median(pct(r.latencies, 0.99) for r, _, _ in runs)
            client = statistics.median(c for _, _, c in runs)
            other: dict[int, int] = {}
            for r, _, _ in runs:
                for status, n in r.statuses.items():
                    if status != 201:
                        other[status] = other.get(status, 0) + n
            print(
                f"{name:<34} {statistics.median(rates):>7,.0f} votes/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
                f"   (client CPU {client:.0f}%){'   other statuses ' + str(other) if other else ''}"
            )
            return p99

        print()
        p99_plain = summary("POST /api/vote", plain)
        if baseline:
            summary(f"POST /api/vote at {args.baseline_ref}", before)
            now_rate = statistics.median(rate_of(run) for run in plain)
            old_rate = statistics.median(rate_of(run) for run in before)
            print(f"{'  this tree / the baseline':<34} {now_rate / old_rate:>7.2f}x")
        if plain_base:
            summary("POST /api/vote, plain FastAPI+psycopg", yardstick)
            now_rate = statistics.median(rate_of(run) for run in plain)
            plain_rate = statistics.median(rate_of(run) for run in yardstick)
            rounds = ", ".join(
                f"{rate_of(a) / rate_of(b):.2f}" for a, b in zip(plain, yardstick, strict=True)
            )
            print(
                f"{'  the app / the plain app':<34} {now_rate / plain_rate:>7.2f}x"
                f"   (round by round: {rounds}; target >= 1.0, aim 1.3)"
            )

        def login_summary(name: str, p99_votes: float, runs, recorders) -> None:
            p99_logins = summary(f"{name} + {args.logins_per_second:.0f} logins/s", runs)
            latencies = [x for r in recorders for x in r.latencies]
            count = sum(n for r in recorders for status, n in r.statuses.items() if status == 200)
            statuses: dict[int, int] = {}
            for r in recorders:
                for status, n in r.statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
            statuses = dict(sorted(statuses.items()))
            print(
                f"{'  the logins alongside':<34} {count / (args.rounds * args.seconds):>7,.1f} logins/s  "
                f"p50 {pct(latencies, 0.5):6.1f} ms   p99 {pct(latencies, 0.99):6.1f} ms   "
                f"statuses {statuses}   (target >= 10/s, p99 < 1,500 ms)"
            )
            print(
                f"{'  vote p99 change with logins':<34} {(p99_logins / p99_votes - 1) * 100:+7.0f}%   (target < +30%)"
            )

        if logins:
            login_summary("POST /api/vote", p99_plain, with_logins, logins)
        if before_logins:
            p99_before = statistics.median(pct(r.latencies, 0.99) for r, _, _ in before)
            login_summary(f"at {args.baseline_ref}", p99_before, before_with_logins, before_logins)
        rec, elapsed, client = ranking
        print(
            f"{'GET /api/ranking (cached)':<34} {len(rec.latencies) / elapsed:>7,.0f} req/s     p50 "
            f"{pct(rec.latencies, 0.5):6.1f} ms   p99 {pct(rec.latencies, 0.99):6.1f} ms   (client CPU {client:.0f}%)"
            f"   statuses {rec.statuses}"
        )
        if spent.is_set():
            print(f"note: all {args.users:,} members had voted; later votes were 409s (--users)")


def _log_in_paced(target: str, recorder: Recorder, rate: float, stop: threading.Event) -> None:
    """Log a bench member in (POST /api/token, real bcrypt) `rate` times a second on one
    keep-alive connection until `stop`, recording each answer's latency and status."""
    conn = http.client.HTTPConnection("127.0.0.1", int(target.rsplit(":", 1)[1]), timeout=30)
    interval = 1 / rate
    next_at = time.monotonic()
    while not stop.is_set():
        who = random.randint(1, 1000)
        body = urllib.parse.urlencode(
            {"username": f"bench{who}@example.com", "password": LOGIN_PASSWORD}
        )
        started = time.perf_counter()
        conn.request(
            "POST",
            "/api/token",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        response.read()
        recorder.add(time.perf_counter() - started, response.status)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def run_with_logins(target: str, per_second: float, run: Callable[[], _T]) -> tuple[_T, Recorder]:
    """`run()` (a vote run) while `per_second` log-ins a second go to `target` alongside:
    (what it returned, the log-ins' recorder). Five threads each pace themselves to their
    share of the rate: enough of them that a slow log-in (bcrypt) never holds the rate back."""
    recorder, stop = Recorder(), threading.Event()
    threads = [
        threading.Thread(target=_log_in_paced, args=(target, recorder, per_second / 5, stop))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    try:
        return run(), recorder
    finally:
        stop.set()
        for t in threads:
            t.join()


def rate_of(run) -> float:
    """Votes stored per second (201s) in one run of `drive`."""
    recorder, elapsed, _ = run
    return recorder.statuses.get(201, 0) / elapsed


def profile(args: argparse.Namespace, base: str, make_request, name: str) -> None:
    """One more vote round (not counted in the figures), its server recorded by py-spy: every
    process of it, on-CPU samples only (no --idle), without pausing it (--nonblocking)."""
    pids = server_pids(base) if name != "plain" else []
    if not pids:  # uvicorn: its workers carry the app's module on their command line
        port = base.rsplit(":", 1)[1].encode()
        pids = [
            int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and port in _cmdline(p)
        ]
    root = min(pids)
    out = f"{args.py_spy}-{name}.txt"
    spy = str(Path(sys.executable).parent / "py-spy")
    seconds = max(3, int(args.seconds))
    recorder = subprocess.Popen(
        [spy, "record", "--pid", str(root), "--subprocesses", "--threads", "--nonblocking", "--rate", "100",
         "--duration", str(seconds), "--format", "raw", "--output", out],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(1)
    run = drive(base, args.clients, seconds, make_request)
    recorder.wait()
    print(f"\npy-spy, {name} ({rate_of(run):,.0f} votes/s while recorded): {out}", flush=True)
    subprocess.run([sys.executable, "-m", "benchmarks.flame_summary", out], check=False)


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


if __name__ == "__main__":
    main()
