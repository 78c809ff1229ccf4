"""No axe-core violation of the WCAG 2.0 and 2.1 A and AA rules on any page: every page and its
notable states (a form's error, an empty ranking and a filled one), light and dark, at desktop
and phone width, for a visitor, a member and an admin where the page differs by role. axe-core
(a pinned npm version, `tests/e2e/axe.py`) is injected into every page by Playwright."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import axe_source, describe, run_axe
from tests.e2e.conftest import member, run_cli
from tests.e2e.test_admin import log_in
from tests.e2e.test_results import WINNER, publish_a_past_month
from tests.e2e.test_screens import open_screen

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
EVERYONE = ("visitor", "member", "admin")
VISITOR = ("visitor",)
MEMBERS = ("member", "admin")
ADMIN = ("admin",)
PHONE = ("phone",)  # what only a phone shows
Scene = dict[str, str]  # the member's and the admin's emails (and token), the published month
PLACEHOLDERS = re.compile(r"^(Loading|Checking your link)")  # what a page shows until its data
# The fonts in, and every animation and transition that ends (a display row rising, a toast
# sliding in) ended: axe reads colours as they are at the moment it runs.
SETTLED = """async () => {
  await document.fonts.ready;
  const ending = document.getAnimations().filter(a => a.effect?.getTiming().iterations !== Infinity);
  await Promise.all(ending.map(a => a.finished.catch(() => null)));
}"""


def fail_login(page: Page) -> None:
    page.locator("#email").fill("nobody@example.com")
    page.locator("#password").fill("not-the-password")
    page.locator("form button[type=submit]").click()
    expect(page.locator("#form-error")).to_be_visible()


def ask_reset(page: Page) -> None:
    page.locator("#email").fill("nobody@example.com")
    page.locator("form button[type=submit]").click()
    expect(page.locator("#form-notice")).to_be_visible()


def fail_reset(page: Page) -> None:
    page.locator("#new_password").fill("password456")
    page.locator("#repeat_password").fill("password456")
    page.locator("form button[type=submit]").click()
    expect(page.locator("#form-error")).to_be_visible()


def open_languages(page: Page) -> None:
    page.locator("#language-switch").click()
    expect(page.get_by_role("menu")).to_be_visible()


def open_phone_menu(page: Page) -> None:
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("menu")).to_be_visible()


def edit_a_movie(page: Page) -> None:
    page.locator(".edit-movie").first.click()
    expect(page.locator("#movie-editor")).to_be_visible()


def search_nothing(page: Page) -> None:
    page.get_by_placeholder("Search by title").fill("zzzz no such movie")
    expect(page.locator("#movie-count")).to_have_text("0 movies")


@dataclass(frozen=True)
class Check:
    """A page in one state: where it is, what shows once it has settled (hydrated, its data
    in), who sees it differently, and what brings it to the state (after `ready`)."""

    name: str
    path: str  # {month}: the published month
    ready: str
    roles: tuple[str, ...]
    act: Callable[[Page], None] | None = None
    sizes: tuple[str, ...] = tuple(SIZES)


# Every page, one line each. Pages whose content is the same for everyone are checked for a
# visitor: the bar's member and admin forms are checked on the pages that differ by role.
PAGES = (
    Check("movies", "/", "#movie-count", EVERYONE),
    Check("movies, nothing found", "/", "#movie-count", VISITOR, search_nothing),
    Check("movie", f"/movies/{WINNER}", "#rating-summary", EVERYONE),
    Check("leaderboard", "/leaderboard", ".ranking-row", VISITOR),
    Check("languages menu, open", "/leaderboard", ".ranking-row", VISITOR, open_languages),
    Check("phone menu, open", "/leaderboard", ".ranking-row", EVERYONE, open_phone_menu, PHONE),
    Check("display", "/display", "#display-total", VISITOR),
    Check("winners", "/winners", "#winners", VISITOR),
    Check("results", "/results", "#results-table", VISITOR),
    Check("result", "/results/{month}", "#result-total", EVERYONE),
    Check("result, not published", "/results/2001-01", "#result-notice", VISITOR),
    Check("login", "/login", "#email", VISITOR),
    Check("login, wrong password", "/login", "#email", VISITOR, fail_login),
    Check("signup", "/signup", "#email", VISITOR),
    Check("forgot-password", "/forgot-password", "#email", VISITOR),
    Check("forgot-password, sent", "/forgot-password", "#email", VISITOR, ask_reset),
    Check("reset-password", "/reset-password?token=x", "#new_password", VISITOR),
    Check("reset-password, bad", "/reset-password?token=x", "#new_password", VISITOR, fail_reset),
    Check("verify-email, bad link", "/verify-email?token=x", "#link-outcome", VISITOR),
    Check("account", "/account", "#account-email", MEMBERS),
    Check("admin", "/admin", "#audit-count", ADMIN),
    Check("admin, editing a movie", "/admin", "#audit-count", ADMIN, edit_a_movie),
    Check("admin votes", "/admin/votes", "#vote-count", ADMIN),
    Check("admin screens", "/admin/screens", "#screen-count", ADMIN),
)
# Before anyone has voted this month or any month is published (this module runs first).
EMPTY_PAGES = (
    Check("movies, no votes", "/", "#movie-count", VISITOR),
    Check("leaderboard, no votes", "/leaderboard", "#no-votes", VISITOR),
    Check("display, no votes", "/display", "#display-total", VISITOR),
    Check("winners, none yet", "/winners", "#winners-empty", VISITOR),
    Check("results, none yet", "/results", "#results-empty", VISITOR),
)


def settle(page: Page, check: Check, scheme: str, month: str) -> None:
    page.goto(check.path.format(month=month))
    expect(page.locator(check.ready).first).to_be_visible()
    expect(page.get_by_text(PLACEHOLDERS)).to_have_count(0)
    if check.act is not None:
        check.act(page)
    page.evaluate(SETTLED)
    dark = page.evaluate("document.documentElement.classList.contains('dark')")
    assert dark == (scheme == "dark"), f"{check.name}: not in {scheme} mode"


def violations_of(  # type: ignore[no-untyped-def]
    browser, base: str, checks: tuple[Check, ...], role: str, scheme: str, size: str, scene: Scene
) -> dict[str, str]:
    """Each check's violations (described) for this role, mode and width: one context."""
    context = browser.new_context(
        base_url=base, viewport=SIZES[size], locale="en-US", color_scheme=scheme
    )
    context.add_init_script(axe_source())
    page = context.new_page()
    found: dict[str, str] = {}
    try:
        if role != "visitor":
            log_in(page, scene[role])
        for check in checks:
            if role not in check.roles or size not in check.sizes:
                continue
            settle(page, check, scheme, scene.get("month", ""))
            violations = run_axe(page)
            if violations:
                found[f"{check.name} ({check.path})"] = describe(violations)
    finally:
        context.close()
    return found


