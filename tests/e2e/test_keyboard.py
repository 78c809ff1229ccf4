"""Keyboard only, light and dark: Tab reaches every control of the main pages in order, each
one on screen, unhidden, with a visible focus ring; a member rates a movie without a mouse."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ProdApp, member, run_cli

DESKTOP = {"width": 1280, "height": 900}
# a safety net against a focus that never leaves the page (/admin has about ten stops per
# member and movie row shown, 25 of each: some 250 when full)
MAX_STOPS = 400

# What the focused element shows: where it is, whether something covers it, and its ring (on
# itself or, for a control drawn by its wrapper or label, on that: Radix's text fields ring
# their root, the stars' hidden radios their label).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const rect = (e) => e.getBoundingClientRect();
  const ringOf = (e) => {
    const s = getComputedStyle(e);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
      && !/rgba\\([^)]*, 0\\)|transparent/.test(s.outlineColor);
    const shadow = s.boxShadow !== 'none' && !/^(rgba\\([^)]*, 0\\) [^,]*,?\\s*)+$/.test(s.boxShadow);
    return outline ? 'outline ' + s.outlineWidth + ' ' + s.outlineColor
      : shadow ? 'shadow ' + s.boxShadow : '';
  };
  let shown = el;
  const own = rect(el);
  if ((own.width <= 1 || own.height <= 1 || getComputedStyle(el).opacity === '0') && el.id) {
    shown = document.querySelector(`label[for="${CSS.escape(el.id)}"]`) || el;
  }
  let ring = ringOf(shown);
  for (let up = shown.parentElement, n = 0; !ring && up && n < 2; up = up.parentElement, n++) {
    if (up.matches(':focus-within') && /rt-(TextField|TextArea)Root|rt-SelectTrigger/.test(up.className))
      ring = ringOf(up);
  }
  const r = rect(shown);
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
  const top = document.elementFromPoint(x, y);
  return {
    name: (el.getAttribute('aria-label') || el.innerText || el.name || el.id || el.tagName)
      .trim().slice(0, 50),
    tag: el.tagName, id: el.id || '', ring,
    width: r.width, height: r.height,
    inView: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
    covered: !!top && !(shown.contains(top) || el.contains(top) || top.contains(shown)),
    key: el.id || el.outerHTML.slice(0, 200) + '@' + Math.round(r.top + scrollY),
  };
}"""


def tab_through(page: Page, limit: int = MAX_STOPS) -> list[dict[str, Any]]:
    """Every Tab stop of the page from the top, in order, until the focus leaves the page
    or comes back round; each checked: on screen, not covered, with a ring. Call it on a page
    just opened, nothing focused or clicked yet (the first Tab goes to the first stop)."""
    stops: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUSED)
        if found is None or found["key"] in seen:
            return stops
        seen.add(found["key"])
        stops.append(found)
        where = f"{page.url} stop {len(stops)}: {found}"
        assert found["width"] > 1 and found["height"] > 1, f"invisible: {where}"
        assert found["inView"], f"off screen: {where}"
        assert not found["covered"], f"covered: {where}"
        assert found["ring"], f"no visible focus: {where}"
    raise AssertionError(f"{page.url}: more than {limit} Tab stops: {stops[-5:]}")


def shift_tab_comes_back(page: Page, stops: list[dict[str, Any]]) -> None:
    """Shift+Tab walks the same stops back to the first (the order is the document's), from
    where `tab_through` left the focus (out of the page, or round on the first stop)."""
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        found = page.evaluate(FOCUSED)
        if found is not None and found["key"] == stops[-1]["key"]:
            break
    else:
        raise AssertionError(f"{page.url}: Shift+Tab does not come back to {stops[-1]}")
    for expected in reversed(stops[:-1]):  # upwards: the sticky bar must not hide the focus
        page.keyboard.press("Shift+Tab")
        found = page.evaluate(FOCUSED)
        assert found is not None and found["key"] == expected["key"], (found, expected)
        assert found["ring"] and found["inView"] and not found["covered"], found


