"""The FastAPI application: routers, error handlers, OpenAPI under /api; and its mount."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from movievote.api import accounts, errors, health, movies, ranking, votes
from movievote.text import storable

API_PREFIX = "/api"


async def storable_url(request: Request) -> None:
    """Every route: a query or path the database could not store (a NUL) is 422, never 500."""
    storable(request.url.path, field="path")
    for name, value in parse_qsl(request.url.query, keep_blank_values=True):
        storable(name, field="query")
        storable(value, field=name)


def create_api() -> FastAPI:
    api = FastAPI(
        title="movievote API",
        version="1.0",
        description=(
            "Vote for your favourite movie once per calendar month and follow the ranking. "
            "Get a token from `POST /api/token` (OAuth2 password form: `username` is your "
            "email) and send it as `Authorization: Bearer <token>`. Errors are "
            '`{"detail": "...", "code": "..."}`.'
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        swagger_ui_oauth2_redirect_url=f"{API_PREFIX}/docs/oauth2-redirect",
        redoc_url=None,
        dependencies=[Depends(storable_url)],
    )
    errors.install(api)
    for module in (accounts, movies, votes, ranking, health):
        api.include_router(module.router)
    return api


def mount_api(reflex_app: ASGIApp) -> ASGIApp:
    """Reflex's `api_transformer`: everything under /api goes to the FastAPI app (its own 404
    and 405 included), everything else to Reflex, without either walking the other's routes."""
    api = create_api()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await api(scope, receive, send)
        else:
            await reflex_app(scope, receive, send)

    return app
