"""The movie catalogue: search and read movies in a language, import them from any adapter.

English, the catalogue's default language, is in `movies`; the other languages' titles and
overviews are in `movie_translations`, and a read in a language takes them with a LEFT JOIN
in the same query, the English text standing in where a movie has no translation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.adapters.base import MovieData, MovieSource
from movievote.db import Database
from movievote.errors import InvalidInput, MovieNotFound
from movievote.i18n import N_, checked_language
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.models import (
    Genre,
    MonthlyTally,
    Movie,
    MovieGenre,
    MoviePage,
    MoviePublic,
    MovieTranslation,
    RatingTally,
    utcnow,
)
from movievote.text import cleaned, is_storable, storable

MAX_PAGE_SIZE = 100
movies_t = Movie.__table__  # type: ignore[attr-defined]
genres_t = Genre.__table__  # type: ignore[attr-defined]
tallies_t = MonthlyTally.__table__  # type: ignore[attr-defined]
SORTS = ("title", "year", "votes", "top_rated")  # the orders a page of movies can come in
movie_genres_t = MovieGenre.__table__  # type: ignore[attr-defined]
translations_t = MovieTranslation.__table__  # type: ignore[attr-defined]
rating_tallies_t = RatingTally.__table__  # type: ignore[attr-defined]
# a movie's ratings, read with it (its tally, by primary key; NULL: never rated)
RATING_COLUMNS = (
    rating_tallies_t.c.ratings.label("rating_count"),
    rating_tallies_t.c.half_stars.label("rating_half_stars"),
    rating_tallies_t.c.score.label("rating_score"),
)


def genres_query(movie_ids: Sequence[int]) -> sa.Select[tuple[int, str]]:
    return (
        sa.select(movie_genres_t.c.movie_id, genres_t.c.name)
        .join(genres_t, genres_t.c.id == movie_genres_t.c.genre_id)
        .where(movie_genres_t.c.movie_id.in_(list(movie_ids)))
        .order_by(movie_genres_t.c.movie_id, genres_t.c.name)
    )


async def genres_of(conn: AsyncConnection, movie_ids: Sequence[int]) -> dict[int, list[str]]:
    """Genre names per movie, alphabetical, for a handful of movies in one query."""
    found: dict[int, list[str]] = defaultdict(list)
    if not movie_ids:
        return found
    for row in await conn.execute(genres_query(movie_ids)):
        found[row.movie_id].append(row.name)
    return found


def rating_fields(row: sa.RowMapping) -> dict[str, Any]:
    """A movie's rating count, mean and score (in stars) from a row read with RATING_COLUMNS;
    nothing from a row read without them (the rankings)."""
    if "rating_count" not in row:
        return {}
    count = row["rating_count"] or 0
    return {
        "rating_count": count,
        "rating_average": round(row["rating_half_stars"] / (2 * count), 2) if count else None,
        "rating_score": round(row["rating_score"], 3) if count else None,
    }


def to_public(
    row: sa.RowMapping, genres: dict[int, list[str]], *, validate: bool = True
) -> MoviePublic:
    """A movie from a row of the catalogue; `validate=False` builds it without pydantic's
    checks (the database's typed values, for reads that build many: the ranking's)."""
    build = MoviePublic if validate else MoviePublic.model_construct
    return build(
        id=row["id"],
        title=row["title"],
        original_title=row["original_title"],
        year=row["year"],
        release_date=row["release_date"],
        overview=row["overview"],
        poster_url=row["poster_url"],
        genres=genres.get(row["id"], []),
        # only `get_movie` reads it (`in` first: a RowMapping's .get of a column it does not
        # have raises and catches an error inside, which cost the ranking's recomputation
        # after every fold about a third of its time)
        hidden="hidden_at" in row and row["hidden_at"] is not None,
        **rating_fields(row),
    )


PUBLIC_COLUMNS = (
    movies_t.c.id,
    movies_t.c.title,
    movies_t.c.original_title,
    movies_t.c.year,
    movies_t.c.release_date,
    movies_t.c.overview,
    movies_t.c.poster_url,
)


@dataclass(frozen=True)
class InLanguage:
    """What a query reads movies from to have them in a language: `source`, the movies with
    their translations in it LEFT JOINed (by primary key: at most one row per movie), the
    public columns with the translated title and overview where there is one, and the title
    sorted by. In the default language, the plain table and columns."""

    source: sa.FromClause
    columns: tuple[sa.ColumnElement[object], ...]
    title: sa.ColumnElement[str]
    translated_title: sa.ColumnElement[str] | None


# the languages kept in movie_translations (all but the default), numbered for the aliases
# and labels `with_translations` reads them under
TRANSLATED = tuple(enumerate(code for code in LANGUAGES if code != DEFAULT_LANGUAGE))


def with_translations(
    source: sa.FromClause,
) -> tuple[sa.FromClause, tuple[sa.ColumnElement[object], ...]]:
    """`source` (the movies table, or a join that has it) with every other language's title
    and overview LEFT JOINed (by primary key), so each row carries a movie in every language
    (`translations_in` reads them back); NULL where a movie has none."""
    columns: list[sa.ColumnElement[object]] = []
    for n, language in TRANSLATED:
        texts = translations_t.alias(f"texts_{n}")
        source = source.outerjoin(
            texts, sa.and_(texts.c.movie_id == movies_t.c.id, texts.c.language == language)
        )
        columns += [texts.c.title.label(f"title_{n}"), texts.c.overview.label(f"overview_{n}")]
    return source, tuple(columns)


def translations_in(row: sa.RowMapping) -> dict[str, tuple[str, str]]:
    """A movie's translations from a row read through `with_translations`."""
    return {
        language: (row[f"title_{n}"], row[f"overview_{n}"])
        for n, language in TRANSLATED
        if row[f"title_{n}"] is not None
    }