def log_in_by_keyboard(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type("password123")
    page.keyboard.press("Enter")
    expect(page.locator("#whoami")).to_have_text("Hi, Member")


@pytest.fixture(scope="module")
def admin_email(prod_app: ProdApp) -> str:
    boss = member(prod_app.base, f"keys-{uuid.uuid4().hex[:8]}@example.com")
    run_cli(prod_app.env, "admin", "grant", boss["email"])
    return boss["email"]


# each main page, and controls Tab must reach there (the start of their accessible names)
PAGES = {
    "/": ["Search", "Vote for ", "Next"],
    "/leaderboard": ["Which ranking"],
    "/winners": [],
    "/results": [],
    "/movies/1": ["0.5 stars", "review", "Save my rating"],
    "/account": [],
    "/admin": [
        "Members",  # the first of the jumps to each section
        "Search by email or name",
        "Reason",
        "Block",
        "Edit",
        "Hide",
        "Export (CSV)",
    ],
    "/admin/votes": [],
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_stop_of_the_main_pages_is_reached_and_shows_its_focus(
    browser, prod_app: ProdApp, admin_email: str, scheme: str
):
    context = browser.new_context(
        base_url=prod_app.base, viewport=DESKTOP, color_scheme=scheme, locale="en-US"
    )
    page = context.new_page()
    page.goto("/login")
    expect(page.get_by_label("Email")).to_be_visible()
    assert page.evaluate("document.documentElement.classList.contains('dark')") == (
        scheme == "dark"
    )
    stops = tab_through(page)
    assert stops[0]["name"] == "Skip to content"
    assert [s["id"] for s in stops].index("email") < [s["id"] for s in stops].index("password")
    page.goto("/signup")
    expect(page.get_by_label("Display name")).to_be_visible()
    assert "Sign up" in [s["name"] for s in tab_through(page)]
    log_in_by_keyboard(page, admin_email)
    for path, controls in PAGES.items():
        page.goto(path)
        expect(page.locator("#main")).to_be_visible()
        page.wait_for_load_state("networkidle")
        stops = tab_through(page)
        names = [s["name"] for s in stops]
        assert names[:2] == ["Skip to content", "movievote"], (path, names)
        assert "Log out" in names, (path, names)
        for control in controls:
            assert any(name.startswith(control) for name in names), (path, control, names)
        shift_tab_comes_back(page, stops)
    page.goto("/display")  # a screen: nothing to operate, and nothing hidden to land on
    expect(page.locator("#display-total")).to_be_visible()
    tab_through(page)
    context.close()


def test_the_admin_tables_actions_work_from_the_keyboard(browser, prod_app: ProdApp, admin_email):
    suspect = member(prod_app.base, f"kb-suspect-{uuid.uuid4().hex[:8]}@example.com")
    page = browser.new_context(base_url=prod_app.base, viewport=DESKTOP).new_page()
    log_in_by_keyboard(page, admin_email)
    page.goto("/admin")
    page.get_by_label("Search by email or name").focus()
    page.keyboard.type(suspect["email"])
    row = page.locator(".member-row").filter(has_text=suspect["email"])
    expect(row).to_have_count(1)
    expect(page.locator(".member-row")).to_have_count(1)
    page.keyboard.press("Tab")  # from the search: into the table, to the row's reason
    for _ in range(5):
        if row.get_by_label("Reason").evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(row.get_by_label("Reason")).to_be_focused()
    page.keyboard.type("keyboard test")
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Block")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#admin-message")).to_have_text(f"{suspect['email']} is blocked.")
    unblock = row.get_by_role("button", name="Unblock")
    expect(unblock).to_be_visible()
    unblock.focus()
    page.keyboard.press("Space")
    expect(page.locator("#admin-message")).to_have_text(
        f"{suspect['email']} may log in and vote again."
    )
    # the movie editor, below the tables: Edit takes the focus to its first field, Close (or
    # Escape) brings it back to the Edit button
    edit = page.locator(".movie-row").nth(1).get_by_role("button", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    editor = page.locator("#movie-editor")
    expect(editor).to_be_visible()
    expect(editor.get_by_label("Title", exact=True)).to_be_focused()
    editor.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(editor).to_have_count(0)
    expect(edit).to_be_focused()
    page.keyboard.press("Enter")  # again, and Escape from a field closes it as well
    expect(editor.get_by_label("Title", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(edit).to_be_focused()
    # past some 250 stops in a full page, the audit log is one jump away
    sections = page.get_by_role("navigation", name="Sections of this page")
    sections.get_by_role("button", name="Audit log").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Audit log")).to_be_focused()
    assert page.evaluate(FOCUSED)["ring"] and not page.evaluate(FOCUSED)["covered"]
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Export (CSV)")).to_be_focused()
    page.context.close()


def test_a_member_rates_a_movie_with_the_keyboard_alone(browser, prod_backend):
    rater = member(prod_backend)
    page = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    log_in_by_keyboard(page, rater["email"])
    page.goto("/movies/3")
    expect(page.locator("#movie-title")).to_be_visible()
    page.wait_for_load_state("networkidle")
    # Tab to the stars: one stop for the whole group
    for _ in range(MAX_STOPS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.name === 'stars'"):
            break
    else:
        raise AssertionError("the stars are not reached with Tab")
    group = page.locator("#star-picker")
    page.keyboard.press("Space")  # nothing chosen yet: Space takes the focused star
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    chosen = group.get_by_role("radio", name="3 stars", exact=True)
    expect(chosen).to_be_checked()
    expect(chosen).to_be_focused()
    expect(page.locator("#stars-chosen")).to_have_text("3 stars")  # said, politely
    focused = page.evaluate(FOCUSED)
    assert focused["ring"] and focused["width"] > 1, focused  # the star's label shows it
    page.keyboard.press("Tab")
    expect(page.locator("#review")).to_be_focused()
    page.keyboard.type("Rated without a mouse.")
    page.keyboard.press("Tab")
    expect(page.locator("#save-rating")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#rating-notice")).to_have_text("Your rating is saved.")
    expect(page.locator("#my-rating")).to_contain_text(re.compile(r"You gave it 3 stars on"))
    page.context.close()
