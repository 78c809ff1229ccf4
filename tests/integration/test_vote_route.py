"""The vote route in front of the stack (api.vote_route): the ordinary vote answered without
Reflex and FastAPI, with the answers FastAPI gives; everything else handed to the stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from movievote.api.app import create_api, vote_route_in_front, with_edges
from movievote.api.vote_route import VoteRoute
from movievote.config import get_settings
from movievote.root import get_root

Clients = tuple[httpx.AsyncClient, httpx.AsyncClient, VoteRoute]


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    """A client of the route in front of the stack (the API behind the edges), and one of the
    stack alone: the same request should get the same answer from both."""
    stack = with_edges(create_api(), get_settings())
    route = vote_route_in_front(stack, get_settings())
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=route, client=("203.0.113.7", 50000)),
            base_url="http://movievote.test",
        ) as fast,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=stack, client=("203.0.113.7", 50000)),
            base_url="http://movievote.test",
        ) as slow,
    ):
        yield fast, slow, route


def same_answer(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.json() == b.json()
    for name in (
        "content-type",
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
        "www-authenticate",
        "retry-after",
    ):
        assert a.headers.get(name) == b.headers.get(name), name


async def test_a_vote_is_answered_in_front_with_the_route_s_answer(clients, movies, login, db):
    fast, slow, route = clients
    headers = await login("a@example.com")
    answer = await fast.post(f"/api/vote/{movies[0]}", headers=headers)
    assert answer.status_code == 201, answer.text
    assert route.answered == 1
    vote = answer.json()
    assert set(vote) == {"id", "movie_id", "period", "created_at", "next_vote_at", "voided_at"}
    assert vote["movie_id"] == movies[0] and vote["voided_at"] is None
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    # the FastAPI route answers another member's vote the same way, field for field
    other = (await slow.post(f"/api/vote/{movies[0]}", headers=await login("b@example.com"))).json()
    for field in ("period", "next_vote_at", "voided_at", "movie_id"):
        assert other[field] == vote[field]
    assert len(other["created_at"]) == len(vote["created_at"]) or other["created_at"][-1] == "Z"
    await get_root().dispatcher.settle()
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM votes")) == 2
        assert (
            await conn.scalar(
                sa.text("SELECT count(*) FROM notifications WHERE kind = 'vote_registered'")
            )
            == 2
        )


async def test_refusals_get_fastapi_s_answers(clients, movies, login, db):
    fast, slow, route = clients
    headers = await login("a@example.com")
    assert (await fast.post(f"/api/vote/{movies[0]}", headers=headers)).status_code == 201
    for path in (f"/api/vote/{movies[1]}", "/api/vote/999999"):
        same_answer(await fast.post(path, headers=headers), await slow.post(path, headers=headers))
    assert route.answered == 3
    # a hidden movie, an unverified address, an ended session
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE movies SET hidden_at = CURRENT_TIMESTAMP WHERE id = :m"),
            {"m": movies[2]},
        )
    hider = await login("h@example.com")
    path = f"/api/vote/{movies[2]}"
    same_answer(await fast.post(path, headers=hider), await slow.post(path, headers=hider))
    unverified = await login("u@example.com", verified=False)
    path = f"/api/vote/{movies[1]}"
    for language in ("en", "pt-BR"):
        asked = {**unverified, "Accept-Language": language}
        same_answer(await fast.post(path, headers=asked), await slow.post(path, headers=asked))
    ended = await login("e@example.com")
    assert (await slow.post("/api/logout", headers=ended)).status_code == 204
    same_answer(await fast.post(path, headers=ended), await slow.post(path, headers=ended))


async def test_what_the_route_does_not_answer_goes_through_the_stack(clients, movies, login):
    fast, slow, route = clients
    headers = await login("a@example.com")
    cases = [
        ("POST", f"/api/vote/{movies[0]}", {}),  # no token: 401 not_authenticated
        ("POST", f"/api/vote/{movies[0]}", {"Authorization": "Bearer nonsense"}),  # 401
        ("POST", f"/api/vote/{movies[0]}", {"Authorization": "Basic abc"}),
        ("POST", "/api/vote/0", headers),  # out of range: 422
        ("POST", "/api/vote/99999999999", headers),
        ("POST", "/api/vote/abc", headers),
        ("GET", f"/api/vote/{movies[0]}", headers),  # 405
        ("POST", f"/api/vote/{movies[0]}?x=1", {**headers, "Authorization": "Bearer x"}),
    ]
    for method, path, sent in cases:
        same_answer(
            await fast.request(method, path, headers=sent),
            await slow.request(method, path, headers=sent),
        )
    # a body declared over the limit: the edges' 413, not read
    big = {**headers, "Content-Length": str(10_000_000)}
    refused = await fast.post(f"/api/vote/{movies[0]}", headers=big, content=b"")
    assert refused.status_code == 413 and refused.json()["code"] == "body_too_large"
    # a request from a browser page of another origin: CORS is the stack's (Reflex's) call
    crossed = await fast.post(
        f"/api/vote/{movies[0]}", headers={**headers, "Origin": "https://elsewhere.example"}
    )
    assert crossed.status_code == 201  # the edges and the API answered it
    assert route.answered == 0
    assert (await fast.post(f"/api/vote/{movies[0]}", headers=headers)).status_code == 409
    assert route.answered == 1


async def test_a_database_outage_is_503_with_retry_after(clients, movies, login, monkeypatch):
    fast, _slow, _route = clients
    headers = await login("a@example.com")

    async def away(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise psycopg.OperationalError("connection refused")

    from movievote.services import voting

    monkeypatch.setattr(voting, "_insert_vote", away)
    monkeypatch.setattr(get_root().ballot_box, "_insert", away)
    answer = await fast.post(f"/api/vote/{movies[0]}", headers=headers)
    assert answer.status_code == 503 and answer.json()["code"] == "unavailable"
    assert answer.headers["retry-after"] == "5"
    assert answer.headers["x-content-type-options"] == "nosniff"
