"""The JSON API served by the real production backend over TCP, mounted in Reflex."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from tests.conftest import TEST_DATABASE_URL
from tests.e2e.conftest import member


def _account(base: str) -> tuple[str, dict[str, str]]:
    made = member(base, f"e2e-{uuid.uuid4().hex[:10]}@example.com")
    return made["email"], {"Authorization": made["auth"]}


def _vote_while_streaming(
    base: str, movie_id: int, headers: dict[str, str]
) -> tuple[dict, httpx.Response, dict, float]:
    """Open the ranking stream, vote, read the next event: (first event, the vote's response,
    the event after it, seconds from the vote to that event)."""
    with (
        httpx.Client(base_url=base, timeout=10) as watcher,
        watcher.stream("GET", "/api/ranking/stream") as stream,
    ):
        lines = stream.iter_lines()
        first = _next_event(lines)
        started = time.monotonic()
        vote = httpx.post(f"{base}/api/vote/{movie_id}", headers=headers)
        assert vote.status_code == 201, vote.text
        update = _next_event(lines)
        return first, vote, update, time.monotonic() - started


def test_a_vote_over_tcp_reaches_a_live_stream_and_the_ranking(prod_backend):
    base = prod_backend
    assert httpx.get(f"{base}/api/docs").status_code == 200
    assert httpx.get(f"{base}/api/openapi.json").json()["info"]["title"] == "movievote API"
    movie = httpx.get(f"{base}/api/movies", params={"q": "Parasite"}).json()["items"][0]
    _, headers = _account(base)
    first, vote, update, seconds = _vote_while_streaming(base, movie["id"], headers)
    assert seconds < 1.0
    assert update["total_votes"] == first["total_votes"] + 1
    counted = {e["movie"]["id"]: e["votes"] for e in update["items"]}
    assert counted[movie["id"]] >= 1
    again = httpx.post(f"{base}/api/vote/{movie['id']}", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "already_voted"
    mine = httpx.get(f"{base}/api/votes/me", headers=headers).json()
    assert mine["vote"]["id"] == vote.json()["id"] and mine["can_vote"] is False


def test_streams_are_never_dropped_by_the_server(prod_backend):
    """Regression: the stream read `receive` twice (Starlette's disconnect listener and
    `request.is_disconnected()`), and granian then closed about one stream in ten mid-body."""
    base = prod_backend
    for n in range(40):
        _, headers = _account(base)
        first, _, update, _ = _vote_while_streaming(base, n % 7 + 20, headers)
        assert update["total_votes"] > first["total_votes"]


def test_a_vote_written_by_another_process_reaches_the_api_within_a_second(prod_backend):
    base = prod_backend
    email, _ = _account(base)
    before = httpx.get(f"{base}/api/ranking").json()["total_votes"]
    engine = sa.create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"))
    now = datetime.now(UTC)
    with engine.begin() as conn:  # a SQL client, not the app
        user_id = conn.scalar(sa.text("SELECT id FROM users WHERE email = :e"), {"e": email})
        conn.execute(
            sa.text(
                "INSERT INTO votes (user_id, movie_id, period, created_at) VALUES (:u, 1, :p, :t)"
            ),
            {"u": user_id, "p": now.date().replace(day=1), "t": now},
        )
    engine.dispose()
    started = time.monotonic()
    while httpx.get(f"{base}/api/ranking").json()["total_votes"] != before + 1:
        assert time.monotonic() - started < 2.0, "the periodic fold did not pick the vote up"
        time.sleep(0.05)


def _next_event(lines) -> dict:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "ranking":
            return json.loads(line[6:])
    raise AssertionError("stream ended")