def report(found: dict[str, str], role: str, scheme: str, size: str) -> str:
    return f"axe-core violations for a {role}, {scheme}, {size}:\n" + "\n".join(
        f"{where}:\n{text}" for where, text in found.items()
    )


@pytest.fixture(scope="module")
def scene(prod_app, browser) -> Scene:  # type: ignore[no-untyped-def]
    """A published month; this month's ranking (two movies, a voided vote too); a member who
    voted and rated; an admin; a blocked member and an invite code on the admin page; a paired
    lobby screen on the screens page."""
    base = prod_app.base
    month, _ = publish_a_past_month(prod_app)
    voter, admin, blocked = member(base), member(base), member(base)
    run_cli(prod_app.env, "admin", "grant", admin["email"])
    as_admin = {"Authorization": admin["auth"]}
    votes = []
    for account, movie in ((voter, WINNER), (member(base), 2), (member(base), 2), (blocked, 2)):
        voted = httpx.post(f"{base}/api/vote/{movie}", headers={"Authorization": account["auth"]})
        assert voted.status_code == 201, voted.text
        votes.append(voted.json()["id"])
    rated = httpx.put(
        f"{base}/api/movies/{WINNER}/rating",
        headers={"Authorization": voter["auth"]},
        json={"stars": 4.5, "review": "A classic."},
    )
    assert rated.status_code in (200, 201), rated.text
    blocked_id = httpx.get(f"{base}/api/me", headers={"Authorization": blocked["auth"]}).json()
    for path, body in (
        (f"/api/admin/votes/{votes[-1]}/void", {"reason": "Checking the page"}),
        (f"/api/admin/members/{blocked_id['id']}/block", {"reason": "Checking the page"}),
        ("/api/admin/invites", {}),
    ):
        done = httpx.post(f"{base}{path}", headers=as_admin, json=body)
        assert done.status_code in (200, 201), done.text
    tv, code = open_screen(browser, base)
    try:
        paired = httpx.post(
            f"{base}/api/admin/screens",
            headers=as_admin,
            json={"code": code, "name": "Lobby left", "board": "all_time", "language": "pt-BR"},
        )
        assert paired.status_code in (200, 201), paired.text
    finally:
        tv.context.close()
    return {
        "member": voter["email"],
        "admin": admin["email"],
        "admin_auth": admin["auth"],
        "month": month,
    }


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_empty_rankings_have_no_axe_violations(browser, prod_backend, scheme, size):
    ranking = httpx.get(f"{prod_backend}/api/ranking?period=current").json()
    if ranking["total_votes"] or httpx.get(f"{prod_backend}/api/winners").json():
        pytest.skip("votes or results exist already: run this module first (as the suite does)")
    started = time.monotonic()
    found = violations_of(browser, prod_backend, EMPTY_PAGES, "visitor", scheme, size, {})
    print(f"empty pages, {scheme}, {size}: {time.monotonic() - started:.1f} s")
    assert not found, report(found, "visitor", scheme, size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("role", EVERYONE)
def test_every_page_has_no_axe_violations(browser, prod_backend, scene, role, scheme, size):
    started = time.monotonic()
    found = violations_of(browser, prod_backend, PAGES, role, scheme, size, scene)
    print(f"{role}, {scheme}, {size}: {time.monotonic() - started:.1f} s")
    assert not found, report(found, role, scheme, size)


@pytest.mark.parametrize("board", ["all_time", "winner", "hall_of_fame"])
def test_a_paired_screen_has_no_axe_violations(browser, prod_backend, scene, board):
    """A lobby screen paired from the desk, in Portuguese, on each board it can show."""
    context = browser.new_context(base_url=prod_backend, viewport={"width": 1920, "height": 1080})
    context.add_init_script(axe_source())
    page = context.new_page()
    try:
        page.goto("/display")
        code = page.locator("#display-code")
        expect(code).to_have_text(re.compile(r"[A-Z0-9]{3}-[A-Z0-9]{3}$"), timeout=30_000)
        paired = httpx.post(
            f"{prod_backend}/api/admin/screens",
            headers={"Authorization": scene["admin_auth"]},
            json={
                "code": code.inner_text().rsplit(" ", 1)[-1],
                "name": f"Axe {board}",
                "board": board,
                "language": "pt-BR",
            },
        )
        assert paired.status_code in (200, 201), paired.text
        expect(code).to_have_count(0, timeout=30_000)
        expect(page.locator("[lang='pt-BR']").first).to_be_attached()  # the desk's language
        expect(page.locator("#display-heading")).to_be_visible()
        page.evaluate(SETTLED)
        violations = run_axe(page)
        assert not violations, f"paired screen, {board}:\n" + describe(violations)
    finally:
        context.close()
