"""Portuguese and English as people meet them: the browser's language on a first visit, the
switch (remembered, and kept on a member's account), a vote's banner and toast in Portuguese,
the lobby display in Portuguese by its URL, and the API's `detail` by Accept-Language."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from movievote.i18n import gettext
from tests.e2e.conftest import MAIL, member
from tests.mail import token_in

DESKTOP = {"width": 1280, "height": 900}
PT = "pt-BR"


def pt(message: str, **params: object) -> str:
    return gettext(PT, message, **params)


@pytest.fixture
def context_for(browser, prod_backend):  # type: ignore[no-untyped-def]
    """New browser contexts whose Accept-Language is `locale` (closed after the test)."""
    opened = []

    def open_context(locale: str = "en-US"):  # type: ignore[no-untyped-def]
        context = browser.new_context(base_url=prod_backend, viewport=DESKTOP, locale=locale)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def heading(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def test_a_first_visit_speaks_the_browser_language(context_for):
    brazil = context_for("pt-BR").new_page()
    brazil.goto("/")
    expect(heading(brazil)).to_have_text(pt("Vote for the movie of the month"))
    expect(brazil).to_have_title("Filmes · movievote")
    expect(brazil.locator("#movie-count")).to_have_text(re.compile(r"^\d+ filmes$"))
    expect(brazil.locator(".movie-card").first.get_by_role("button", name="Votar")).to_be_visible()
    assert brazil.locator("#sort").inner_text() == pt("Title (A-Z)")

    england = context_for("en-GB").new_page()
    england.goto("/")
    expect(heading(england)).to_have_text("Vote for the movie of the month")
    expect(england).to_have_title("Movies · movievote")


def test_the_switch_changes_the_language_and_is_remembered(context_for):
    page = context_for("en-US").new_page()
    page.goto("/leaderboard")
    expect(heading(page)).to_have_text("Leaderboard")
    page.locator("#language-switch").click()
    page.get_by_role("menuitem", name="Português (Brasil)").click()
    expect(heading(page)).to_have_text(pt("Leaderboard"))
    page.reload()
    expect(heading(page)).to_have_text(pt("Leaderboard"))
    page.goto("/login")
    expect(heading(page)).to_have_text(pt("Log in"))


def test_a_member_votes_in_portuguese_and_the_account_keeps_the_language(context_for, prod_backend):
    email = f"pt-{uuid.uuid4().hex[:10]}@example.com"
    page = context_for("pt-BR").new_page()
    page.goto("/signup")
    page.get_by_label(pt("Email")).fill(email)
    page.get_by_label(pt("Display name")).fill("Bia")
    page.get_by_label(pt("Password"), exact=True).fill("password123")
    page.get_by_role("button", name=pt("Sign up")).click()
    expect(page.locator("#form-notice")).to_contain_text(email)
    mail = MAIL.wait(email, pt("Confirm your email address"))  # the mail is in Portuguese too
    confirmed = httpx.post(
        f"{prod_backend}/api/verify-email",
        json={"token": token_in(mail), "password": "password123"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["language"] == PT

    page.goto("/login")
    page.get_by_label(pt("Email")).fill(email)
    page.get_by_label(pt("Password")).fill("password123")
    page.get_by_role("button", name=pt("Log in")).click()
    expect(page.locator("#whoami")).to_have_text("Olá, Bia")
    card = page.locator(".movie-card").first
    title = card.locator("h3").inner_text()
    card.get_by_role("button", name="Votar").click()
    banner = page.locator("#vote-banner")
    expect(banner).to_contain_text(f"Você votou em {title} em ")
    expect(banner).to_contain_text(re.compile(r"de \d{4}\. Seu próximo voto abre em 1 de \w+ de"))
    toast = page.locator("[data-sonner-toast]").filter(has_text=f"Você votou em {title}")
    expect(toast).to_be_visible(timeout=10_000)
    card.get_by_role("button", name="Votar").hover()  # disabled now: the reason, in Portuguese
    expect(card.get_by_role("button", name="Votar")).to_have_attribute(
        "title", pt("You have already voted this month.")
    )

    # another browser, in English: after logging in, the member's language comes with them
    elsewhere = context_for("en-US").new_page()
    elsewhere.goto("/login")
    elsewhere.get_by_label("Email").fill(email)
    elsewhere.get_by_label("Password").fill("password123")
    elsewhere.get_by_role("button", name="Log in").click()
    expect(elsewhere.locator("#whoami")).to_have_text("Olá, Bia")
    expect(heading(elsewhere)).to_have_text(pt("Vote for the movie of the month"))


def test_the_display_takes_its_language_from_its_url(context_for):
    screen = context_for("en-US").new_page()
    screen.goto("/display?lang=pt-BR")
    expect(screen.locator("#display-total")).to_have_text(re.compile(r"^\d+ votos? neste mês$"))
    expect(screen.get_by_text(pt("Scan to vote"))).to_be_visible()
    expect(screen.locator("#display-countdown")).to_have_text(
        re.compile(
            r"^A votação termina em (\d+ d( \d+ h)?|\d+ h( \d+ min)?|\d+ min( \d+ s)?|\d+ s)$"
        )
    )
    screen.goto("/display")
    expect(screen.locator("#display-total")).to_have_text(re.compile(r"^\d+ votes? this month$"))


def test_the_api_detail_follows_accept_language_and_the_code_stays(prod_backend):
    voter = member(prod_backend)
    for language, detail in (
        ("pt-BR,pt;q=0.9", "Não existe filme com o id 999999."),
        ("en", "There is no movie with id 999999."),
    ):
        answer = httpx.post(
            f"{prod_backend}/api/vote/999999",
            headers={"Authorization": voter["auth"], "Accept-Language": language},
        )
        assert answer.status_code == 404
        assert answer.json() == {"detail": detail, "code": "movie_not_found"}
    missing = httpx.get(f"{prod_backend}/api/nowhere", headers={"Accept-Language": "pt"})
    assert missing.json()["code"] == "not_found"
    assert missing.json()["detail"] == pt(
        "There is no API endpoint at {path}.", path="/api/nowhere"
    )
