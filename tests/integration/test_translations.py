"""The catalogue in two languages: translations imported (bundled file, re-imports), read in a
language with English standing in, searched in either, and rankings in every language from
one cached entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from movievote.adapters.base import MovieData
from movievote.adapters.tmdb import TmdbFile
from movievote.cli import BUNDLED_CATALOGUE, seed
from movievote.errors import InvalidInput, MovieNotFound
from movievote.root import get_root
from movievote.services import catalogue, ranking, ranking_cache
from tests.conftest import SAMPLE_MOVIES, cast_vote

PT = "pt-BR"
TRANSLATED = {
    "1": ("O Poderoso Chefão", "O patriarca de uma família do crime."),
    "2": ("A Viagem de Chihiro", "Uma menina num mundo de espíritos."),
    "4": ("Cidade de Deus", "Crescer numa favela."),
}  # Parasite (3) and Amélie (5) have none


def with_translations(movie: MovieData) -> MovieData:
    text = TRANSLATED.get(movie.external_id)
    return replace(movie, translations={PT: text}) if text else movie


@pytest.fixture
async def translated(db) -> dict[str, int]:
    """The five sample movies, three of them with Portuguese texts; their ids by title."""
    await catalogue.upsert_movies(map(with_translations, SAMPLE_MOVIES), db=db)
    return {m.title: m.id for m in (await catalogue.list_movies(db=db)).items}


async def translation_rows(db) -> list[tuple[int, str, str]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT movie_id, language, title FROM movie_translations "
                "ORDER BY movie_id, language"
            )
        )
        return [tuple(r) for r in rows]


async def test_a_language_reads_its_titles_and_english_where_there_is_none(db, translated):
    page = await catalogue.list_movies(language=PT, db=db)
    # ordered by the title people read
    assert [(m.title, m.original_title) for m in page.items] == [
        ("A Viagem de Chihiro", "千と千尋の神隠し"),
        ("Amélie", "Le Fabuleux Destin d'Amélie Poulain"),
        ("Cidade de Deus", "Cidade de Deus"),
        ("O Poderoso Chefão", "The Godfather"),
        ("Parasite", "기생충"),
    ]
    godfather = next(m for m in page.items if m.id == translated["The Godfather"])
    assert godfather.overview == "O patriarca de uma família do crime."
    assert godfather.genres == ["Crime", "Drama"] and godfather.year == 1972
    parasite = next(m for m in page.items if m.id == translated["Parasite"])
    assert parasite.overview == "Two families."  # no translation: English
    assert page.total == 5


async def test_english_stays_the_default(db, translated):
    english = await catalogue.list_movies(db=db)
    assert [m.title for m in english.items] == [
        "Amélie",
        "City of God",
        "Parasite",
        "Spirited Away",
        "The Godfather",
    ]
    assert english == await catalogue.list_movies(language="en", db=db)
    movie = await catalogue.get_movie(movie_id=translated["The Godfather"], db=db)
    assert (movie.title, movie.overview) == ("The Godfather", "A crime family's patriarch.")


async def test_get_movie_in_a_language(db, translated):
    movie = await catalogue.get_movie(movie_id=translated["The Godfather"], language=PT, db=db)
    assert (movie.title, movie.original_title, movie.overview) == (
        "O Poderoso Chefão",
        "The Godfather",
        "O patriarca de uma família do crime.",
    )
    assert movie.genres == ["Crime", "Drama"]
    parasite = await catalogue.get_movie(movie_id=translated["Parasite"], language=PT, db=db)
    assert (parasite.title, parasite.overview) == ("Parasite", "Two families.")
    with pytest.raises(MovieNotFound):
        await catalogue.get_movie(movie_id=123456, language=PT, db=db)


@pytest.mark.parametrize(
    ("language", "q", "titles"),
    [
        (PT, "poderoso", ["O Poderoso Chefão"]),
        (PT, "godfather", ["O Poderoso Chefão"]),  # the English title still finds it
        (PT, "chihiro", ["A Viagem de Chihiro"]),
        (PT, "千と千尋", ["A Viagem de Chihiro"]),  # and the original title
        (PT, "parasite", ["Parasite"]),
        (PT, "deus", ["Cidade de Deus"]),
        (PT, "100%", []),
        ("en", "poderoso", []),  # English reads search English and the original titles
        ("en", "godfather", ["The Godfather"]),
    ],
)
async def test_search_matches_the_language_english_and_the_original_title(
    db, translated, language, q, titles
):
    page = await catalogue.list_movies(q=q, language=language, db=db)
    assert [m.title for m in page.items] == titles
    assert page.total == len(titles)


async def test_filters_and_pages_in_a_language(db, translated):
    crime = await catalogue.list_movies(genre="crime", language=PT, db=db)
    assert [m.title for m in crime.items] == ["Cidade de Deus", "O Poderoso Chefão"]
    seen = []
    for number in (1, 2, 3):
        page = await catalogue.list_movies(page=number, page_size=2, language=PT, db=db)
        assert page.total == 5
        seen += [m.title for m in page.items]
    assert seen == [m.title for m in (await catalogue.list_movies(language=PT, db=db)).items]


async def test_an_unknown_language_is_invalid_input(db, translated):
    for call in (
        catalogue.list_movies(language="fr", db=db),
        catalogue.list_movies(language="pt-br", db=db),  # the codes are exactly as written
        catalogue.get_movie(movie_id=translated["Parasite"], language="xx-YY", db=db),
        ranking.compute_ranking("all", language="klingon", db=db),
    ):
        with pytest.raises(InvalidInput) as refused:
            await call
        assert refused.value.field == "language"


async def test_import_again_updates_translations_and_never_duplicates(db, translated):
    assert len(await translation_rows(db)) == 3
    godfather = next(m for m in SAMPLE_MOVIES if m.external_id == "1")
    parasite = next(m for m in SAMPLE_MOVIES if m.external_id == "3")
    changed = [
        replace(godfather, translations={PT: ("O Poderoso Chefão (restaurado)", "Novo.")}),
        replace(parasite, translations={PT: ("Parasita", "")}),  # now has one
    ]
    for _ in range(2):
        await catalogue.upsert_movies(changed, db=db)
    rows = await translation_rows(db)
    assert len(rows) == 4 and len({(m, lang) for m, lang, _ in rows}) == 4
    assert (translated["The Godfather"], PT, "O Poderoso Chefão (restaurado)") in rows
    assert (translated["Parasite"], PT, "Parasita") in rows
    page = await catalogue.list_movies(q="parasit", language=PT, db=db)
    assert [(m.title, m.overview) for m in page.items] == [("Parasita", "Two families.")]


async def test_a_source_without_translations_keeps_the_ones_there_are(db, translated):
    """An import that brings none (OMDb, an old file) does not erase them; languages we do
    not speak and English are not stored."""
    await catalogue.upsert_movies(SAMPLE_MOVIES, db=db)
    assert len(await translation_rows(db)) == 3
    amelie = next(m for m in SAMPLE_MOVIES if m.external_id == "5")
    await catalogue.upsert_movies(
        [
            replace(
                amelie,
                translations={
                    "fr": ("Amélie", "…"),
                    "pt-br": ("Amélie", "…"),
                    "en": ("Amelie", "A waitress."),
                },
            )
        ],
        db=db,
    )
    assert len(await translation_rows(db)) == 3


async def test_translated_text_no_database_can_store_is_cleaned(db):
    movie = MovieData(
        source="test",
        external_id="nul",
        title="Nul",
        translations={PT: ("Nu\x00lo", "Visão \ud800geral")},
    )
    await catalogue.upsert_movies([movie], db=db)
    page = await catalogue.list_movies(language=PT, db=db)
    assert [(m.title, m.overview) for m in page.items] == [("Nulo", "Visão \ufffdgeral")]


async def test_translations_go_with_their_movie(db, translated):
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("DELETE FROM movies WHERE id = :id"), {"id": translated["The Godfather"]}
        )
    assert [m for m, _, _ in await translation_rows(db)] == sorted(
        [translated["Spirited Away"], translated["City of God"]]
    )


async def test_the_bundled_catalogue_brings_portuguese(db):
    source = TmdbFile(BUNDLED_CATALOGUE, image_base_url="https://image.tmdb.org/t/p/w500")
    movies = [m async for m in source.movies()]
    assert all(set(m.translations) == {PT} for m in movies)
    assert all(title and overview for m in movies for title, overview in m.translations.values())
    result = await catalogue.import_catalogue(source, db=db)
    assert result.created == len(movies)
    assert len(await translation_rows(db)) == len(movies)
    page = await catalogue.list_movies(q="The Godfather", language=PT, db=db)
    assert page.items[0].title == "O Poderoso Chefão" and page.items[0].year == 1972
    found = await catalogue.list_movies(q="Poderoso Chefão", language=PT, db=db)
    assert "O Poderoso Chefão" in [m.title for m in found.items]
    again = await catalogue.import_catalogue(source, db=db)
    assert (again.created, again.updated) == (0, len(movies))
    assert len(await translation_rows(db)) == len(movies)


async def test_seed_fills_the_translations_of_a_catalogue_seeded_before_them(db):
    """A database seeded before the bundled catalogue had translations gets them once; a
    bundled movie its operator deleted is not brought back."""
    assert (await seed(db=db, quiet=True)).created >= 250
    total = await catalogue.count_movies(db=db)
    assert await seed(db=db, quiet=True) is None
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM movie_translations"))
        await conn.execute(sa.text("DELETE FROM movies WHERE external_id = '2'"))
    filled = await seed(db=db, quiet=True)
    assert filled is not None and (filled.created, filled.updated) == (0, total - 1)
    assert await catalogue.count_movies(db=db) == total - 1
    assert len(await translation_rows(db)) == total - 1
    assert await seed(db=db, quiet=True) is None  # once
    page = await catalogue.list_movies(q="Poderoso", language=PT, db=db)
    assert [m.title for m in page.items] == ["O Poderoso Chefão"]  # Part II was deleted


async def test_seed_leaves_other_catalogues_alone(db, movies):
    assert await seed(db=db, quiet=True) is None  # movies of another source, untranslated
    assert await translation_rows(db) == []


NOV = date(2026, 11, 1)


async def vote(make_user, movie_id: int, day: int) -> None:
    user = await make_user()
    await cast_vote(user_id=user.id, movie_id=movie_id, now=datetime(2026, 11, day, tzinfo=UTC))


async def test_rankings_in_a_language(db, translated, make_user):
    for title, day in (("The Godfather", 1), ("The Godfather", 2), ("Parasite", 3)):
        await vote(make_user, translated[title], day)
    await get_root().subject.settle()
    english = await ranking.compute_ranking(NOV, db=db)
    portuguese = await ranking.compute_ranking(NOV, language=PT, db=db)
    assert [(e.movie.title, e.votes) for e in english.items] == [
        ("The Godfather", 2),
        ("Parasite", 1),
    ]
    assert [(e.movie.title, e.movie.overview, e.votes) for e in portuguese.items] == [
        ("O Poderoso Chefão", "O patriarca de uma família do crime.", 2),
        ("Parasite", "Two families.", 1),  # no translation: English
    ]
    assert portuguese.total_votes == english.total_votes == 3


async def test_the_cache_serves_every_language_from_one_entry(db, translated, make_user):
    await vote(make_user, translated["City of God"], 2)
    await vote(make_user, translated["Amélie"], 3)
    await get_root().subject.settle()
    cache = ranking_cache.RankingCache(ttl_seconds=300, max_entries=8, db=db)
    english = await cache.get(NOV)
    portuguese = await cache.get(NOV, language=PT)
    assert [e.movie.title for e in english.items] == ["City of God", "Amélie"]
    assert [e.movie.title for e in portuguese.items] == ["Cidade de Deus", "Amélie"]
    assert await cache.get(NOV, language=PT) is portuguese  # derived once, then kept
    assert (await cache.get(NOV, language=PT, limit=1)).items == portuguese.items[:1]
    assert cache.entries.computations == 1 and len(cache.entries) == 1
    assert english.items[0].movie.title == "City of God"  # the English one is untouched


async def test_ranking_for_checks_the_language(db, translated):
    cache = get_root().cache
    zone = get_root().settings.zone
    for unknown in ("fr", "pt-br"):
        with pytest.raises(InvalidInput):
            await ranking_cache.ranking_for("all", language=unknown, cache=cache, zone=zone)
    board = await ranking_cache.ranking_for("all", language=PT, cache=cache, zone=zone)
    assert board.items == []
