"""The FastAPI application: routers, error handlers, OpenAPI under /api."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from movievote.api import accounts, errors, health, movies, ranking, votes
from movievote.api.errors import ApiError


def _path_pattern(template: str) -> re.Pattern[str]:
    """`/api/movies/{movie_id}` -> a regex matching `/api/movies/42`."""
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")


class MethodGuard:
    """405 with `Allow` for a known /api path asked with an undeclared method.

    Mounted inside Reflex, a path that matches with the wrong method would otherwise fall
    through to Reflex's own app and come back as a 404 page.
    """

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._paths: list[tuple[re.Pattern[str], list[str]]] | None = None

    def _allowed(self, path: str) -> list[str]:
        if self._paths is None:
            spec: dict[str, Any] = self.api.openapi()
            self._paths = [
                (_path_pattern(p), sorted(m.upper() for m in ops))
                for p, ops in spec["paths"].items()
            ]
        for pattern, methods in self._paths:
            if pattern.match(path):
                return methods
        return []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            allowed = self._allowed(scope["path"])
            if allowed and scope["method"] not in allowed:
                response = JSONResponse(
                    {
                        "detail": f"{scope['method']} is not allowed here; use {', '.join(allowed)}.",
                        "code": "method_not_allowed",
                    },
                    status_code=405,
                    headers={"Allow": ", ".join(allowed)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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

    async def not_found(request: Request) -> None:
        """Under /api, answer 404 in JSON (otherwise Reflex's pages would answer)."""
        raise ApiError(404, "not_found", f"There is no API endpoint at {request.url.path}.")

    api.router.routes.append(Route("/api/{rest:path}", not_found))  # any method, matched last
    api.add_middleware(MethodGuard, api=api)
    return api
