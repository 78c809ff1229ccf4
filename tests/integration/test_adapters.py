"""Catalogue adapters on real-shaped payloads, API clients against httpx.MockTransport."""

from __future__ import annotations

import json
from datetime import date

import httpx

from movievote.adapters.omdb import OmdbAdapter, OmdbClient
from movievote.adapters.tmdb import TmdbAdapter, TmdbClient, TmdbFile
from movievote.cli import BUNDLED_CATALOGUE
from movievote.services import catalogue

TMDB_GENRES = {
    "genres": [
        {"id": 18, "name": "Drama"},
        {"id": 80, "name": "Crime"},
        {"id": 16, "name": "Animation"},
        {"id": 14, "name": "Fantasy"},
        {"id": 10751, "name": "Family"},
    ]
}

# the shape /discover/movie returns (fields as TMDB sends them, values of two real films)
TMDB_PAGE_1 = {
    "page": 1,
    "total_pages": 2,
    "total_results": 3,
    "results": [
        {
            "adult": False,
            "backdrop_path": "/tmULFgxNGQpLdqb0zX8FgEUOEUN.jpg",
            "genre_ids": [18, 80],
            "id": 238,
            "original_language": "en",
            "original_title": "The Godfather",
            "overview": "Spanning the years 1945 to 1955...",
            "popularity": 98.2,
            "poster_path": "/3bhkrj58Vtu7enYsRolD1fZdja1.jpg",
            "release_date": "1972-03-14",
            "title": "The Godfather",
            "video": False,
            "vote_average": 8.7,
            "vote_count": 21000,
        },
        {
            "adult": False,
            "genre_ids": [16, 10751, 14],
            "id": 129,
            "original_language": "ja",
            "original_title": "千と千尋の神隠し",
            "overview": "A young girl...",
            "poster_path": None,
            "release_date": "2001-07-20",
            "title": "Spirited Away",
            "vote_average": 8.5,
        },
    ],
}
TMDB_PAGE_2 = {
    "page": 2,
    "total_pages": 2,
    "total_results": 3,
    "results": [
        {
            "id": 999,
            "title": "Untitled Project",
            "original_title": "Untitled Project",
            "release_date": "",
            "overview": "",
            "poster_path": None,
            "genre_ids": [12345],
        }
    ],
}

OMDB_GODFATHER = {
    "Title": "The Godfather",
    "Year": "1972",
    "Rated": "R",
    "Released": "24 Mar 1972",
    "Runtime": "175 min",
    "Genre": "Crime, Drama",
    "Director": "Francis Ford Coppola",
    "Plot": "The aging patriarch of an organized crime dynasty transfers control to his son.",
    "Language": "English, Italian, Latin",
    "Country": "United States",
    "Poster": "https://m.media-amazon.com/images/M/MV5BM2MyNjYxNmU.jpg",
    "Ratings": [{"Source": "Internet Movie Database", "Value": "9.2/10"}],
    "imdbID": "tt0068646",
    "Type": "movie",
    "Response": "True",
}
OMDB_SPARSE = {
    "Title": "Some Short",
    "Year": "2019–",  # noqa: RUF001 (OMDb writes an en dash)
    "Released": "N/A",
    "Genre": "N/A",
    "Plot": "N/A",
    "Poster": "N/A",
    "imdbID": "tt9999999",
    "Type": "movie",
    "Response": "True",
}


def test_tmdb_adapter_translates_a_discover_result():
    adapter = TmdbAdapter(
        genres=TmdbAdapter.genre_map(TMDB_GENRES["genres"]),
        image_base_url="https://image.tmdb.org/t/p/w500/",
    )
    movie = adapter.to_movie(TMDB_PAGE_1["results"][0])
    assert movie.source == "tmdb" and movie.external_id == "238"
    assert (movie.title, movie.original_title, movie.year) == (
        "The Godfather",
        "The Godfather",
        1972,
    )
    assert movie.release_date == date(1972, 3, 14)
    assert movie.poster_url == "https://image.tmdb.org/t/p/w500/3bhkrj58Vtu7enYsRolD1fZdja1.jpg"
    assert movie.genres == ("Drama", "Crime")
    spirited = adapter.to_movie(TMDB_PAGE_1["results"][1])
    assert spirited.original_title == "千と千尋の神隠し" and spirited.poster_url is None
    assert spirited.genres == ("Animation", "Family", "Fantasy")
    blank = adapter.to_movie(TMDB_PAGE_2["results"][0])
    assert (blank.release_date, blank.year, blank.genres) == (None, None, ())


