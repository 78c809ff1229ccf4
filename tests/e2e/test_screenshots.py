"""Every page in both languages, at desktop and phone width, light and dark: a screenshot of
each in the git-ignored artifacts folder (to look at), and no English left on a Portuguese
page (every catalogue text whose translation differs is looked for in the page's text)."""

from __future__ import annotations

import re

import httpx
import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from movievote.i18n import LOCALES_DIR
from movievote.periods import format_period
from tests.e2e.conftest import ARTIFACTS, member, run_cli
from tests.e2e.test_results import past_month, publish_a_past_month

PAGES = {
    "movies": ("/", "#movie-count"),
    "login": ("/login", "#email"),
    "signup": ("/signup", "#email"),
    "leaderboard": ("/leaderboard", "#ranking-total"),
    "display": ("/display", "#display-total"),
    "winners": ("/winners", "#hall-of-fame"),
    "results": ("/results", "#results-list"),
    "result": (f"/results/{format_period(past_month())}", "#result-total"),  # published first
    "forgot-password": ("/forgot-password", "#email"),
    "reset-password": ("/reset-password?token=from-the-mail", "#new_password"),
    "verify-email": ("/verify-email?token=not-a-real-link", "#link-outcome"),
    "account": ("/account", "#account-email"),
    "admin": ("/admin", "#member-count"),
}
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
FOLDER = ARTIFACTS / "screens"


def english_texts() -> list[str]:
    """Texts of two words or more that read differently in Portuguese, their placeholders cut
    out (what is left of each must not appear on a Portuguese page)."""
    with (LOCALES_DIR / "pt_BR" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale="pt_BR")
    texts = []
    for message in catalogue:
        english = message.id if isinstance(message.id, str) else message.id[1]
        portuguese = message.string if isinstance(message.string, str) else message.string[-1]
        if not english or english == portuguese:
            continue
        for piece in re.split(r"\{\w*\}", english):
            piece = piece.strip(" .,:;")
            if len(piece.split()) >= 2:
                texts.append(piece)
    return texts


@pytest.mark.parametrize("language", ["en-US", "pt-BR"])
def test_every_page_in_every_mode_and_no_english_left_in_portuguese(
    browser, prod_app, prod_backend, language
):
    account = member(prod_backend)
    run_cli(prod_app.env, "admin", "grant", account["email"])  # the admin page too
    publish_a_past_month(prod_app)  # a month's result, in the hall of fame and on its page
    for movie in (1, 2, 2):  # a ranking to show: two movies, one ahead
        voter = account if movie == 1 else member(prod_backend)
        voted = httpx.post(
            f"{prod_backend}/api/vote/{movie}", headers={"Authorization": voter["auth"]}
        )
        assert voted.status_code in (201, 409), voted.text
    leftovers: dict[str, list[str]] = {}
    failures: list[str] = []  # a resource that did not load (a poster), a script error
    english = english_texts()
    FOLDER.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        for size_name, size in SIZES.items():
            context = browser.new_context(
                base_url=prod_backend, viewport=size, locale=language, color_scheme=scheme
            )
            page = context.new_page()
            page.on(
                "response",
                lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.on(
                "console",
                lambda m: failures.append(f"console: {m.text}") if m.type == "error" else None,
            )
            page.goto("/login")
            page.locator("#email").fill(account["email"])
            page.locator("#password").fill("password123")
            page.locator("form button[type=submit]").click()
            expect(page.locator("#whoami")).not_to_have_text("")  # logged in (hidden on a phone)
            for name, (path, ready) in PAGES.items():
                page.goto(path)
                expect(page.locator(ready)).to_be_visible()
                # lazy posters load as a person scrolls: scroll down the page, then back up
                page.evaluate(
                    "async () => { for (let y = 0; y < document.body.scrollHeight; y += 600) {"
                    " window.scrollTo(0, y); await new Promise(r => setTimeout(r, 40)); }"
                    " window.scrollTo(0, 0); }"
                )
                page.wait_for_load_state("networkidle")
                page.screenshot(
                    path=FOLDER / f"{name}-{language}-{size_name}-{scheme}.png", full_page=True
                )
                if language == "pt-BR":
                    shown = page.locator("body").inner_text()
                    found = [text for text in english if text in shown]
                    if found:
                        leftovers[name] = found
            context.close()
    assert leftovers == {}, f"English left on Portuguese pages: {leftovers}"
    assert failures == []
