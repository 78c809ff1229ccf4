"""API: rate (201 new, 200 changed), take back (204), the public reviews, my ratings; bad
input is 422 with the reason; unknown movie 404, hidden movie 409, no token 401; the catalogue
sorts by the Bayesian average and every movie carries its rating count and mean."""

from __future__ import annotations

import sqlalchemy as sa

from movievote.root import get_root
from movievote.services import admin
from tests.integration.test_api_accounts import assert_error


async def folded() -> None:
    assert await get_root().ratings.caught_up()


async def test_rate_change_and_take_back(api, movies, login):
    headers = await login("ana@example.com")
    url = f"/api/movies/{movies[0]}/rating"
    given = await api.put(url, json={"stars": 4.5, "review": " A classic. "}, headers=headers)
    assert given.status_code == 201, given.text
    body = given.json()
    assert (body["movie_id"], body["stars"], body["review"]) == (movies[0], 4.5, "A classic.")
    assert set(body) == {"movie_id", "stars", "review", "created_at", "updated_at"}
    changed = await api.put(url, json={"stars": 3}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["stars"], changed.json()["review"]) == (3.0, None)
    assert changed.json()["created_at"] == body["created_at"]
    await folded()
    movie = (await api.get(f"/api/movies/{movies[0]}")).json()
    assert (movie["rating_count"], movie["rating_average"]) == (1, 3.0)
    assert movie["rating_score"] == 3.0  # the only rating: the global mean is the same
    removed = await api.delete(url, headers=headers)
    assert removed.status_code == 204 and removed.content == b""
    assert (await api.delete(url, headers=headers)).status_code == 204  # idempotent
    await folded()
    movie = (await api.get(f"/api/movies/{movies[0]}")).json()
    assert (movie["rating_count"], movie["rating_average"], movie["rating_score"]) == (
        0,
        None,
        None,
    )


async def test_bad_input_is_422_with_the_reason(api, movies, login):
    headers = await login()
    url = f"/api/movies/{movies[0]}/rating"
    for body, field, reason in (
        ({"stars": 7}, "stars", "less than or equal to 5"),
        ({"stars": 0.3}, "stars", "multiple of 0.5"),
        ({"stars": 0}, "stars", "greater than or equal to 0.5"),
        ({"stars": "many"}, "stars", "valid number"),
        ({}, "stars", "required"),
        ({"stars": 4, "review": "x" * 5000}, "review", "at most 1000 characters"),
    ):
        refused = assert_error(await api.put(url, json=body, headers=headers), 422, "invalid_input")
        assert refused["field"] == field and reason in refused["detail"], refused
    in_portuguese = await api.put(
        url, json={"stars": 7}, headers={**headers, "Accept-Language": "pt-BR"}
    )
    assert in_portuguese.json()["detail"].startswith("Valor inválido")
    assert_error(await api.put(url, json={"stars": 4}), 401, "not_authenticated")
    assert_error(await api.delete(url), 401, "not_authenticated")
    assert_error(
        await api.put(url, json={"stars": 4}, headers={"Authorization": "Bearer nope"}),
        401,
        "invalid_token",
    )
    assert_error(await api.get("/api/me/ratings"), 401, "not_authenticated")
    missing = "/api/movies/424242/rating"
    assert_error(await api.put(missing, json={"stars": 4}, headers=headers), 404, "movie_not_found")
    assert_error(await api.delete(missing, headers=headers), 404, "movie_not_found")
    assert_error(await api.get("/api/movies/424242/ratings"), 404, "movie_not_found")
    assert_error(await api.get(f"/api/movies/{movies[0]}/ratings?page=0"), 422, "invalid_input")
    assert_error(
        await api.get(f"/api/movies/{movies[0]}/ratings?page_size=51"), 422, "invalid_input"
    )


