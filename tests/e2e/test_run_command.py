"""The README's run command, on a fresh SQLite database, serves the movie page with the catalogue."""

from __future__ import annotations

import json
import os

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, ROOT, Server, free_port


def test_run_command_serves_the_seeded_catalogue(browser, tmp_path):
    database = tmp_path / "fresh.db"
    frontend, backend = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    server = Server(
        ["scripts/run.sh", "--frontend-port", str(frontend), "--backend-port", str(backend)],
        env=env,
        log=tmp_path / "run.log",
    )
    try:
        server.wait_http(f"http://127.0.0.1:{backend}/ping", timeout=300)
        server.wait_http(f"http://127.0.0.1:{frontend}/", timeout=300)
        expected = len(json.loads((ROOT / "movievote/data/catalogue.json").read_text())["results"])
        engine = sa.create_engine(f"sqlite:///{database}")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM movies")) == expected
        engine.dispose()

        page = browser.new_page()
        page.goto(f"http://localhost:{frontend}/", timeout=120_000)
        expect(page).to_have_title("Movies · movievote")
        expect(page.locator("#movie-count")).to_have_text(f"{expected} movies", timeout=120_000)
        expect(page.locator(".movie-card").first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "home-desktop.png"), full_page=True)
        page.close()
    finally:
        server.stop()
