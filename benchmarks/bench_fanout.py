"""Fan-out: how many open live pages one server worker keeps current, with light clients.

    python -m benchmarks.bench_fanout [--pages 500,1000,2000] [--votes 20] [--interval 1]
                                      [--workers 1] [--redis-url URL] [--client-procs 2]
                                      [--vote-seconds 8] [--no-restart]
    python -m benchmarks.bench_fanout --pages 4000 --workers 2 --redis-url redis://127.0.0.1:6379/12

Starts `reflex run --env prod` on a fresh PostgreSQL database, captures what a real
/leaderboard page sends (one Chromium page, its websocket frames over the DevTools protocol),
then opens pages that replay it: `benchmarks/lightpage.py`, a Socket.IO client on a hand-written
websocket (a few KB and microseconds a page; a browser renderer costs ~9 ms of main thread per
update and ~100 MB). Each page connects, hydrates, loads, links, answers Engine.IO pings and
sends the page's link tick every 60 s, exactly as the page's JavaScript does. The pages run in
`--client-procs` processes (their CPU is printed: on 2 cores they share the machine with the
server and PostgreSQL).

For each N in `--pages` (pages are added to those already open):
  - the time to open them (each until it holds the ranking);
  - `--votes` votes through POST /api/vote, one every `--interval` s (plus 2 warm-up votes),
    each's latency: from its 201 until the LAST page holds a ranking that includes it (p50,
    p95, max), and per page;
  - the server's CPU (all its processes) per update and per page;
  - memory per page: (server RSS with N pages - RSS with none) / N, and with --redis-url
    Redis `used_memory` the same way;
  - votes/s at 32 clients for `--vote-seconds` (every vote changes the ranking every page
    shows), next to the same run with no page open (before the first N).
Then a reconnect storm at the largest N: the server is stopped and started again on its port;
the time from the new server answering until every page is live again (and from the stop), the
pages' failed attempts and errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import resource
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import psutil

from benchmarks.bench_api import drive
from benchmarks.common import (
    ProductionServer,
    pct,
    prepare_database,
    server_cpu_seconds,
    server_pids,
    tokens_for,
)
from benchmarks.lightpage import Script, serve_pages
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

MOVIES = 443  # the bundled catalogue


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_fanout")
    p.add_argument("--pages", default="500,1000,2000", help="page counts, ascending")
    p.add_argument("--votes", type=int, default=20)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--redis-url", default="")
    p.add_argument("--client-procs", type=int, default=2)
    p.add_argument("--vote-seconds", type=float, default=8.0)
    p.add_argument("--vote-clients", type=int, default=32)
    p.add_argument("--tick-seconds", type=float, default=60.0, help="the page's link timer")
    p.add_argument(
        "--open-concurrency", type=int, default=50, help="handshakes at once per process"
    )
    p.add_argument("--no-restart", action="store_true", help="skip the reconnect storm")
    # every vote is a member's one vote: 6 rate runs of 8 s at up to ~3,000 votes/s, and the rest
    p.add_argument("--users", type=int, default=200_000)
    return p.parse_args()


def capture_script(base: str) -> Script:
    """Open /leaderboard in Chromium and keep what it sent over its websocket: the CONNECT
    packet carrying the hydrate, and the first link tick."""
    from playwright.sync_api import sync_playwright

    sent: list[str] = []
    protocol: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.on("Network.webSocketFrameSent", lambda e: sent.append(e["response"]["payloadData"]))
        cdp.on(
            "Network.webSocketWillSendHandshakeRequest",
            lambda e: protocol.append(e["request"]["headers"].get("Sec-WebSocket-Protocol", "")),
        )
        cdp.send("Network.enable")
        page.goto("/leaderboard")
        page.wait_for_selector("#ranking-total, #no-votes", timeout=60_000)
        page.wait_for_timeout(500)  # let the frame events arrive
        browser.close()
    connect = next(f for f in sent if f.startswith("40"))
    tick = next(f for f in sent if f.startswith("42") and ".link" in f)
    return Script(connect=connect, tick=tick, subprotocol=protocol[0])


class Clients:
    """`procs` processes of light pages; pages are spread over them evenly."""

    def __init__(self, base: str, script: Script, procs: int, tick_seconds: float) -> None:
        parsed = urllib.parse.urlsplit(base)
        context = multiprocessing.get_context("fork")
        self.conns, self.procs = [], []
        for _ in range(procs):
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=serve_pages,
                args=(theirs, parsed.hostname, parsed.port, script, tick_seconds),
                daemon=True,
            )
            proc.start()
            self.conns.append(ours)
            self.procs.append(proc)

    def ask(self, command: str, argument: Any = None) -> list[Any]:
        for conn in self.conns:
            conn.send((command, argument))
        return [conn.recv() for conn in self.conns]

    def open(self, count: int, concurrency: int) -> float:
        share = [count // len(self.conns)] * len(self.conns)
        share[0] += count - sum(share)
        for conn, n in zip(self.conns, share, strict=True):
            conn.send(("open", (n, concurrency)))
        return max(conn.recv() for conn in self.conns)

    def status(self) -> dict[str, Any]:
        replies = self.ask("status")
        total: dict[str, Any] = {"errors": {}}
        for reply in replies:
            for key, value in reply.items():
                if key == "errors":
                    for kind, n in value.items():
                        total["errors"][kind] = total["errors"].get(kind, 0) + n
                else:
                    total[key] = total.get(key, 0) + value
        return total

    def seen(self, since: int) -> list[dict[int, float]]:
        return [page for reply in self.ask("seen", since) for page in reply]

    def live_at(self) -> list[float]:
        return [t for reply in self.ask("live_at") for t in reply]

    def close(self) -> None:
        self.ask("close")
        for proc in self.procs:
            proc.join(timeout=5)


def rss_mb(base: str) -> float:
    total = 0
    for pid in server_pids(base):
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def redis_used_mb(url: str) -> float:
    if not url:
        return 0.0
    import redis

    return int(redis.Redis.from_url(url).info("memory")["used_memory"]) / 2**20


class Voter:
    """Votes over one keep-alive connection, each with a user's token not used before."""

    def __init__(self, base: str, tokens: list[str]) -> None:
        self.parsed = urllib.parse.urlsplit(base)
        self.tokens = tokens
        self.next = 0
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.parsed.hostname, self.parsed.port, timeout=30)

    def take(self) -> str:
        token = self.tokens[self.next]
        self.next += 1
        return token

    def vote(self) -> float:
        """Cast one vote; the time (epoch s) its 201 came back."""
        token = self.take()
        for attempt in range(2):
            try:
                self.conn.request(
                    "POST",
                    f"/api/vote/{self.next % 10 + 1}",
                    headers={"Authorization": f"Bearer {token}"},
                )
                response = self.conn.getresponse()
                response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = self._connect()
                if attempt:
                    raise
        if response.status != 201:
            raise SystemExit(f"vote: HTTP {response.status}")
        return time.time()

    def rate(self, clients: int, seconds: float) -> Rate:
        """Votes at `clients` at once for `seconds`: the rate, its latency, and the server's
        CPU per vote (all its processes: on a shared machine a steadier figure than the rate,
        which moves with what else runs)."""
        import threading

        lock = threading.Lock()

        def request() -> tuple[str, str, None, dict[str, str]]:
            with lock:
                token = self.take()
            movie = hash(token) % MOVIES + 1
            return "POST", f"/api/vote/{movie}", None, {"Authorization": f"Bearer {token}"}

        base = f"http://{self.parsed.hostname}:{self.parsed.port}"
        cpu = server_cpu_seconds(base)
        recorder, elapsed, _ = drive(base, clients, seconds, request)
        time.sleep(1.5)  # the last folds and pushes
        cpu = server_cpu_seconds(base) - cpu
        ok = recorder.statuses.get(201, 0)
        return Rate(
            ok / elapsed,
            pct(recorder.latencies, 0.5),
            pct(recorder.latencies, 0.99),
            recorder.statuses,
            cpu / max(ok, 1) * 1000,
        )


