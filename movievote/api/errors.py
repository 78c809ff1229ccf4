"""Every error as `{"detail": "<sentence>", "code": "<stable_snake_case>"}` with its status."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.constants import REF_PREFIX
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from movievote import errors
from movievote.i18n import N_, Text, gettext, localised, negotiate
from movievote.periods import format_period

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5  # what a 503 asks clients to wait: the database is away or saturated
# The database is unreachable, went away mid-request, was too slow (statement timeout) or every
# pooled connection is busy (pool timeout): the request may succeed later, so 503, not 500.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    psycopg.OperationalError,  # the vote's fast path runs on the driver itself
    psycopg.InterfaceError,
)


class ErrorBody(BaseModel):
    detail: str
    code: str


class InvalidInputBody(ErrorBody):
    field: str | None = None
    errors: list[dict[str, Any]] = []


class AlreadyVotedBody(ErrorBody):
    period: str
    movie_id: int
    next_vote_at: datetime


class ApiError(Exception):
    """An HTTP error with a stable code, raised by routes and dependencies; `detail` is an
    English template marked N_ that `params` fill, answered in the request's language."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **params: object,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers
        self.params = params


def request_language(request: Request) -> str:
    """The language a request's Accept-Language prefers, among ours (English otherwise)."""
    return negotiate(request.headers.get("accept-language"))


STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 422,
    errors.EmailTaken: 409,
    errors.InvalidCredentials: 401,
    errors.InvalidToken: 401,
    errors.UserNotFound: 401,
    errors.MovieNotFound: 404,
    errors.MovieHidden: 409,  # the movie's state, not the caller's rights, refuses the vote
    errors.AlreadyVoted: 409,
    errors.TooManyAttempts: 429,
    errors.ServerBusy: 503,  # a wave of log-ins: come back in a second, not queue for ten
    errors.EmailNotVerified: 403,
    errors.SignupClosed: 403,
    errors.InvalidLink: 404,
    errors.WrongPassword: 403,
    errors.PasswordRequired: 403,
    errors.AccountBlocked: 403,
    errors.MemberNotFound: 404,
    errors.ScreenNotFound: 404,
    errors.ScreenCodeNotFound: 404,
    errors.AlreadyVerified: 409,
    errors.InviteNotFound: 404,
    errors.SearchNotConfigured: 503,  # the server lacks an API key: no request can succeed
    errors.CatalogueUnreachable: 502,  # TMDB or OMDb failed us
    errors.VoteNotFound: 404,
    errors.VoteVoided: 409,  # the vote's state refuses the change, as for a hidden movie
    errors.VoteNotVoided: 409,
    errors.ResultFinal: 409,
    errors.ResultNotFound: 404,
    errors.ResultNotDue: 409,
}


def doc(
    status: int, description: str, model: type[BaseModel] = ErrorBody
) -> dict[int | str, dict[str, Any]]:
    """An entry of a route's `responses=` documenting an error."""
    return {status: {"model": model, "description": description}}


