"""The live leaderboard: a vote from another browser or from the API appears without reload."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, member
from tests.e2e.test_browser import DESKTOP, PHONE, log_in


def _voter(base: str) -> dict[str, str]:
    return member(base, f"lb-{uuid.uuid4().hex[:10]}@example.com")


def votes(n: int) -> str:
    return f"{n} vote" if n == 1 else f"{n} votes"


def _total(page) -> int:  # type: ignore[no-untyped-def]
    return int(re.match(r"(\d+)", page.locator("#ranking-total").inner_text())[1])


def test_leaderboard_follows_votes_from_another_browser_and_from_the_api(browser, prod_backend):
    watcher = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    watcher.goto("/leaderboard")
    expect(watcher).to_have_title("Leaderboard · movievote")
    expect(watcher.locator("#ranking-total")).to_be_visible()
    before = _total(watcher)

    voter = _voter(prod_backend)
    voting = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    log_in(voting, voter["email"])
    expect(voting.locator("#whoami")).to_be_visible()
    voting.locator(".movie-card").first.get_by_role("button", name="Vote").click()
    expect(voting.locator("#vote-banner")).to_be_visible()
    started = time.monotonic()
    expect(watcher.locator("#ranking-total")).to_have_text(votes(before + 1), timeout=5_000)
    browser_latency = time.monotonic() - started

    other = _voter(prod_backend)
    response = httpx.post(f"{prod_backend}/api/vote/2", headers={"Authorization": other["auth"]})
    assert response.status_code == 201, response.text
    started = time.monotonic()
    expect(watcher.locator("#ranking-total")).to_have_text(votes(before + 2), timeout=5_000)
    api_latency = time.monotonic() - started
    assert browser_latency < 1.5 and api_latency < 1.0, (browser_latency, api_latency)
    expect(watcher.locator(".ranking-row").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    watcher.screenshot(path=str(ARTIFACTS / "leaderboard-desktop.png"), full_page=True)
    watcher.set_viewport_size(PHONE)
    watcher.screenshot(path=str(ARTIFACTS / "leaderboard-phone.png"), full_page=False)
    watcher.context.close()
    voting.context.close()


def test_all_time_view(browser, prod_backend):
    page = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    page.goto("/leaderboard")
    expect(page.locator("#ranking-total")).to_be_visible()
    page.get_by_label("Which ranking").click()
    page.get_by_role("option", name="All time").click()
    expect(page.locator("#ranking-total")).to_have_text(re.compile(r"^\d+ votes?$"))
    page.context.close()


def _month_ranking(base: str, language: str = "en") -> list[dict]:  # type: ignore[type-arg]
    answer = httpx.get(
        f"{base}/api/ranking", params={"period": "current", "limit": 10, "language": language}
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def _month_total(base: str) -> int:
    answer = httpx.get(f"{base}/api/ranking", params={"period": "current", "limit": 1})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total_votes"])


def _an_unranked_movie(base: str, ranked: set[int]) -> int:
    listed = httpx.get(f"{base}/api/movies", params={"page": 1})
    assert listed.status_code == 200, listed.text
    return next(m["id"] for m in listed.json()["items"] if m["id"] not in ranked)


def test_a_vote_that_moves_a_movie_is_announced_politely_and_only_the_change(browser, prod_backend):
    """The aria-live region's text after a vote: empty on load (the whole ranking is never
    read out), then the move alone, in each page's language."""
    from movievote.live import ANNOUNCE_SECONDS

    time.sleep(ANNOUNCE_SECONDS + 1)  # news of earlier tests' votes, if any, has gone out
    board = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    board.goto("/leaderboard")
    expect(board.locator("#ranking-total")).to_be_visible()
    screen = browser.new_context(base_url=prod_backend, viewport=DESKTOP).new_page()
    screen.goto("/display?lang=pt-BR")
    expect(screen.locator("#display-total")).to_be_visible()
    regions = [page.locator("#ranking-announcement") for page in (board, screen)]
    for region in regions:
        expect(region).to_have_attribute("role", "status")
        expect(region).to_have_attribute("aria-live", "polite")
        expect(region).to_have_attribute("aria-atomic", "true")
        box = region.bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1  # heard, not seen
        expect(region).to_have_text("")  # loading the page announced nothing

    # the movie second in this month's ranking (or one with no vote) takes the lead, a vote at
    # a time, each waited for in the ranking (a 201 is committed; the cache folds it within a
    # second): so the title expected is the one the pages hold, not a reading taken before
    # the fold
    ranked = _month_ranking(prod_backend)
    if len(ranked) >= 2:
        target = ranked[1]["movie"]["id"]
    else:
        target = _an_unranked_movie(prod_backend, {r["movie"]["id"] for r in ranked})
    total = _month_total(prod_backend)
    while not ranked or ranked[0]["movie"]["id"] != target:
        response = httpx.post(
            f"{prod_backend}/api/vote/{target}",
            headers={"Authorization": _voter(prod_backend)["auth"]},
        )
        assert response.status_code == 201, response.text
        total += 1
        deadline = time.monotonic() + 5
        while _month_total(prod_backend) < total:
            assert time.monotonic() < deadline, "the vote never reached the ranking"
            time.sleep(0.05)
        ranked = _month_ranking(prod_backend)
    title = {
        language: next(
            row["movie"]["title"]
            for row in _month_ranking(prod_backend, language)
            if row["movie"]["id"] == target
        )
        for language in ("en", "pt-BR")
    }
    timeout = (ANNOUNCE_SECONDS + 5) * 1000
    expect(regions[0]).to_have_text(f"{title['en']} is now first.", timeout=timeout)
    expect(regions[1]).to_have_text(
        f"{title['pt-BR']} agora está em primeiro lugar.", timeout=timeout
    )
    board.context.close()
    screen.context.close()
