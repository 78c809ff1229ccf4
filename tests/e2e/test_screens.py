"""Paired lobby screens in real browsers: an operator pairs three screens with the codes they
show, sees all three live, renames one, switches one to Portuguese and another's board from
the desk, reloads one remotely and unpairs one (it shows a code again); a paired screen keeps
its settings across a reload. Then a screen's server is killed: the desk, on another instance
of the app over the same database, reports it reconnecting, then silent with an alert and a
log line, and live again once its server is back."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ProdApp, free_port, member, project_copy, run_cli
from tests.e2e.test_admin import log_in
from tests.e2e.test_display import TV

DESK = {"width": 1400, "height": 900}
CODE = re.compile(r"^Screen code: ([A-Z0-9]{3}-[A-Z0-9]{3})$")
PUSH_S = 5.0  # "within a couple of seconds", with room for a loaded 2-core machine
LIVE_S = 30.0  # a new screen's first heartbeat reaches the desk's list (refreshed every 5 s)


def open_screen(browser, base: str) -> tuple[Page, str]:  # type: ignore[no-untyped-def]
    page = browser.new_context(base_url=base, viewport=TV, locale="en-US").new_page()
    page.goto("/display")
    code = page.locator("#display-code")
    expect(code).to_have_text(CODE, timeout=30_000)
    match = CODE.match(code.inner_text())
    assert match is not None
    return page, match.group(1)


def open_desk(browser, app: ProdApp) -> Page:  # type: ignore[no-untyped-def]
    boss = member(app.base, f"desk-{uuid.uuid4().hex[:8]}@example.com")
    run_cli(app.env, "admin", "grant", boss["email"])
    page = browser.new_context(base_url=app.base, viewport=DESK, locale="en-US").new_page()
    log_in(page, boss["email"])
    page.goto("/admin/screens")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lobby screens")
    return page


def pair(desk: Page, code: str, name: str) -> float:
    """Pair from the desk's form; when the click was made."""
    desk.locator("#pair-code").fill(code.lower().replace("-", " "))  # as a person may type it
    desk.locator("#pair-name").fill(name)
    clicked = time.monotonic()
    desk.locator("#pair-submit").click()
    expect(desk.locator("#screens-message")).to_have_text(f"{name} is paired.")
    return clicked


def row(desk: Page, name: str):  # type: ignore[no-untyped-def]
    return desk.locator(f'.screen-row[data-screen="{name}"]')


def test_an_operator_pairs_three_screens_and_runs_them_from_the_desk(browser, prod_app: ProdApp):
    desk = open_desk(browser, prod_app)
    wrong = desk.locator("#pair-code")
    wrong.fill("AAA-AAA")
    desk.locator("#pair-name").fill("Nowhere")
    desk.locator("#pair-submit").click()
    expect(desk.locator("#screens-error")).to_contain_text("No screen shows the code AAA-AAA")

    names = ["Lobby left", "Lobby right", "Bar"]
    tvs: dict[str, Page] = {}
    delays = []
    for name in names:
        tv, code = open_screen(browser, prod_app.base)
        clicked = pair(desk, code, name)
        expect(tv.locator("#display-code")).to_have_count(0, timeout=PUSH_S * 1000)
        delays.append(time.monotonic() - clicked)
        tvs[name] = tv
    for name in names:
        expect(row(desk, name).locator(".screen-health")).to_have_text(
            "Live", timeout=LIVE_S * 1000
        )
    left = row(desk, "Lobby left")
    expect(left).to_contain_text("1920x1080")
    expect(left).to_contain_text("Chrome")
    expect(left).to_contain_text("up to date")

    # rename one
    bar = row(desk, "Bar")
    bar.get_by_label("Name of Bar").fill("Bar corner")
    bar.get_by_role("button", name="Rename Bar").click()
    expect(desk.locator("#screens-message")).to_have_text("Renamed to Bar corner.")
    expect(row(desk, "Bar corner")).to_have_count(1)

    # switch one to Portuguese, from the desk
    heading = tvs["Lobby right"].locator("#display-heading")
    expect(heading).to_have_text("movievote · top 10 of the month")
    started = time.monotonic()
    desk.get_by_label("Language of Lobby right").select_option("pt-BR")
    expect(heading).to_have_text("movievote · top 10 do mês", timeout=PUSH_S * 1000)
    delays.append(time.monotonic() - started)
    expect(tvs["Lobby right"].locator("#display-total")).to_contain_text("neste mês")

    # switch another's board to all time, and it keeps it across a reload
    started = time.monotonic()
    desk.get_by_label("What Lobby left shows").select_option("all_time")
    left_heading = tvs["Lobby left"].locator("#display-heading")
    expect(left_heading).to_have_text("movievote · top 10 of all time", timeout=PUSH_S * 1000)
    delays.append(time.monotonic() - started)
    tvs["Lobby left"].reload()
    expect(left_heading).to_have_text("movievote · top 10 of all time", timeout=30_000)
    expect(tvs["Lobby left"].locator("#display-code")).to_have_count(0)
    tvs["Lobby right"].reload()
    expect(heading).to_have_text("movievote · top 10 do mês", timeout=30_000)

    # reload one remotely: a mark left in its page is gone
    tv = tvs["Bar"]
    tv.evaluate("window.__beforeReload = true")
    desk.get_by_role("button", name="Reload Bar corner").click()
    tv.wait_for_function("window.__beforeReload === undefined", timeout=PUSH_S * 1000)
    expect(tv.locator("#display-heading")).to_have_text("movievote · top 10 of the month")

    # last month's winner, then the hall of fame in rotation (or what each says without one)
    boards = {
        "winner": ("movievote · the movie of the month", "#display-big-winner", "is not out yet"),
        "hall_of_fame": ("movievote · hall of fame", "#display-fame", "No month has been"),
    }
    for board, (title, shown, missing) in boards.items():
        desk.get_by_label("What Bar corner shows").select_option(board)
        expect(tv.locator("#display-heading")).to_have_text(title, timeout=PUSH_S * 1000)
        expect(tv.locator(shown).or_(tv.get_by_text(missing))).to_be_visible()

    # unpair one: it shows a code again, and this month's public ranking
    desk.get_by_role("button", name="Unpair Lobby right").click()
    expect(row(desk, "Lobby right")).to_have_count(0)
    expect(tvs["Lobby right"].locator("#display-code")).to_have_text(CODE, timeout=PUSH_S * 1000)
    expect(heading).to_have_text("movievote · top 10 of the month")
    expect(desk.locator("#screen-count")).to_have_text("2 paired screens")

    print(f"desk -> screen: {', '.join(f'{d:.2f}' for d in delays)} s")
    assert max(delays) < PUSH_S
    for name in ("Lobby left", "Bar corner"):  # the screens go away with the test
        desk.get_by_role("button", name=f"Unpair {name}").click()
        expect(row(desk, name)).to_have_count(0)
    for tv in tvs.values():
        tv.context.close()
    desk.context.close()


