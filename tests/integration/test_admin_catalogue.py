"""Curating the catalogue (admins): edit a movie, search TMDB or OMDb and add from the hits
(only the external HTTP is faked, with httpx.MockTransport), import a catalogue file with its
progress; each audited, each route and page handler for an admin only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import sqlalchemy as sa
from reflex_components_core.core._upload import UploadChunk

from movievote.cli import BUNDLED_CATALOGUE, set_admin
from movievote.config import get_settings
from movievote.errors import (
    CatalogueUnreachable,
    InvalidInput,
    MovieNotFound,
    SearchNotConfigured,
)
from movievote.models import MovieEdit, MovieText
from movievote.pages.admin import AdminState
from movievote.root import get_root, reset_root
from movievote.services import accounts, admin, catalogue, curation
from tests.integration.pages import page_of, session_token

BOSS = admin.Actor(None, "boss@example.com")
TMDB = "https://tmdb.test/3"
OMDB = "https://omdb.test"
NEW_ROUTES = [
    ("GET", "/api/admin/movies/1", None),
    ("PATCH", "/api/admin/movies/1", {"title": "Hacked"}),
    ("GET", "/api/admin/catalogue/search?source=tmdb&q=godfather", None),
    ("POST", "/api/admin/catalogue/add", {"source": "tmdb", "external_id": "238"}),
    ("POST", "/api/admin/catalogue/import", {"results": [{"id": 1, "title": "Hacked"}]}),
]

# --- fakes of the external catalogues (their real answers' shapes) ---

GODFATHER = {
    "id": 238,
    "title": "The Godfather",
    "original_title": "The Godfather",
    "release_date": "1972-03-14",
    "overview": "Spanning the years 1945 to 1955, a chronicle of the Corleone family.",
    "poster_path": "/3bhkrj58Vtu7enYsRolD1fZdja1.jpg",
    "genre_ids": [18, 80],
}
GODFATHER_FULL = {
    **{k: v for k, v in GODFATHER.items() if k != "genre_ids"},
    "genres": [{"id": 18, "name": "Drama"}, {"id": 80, "name": "Crime"}],
    "runtime": 175,
}
PART_TWO = {
    "id": 240,
    "title": "The Godfather Part II",
    "original_title": "The Godfather Part II",
    "release_date": "1974-12-20",
    "overview": "In the continuing saga of the Corleone crime family...",
    "poster_path": None,
    "genre_ids": [18, 80],
}
ALIEN_HIT = {
    "Title": "Alien",
    "Year": "1979",
    "imdbID": "tt0078748",
    "Type": "movie",
    "Poster": "https://m.media-amazon.com/images/alien.jpg",
}
ALIEN_FULL = {
    **ALIEN_HIT,
    "Released": "22 Jun 1979",
    "Genre": "Horror, Sci-Fi",
    "Plot": "The crew of a commercial spacecraft encounters a deadly lifeform.",
    "Response": "True",
}


def fake_catalogues(request: httpx.Request) -> httpx.Response:
    """TMDB v3 and OMDb as they answer, for the few requests these tests make."""
    params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    if request.url.host == "tmdb.test":
        if params.get("api_key") == "wrong":
            return httpx.Response(401, json={"status_code": 7, "status_message": "Invalid API key"})
        assert params.get("api_key") == "tmdb-key"
        path = request.url.path
        if path == "/3/search/movie":
            hits = [GODFATHER, PART_TWO] if "godfather" in params["query"].lower() else []
            return httpx.Response(
                200, json={"page": 1, "results": hits, "total_pages": 1, "total_results": 2}
            )
        if path == "/3/movie/240":
            return httpx.Response(200, json={**PART_TWO, "genres": GODFATHER_FULL["genres"]})
        if path == "/3/movie/238":
            if params.get("language") == "pt-BR":
                return httpx.Response(
                    200,
                    json={
                        **GODFATHER_FULL,
                        "title": "O Poderoso Chefão",
                        "overview": "Uma crônica da família Corleone.",
                    },
                )
            return httpx.Response(200, json=GODFATHER_FULL)
        return httpx.Response(
            404, json={"status_code": 34, "status_message": "The resource could not be found."}
        )
    assert request.url.host == "omdb.test" and params.get("apikey") == "omdb-key"
    if params.get("s"):
        if params["s"].lower() == "alien":
            return httpx.Response(
                200, json={"Search": [ALIEN_HIT], "totalResults": "1", "Response": "True"}
            )
        return httpx.Response(200, json={"Response": "False", "Error": "Movie not found!"})
    if params.get("i") == "tt0078748":
        return httpx.Response(200, json=ALIEN_FULL)
    return httpx.Response(200, json={"Response": "False", "Error": "Incorrect IMDb ID."})


@pytest.fixture
def configure(monkeypatch) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Settings from the environment for one test (the root built afresh)."""

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        get_settings.cache_clear()
        reset_root()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_root()


