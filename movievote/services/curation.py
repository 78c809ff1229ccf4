"""Curating the catalogue (admins): edit a movie (texts in every language, year, genres,
poster), find movies in an external catalogue (TMDB, OMDb) and add them, import a catalogue
file with its progress.

Each change writes its audit row (`admin.record`): an edit and an addition in the same
transaction as the change, an import one row with its counts when it ends (its batches commit
as they go, as the CLI's import does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.adapters.base import MovieData, MovieSearch
from movievote.adapters.omdb import OmdbClient
from movievote.adapters.tmdb import TmdbAdapter, TmdbClient
from movievote.config import Settings
from movievote.db import Database
from movievote.errors import (
    N_,
    CatalogueUnreachable,
    InvalidInput,
    MovieNotFound,
    SearchNotConfigured,
)
from movievote.i18n import localised
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.models import (
    AddedMovie,
    ExternalMovie,
    ExternalSearch,
    FileProblem,
    ImportSummary,
    Movie,
    MovieDetails,
    MovieEdit,
    MovieText,
    utcnow,
)
from movievote.services import catalogue
from movievote.services.admin import Actor, record
from movievote.text import cleaned, storable

T = TypeVar("T")
movies_t = Movie.__table__  # type: ignore[attr-defined]
translations_t = catalogue.translations_t
movie_genres_t = catalogue.movie_genres_t

MAX_TITLE_CHARS = 300
MAX_OVERVIEW_CHARS = 5000
MAX_POSTER_CHARS = 500
MAX_GENRES = 10
MAX_GENRE_CHARS = 64
FIRST_YEAR, LAST_YEAR = 1870, 2100
OTHER_LANGUAGES = tuple(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)

# --- editing a movie ---


def _limited(value: str | None, *, field: str, limit: int, too_long: str) -> str:
    text = storable((value or "").strip(), field=field)
    if len(text) > limit:
        raise InvalidInput(too_long, field=field, count=limit)
    return text


def _title(value: str | None, *, field: str) -> str:
    text = _limited(
        value,
        field=field,
        limit=MAX_TITLE_CHARS,
        too_long=N_("A title is at most {count} characters."),
    )
    if not text:
        raise InvalidInput(N_("Give the movie a title."), field=field)
    return text


def _overview(value: str | None, *, field: str) -> str:
    return _limited(
        value,
        field=field,
        limit=MAX_OVERVIEW_CHARS,
        too_long=N_("An overview is at most {count} characters."),
    )


def _year(value: int | None) -> int | None:
    if value is not None and not FIRST_YEAR <= value <= LAST_YEAR:
        raise InvalidInput(
            N_("The year must be from {first} to {last}, or left empty."),
            field="year",
            first=str(FIRST_YEAR),  # a year, not a number to group ("1.870")
            last=str(LAST_YEAR),
        )
    return value


def _poster(value: str | None) -> str | None:
    text = storable((value or "").strip(), field="poster_url")
    if not text:
        return None
    if (
        not text.lower().startswith("https://")
        or len(text) > MAX_POSTER_CHARS
        or any(c.isspace() for c in text)
        or len(text) <= len("https://")
    ):
        raise InvalidInput(
            N_("The poster must be an https:// address of at most {count} characters."),
            field="poster_url",
            count=MAX_POSTER_CHARS,
        )
    return text


def _genres(names: Sequence[str] | None) -> list[str]:
    """The genres as given, trimmed, each once (whatever its case), at most MAX_GENRES."""
    found: dict[str, str] = {}
    for name in names or []:
        text = storable(str(name).strip(), field="genres")
        if not text:
            continue
        if len(text) > MAX_GENRE_CHARS:
            raise InvalidInput(
                N_("A genre's name is at most {count} characters."),
                field="genres",
                count=MAX_GENRE_CHARS,
            )
        found.setdefault(text.casefold(), text)
    if len(found) > MAX_GENRES:
        raise InvalidInput(
            N_("A movie has at most {count} genres."), field="genres", count=MAX_GENRES
        )
    return sorted(found.values(), key=str.casefold)


async def _known_spelling(conn: AsyncConnection, names: list[str]) -> list[str]:
    """Each name as the catalogue already spells that genre ("drama" is "Drama")."""
    known = {
        name.casefold(): name for name in await conn.scalars(sa.select(catalogue.genres_t.c.name))
    }
    return sorted((known.get(name.casefold(), name) for name in names), key=str.casefold)


def _translations(
    given: Mapping[str, MovieText | None] | None,
) -> dict[str, tuple[str, str] | None]:
    """Each language's (title, overview), or None: no text of its own (it reads English)."""
    wanted: dict[str, tuple[str, str] | None] = {}
    for language, text in (given or {}).items():
        if language not in OTHER_LANGUAGES:
            raise InvalidInput(
                N_(
                    "Translations are for {languages}; English is the movie's own title and "
                    "overview."
                ),
                field="translations",
                languages=", ".join(OTHER_LANGUAGES),
            )
        where = f"translations.{language}"
        title = "" if text is None else text.title
        overview = "" if text is None else text.overview
        overview = _overview(overview, field=f"{where}.overview")
        title_text = _limited(
            title,
            field=f"{where}.title",
            limit=MAX_TITLE_CHARS,
            too_long=N_("A title is at most {count} characters."),
        )
        if not title_text and overview:
            raise InvalidInput(
                N_("Give the translated title too, or leave both the title and overview empty."),
                field=f"{where}.title",
            )
        wanted[language] = (title_text, overview) if title_text else None
    return wanted


