"""The operator's story of a month's result, on the production app in a browser: members voted
in a past month; `movievote publish` publishes it; it lands in the hall of fame and on its
result page with the ranking; a member finds their ballot's pseudonym there, downloads the JSON
export from the page's link, and `movievote verify-results FILE --server URL` says OK (and fails
once a ballot in the file is altered); the lobby display shows the month's movie."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from playwright.sync_api import expect

from movievote.periods import (
    current_period,
    format_period,
    period_start,
    previous_period,
    results_due,
)
from tests.conftest import TEST_DATABASE_URL
from tests.e2e.conftest import ROOT, ProdApp, member, run_cli
from tests.e2e.test_admin import DESKTOP, log_in
from tests.e2e.test_display import TV

ZONE = ZoneInfo("UTC")  # the test apps' VOTE_TIMEZONE (unset) and RESULTS_GRACE_HOURS (24)
GRACE_HOURS = 24
WINNER, RUNNER_UP = 7, 8  # movies of the seeded catalogue


def past_month(now: datetime | None = None) -> date:
    """A month whose result is due, and the one a lobby shows: last month, or the month before
    while last month's grace runs (the first day of a month)."""
    now = now or datetime.now(UTC)
    last = previous_period(current_period(ZONE, now))
    return last if results_due(last, ZONE, GRACE_HOURS) <= now else previous_period(last)


_PUBLISHED: dict[str, list[dict[str, str]]] = {}  # this session's: month -> its voters


def publish_a_past_month(app: ProdApp) -> tuple[str, list[dict[str, str]]]:
    """Three members vote in a past month (two for WINNER), written as a SQL client would
    with that month's dates, then `movievote publish`; the month and its voters (once a
    session: the screenshots show it too)."""
    period = past_month()
    month = format_period(period)
    if month in _PUBLISHED:
        return month, _PUBLISHED[month]
    voters = [member(app.base, f"voter-{uuid.uuid4().hex[:10]}@example.com") for _ in range(3)]
    engine = sa.create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"))
    start = period_start(period, ZONE)
    with engine.begin() as conn:
        for n, (voter, movie) in enumerate(zip(voters, (WINNER, RUNNER_UP, WINNER), strict=True)):
            user_id = conn.scalar(
                sa.text("SELECT id FROM users WHERE email = :e"), {"e": voter["email"]}
            )
            conn.execute(
                sa.text(
                    "INSERT INTO votes (user_id, movie_id, period, created_at) "
                    "VALUES (:u, :m, :p, :t)"
                ),
                {"u": user_id, "m": movie, "p": period, "t": start + timedelta(days=2, hours=n)},
            )
    engine.dispose()
    run_cli(app.env, "publish")  # the server's own publisher may be first: the same result
    _PUBLISHED[month] = voters
    return month, voters


def verify(app: ProdApp, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "movievote.cli", "verify-results", str(path), "--server", app.base],
        env=app.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_published_month_reaches_its_pages_and_anyone_can_check_it(
    browser, prod_app: ProdApp, tmp_path: Path
):
    base = prod_app.base
    month, voters = publish_a_past_month(prod_app)
    result = httpx.get(f"{base}/api/results/{month}").json()
    assert [(p["movie"]["id"], p["votes"]) for p in result["ranking"]] == [
        (WINNER, 2),
        (RUNNER_UP, 1),
    ]
    title = result["winner"]["movie"]["title"]
    mine = httpx.get(
        f"{base}/api/results/{month}/my-ballot", headers={"Authorization": voters[1]["auth"]}
    ).json()

    context = browser.new_context(base_url=base, viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    log_in(page, voters[1]["email"])
    page.get_by_role("link", name="Hall of fame").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hall of fame")
    card = page.locator(".winner-card").first
    expect(card.locator(".winner-title")).to_have_text(title)
    month_name = f"{datetime.strptime(month, '%Y-%m'):%B %Y}"
    expect(card.locator(".winner-month")).to_have_text(month_name)
    expect(card).to_contain_text("2 votes · 66.7% of the month's votes")
    card.get_by_role("link").click()

    expect(page).to_have_url(f"{base}/results/{month}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Result of {month_name}")
    expect(page.locator("#result-winner")).to_have_text(f"Movie of {month_name}: {title} · 2 votes")
    expect(page.locator("#result-total")).to_contain_text("3 votes counted · published on")
    expect(page.locator(".ranking-row")).to_have_count(2)
    expect(page.locator(".ranking-row").first).to_contain_text(title)
    expect(page.locator("#result-sha256")).to_have_text(result["ballots_sha256"])
    expect(page.locator("#verify-command")).to_have_text(
        f"movievote verify-results movievote-{month}.json --server {base}"
    )
    expect(page.locator("#my-ballot")).to_have_text(
        f"Your pseudonym this month is {mine['voter']}, and your ballot is vote "
        f"{mine['vote_id']}: look for them in the ballots file."
    )

    with page.expect_download() as download:
        page.locator("#download-json").click()
    assert download.value.suggested_filename == f"movievote-{month}.json"
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    document = json.loads(exported.read_text())
    assert mine["voter"] in {b["voter"] for b in document["ballots"]}
    checked = verify(prod_app, exported)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"OK: {month}: 3 ballots"), checked.stdout

    altered = tmp_path / f"altered-{month}.json"
    first = document["ballots"][0]
    first["movie_id"] = RUNNER_UP if first["movie_id"] == WINNER else WINNER  # one ballot
    altered.write_text(json.dumps(document))
    refused = verify(prod_app, altered)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout.startswith("FAILED") and "SHA-256 mismatch" in refused.stdout

    page.goto("/results/2999-01")  # not yet: when
    expect(page.locator("#result-notice")).to_contain_text(
        "The result of January 2999 will be published on"
    )
    page.goto("/results/not-a-month")
    expect(page.locator("#result-invalid")).to_be_visible()
    context.close()

    screen = browser.new_context(base_url=base, viewport=TV).new_page()
    screen.goto("/display")
    expect(screen.locator("#display-winner")).to_have_text(
        f"Movie of {month_name.split()[0]}: {title} · 2 votes"
    )
    expect(screen.locator("#display-total")).to_be_visible()
    screen.context.close()
