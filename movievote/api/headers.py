"""Security headers for every response: the pages' Content-Security-Policy (their inline
scripts allowed by hash), nosniff, Referrer-Policy, and HSTS when served over HTTPS."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import Scope

logger = logging.getLogger(__name__)
HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the domain are not ours
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}
# The inline scripts of a compiled page (React Router's hydration data, the colour-mode and
# scroll-restoration snippets); `src=` scripts are files of our own origin.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
# FastAPI's interactive documentation loads Swagger UI from this CDN and starts it inline.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_FAVICON = "https://fastapi.tiangolo.com"

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def inline_script_hashes(build_dir: Path) -> list[str]:
    """CSP sources (`'sha256-...'`) for every inline script of the compiled pages, sorted."""
    hashes: set[str] = set()
    for page in sorted(build_dir.rglob("*.html")) if build_dir.is_dir() else []:
        for script in _INLINE_SCRIPT.finditer(page.read_text(encoding="utf-8")):
            digest = hashlib.sha256(script.group(1).encode()).digest()
            hashes.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(hashes)


def socket_sources(api_url: str) -> list[str]:
    """Where the pages open their websocket when it is not their own origin: REFLEX_API_URL's
    host. (A localhost api_url means "the page's own host": the page swaps it in.)"""
    parts = urlsplit(api_url)
    if not parts.hostname or parts.hostname in LOCAL_HOSTS:
        return []
    return [f"ws://{parts.netloc}", f"wss://{parts.netloc}"]


def page_policy(
    *, frame_ancestors: str, script_hashes: Iterable[str], connect: Iterable[str] = ()
) -> str:
    """The pages' policy. Script elements: our origin's files and the inline scripts we built
    (by hash), never an injected one. `'unsafe-eval'` because Reflex runs the JavaScript a
    server event sends over the websocket with eval (`rx.toast` from a handler: "You voted for
    ..."). Styles inline too (the component library sets them at run time); images also from
    https (posters come from the catalogue's image hosts, TMDB's or OMDb's) and data: (the QR
    code)."""
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", "'unsafe-eval'", *script_hashes]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: https:",
        "font-src": "'self' data:",
        "connect-src": " ".join(["'self'", *connect]),
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": frame_ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def docs_policy(*, frame_ancestors: str) -> str:
    """/api/docs: Swagger UI from its CDN, started by an inline script FastAPI writes."""
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
        f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: {DOCS_FAVICON}; "
        f"object-src 'none'; base-uri 'self'; frame-ancestors {frame_ancestors}"
    )


API_POLICY = "default-src 'none'; frame-ancestors 'none'"  # JSON: nothing to load, not framed


class SecurityHeaders:
    """The headers added to every HTTP response the backend sends, by path."""

    def __init__(
        self,
        *,
        page_csp: str,
        docs_csp: str,
        api_prefix: str = "/api",
        trusted_proxies: Networks | None = None,
    ) -> None:
        self.page_csp, self.docs_csp, self.api_prefix = page_csp, docs_csp, api_prefix
        self.trusted_proxies = trusted_proxies or []
        self._common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),  # links may carry tokens (verification)
        ]

    def policy_for(self, path: str) -> str:
        if path == f"{self.api_prefix}/docs" or path.startswith(f"{self.api_prefix}/docs/"):
            return self.docs_csp
        if path == self.api_prefix or path.startswith(f"{self.api_prefix}/"):
            return API_POLICY
        return self.page_csp

    def for_request(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-security-policy", self.policy_for(scope.get("path", "")).encode()),
            *self._common,
        ]
        if self.is_https(scope):
            headers.append((b"strict-transport-security", HSTS.encode()))
        return headers

    def is_https(self, scope: Scope) -> bool:
        """Served over HTTPS: by this server, or by a trusted proxy that says so."""
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        if not client or not self.trusted_proxies:
            return False
        try:
            peer = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        if not any(peer in network for network in self.trusted_proxies):
            return False
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                return value.decode("latin-1").split(",")[0].strip().lower() == "https"
        return False

    @staticmethod
    def merge(
        response: list[tuple[bytes, bytes]], ours: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """The response's headers plus ours, except any the response already sets itself."""
        present = {name.lower() for name, _ in response}
        return [*response, *(header for header in ours if header[0] not in present)]