def as_json(responses: Mapping[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Error entries documented as JSON on a route whose own answer is not (FastAPI would list
    them under the route's media type): the same bodies, referred to by schema name."""
    return {
        status: {
            "description": entry["description"],
            "content": {
                "application/json": {"schema": {"$ref": REF_PREFIX + entry["model"].__name__}}
            },
        }
        for status, entry in responses.items()
    }


MALFORMED_BODY = doc(400, "The body could not be parsed at all (`malformed_body`).")
VALIDATION = doc(422, "The input is malformed or breaks a rule.", InvalidInputBody)
UNAUTHORIZED = doc(401, "No valid bearer token: `not_authenticated` or `invalid_token`.")
UNAVAILABLE = doc(503, "The database is unreachable or too slow (`unavailable`); see Retry-After.")
TOO_LARGE = doc(
    413, "The request body is over the size limit, 64 KB by default (`body_too_large`)."
)


def _json(status: int, body: BaseModel, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    status = STATUS_OF.get(type(exc), 400)
    detail = localised(exc, request_language(request))
    if isinstance(exc, errors.AlreadyVoted):
        return _json(
            status,
            AlreadyVotedBody(
                detail=detail,
                code=exc.code,
                period=format_period(exc.period),
                movie_id=exc.movie_id,
                next_vote_at=exc.next_vote_at,
            ),
        )
    if isinstance(exc, errors.InvalidInput):
        return _json(status, InvalidInputBody(detail=detail, code=exc.code, field=exc.field))
    headers = {}
    if isinstance(exc, errors.TooManyAttempts | errors.ServerBusy):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    code = "invalid_token" if isinstance(exc, errors.UserNotFound) else exc.code
    return _json(status, ErrorBody(detail=detail, code=code), headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    detail = gettext(request_language(request), exc.detail, **exc.params)
    return _json(exc.status, ErrorBody(detail=detail, code=exc.code), exc.headers)


def _message(request: Request, error: dict[str, Any]) -> str:
    """Pydantic's message, except where it would show a person a regular expression: then what
    the parameter's documentation says it expects."""
    if error.get("type") == "string_pattern_mismatch" and error.get("loc"):
        dependant = getattr(request.scope.get("route"), "dependant", None)
        params = [*dependant.query_params, *dependant.path_params] if dependant else []
        for param in params:
            if param.name == error["loc"][-1] and param.field_info.description:
                return f"expected {param.field_info.description}"
    return str(error.get("msg", ""))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": _message(request, e)}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid input"}
    where = ".".join(part for part in first["loc"] if part not in ("body", "query", "path"))
    field = where or None
    language = request_language(request)
    detail = (  # pydantic's own words stay English: they name the rule that failed
        gettext(language, N_("Invalid {where}: {problem}."), where=where, problem=first["msg"])
        if where
        else gettext(language, N_("Invalid request: {problem}."), problem=first["msg"])
    )
    return _json(
        422, InvalidInputBody(detail=detail, code="invalid_input", field=field, errors=problems)
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    language = request_language(request)
    detail = str(exc.detail)
    if code == "malformed_body":
        detail = gettext(
            language,
            N_("The request body could not be parsed: send it as the documentation shows."),
        )
    elif code == "not_found":
        detail = gettext(language, N_("There is no API endpoint at {path}."), path=request.url.path)
    elif code == "method_not_allowed":
        headers = {**(exc.headers or {}), "Allow": allowed_methods(request, exc.headers)}
        detail = gettext(
            language,
            N_("{method} is not allowed on {path}; use {allowed}."),
            method=request.method,
            path=request.url.path,
            allowed=headers["Allow"],
        )
        return _json(exc.status_code, ErrorBody(detail=detail, code=code), headers)
    return _json(exc.status_code, ErrorBody(detail=detail, code=code), exc.headers)


def allowed_methods(request: Request, headers: Mapping[str, str] | None) -> str:
    """Every method the API documents at this path (`DELETE, PUT` for a rating): Starlette's
    405 names only the methods of the first route that matched the path, one of several."""
    openapi = getattr(request.app, "openapi", None)
    paths: dict[str, dict[str, Any]] = openapi().get("paths", {}) if callable(openapi) else {}
    methods = {
        method.upper()
        for template, operations in paths.items()
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), request.url.path)
        for method in operations
    }
    return ", ".join(sorted(methods)) if methods else (headers or {}).get("Allow", "")


def unavailable(detail: str = N_("The service cannot reach its database right now.")) -> ApiError:
    """503 `unavailable` with Retry-After: try again shortly, nothing was wrong with the
    request. `detail`: an English text marked N_."""
    return ApiError(
        503,
        "unavailable",
        N_("{reason} Try again in a few seconds."),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        reason=Text(detail),
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return await _api_error(request, unavailable())


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """The last resort (Starlette logs the exception itself): still JSON, still a code."""
    detail = gettext(request_language(request), N_("Something went wrong on our side."))
    return _json(500, ErrorBody(detail=detail, code="internal_error"))


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def handlers() -> list[tuple[type[Exception], Handler]]:
    """Every error class with the handler that answers it (the most specific class wins)."""
    return [
        (errors.DomainError, _domain_error),
        (ApiError, _api_error),
        (RequestValidationError, _validation_error),
        (StarletteHTTPException, _http_error),
        *((error, _database_error) for error in UNAVAILABLE_ERRORS),
        (Exception, _internal_error),
    ]


def install(api: FastAPI) -> None:
    for error, handler in handlers():
        api.add_exception_handler(error, handler)


async def response_for(request: Request, exc: Exception) -> JSONResponse:
    """The answer FastAPI's handlers give `exc` (found as Starlette finds them: the first class
    of its MRO with a handler), for a route answered outside FastAPI (api.vote_route). An
    unexpected error is logged here, as Starlette's ServerErrorMiddleware would."""
    known = dict(handlers())
    for cls in type(exc).__mro__:
        handler = known.get(cls)
        if handler is not None:
            if cls is Exception:
                logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
            return await handler(request, exc)
    raise exc  # a BaseException that is not an Exception (cancellation): not ours to answer
