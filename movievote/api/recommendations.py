"""Recommendations: a member's "for you", and "members who liked this also liked" (public)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from movievote.api.deps import CurrentUser, RootDep
from movievote.api.errors import UNAUTHORIZED, VALIDATION, doc
from movievote.api.movies import LanguageParam, MovieId
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import RecommendationList, SimilarMovies
from movievote.recommend.service import MAX_ITEMS

router = APIRouter(tags=["recommendations"])
Limit = Annotated[int, Query(ge=1, le=MAX_ITEMS, description="how many movies, at most")]


@router.get(
    "/api/recommendations",
    response_model=RecommendationList,
    summary="Movies for me, each with its reason",
    description=(
        "Movies I have not rated or voted for, best first, each with why: `liked` / `voted` "
        "(because I liked, or voted for, the movie `reason.movie_id`, titled `reason.title`), "
        "or, while I have rated and voted for too little, `most_voted` (this month) and "
        "`top_rated`. A rating I just gave counts at once. Never a hidden movie."
    ),
    responses={**UNAUTHORIZED, **VALIDATION},
)
async def for_me(
    user: CurrentUser,
    root: RootDep,
    limit: Limit = 10,
    language: LanguageParam = DEFAULT_LANGUAGE,
) -> RecommendationList:
    assert user.id is not None
    return await root.recommendations.recommend_for(user_id=user.id, n=limit, language=language)


@router.get(
    "/api/movies/{movie_id}/similar",
    response_model=SimilarMovies,
    summary="Members who liked this movie also liked (public)",
    description=(
        "The movies most tied to this one by what members rated and voted for, never a "
        "hidden one. Empty with `state` `training` until the first model is trained after "
        "a start, or `no_data` while nobody has rated or voted."
    ),
    tags=["movies"],
    responses={**doc(404, "No such movie (`movie_not_found`)."), **VALIDATION},
)
async def similar(
    movie_id: MovieId,
    root: RootDep,
    limit: Limit = 10,
    language: LanguageParam = DEFAULT_LANGUAGE,
) -> SimilarMovies:
    return await root.recommendations.similar_to(movie_id=movie_id, n=limit, language=language)