@pytest.fixture
def searchable(configure):  # type: ignore[no-untyped-def]
    """Both external catalogues configured, and reached through the fake only."""
    configure(
        tmdb_api_key="tmdb-key",
        tmdb_base_url=TMDB,
        omdb_api_key="omdb-key",
        omdb_base_url=OMDB,
    )
    root = get_root()
    root.http = httpx.AsyncClient(transport=httpx.MockTransport(fake_catalogues))
    return root


async def _boss(api, login) -> dict[str, str]:  # type: ignore[no-untyped-def]
    await login("boss@example.com")
    await set_admin("grant", "boss@example.com", db=get_root().db)
    response = await api.post(
        "/api/token", data={"username": "boss@example.com", "password": "password123"}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _audit(db) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return [(e.action, e.target_id) for e in (await admin.audit_entries(db=db)).items]


# --- editing a movie ---


async def test_an_edit_changes_the_movie_everywhere_in_one_audited_transaction(db, movies):
    godfather, *_ = movies
    before = await curation.get_movie(movie_id=godfather, db=db)
    assert (before.title, before.genres, before.translations) == (
        "The Godfather",
        ["Crime", "Drama"],
        {},
    )
    edited = await curation.edit_movie(
        movie_id=godfather,
        changes=MovieEdit(
            title="  The Godfather (restored)  ",
            original_title="",
            overview="Don Vito Corleone's family.",
            poster_url="https://images.example/godfather.jpg",
            genres=["drama", "crime", "Crime ", "Classic"],
            translations={"pt-BR": MovieText(title="O Poderoso Chefão", overview="")},
        ),
        actor=BOSS,
        db=db,
    )
    assert edited.title == "The Godfather (restored)"
    assert edited.original_title == "The Godfather (restored)"  # empty: the title
    # once each, whatever the case, spelt as the catalogue spells a genre it has
    assert edited.genres == ["Classic", "Crime", "Drama"]
    assert edited.poster_url == "https://images.example/godfather.jpg"
    assert edited.translations["pt-BR"].title == "O Poderoso Chefão"
    assert edited.translations["pt-BR"].overview == "Don Vito Corleone's family."  # English's
    assert edited.year == 1972  # left out: unchanged

    english = await catalogue.get_movie(movie_id=godfather, db=db)
    portuguese = await catalogue.get_movie(movie_id=godfather, language="pt-BR", db=db)
    assert english.title == "The Godfather (restored)" and portuguese.title == "O Poderoso Chefão"
    found = await catalogue.list_movies(q="chefão", language="pt-BR", db=db)
    assert [m.id for m in found.items] == [godfather]
    assert "Classic" in await catalogue.list_genres(db=db)

    [entry] = (await admin.audit_entries(db=db)).items
    assert (entry.action, entry.target_type, entry.target_id) == (
        "movie.edit",
        "movie",
        str(godfather),
    )
    assert entry.before is not None and entry.after is not None
    assert entry.before["title"] == "The Godfather" and entry.after["title"] == (
        "The Godfather (restored)"
    )
    assert entry.before["genres"] == ["Crime", "Drama"]
    assert entry.before["translation.pt-BR"] is None
    assert entry.after["translation.pt-BR"] == ["O Poderoso Chefão", "Don Vito Corleone's family."]
    assert "year" not in entry.after  # only what changed

    # the same values again change nothing and record nothing
    again = await curation.edit_movie(
        movie_id=godfather,
        changes=MovieEdit(title="The Godfather (restored)", genres=["classic", "DRAMA", "crime"]),
        actor=BOSS,
        db=db,
    )
    assert again == edited and len((await admin.audit_entries(db=db)).items) == 1

    # a year its release date does not have clears the date; null clears the poster
    moved = await curation.edit_movie(
        movie_id=godfather,
        changes=MovieEdit(year=1973, poster_url=None, translations={"pt-BR": None}, genres=[]),
        actor=BOSS,
        db=db,
    )
    assert (moved.year, moved.release_date, moved.poster_url) == (1973, None, None)
    assert moved.translations == {} and moved.genres == []
    assert (await catalogue.get_movie(movie_id=godfather, language="pt-BR", db=db)).title == (
        "The Godfather (restored)"
    )  # no translation: English


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (MovieEdit(title="   "), "title"),
        (MovieEdit(title="x" * 301), "title"),
        (MovieEdit(title=None), "title"),
        (MovieEdit(year=1492), "year"),
        (MovieEdit(poster_url="http://insecure.example/p.jpg"), "poster_url"),
        (MovieEdit(poster_url="https://a b.example/p.jpg"), "poster_url"),
        (MovieEdit(poster_url="javascript:alert(1)"), "poster_url"),
        (MovieEdit(genres=[f"g{i}" for i in range(11)]), "genres"),
        (MovieEdit(genres=["x" * 65]), "genres"),
        (MovieEdit(overview="x" * 5001), "overview"),
        (MovieEdit(title="The\x00Godfather"), "title"),
        (MovieEdit(translations={"fr": MovieText(title="Le Parrain")}), "translations"),
        (MovieEdit(translations={"en": MovieText(title="The Godfather")}), "translations"),
        (
            MovieEdit(translations={"pt-BR": MovieText(title="", overview="Uma família.")}),
            "translations.pt-BR.title",
        ),
    ],
)
async def test_an_edit_that_breaks_a_rule_names_its_field_and_changes_nothing(
    db, movies, changes, field
):
    with pytest.raises(InvalidInput) as refused:
        await curation.edit_movie(movie_id=movies[0], changes=changes, actor=BOSS, db=db)
    assert refused.value.field == field
    assert (await curation.get_movie(movie_id=movies[0], db=db)).title == "The Godfather"
    assert (await admin.audit_entries(db=db)).total == 0


