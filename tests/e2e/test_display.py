"""The lobby display: dark, full-screen, live; a vote through the API shows up by itself, and
the screen keeps going, unattended, through a dropped connection, a backend restart and the
expiry of its server-side state."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, STATE_EXPIRY_S, ProdApp, member

TV = {"width": 1920, "height": 1080}
RESUME_S = 10.0  # the bound: live again by itself within 10 s


def vote_through_api(base: str, movie_id: int) -> None:
    voter = member(base, f"tv-{uuid.uuid4().hex[:10]}@example.com")
    voted = httpx.post(f"{base}/api/vote/{movie_id}", headers={"Authorization": voter["auth"]})
    assert voted.status_code == 201, voted.text


def open_display(browser, base: str) -> tuple[Page, int]:  # type: ignore[no-untyped-def]
    page = browser.new_context(base_url=base, viewport=TV).new_page()
    page.goto("/display")
    expect(page).to_have_title("Top 10 · movievote")
    total = page.locator("#display-total")
    expect(total).to_have_text(re.compile(r"^\d+ votes? this month$"))
    return page, int(total.inner_text().split()[0])


def expect_total(page: Page, total: int, timeout_s: float) -> None:
    expect(page.locator("#display-total")).to_have_text(
        re.compile(rf"^{total} votes? this month$"), timeout=timeout_s * 1000
    )


def test_a_vote_through_the_api_updates_an_open_display(browser, prod_backend):
    page, before = open_display(browser, prod_backend)
    expect(page.get_by_alt_text("QR code of the voting page")).to_be_visible()
    vote_through_api(prod_backend, 3)
    started = time.monotonic()
    expect_total(page, before + 1, 5)
    assert time.monotonic() - started < 1.0
    expect(page.locator(".display-row").first).to_be_visible()
    page.wait_for_timeout(800)  # let the rank-change animation finish before the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "display-tv.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "display-phone.png"))
    page.context.close()


def test_the_display_comes_back_by_itself_after_a_dropped_connection(browser, prod_backend):
    page, before = open_display(browser, prod_backend)
    page.context.set_offline(True)  # the lobby's network goes away: the websocket drops
    vote_through_api(prod_backend, 4)
    page.wait_for_timeout(2_000)
    expect_total(page, before, 0.1)  # offline: it cannot have heard of the vote
    page.context.set_offline(False)
    expect_total(page, before + 1, RESUME_S)
    page.context.close()


def test_the_display_resumes_by_itself_after_a_backend_restart(browser, prod_app: ProdApp):
    page, before = open_display(browser, prod_app.base)
    prod_app.restart()  # a new process: every server-side state of the screen is gone
    back = time.monotonic()
    vote_through_api(prod_app.base, 5)
    expect_total(page, before + 1, RESUME_S)
    assert time.monotonic() - back < RESUME_S
    expect(page.get_by_alt_text("QR code of the voting page")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^http://127\.0\.0\.1:\d+/$"))).to_be_visible()
    expect(page.locator(".display-row").first).to_be_visible()
    page.context.close()


def test_the_display_outlives_the_expiry_of_its_server_state(browser, prod_backend):
    outlives_the_expiry_of_its_server_state(browser, prod_backend)


def outlives_the_expiry_of_its_server_state(browser, base: str) -> None:  # type: ignore[no-untyped-def]
    """Quiet for twice the state expiry: the screen still shows the ranking (not "Loading"),
    then follows the next vote."""
    page, before = open_display(browser, base)
    page.wait_for_timeout((STATE_EXPIRY_S * 2 + 5) * 1000)  # quiet: nothing else writes
    expect_total(page, before, RESUME_S)
    vote_through_api(base, 6)
    expect_total(page, before + 1, RESUME_S)
    page.context.close()
