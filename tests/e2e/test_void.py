"""Voiding a vote in a browser: a leaderboard is open in one browser, an admin voids a vote on
/admin/votes in another, and the leaderboard drops it within a second; restoring it brings it
back as fast. The member's own view says the vote was voided."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ProdApp, member, run_cli
from tests.e2e.test_admin import DESKTOP, log_in


def _votes(n: int) -> str:
    return f"{n} vote" if n == 1 else f"{n} votes"


def test_a_void_and_a_restore_move_an_open_leaderboard_within_a_second(browser, prod_app: ProdApp):
    base = prod_app.base
    boss = member(base, f"boss-{uuid.uuid4().hex[:8]}@example.com")
    stuffer = member(base, f"stuffer-{uuid.uuid4().hex[:8]}@example.com")
    run_cli(prod_app.env, "admin", "grant", boss["email"])
    cast = httpx.post(f"{base}/api/vote/7", headers={"Authorization": stuffer["auth"]})
    assert cast.status_code == 201, cast.text

    watcher = browser.new_context(base_url=base, viewport=DESKTOP, locale="en-US").new_page()
    watcher.goto("/leaderboard")
    total = watcher.locator("#ranking-total")
    expect(total).to_have_text(re.compile(r"^\d+ votes?$"))
    before = int(total.inner_text().split()[0])
    assert before >= 1

    admin = browser.new_context(base_url=base, viewport=DESKTOP, locale="en-US").new_page()
    log_in(admin, boss["email"])
    admin.goto("/admin")
    admin.locator("#admin-votes-link").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Votes of the month")
    row = admin.locator(".vote-row").filter(has_text=stuffer["email"])
    expect(row).to_have_count(1)
    expect(row.get_by_text("Young account")).to_be_visible()
    row.get_by_label("Reason").fill("one of twenty sock puppets")

    started = time.monotonic()
    row.get_by_role("button", name="Void").click()
    expect(total).to_have_text(_votes(before - 1), timeout=5_000)
    void_latency = time.monotonic() - started
    expect(admin.locator("#votes-message")).to_contain_text("is voided")
    expect(row.get_by_text("one of twenty sock puppets")).to_be_visible()
    expect(row).to_contain_text(f"by {boss['email']}")
    mine = httpx.get(f"{base}/api/votes/me", headers={"Authorization": stuffer["auth"]}).json()
    assert mine["voided"] is True and mine["can_vote"] is False

    started = time.monotonic()
    row.get_by_role("button", name="Restore").click()
    expect(total).to_have_text(_votes(before), timeout=5_000)
    restore_latency = time.monotonic() - started
    expect(row.get_by_text("Counted")).to_be_visible()
    assert void_latency < 1.0 and restore_latency < 1.0, (void_latency, restore_latency)
    watcher.context.close()
    admin.context.close()