def test_tmdb_adapter_reads_the_detail_shape_too():
    adapter = TmdbAdapter(genres={}, image_base_url="https://img")
    detail = {
        "id": 550,
        "title": "Fight Club",
        "original_title": "Fight Club",
        "release_date": "1999-10-15",
        "genres": [{"id": 18, "name": "Drama"}],
        "overview": "x",
        "poster_path": "/p.jpg",
    }
    assert TmdbAdapter(genres={18: "Drama"}, image_base_url="https://img").to_movie(
        detail
    ).genres == ("Drama",)
    assert adapter.to_movie(detail).poster_url == "https://img/p.jpg"


def test_omdb_adapter_translates_and_drops_na():
    movie = OmdbAdapter().to_movie(OMDB_GODFATHER)
    assert (movie.source, movie.external_id, movie.year) == ("omdb", "tt0068646", 1972)
    assert movie.release_date == date(1972, 3, 24)
    assert movie.genres == ("Crime", "Drama")
    assert movie.poster_url.startswith("https://")
    sparse = OmdbAdapter().to_movie(OMDB_SPARSE)
    assert (
        sparse.release_date,
        sparse.year,
        sparse.overview,
        sparse.poster_url,
        sparse.genres,
    ) == (None, 2019, "", None, ())


async def test_tmdb_client_pages_through_the_api_with_the_key(db):
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path == "/3/genre/movie/list":
            return httpx.Response(200, json=TMDB_GENRES)
        if request.url.path == "/3/discover/movie":
            page = int(request.url.params["page"])
            return httpx.Response(200, json=TMDB_PAGE_1 if page == 1 else TMDB_PAGE_2)
        return httpx.Response(404, json={"status_message": "not found"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = TmdbClient(
            http=http,
            base_url="https://api.example/3",
            api_key="k123",
            image_base_url="https://img.example/w500",
        )
        assert await client.total() == 3
        result = await catalogue.import_catalogue(client, db=db)
        assert (result.created, result.updated) == (3, 0)
        again = await catalogue.import_catalogue(
            TmdbClient(
                http=http,
                base_url="https://api.example/3",
                api_key="k123",
                image_base_url="https://img.example/w500",
            ),
            db=db,
        )
        assert (again.created, again.updated) == (0, 3)
    assert all(r.url.params["api_key"] == "k123" for r in requests)
    assert await catalogue.count_movies(db=db) == 3
    page = await catalogue.list_movies(q="spirited", db=db)
    assert page.items[0].genres == ["Animation", "Family", "Fantasy"]


async def test_tmdb_client_sends_a_v4_token_as_bearer():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(
            200, json={"page": 1, "total_pages": 1, "total_results": 0, "results": []}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = TmdbClient(
            http=http,
            base_url="https://api.example/3",
            api_key="eyJhbGciOi.x.y",
            image_base_url="https://img",
        )
        assert await client.total() == 0
    assert seen == ["Bearer eyJhbGciOi.x.y"]


# the same discover pages as TMDB answers them with `language=pt-BR`: a translated title and
# overview, a title without an overview in Portuguese (TMDB sends ""), and page 2 reordered
# since the English request (its movie moved away: it gets no translation)
TMDB_PAGE_1_PT = {
    **TMDB_PAGE_1,
    "results": [
        {
            **TMDB_PAGE_1["results"][0],
            "title": "O Poderoso Chefão",
            "overview": "Em 1945, Don Corleone é o chefe de uma família de Nova York...",
        },
        {**TMDB_PAGE_1["results"][1], "title": "A Viagem de Chihiro", "overview": ""},
    ],
}
TMDB_PAGE_2_PT = {**TMDB_PAGE_2, "results": []}


def test_tmdb_adapter_reads_our_translations_with_english_for_blanks():
    adapter = TmdbAdapter(genres={}, image_base_url="https://img")
    raw = {
        **TMDB_PAGE_1["results"][0],
        "translations": {
            "pt-BR": {"title": " O Poderoso Chefão ", "overview": ""},
            "es": {"title": "", "overview": "El patriarca..."},
        },
    }
    assert adapter.to_movie(raw).translations == {
        "pt-BR": ("O Poderoso Chefão", "Spanning the years 1945 to 1955..."),
        "es": ("The Godfather", "El patriarca..."),
    }
    assert adapter.to_movie(TMDB_PAGE_1["results"][0]).translations == {}


async def test_tmdb_client_fetches_each_page_in_the_other_languages(db):
    asked: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if request.url.path == "/3/genre/movie/list":
            return httpx.Response(200, json=TMDB_GENRES)
        asked.append((params["page"], params.get("language", "")))
        portuguese = params.get("language") == "pt-BR"
        if params["page"] == "1":
            return httpx.Response(200, json=TMDB_PAGE_1_PT if portuguese else TMDB_PAGE_1)
        return httpx.Response(200, json=TMDB_PAGE_2_PT if portuguese else TMDB_PAGE_2)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = TmdbClient(
            http=http,
            base_url="https://api.example/3",
            api_key="k123",
            image_base_url="https://img.example/w500",
        )
        assert client.languages == ("pt-BR",)
        movies = {m.external_id: m for m in [m async for m in client.movies()]}
        assert sorted(asked) == [("1", ""), ("1", "pt-BR"), ("2", ""), ("2", "pt-BR")]
        assert movies["238"].translations == {
            "pt-BR": (
                "O Poderoso Chefão",
                "Em 1945, Don Corleone é o chefe de uma família de Nova York...",
            )
        }
        assert movies["129"].translations == {"pt-BR": ("A Viagem de Chihiro", "A young girl...")}
        assert movies["999"].translations == {}
        result = await catalogue.import_catalogue(client, db=db)
        assert result.created == 3
        asked.clear()
        english_only = TmdbClient(
            http=http,
            base_url="https://api.example/3",
            api_key="k123",
            image_base_url="https://img.example/w500",
            languages=("en",),
        )
        assert [m.translations async for m in english_only.movies()] == [{}, {}, {}]
        assert sorted(asked) == [("1", ""), ("2", "")]
    page = await catalogue.list_movies(language="pt-BR", db=db)
    assert [(m.title, m.overview) for m in page.items] == [
        ("A Viagem de Chihiro", "A young girl..."),
        ("O Poderoso Chefão", "Em 1945, Don Corleone é o chefe de uma família de Nova York..."),
        ("Untitled Project", ""),
    ]


async def test_omdb_client_searches_then_fetches_each_movie(db):
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["apikey"] == "omdb-key"
        if "s" in params:
            if params["page"] == "1":
                return httpx.Response(
                    200,
                    json={
                        "Search": [
                            {
                                "Title": "The Godfather",
                                "Year": "1972",
                                "imdbID": "tt0068646",
                                "Type": "movie",
                            },
                            {
                                "Title": "Some Short",
                                "Year": "2019",
                                "imdbID": "tt9999999",
                                "Type": "movie",
                            },
                        ],
                        "totalResults": "2",
                        "Response": "True",
                    },
                )
            return httpx.Response(200, json={"Response": "False", "Error": "Movie not found!"})
        return httpx.Response(
            200, json=OMDB_GODFATHER if params["i"] == "tt0068646" else OMDB_SPARSE
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = OmdbClient(
            http=http, base_url="https://omdb.example", api_key="omdb-key", search="godfather"
        )
        assert await client.total() == 2
        result = await catalogue.import_catalogue(client, db=db)
    assert result.created == 2
    assert [m.title for m in (await catalogue.list_movies(genre="crime", db=db)).items] == [
        "The Godfather"
    ]


async def test_the_bundled_catalogue_is_real_and_loads_through_the_adapter(db):
    raw = json.loads(BUNDLED_CATALOGUE.read_text(encoding="utf-8"))
    assert len(raw["results"]) >= 250
    source = TmdbFile(BUNDLED_CATALOGUE, image_base_url="https://image.tmdb.org/t/p/w500")
    movies = [m async for m in source.movies()]
    assert len({(m.title, m.year) for m in movies}) == len(movies) >= 250
    assert all(m.year and m.genres and m.overview and m.original_title for m in movies)
    result = await catalogue.import_catalogue(source, db=db)
    assert result.created == len(movies)
    assert len(await catalogue.list_genres(db=db)) >= 12
    godfather = (await catalogue.list_movies(q="The Godfather", db=db)).items[0]
    assert godfather.year == 1972 and "Crime" in godfather.genres