async def _details(conn: AsyncConnection, movie_id: int, *, lock: bool = False) -> MovieDetails:
    query = sa.select(movies_t).where(movies_t.c.id == movie_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
    genres = await catalogue.genres_of(conn, [movie_id])
    texts = await conn.execute(
        sa.select(translations_t.c.language, translations_t.c.title, translations_t.c.overview)
        .where(translations_t.c.movie_id == movie_id)
        .order_by(translations_t.c.language)
    )
    return MovieDetails(
        id=row.id,
        source=row.source,
        external_id=row.external_id,
        title=row.title,
        original_title=row.original_title,
        year=row.year,
        release_date=row.release_date,
        overview=row.overview,
        poster_url=row.poster_url,
        genres=sorted(genres.get(movie_id, []), key=str.casefold),
        translations={
            language: MovieText(title=title, overview=overview)
            for language, title, overview in texts
        },
        hidden=row.hidden_at is not None,
    )


async def get_movie(*, movie_id: int, db: Database) -> MovieDetails:
    """One movie as an admin edits it (hidden or not); MovieNotFound if there is none."""
    async with db.engine.connect() as conn:
        return await _details(conn, movie_id)


def _text_of(details: MovieDetails, language: str) -> tuple[str, str] | None:
    text = details.translations.get(language)
    return None if text is None else (text.title, text.overview)


async def edit_movie(
    *, movie_id: int, changes: MovieEdit, actor: Actor, db: Database
) -> MovieDetails:
    """Change what an admin gave of a movie (see MovieEdit), in one transaction with its audit
    row, which holds the fields that changed, before and after; a change to nothing changes
    and records nothing. An empty original title becomes the title; a year its release date
    does not have clears that date; a translated title without its overview takes the
    English overview (as an import does). InvalidInput names the field that breaks a rule."""
    given = changes.model_fields_set
    wanted: dict[str, Any] = {}
    if "title" in given:
        wanted["title"] = _title(changes.title, field="title")
    if "original_title" in given:
        wanted["original_title"] = _limited(
            changes.original_title,
            field="original_title",
            limit=MAX_TITLE_CHARS,
            too_long=N_("An original title is at most {count} characters."),
        )
    if "year" in given:
        wanted["year"] = _year(changes.year)
    if "overview" in given:
        wanted["overview"] = _overview(changes.overview, field="overview")
    if "poster_url" in given:
        wanted["poster_url"] = _poster(changes.poster_url)
    genres = _genres(changes.genres) if "genres" in given else None
    texts = _translations(changes.translations) if "translations" in given else {}

    async with db.transaction() as conn:
        current = await _details(conn, movie_id, lock=True)
        if wanted.get("original_title") == "":
            wanted["original_title"] = wanted.get("title", current.title)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for name, value in wanted.items():
            if value != getattr(current, name):
                before[name], after[name] = getattr(current, name), value
                values[name] = value
        if (
            "year" in values
            and current.release_date
            and current.release_date.year != values["year"]
        ):
            before["release_date"], after["release_date"] = current.release_date.isoformat(), None
            values["release_date"] = None
        if genres is not None:
            genres = await _known_spelling(conn, genres)
            if genres != current.genres:
                before["genres"], after["genres"] = current.genres, genres
        overview = values.get("overview", current.overview)
        changed_texts: dict[str, tuple[str, str] | None] = {}
        for language, text in texts.items():
            if text is not None and not text[1]:
                text = (text[0], overview)  # as an import: the English overview stands in
            if text != _text_of(current, language):
                changed_texts[language] = text
                old = _text_of(current, language)
                before[f"translation.{language}"] = list(old) if old else None
                after[f"translation.{language}"] = list(text) if text else None
        if not before:
            return current
        await conn.execute(
            sa.update(movies_t)
            .where(movies_t.c.id == movie_id)
            .values(**values, updated_at=utcnow())
        )
        if "genres" in after:
            ids = await catalogue.ensure_genres(conn, db, set(genres or []))
            await conn.execute(
                sa.delete(movie_genres_t).where(movie_genres_t.c.movie_id == movie_id)
            )
            if genres:
                await conn.execute(
                    sa.insert(movie_genres_t),
                    [{"movie_id": movie_id, "genre_id": ids[name]} for name in genres],
                )
        for language, text in changed_texts.items():
            await conn.execute(
                sa.delete(translations_t).where(
                    translations_t.c.movie_id == movie_id, translations_t.c.language == language
                )
            )
            if text is not None:
                await conn.execute(
                    sa.insert(translations_t).values(
                        movie_id=movie_id, language=language, title=text[0], overview=text[1]
                    )
                )
        await record(
            conn,
            actor=actor,
            action="movie.edit",
            target_type="movie",
            target_id=movie_id,
            before=before,
            after=after,
        )
        return await _details(conn, movie_id)


# --- external catalogues: search, add ---

SOURCES = ("tmdb", "omdb")
SOURCE_NAMES = {"tmdb": "TMDB", "omdb": "OMDb"}
KEY_VARIABLES = {"tmdb": "TMDB_API_KEY", "omdb": "OMDB_API_KEY"}
MAX_QUERY_CHARS = 200
MAX_HITS = 20


def search_sources(settings: Settings) -> list[str]:
    """The external catalogues an admin can search: those whose API key is set."""
    keys = {"tmdb": settings.tmdb_api_key, "omdb": settings.omdb_api_key}
    return [source for source in SOURCES if keys[source]]


def _client(source: str, *, settings: Settings, http: httpx.AsyncClient) -> MovieSearch:
    if source not in SOURCES:
        raise InvalidInput(
            N_("Search one of: {choices}."), field="source", choices=", ".join(SOURCES)
        )
    if source not in search_sources(settings):
        raise SearchNotConfigured(
            N_("Searching {source} is not configured: the server needs {variable}."),
            source=SOURCE_NAMES[source],
            variable=KEY_VARIABLES[source],
        )
    if source == "tmdb":
        return TmdbClient(
            http=http,
            base_url=settings.tmdb_base_url,
            api_key=settings.tmdb_api_key,
            image_base_url=settings.tmdb_image_base_url,
            languages=LANGUAGES,  # an addition brings its Portuguese title and overview
        )
    return OmdbClient(http=http, base_url=settings.omdb_base_url, api_key=settings.omdb_api_key)


async def _asking(source: str, call: Coroutine[Any, Any, T]) -> T:
    """An external catalogue's answer, or CatalogueUnreachable saying what went wrong."""
    name = SOURCE_NAMES[source]
    try:
        return await call
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise CatalogueUnreachable(
                N_("{source} refused the API key: check {variable} on the server."),
                source=name,
                variable=KEY_VARIABLES[source],
            ) from exc
        raise CatalogueUnreachable(
            N_("{source} answered with an error (HTTP {status}). Try again later."),
            source=name,
            status=str(status),
        ) from exc
    except httpx.HTTPError as exc:
        raise CatalogueUnreachable(
            N_("{source} did not answer. Try again later."), source=name
        ) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CatalogueUnreachable(
            N_("{source} answered something movievote cannot read."), source=name
        ) from exc


async def search_external(
    *, source: str, query: str, settings: Settings, http: httpx.AsyncClient, db: Database
) -> ExternalSearch:
    """Search an external catalogue by title (SearchNotConfigured without its key,
    CatalogueUnreachable when it fails); each hit says whether the catalogue has it."""
    text = storable((query or "").strip(), field="q")
    if not text:
        raise InvalidInput(N_("Type part of a title to search for."), field="q")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(
            N_("A search is at most {count} characters."), field="q", count=MAX_QUERY_CHARS
        )
    client = _client(source, settings=settings, http=http)
    hits = (await _asking(source, client.find(text)))[:MAX_HITS]
    items = [
        ExternalMovie(
            source=hit.source,
            external_id=hit.external_id,
            title=hit.title,
            year=hit.year,
            overview=hit.overview,
            poster_url=hit.poster_url,
        )
        for hit in hits
    ]
    if items:
        await _mark_known(items, db=db)
    return ExternalSearch(source=source, query=text, items=items)


async def _mark_known(items: list[ExternalMovie], *, db: Database) -> None:
    """Set each hit's `movie_id` (the same source and id is in the catalogue) and
    `lookalike_id` (a movie with the same title, any case, and year)."""
    async with db.engine.connect() as conn:
        same = {
            (row.source, row.external_id): row.id
            for row in await conn.execute(
                sa.select(movies_t.c.id, movies_t.c.source, movies_t.c.external_id).where(
                    sa.tuple_(movies_t.c.source, movies_t.c.external_id).in_(
                        [(i.source, i.external_id) for i in items]
                    )
                )
            )
        }
        titles = {i.title.lower() for i in items}
        alike: dict[tuple[str, int | None], int] = {}
        for row in await conn.execute(
            sa.select(movies_t.c.id, movies_t.c.title, movies_t.c.year)
            .where(sa.func.lower(movies_t.c.title).in_(titles))
            .order_by(movies_t.c.id)
        ):
            alike.setdefault((row.title.lower(), row.year), row.id)
    for item in items:
        item.movie_id = same.get((item.source, item.external_id))
        lookalike = alike.get((item.title.lower(), item.year))
        item.lookalike_id = lookalike if lookalike != item.movie_id else None


async def add_external(
    *,
    source: str,
    external_id: str,
    actor: Actor,
    settings: Settings,
    http: httpx.AsyncClient,
    db: Database,
) -> AddedMovie:
    """Fetch one movie from an external catalogue and upsert it (the same source and id never
    makes a second movie: adding it again refreshes it from the source), in one transaction
    with its audit row. MovieNotFound if the catalogue has no movie with this id."""
    wanted = storable((external_id or "").strip(), field="external_id")
    client = _client(source, settings=settings, http=http)
    movie = await _asking(source, client.fetch(wanted)) if wanted else None
    if movie is None:
        raise MovieNotFound(
            N_("{source} has no movie with id {external_id}."),
            source=SOURCE_NAMES[source],
            external_id=wanted[:64],
        )
    async with db.transaction() as conn:
        old_title = await conn.scalar(
            sa.select(movies_t.c.title).where(
                movies_t.c.source == movie.source, movies_t.c.external_id == movie.external_id
            )
        )
        _, ids = await catalogue.upsert_in(conn, [movie], db=db)
        movie_id = ids[(movie.source, movie.external_id)]
        row = (
            await conn.execute(
                sa.select(
                    movies_t.c.title, movies_t.c.year, movies_t.c.hidden_at, movies_t.c.source
                ).where(movies_t.c.id == movie_id)
            )
        ).one()
        await record(
            conn,
            actor=actor,
            action="movie.add",
            target_type="movie",
            target_id=movie_id,
            before=None if old_title is None else {"title": old_title},
            after={
                "source": movie.source,
                "external_id": movie.external_id,
                "title": row.title,
                "created": old_title is None,
            },
        )
    return AddedMovie(
        id=movie_id,
        title=row.title,
        year=row.year,
        hidden=row.hidden_at is not None,
        hidden_at=row.hidden_at,
        created=old_title is None,
    )


# --- a catalogue file: read, import ---

MAX_SOURCE_CHARS = 32
MAX_ID_CHARS = 64
IMPORT_BATCH = 50  # movies per transaction, and per step of the progress bar


@dataclass(frozen=True)
class Problem:
    """An entry of a file that cannot be imported (1 is the first), and why."""

    entry: int
    error: InvalidInput


@dataclass(frozen=True)
class CatalogueFile:
    """A catalogue file read: the movies to import, and the entries skipped with why."""

    name: str
    source: str
    entries: int
    movies: list[MovieData]
    problems: list[Problem]


@dataclass
class ImportReport:
    """What an import did: `entries` = `added` + `updated` + `skipped`."""

    file: str
    source: str
    entries: int
    skipped: int
    problems: list[Problem] = field(default_factory=list)
    added: int = 0
    updated: int = 0


def _not_tmdb() -> InvalidInput:
    return InvalidInput(
        N_(
            'The file is not in TMDB format: an object with a "results" list of movies (and a '
            '"genres" list) is expected.'
        ),
        field="file",
    )


def _genre_map(genres: Any) -> dict[int, str]:
    if genres is None:
        return {}
    try:
        if not isinstance(genres, list):
            raise TypeError
        return TmdbAdapter.genre_map(genres)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            N_('The "genres" list must hold objects with an "id" and a "name".'), field="file"
        ) from exc


