"""The edges of the production app over real HTTP and in a real browser: oversize bodies are
refused before they are read, every response carries the security headers, the pages run
under their Content-Security-Policy, and only allowed origins get CORS grants and websockets.

The app here lists one partner origin and one signage host, and trusts 127.0.0.1 as a proxy."""

from __future__ import annotations

import base64
import contextlib
import html
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psutil
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import IS_POSTGRES
from tests.e2e.conftest import ROOT, ProdApp, free_port, prod_env, project_copy, run_cli
from tests.e2e.test_browser import DESKTOP

PARTNER = "https://partner.example"
LIMIT = 64 * 1024
MB = 1024 * 1024
# a 1x1 PNG: what image.tmdb.org would send (the machine running the tests may be offline)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PAGES = [  # the display last: the test reads its live total after the loop
    "/",
    "/login",
    "/signup",
    "/forgot-password",
    "/reset-password?token=from-the-mail",
    "/verify-email?token=not-a-real-link",
    "/leaderboard",
    "/display",
]


class Framer:
    """A local web site whose page frames a URL: `/?src=<url>` (a signage system, say)."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sources = parse_qs(urlsplit(self.path).query).get("src")
                if not sources:  # the browser's /favicon.ico
                    self.send_error(404)
                    return
                src = html.escape(sources[0])
                body = f'<iframe src="{src}" width="1200" height="800"></iframe>'.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page_framing(self, url: str) -> str:
        return f"{self.origin}/?src={url}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def signage() -> Iterator[Framer]:
    """The site FRAME_ANCESTORS lists (a local one: Chromium keeps public sites from framing
    local addresses, whatever the policy says)."""
    framer = Framer()
    yield framer
    framer.close()


@pytest.fixture(scope="module")
def edges_app(tmp_path_factory, migrated_database, prod_app, signage) -> Iterator[ProdApp]:  # type: ignore[no-untyped-def]
    """A second production app, from a copy of the project (a prod build writes its port into
    the pages). On PostgreSQL it shares the test database (`prod_app` seeded it; LISTEN keeps
    both apps' rankings current); SQLite is for one process, so there it has a file of its own."""
    folder = tmp_path_factory.mktemp("edges")
    database = migrated_database if IS_POSTGRES else f"sqlite:///{folder / 'edges.db'}"
    env = prod_env(
        database,
        CORS_ALLOWED_ORIGINS=PARTNER,
        FRAME_ANCESTORS=f"'self' {signage.origin}",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        EMAIL_VERIFICATION="off",
    )
    if not IS_POSTGRES:
        run_cli(env, "prestart", "--quiet")
    app = ProdApp(env, folder, free_port(), project_copy(tmp_path_factory.mktemp("edges-project")))
    app.start()
    yield app
    app.stop()


# --- request bodies ---------------------------------------------------------------------------


def raw_request(port: int, head: bytes, body: Iterable[bytes]) -> tuple[bytes, float, int]:
    """Send a request's head, then its body from another thread while this one waits for the
    answer (the server may answer, and hang up, long before the body ends): (the answer's
    first bytes, seconds until its status line, body bytes the server let us send)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = 0

    def send_body() -> None:
        nonlocal sent
        try:
            for chunk in body:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: exactly what it should do

    started = time.monotonic()
    sock.sendall(head)
    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        seconds = time.monotonic() - started
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            answer += sock.recv(65536)
    finally:
        sock.close()
        sender.join(10)
    return answer, seconds, sent


def declared(size: int) -> Iterator[bytes]:
    for _ in range(size // MB):
        yield b"x" * MB


def chunked(size: int) -> Iterator[bytes]:
    for _ in range(size // MB):
        yield f"{MB:x}\r\n".encode() + b"x" * MB + b"\r\n"
    yield b"0\r\n\r\n"


def post_head(port: int, path: str, *, length: int | None, form: bool = False) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: {kind}\r\n{framing}\r\n\r\n"
    ).encode()


def assert_413(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["code"] == "body_too_large"


def server_rss(app: ProdApp) -> int:
    """Resident memory of the app's processes (the CLI, granian and its worker)."""
    root = psutil.Process(app.server.proc.pid)  # type: ignore[union-attr]
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def test_an_oversize_body_is_413_at_once_whether_declared_or_chunked(edges_app: ProdApp):
    port = edges_app.port
    for path, form in (("/api/signup", False), ("/api/token", True), ("/login", False)):
        head = post_head(port, path, length=100 * MB, form=form)
        answer, seconds, sent = raw_request(port, head, declared(100 * MB))
        assert_413(answer)  # refused on its Content-Length alone
        assert seconds < 1.0, seconds
        assert sent < 50 * MB  # the server hung up long before the end
        if path.startswith("/api/"):  # routes that read a body: counted as it arrives
            head = post_head(port, path, length=None, form=form)
            answer, seconds, sent = raw_request(port, head, chunked(100 * MB))
            assert_413(answer)
            assert seconds < 1.0, seconds
            assert sent < 50 * MB


def test_oversize_bodies_never_reach_the_servers_memory(edges_app: ProdApp):
    """Regression: four 200 MB bodies took a worker to 1.7 GB."""
    port = edges_app.port
    before = server_rss(edges_app)
    peak = before
    sending = True

    def watch() -> None:
        nonlocal peak
        while sending:
            peak = max(peak, server_rss(edges_app))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for framing in (None, 200 * MB, None, 200 * MB):
            body = chunked(200 * MB) if framing is None else declared(200 * MB)
            answer, _, _ = raw_request(port, post_head(port, "/api/signup", length=framing), body)
            assert_413(answer)
    finally:
        sending = False
        watcher.join()
    grown = peak - before
    print(
        f"server memory: {before / MB:.0f} MB before, peak {peak / MB:.0f} MB (+{grown / MB:.1f})"
    )
    assert grown < 30 * MB, f"the server grew by {grown / MB:.0f} MB"
    assert httpx.get(f"{edges_app.base}/api/health").status_code == 200


def test_bodies_under_the_limit_are_served(edges_app: ProdApp):
    email = f"edges-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(
        f"{edges_app.base}/api/signup",
        json={"email": email, "password": "password123", "display_name": "E" * 60},
    )
    assert signup.status_code == 202, signup.text  # "check your inbox"


