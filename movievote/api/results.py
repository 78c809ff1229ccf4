"""Month results: published months, a month's final ranking, its ballots (the canonical CSV
whose SHA-256 the result carries) and a JSON export anyone can re-check, the winners; public.
What admins alone see of a publication (did the live tallies agree?) is under /api/admin."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from movievote.api.deps import AskedLanguage, CurrentAdmin, CurrentUser, RootDep
from movievote.api.errors import TOO_LARGE, UNAUTHORIZED, UNAVAILABLE, VALIDATION, as_json, doc
from movievote.languages import Language
from movievote.models import (
    MonthResultPublic,
    PublishedBallotPublic,
    ResultCheck,
    ResultSummary,
    Winner,
)
from movievote.periods import parse_period
from movievote.services import published

router = APIRouter()  # each route names its tag: results, or admin
MonthParam = Annotated[
    str,
    Path(
        pattern=r"^[12][0-9]{3}-(0[1-9]|1[0-2])$",
        description="a month written `YYYY-MM` (years 1000 to 2999)",
    ),
]
LanguageQuery = Annotated[
    Language | None,
    Query(description="the language of the movies' titles (default: Accept-Language)"),
]
NO_RESULT = doc(
    404,
    "The month has no published result (`result_not_found`): the detail says when it will "
    "be published, or why it never will.",
)


def _month(month: str) -> date:
    return parse_period(month)  # the path's pattern has checked it: this cannot fail


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


class JsonStreamResponse(StreamingResponse):
    media_type = "application/json"


@router.get(
    "/api/results",
    tags=["results"],
    response_model=list[ResultSummary],
    summary="Every published month, newest first, with its winner",
    responses={**VALIDATION},
)
async def list_results(
    root: RootDep, asked: AskedLanguage, language: LanguageQuery = None
) -> list[ResultSummary]:
    return await published.published_months(language=language or asked, db=root.db)


@router.get(
    "/api/results/{month}",
    tags=["results"],
    response_model=MonthResultPublic,
    summary="A month's final result: the whole ranking, the winner, the ballots' SHA-256",
    responses={**NO_RESULT, **VALIDATION},
)
async def get_result(
    month: MonthParam,
    root: RootDep,
    asked: AskedLanguage,
    language: LanguageQuery = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="the first N places")] = None,
) -> MonthResultPublic:
    return await published.get_result(
        period=_month(month),
        language=language or asked,
        limit=limit,
        settings=root.settings,
        db=root.db,
    )


@router.get(
    "/api/results/{month}/ballots.csv",
    tags=["results"],
    response_class=CsvResponse,
    summary="A month's ballots in the canonical form (its SHA-256 is the result's), streamed",
    responses={
        200: {
            "description": "UTF-8, LF, header `vote_id,movie_id,cast_at,voter,voided`, one row "
            "per ballot by vote_id; `cast_at` ISO-8601 UTC with microseconds and `Z`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **as_json({**NO_RESULT, **VALIDATION, **TOO_LARGE, **UNAVAILABLE}),
    },
)
async def ballots_csv(month: MonthParam, root: RootDep) -> CsvResponse:
    chunks = await published.ballots_csv(period=_month(month), settings=root.settings, db=root.db)
    return CsvResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="movievote-{month}-ballots.csv"'},
    )


@router.get(
    "/api/results/{month}/export.json",
    tags=["results"],
    response_class=JsonStreamResponse,
    summary="A month's result and ballots as one JSON document, streamed "
    "(check it with `movievote verify-results`)",
    responses={
        200: {
            "description": "`month`, `published_at`, `tie_break`, `ranking` (rank, movie_id, "
            "title, votes, share), `total_votes`, `ballots_sha256`, `ballots`.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **as_json({**NO_RESULT, **VALIDATION, **TOO_LARGE, **UNAVAILABLE}),
    },
)
async def export_json(month: MonthParam, root: RootDep) -> JsonStreamResponse:
    chunks = await published.export_json(period=_month(month), settings=root.settings, db=root.db)
    return JsonStreamResponse(
        chunks,
        headers={"Content-Disposition": f'attachment; filename="movievote-{month}.json"'},
    )


@router.get(
    "/api/results/{month}/my-ballot",
    tags=["results"],
    response_model=PublishedBallotPublic | None,
    summary="My published ballot of a month (null if I did not vote), to find it in the export",
    responses={**UNAUTHORIZED, **NO_RESULT, **VALIDATION},
)
async def my_ballot(
    month: MonthParam, user: CurrentUser, root: RootDep
) -> PublishedBallotPublic | None:
    assert user.id is not None
    period = _month(month)
    await published.published_row(period=period, settings=root.settings, db=root.db)
    return await published.ballot_of(user_id=user.id, period=period, db=root.db)


@router.get(
    "/api/winners",
    tags=["results"],
    response_model=list[Winner],
    summary="The movie of every published month, newest first",
    responses={**VALIDATION},
)
async def winners(
    root: RootDep, asked: AskedLanguage, language: LanguageQuery = None
) -> list[Winner]:
    return await published.winners(language=language or asked, db=root.db)


@router.get(
    "/api/admin/results/{month}",
    response_model=ResultCheck,
    tags=["admin"],
    summary="Whether the live tallies agreed with a published month's ballots (admins only)",
    responses={
        **UNAUTHORIZED,
        **doc(403, "The account is not an admin (`admin_required`)."),
        **NO_RESULT,
        **VALIDATION,
    },
)
async def result_check(month: MonthParam, _admin: CurrentAdmin, root: RootDep) -> ResultCheck:
    return await published.result_check(period=_month(month), settings=root.settings, db=root.db)