async def test_editing_an_unknown_movie_is_not_found(db):
    with pytest.raises(MovieNotFound):
        await curation.edit_movie(movie_id=999_999, changes=MovieEdit(title="x"), actor=BOSS, db=db)


async def test_a_member_is_refused_on_every_new_catalogue_route(api, login, movies, db):
    member = await login("member@example.com")
    for method, path, body in NEW_ROUTES:
        anonymous = await api.request(method, path, json=body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        refused = await api.request(method, path, json=body, headers=member)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "admin_required"
    assert (await curation.get_movie(movie_id=movies[0], db=db)).title == "The Godfather"
    assert await catalogue.count_movies(db=db) == 5
    assert (await admin.audit_entries(db=db)).total == 0


async def test_the_api_edits_a_movie(api, login, movies, db):
    boss = await _boss(api, login)
    godfather = movies[0]
    shown = await api.get(f"/api/admin/movies/{godfather}", headers=boss)
    assert shown.status_code == 200 and shown.json()["source"] == "test"
    edited = await api.patch(
        f"/api/admin/movies/{godfather}",
        json={"title": "The Godfather I", "translations": {"pt-BR": {"title": "O Chefão"}}},
        headers=boss,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "The Godfather I" and edited.json()["year"] == 1972
    assert edited.json()["translations"]["pt-BR"]["title"] == "O Chefão"
    public = (await api.get(f"/api/movies/{godfather}")).json()
    assert public["title"] == "The Godfather I"
    listed = (await api.get("/api/movies?q=chef&language=pt-BR")).json()
    assert [m["title"] for m in listed["items"]] == ["O Chefão"]

    blank = await api.patch(
        f"/api/admin/movies/{godfather}",
        json={"title": " "},
        headers={**boss, "Accept-Language": "pt-BR"},
    )
    assert blank.status_code == 422 and blank.json()["field"] == "title"
    assert blank.json()["detail"] == "Dê um título ao filme."
    old = await api.patch(f"/api/admin/movies/{godfather}", json={"year": 1000}, headers=boss)
    assert old.status_code == 422
    missing = await api.patch("/api/admin/movies/999999", json={"title": "x"}, headers=boss)
    assert missing.status_code == 404 and missing.json()["code"] == "movie_not_found"
    assert (await api.get("/api/admin/movies/999999", headers=boss)).status_code == 404
    actions = [
        e["action"] for e in (await api.get("/api/admin/audit", headers=boss)).json()["items"]
    ]
    assert actions == ["movie.edit", "admin.grant"]


# --- searching TMDB and OMDb, adding from the hits ---


async def test_without_a_key_search_is_not_configured(api, login, db, configure):
    configure(tmdb_api_key="", omdb_api_key="")
    assert curation.search_sources(get_root().settings) == []
    with pytest.raises(SearchNotConfigured):
        await curation.search_external(
            source="tmdb",
            query="godfather",
            settings=get_root().settings,
            http=get_root().http,
            db=db,
        )
    boss = await _boss(api, login)
    answer = await api.get("/api/admin/catalogue/search?source=omdb&q=alien", headers=boss)
    assert answer.status_code == 503 and answer.json()["code"] == "search_not_configured"
    assert "OMDB_API_KEY" in answer.json()["detail"]
    added = await api.post(
        "/api/admin/catalogue/add", json={"source": "tmdb", "external_id": "238"}, headers=boss
    )
    assert added.status_code == 503
    unknown = await api.get("/api/admin/catalogue/search?source=imdb&q=x", headers=boss)
    assert unknown.status_code == 422


async def test_tmdb_search_and_add_upserts_without_duplicates_and_is_audited(
    searchable, db, movies
):
    settings, http = searchable.settings, searchable.http
    assert curation.search_sources(settings) == ["tmdb", "omdb"]
    found = await curation.search_external(
        source="tmdb", query="Godfather", settings=settings, http=http, db=db
    )
    assert [(h.external_id, h.title, h.year) for h in found.items] == [
        ("238", "The Godfather", 1972),
        ("240", "The Godfather Part II", 1974),
    ]
    # the seed's Godfather has another source: a look-alike, not the same movie
    assert found.items[0].movie_id is None and found.items[0].lookalike_id == movies[0]
    assert found.items[0].poster_url == (
        "https://image.tmdb.org/t/p/w500/3bhkrj58Vtu7enYsRolD1fZdja1.jpg"
    )

    added = await curation.add_external(
        source="tmdb", external_id="238", actor=BOSS, settings=settings, http=http, db=db
    )
    assert added.created and added.title == "The Godfather" and added.year == 1972
    movie = await catalogue.get_movie(movie_id=added.id, language="pt-BR", db=db)
    assert movie.title == "O Poderoso Chefão" and movie.genres == ["Crime", "Drama"]
    again = await curation.add_external(
        source="tmdb", external_id="238", actor=BOSS, settings=settings, http=http, db=db
    )
    assert again.id == added.id and not again.created
    assert await catalogue.count_movies(db=db) == 6  # five of the seed, one added, no double
    refound = await curation.search_external(
        source="tmdb", query="godfather", settings=settings, http=http, db=db
    )
    assert refound.items[0].movie_id == added.id and refound.items[0].lookalike_id == movies[0]

    log = (await admin.audit_entries(db=db)).items
    assert [(e.action, e.target_id) for e in log] == [
        ("movie.add", str(added.id)),
        ("movie.add", str(added.id)),
    ]
    assert log[1].after == {
        "source": "tmdb",
        "external_id": "238",
        "title": "The Godfather",
        "created": True,
    }
    assert log[1].before is None and log[0].before == {"title": "The Godfather"}

    with pytest.raises(MovieNotFound):
        await curation.add_external(
            source="tmdb", external_id="999", actor=BOSS, settings=settings, http=http, db=db
        )
    with pytest.raises(MovieNotFound):  # not a TMDB id: no request at all
        await curation.add_external(
            source="tmdb", external_id="../x", actor=BOSS, settings=settings, http=http, db=db
        )
    with pytest.raises(InvalidInput):
        await curation.search_external(
            source="tmdb", query="  ", settings=settings, http=http, db=db
        )


async def test_omdb_search_and_add(searchable, db):
    settings, http = searchable.settings, searchable.http
    found = await curation.search_external(
        source="omdb", query="alien", settings=settings, http=http, db=db
    )
    assert [(h.external_id, h.title, h.year) for h in found.items] == [("tt0078748", "Alien", 1979)]
    none = await curation.search_external(
        source="omdb", query="zzzz", settings=settings, http=http, db=db
    )
    assert none.items == []
    added = await curation.add_external(
        source="omdb", external_id="tt0078748", actor=BOSS, settings=settings, http=http, db=db
    )
    movie = await catalogue.get_movie(movie_id=added.id, db=db)
    assert movie.genres == ["Horror", "Sci-Fi"] and movie.overview.startswith("The crew")
    with pytest.raises(MovieNotFound):
        await curation.add_external(
            source="omdb", external_id="tt0000001", actor=BOSS, settings=settings, http=http, db=db
        )


async def test_an_external_failure_is_a_clear_error(configure, db):
    configure(tmdb_api_key="wrong", tmdb_base_url=TMDB)
    root = get_root()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    for http, words in (
        (httpx.AsyncClient(transport=httpx.MockTransport(fake_catalogues)), "TMDB_API_KEY"),
        (httpx.AsyncClient(transport=httpx.MockTransport(down)), "did not answer"),
        (
            httpx.AsyncClient(
                transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>"))
            ),
            "cannot read",
        ),
    ):
        with pytest.raises(CatalogueUnreachable, match=words):
            await curation.search_external(
                source="tmdb", query="godfather", settings=root.settings, http=http, db=db
            )


async def test_the_api_searches_and_adds(api, login, searchable, db):
    boss = await _boss(api, login)
    found = await api.get("/api/admin/catalogue/search?source=tmdb&q=godfather", headers=boss)
    assert found.status_code == 200, found.text
    assert [h["external_id"] for h in found.json()["items"]] == ["238", "240"]
    added = await api.post(
        "/api/admin/catalogue/add", json={"source": "tmdb", "external_id": "238"}, headers=boss
    )
    assert added.status_code == 201 and added.json()["created"] is True
    again = await api.post(
        "/api/admin/catalogue/add", json={"source": "tmdb", "external_id": "238"}, headers=boss
    )
    assert again.status_code == 200 and again.json()["id"] == added.json()["id"]
    missing = await api.post(
        "/api/admin/catalogue/add", json={"source": "tmdb", "external_id": "999"}, headers=boss
    )
    assert missing.status_code == 404 and missing.json()["code"] == "movie_not_found"
    searchable.http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(500, json={}))
    )
    broken = await api.get("/api/admin/catalogue/search?source=tmdb&q=godfather", headers=boss)
    assert broken.status_code == 502 and broken.json()["code"] == "catalogue_unreachable"
    assert await catalogue.count_movies(db=db) == 1


