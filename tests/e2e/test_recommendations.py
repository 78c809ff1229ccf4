"""Recommendations in the browser: members who share a taste rate the same movies; a new
member rates a couple of them and finds the others under "For you", each saying why, and
"Members who liked this also liked" on a movie's page."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, member
from tests.e2e.test_ratings import logged_in


def model_ties(base: str, movie_id: int, other: int, timeout: float = 90) -> None:
    """Wait until the model (retrained in the background after the ratings) ties the two."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = httpx.get(f"{base}/api/movies/{movie_id}/similar").json()
        if other in {m["id"] for m in found["items"]}:
            return
        time.sleep(0.5)
    raise AssertionError(f"no model ties {movie_id} to {other} after {timeout:.0f} s: {found}")


def test_a_member_rates_a_couple_of_movies_and_sees_for_you_with_a_reason(browser, prod_backend):
    base = prod_backend
    listed = httpx.get(f"{base}/api/movies", params={"page": 2, "page_size": 24}).json()["items"]
    taste = [m["id"] for m in listed[:4]]
    titles = {m["id"]: m["title"] for m in listed[:4]}
    for _ in range(3):  # three members who like the same four movies
        fan = member(base)
        for movie_id in taste:
            rated = httpx.put(
                f"{base}/api/movies/{movie_id}/rating",
                json={"stars": 5},
                headers={"Authorization": fan["auth"]},
            )
            assert rated.status_code == 201, rated.text
    model_ties(base, taste[0], taste[1])
    ana = member(base)
    page = logged_in(browser, base, ana["email"])
    for movie_id in taste[:2]:  # Ana rates two of them on their pages
        page.goto(f"/movies/{movie_id}")
        expect(page.locator("#movie-title")).to_have_text(titles[movie_id])
        page.locator("label[for=stars-9]").click()
        page.locator("#save-rating").click()
        expect(page.locator("#rating-notice")).to_have_text("Your rating is saved.")
    also = page.locator("#also-liked")
    expect(also.get_by_role("heading")).to_have_text("Members who liked this also liked")
    expect(also.get_by_role("link", name=titles[taste[0]], exact=True)).to_be_visible()
    page.goto("/")
    rated = "|".join(re.escape(titles[m]) for m in taste[:2])
    liked_one = re.compile(f"^Because you liked ({rated})$")
    row = page.locator("#for-you")
    expect(row.get_by_role("heading")).to_have_text("For you")
    for movie_id in taste[2:]:  # the two she has not rated, each saying why
        card = row.locator(".suggestion-card").filter(
            has=page.get_by_role("link", name=titles[movie_id], exact=True)
        )
        expect(card).to_be_visible()
        expect(card.locator(".suggestion-reason")).to_have_text(liked_one)
    for movie_id in taste[:2]:  # never one she rated
        expect(row.get_by_role("link", name=titles[movie_id], exact=True)).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "for-you-desktop.png"), full_page=True)
    # switched to Portuguese, the row and its reasons read in Portuguese at once
    page.locator("#language-switch").click()
    page.get_by_role("menuitem", name="Português (Brasil)").click()
    expect(row.get_by_role("heading")).to_have_text("Para você")
    expect(row.locator(".suggestion-reason").first).to_contain_text("Porque você gostou de")