def in_language(language: str) -> InLanguage:
    """How to read movies in `language`."""
    if language == DEFAULT_LANGUAGE:
        return InLanguage(movies_t, PUBLIC_COLUMNS, movies_t.c.title, None)
    joined = movies_t.outerjoin(
        translations_t,
        sa.and_(translations_t.c.movie_id == movies_t.c.id, translations_t.c.language == language),
    )
    title = sa.func.coalesce(translations_t.c.title, movies_t.c.title)
    columns = (
        movies_t.c.id,
        title.label("title"),
        movies_t.c.original_title,
        movies_t.c.year,
        movies_t.c.release_date,
        sa.func.coalesce(translations_t.c.overview, movies_t.c.overview).label("overview"),
        movies_t.c.poster_url,
    )
    return InLanguage(joined, columns, title, translations_t.c.title)


async def list_movies(
    *,
    q: str | None = None,
    genre: str | None = None,
    year: int | None = None,
    page: int = 1,
    page_size: int = 24,
    language: str = DEFAULT_LANGUAGE,
    sort: str = "title",
    period: date | None = None,
    db: Database,
) -> MoviePage:
    """A page of movies matching a text search (the title in `language` or in English, or the
    original title), genre and year, with titles and overviews in `language`. Movies an admin
    hid are left out.

    `sort`: "title" (the title people read), "year" (newest first), "votes" (most voted in
    `period`, a month, read from its tallies) or "top_rated" (the Bayesian score of the rating
    tallies, services/ratings.py; movies nobody rated follow, by title); ties by title, then
    id, so pages never overlap or skip. Each movie comes with its rating count, mean and
    score. Text no database can store (a NUL character), an unknown language or sort are
    InvalidInput.
    """
    read = in_language(checked_language(language))
    if sort not in SORTS:
        raise InvalidInput(N_("Sort by one of: {choices}."), field="sort", choices=", ".join(SORTS))
    if sort == "votes" and period is None:
        raise InvalidInput(N_("Sorting by votes needs a month."), field="period")
    if page < 1:
        raise InvalidInput(N_("The page number starts at 1."), field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("The page size must be 1 to {count}."), field="page_size", count=MAX_PAGE_SIZE
        )
    if q is not None:
        storable(q, field="q")
    if genre is not None:
        storable(genre, field="genre")
    conditions: list[sa.ColumnElement[bool]] = [movies_t.c.hidden_at.is_(None)]
    if q and q.strip():
        text = q.strip()
        titles = [movies_t.c.title, movies_t.c.original_title]
        if read.translated_title is not None:
            titles.append(read.translated_title)
        conditions.append(sa.or_(*(t.icontains(text, autoescape=True) for t in titles)))
    if genre and genre.strip():
        conditions.append(
            sa.exists()
            .where(movie_genres_t.c.movie_id == movies_t.c.id)
            .where(movie_genres_t.c.genre_id == genres_t.c.id)
            .where(sa.func.lower(genres_t.c.name) == genre.strip().lower())
        )
    if year is not None:
        conditions.append(movies_t.c.year == year)
    if sort == "top_rated":
        return await _top_rated(read, conditions, page=page, page_size=page_size, db=db)
    source, order = read.source, [read.title, movies_t.c.id]
    if sort == "year":
        order = [movies_t.c.year.desc().nulls_last(), *order]
    elif sort == "votes":
        source = source.outerjoin(
            tallies_t,
            sa.and_(tallies_t.c.movie_id == movies_t.c.id, tallies_t.c.period == period),
        )
        order = [sa.func.coalesce(tallies_t.c.votes, 0).desc(), *order]
    source = source.outerjoin(rating_tallies_t, rating_tallies_t.c.movie_id == movies_t.c.id)
    async with db.engine.connect() as conn:
        total = await conn.scalar(
            sa.select(sa.func.count()).select_from(read.source).where(*conditions)
        )
        rows = (
            (
                await conn.execute(
                    sa.select(*read.columns, *RATING_COLUMNS)
                    .select_from(source)
                    .where(*conditions)
                    .order_by(*order)
                    .limit(page_size)
                    .offset((page - 1) * page_size)
                )
            )
            .mappings()
            .all()
        )
        genres = await genres_of(conn, [r["id"] for r in rows])
    return MoviePage(
        items=[to_public(r, genres) for r in rows], total=total or 0, page=page, page_size=page_size
    )


