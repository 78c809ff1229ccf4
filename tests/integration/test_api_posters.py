"""API: a movie's designed cover as SVG, cacheable (ETag, 304), behind the security headers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from movievote.api.app import create_api, with_edges
from movievote.config import get_settings
from tests.integration.test_api_accounts import assert_error

NS = "{http://www.w3.org/2000/svg}"


async def test_a_movie_s_cover_is_svg_with_a_strong_etag(api, movies):
    response = await api.get(f"/api/movies/{movies[0]}/poster.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "public, max-age=86400"
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    root = ET.fromstring(response.content)
    title = root.find(f"{NS}title")
    assert title is not None and title.text == "The Godfather"
    assert root.get("role") == "img"
    texts = [t.text for t in root.iter(f"{NS}text") if t.text]
    assert texts == ["1972", "Crime"]  # the year and the genre its colours come from

    again = await api.get(f"/api/movies/{movies[0]}/poster.svg")
    assert again.content == response.content and again.headers["etag"] == etag
    other = await api.get(f"/api/movies/{movies[1]}/poster.svg")
    assert other.headers["etag"] != etag


async def test_an_unchanged_cover_is_304(api, movies):
    path = f"/api/movies/{movies[2]}/poster.svg"
    etag = (await api.get(path)).headers["etag"]
    for sent in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        cached = await api.get(path, headers={"If-None-Match": sent})
        assert cached.status_code == 304, sent
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == "public, max-age=86400"
    stale = await api.get(path, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content


async def test_no_such_movie_no_cover(api, movies):
    assert_error(await api.get("/api/movies/999999/poster.svg"), 404, "movie_not_found")
    assert_error(await api.get("/api/movies/0/poster.svg"), 422, "invalid_input")
    assert_error(await api.get("/api/movies/abc/poster.svg"), 422, "invalid_input")


async def test_the_cover_is_an_inert_image_the_pages_may_show(movies):
    """Behind the edges: the cover keeps its own policy (no script, nothing fetched), and the
    pages' policy lets an <img> of our origin load it."""
    edged = with_edges(create_api(), get_settings())
    transport = httpx.ASGITransport(app=edged, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://movievote.test") as client:
        response = await client.get(f"/api/movies/{movies[0]}/poster.svg")
    assert response.status_code == 200
    assert response.headers.get_list("content-security-policy") == [
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ]
    assert response.headers["x-content-type-options"] == "nosniff"
    page = dict(d.split(" ", 1) for d in edged.headers.policy_for("/").split("; "))
    assert "'self'" in page["img-src"].split()


async def test_documented_as_an_image_with_json_errors(api):
    spec = (await api.get("/api/openapi.json")).json()
    responses = spec["paths"]["/api/movies/{movie_id}/poster.svg"]["get"]["responses"]
    assert list(responses["200"]["content"]) == ["image/svg+xml"]
    assert "content" not in responses["304"]
    for status in ("404", "413", "422", "503"):  # errors are JSON, as on every route
        assert list(responses[status]["content"]) == ["application/json"], status
