"""The FastAPI application: routers, error handlers, OpenAPI under /api; and its mount."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from movievote.api import (
    accounts,
    admin,
    errors,
    health,
    moderation,
    movies,
    ranking,
    ratings,
    recommendations,
    results,
    screens,
    votes,
)
from movievote.api.edges import Edges
from movievote.api.headers import (
    SecurityHeaders,
    docs_policy,
    inline_script_hashes,
    page_policy,
    socket_sources,
)
from movievote.api.origins import OriginPolicy, allowed_origins
from movievote.api.vote_route import VoteRoute
from movievote.clients import trusted_networks
from movievote.config import Settings, get_settings
from movievote.text import storable

API_PREFIX = "/api"
CATALOGUE_IMPORT = f"{API_PREFIX}/admin/catalogue/import"  # takes a whole catalogue file


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
    # what any route may answer, whatever it does: documented once for all of them
    edges = {**errors.TOO_LARGE, **errors.UNAVAILABLE}
    for module in (
        accounts,
        movies,
        ratings,
        votes,
        ranking,
        results,
        admin,
        moderation,
        screens,
        health,
    ):
        api.include_router(module.router, responses=edges)
    api.include_router(recommendations.router, responses=edges)
    return api


def mount_api(reflex_app: ASGIApp) -> ASGIApp:
    """Reflex's `api_transformer`: everything under /api goes to the FastAPI app (its own 404
    and 405 included), everything else to Reflex, without either walking the other's routes;
    all of it behind the edges (body limit, security headers, websocket origins)."""
    api = create_api()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await api(scope, receive, send)
        else:
            await reflex_app(scope, receive, send)

    edged = with_edges(app, get_settings())
    socketio_follows(edged.origins)
    return edged


def reach_every_path(app: ASGIApp) -> ASGIApp:
    """Let Reflex's top-level mounts route every path. Starlette's `Mount("")` matches
    `/(?P<path>.*)$`, and `.` stops at a newline: a request for `/api/movies/a%0Ab` never
    reached the API and got Starlette's plain-text 404 instead of the API's JSON one (the
    fuzzer found it). Matching with DOTALL hands such paths on like any other."""
    for route in getattr(app, "routes", ()):
        if isinstance(route, Mount) and not route.path_regex.flags & re.DOTALL:
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
            reach_every_path(route.app)
    return app


def vote_route_in_front(app: ASGIApp, settings: Settings, *, before: Any = None) -> VoteRoute:
    """`app` (Reflex's whole ASGI stack, the edges and the API inside) with the vote route in
    front of it (api.vote_route): the ordinary vote skips the stack; everything else, and any
    vote the route does not answer itself, goes through it unchanged."""
    return VoteRoute(
        app,
        headers=SecurityHeaders(
            page_csp="",  # the route answers /api paths only: the API's policy
            docs_csp="",
            api_prefix=API_PREFIX,
            trusted_proxies=trusted_networks(settings.forwarded_allow_ips),
        ),
        max_body_bytes=settings.max_request_body_bytes,
        before=before,
    )


def socketio_follows(origins: OriginPolicy) -> None:
    """Reflex's Socket.IO server judges origins by the same policy. Given Reflex's list alone
    (`cors_allowed_origins`) it would refuse the page's own origin, which is not on it."""
    from reflex_base.registry import RegistrationContext

    try:
        sio = RegistrationContext.get().app.sio
    except (LookupError, RuntimeError):  # no Reflex app here (the API served on its own)
        return
    if sio is not None:
        sio.eio.cors_allowed_origins = lambda origin, environ: origins.allows(
            origin, environ.get("HTTP_HOST")
        )


def with_edges(app: ASGIApp, settings: Settings) -> Edges:
    """`app` behind the edges, configured from the settings and the compiled pages."""
    from reflex.config import get_config
    from reflex.utils import prerequisites
    from reflex_base import constants

    reflex = get_config()
    upload = reflex.prepend_backend_path(str(constants.Endpoint.UPLOAD))
    build_dir = Path(prerequisites.get_web_dir()) / constants.Dirs.STATIC
    page_csp = page_policy(
        frame_ancestors=settings.frame_ancestors,
        script_hashes=inline_script_hashes(build_dir),
        connect=socket_sources(reflex.api_url),
    )
    return Edges(
        app,
        max_body_bytes=settings.max_request_body_bytes,
        # an admin's catalogue file: Reflex's upload route (the /admin page) and the API's
        larger_bodies={path: settings.max_upload_bytes for path in (upload, CATALOGUE_IMPORT)},
        headers=SecurityHeaders(
            page_csp=page_csp,
            docs_csp=docs_policy(frame_ancestors=settings.frame_ancestors),
            api_prefix=API_PREFIX,
            trusted_proxies=trusted_networks(settings.forwarded_allow_ips),
        ),
        origins=OriginPolicy(allowed_origins(settings), frontend_port=reflex.frontend_port),
    )