@dataclass
class Rate:
    per_second: float
    p50: float  # ms
    p99: float  # ms
    statuses: dict[int, int]
    cpu_ms: float  # server CPU per vote

    def __str__(self) -> str:
        return (
            f"{self.per_second:,.0f} votes/s (p50 {self.p50:.0f} ms, p99 {self.p99:.0f} ms; "
            f"server CPU {self.cpu_ms:.2f} ms per vote)"
        )


def current_total(base: str) -> int:
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    conn.request("GET", "/api/ranking?limit=1")
    body = json.loads(conn.getresponse().read())
    return int(body.get("total_votes", 0))


def measure_latency(
    clients: Clients,
    voter: Voter,
    base: str,
    votes: int,
    interval: float,
    warmup: int = 2,
    idle_seconds: float = 5.0,
) -> dict[str, Any]:
    """Cast votes one at a time; per vote, the time from its 201 until the last page held a
    ranking including it. The server's CPU per update is net of what the open pages cost it
    with no vote (measured for `idle_seconds` first)."""
    for _ in range(warmup):
        voter.vote()
        time.sleep(interval)
    first = current_total(base) + 1
    idle0, idle_started = server_cpu_seconds(base), time.monotonic()
    time.sleep(idle_seconds)  # the pages' own traffic: pings, link ticks
    idle = (server_cpu_seconds(base) - idle0) / (time.monotonic() - idle_started)
    cpu0, started = server_cpu_seconds(base), time.monotonic()
    answered = []
    for _ in range(votes):
        started = time.monotonic()
        answered.append(voter.vote())
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    time.sleep(2)
    cpu = server_cpu_seconds(base) - cpu0 - idle * (time.monotonic() - started)
    seen = clients.seen(first)
    per_vote, per_page, missing = [], [], 0
    for n, at in enumerate(answered, start=first):
        shown = []
        for page in seen:
            times = [t for total, t in page.items() if total >= n]
            if times:
                shown.append(max(0.0, min(times) - at))
            else:
                missing += 1
        per_page.extend(shown)
        if len(shown) == len(seen):
            per_vote.append(max(shown))
    return {
        "per_vote": per_vote,
        "per_page": per_page,
        "missing": missing,
        "votes": votes,
        "cpu_per_update": cpu / votes,
        "idle_cpu": idle,
    }


