"""Fault test: the production app under a vote load loses its PostgreSQL and gets it back.

A PostgreSQL cluster of the test's own (never the machine's shared one) is stopped mid-load
(immediate mode: a crash, as far as the app can tell) and started again. Every vote answered
201 must be in the database afterwards; while the database is away every answer is a 503
`unavailable` JSON with Retry-After within 5 s; service resumes within 2 s of the database
coming back, without a restart: votes, health, the ranking folds and the LISTEN task."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import postgres_only
from tests.e2e.conftest import ProdApp, free_port, prod_env, project_copy, run_cli

pytestmark = postgres_only
PG_BIN = Path(os.environ.get("MOVIEVOTE_PG_BIN", "/usr/lib/postgresql/15/bin"))
OUTAGE_S = 4.0
ANSWER_WITHIN_S = 5.0
RESUME_WITHIN_S = 2.0
VOTERS = 1200
THREADS = 6


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on a port of its own."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="movievote-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/movievote"
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: be its own user
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, cwd=self.folder
        )
        assert done.returncode == 0, f"{args[0]}: {done.stdout}\n{done.stderr}"

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(AssertionError, subprocess.SubprocessError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def connect(self, database: str = "movievote") -> psycopg.Connection:
        return psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/{database}", autocommit=True
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    try:
        own.init()
        own.start()
        with own.connect("postgres") as admin:
            admin.execute("CREATE DATABASE movievote")
        yield own
    finally:
        own.remove()


@pytest.fixture(scope="module")
def outage_app(tmp_path_factory, cluster: Cluster, prod_app) -> Iterator[ProdApp]:  # type: ignore[no-untyped-def]
    """The production app on the cluster; `prod_app` built the pages this one copies."""
    env = prod_env(
        cluster.url,
        EMAIL_VERIFICATION="off",  # voting needs no verified address here
        SIGNUPS_PER_CLIENT="100000",  # every voter signs up from this one address
    )
    run_cli(env, "prestart", "--quiet")
    app = ProdApp(
        env,
        tmp_path_factory.mktemp("outage"),
        free_port(),
        project_copy(tmp_path_factory.mktemp("outage-project")),
    )
    app.start()
    yield app
    app.stop()


@dataclass
class Answer:
    sent: float  # monotonic seconds
    seconds: float
    status: int  # 0: no HTTP answer at all
    code: str = ""
    retry_after: str | None = None
    vote_id: int | None = None


def sign_up_voters(base: str, count: int) -> list[str]:
    """`count` accounts signed up and logged in over HTTP; their bearer tokens."""
    run = uuid.uuid4().hex[:6]

    def one(n: int) -> str:
        email = f"load-{run}-{n}@example.com"
        with httpx.Client(base_url=base, timeout=30) as client:
            signed = client.post(
                "/api/signup",
                json={"email": email, "password": "password123", "display_name": f"L{n}"},
            )
            assert signed.status_code == 202, signed.text  # "check your inbox"
            token = client.post("/api/token", data={"username": email, "password": "password123"})
            assert token.status_code == 200, token.text
            return str(token.json()["access_token"])

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(count)))


def answer_of(sent: float, response: httpx.Response) -> Answer:
    body = response.json() if response.headers.get("content-type") == "application/json" else {}
    return Answer(
        sent=sent,
        seconds=time.monotonic() - sent,
        status=response.status_code,
        code=str(body.get("code", "")),
        retry_after=response.headers.get("retry-after"),
        vote_id=body.get("id") if response.status_code == 201 else None,
    )


class Load:
    """Voters voting over HTTP from several threads, each vote by a fresh voter; and a health
    probe. Everything each one got back is kept."""

    def __init__(self, base: str, tokens: list[str], movie_ids: list[int]) -> None:
        self.base = base
        self.tokens = iter(tokens)
        self.movies = itertools.cycle(movie_ids)
        self.lock = threading.Lock()
        self.votes: list[Answer] = []
        self.health: list[Answer] = []
        self.running = True
        self.threads = [threading.Thread(target=self._vote) for _ in range(THREADS)]
        self.threads.append(threading.Thread(target=self._probe))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(30)

    def _next(self) -> tuple[str, int] | None:
        with self.lock:
            token = next(self.tokens, None)
            return None if token is None else (token, next(self.movies))

    def _vote(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while self.running and (work := self._next()) is not None:
                token, movie_id = work
                sent = time.monotonic()
                try:
                    response = client.post(
                        f"/api/vote/{movie_id}", headers={"Authorization": f"Bearer {token}"}
                    )
                    answer = answer_of(sent, response)
                except httpx.HTTPError:
                    answer = Answer(sent=sent, seconds=time.monotonic() - sent, status=0)
                with self.lock:
                    self.votes.append(answer)
                time.sleep(0.05)

    def _probe(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while self.running:
                sent = time.monotonic()
                try:
                    self.health.append(answer_of(sent, client.get("/api/health")))
                except httpx.HTTPError:
                    self.health.append(Answer(sent=sent, seconds=time.monotonic() - sent, status=0))
                time.sleep(0.1)

    def count(self, status: int) -> int:
        with self.lock:
            return sum(1 for a in self.votes if a.status == status)


def wait_until(condition, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def test_votes_survive_a_database_outage_and_service_resumes_by_itself(
    outage_app: ProdApp, cluster: Cluster
):
    base = outage_app.base
    movie_ids = [m["id"] for m in httpx.get(f"{base}/api/movies?page_size=20").json()["items"]]
    tokens = sign_up_voters(base, VOTERS)

    with Load(base, tokens, movie_ids) as load:
        wait_until(lambda: load.count(201) >= 100, timeout=30)  # a steady load first
        down_at = time.monotonic()
        cluster.stop("immediate")  # a crash, as far as the app can tell
        stopped_at = time.monotonic()
        time.sleep(OUTAGE_S)
        restart_at = time.monotonic()
        cluster.start()
        up_at = time.monotonic()  # accepting connections (pg_ctl -w)
        resumed = wait_until(
            lambda: any(a.status == 201 and a.sent >= up_at for a in list(load.votes)), timeout=10
        )
        time.sleep(RESUME_WITHIN_S + 2.0)  # and it stays up
    votes, health = load.votes, load.health

    # every vote got a JSON answer within 5 s: 201, or 503 `unavailable` with Retry-After
    assert {a.status for a in votes} <= {201, 503}, sorted({a.status for a in votes})
    slowest = max(a.seconds for a in votes)
    assert slowest < ANSWER_WITHIN_S, slowest
    refused = [a for a in votes if a.status == 503]
    assert refused, "the outage was never felt"
    assert all(a.code == "unavailable" and a.retry_after for a in refused)
    # within 2 s of the database's return every vote succeeds again
    late = [a for a in votes if a.sent > up_at + RESUME_WITHIN_S]
    assert late and all(a.status == 201 for a in late), [a.status for a in late]
    assert all(a.status == 201 for a in votes if a.sent + a.seconds < down_at)

    # health said so, in the same JSON, and came back too
    away = [a for a in health if stopped_at < a.sent and a.sent + a.seconds < restart_at]
    assert away and all(a.status == 503 and a.code == "unavailable" for a in away)
    assert all(a.seconds < ANSWER_WITHIN_S for a in health)
    assert all(a.status == 200 for a in health if a.sent > up_at + RESUME_WITHIN_S)

    # every vote answered 201 is in the database
    accepted = [a.vote_id for a in votes if a.status == 201]
    with cluster.connect() as conn:
        stored = conn.execute("SELECT count(*) FROM votes WHERE id = ANY(%s)", (accepted,))
        assert stored.fetchone()[0] == len(accepted)  # type: ignore[index]
        total = conn.execute("SELECT count(*) FROM votes").fetchone()[0]  # type: ignore[index]
        # the LISTEN task reconnected by itself
        listening = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'movievote-listener'"
        ).fetchone()[0]  # type: ignore[index]
    assert listening >= 1
    # the folds resumed: the ranking counts every stored vote (some 503s may have been stored)
    wait_until(lambda: httpx.get(f"{base}/api/ranking").json()["total_votes"] == total, timeout=5)
    print(
        f"\n{len(votes)} votes: {len(accepted)} accepted, {len(refused)} answered 503 "
        f"(slowest answer {slowest:.2f} s, slowest 503 {max(a.seconds for a in refused):.2f} s); "
        f"first accepted vote {resumed:.2f} s after the database was back"
    )
