"""The catalogue: search, filters, stable pages, one movie, idempotent imports."""

from __future__ import annotations

import pytest

from movievote.adapters.base import MovieData
from movievote.errors import InvalidInput, MovieNotFound
from movievote.services import catalogue


async def test_list_is_ordered_by_title_with_genres(db, movies):
    page = await catalogue.list_movies(db=db)
    assert page.total == 5 and page.page == 1 and page.page_size == 24
    assert [m.title for m in page.items] == [
        "Amélie",
        "City of God",
        "Parasite",
        "Spirited Away",
        "The Godfather",
    ]
    assert page.items[2].genres == ["Comedy", "Drama", "Thriller"]


@pytest.mark.parametrize(
    ("filters", "titles"),
    [
        ({"q": "god"}, ["City of God", "The Godfather"]),
        ({"q": "GOD"}, ["City of God", "The Godfather"]),
        ({"q": "千と千尋"}, ["Spirited Away"]),
        ({"q": "deus"}, ["City of God"]),
        ({"q": "100%"}, []),
        ({"q": "_"}, []),
        ({"genre": "crime"}, ["City of God", "The Godfather"]),
        ({"genre": "Drama", "year": 2019}, ["Parasite"]),
        ({"year": 2001}, ["Amélie", "Spirited Away"]),
        ({"genre": "Western"}, []),
        ({"q": "  "}, ["Amélie", "City of God", "Parasite", "Spirited Away", "The Godfather"]),
    ],
)
async def test_search_and_filters(db, movies, filters, titles):
    page = await catalogue.list_movies(db=db, **filters)
    assert [m.title for m in page.items] == titles
    assert page.total == len(titles)


async def test_pages_are_stable_and_complete(db, movies):
    seen = []
    for number in (1, 2, 3):
        page = await catalogue.list_movies(page=number, page_size=2, db=db)
        assert page.total == 5
        seen += [m.id for m in page.items]
    assert sorted(seen) == sorted(movies) and len(seen) == 5
    assert (await catalogue.list_movies(page=4, page_size=2, db=db)).items == []


@pytest.mark.parametrize(
    ("page", "size", "field"), [(0, 10, "page"), (1, 0, "page_size"), (1, 101, "page_size")]
)
async def test_bad_paging_is_refused(db, page, size, field):
    with pytest.raises(InvalidInput) as refused:
        await catalogue.list_movies(page=page, page_size=size, db=db)
    assert refused.value.field == field


async def test_get_one_and_not_found(db, movies):
    movie = await catalogue.get_movie(movie_id=movies[1], db=db)
    assert (movie.title, movie.original_title, movie.year) == (
        "Spirited Away",
        "千と千尋の神隠し",
        2001,
    )
    assert movie.genres == ["Animation", "Fantasy"]
    with pytest.raises(MovieNotFound):
        await catalogue.get_movie(movie_id=123456, db=db)


async def test_genres_lists_only_used_genres(db, movies):
    assert await catalogue.list_genres(db=db) == [
        "Animation",
        "Comedy",
        "Crime",
        "Drama",
        "Fantasy",
        "Romance",
        "Thriller",
    ]


async def test_import_again_updates_and_never_duplicates(db, movies):
    changed = MovieData(
        source="test",
        external_id="3",
        title="Parasite (2019)",
        original_title="기생충",
        year=2019,
        genres=("Drama",),
        overview="Updated.",
    )
    new = MovieData(source="test", external_id="6", title="Roma", year=2018, genres=("Drama",))
    result = await catalogue.upsert_movies([changed, new], db=db)
    assert (result.created, result.updated) == (1, 1)
    assert await catalogue.count_movies(db=db) == 6
    movie = await catalogue.get_movie(movie_id=movies[2], db=db)
    assert (movie.title, movie.overview, movie.genres) == ("Parasite (2019)", "Updated.", ["Drama"])
    again = await catalogue.upsert_movies([changed, new], db=db)
    assert (again.created, again.updated) == (0, 2)
    assert await catalogue.count_movies(db=db) == 6
