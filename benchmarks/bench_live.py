"""Live-update latency: from a vote's 201 until every open /leaderboard page shows it.

    python -m benchmarks.bench_live [--dsn postgresql://postgres@127.0.0.1:5432/movievote_bench_live]
                                 [--pages 50] [--votes 40] [--interval 1] [--warmup 3]
                                 [--workers 1] [--redis-url URL] [--route /leaderboard]
    python -m benchmarks.bench_live --cdp-metrics [--votes 20] [--interval 1.5]

`--cdp-metrics`: one page alone, and its main thread's work per update instead (DevTools
Performance metrics; see `main_thread_per_update`). Otherwise:

Starts `reflex run --env prod` on a fresh PostgreSQL database (catalogue and users), opens
`--pages` /leaderboard pages in one Debian Chromium (a browser context each, so each is its own
Reflex client with its own websocket), then casts votes through POST /api/vote, one every
`--interval` seconds: `--warmup` votes first, not measured (the first vote of a month mounts
the chart and table on every page, and each page's first updates run code the browser has not
compiled yet: a one-off cost, not the steady state), then `--votes` measured ones. Each page
records, with the browser's clock, when its "N votes" line first shows each total (a
MutationObserver); the script notes when each vote's 201 came back. A vote's latency is the
time from its 201 until the LAST page shows a total that includes it. Prints the median and p95
of that over the measured votes (and each one, in order), and the same per page.
To tell the server from the browser, it also prints when the websocket frame carrying each
total reached each page (Chromium's network timestamps, over the DevTools protocol): before
that, the time is the server's; after it, the page's rendering. The browser, the server and
PostgreSQL share the machine's 2 cores. In real use every page renders on its viewer's own
machine, so Chromium runs here at a lower priority (`nice -n 10`, `--browser-nice`) and the
server and PostgreSQL are not starved by 50 renderers; the renderers' work (about 9 ms of main
thread per page per update, measured) still shares the two cores.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

from benchmarks.common import (
    pct,
    prepare_database,
    production_server,
    server_cpu_seconds,
    tokens_for,
)
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

# the browser tests' Chromium and flags, and no throttling of pages nobody looks at
ARGS = [
    *CHROMIUM_ARGS,
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
WATCH = """(id) => {
  window.__seen = {};
  const record = () => {
    const el = document.getElementById(id);
    if (!el) return;
    const n = parseInt(el.textContent, 10);
    if (!Number.isNaN(n) && !(n in window.__seen)) window.__seen[n] = performance.timeOrigin + performance.now();
  };
  record();
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
TOTALS = {"/leaderboard": "ranking-total", "/display": "display-total"}  # the "N votes" line
TOTAL_IN_FRAME = re.compile(r'month_total[^"]*":(\d+)')


class Frames:
    """When (epoch ms) websocket frames carrying each month total reached one page."""

    def __init__(self, context, page) -> None:  # type: ignore[no-untyped-def]
        self.offset = 0.0  # wall clock minus the browser's monotonic network clock, in s
        self.seen: dict[int, float] = {}
        cdp = context.new_cdp_session(page)
        cdp.on("Network.webSocketWillSendHandshakeRequest", self.handshake)
        cdp.on("Network.webSocketFrameReceived", self.frame)
        cdp.send("Network.enable")

    def handshake(self, event: dict) -> None:
        self.offset = event["wallTime"] - event["timestamp"]

    def frame(self, event: dict) -> None:
        for total in TOTAL_IN_FRAME.findall(event["response"]["payloadData"]):
            self.seen.setdefault(int(total), (event["timestamp"] + self.offset) * 1000)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/movievote_bench_live")
    p.add_argument("--pages", type=int, default=50)
    p.add_argument("--votes", type=int, default=40)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument(
        "--warmup", type=int, default=3, help="votes cast first and not measured (see below)"
    )
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--redis-url", default="", help="REFLEX_REDIS_URL for the server (many workers)")
    p.add_argument(
        "--route", default="/leaderboard", choices=sorted(TOTALS), help="the page to open"
    )
    p.add_argument("--browser-nice", type=int, default=10, help="niceness of Chromium (0: none)")
    p.add_argument(
        "--cdp-metrics",
        action="store_true",
        help="instead: one page, its main thread's work per update (DevTools Performance "
        "metrics), no end-to-end latency",
    )
    return p.parse_args()


def niced_chromium(niceness: int, folder: Path) -> str:
    """A launcher that runs Chromium (and so every renderer it forks) at `niceness`."""
    if niceness == 0:
        return CHROMIUM
    launcher = folder / "chromium"
    launcher.write_text(f'#!/bin/sh\nexec nice -n {niceness} {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = parse()
    if args.cdp_metrics:
        main_thread_per_update(args)
        return
    os.environ["DATABASE_URL"] = args.dsn
    print(f"preparing {args.dsn} ...", flush=True)
    prepare_database(args.dsn, args.warmup + args.votes)
    tokens = tokens_for(args.warmup + args.votes)
    with (
        production_server(
            args.dsn,
            workers=args.workers,
            redis_url=args.redis_url,
            log_path="/tmp/movievote-bench-live-server.log",
        ) as base,
        sync_playwright() as p,
        tempfile.TemporaryDirectory() as folder,
    ):
        browser = p.chromium.launch(
            executable_path=niced_chromium(args.browser_nice, Path(folder)), args=ARGS
        )
        pages, frames = [], []
        for _ in range(args.pages):
            context = browser.new_context(base_url=base)
            page = context.new_page()
            frames.append(Frames(context, page))
            page.goto(args.route)
            page.wait_for_selector(f"#{TOTALS[args.route]}")
            page.evaluate(WATCH, TOTALS[args.route])
            pages.append(page)
        print(
            f"{args.pages} {args.route} pages open on reflex run --env prod, {args.workers} "
            f"worker(s){' + Redis' if args.redis_url else ''}, Chromium at nice {args.browser_nice}; "
            f"{args.warmup} warm-up votes, then {args.votes} measured, one every {args.interval} s\n",
            flush=True,
        )
        parsed = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        answered: list[float] = []  # epoch ms of each vote's 201
        for i, token in enumerate(tokens):
            if i == args.warmup:
                time.sleep(args.interval)
                cpu_before = server_cpu_seconds(base)
            started = time.monotonic()
            conn.request(
                "POST", f"/api/vote/{i % 10 + 1}", headers={"Authorization": f"Bearer {token}"}
            )
            response = conn.getresponse()
            response.read()
            if i >= args.warmup:
                answered.append(time.time() * 1000)
            if response.status != 201:
                raise SystemExit(f"vote {i + 1}: HTTP {response.status}")
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
        time.sleep(3)  # let the last update arrive everywhere
        server_cpu = server_cpu_seconds(base) - cpu_before
        seen = [{int(k): v for k, v in page.evaluate("window.__seen").items()} for page in pages]
        browser.close()

    print(
        f"server CPU (all its processes) while the measured votes ran: {server_cpu:.2f} s, "
        f"{server_cpu / args.votes * 1000:.0f} ms per vote ({args.pages} pages)\n"
    )
    report("vote 201 -> shown", answered, seen, args.warmup)
    report("vote 201 -> frame arrived", answered, [f.seen for f in frames], args.warmup)


WINDOW_S = 0.8  # from a vote's request: the update arrives (~15 ms) and is drawn well within it


def main_thread_per_update(args: argparse.Namespace) -> None:
    """One page alone (no other page, no profiler): for each vote, the growth of Chromium's
    Performance metrics TaskDuration (all main-thread tasks), ScriptDuration (JavaScript),
    LayoutDuration and RecalcStyleDuration over WINDOW_S from just before the vote (nothing is
    evaluated in the page meanwhile: a Playwright wait would poll with scripts of its own);
    then that the page shows the new total; and the same over a window of the same length with
    no vote (the page's own timers: what an update does not cost)."""
    from playwright.sync_api import sync_playwright

    os.environ["DATABASE_URL"] = args.dsn
    # the warm-up fills the top 10 (votes go to movies 1-10 in turn): a movie entering it
    # loads its poster once (about 2 ms more for that update), not what every update costs
    args.warmup = max(args.warmup, 10)
    print(f"preparing {args.dsn} ...", flush=True)
    prepare_database(args.dsn, args.warmup + args.votes)
    tokens = tokens_for(args.warmup + args.votes)
    total_id = TOTALS[args.route]
    with (
        production_server(args.dsn, log_path="/tmp/movievote-bench-live-server.log") as base,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(base_url=base)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        page.goto(args.route)
        page.wait_for_selector(f"#{total_id}")
        parsed = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        names = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")

        def metrics() -> dict[str, float]:
            got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            return {name: got[name] * 1000 for name in names}  # ms

        shown = f"parseInt(document.getElementById('{total_id}')?.textContent, 10)"
        updates: list[dict[str, float]] = []
        quiet: list[dict[str, float]] = []
        for i, token in enumerate(tokens):
            page.wait_for_timeout(max(0.0, args.interval - WINDOW_S) * 1000)
            before = metrics()
            conn.request(
                "POST", f"/api/vote/{i % 10 + 1}", headers={"Authorization": f"Bearer {token}"}
            )
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                raise SystemExit(f"vote {i + 1}: HTTP {response.status}")
            page.wait_for_timeout(WINDOW_S * 1000)  # nothing runs in the page but the page
            after = metrics()
            if page.evaluate(shown) < i + 1:
                raise SystemExit(f"vote {i + 1} not shown within {WINDOW_S} s")
            if i >= args.warmup:
                updates.append({n: after[n] - before[n] for n in names})
                before = metrics()
                page.wait_for_timeout(WINDOW_S * 1000)  # the same length, no vote
                after = metrics()
                quiet.append({n: after[n] - before[n] for n in names})
        browser.close()
    print(
        f"one {args.route} page, Chromium (no other page); {args.warmup} warm-up votes, then "
        f"{args.votes}, one every {args.interval} s; main-thread time per update (DevTools "
        f"Performance metrics over {WINDOW_S} s from the vote's request)\n"
    )
    for name in names:
        per = [u[name] for u in updates]
        idle = [q[name] for q in quiet]
        print(
            f"  {name:<20} median {statistics.median(per):6.2f} ms   p95 "
            f"{sorted(per)[int(0.95 * (len(per) - 1))]:6.2f} ms   (same window, no vote: "
            f"median {statistics.median(idle):5.2f} ms)"
        )
    net = [u["TaskDuration"] - q["TaskDuration"] for u, q in zip(updates, quiet, strict=True)]
    print(
        f"\n  main thread per update, net of the quiet window: median {statistics.median(net):.2f} ms"
    )


def report(what: str, answered: list[float], seen: list[dict[int, float]], before: int) -> None:
    """Per vote: when the last page saw a total including it; per page and vote: each.
    `answered[0]` is the vote that made the total `before + 1`."""
    per_vote, per_page, missing = [], [], 0
    for n, at in enumerate(answered, start=before + 1):
        shown = []
        for page_seen in seen:
            times = [t for total, t in page_seen.items() if total >= n]
            if times:
                shown.append(max(0.0, min(times) - at) / 1000)
            else:
                missing += 1
        per_page.extend(shown)
        if len(shown) == len(seen):
            per_vote.append(max(shown))
    print(
        f"{what + ', every page':<40} median {pct(per_vote, 0.5):6.0f} ms   "
        f"p95 {pct(per_vote, 0.95):6.0f} ms   max {pct(per_vote, 1.0):6.0f} ms   "
        f"({len(per_vote)} of {len(answered)} votes reached all {len(seen)} pages)"
    )
    print(f"{'':<40} per vote, in order: {' '.join(f'{v * 1000:.0f}' for v in per_vote)}")
    print(
        f"{what + ', each page':<40} median {pct(per_page, 0.5):6.0f} ms   "
        f"p95 {pct(per_page, 0.95):6.0f} ms   mean {statistics.fmean(per_page) * 1000:6.0f} ms"
        f"   ({missing} page-votes never seen)"
    )


if __name__ == "__main__":
    main()
