"""Many workers on Redis: every browser and every worker's API follow every vote, including
votes written by another process. PostgreSQL only (SQLite is for one process)."""

from __future__ import annotations

import os
import re
import time
import uuid

import httpx
import psutil
import pytest
import redis
from playwright.sync_api import expect

from tests.conftest import IS_POSTGRES
from tests.e2e.conftest import (
    MAIL,
    STATE_EXPIRY_S,
    ProdApp,
    free_port,
    member,
    prod_env,
    project_copy,
)
from tests.e2e.test_display import TV, outlives_the_expiry_of_its_server_state, vote_through_api

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="many workers need PostgreSQL")
REDIS_URL = os.environ.get("MOVIEVOTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKERS = 3


@pytest.fixture(scope="module")
def workers_app(tmp_path_factory, migrated_database, prod_app) -> ProdApp:  # type: ignore[no-untyped-def]
    """A second app instance, on the same database as `prod_app`: 3 workers, state in Redis,
    expiring after STATE_EXPIRY_S of quiet like the first app's."""
    redis.Redis.from_url(REDIS_URL).flushdb()  # no state left from an earlier run
    env = prod_env(
        migrated_database,
        REFLEX_REDIS_URL=REDIS_URL,
        GRANIAN_WORKERS=str(WORKERS),
        REFLEX_REDIS_TOKEN_EXPIRATION=str(STATE_EXPIRY_S),
        NOTIFY_SMTP_URL=MAIL.url,  # started by prod_app's fixture
    )
    project = project_copy(tmp_path_factory.mktemp("workers-project"))
    app = ProdApp(env, tmp_path_factory.mktemp("workers"), free_port(), project)
    app.start()
    yield app
    app.stop()


def listens(process: psutil.Process) -> bool:
    """Whether a process of the server's tree listens on TCP; short-lived children (the
    recommender's training process) may exit between the listing and the question."""
    try:
        return any(c.status == psutil.CONN_LISTEN for c in process.net_connections("tcp"))
    except psutil.NoSuchProcess:
        return False


def worker_pids(app: ProdApp) -> list[int]:
    root = psutil.Process(app.server.proc.pid)  # type: ignore[union-attr]
    return [p.pid for p in root.children(recursive=True) if listens(p)]


def owners_of_connections(app: ProdApp) -> set[int]:
    """Workers holding at least one established client connection (a page's websocket)."""
    return {
        pid
        for pid in worker_pids(app)
        if any(
            c.status == psutil.CONN_ESTABLISHED and c.laddr.port == app.port
            for c in psutil.Process(pid).net_connections("tcp")
        )
    }


def total_of(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#display-total").inner_text().split()[0])


def test_it_runs_three_workers(workers_app: ProdApp):
    assert len(worker_pids(workers_app)) == WORKERS


def test_browsers_on_different_workers_all_see_each_vote_within_a_second(
    browser, workers_app: ProdApp
):
    pages = []
    for _ in range(6):
        page = browser.new_context(base_url=workers_app.base, viewport=TV).new_page()
        page.goto("/display")
        expect(page.locator("#display-total")).to_have_text(re.compile(r"^\d+ votes? this month$"))
        pages.append(page)
    assert len(owners_of_connections(workers_app)) >= 2  # the pages are spread over workers
    for movie_id in (7, 8, 7):
        before = total_of(pages[0])
        vote_through_api(workers_app.base, movie_id)
        answered = time.monotonic()
        for page in pages:
            expect(page.locator("#display-total")).to_have_text(
                re.compile(rf"^{before + 1} votes? this month$"), timeout=3_000
            )
        assert time.monotonic() - answered < 1.0
    for page in pages:
        page.context.close()


def assert_every_worker_follows_a_vote_within_a_second(base: str, movie_id: int) -> None:
    before = httpx.get(f"{base}/api/ranking").json()["total_votes"]
    vote_through_api(base, movie_id)
    answered = time.monotonic()
    stale_after_a_second = []
    while time.monotonic() - answered < 2.0:
        with httpx.Client() as fresh:  # a new connection each time: any worker may answer
            total = fresh.get(f"{base}/api/ranking").json()["total_votes"]
        if total < before + 1 and time.monotonic() - answered > 1.0:
            stale_after_a_second.append(total)
    assert stale_after_a_second == []


def test_the_api_ranking_on_every_worker_follows_a_vote_within_a_second(workers_app: ProdApp):
    assert_every_worker_follows_a_vote_within_a_second(workers_app.base, 9)


def test_workers_that_lose_their_listener_connection_come_back(
    workers_app: ProdApp, migrated_database: str
):
    import psycopg
    import sqlalchemy as sa

    dsn = sa.make_url(migrated_database).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'movievote-listener' AND datname = current_database()"
        ).fetchone()[0]  # type: ignore[index]
    assert killed >= WORKERS  # every worker's (and the one-worker app's, same database)
    time.sleep(2)  # they reconnect after a second
    assert_every_worker_follows_a_vote_within_a_second(workers_app.base, 11)


def test_a_vote_written_by_another_process_reaches_an_open_display(
    browser, workers_app: ProdApp, migrated_database: str
):
    import psycopg
    import sqlalchemy as sa

    page = browser.new_context(base_url=workers_app.base, viewport=TV).new_page()
    page.goto("/display")
    expect(page.locator("#display-total")).to_have_text(re.compile(r"^\d+ votes? this month$"))
    before = total_of(page)
    made = member(workers_app.base, f"sql-{uuid.uuid4().hex[:10]}@example.com")
    user_id = httpx.get(
        f"{workers_app.base}/api/me", headers={"Authorization": made["auth"]}
    ).json()["id"]
    dsn = sa.make_url(migrated_database).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as conn:  # a SQL client, not the app
        conn.execute(
            "INSERT INTO votes (user_id, movie_id, period, created_at) "
            "VALUES (%s, 10, date_trunc('month', now() AT TIME ZONE 'UTC')::date, now())",
            (user_id,),
        )
    written = time.monotonic()
    expect(page.locator("#display-total")).to_have_text(
        re.compile(rf"^{before + 1} votes? this month$"), timeout=5_000
    )
    assert time.monotonic() - written < 3.0  # folded within a second, then pushed
    page.context.close()


def test_a_display_outlives_the_expiry_of_its_state_in_redis(browser, workers_app: ProdApp):
    """In Redis, a state nobody changes expires even while its page keeps sending events."""
    outlives_the_expiry_of_its_server_state(browser, workers_app.base)
