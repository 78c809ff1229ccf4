"""The browser app as its users see it: Chromium against the production server."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, MAIL
from tests.mail import Inbox, link_in, token_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def new_email() -> str:
    return f"web-{uuid.uuid4().hex[:10]}@example.com"


def api_account(base: str, email: str, password: str = "password123") -> None:
    """A verified member named Web (signed up, link followed), not logged in anywhere."""
    response = httpx.post(
        f"{base}/api/signup", json={"email": email, "password": password, "display_name": "Web"}
    )
    assert response.status_code == 202, response.text
    token = token_in(MAIL.wait(email, "Confirm your email address"))
    confirmed = httpx.post(f"{base}/api/verify-email", json={"token": token, "password": password})
    assert confirmed.status_code == 200, confirmed.text


@pytest.fixture
def page(browser, prod_backend) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=prod_backend, viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page, email: str, password: str = "password123") -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_confirm_by_mail_then_vote_shows_banner_disabled_buttons_and_toast(
    page: Page, prod_backend, mail_server: Inbox
):
    email = new_email()
    page.goto("/signup")
    expect(page).to_have_title("Sign up · movievote")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Beatriz")
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#form-notice")).to_contain_text(f"we sent a message to {email}")
    # logged in but unconfirmed: browsing works, voting is refused with the reason and a remedy
    log_in(page, email)
    expect(page.locator("#whoami")).to_have_text("Hi, Beatriz")
    expect(page.locator("#verify-banner")).to_contain_text("Confirm your email address to vote")
    page.locator(".movie-card").first.get_by_role("button", name="Vote").click()
    expect(page.locator("#vote-error")).to_contain_text("Confirm your email address to vote")
    page.get_by_role("button", name="Send the link again").click()
    expect(
        page.locator("[data-sonner-toast]").filter(has_text="We sent a new link")
    ).to_be_visible()
    assert len(mail_server.to(email)) == 2
    # the mail arrived at a real SMTP server; its link confirms the address in this browser
    page.goto(link_in(mail_server.wait(email, "Confirm your email address")))
    expect(page.locator("#link-outcome")).to_have_text(
        f"Your address {email} is confirmed: you can vote."
    )
    page.get_by_role("link", name="Go and vote").click()
    expect(page.locator("#verify-banner")).to_have_count(0)
    expect(page.locator("#vote-error")).to_have_count(0)
    first_card = page.locator(".movie-card").first
    title = first_card.locator("h3").inner_text()
    first_card.get_by_role("button", name="Vote").click()
    now = datetime.now(UTC)
    month = f"{now:%B %Y}"
    next_month = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1)
    expect(page.locator("#vote-banner")).to_have_text(
        f"You voted for {title} in {month}. "
        f"Your next vote opens on {next_month:%B} 1, {next_month:%Y}.",
        timeout=10_000,
    )
    buttons = page.locator(".vote-button")
    expect(buttons.first).to_be_disabled()
    assert buttons.count() > 1 and all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    assert "already voted" in (buttons.nth(1).get_attribute("title") or "")
    toast = page.locator("[data-sonner-toast]").filter(has_text=f"You voted for {title}")
    expect(toast).to_be_visible(timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "movies-voted-desktop.png"), full_page=False)
    # the vote is final: after a reload the reason is still there and nothing can be cast
    page.reload()
    expect(page.locator("#vote-banner")).to_contain_text(f"You voted for {title}")
    expect(page.locator(".vote-button").first).to_be_disabled()


def test_logged_out_vote_leads_to_login_and_back(page: Page, prod_backend):
    email = new_email()
    api_account(prod_backend, email)
    page.goto("/")
    page.locator(".movie-card").first.get_by_role("button", name="Vote").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#whoami")).to_have_text("Hi, Web")
    expect(page.locator(".vote-button").first).to_be_enabled()


def test_login_errors_are_shown_next_to_the_form(page: Page, prod_backend):
    email = new_email()
    api_account(prod_backend, email)
    log_in(page, email, "wrong-password")
    expect(page.locator("#form-error")).to_have_text("Incorrect email or password.")
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Again")
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Sign up").click()
    # an address with an account gets the same answer as a new one; its owner, a mail
    expect(page.locator("#form-notice")).to_contain_text(f"we sent a message to {email}")
    MAIL.wait(email, "You already have a movievote account")


def test_a_login_survives_reload_and_new_tab_and_ends_on_logout(page: Page, prod_backend):
    email = new_email()
    api_account(prod_backend, email)
    log_in(page, email)
    expect(page.locator("#whoami")).to_have_text("Hi, Web")
    page.reload()
    expect(page.locator("#whoami")).to_have_text("Hi, Web")
    other = page.context.new_page()
    other.goto("/")
    expect(other.locator("#whoami")).to_have_text("Hi, Web")
    other.close()
    token = page.evaluate("localStorage.getItem('movievote_token')")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    # the session ended on the server: a copy of the token is refused too
    stolen = httpx.get(f"{prod_backend}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert stolen.status_code == 401


def test_search_filters_and_pages(page: Page, prod_backend):
    page.goto("/")
    expect(page.locator("#movie-count")).to_contain_text("movies")
    page.get_by_label("Search by title").fill("godfather")
    expect(page.locator(".movie-card h3").first).to_contain_text("Godfather", timeout=10_000)
    page.get_by_label("Search by title").fill("")
    expect(page.locator("#page-label")).to_have_text(re.compile(r"Page 1 of \d+"))
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#page-label")).to_have_text(re.compile(r"Page 2 of \d+"))


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_of_every_page(browser, prod_backend, name, viewport):
    context = browser.new_context(base_url=prod_backend, viewport=viewport)
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    ready = {
        "/": ".movie-card",
        "/login": "#email",
        "/signup": "#email",
        "/leaderboard": "#ranking-total",
        "/display": "#display-total",
        "/forgot-password": "#email",
        "/reset-password?token=from-the-mail": "#new_password",
        "/verify-email?token=not-a-real-link": "#link-outcome",
    }
    for route, selector in ready.items():
        page.goto(route)
        expect(page.locator(selector).first).to_be_visible()
        page.wait_for_timeout(800)  # fonts, and the display's row animation
        slug = route.strip("/").split("?")[0] or "movies"
        page.screenshot(path=str(ARTIFACTS / f"{slug}-{name}.png"), full_page=False)
    if name == "phone":
        page.goto("/")
        page.get_by_role("button", name="Menu").click()
        expect(page.get_by_role("menuitem", name="Leaderboard")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "menu-phone.png"), full_page=False)
    context.close()


def _focus_ring(page: Page) -> str:
    """The focused element's outline or box shadow: what makes the focus visible."""
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
                     ? `outline ${s.outlineWidth} ${s.outlineStyle}` : s.boxShadow; }"""
    )


def _tab_until(page: Page, selector: str, limit: int = 30) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus in {limit} tabs")


def test_keyboard_only_log_in_and_vote_with_visible_focus(page: Page, prod_backend):
    email = new_email()
    api_account(prod_backend, email)
    page.goto("/login")
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    page.keyboard.press("Tab")
    skip = page.get_by_role("button", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown while focused, off-screen otherwise
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()  # the skip link jumped over the navigation
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("password123")
    page.keyboard.press("Enter")
    expect(page.locator("#whoami")).to_have_text("Hi, Web")
    expect(page.locator(".vote-button").first).to_be_enabled()
    _tab_until(page, ".vote-button")
    assert _focus_ring(page) not in ("", "none"), _focus_ring(page)
    page.keyboard.press("Enter")
    expect(page.locator("#vote-banner")).to_contain_text("You voted for", timeout=10_000)


def test_phone_navigation_reaches_every_page(browser, prod_backend):
    context = browser.new_context(base_url=prod_backend, viewport=PHONE)
    page = context.new_page()
    page.goto("/")
    expect(page.locator(".movie-card").first).to_be_visible()
    # no room: in the menu
    expect(page.get_by_role("link", name="Leaderboard", exact=True)).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("menuitem", name="Leaderboard").click()
    expect(page).to_have_url(re.compile(r"/leaderboard$"))
    expect(page.locator("#ranking-total")).to_be_visible()
    page.get_by_role("button", name="Menu").focus()
    page.keyboard.press("Enter")  # and by keyboard
    expect(page.get_by_role("menu")).to_be_visible()
    page.keyboard.press("Home")  # the first item, however the menu placed the focus
    expect(page.get_by_role("menuitem", name="Movies")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    context.close()