# --- importing a file ---


def tmdb_file(results: list[object], **extra: object) -> bytes:
    genres = [{"id": 18, "name": "Drama"}, {"id": 80, "name": "Crime"}]
    return json.dumps({"genres": genres, "results": results, **extra}).encode()


def test_the_bundled_catalogue_reads_as_the_cli_imports_it():
    parsed = curation.parse_catalogue(
        BUNDLED_CATALOGUE.read_bytes(), name="catalogue.json", image_base_url="https://img"
    )
    assert (parsed.source, parsed.entries, len(parsed.movies)) == ("movievote-seed", 443, 443)
    assert parsed.problems == []
    assert all(m.translations.get("pt-BR") for m in parsed.movies)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xff\xfe not text", "UTF-8"),
        (b'{"results": [', "line 1, column 14"),
        (b"[]", "TMDB format"),
        (b'{"results": {}}', "TMDB format"),
        (b'{"results": [], "genres": []}', "no movies"),
        (b'{"results": [{"id": 1, "title": "A"}], "genres": [{"id": "x"}]}', "genres"),
        (b'{"results": [{"id": 1, "title": "A"}], "source": 5}', "source"),
    ],
)
def test_a_file_that_is_not_a_catalogue_is_refused_with_why(data, words):
    with pytest.raises(InvalidInput, match=words) as refused:
        curation.parse_catalogue(data, name="f.json", image_base_url="https://img")
    assert refused.value.field == "file"