async def test_hidden_movie_is_409_blocked_member_403_unverified_403(api, movies, login, db):
    headers = await login()
    await admin.hide_movie(movie_id=movies[1], reason="dup", actor=admin.Actor(None, "cli"), db=db)
    hidden = await api.put(f"/api/movies/{movies[1]}/rating", json={"stars": 4}, headers=headers)
    assert_error(hidden, 409, "movie_hidden")
    unverified = await login("new@example.com", verified=False)
    refused = await api.put(
        f"/api/movies/{movies[0]}/rating", json={"stars": 4}, headers=unverified
    )
    assert_error(refused, 403, "email_not_verified")
    blocked = await login("blocked@example.com")
    async with db.engine.connect() as conn:
        user_id = await conn.scalar(
            sa.text("SELECT id FROM users WHERE email = 'blocked@example.com'")
        )
    await admin.block_member(user_id=user_id, reason="spam", actor=admin.Actor(None, "cli"), db=db)
    refused = await api.put(f"/api/movies/{movies[0]}/rating", json={"stars": 4}, headers=blocked)
    assert_error(refused, 403, "account_blocked")  # as the vote says it


async def test_reviews_are_public_newest_first_and_mine_are_mine(api, movies, login):
    ana = await login("ana@example.com")
    bia = await login("bia@example.com")
    await api.put(
        f"/api/movies/{movies[0]}/rating", json={"stars": 4, "review": "Ana"}, headers=ana
    )
    await api.put(f"/api/movies/{movies[0]}/rating", json={"stars": 2.5}, headers=bia)
    await api.put(f"/api/movies/{movies[2]}/rating", json={"stars": 5}, headers=ana)
    await folded()
    page = (await api.get(f"/api/movies/{movies[0]}/ratings")).json()
    assert [(r["reviewer"], r["stars"], r["review"]) for r in page["items"]] == [
        ("bia", 2.5, None),
        ("ana", 4.0, "Ana"),
    ]
    assert (page["total"], page["page"], page["page_size"]) == (2, 1, 10)
    assert "user_id" not in page["items"][0] and "email" not in page["items"][0]
    second = (await api.get(f"/api/movies/{movies[0]}/ratings?page=2&page_size=1")).json()
    assert [r["reviewer"] for r in second["items"]] == ["ana"]
    mine = (await api.get("/api/me/ratings?language=pt-BR", headers=ana)).json()
    assert [(r["movie_id"], r["stars"]) for r in mine["items"]] == [
        (movies[2], 5.0),
        (movies[0], 4.0),
    ]
    assert mine["items"][0]["title"] == "Parasite" and mine["total"] == 2


async def test_top_rated_sort_and_rating_fields_in_the_catalogue(api, movies, login):
    raters = [await login(f"r{i}@example.com") for i in range(4)]
    await api.put(f"/api/movies/{movies[4]}/rating", json={"stars": 5}, headers=raters[0])
    for headers in raters:
        await api.put(f"/api/movies/{movies[2]}/rating", json={"stars": 4.5}, headers=headers)
        await api.put(f"/api/movies/{movies[0]}/rating", json={"stars": 2}, headers=headers)
    await folded()
    listed = (await api.get("/api/movies", params={"sort": "top_rated"})).json()
    # the mean is 3.4 stars: four 4.5s beat a lone 5
    assert [m["id"] for m in listed["items"]][:3] == [movies[2], movies[4], movies[0]]
    assert [m["rating_count"] for m in listed["items"]] == [4, 1, 4, 0, 0]
    assert listed["items"][0]["rating_average"] == 4.5
    by_title = (await api.get("/api/movies")).json()
    assert {m["id"]: m["rating_count"] for m in by_title["items"]}[movies[2]] == 4
    ranking = (await api.get("/api/ranking")).json()
    assert ranking["items"] == []  # rankings are about votes; their movies carry no ratings
    assert_error(await api.get("/api/movies", params={"sort": "best"}), 422, "invalid_input")


async def test_one_path_two_methods_allow_lists_both_and_a_broken_body_is_400(api, movies, login):
    url = f"/api/movies/{movies[0]}/rating"
    refused = await api.request("OPTIONS", url)
    assert_error(refused, 405, "method_not_allowed")
    assert refused.headers["Allow"] == "DELETE, PUT"  # Starlette alone named the first route
    assert "use DELETE, PUT" in refused.json()["detail"]
    assert (await api.post(url)).headers["Allow"] == "DELETE, PUT"
    headers = {**await login(), "Content-Type": "application/json"}
    assert_error(await api.put(url, content=b"\xff{", headers=headers), 400, "malformed_body")