def storm(server: ProductionServer, clients: Clients, pages: int) -> None:
    """Stop the server under `pages` open pages and start it again on its port (`reflex run
    --env prod` builds the pages again: most of its start); time, from the stop, until the
    first page is live again (the server serves) and until every page is."""
    before = clients.status()
    cpu = server_cpu_seconds(server.base)
    stopped = time.time()
    server.stop()
    server.start()
    answered = time.time()  # /api/health answered (asked once a second, behind the storm)
    deadline = time.monotonic() + 120
    while True:
        live_at = clients.live_at()
        live = sorted(t - stopped for t in live_at if t >= stopped)
        if len(live) == len(live_at) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    after = clients.status()
    first, last = (live[0], live[-1]) if live else (float("nan"), float("nan"))
    print(
        f"reconnect storm, {pages:,} pages: the server stopped and started again (its health "
        f"check answered {answered - stopped:.1f} s after the stop); from the stop, the first "
        f"page live again at {first:.1f} s, the median at {live[len(live) // 2]:.1f} s, the "
        f"last at {last:.1f} s: {len(live):,} of {len(live_at):,} live again, all within "
        f"{last - first:.1f} s of the first"
    )
    print(
        f"  during it: {after['failed_attempts'] - before['failed_attempts']:,} refused or "
        f"dropped attempts (the server was away), {after['drops'] - before['drops']:,} "
        f"connections dropped, errors {after['errors']}; the new server's CPU so far "
        f"{server_cpu_seconds(server.base):.1f} s (the old one's during the run: {cpu:.1f} s)"
    )