def top_rated_query(
    read: InLanguage, conditions: Sequence[sa.ColumnElement[bool]], *, limit: int, offset: int
) -> sa.Select:
    """Rated movies matching `conditions`, best Bayesian score first (then more ratings,
    then the lower id): an ordered scan of ix_rating_tallies_top that stops after the page,
    each row's movie looked up by primary key."""
    return (
        sa.select(*read.columns, *RATING_COLUMNS)
        .select_from(
            read.source.join(rating_tallies_t, rating_tallies_t.c.movie_id == movies_t.c.id)
        )
        .where(rating_tallies_t.c.ratings > 0, *conditions)
        .order_by(
            rating_tallies_t.c.score.desc(),
            rating_tallies_t.c.ratings.desc(),
            rating_tallies_t.c.movie_id,
        )
        .limit(limit)
        .offset(offset)
    )


_TOP_RATED_IDS = (
    sa.select(rating_tallies_t.c.movie_id)
    .join(movies_t, movies_t.c.id == rating_tallies_t.c.movie_id)
    .where(rating_tallies_t.c.ratings > 0, movies_t.c.hidden_at.is_(None))
    .order_by(
        rating_tallies_t.c.score.desc(),
        rating_tallies_t.c.ratings.desc(),
        rating_tallies_t.c.movie_id,
    )
    .limit(sa.bindparam("limit"))
)


async def top_rated_ids(*, limit: int, db: Database) -> list[int]:
    """The ids of the `limit` best rated listed movies, in `sort=top_rated`'s order (one
    ordered scan of ix_rating_tallies_top; the recommendations' fallback)."""
    async with db.engine.connect() as conn:
        return list(await conn.scalars(_TOP_RATED_IDS, {"limit": limit}))


