"""The lobby display: dark, full-screen, live; a vote through the API shows up by itself."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

TV = {"width": 1920, "height": 1080}


def test_a_vote_through_the_api_updates_an_open_display(browser, prod_backend):
    page = browser.new_context(base_url=prod_backend, viewport=TV).new_page()
    page.goto("/display")
    expect(page).to_have_title("Top 10 · movievote")
    total = page.locator("#display-total")
    expect(total).to_have_text(re.compile(r"^\d+ votes? this month$"))
    before = int(total.inner_text().split()[0])
    expect(page.get_by_alt_text("QR code of the voting page")).to_be_visible()
    email = f"tv-{uuid.uuid4().hex[:10]}@example.com"
    httpx.post(
        f"{prod_backend}/api/signup",
        json={"email": email, "password": "password123", "display_name": "TV"},
    )
    token = httpx.post(
        f"{prod_backend}/api/token", data={"username": email, "password": "password123"}
    ).json()["access_token"]
    assert (
        httpx.post(
            f"{prod_backend}/api/vote/3", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 201
    )
    started = time.monotonic()
    expect(total).to_have_text(re.compile(rf"^{before + 1} votes? this month$"), timeout=5_000)
    assert time.monotonic() - started < 1.0
    expect(page.locator(".display-row").first).to_be_visible()
    page.wait_for_timeout(800)  # let the rank-change animation finish before the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "display-tv.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "display-phone.png"))
    page.context.close()