def settle(base: str, *, quiet: float = 0.15, longest: float = 90.0) -> None:
    """Wait until the server uses less than `quiet` of a core for 2 s (at most `longest`)."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        cpu = server_cpu_seconds(base)
        time.sleep(2)
        if server_cpu_seconds(base) - cpu < quiet * 2:
            return


def main() -> None:
    args = parse()
    counts = [int(n) for n in args.pages.split(",")]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.environ["DATABASE_URL"] = args.dsn
    print(f"preparing {args.dsn} ...", flush=True)
    prepare_database(args.dsn, args.users)
    tokens = tokens_for(args.users)
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    server = ProductionServer(
        args.dsn,
        workers=args.workers,
        redis_url=args.redis_url,
        log_path="/tmp/movievote-bench-fanout-server.log",
    )
    server.start()
    clients: Clients | None = None
    try:
        base = server.base
        script = capture_script(base)
        print(
            f"reflex run --env prod, {args.workers} worker(s){' + Redis' if args.redis_url else ''}; "
            f"captured from Chromium: CONNECT {len(script.connect)} chars, link tick "
            f"{len(script.tick)} chars; load average {os.getloadavg()[0]:.2f}\n",
            flush=True,
        )
        voter = Voter(base, tokens)
        voter.rate(args.vote_clients, 2)  # warm-up
        time.sleep(1.5)
        idle_rss, idle_redis = rss_mb(base), redis_used_mb(args.redis_url)
        none = voter.rate(args.vote_clients, args.vote_seconds)
        print(
            f"no page open: server RSS {idle_rss:.0f} MB"
            + (f", Redis {idle_redis:.1f} MB" if args.redis_url else "")
            + f"; at {args.vote_clients} clients {none}\n",
            flush=True,
        )
        clients = Clients(base, script, args.client_procs, args.tick_seconds)
        opened = 0
        rates: list[tuple[int, Rate]] = []
        for n in counts:
            took = clients.open(n - opened, args.open_concurrency)
            opened = n
            time.sleep(2)
            status = clients.status()
            rss, used = rss_mb(base), redis_used_mb(args.redis_url)
            client_cpu0 = status["cpu"]
            result = measure_latency(clients, voter, base, args.votes, args.interval)
            client_cpu = clients.status()["cpu"] - client_cpu0
            with_pages = voter.rate(args.vote_clients, args.vote_seconds)
            per_vote = result["per_vote"]
            print(f"== {n:,} pages ({status['live']:,} live) opened in {took:.1f} s")
            print(
                f"  vote 201 -> last page holds it: p50 {pct(per_vote, 0.5):.0f} ms, "
                f"p95 {pct(per_vote, 0.95):.0f} ms, max {pct(per_vote, 1.0):.0f} ms "
                f"({len(per_vote)} of {result['votes']} votes reached every page; each page: "
                f"p50 {pct(result['per_page'], 0.5):.0f} ms, p95 {pct(result['per_page'], 0.95):.0f} ms, "
                f"{result['missing']} page-votes missed)"
            )
            print(
                f"  server CPU per update {result['cpu_per_update'] * 1000:.1f} ms, per page "
                f"{result['cpu_per_update'] / n * 1e6:.1f} us (net of the open pages' own "
                f"{result['idle_cpu'] * 100:.1f}% of a core: pings, link ticks); the clients' CPU "
                f"{client_cpu / (args.votes * args.interval + 7) * 100:.1f}% of a core"
            )
            print(
                f"  memory per page: server {(rss - idle_rss) * 1024 / n:.1f} KB "
                f"(RSS {rss:.0f} MB)"
                + (
                    f", Redis {(used - idle_redis) * 1024 / n:.1f} KB ({used:.1f} MB)"
                    if args.redis_url
                    else ""
                )
            )
            rates.append((n, with_pages))
            print(
                f"  with the pages open: {with_pages}; {with_pages.per_second / none.per_second:.0%}"
                f" of the rate and {none.cpu_ms / with_pages.cpu_ms:.0%} of the capacity (CPU per"
                f" vote) with none before; statuses {with_pages.statuses}"
            )
            status = clients.status()
            print(
                f"  pages: {status['live']:,} live, {status['drops']} dropped, "
                f"{status['failed_attempts']} failed attempts, errors {status['errors']}; "
                f"load average {os.getloadavg()[0]:.2f}\n",
                flush=True,
            )
        if not args.no_restart:
            storm(server, clients, opened)
        clients.close()
        clients = None
        settle(base)  # the closed pages' disconnects are handled (with Redis, seconds of work)
        after = voter.rate(args.vote_clients, args.vote_seconds)
        rate = (none.per_second + after.per_second) / 2
        cpu = (none.cpu_ms + after.cpu_ms) / 2
        print(
            f"\nno page open again: {after}\n"
            f"with none open, before and after: {rate:,.0f} votes/s, {cpu:.2f} ms of CPU per vote"
        )
        for n, with_pages in rates:
            print(
                f"  with {n:,} pages open: {with_pages.per_second:,.0f} votes/s = "
                f"{with_pages.per_second / rate:.0%} of the rate; CPU per vote "
                f"{with_pages.cpu_ms:.2f} ms = {cpu / with_pages.cpu_ms:.0%} of the capacity"
            )
        print(f"load average {os.getloadavg()[0]:.2f}")
    finally:
        if clients is not None:
            clients.close()
        server.stop()


if __name__ == "__main__":
    main()
