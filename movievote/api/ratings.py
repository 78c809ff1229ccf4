"""Ratings: 0.5 to 5 stars and an optional review per member and movie; the reviews, public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from movievote.api.deps import CurrentClaims, CurrentUser, RootDep
from movievote.api.errors import MALFORMED_BODY, UNAUTHORIZED, VALIDATION, doc
from movievote.api.movies import LanguageParam, MovieId
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import REVIEW_MAX_CHARACTERS, MyRatingPage, RatingPublic, ReviewPage
from movievote.services import ratings

router = APIRouter(tags=["ratings"])
Page = Annotated[int, Query(ge=1, le=100_000, description="the page, from 1")]


class RatingRequest(BaseModel):
    stars: float = Field(
        ge=0.5, le=5, multiple_of=0.5, description="0.5 to 5, in steps of 0.5", examples=[4.5]
    )
    review: str | None = Field(
        default=None,
        max_length=REVIEW_MAX_CHARACTERS,
        pattern=r"^[^\x00]*$",
        description="optional, at most 1,000 characters (trimmed; empty means none)",
    )


@router.put(
    "/api/movies/{movie_id}/rating",
    response_model=RatingPublic,
    summary="Rate a movie, or change my rating (0.5-5 stars, an optional review)",
    responses={
        200: {"description": "My rating of the movie, changed.", "model": RatingPublic},
        201: {"description": "My rating of the movie, given now.", "model": RatingPublic},
        **UNAUTHORIZED,
        **doc(
            403,
            "The account's email address is not verified yet (`email_not_verified`), or it is "
            "blocked (`account_blocked`).",
        ),
        **doc(404, "No such movie (`movie_not_found`)."),
        **doc(409, "An admin hid the movie: it cannot be rated (`movie_hidden`)."),
        **MALFORMED_BODY,
        **VALIDATION,
    },
)
async def rate(
    movie_id: MovieId,
    body: RatingRequest,
    claims: CurrentClaims,
    root: RootDep,
    response: Response,
) -> RatingPublic:
    # the statement checks the session is open, the account may rate and the movie is listed
    rated = await ratings.rate(
        db=root.db,
        settings=root.settings,
        folder=root.ratings,
        user_id=claims.user_id,
        session_id=claims.session_id,
        movie_id=movie_id,
        stars=body.stars,
        review=body.review,
    )
    response.status_code = 201 if rated.created else 200
    return rated.rating


@router.delete(
    "/api/movies/{movie_id}/rating",
    status_code=204,
    response_class=Response,
    summary="Take back my rating of a movie (and its review)",
    responses={
        204: {"description": "I have no rating of the movie now (none was there, or it is gone)."},
        **UNAUTHORIZED,
        **doc(403, "The account is blocked (`account_blocked`)."),
        **doc(404, "No such movie (`movie_not_found`)."),
        **VALIDATION,
    },
)
async def remove(movie_id: MovieId, claims: CurrentClaims, root: RootDep) -> Response:
    await ratings.remove(
        db=root.db,
        settings=root.settings,
        folder=root.ratings,
        user_id=claims.user_id,
        session_id=claims.session_id,
        movie_id=movie_id,
    )
    return Response(status_code=204)


@router.get(
    "/api/movies/{movie_id}/ratings",
    response_model=ReviewPage,
    summary="A movie's ratings and reviews, newest first (public)",
    responses={**doc(404, "No such movie (`movie_not_found`)."), **VALIDATION},
)
async def reviews(
    movie_id: MovieId,
    root: RootDep,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=ratings.MAX_PAGE_SIZE)] = 10,
) -> ReviewPage:
    return await ratings.reviews_of(db=root.db, movie_id=movie_id, page=page, page_size=page_size)


@router.get(
    "/api/me/ratings",
    response_model=MyRatingPage,
    summary="My ratings, the latest given or changed first",
    responses={**UNAUTHORIZED, **VALIDATION},
)
async def my_ratings(
    user: CurrentUser,
    root: RootDep,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=ratings.MAX_PAGE_SIZE)] = 20,
    language: LanguageParam = DEFAULT_LANGUAGE,
) -> MyRatingPage:
    assert user.id is not None
    return await ratings.my_ratings(
        db=root.db, user_id=user.id, page=page, page_size=page_size, language=language
    )