async def test_an_import_skips_bad_entries_reports_progress_and_records_one_row(db):
    data = tmdb_file(
        [
            {"id": 1, "title": "One", "release_date": "2001-01-01", "genre_ids": [18]},
            {"id": 2, "title": "  "},
            "not a movie",
            {"id": 3, "title": "Three", "translations": {"pt-BR": {"title": "Três"}}},
            {"id": 1, "title": "One again"},
            {"title": "No id"},
            {"id": 4, "title": "Four", "release_date": 20010101},
            {"id": 5, "title": "Five", "genre_ids": "18"},
        ],
        source="club",
    )
    parsed = await curation.read_catalogue_file(data, name="club.json", settings=get_settings())
    assert [p.entry for p in parsed.problems] == [2, 3, 5, 6, 7, 8]
    assert str(parsed.problems[2].error) == "Entry 5 repeats the id of entry 1."
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    report = await curation.import_movies(
        parsed, actor=BOSS, on_progress=progress, batch_size=1, db=db
    )
    assert (report.entries, report.added, report.updated, report.skipped) == (8, 2, 0, 6)
    assert seen == [(1, 2), (2, 2)]
    three = (await catalogue.list_movies(q="três", language="pt-BR", db=db)).items
    assert [m.title for m in three] == ["Três"]
    again = await curation.import_movies(parsed, actor=BOSS, db=db)
    assert (again.added, again.updated) == (0, 2)  # a re-import updates, never doubles
    assert await catalogue.count_movies(db=db) == 2

    log = (await admin.audit_entries(db=db)).items
    assert [(e.action, e.target_type, e.target_id) for e in log] == [
        ("catalogue.import", "catalogue", "club"),
        ("catalogue.import", "catalogue", "club"),
    ]
    assert log[1].after == {
        "file": "club.json",
        "entries": 8,
        "added": 2,
        "updated": 0,
        "skipped": 6,
    }
    shown = curation.summary(report, "pt-BR")
    assert shown.problems[0].detail == "O item 2 não tem título."