async def _top_rated(
    read: InLanguage,
    conditions: list[sa.ColumnElement[bool]],
    *,
    page: int,
    page_size: int,
    db: Database,
) -> MoviePage:
    """A page of the catalogue by rating: the rated movies from the score's index; past
    them, the movies nobody rated, by title (a second query only on the page where the rated
    ones run out, and a count of the rated ones only past that page)."""
    offset = (page - 1) * page_size
    unrated = sa.or_(rating_tallies_t.c.ratings.is_(None), rating_tallies_t.c.ratings == 0)
    async with db.engine.connect() as conn:
        total = await conn.scalar(
            sa.select(sa.func.count()).select_from(read.source).where(*conditions)
        )
        rows = list(
            (await conn.execute(top_rated_query(read, conditions, limit=page_size, offset=offset)))
            .mappings()
            .all()
        )
        if len(rows) < page_size:
            rated = offset + len(rows)
            if not rows and offset:
                rated = int(
                    await conn.scalar(
                        sa.select(sa.func.count())
                        .select_from(
                            read.source.join(
                                rating_tallies_t, rating_tallies_t.c.movie_id == movies_t.c.id
                            )
                        )
                        .where(rating_tallies_t.c.ratings > 0, *conditions)
                    )
                    or 0
                )
            rows += (
                (
                    await conn.execute(
                        sa.select(*read.columns, *RATING_COLUMNS)
                        .select_from(
                            read.source.outerjoin(
                                rating_tallies_t, rating_tallies_t.c.movie_id == movies_t.c.id
                            )
                        )
                        .where(unrated, *conditions)
                        .order_by(read.title, movies_t.c.id)
                        .limit(page_size - len(rows))
                        .offset(max(0, offset - rated))
                    )
                )
                .mappings()
                .all()
            )
        genres = await genres_of(conn, [r["id"] for r in rows])
    return MoviePage(
        items=[to_public(r, genres) for r in rows], total=total or 0, page=page, page_size=page_size
    )


async def get_movie(
    *, movie_id: int, language: str = DEFAULT_LANGUAGE, db: Database
) -> MoviePublic:
    """One movie, its title and overview in `language` (English where it has no
    translation); MovieNotFound if there is none. A hidden movie is returned (a past vote for
    it still shows its title), with `hidden` set."""
    read = in_language(checked_language(language))
    async with db.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    sa.select(*read.columns, movies_t.c.hidden_at, *RATING_COLUMNS)
                    .select_from(
                        read.source.outerjoin(
                            rating_tallies_t, rating_tallies_t.c.movie_id == movies_t.c.id
                        )
                    )
                    .where(movies_t.c.id == movie_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
        genres = await genres_of(conn, [movie_id])
    return to_public(row, genres)


GENRE_SEPARATOR = "\x1f"  # the unit separator: in no genre's name


def _genre_names() -> sa.ScalarSelect[str]:
    """A movie's genre names in one string (correlated to `movies`; order not kept)."""
    return (
        sa.select(sa.func.aggregate_strings(genres_t.c.name, GENRE_SEPARATOR))
        .select_from(movie_genres_t.join(genres_t, genres_t.c.id == movie_genres_t.c.genre_id))
        .where(movie_genres_t.c.movie_id == movies_t.c.id)
        .scalar_subquery()
    )


@lru_cache(maxsize=len(LANGUAGES))
def _listed_query(language: str) -> sa.Select:
    """`listed_movies`' statement in a language, built once (`:movie_ids` expands)."""
    read = in_language(language)
    return (
        sa.select(*read.columns, *RATING_COLUMNS, _genre_names().label("genre_names"))
        .select_from(
            read.source.outerjoin(rating_tallies_t, rating_tallies_t.c.movie_id == movies_t.c.id)
        )
        .where(
            movies_t.c.id.in_(sa.bindparam("movie_ids", expanding=True)),
            movies_t.c.hidden_at.is_(None),
        )
    )


async def listed_movies(
    *, movie_ids: Sequence[int], language: str = DEFAULT_LANGUAGE, db: Database
) -> dict[int, MoviePublic]:
    """Those of these movies that are listed (hidden ones left out), by id, in `language`,
    with their ratings and genres: primary-key lookups in one statement (the recommendations
    read a dozen movies per request this way)."""
    if not movie_ids:
        return {}
    query = _listed_query(checked_language(language))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query, {"movie_ids": list(movie_ids)})).mappings().all()
    genres = {
        row["id"]: sorted(row["genre_names"].split(GENRE_SEPARATOR)) if row["genre_names"] else []
        for row in rows
    }
    return {row["id"]: to_public(row, genres) for row in rows}