def _entry_problem(raw: Any, entry: int) -> InvalidInput | None:
    """Why a result cannot be a movie, or None."""
    if not isinstance(raw, dict):
        return InvalidInput(N_("Entry {entry} is not a movie object."), field="file", entry=entry)
    ident = raw.get("id")
    if isinstance(ident, bool) or not isinstance(ident, int | str) or not str(ident).strip():
        return InvalidInput(N_("Entry {entry} has no id."), field="file", entry=entry)
    if len(str(ident)) > MAX_ID_CHARS:
        return InvalidInput(
            N_("Entry {entry}: the id is longer than {count} characters."),
            field="file",
            entry=entry,
            count=MAX_ID_CHARS,
        )
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        return InvalidInput(N_("Entry {entry} has no title."), field="file", entry=entry)
    if not isinstance(raw.get("translations") or {}, dict):
        return InvalidInput(
            N_("Entry {entry}: its translations must be an object by language."),
            field="file",
            entry=entry,
        )
    if not isinstance(raw.get("genre_ids") or [], list):
        return InvalidInput(
            N_("Entry {entry}: its genre_ids must be a list of genre ids."),
            field="file",
            entry=entry,
        )
    return None


def parse_catalogue(data: bytes, *, name: str, image_base_url: str) -> CatalogueFile:
    """A file in the format `movievote import --file` takes (TMDB's: `{"genres": [...],
    "results": [...]}`, an optional `source`, a result may carry `translations`) read into
    movies. A file that is not one is InvalidInput; an entry that is not a movie, or repeats
    another's id, is skipped with its Problem. CPU work: run it in a thread."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(N_("The file is not UTF-8 text."), field="file") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            N_("The file is not valid JSON (line {line}, column {column})."),
            field="file",
            line=str(exc.lineno),
            column=str(exc.colno),
        ) from exc
    except RecursionError as exc:
        raise InvalidInput(N_("The file is nested too deeply to read."), field="file") from exc
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise _not_tmdb()
    source = document.get("source") or "tmdb"
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE_CHARS:
        raise InvalidInput(
            N_('The "source" must be a name of at most {count} characters.'),
            field="file",
            count=MAX_SOURCE_CHARS,
        )
    adapter = TmdbAdapter(
        genres=_genre_map(document.get("genres")),
        image_base_url=image_base_url,
        source=cleaned(source.strip()),
    )
    results = document["results"]
    if not results:
        raise InvalidInput(N_("The file holds no movies."), field="file")
    movies: list[MovieData] = []
    problems: list[Problem] = []
    first_of: dict[str, int] = {}
    for entry, raw in enumerate(results, start=1):
        problem = _entry_problem(raw, entry)
        if problem is None:
            try:
                movie = adapter.to_movie(raw)
            except (KeyError, TypeError, ValueError, AttributeError):
                problem = InvalidInput(
                    N_("Entry {entry} could not be read as a movie."), field="file", entry=entry
                )
            else:
                if movie.external_id in first_of:
                    problem = InvalidInput(
                        N_("Entry {entry} repeats the id of entry {first}."),
                        field="file",
                        entry=entry,
                        first=first_of[movie.external_id],
                    )
                else:
                    first_of[movie.external_id] = entry
                    movies.append(movie)
        if problem is not None:
            problems.append(Problem(entry, problem))
    return CatalogueFile(
        name=name, source=adapter.source, entries=len(results), movies=movies, problems=problems
    )


async def read_catalogue_file(data: bytes, *, name: str, settings: Settings) -> CatalogueFile:
    """`parse_catalogue` in a worker thread (a large file keeps the event loop free); a file
    over MAX_UPLOAD_BYTES is InvalidInput."""
    if len(data) > settings.max_upload_bytes:
        raise InvalidInput(
            N_("The file is over the limit of {count} bytes."),
            field="file",
            count=settings.max_upload_bytes,
        )
    return await asyncio.to_thread(
        parse_catalogue,
        data,
        name=cleaned(name.strip() or "catalogue.json")[:200],
        image_base_url=settings.tmdb_image_base_url,
    )


Progress = Callable[[int, int], Awaitable[None]]  # (movies imported, movies to import)


async def import_movies(
    parsed: CatalogueFile,
    *,
    actor: Actor,
    on_progress: Progress | None = None,
    batch_size: int | None = None,
    db: Database,
) -> ImportReport:
    """Import a file's movies in batches (each its own transaction, as the CLI does: a
    re-import updates, never duplicates), telling `on_progress` after each; then one audit
    row with the counts (marked failed, with the counts so far, if the import broke off)."""
    report = ImportReport(
        file=parsed.name,
        source=parsed.source,
        entries=parsed.entries,
        skipped=len(parsed.problems),
        problems=list(parsed.problems),
    )
    total, done, size = len(parsed.movies), 0, batch_size or IMPORT_BATCH
    try:
        for start in range(0, total, size):
            batch = parsed.movies[start : start + size]
            result = await catalogue.upsert_movies(batch, db=db)
            report.added += result.created
            report.updated += result.updated
            done += len(batch)
            if on_progress is not None:
                await on_progress(done, total)
    except BaseException:
        with contextlib.suppress(Exception):
            await _record_import(report, actor=actor, failed=True, db=db)
        raise
    await _record_import(report, actor=actor, failed=False, db=db)
    return report


async def _record_import(report: ImportReport, *, actor: Actor, failed: bool, db: Database) -> None:
    counts = {
        "file": report.file,
        "entries": report.entries,
        "added": report.added,
        "updated": report.updated,
        "skipped": report.skipped,
    }
    async with db.transaction() as conn:
        await record(
            conn,
            actor=actor,
            action="catalogue.import",
            target_type="catalogue",
            target_id=report.source,
            before=None,
            after={**counts, "failed": True} if failed else counts,
        )


def summary(report: ImportReport, language: str) -> ImportSummary:
    """An import's report as the API and the page show it, its problems in `language`."""
    return ImportSummary(
        file=report.file,
        source=report.source,
        entries=report.entries,
        added=report.added,
        updated=report.updated,
        skipped=report.skipped,
        problems=[
            FileProblem(entry=p.entry, detail=localised(p.error, language)) for p in report.problems
        ],
    )