async def test_a_file_over_the_limit_is_refused(db, configure):
    configure(max_upload_bytes=2048)
    with pytest.raises(InvalidInput, match="2048 bytes"):
        await curation.read_catalogue_file(b" " * 2049, name="big.json", settings=get_settings())


async def test_the_api_imports_a_file(api, login, db):
    boss = await _boss(api, login)
    data = tmdb_file([{"id": 7, "title": "Seven", "genre_ids": [80]}, {"id": 8}])
    done = await api.post(
        "/api/admin/catalogue/import?name=seven.json",
        content=data,
        headers={**boss, "Content-Type": "application/json", "Accept-Language": "pt-BR"},
    )
    assert done.status_code == 200, done.text
    assert done.json() == {
        "file": "seven.json",
        "source": "tmdb",
        "entries": 2,
        "added": 1,
        "updated": 0,
        "skipped": 1,
        "problems": [{"entry": 2, "detail": "O item 2 não tem título."}],
    }
    broken = await api.post("/api/admin/catalogue/import", content=b"{oops", headers=boss)
    assert broken.status_code == 422 and broken.json()["field"] == "file"
    assert await catalogue.count_movies(db=db) == 1


async def test_only_the_import_routes_take_a_catalogue_file_sized_body(configure):
    from movievote.api.app import CATALOGUE_IMPORT, create_api, with_edges

    configure(max_upload_bytes=200_000)
    edged = with_edges(create_api(), get_settings())
    transport = httpx.ASGITransport(app=edged)
    body = b"{" + b" " * 100_000 + b"}"  # over the 64 KB of any other request
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        let_through = await client.post(CATALOGUE_IMPORT, content=body)
        assert let_through.status_code == 401  # the body may come; the admin check says no
        elsewhere = await client.post("/api/admin/invites", content=body)
        assert elsewhere.status_code == 413 and elsewhere.json()["code"] == "body_too_large"
        too_big = await client.post(CATALOGUE_IMPORT, content=b" " * 200_001)
        assert too_big.status_code == 413


# --- the /admin page's catalogue tools ---