async def list_genres(*, db: Database) -> list[str]:
    """Every genre that at least one movie of the public catalogue (not hidden) has,
    alphabetical."""
    listed = (
        sa.exists()
        .where(movie_genres_t.c.genre_id == genres_t.c.id)
        .where(movies_t.c.id == movie_genres_t.c.movie_id)
        .where(movies_t.c.hidden_at.is_(None))
    )
    async with db.engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(genres_t.c.name).where(listed).order_by(genres_t.c.name)
        )
        return list(rows)


async def count_movies(*, db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(movies_t)) or 0)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated


async def upsert_movies(items: Iterable[MovieData], *, db: Database) -> ImportResult:
    """Insert new movies and update known ones (same source and external id), in one transaction.

    A movie's genres are replaced by the ones given; its translations are inserted or updated
    per language, and languages it is not given keep theirs (a source without translations,
    OMDb, leaves the ones another source brought). Only the languages movievote speaks are
    kept, English being the movie's own text.
    """
    async with db.transaction() as conn:
        result, _ids = await upsert_in(conn, items, db=db)
    return result


async def upsert_in(
    conn: AsyncConnection, items: Iterable[MovieData], *, db: Database
) -> tuple[ImportResult, dict[tuple[str, str], int]]:
    """`upsert_movies` in the caller's transaction (an admin's addition commits with its audit
    row): what it did, and each movie's id by (source, external id)."""
    batch = list({(m.source, m.external_id): m for m in map(_storable_movie, items)}.values())
    result = ImportResult()
    ids: dict[tuple[str, str], int] = {}
    if not batch:
        return result, ids
    now = utcnow()
    known = set(
        tuple(row)
        for row in (
            await conn.execute(
                sa.select(movies_t.c.source, movies_t.c.external_id).where(
                    sa.tuple_(movies_t.c.source, movies_t.c.external_id).in_(
                        [(m.source, m.external_id) for m in batch]
                    )
                )
            )
        ).all()
    )
    statement = db.insert(movies_t)
    statement = statement.on_conflict_do_update(
        index_elements=["source", "external_id"],
        set_={
            name: statement.excluded[name]
            for name in (
                "title",
                "original_title",
                "release_date",
                "year",
                "overview",
                "poster_url",
                "updated_at",
            )
        },
    ).returning(movies_t.c.id, movies_t.c.source, movies_t.c.external_id)
    for movie in batch:
        row = (await conn.execute(statement, _movie_values(movie, now))).one()
        ids[(row.source, row.external_id)] = row.id
    genre_ids = await ensure_genres(conn, db, {g for m in batch for g in m.genres})
    await conn.execute(sa.delete(movie_genres_t).where(movie_genres_t.c.movie_id.in_(ids.values())))
    links = [
        {"movie_id": ids[(m.source, m.external_id)], "genre_id": genre_ids[g]}
        for m in batch
        for g in dict.fromkeys(m.genres)
    ]
    if links:
        await conn.execute(sa.insert(movie_genres_t), links)
    texts = _translation_rows(batch, ids)
    if texts:
        upsert = db.insert(translations_t)
        await conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["movie_id", "language"],
                set_={"title": upsert.excluded.title, "overview": upsert.excluded.overview},
            ),
            texts,
        )
    result.updated = len(known)
    result.created = len(batch) - len(known)
    return result, ids


