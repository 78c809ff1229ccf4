"""The FastAPI application: routers, error handlers, OpenAPI under /api."""

from __future__ import annotations

from fastapi import FastAPI

from movievote.api import accounts, errors, health, movies, ranking, votes


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
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    errors.install(api)
    for module in (accounts, movies, votes, ranking, health):
        api.include_router(module.router)
    return api
