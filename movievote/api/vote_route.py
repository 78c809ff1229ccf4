"""`POST /api/vote/{movie_id}`, the hottest route, answered in front of the whole ASGI stack.

Through Reflex's own Starlette app (error, CORS and context middleware, a router and a mount),
the edges and FastAPI (its middleware, router, dependency solving, a thread-pool hop for the
root, validation and serialisation), a vote spent more of the worker's CPU in the stack than
in itself (docs/performance.md, issue 16). This ASGI function answers the ordinary vote
itself, with the same answer the FastAPI route gives, and hands everything else to the stack
unchanged, where the same request gets the same answer as before:

- anything but `POST /api/vote/<digits>` with an id in range and no query string;
- a request carrying `Origin` (CORS: Reflex's middleware decides and adds its headers);
- a body declared over the edges' limit or sent chunked (the edges answer 413);
- no `Authorization: Bearer <token>`, or a token that does not verify (401 from FastAPI).

What it answers itself: 201 with the vote (`VotePublic`, serialised by pydantic as FastAPI
does), or the vote's refusal, or a database outage, through `api.errors.response_for`: the
bodies, statuses and headers FastAPI's handlers give. Every answer carries the edges'
security headers for `/api` paths. The vote is `Root.cast_vote` (`voting.cast_and_notify`) with the process's
root, as in the FastAPI route (group commit, notification, ranking).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from movievote.api.errors import response_for
from movievote.api.headers import SecurityHeaders
from movievote.errors import InvalidToken
from movievote.models import VotePublic
from movievote.root import Root, get_root
from movievote.security import decode_access_token

PATH = re.compile(r"/api/vote/([0-9]{1,10})")
MAX_MOVIE_ID = 2**31 - 1  # api.movies.MovieId's bounds
_serialise = VotePublic.__pydantic_serializer__.to_json
_JSON = (b"content-type", b"application/json")


class VoteRoute:
    """The vote route in front of `app` (the rest of the stack)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        headers: SecurityHeaders,
        max_body_bytes: int,
        root: Callable[[], Root] = get_root,
        before: Callable[[], Any] | None = None,
    ) -> None:
        """`before`: called before a vote is cast (Reflex sets its context variables, which
        the tasks a vote starts inherit, as its middleware does for every request)."""
        self.app = app
        self.headers = headers
        self.max_body_bytes = max_body_bytes
        self.root = root
        self.before = before
        self.answered = 0  # votes answered here (tests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        found = PATH.fullmatch(scope["path"])
        token = self._token(scope) if found and not scope.get("query_string") else None
        movie_id = int(found[1]) if found else 0
        if token is None or not 1 <= movie_id <= MAX_MOVIE_ID or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        root = self.root()
        try:
            claims = decode_access_token(token, settings=root.settings)
        except InvalidToken:
            await self.app(scope, receive, send)  # FastAPI's 401, word for word
            return
        self.answered += 1
        if self.before is not None:
            self.before()
        ours = self.headers.for_request(scope)
        try:
            vote, _notified = await root.cast_vote(
                user_id=claims.user_id, movie_id=movie_id, session_id=claims.session_id
            )
        except Exception as exc:
            response = await response_for(Request(scope, receive), exc)

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {
                        **message,
                        "headers": SecurityHeaders.merge(list(message["headers"]), ours),
                    }
                await send(message)

            await response(scope, receive, with_headers)
            return
        body = _serialise(vote)
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-length", str(len(body)).encode()), _JSON, *ours],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _token(self, scope: Scope) -> str | None:
        """The bearer token, if this request is one the route answers itself (see above)."""
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == b"origin" or name == b"transfer-encoding":
                return None
            elif name == b"content-length":
                declared = value.strip()
                if not declared.isdigit() or int(declared) > self.max_body_bytes:
                    return None
        if authorization is None:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return token