async def admin_page(db, make_user) -> AdminState:  # type: ignore[no-untyped-def]
    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.CLI, db=db)
    page = await page_of(
        AdminState, await session_token(await accounts.get_user(user_id=boss.id, db=db))
    )
    await AdminState.load.fn(page)
    assert page.allowed
    return page


async def chunks_of(name: str, data: bytes, size: int = 1000) -> AsyncIterator[UploadChunk]:
    """An upload as Reflex streams it to a background handler."""
    for offset in range(0, len(data), size):
        yield UploadChunk(
            filename=name,
            offset=offset,
            content_type="application/json",
            data=data[offset : offset + size],
        )


async def test_the_page_edits_a_movie(db, movies, make_user):
    godfather, *_ = movies
    page = await admin_page(db, make_user)
    await AdminState.edit.fn(page, godfather)
    assert page.editing == godfather and page.edit_form["title"] == "The Godfather"
    assert page.edit_form["genres"] == "Crime, Drama" and page.edit_form["year"] == "1972"
    form = {**page.edit_form, "title": "The Godfather (1972)", "title_translated": "O Chefão"}
    await AdminState.save_movie.fn(page, {**form, "year": "nineteen"})
    assert page.error == "The year must be a number, or left empty."
    await AdminState.save_movie.fn(page, {**form, "poster_url": "ftp://x"})
    assert "https://" in page.error
    await AdminState.save_movie.fn(page, form)
    assert page.message == "The Godfather (1972) is saved." and not page.error
    assert page.edit_form["title_translated"] == "O Chefão"
    assert "The Godfather (1972)" in [m["title"] for m in page.movies]
    assert page.audit[0]["action"] == "movie.edit"
    public = await catalogue.get_movie(movie_id=godfather, language="pt-BR", db=db)
    assert public.title == "O Chefão"


async def test_the_page_says_search_is_not_configured_without_keys(db, make_user, configure):
    configure(tmdb_api_key="", omdb_api_key="")
    page = await admin_page(db, make_user)
    assert page.search_sources == []
    await AdminState.search_catalogues.fn(page, {"source": "tmdb", "q": "godfather"})
    assert "TMDB_API_KEY" in page.error and page.search_hits == []


async def test_the_page_searches_and_adds(db, movies, make_user, searchable):
    page = await admin_page(db, make_user)
    assert page.search_sources == ["tmdb", "omdb"]
    await AdminState.search_catalogues.fn(page, {"source": "tmdb", "q": "godfather"})
    assert [(h["title"], h["known"]) for h in page.search_hits] == [
        ("The Godfather", "alike"),
        ("The Godfather Part II", "new"),
    ]
    await AdminState.add_movie.fn(page, "tmdb", "240")
    assert page.message == "The Godfather Part II is in the catalogue."
    assert page.search_hits[1]["known"] == "in" and page.movie_total == 6
    await AdminState.add_movie.fn(page, "tmdb", "240")
    assert "already" in page.message and page.movie_total == 6
    assert [action for action, _ in await _audit(db)] == ["movie.add", "movie.add", "admin.grant"]


async def test_the_page_imports_a_file_with_progress_and_a_summary(db, make_user, monkeypatch):
    page = await admin_page(db, make_user)
    monkeypatch.setattr(curation, "IMPORT_BATCH", 2)
    results: list[object] = [{"id": n, "title": f"Movie {n}"} for n in range(1, 6)]
    data = tmdb_file([*results, {"id": 9}])
    await AdminState.import_file.fn(page, chunks_of("five.json", data, size=50))
    assert (page.import_done, page.import_total, page.import_percent) == (5, 5, 100)
    assert page.import_summary == ("Import of five.json finished: added 5, updated 0, skipped 1.")
    assert page.import_problems == ["Entry 6 has no title."]
    assert not page.import_busy and not page.import_error
    assert page.movie_total == 5 and page.audit[0]["action"] == "catalogue.import"

    await AdminState.import_file.fn(page, chunks_of("broken.json", b'{"results": ['))
    assert page.import_error == "The file is not valid JSON (line 1, column 14)."
    assert page.import_summary == "" and not page.import_busy
    await AdminState.import_file.fn(page, chunks_of("", b""))
    assert page.import_error == "Choose a catalogue file first."
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM movies")) == 5
