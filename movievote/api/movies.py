"""The catalogue."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from movievote import posters
from movievote.api.deps import RootDep
from movievote.api.errors import TOO_LARGE, UNAVAILABLE, VALIDATION, as_json, doc
from movievote.i18n import gettext
from movievote.languages import DEFAULT_LANGUAGE, Language
from movievote.models import MoviePage, MoviePublic
from movievote.periods import current_period
from movievote.services import catalogue

router = APIRouter(tags=["movies"])
MovieId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a movie's id")]
POSTER_CACHE_CONTROL = "public, max-age=86400"  # a day: a cover changes only with its movie
# The cover is a document of its own when opened directly: nothing to load, no script to run.
POSTER_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
LanguageParam = Annotated[
    Language,
    Query(description="the language of titles and overviews (English where a movie has none)"),
]


@router.get(
    "/api/movies",
    response_model=MoviePage,
    summary="Search the catalogue",
    responses={**VALIDATION},
)
async def list_movies(
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00]*$",
            description="text in the title (in `language` or English), no NUL character",
        ),
    ] = None,
    genre: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    year: Annotated[int | None, Query(ge=1800, le=2200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=catalogue.MAX_PAGE_SIZE)] = 24,
    sort: Annotated[
        Literal["title", "year", "votes", "top_rated"],
        Query(
            description="`title`, `year` (newest first), `votes` (most voted this month) or "
            "`top_rated` (the Bayesian average of the ratings; movies nobody rated follow)"
        ),
    ] = "title",
    language: LanguageParam = DEFAULT_LANGUAGE,
    *,
    root: RootDep,
) -> MoviePage:
    return await catalogue.list_movies(
        db=root.db,
        q=q,
        genre=genre,
        year=year,
        page=page,
        page_size=page_size,
        language=language,
        sort=sort,
        period=current_period(root.settings.zone),
    )


@router.get(
    "/api/movies/{movie_id}",
    response_model=MoviePublic,
    summary="One movie",
    responses={**doc(404, "No such movie (`movie_not_found`)."), **VALIDATION},
)
async def get_movie(
    movie_id: MovieId, root: RootDep, language: LanguageParam = DEFAULT_LANGUAGE
) -> MoviePublic:
    return await catalogue.get_movie(db=root.db, movie_id=movie_id, language=language)


class SvgResponse(Response):
    media_type = "image/svg+xml"


@router.get(
    "/api/movies/{movie_id}/poster.svg",
    response_class=SvgResponse,
    summary="A designed cover for a movie (SVG), made from its title, year and genres",
    responses={
        200: {
            "description": "The cover, 400x600; cacheable for a day, with a strong ETag.",
            "content": {"image/svg+xml": {"schema": {"type": "string"}}},
        },
        304: {"description": "Unchanged since the ETag sent in If-None-Match."},
        **as_json(
            {
                **doc(404, "No such movie (`movie_not_found`)."),
                **VALIDATION,
                **TOO_LARGE,
                **UNAVAILABLE,
            }
        ),
    },
)
async def get_poster(
    movie_id: MovieId,
    request: Request,
    root: RootDep,
    language: LanguageParam = DEFAULT_LANGUAGE,
) -> Response:
    movie = await catalogue.get_movie(db=root.db, movie_id=movie_id, language=language)
    genre = posters.main_genre(movie.genres)  # the genre its colours come from
    svg = posters.cover_svg(
        title=movie.title,
        year=movie.year,
        genres=movie.genres,
        genre_label=gettext(language, genre) if genre else None,
    ).encode()
    etag = f'"{hashlib.sha256(svg).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": POSTER_CACHE_CONTROL}
    if matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return SvgResponse(svg, headers={**headers, "Content-Security-Policy": POSTER_POLICY})


def matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison: `*`, or the tag among those listed, W/ or not."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
