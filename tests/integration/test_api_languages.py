"""API: the catalogue and the ranking in a language (English when none is asked for), and the
member's language."""

from __future__ import annotations

from dataclasses import replace

from movievote.root import get_root
from movievote.services import catalogue
from tests.conftest import SAMPLE_MOVIES
from tests.integration.test_api_accounts import assert_error


async def translate_the_godfather(db) -> None:
    godfather = replace(
        SAMPLE_MOVIES[0], translations={"pt-BR": ("O Poderoso Chefão", "O patriarca.")}
    )
    await catalogue.upsert_movies([godfather], db=db)


async def test_movies_in_a_language(api, db, movies):
    await translate_the_godfather(db)
    english = await api.get("/api/movies", params={"q": "god"})
    assert [m["title"] for m in english.json()["items"]] == ["City of God", "The Godfather"]
    portuguese = await api.get("/api/movies", params={"q": "poderoso", "language": "pt-BR"})
    assert [(m["title"], m["original_title"]) for m in portuguese.json()["items"]] == [
        ("O Poderoso Chefão", "The Godfather")
    ]
    one = await api.get(f"/api/movies/{movies[0]}", params={"language": "pt-BR"})
    assert (one.json()["title"], one.json()["overview"]) == ("O Poderoso Chefão", "O patriarca.")
    assert (await api.get(f"/api/movies/{movies[0]}")).json()["title"] == "The Godfather"
    untranslated = await api.get(f"/api/movies/{movies[2]}", params={"language": "pt-BR"})
    assert untranslated.json()["title"] == "Parasite"


async def test_an_unknown_language_is_422(api, movies):
    for path in ("/api/movies", f"/api/movies/{movies[0]}", "/api/ranking"):
        body = assert_error(await api.get(path, params={"language": "fr"}), 422, "invalid_input")
        assert body["field"] == "language" and "pt-BR" in body["detail"]
    assert_error(
        await api.get("/api/ranking/stream", params={"language": "fr"}), 422, "invalid_input"
    )
    assert_error(await api.get("/api/movies", params={"language": "pt-br"}), 422, "invalid_input")


async def test_the_ranking_in_a_language_has_its_own_etag(api, db, movies, login):
    await translate_the_godfather(db)
    headers = await login("fan@example.com")
    assert (await api.post(f"/api/vote/{movies[0]}", headers=headers)).status_code == 201
    await get_root().subject.settle()
    english = await api.get("/api/ranking")
    portuguese = await api.get("/api/ranking", params={"language": "pt-BR"})
    assert english.json()["items"][0]["movie"]["title"] == "The Godfather"
    assert portuguese.json()["items"][0]["movie"]["title"] == "O Poderoso Chefão"
    assert english.headers["ETag"] != portuguese.headers["ETag"]
    assert english.json() | {"generated_at": None} == (
        await api.get("/api/ranking", params={"language": "en"})
    ).json() | {"generated_at": None}
    stale = await api.get(
        "/api/ranking",
        params={"language": "pt-BR"},
        headers={"If-None-Match": english.headers["ETag"]},
    )
    assert stale.status_code == 200  # the English tag does not stand for the Portuguese page
    fresh = await api.get(
        "/api/ranking",
        params={"language": "pt-BR"},
        headers={"If-None-Match": portuguese.headers["ETag"]},
    )
    assert fresh.status_code == 304


async def test_sign_up_and_choose_a_language(api, login):
    signed_up = await api.post(
        "/api/signup",
        json={
            "email": "bia@example.com",
            "password": "password123",
            "display_name": "Bia",
            "language": "pt-BR",
        },
    )
    assert signed_up.status_code == 202
    token = await api.post(
        "/api/token", data={"username": "bia@example.com", "password": "password123"}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await api.get("/api/me", headers=headers)).json()["language"] == "pt-BR"
    other = await login("ana@example.com")
    assert (await api.get("/api/me", headers=other)).json()["language"] is None
    chosen = await api.put("/api/me/language", json={"language": "en"}, headers=other)
    assert chosen.status_code == 200 and chosen.json()["language"] == "en"
    assert (await api.get("/api/me", headers=other)).json()["language"] == "en"
    body = assert_error(
        await api.put("/api/me/language", json={"language": "de"}, headers=other),
        422,
        "invalid_input",
    )
    assert body["field"] == "language"
    assert (await api.put("/api/me/language", json={"language": "en"})).status_code == 401
    refused = await api.post(
        "/api/signup",
        json={
            "email": "kurt@example.com",
            "password": "password123",
            "display_name": "Kurt",
            "language": "de",
        },
    )
    assert_error(refused, 422, "invalid_input")
