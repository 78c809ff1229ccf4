"""Browser tests: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.mail import Inbox, token_in

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
STATE_EXPIRY_S = 15
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Server:
    """A command started in its own process group, stopped with the whole group."""

    def __init__(
        self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT
    ) -> None:
        self.log = log
        self.handle = log.open("w")
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{url} not up after {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.handle.close()


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    """Browser tests drive servers of their own: no per-test emptying of the test database
    (and no asyncio fixture, which Playwright's sync API cannot share a thread with)."""
    yield


class ProdApp:
    """The real production app (`reflex run --env prod`: compiled pages and the API on one
    port, granian) on a fixed port, which a test may stop and start again; run from `project`
    (for a second app, a copy of the project: see `project_copy`)."""

    def __init__(self, env: dict[str, str], logs: Path, port: int, project: Path = ROOT) -> None:
        self.env, self.logs, self.port, self.project = env, logs, port, project
        self.base = f"http://127.0.0.1:{port}"
        self.server: Server | None = None
        self.starts = 0

    def start(self) -> None:
        import sys

        reflex = str(Path(sys.executable).parent / "reflex")
        port = str(self.port)
        self.starts += 1
        self.server = Server(
            [reflex, "run", "--env", "prod", "--frontend-port", port, "--backend-port", port],
            env=self.env,
            log=self.logs / f"reflex-{self.starts}.log",
            cwd=self.project,
        )
        self.server.wait_http(f"{self.base}/api/health", timeout=300)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()


def project_copy(folder: Path) -> Path:
    """The project's app, copied into `folder`, to run a second app from. `reflex run --env
    prod` builds the pages into `.web` with its own port written in (`.web/env.json`): two apps
    built in one tree would leave the first serving pages that open their websocket on the
    second's port, which fails once the second has stopped."""
    for name in (
        "rxconfig.py",
        "alembic.ini",
        "movievote",
        "alembic",
        "assets",
        "reflex.lock",
        ".web",
    ):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, symlinks=True)
        else:
            shutil.copy2(source, folder / name)
    return folder


def prod_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production app on `database_url` (Reflex needs the venv's Node)."""
    import sys

    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_MEMORY_KIB": "64",
        "PASSWORD_HASH_TIME_COST": "1",
        # every test browser and client comes from 127.0.0.1: like a lobby behind one address,
        # but busier (the API fuzzer alone signs up hundreds); the limit is tested on its own
        "SIGNUPS_PER_CLIENT": "1000000",
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        **extra,
    }


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> None:
    """Run `movievote <args>` with an app's environment; fail the test with its stderr."""
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "movievote.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr


def seed(env: dict[str, str]) -> None:
    run_cli(env, "seed", "--quiet", timeout=120)


MAIL = Inbox()  # the SMTP server every app under test mails to (started by `mail_server`)


@pytest.fixture(scope="session")
def mail_server() -> Iterator[Inbox]:
    """A real SMTP server the apps under test send their mail to."""
    MAIL.start()
    yield MAIL
    MAIL.stop()


def member(base: str, email: str | None = None, password: str = "password123") -> dict[str, str]:
    """A verified member, made as a person makes one: sign up, follow the mailed link, log in.
    Returns the email and the Authorization header."""
    email = email or f"member-{uuid.uuid4().hex[:10]}@example.com"
    signed_up = httpx.post(
        f"{base}/api/signup",
        json={"email": email, "password": password, "display_name": "Member"},
    )
    assert signed_up.status_code == 202, signed_up.text
    token = token_in(MAIL.wait(email, "Confirm your email address"))
    confirmed = httpx.post(f"{base}/api/verify-email", json={"token": token, "password": password})
    assert confirmed.status_code == 200, confirmed.text
    issued = httpx.post(f"{base}/api/token", data={"username": email, "password": password})
    assert issued.status_code == 200, issued.text
    return {"email": email, "auth": f"Bearer {issued.json()['access_token']}"}


@pytest.fixture(scope="session")
def prod_app(
    tmp_path_factory: pytest.TempPathFactory, migrated_database: str, mail_server: Inbox
) -> Iterator[ProdApp]:
    """One worker, on the test database seeded with the catalogue, mailing to the test's SMTP
    server. Server-side state expires after STATE_EXPIRY_S of quiet (Reflex's default is an
    hour), so every test also runs against states that come and go, as an unattended screen's
    do."""
    env = prod_env(
        migrated_database,
        REFLEX_REDIS_TOKEN_EXPIRATION=str(STATE_EXPIRY_S),
        NOTIFY_SMTP_URL=mail_server.url,
        # the recommendations retrain soon after a test's few ratings (production: 50, 30 s)
        RECOMMEND_RETRAIN_AFTER="5",
        RECOMMEND_CHECK_SECONDS="1",
    )
    seed(env)
    app = ProdApp(env, tmp_path_factory.mktemp("prod"), free_port())
    try:
        app.start()
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="session")
def prod_backend(prod_app: ProdApp) -> str:
    """The base URL of the production app."""
    return prod_app.base
