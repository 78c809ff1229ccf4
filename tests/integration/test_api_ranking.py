"""API: the cached ranking with ETags; health; OpenAPI."""

from __future__ import annotations

from tests.integration.test_api_accounts import assert_error


async def test_ranking_reflects_votes_with_an_etag(api, movies, login):
    empty = await api.get("/api/ranking")
    assert empty.status_code == 200
    assert empty.json()["total_votes"] == 0 and empty.json()["items"] == []
    etag = empty.headers["ETag"]
    assert (await api.get("/api/ranking", headers={"If-None-Match": etag})).status_code == 304
    for i, movie in enumerate([movies[1], movies[1], movies[3]]):
        headers = await login(f"fan{i}@example.com")
        assert (await api.post(f"/api/vote/{movie}", headers=headers)).status_code == 201
    from movievote.root import get_root

    await get_root().subject.settle()
    fresh = await api.get("/api/ranking", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    body = fresh.json()
    assert body["total_votes"] == 3
    assert [(e["rank"], e["movie"]["id"], e["votes"]) for e in body["items"]] == [
        (1, movies[1], 2),
        (2, movies[3], 1),
    ]
    assert abs(body["items"][0]["share"] - 2 / 3) < 1e-6
    assert (await api.get("/api/ranking", params={"period": body["period"], "limit": 1})).json()[
        "items"
    ][0]["votes"] == 2
    assert (await api.get("/api/ranking", params={"period": "all"})).json()["total_votes"] == 3


async def test_bad_periods_and_limits_are_422(api):
    for params in (
        {"period": "2026-13"},
        {"period": "last"},
        {"period": "2026-1"},
        {"limit": 0},
        {"limit": 101},
    ):
        response = await api.get("/api/ranking", params=params)
        assert response.status_code == 422 and response.json()["code"] in (
            "invalid_period",
            "invalid_input",
        )
    assert (await api.get("/api/ranking", params={"period": "1999-01"})).json()["items"] == []
    detail = (await api.get("/api/ranking", params={"period": "2026-13"})).json()["detail"]
    assert detail == "Invalid period: expected `current`, `all`, or a month written `YYYY-MM`."


async def test_health_and_openapi(api):
    assert (await api.get("/api/health")).json() == {"status": "ok", "database": True}
    spec = (await api.get("/api/openapi.json")).json()
    assert spec["info"]["title"] == "movievote API"
    for path, operations in spec["paths"].items():
        assert path.startswith("/api/")
        for operation in operations.values():
            assert operation["summary"]
    assert "401" in spec["paths"]["/api/vote/{movie_id}"]["post"]["responses"]
    assert (await api.get("/api/docs")).status_code == 200
    assert_error(await api.get("/api/nothing-here"), 404, "not_found")


async def test_wrong_method_is_405_with_allow(api):
    response = await api.delete("/api/ranking")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"
    assert (await api.request("TRACE", "/api/vote/3")).headers["Allow"] == "POST"
