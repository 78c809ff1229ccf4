"""The edges middleware around the real API app, over ASGI: bodies bounded before they are read
whole, security headers on every response, websocket origins checked."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from movievote.api.app import create_api, with_edges
from movievote.api.edges import Edges
from movievote.api.headers import SecurityHeaders
from movievote.api.origins import OriginPolicy
from movievote.config import Settings, get_settings
from tests.integration.test_api_accounts import assert_error

LIMIT = 64 * 1024
CHUNK = 64 * 1024


@pytest.fixture
def edged() -> Edges:
    return with_edges(create_api(), get_settings())


@pytest.fixture
async def client(edged: Edges) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=edged, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://movievote.test") as c:
        yield c


async def test_an_oversize_declared_body_is_refused_without_reading_it(edged: Edges):
    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("the body was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/signup",
        "raw_path": b"/api/signup",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"104857600")],
        "scheme": "http",
        "server": ("movievote.test", 80),
        "client": ("203.0.113.7", 50000),
    }
    await edged(scope, receive, send)
    start, body = sent
    assert start["status"] == 413
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert json.loads(body["body"])["code"] == "body_too_large"


async def test_an_oversize_streamed_body_stops_at_the_limit(client: httpx.AsyncClient):
    pulled = 0

    async def hundred_megabytes() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100 * 1024 * 1024 // CHUNK):
            pulled += 1
            yield b"x" * CHUNK  # made on demand: the test itself holds one chunk at a time

    tracemalloc.start()
    started = time.monotonic()
    try:
        response = await client.post(
            "/api/signup",
            content=hundred_megabytes(),
            headers={"Content-Type": "application/json"},  # no length: chunked
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.monotonic() - started
    body = assert_error(response, 413, "body_too_large")
    assert "65,536 bytes" in body["detail"]  # a count, grouped as the language groups it
    assert pulled <= LIMIT // CHUNK + 1  # reading stopped at the limit
    assert peak < 5 * 1024 * 1024, peak  # not the body's 100 MB
    assert seconds < 1.0


@pytest.mark.parametrize(
    ("path", "kind"), [("/api/signup", "json"), ("/api/token", "form"), ("/", "json")]
)
async def test_json_and_form_bodies_over_the_limit_are_413(client, path, kind):
    if kind == "json":
        big = {"content": json.dumps({"email": "a@example.com", "padding": "x" * LIMIT})}
    else:
        big = {"data": {"username": "a@example.com", "password": "x" * LIMIT}}
    assert_error(await client.post(path, **big), 413, "body_too_large")


async def test_bodies_under_the_limit_go_through(client: httpx.AsyncClient):
    response = await client.post(
        "/api/signup",
        json={"email": "ana@example.com", "password": "x" * (LIMIT - 1000), "display_name": "A"},
    )
    assert response.status_code == 422  # the API's own answer: the password is too long
    assert response.json()["field"] == "password"
    ok = await client.post(
        "/api/signup",
        json={"email": "ana@example.com", "password": "password123", "display_name": "Ana"},
    )
    assert ok.status_code == 202, ok.text  # sign-up: "check your inbox"


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient):
    for response in (
        await client.get("/api/health"),
        await client.get("/api/nothing-here"),
        await client.post("/api/vote/1"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert "strict-transport-security" not in response.headers  # plain HTTP
    docs = (await client.get("/api/docs")).headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in docs and "frame-ancestors 'self'" in docs


async def test_hsts_only_over_https(edged: Edges):
    async def get(base: str, client: tuple[str, int], **headers: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=edged, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base) as c:
            return await c.get("/api/health", headers=headers)

    served_over_https = await get("https://movievote.test", ("203.0.113.7", 1))
    assert served_over_https.headers["strict-transport-security"] == "max-age=31536000"
    # a proxy's word counts only from FORWARDED_ALLOW_IPS (empty by default)
    claimed = await get("http://movievote.test", ("127.0.0.1", 1), **{"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in claimed.headers
    trusting = with_edges(create_api(), Settings(forwarded_allow_ips="127.0.0.0/8"))
    transport = httpx.ASGITransport(app=trusting, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://movievote.test") as c:
        proxied = await c.get("/api/health", headers={"X-Forwarded-Proto": "https"})
        plain = await c.get("/api/health", headers={"X-Forwarded-Proto": "http"})
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in plain.headers


def _origin_echo() -> Starlette:
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.headers.get("origin", "(none)"))
        await websocket.close()

    return Starlette(routes=[WebSocketRoute("/_event", echo)])


async def _handshake(app: Edges, origin: str | None) -> list[dict]:
    """What the server side sends to a websocket handshake from `origin` on `testserver`."""
    headers = [(b"host", b"testserver")] + ([(b"origin", origin.encode())] if origin else [])
    scope = {"type": "websocket", "path": "/_event", "raw_path": b"/_event", "headers": headers}
    scope |= {"query_string": b"", "scheme": "ws", "subprotocols": [], "client": ("1.2.3.4", 1)}
    incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    ("origin", "opens"),
    [
        ("http://testserver", True),  # the page's own origin
        ("https://partner.example", True),  # listed
        (None, True),  # not a browser
        ("https://evil.example", False),
        ("null", False),
    ],
)
async def test_a_websocket_opens_only_for_allowed_origins(origin, opens):
    edged = Edges(
        _origin_echo(),
        max_body_bytes=LIMIT,
        headers=SecurityHeaders(page_csp="default-src 'self'", docs_csp="default-src 'self'"),
        origins=OriginPolicy(["https://partner.example"]),
    )
    sent = await _handshake(edged, origin)
    if opens:
        assert [m["type"] for m in sent][:2] == ["websocket.accept", "websocket.send"]
        assert sent[1]["text"] == (origin or "(none)")  # Reflex reads the page's address there
    else:  # closed before the handshake is accepted: the server answers 403
        assert sent == [{"type": "websocket.close", "code": 1008}]


async def test_a_path_with_a_newline_reaches_the_api_through_reflex_s_top_mount():
    """Reflex serves everything through `Starlette().mount("", app)`, whose `.*` stops at a
    newline: without `reach_every_path` such a request got Starlette's plain-text 404, never
    the API's JSON answer."""
    from starlette.responses import PlainTextResponse

    from movievote.api.app import mount_api, reach_every_path

    async def pages(scope, receive, send):  # type: ignore[no-untyped-def]
        await PlainTextResponse("a page")(scope, receive, send)

    def reflex_like() -> Starlette:
        top = Starlette()
        top.mount("", mount_api(pages))
        return top

    paths = ("/api/movies/a%0Ab", "/api/results/20%0A26-11/ballots.csv")
    for app, fixed in ((reflex_like(), False), (reach_every_path(reflex_like()), True)):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for path in paths:
                answer = await c.get(path)
                is_json = answer.headers["content-type"] == "application/json"
                assert is_json is fixed, (path, answer.status_code, answer.text)
                if fixed:
                    assert answer.status_code in (404, 422) and "detail" in answer.json()


async def test_an_opened_websocket_carries_the_servers_own_send_for_the_live_pages():
    from movievote.api.edges import RAW_SEND

    seen: dict = {}

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        seen.update(scope)

    edged = Edges(
        app,
        max_body_bytes=LIMIT,
        headers=SecurityHeaders(page_csp="default-src 'self'", docs_csp="default-src 'self'"),
        origins=OriginPolicy([]),
    )
    await _handshake(edged, "http://testserver")
    assert callable(seen[RAW_SEND])  # what the server gave the edges, unwrapped