@pytest.fixture(scope="module")
def screen_app(tmp_path_factory, migrated_database, prod_app) -> Iterator[ProdApp]:  # type: ignore[no-untyped-def]
    """A second instance of the app, on the same database as `prod_app` (the desk's): the
    screen's server, which the test kills."""
    project = project_copy(tmp_path_factory.mktemp("screen-project"))
    app = ProdApp(prod_app.env, tmp_path_factory.mktemp("screen-app"), free_port(), project)
    app.start()
    yield app
    app.stop()


def test_a_killed_screen_server_is_reported_then_live_again(
    browser, prod_app: ProdApp, screen_app: ProdApp
):
    desk = open_desk(browser, prod_app)
    tv, code = open_screen(browser, screen_app.base)
    name = f"Hall {uuid.uuid4().hex[:4]}"
    # paired on the desk's instance: the screen hears it by NOTIFY (PostgreSQL), or reads it
    # at its next check of its settings (a minute at most: two instances on one SQLite file)
    pair(desk, code, name)
    expect(tv.locator("#display-code")).to_have_count(0, timeout=90_000)
    health = row(desk, name).locator(".screen-health")
    expect(health).to_have_text("Live", timeout=LIVE_S * 1000)

    screen_app.stop()  # the screen's server is gone: no more heartbeats
    killed = time.monotonic()
    expect(health).to_have_text("Reconnecting", timeout=60_000)
    reconnecting = time.monotonic() - killed
    expect(health).to_have_text(
        re.compile(r"^Silent since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"), timeout=90_000
    )
    expect(desk.locator("#screens-alert")).to_contain_text(name)
    silent = time.monotonic() - killed
    assert prod_app.server is not None
    deadline = time.monotonic() + 30
    while f"({name!r}) has been silent since" not in prod_app.server.log.read_text():
        assert time.monotonic() < deadline, "no log line for the silent screen"
        time.sleep(1)

    screen_app.start()
    back = time.monotonic()
    expect(health).to_have_text("Live", timeout=60_000)
    desk.wait_for_function(  # the alert names it no more (or is gone with it)
        "(name) => !(document.querySelector('#screens-alert')?.textContent ?? '').includes(name)",
        arg=name,
    )
    print(
        f"reconnecting after {reconnecting:.0f} s, silent after {silent:.0f} s, "
        f"live {time.monotonic() - back:.0f} s after the restart"
    )
    tv.context.close()
    desk.context.close()
