"""Summarise a py-spy recording (`py-spy record --format raw`: collapsed stacks, one line per
distinct stack with its sample count) of a server under the vote load.

    python -m benchmarks.flame_summary PROFILE.txt [--top 15]

For each thread (py-spy --threads; a granian or uvicorn worker's event loop, granian's own
threads) with a fair share of the samples: where its
on-CPU samples went by part of the request (each sample goes to the frame nearest the leaf
that belongs to a part we own or a framework: psycopg under the vote's code counts as the
vote, pydantic under FastAPI as FastAPI), then the functions with the most samples inclusive
and at the leaf ("self").
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict

# (part, pattern on a frame "function (path:line)"), looked for from the leaf up: first match.
# py-spy writes paths relative to site-packages ("fastapi/routing.py"), our own as they are.
PARTS: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        (
            "vote: statement, batcher (psycopg under it)",
            r"[(/]movievote/services/(voting|ballot_box)",
        ),
        ("vote: route (fast path)", r"[(/]movievote/api/vote_route"),
        (
            "notification (dispatcher; SQLAlchemy, psycopg under it)",
            r"[(/]movievote/services/(dispatcher|notifications|messages)",
        ),
        (
            "ranking: fold, cache, live pages",
            r"[(/]movievote/(services/(observer|tallies|ranking|ranking_cache|changes|cache)|live)",
        ),
        ("token verification (PyJWT)", r"([(/]jwt/|[(/]movievote/security)"),
        ("logins (accounts, throttle)", r"[(/]movievote/services/(accounts|throttle)"),
        ("edges middleware (movievote/api/edges, headers)", r"[(/]movievote/api/(edges|headers)"),
        ("other movievote", r"[(/]movievote/"),
        ("FastAPI (routing, dependencies, validation, serialisation)", r"[(/]fastapi/"),
        ("Reflex", r"[(/]reflex(_base)?/"),
        ("Starlette middleware and routing", r"[(/]starlette/"),
        ("anyio (thread pool hand-offs)", r"[(/]anyio/"),
        ("uvicorn (HTTP protocol)", r"[(/]uvicorn/"),
        ("granian (ASGI bridge)", r"[(/]granian/"),
        ("SQLAlchemy (elsewhere)", r"[(/]sqlalchemy/"),
        ("psycopg (elsewhere)", r"[(/]psycopg"),
        ("asyncio (tasks, futures)", r"[(/]asyncio/"),
    ]
]
GENERIC = 3  # the last PARTS: libraries that many parts call
# Leaves that are a thread waiting (not on the CPU; py-spy --nonblocking cannot always tell)
IDLE = re.compile(r"^(Condition\.wait|Queue\.get|Event\.wait|select|poll|epoll|sleep) ")
# Leaves where the event loop itself runs (uvloop's C code, granian's Rust): callbacks, I/O,
# and the wait for I/O, which a Python profile cannot tell apart
LOOP = re.compile(
    r"^(Runner\.run|asyncio_run|MPServer\._spawn_asgi_lifespan_worker|_future_watcher_wrapper.*|run_forever|run_until_complete|BaseEventLoop\._run_once) "
)
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<where>.*)\)$")


def parse(path: str) -> dict[str, Counter[tuple[str, ...]]]:
    """Stacks (root first, without the process and thread entries) and their samples, by
    process."""
    by_process: dict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            processes = [x for x in frames if x.startswith("process ")] or ["process"]
            threads = [x for x in frames if x.startswith("thread ")]
            frames = [x for x in frames if not x.startswith(("process ", "thread "))]
            where = processes[-1].split(":", 1)[0] + (f", {threads[-1]}" if threads else "")
            by_process[where][tuple(frames)] += int(count)
    return by_process


def part_of(stack: tuple[str, ...]) -> str:
    if stack and IDLE.match(stack[-1]):
        return "idle"
    if stack and LOOP.match(stack[-1]):
        return "event loop's own code (uvloop/granian native: callbacks, I/O, waiting)"
    for parts in (PARTS[:-GENERIC], PARTS[-GENERIC:]):  # the libraries only under nothing else
        for frame in reversed(stack):
            for name, pattern in parts:
                if pattern.search(frame):
                    return name
    return "other (no Python frame: native code)" if not stack else "other"


def short(frame: str) -> str:
    found = _FRAME.match(frame)
    if not found:
        return frame
    where = found["where"]
    for marker in ("site-packages/", "wt-votespeed/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{found['func']} ({where.rsplit(':', 1)[0]})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("profile")
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args()
    by_process = parse(args.profile)
    everything = sum(sum(c.values()) for c in by_process.values())
    for process, stacks in sorted(by_process.items(), key=lambda kv: -sum(kv[1].values())):
        stacks = Counter({st: n for st, n in stacks.items() if part_of(st) != "idle"})
        total = sum(stacks.values())
        if total < everything * 0.1:
            continue
        print(f"  {process}: {total} samples on the CPU (waiting threads left out)")
        parts: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        leaf: Counter[str] = Counter()
        for stack, n in stacks.items():
            parts[part_of(stack)] += n
            for frame in {short(x) for x in stack}:
                inclusive[frame] += n
            if stack:
                leaf[short(stack[-1])] += n
        print("    by part of the request:")
        for name, n in parts.most_common():
            print(f"      {n / total:6.1%}  {name}")
        print("    inclusive (top functions):")
        for name, n in inclusive.most_common(args.top):
            print(f"      {n / total:6.1%}  {name}")
        print("    self (leaf functions):")
        for name, n in leaf.most_common(args.top):
            print(f"      {n / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
