"""Rating a movie in the browser: from the grid to the movie's page, stars chosen with the
keyboard, a review written, the mean moving; another member reads the review."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, member

DESKTOP = {"width": 1280, "height": 900}


def logged_in(browser, base: str, email: str) -> Page:  # type: ignore[no-untyped-def]
    page = browser.new_context(base_url=base, viewport=DESKTOP).new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#whoami")).to_have_text("Hi, Member")
    return page


def test_a_member_rates_with_the_keyboard_and_another_reads_the_review(browser, prod_backend):
    ana, bia = member(prod_backend), member(prod_backend)
    page = logged_in(browser, prod_backend, ana["email"])
    # from the grid to the movie's page
    card = page.locator(".movie-card").nth(2)
    title = card.locator("h3").inner_text()
    card.get_by_role("link", name=title).click()
    expect(page).to_have_url(re.compile(r"/movies/\d+$"))
    movie_url = page.url
    expect(page.locator("#movie-title")).to_have_text(title)
    expect(page.locator("#rating-summary")).to_have_text("No ratings yet")
    expect(page.locator("#reviews")).to_contain_text("Nobody has rated it yet.")
    # the stars are a radio group a screen reader names star by star
    stars = page.locator("#star-picker")
    expect(stars.get_by_role("radio")).to_have_count(10)
    first = stars.get_by_role("radio", name="0.5 stars", exact=True)
    expect(stars.get_by_role("radio", name="1 star", exact=True)).to_be_attached()
    # keyboard only: Space takes half a star, each arrow half a star more
    first.focus()
    page.keyboard.press("Space")
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    expect(stars.get_by_role("radio", name="4 stars", exact=True)).to_be_checked()
    expect(stars.get_by_role("radio", name="4 stars", exact=True)).to_be_focused()
    expect(page.locator("#stars-chosen")).to_have_text("4 stars")
    ring = page.evaluate(
        "getComputedStyle(document.querySelector('label[for=stars-8]')).outlineStyle"
    )
    assert ring == "solid"  # the focused star shows it
    page.keyboard.press("Tab")
    expect(page.locator("#review")).to_be_focused()
    page.keyboard.type("Tense, funny, and the staircase scene stays with you.")
    page.keyboard.press("Tab")
    expect(page.locator("#save-rating")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#rating-notice")).to_have_text("Your rating is saved.")
    expect(page.locator("#rating-average")).to_have_text("4 out of 5")
    expect(page.locator("#rating-count")).to_have_text("1 rating")
    expect(page.locator("#my-rating")).to_contain_text("You gave it 4 stars on")
    expect(page.locator("#reviews")).to_contain_text("the staircase scene")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "movie-rated-desktop.png"), full_page=True)
    # another member opens the page: the review is there; their rating moves the mean
    other = logged_in(browser, prod_backend, bia["email"])
    other.goto(movie_url)
    expect(other.locator("#movie-title")).to_have_text(title)
    expect(other.locator("#reviews")).to_contain_text(
        "Tense, funny, and the staircase scene stays with you."
    )
    expect(other.locator("#reviews").get_by_role("img", name="4 stars")).to_be_visible()
    expect(other.locator("#rating-average")).to_have_text("4 out of 5")
    other.locator("#star-picker").get_by_role("radio", name="1 star", exact=True).focus()
    other.keyboard.press("Space")
    other.keyboard.press("Tab")
    other.keyboard.press("Tab")
    other.keyboard.press("Enter")
    expect(other.locator("#rating-average")).to_have_text("2.5 out of 5")
    expect(other.locator("#rating-count")).to_have_text("2 ratings")
    page.reload()
    expect(page.locator("#rating-average")).to_have_text("2.5 out of 5")
    # the member's own rating comes back checked, and can be taken back
    expect(page.locator("#star-picker").get_by_role("radio", name="4 stars")).to_be_checked()
    page.locator("#remove-rating").click()
    expect(page.locator("#rating-notice")).to_have_text("Your rating is removed.")
    expect(page.locator("#rating-average")).to_have_text("1 out of 5")
