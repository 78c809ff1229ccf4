"""The operator's page in a browser: an admin appointed with the CLI blocks a member with a
reason and finds it in the audit log; the member can no longer log in; a member who opens
/admin is told it is not for them. An admin imports a small catalogue file and watches its
progress end in a summary, then edits an imported movie's title and finds it on the movies
page."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ProdApp, member, run_cli

DESKTOP = {"width": 1280, "height": 900}


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill("password123")
    page.locator("form button[type=submit]").click()
    expect(page.locator("#whoami")).not_to_have_text("")


def test_an_admin_blocks_a_member_and_a_member_is_refused(browser, prod_app: ProdApp):
    base = prod_app.base
    boss = member(base, f"boss-{uuid.uuid4().hex[:8]}@example.com")
    suspect = member(base, f"suspect-{uuid.uuid4().hex[:8]}@example.com")
    run_cli(prod_app.env, "admin", "grant", boss["email"])

    context = browser.new_context(base_url=base, viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    log_in(page, boss["email"])
    page.locator("#admin-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    page.get_by_label("Search by email or name").fill(suspect["email"])
    row = page.locator(".member-row").filter(has_text=suspect["email"])
    expect(row).to_have_count(1)
    row.get_by_label("Reason").fill("twenty accounts from one address")
    row.get_by_role("button", name="Block").click()
    expect(page.locator("#admin-message")).to_have_text(f"{suspect['email']} is blocked.")
    expect(row.get_by_text("Blocked")).to_be_visible()
    audit = page.locator(".audit-row").first
    expect(audit).to_contain_text("twenty accounts from one address")
    expect(audit).to_contain_text(boss["email"])

    refused = httpx.post(
        f"{base}/api/token", data={"username": suspect["email"], "password": "password123"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "account_blocked"
    voted = httpx.post(f"{base}/api/vote/5", headers={"Authorization": suspect["auth"]})
    assert voted.status_code == 403 and voted.json()["code"] == "account_blocked"

    curious = context.browser.new_context(base_url=base, viewport=DESKTOP, locale="pt-BR")
    other = curious.new_page()
    log_in(other, member(base)["email"])
    expect(other.locator("#admin-link")).to_have_count(0)
    other.goto("/admin")
    expect(other.locator("#admin-refused")).to_have_text(
        "Esta página é para os administradores da votação."
    )
    expect(other.locator(".member-row")).to_have_count(0)
    context.close()
    curious.close()


def test_an_admin_imports_a_file_with_progress_then_edits_a_title_seen_on_movies(
    browser, prod_app: ProdApp
):
    base = prod_app.base
    boss = member(base, f"curator-{uuid.uuid4().hex[:8]}@example.com")
    run_cli(prod_app.env, "admin", "grant", boss["email"])
    tag = uuid.uuid4().hex[:6]
    catalogue = {
        "source": f"e2e-{tag}",  # movies of their own: the shared catalogue stays as it was
        "genres": [{"id": 18, "name": "Drama"}],
        "results": [
            {"id": 1, "title": f"Lantern {tag}", "release_date": "2001-05-01", "genre_ids": [18]},
            {"id": 2, "title": f"Harbour {tag}", "release_date": "2003-09-12"},
            {"id": 3, "title": f"Orchard {tag}", "release_date": "1999-01-20"},
            {"id": 4},
        ],
    }

    context = browser.new_context(base_url=base, viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    log_in(page, boss["email"])
    page.goto("/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    expect(page.locator("#search-not-configured")).to_be_visible()  # no TMDB/OMDb key here
    page.locator("input[type=file]").set_input_files(
        files=[
            {
                "name": f"club-{tag}.json",
                "mimeType": "application/json",
                "buffer": json.dumps(catalogue).encode(),
            }
        ]
    )
    expect(page.get_by_text(f"club-{tag}.json")).to_be_visible()
    page.locator("#import-button").click()
    expect(page.locator("#import-summary")).to_have_text(
        f"Import of club-{tag}.json finished: added 3, updated 0, skipped 1.", timeout=30_000
    )
    expect(page.locator("#import-progress")).to_have_text("3 of 3 movies imported")
    expect(page.locator("#import-problems")).to_have_text("Entry 4 has no title.")
    expect(page.locator(".audit-row").first).to_contain_text("catalogue.import")

    page.get_by_label("Search by title").fill(f"Lantern {tag}")
    row = page.locator(".movie-row").filter(has_text=f"Lantern {tag}")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Edit").click()
    title = page.locator("#edit-title")
    expect(title).to_have_value(f"Lantern {tag}")
    title.fill(f"The Lantern Keeper {tag}")
    page.locator("#movie-editor").get_by_role("button", name="Save").click()
    expect(page.locator("#admin-message")).to_have_text(f"The Lantern Keeper {tag} is saved.")

    page.goto("/")
    page.get_by_label("Search by title").fill(tag)
    cards = page.locator(".movie-card")
    expect(cards.filter(has_text=f"The Lantern Keeper {tag}")).to_have_count(1)
    expect(cards).to_have_count(3)
    context.close()
