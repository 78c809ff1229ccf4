"""The live leaderboard: a vote from another browser or from the API appears without reload."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, member
from tests.e2e.test_browser import DESKTOP, PHONE, log_in


def _voter(base: str) -> dict[str, str]:
    return member(base, f"lb-{uuid.uuid4().hex[:10]}@example.com")


def votes(n: int) -> str:
    return f"{n} vote" if n == 1 else f"{n} votes"


def _total(page) -> int:  # type: ignore[no-untyped-def]
    return int(re.match(r"(\d+)", page.locator("#ranking-total").inner_text())[1])


def test_leaderboard_follows_votes_from_another_browser_and_from_the_api(browser, prod_backend):
    watcher = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    watcher.goto("/leaderboard")
    expect(watcher).to_have_title("Leaderboard · movievote")
    expect(watcher.locator("#ranking-total")).to_be_visible()
    before = _total(watcher)

    voter = _voter(prod_backend)
    voting = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    log_in(voting, voter["email"])
    expect(voting.locator("#whoami")).to_be_visible()
    voting.locator(".movie-card").first.get_by_role("button", name="Vote").click()
    expect(voting.locator("#vote-banner")).to_be_visible()
    started = time.monotonic()
    expect(watcher.locator("#ranking-total")).to_have_text(votes(before + 1), timeout=5_000)
    browser_latency = time.monotonic() - started

    other = _voter(prod_backend)
    response = httpx.post(f"{prod_backend}/api/vote/2", headers={"Authorization": other["auth"]})
    assert response.status_code == 201, response.text
    started = time.monotonic()
    expect(watcher.locator("#ranking-total")).to_have_text(votes(before + 2), timeout=5_000)
    api_latency = time.monotonic() - started
    assert browser_latency < 1.5 and api_latency < 1.0, (browser_latency, api_latency)
    expect(watcher.locator(".ranking-row").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    watcher.screenshot(path=str(ARTIFACTS / "leaderboard-desktop.png"), full_page=True)
    watcher.set_viewport_size(PHONE)
    watcher.screenshot(path=str(ARTIFACTS / "leaderboard-phone.png"), full_page=False)
    watcher.context.close()
    voting.context.close()


def test_all_time_view(browser, prod_backend):
    page = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    page.goto("/leaderboard")
    expect(page.locator("#ranking-total")).to_be_visible()
    page.get_by_label("Which ranking").click()
    page.get_by_role("option", name="All time").click()
    expect(page.locator("#ranking-total")).to_have_text(re.compile(r"^\d+ votes?$"))
    page.context.close()
