"""Rankings: a cached snapshot (with ETag) and a live Server-Sent Events stream."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from movievote import periods
from movievote.api.deps import RootDep
from movievote.api.errors import VALIDATION, ApiError
from movievote.i18n import N_
from movievote.languages import DEFAULT_LANGUAGE, Language
from movievote.models import Ranking
from movievote.root import Root
from movievote.services import ranking as ranking_service
from movievote.services import ranking_cache
from movievote.services.ranking import Scope

router = APIRouter(tags=["ranking"])
HEARTBEAT_SECONDS = 15.0
PeriodParam = Annotated[
    str,
    Query(
        pattern=r"^(current|all|[0-9]{4}-(0[1-9]|1[0-2]))$",
        description="`current`, `all`, or a month written `YYYY-MM`",
    ),
]
LanguageParam = Annotated[
    Language, Query(description="the language of the movies' titles and overviews")
]


def parse_scope(period: str) -> Scope | None:
    """The scope a query names (periods.parse_scope), or 422 invalid_period."""
    try:
        return periods.parse_scope(period)
    except ValueError as exc:
        raise ApiError(
            422,
            "invalid_period",
            N_("{period} is not a period: use current, all or a month written YYYY-MM."),
            period=period,
        ) from exc


def etag_of(board: Ranking, language: str = DEFAULT_LANGUAGE) -> str:
    """Changes exactly when what the ranking says changes (not when it was recomputed), and
    differs between languages."""
    content: list[object] = [
        board.period,
        board.total_votes,
        [(e.movie.id, e.votes) for e in board.items],
    ]
    if language != DEFAULT_LANGUAGE:  # English keeps the tags it always had
        content.append(language)
    return (
        '"'
        + hashlib.sha1(json.dumps(content).encode(), usedforsecurity=False).hexdigest()[:20]
        + '"'
    )


@router.get(
    "/api/ranking",
    response_model=Ranking,
    summary="The most-voted movies of a month or of all time (cached)",
    responses={
        304: {"description": "Unchanged since the ETag sent in If-None-Match."},
        **VALIDATION,
    },
)
async def get_ranking(
    request: Request,
    response: Response,
    root: RootDep,
    period: PeriodParam = "current",
    limit: Annotated[int, Query(ge=1, le=ranking_service.MAX_LIMIT)] = 10,
    language: LanguageParam = DEFAULT_LANGUAGE,
) -> Ranking | Response:
    board = await ranking_cache.ranking_for(
        parse_scope(period),
        limit=limit,
        language=language,
        cache=root.cache,
        zone=root.settings.zone,
    )
    etag = etag_of(board, language)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return board


@router.get(
    "/api/ranking/stream",
    summary="Follow a ranking live (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`event: ranking` with the ranking as JSON at once and after every "
            "change; a `: heartbeat` comment every 15 s.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **VALIDATION,
    },
)
async def stream_ranking(
    root: RootDep,
    period: PeriodParam = "current",
    limit: Annotated[int, Query(ge=1, le=ranking_service.MAX_LIMIT)] = 10,
    language: LanguageParam = DEFAULT_LANGUAGE,
) -> StreamingResponse:
    scope = parse_scope(period)
    return StreamingResponse(
        _events(root, scope, limit, language),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(root: Root, scope: Scope | None, limit: int, language: str) -> AsyncIterator[str]:
    """Starlette's StreamingResponse cancels this when the client goes away (it listens for
    `http.disconnect` itself). Do not also call `request.is_disconnected()` here: two readers of
    `receive` under granian made the server drop about one stream in ten (measured 12/60)."""
    broadcast = root.broadcast
    version = broadcast.version
    sent = ""
    while True:
        board = await ranking_cache.ranking_for(  # from the cache
            scope, limit=limit, language=language, cache=root.cache, zone=root.settings.zone
        )
        etag = etag_of(board, language)
        if etag != sent:
            sent = etag
            yield f"event: ranking\nid: {etag.strip(chr(34))}\ndata: {board.model_dump_json()}\n\n"
        latest = await broadcast.wait(after=version, timeout_seconds=HEARTBEAT_SECONDS)
        if latest == version:
            yield ": heartbeat\n\n"
        version = latest
