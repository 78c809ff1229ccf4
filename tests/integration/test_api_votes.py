"""API: movies, votes (once a month, concurrently), the notification after the response."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from tests.integration.test_api_accounts import assert_error


async def test_movies_list_filters_and_bounds(api, movies):
    body = (await api.get("/api/movies", params={"genre": "crime"})).json()
    assert [m["title"] for m in body["items"]] == ["City of God", "The Godfather"]
    assert (body["total"], body["page"], body["page_size"]) == (2, 1, 24)
    paged = (await api.get("/api/movies", params={"page": 2, "page_size": 2})).json()
    assert [m["title"] for m in paged["items"]] == ["Parasite", "Spirited Away"] and paged[
        "total"
    ] == 5
    for bad in ({"page_size": 0}, {"page_size": 101}, {"page": 0}, {"year": "abc"}):
        assert_error(await api.get("/api/movies", params=bad), 422, "invalid_input")


async def test_one_movie_and_not_found(api, movies):
    movie = (await api.get(f"/api/movies/{movies[1]}")).json()
    assert movie["title"] == "Spirited Away" and movie["genres"] == ["Animation", "Fantasy"]
    assert_error(await api.get("/api/movies/999999"), 404, "movie_not_found")
    assert_error(await api.get("/api/movies/99999999999999999999"), 422, "invalid_input")
    assert_error(await api.get("/api/movies/abc"), 422, "invalid_input")


async def test_vote_then_already_voted_with_the_vote_cast(api, movies, login, db):
    headers = await login()
    cast = await api.post(f"/api/vote/{movies[2]}", headers=headers)
    assert cast.status_code == 201, cast.text
    vote = cast.json()
    assert set(vote) >= {"id", "movie_id", "period", "created_at", "next_vote_at"}
    assert vote["movie_id"] == movies[2]
    again = await api.post(f"/api/vote/{movies[0]}", headers=headers)
    body = assert_error(again, 409, "already_voted")
    assert (body["period"], body["movie_id"], body["next_vote_at"]) == (
        vote["period"],
        movies[2],
        vote["next_vote_at"],
    )
    mine = (await api.get("/api/votes/me", headers=headers)).json()
    assert mine["vote"]["id"] == vote["id"] and mine["can_vote"] is False
    assert mine["next_vote_at"] == vote["next_vote_at"] and mine["period"] == vote["period"]


async def test_vote_errors(api, movies, login):
    headers = await login()
    assert_error(await api.post(f"/api/vote/{movies[0]}"), 401, "not_authenticated")
    assert_error(await api.post("/api/vote/424242", headers=headers), 404, "movie_not_found")
    assert_error(await api.post("/api/vote/0", headers=headers), 422, "invalid_input")
    mine = (await api.get("/api/votes/me", headers=headers)).json()
    assert mine["vote"] is None and mine["can_vote"] is True and mine["next_vote_at"] is None


async def test_a_deleted_account_cannot_vote_with_its_old_token(api, movies, login, db):
    headers = await login("gone@example.com")
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE email = 'gone@example.com'"))
    assert_error(await api.post(f"/api/vote/{movies[0]}", headers=headers), 401, "invalid_token")
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM votes")) == 0


async def test_the_vote_registered_notification_is_sent_after_the_response(api, movies, login, db):
    headers = await login()
    vote = (await api.post(f"/api/vote/{movies[0]}", headers=headers)).json()
    from movievote.root import get_root

    await get_root().dispatcher.settle()  # the background task queued it
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT channel, kind, status, payload FROM notifications WHERE kind = 'vote_registered'"
                )
            )
        ).all()
    assert len(rows) == 1
    channel, kind, status, payload = rows[0]
    assert (channel, kind, status) == ("in_app", "vote_registered", "sent")
    payload = payload if isinstance(payload, dict) else __import__("json").loads(payload)
    assert payload["movie_title"] == "The Godfather" and payload["vote_id"] == vote["id"]


@pytest.mark.parametrize("attempts", [50])
async def test_50_parallel_votes_by_one_user_give_one_201_and_49_409(
    api, movies, login, db, attempts
):
    headers = await login()
    responses = await asyncio.gather(
        *(api.post(f"/api/vote/{movies[i % 5]}", headers=headers) for i in range(attempts))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (attempts - 1), statuses
    from movievote.root import get_root

    await get_root().dispatcher.settle()
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM votes")) == 1
        assert (
            await conn.scalar(
                sa.text("SELECT count(*) FROM notifications WHERE kind = 'vote_registered'")
            )
            == 1
        )
