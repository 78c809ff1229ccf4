"""The catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from movievote.api.deps import RootDep
from movievote.api.errors import VALIDATION, doc
from movievote.languages import DEFAULT_LANGUAGE, Language
from movievote.models import MoviePage, MoviePublic
from movievote.services import catalogue

router = APIRouter(tags=["movies"])
MovieId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a movie's id")]
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
        Query(max_length=200, description="text in the title (in `language` or English)"),
    ] = None,
    genre: Annotated[str | None, Query(max_length=64)] = None,
    year: Annotated[int | None, Query(ge=1800, le=2200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=catalogue.MAX_PAGE_SIZE)] = 24,
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
