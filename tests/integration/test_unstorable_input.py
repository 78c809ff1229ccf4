"""Text the database cannot store (PostgreSQL refuses NUL in text) is a 422 with a clear JSON
error, never a 500; on SQLite, which would take it, the answer is the same."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from movievote.adapters.base import MovieData
from movievote.errors import InvalidInput
from movievote.root import get_root
from movievote.services import catalogue
from movievote.text import cleaned, storable
from tests.conftest import IS_POSTGRES
from tests.integration.test_api_accounts import assert_error


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/movies", {"q": "god\x00father"}, "q"),
        ("/api/movies", {"q": "\x00"}, "q"),
        ("/api/movies", {"genre": "Crime\x00"}, "genre"),
        ("/api/movies", {"q\x00": "x"}, "query"),
        ("/api/ranking", {"period": "2026-01\x00"}, "period"),
        ("/api/ranking/stream", {"period": "\x00"}, "period"),
        ("/api/movies/1%00", {}, "path"),
        ("/api/votes/me", {"x": "\x00"}, "x"),
    ],
)
async def test_a_nul_anywhere_in_an_api_url_is_422(api, movies, path, params, field):
    body = assert_error(await api.get(path, params=params), 422, "invalid_input")
    assert body["field"] == field
    assert "NUL" in body["detail"]


async def test_a_vote_url_with_a_nul_is_422(api, movies, login):
    headers = await login()
    body = assert_error(await api.post("/api/vote/1%00", headers=headers), 422, "invalid_input")
    assert body["field"] == "path"


async def test_the_search_service_refuses_what_the_database_cannot_store(movies):
    """The pages call this service too: the check lives there, not only in the API."""
    for text, field in (("a\x00b", "q"), ("\ud800", "q")):
        with pytest.raises(InvalidInput) as refused:
            await catalogue.list_movies(q=text, db=get_root().db)
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as refused:
        await catalogue.list_movies(genre="Drama\x00", db=get_root().db)
    assert refused.value.field == "genre"
    assert (
        await catalogue.list_movies(q="Parasite", db=get_root().db)
    ).total == 1  # ordinary text still works


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite stores NUL; PostgreSQL refuses it")
async def test_postgresql_itself_refuses_nul_in_text(db):
    """Why the checks exist: without them the driver's error is a 500."""
    with pytest.raises(Exception, match="NUL"):
        async with db.engine.connect() as conn:
            await conn.execute(sa.text("SELECT :t"), {"t": "a\x00b"})


async def test_imported_text_loses_what_the_database_cannot_store(db):
    movie = MovieData(
        source="test",
        external_id="nul\x00",
        title="Nul\x00 Movie",
        original_title="Nul Movie \ud800",
        overview="over\x00view",
        genres=("Drama\x00",),
    )
    await catalogue.upsert_movies([movie], db=db)
    page = await catalogue.list_movies(q="Nul Movie", db=db)
    assert [m.title for m in page.items] == ["Nul Movie"]
    assert page.items[0].original_title == "Nul Movie \ufffd"
    assert page.items[0].overview == "overview" and page.items[0].genres == ["Drama"]
    again = await catalogue.upsert_movies([movie], db=db)  # the same movie: updated, not duplicated
    assert (again.created, again.updated) == (0, 1)


def test_the_text_helpers():
    assert storable("ordinary ✓ text", field="q") == "ordinary ✓ text"
    with pytest.raises(InvalidInput, match="unpaired surrogate"):
        storable("\udfff", field="q")
    assert cleaned("a\x00b\ud83dc") == "ab\ufffdc"
    assert cleaned("plain") == "plain"
