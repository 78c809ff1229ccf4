"""The README's run command (`scripts/run.sh`, the development server) on its zero-setup
default: a fresh SQLite database in the project's data folder, the seeded catalogue, and a
backend that does not restart when the app writes to its database."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, ROOT, Server, free_port
from tests.e2e.test_browser import DESKTOP

RESTART_SIGNS = ("Changes detected", "Killing worker", "Respawning worker", "Reloading")


def compiles(log_text: str) -> int:
    """Reflex compiles the app each time a backend worker starts: a restart adds lines."""
    return log_text.count("Compiling")


def test_run_command_serves_browser_votes_without_restarting(browser):
    # The default database lives in <project>/.data; a folder of its own beside it keeps the
    # developer's data apart while the writes land exactly where the default's do.
    data_dir = ROOT / ".data" / f"e2e-{uuid.uuid4().hex[:8]}"
    frontend, backend = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["MOVIEVOTE_DATA_DIR"] = str(data_dir)
    log = data_dir.parent / f"{data_dir.name}.log"
    data_dir.parent.mkdir(exist_ok=True)
    server = Server(
        [
            "scripts/run.sh",
            "--frontend-port",
            str(frontend),
            "--backend-port",
            str(backend),
            "--loglevel",
            "info",
        ],
        env=env,
        log=log,
    )
    shots: dict[str, bytes] = {}
    try:
        server.wait_http(f"http://127.0.0.1:{backend}/ping", timeout=300)
        server.wait_http(f"http://127.0.0.1:{frontend}/", timeout=300)
        database = data_dir / "movievote.db"
        expected = len(json.loads((ROOT / "movievote/data/catalogue.json").read_text())["results"])
        engine = sa.create_engine(f"sqlite:///{database}")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM movies")) == expected
        engine.dispose()

        base = f"http://localhost:{frontend}"
        watcher = browser.new_context(base_url=base, viewport=DESKTOP).new_page()
        sockets = []
        watcher.on("websocket", lambda ws: "/_event" in ws.url and sockets.append(ws))
        watcher.goto("/leaderboard", timeout=120_000)
        expect(watcher.locator("#ranking-total")).to_have_text("0 votes", timeout=120_000)
        assert len(sockets) == 1
        compiled = compiles(log.read_text())

        voter = browser.new_context(base_url=base, viewport=DESKTOP).new_page()
        voter.goto("/", timeout=120_000)
        expect(voter).to_have_title("Movies · movievote")
        expect(voter.locator("#movie-count")).to_have_text(f"{expected} movies", timeout=120_000)
        shots["home-desktop.png"] = voter.screenshot(full_page=True)
        voter.goto("/signup")
        email = f"run-{uuid.uuid4().hex[:8]}@example.com"
        voter.get_by_label("Email").fill(email)
        voter.get_by_label("Display name").fill("Rita")
        voter.get_by_label("Password").fill("password123")
        voter.get_by_role("button", name="Sign up").click()
        expect(voter.locator("#form-notice")).to_contain_text(email, timeout=30_000)
        # no mail server in the zero-setup app: the mail waits in the development outbox
        voter.goto("/dev/outbox")
        mail = voter.locator(".outbox-mail").filter(has_text=email).first
        expect(mail).to_contain_text("Confirm your email address", timeout=30_000)
        mail.get_by_role("link").first.click()
        # not logged in here: the page asks for the account's password, then confirms
        expect(voter.locator("#link-outcome")).to_contain_text("Enter the password", timeout=30_000)
        voter.get_by_label("Password").fill("password123")
        voter.get_by_role("button", name="Confirm my address").click()
        expect(voter.locator("#link-outcome")).to_contain_text("is confirmed", timeout=30_000)
        voter.goto("/login")
        voter.get_by_label("Email").fill(email)
        voter.get_by_label("Password").fill("password123")
        voter.get_by_role("button", name="Log in").click()
        expect(voter.locator("#whoami")).to_have_text("Hi, Rita", timeout=30_000)
        voter.locator(".movie-card").first.get_by_role("button", name="Vote").click()
        expect(voter.locator("#vote-banner")).to_contain_text("You voted for", timeout=30_000)

        expect(watcher.locator("#ranking-total")).to_have_text("1 vote", timeout=10_000)
        assert len(sockets) == 1 and not sockets[0].is_closed(), "the leaderboard reconnected"
        text = log.read_text()
        restarts = [line for line in text.splitlines() if any(s in line for s in RESTART_SIGNS)]
        assert not restarts, restarts
        assert compiles(text) == compiled, "the backend recompiled: it restarted"
        watcher.context.close()
        voter.context.close()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        if log.exists():
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.move(log, ARTIFACTS / "run-command.log")
    # written once the server has stopped: nothing the tests write may land where it watches
    for name, png in shots.items():
        (ARTIFACTS / name).write_bytes(png)
