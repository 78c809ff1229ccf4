"""One ASGI middleware in front of everything the backend serves (pages, API, websocket):
request bodies are bounded, every response carries the security headers, and a websocket
opens only for an allowed origin."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from movievote.api.headers import SecurityHeaders
from movievote.api.origins import OriginPolicy
from movievote.i18n import N_, gettext, negotiate

logger = logging.getLogger(__name__)
# A websocket's scope carries the server's own `send` under this key, for the live pages'
# writers to send through once the socket is accepted (movievote.live.tune_engineio)
RAW_SEND = "movievote.raw_send"


class BodyTooLarge(Exception):
    """Raised into the app's `receive` once a request body passes the limit."""


@dataclass
class _Exchange:
    received: int = 0
    too_large: bool = False
    started: bool = False  # the app's response began (before any limit was hit)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def error_body(detail: str, code: str) -> bytes:
    return json.dumps({"detail": detail, "code": code}).encode()


class Edges:
    """The edges of the backend, as one ASGI app wrapped around all of it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        headers: SecurityHeaders,
        origins: OriginPolicy,
        larger_bodies: Mapping[str, int] | None = None,
    ) -> None:
        """`larger_bodies`: the paths that take bodies over `max_body_bytes` (an admin's
        catalogue file), each with its own limit."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.larger_bodies = dict(larger_bodies or {})
        self.headers = headers
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the handshake (403) from an origin that may not connect. The request goes on
        with its Origin: Reflex takes the page's address from it (the display's QR code)."""
        origin = _header(scope, b"origin")
        if not self.origins.allows(origin, _header(scope, b"host")):
            logger.warning("refused a websocket from origin %r", origin)
            await send({"type": "websocket.close", "code": 1008})
            return
        scope[RAW_SEND] = send
        await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        ours = self.headers.for_request(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": SecurityHeaders.merge(list(message.get("headers", [])), ours),
                }
            await send(message)

        limit = self.larger_bodies.get(scope.get("path", ""), self.max_body_bytes)
        declared = (_header(scope, b"content-length") or "").strip()
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(
                send_with_headers, negotiate(_header(scope, b"accept-language")), limit
            )  # refused before a byte of it is read
            return
        exchange = _Exchange()

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.received += len(message.get("body", b""))
                if exchange.received > limit:
                    exchange.too_large = True
                    raise BodyTooLarge(f"request body over {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            if exchange.too_large and not exchange.started:
                return  # whatever the app makes of the interrupted body, the answer is 413
            if message["type"] == "http.response.start":
                exchange.started = True
            await send_with_headers(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exchange.too_large:
                raise
        if exchange.too_large and not exchange.started:
            await self._too_large(
                send_with_headers, negotiate(_header(scope, b"accept-language")), limit
            )

    async def _too_large(self, send: Send, language: str, limit: int) -> None:
        body = error_body(
            gettext(
                language,
                N_("The request body is larger than the limit of {count} bytes."),
                count=limit,
            ),
            "body_too_large",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