def _translation_rows(
    batch: Sequence[MovieData], ids: dict[tuple[str, str], int]
) -> list[dict[str, object]]:
    rows: dict[tuple[int, str], dict[str, object]] = {}
    for movie in batch:
        movie_id = ids[(movie.source, movie.external_id)]
        for language, (title, overview) in movie.translations.items():
            if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
                continue
            rows[(movie_id, language)] = {  # an empty text reads as the English one
                "movie_id": movie_id,
                "language": language,
                "title": (title or movie.title)[:300],
                "overview": overview or movie.overview,
            }
    return list(rows.values())


def _storable_movie(movie: MovieData) -> MovieData:
    """The movie without characters the database refuses (a NUL in a catalogue's text)."""
    texts = (movie.source, movie.external_id, movie.title, movie.original_title, movie.overview)
    extras = (movie.poster_url or "", *movie.genres)
    translated = [text for pair in movie.translations.values() for text in pair]
    if all(is_storable(text) for text in (*texts, *extras, *translated)):
        return movie
    return replace(
        movie,
        source=cleaned(movie.source),
        external_id=cleaned(movie.external_id),
        title=cleaned(movie.title),
        original_title=cleaned(movie.original_title),
        overview=cleaned(movie.overview),
        poster_url=cleaned(movie.poster_url) if movie.poster_url else movie.poster_url,
        genres=tuple(cleaned(g) for g in movie.genres),
        translations={
            code: (cleaned(title), cleaned(overview))
            for code, (title, overview) in movie.translations.items()
        },
    )


def _movie_values(movie: MovieData, now: object) -> dict[str, object]:
    return {
        "source": movie.source,
        "external_id": movie.external_id,
        "title": movie.title[:300],
        "original_title": (movie.original_title or movie.title)[:300],
        "release_date": movie.release_date,
        "year": movie.year,
        "overview": movie.overview,
        "poster_url": movie.poster_url,
        "created_at": now,
        "updated_at": now,
    }


async def ensure_genres(conn: AsyncConnection, db: Database, names: set[str]) -> dict[str, int]:
    """The ids of these genres by name, the new ones created (in the caller's transaction)."""
    if not names:
        return {}
    await conn.execute(
        db.insert(genres_t).on_conflict_do_nothing(index_elements=["name"]),
        [{"name": n} for n in sorted(names)],
    )
    rows = await conn.execute(
        sa.select(genres_t.c.name, genres_t.c.id).where(genres_t.c.name.in_(names))
    )
    return {name: gid for name, gid in rows}


async def import_catalogue(
    source: MovieSource,
    *,
    batch_size: int = 100,
    on_progress: Callable[[int], None] | None = None,
    db: Database,
) -> ImportResult:
    """Import every movie a source yields, in batches; safe to run again (updates, no duplicates)."""
    result = ImportResult()
    batch: list[MovieData] = []

    async def flush() -> None:
        done = await upsert_movies(batch, db=db)
        result.created += done.created
        result.updated += done.updated
        if on_progress:
            on_progress(len(batch))
        batch.clear()

    async for movie in source.movies():
        batch.append(movie)
        if len(batch) >= batch_size:
            await flush()
    if batch:
        await flush()
    return result


async def untranslated_movies(*, source: str, db: Database) -> set[str]:
    """The external ids of a source's movies if none of them has a translation yet (a
    catalogue imported before movievote spoke other languages); empty otherwise."""
    async with db.engine.connect() as conn:
        translated = await conn.scalar(
            sa.select(
                sa.exists().where(
                    translations_t.c.movie_id == movies_t.c.id, movies_t.c.source == source
                )
            )
        )
        if translated:
            return set()
        return set(
            await conn.scalars(sa.select(movies_t.c.external_id).where(movies_t.c.source == source))
        )