# --- security headers -------------------------------------------------------------------------


def test_pages_and_api_carry_the_security_headers(edges_app: ProdApp, signage: Framer):
    base = edges_app.base
    for path in [*PAGES, "/api/health", "/api/movies", "/api/nothing-here"]:
        response = httpx.get(f"{base}{path}", follow_redirects=True)
        assert response.status_code < 500, path
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert "strict-transport-security" not in headers, path  # plain HTTP
        csp = dict(d.split(" ", 1) for d in headers["content-security-policy"].split("; "))
        if path.startswith("/api/"):
            assert csp == {"default-src": "'none'", "frame-ancestors": "'none'"}, path
        else:
            assert csp["frame-ancestors"] == f"'self' {signage.origin}", path
            assert "'unsafe-inline'" not in csp["script-src"] and "sha256-" in csp["script-src"]
    # HTTPS as a trusted proxy (FORWARDED_ALLOW_IPS=127.0.0.1) says it: HSTS
    proxied = httpx.get(f"{base}/login/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"


def import_poster_movie(env: dict[str, str], folder: Path) -> str:
    """A movie whose poster is on image.tmdb.org, imported the way TMDB data is."""
    title = f"Poster Probe {uuid.uuid4().hex[:6]}"
    catalogue = {
        "genres": [{"id": 18, "name": "Drama"}],
        "results": [
            {
                "id": int(time.time() * 1000) % 1_000_000_000,
                "title": title,
                "original_title": title,
                "release_date": "2001-01-01",
                "overview": "A movie with a poster.",
                "poster_path": "/csp-probe.png",
                "genre_ids": [18],
            }
        ],
    }
    path = folder / "poster.json"
    path.write_text(json.dumps(catalogue))
    imported = subprocess.run(
        [sys.executable, "-m", "movievote.cli", "import", "--file", str(path), "--quiet"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    return title


def csp_watched_page(browser, base: str) -> tuple[Page, list[str]]:  # type: ignore[no-untyped-def]
    """A page that records every CSP violation (the DOM event and the console's report)."""
    context = browser.new_context(base_url=base, viewport=DESKTOP)
    context.route(
        "https://image.tmdb.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=PNG),
    )
    context.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation', e =>"
        " window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page, console


def violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__csp"), *console]


def test_the_pages_work_under_their_csp_with_no_violation(
    browser, edges_app: ProdApp, tmp_path: Path
):
    title = import_poster_movie(edges_app.env, tmp_path)
    page, console = csp_watched_page(browser, edges_app.base)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert violations(page, console) == [], path
    assert len(sockets) >= 1 and "/_event" in sockets[0]  # connect-src lets the socket open
    # live data arrived over the websocket
    expect(page.locator("#display-total")).to_have_text(re.compile(r"^\d+ votes? this month$"))

    page.goto("/")
    page.get_by_label("Search by title").fill(title)
    poster = page.get_by_alt_text(f"Poster of {title}")
    expect(poster).to_be_visible(timeout=10_000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=poster.element_handle()
    )
    # log in with the keyboard (the skip link first), vote: the banner, and the toast the
    # server's event sends (Reflex runs it with eval)
    email = f"csp-{uuid.uuid4().hex[:8]}@example.com"
    signed = httpx.post(
        f"{edges_app.base}/api/signup",
        json={"email": email, "password": "password123", "display_name": "Csp"},
    )
    assert signed.status_code == 202, signed.text  # verification is off in this app
    page.goto("/login")
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#whoami")).to_have_text("Hi, Csp")
    page.get_by_label("Search by title").fill(title)
    page.get_by_role("button", name=f"Vote for {title}").click()
    expect(page.locator("#vote-banner")).to_contain_text(f"You voted for {title}")
    toast = page.locator("[data-sonner-toast]").filter(has_text=f"You voted for {title}")
    expect(toast).to_be_visible(timeout=10_000)
    assert violations(page, console) == []

    # the watcher itself works: an injected inline script is refused and reported
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )
    expect(page.locator("body")).to_be_visible()
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.injected === undefined")
    assert any("script-src" in v for v in violations(page, console))
    page.context.close()


def test_only_the_listed_ancestors_may_frame_the_display(
    browser, edges_app: ProdApp, signage: Framer
):
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(signage.page_framing(f"{edges_app.base}/display"))
    expect(page.frame_locator("iframe").locator("#display-total")).to_have_text(
        re.compile(r"^\d+ votes? this month$"), timeout=30_000
    )
    page.context.close()

    elsewhere = Framer()  # the same kind of site, not listed
    try:
        page = browser.new_context(viewport=DESKTOP).new_page()
        refusals: list[str] = []
        page.on(
            "console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None
        )
        page.goto(elsewhere.page_framing(f"{edges_app.base}/display"))
        expect(page.locator("iframe")).to_be_attached()
        deadline = time.monotonic() + 10
        while not refusals and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert refusals, "the frame was not refused"
        assert page.frames[1].locator("#display-total").count() == 0
        page.context.close()
    finally:
        elsewhere.close()


# --- origins ----------------------------------------------------------------------------------


def websocket_status(port: int, origin: str | None, host: str | None = None) -> int:
    """The status of a Socket.IO websocket handshake from `origin` (101: opened)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {host or f'127.0.0.1:{port}'}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *([f"Origin: {origin}"] if origin else []),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return int(answer.split(b" ", 2)[1])


def test_only_the_page_itself_and_listed_origins_get_cors_grants_and_websockets(
    edges_app: ProdApp,
):
    base, port = edges_app.base, edges_app.port
    foreign = "https://evil.example"
    read = httpx.get(f"{base}/api/ranking", headers={"Origin": foreign})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    refused = httpx.options(f"{base}/api/vote/1", headers={"Origin": foreign, **preflight})
    assert "access-control-allow-origin" not in refused.headers
    assert websocket_status(port, foreign) == 403
    assert websocket_status(port, "null") == 403

    listed = httpx.get(f"{base}/api/ranking", headers={"Origin": PARTNER})
    assert listed.headers["access-control-allow-origin"] == PARTNER
    granted = httpx.options(f"{base}/api/vote/1", headers={"Origin": PARTNER, **preflight})
    assert granted.status_code == 200
    assert granted.headers["access-control-allow-origin"] == PARTNER
    assert websocket_status(port, PARTNER) == 101

    assert websocket_status(port, base) == 101  # the page's own origin
    assert websocket_status(port, None) == 101  # not a browser
    # behind a TLS proxy that passes the public host name on
    assert websocket_status(port, "https://votes.example.com", host="votes.example.com") == 101
