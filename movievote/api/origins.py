"""Which browser origins may call the API and open the websocket: the page's own, and those
listed in CORS_ALLOWED_ORIGINS (plus PUBLIC_URL's). No FastAPI or Reflex imports: rxconfig.py
reads the list from here too."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from movievote.config import Settings

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalized(origin: str) -> str | None:
    """`scheme://host[:port]` lower-cased, the scheme's default port left out; None when the
    text is not an origin (`null`, a bare word, a URL with a path)."""
    parts = urlsplit(origin.strip().rstrip("/").lower())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def allowed_origins(settings: Settings) -> list[str]:
    """CORS_ALLOWED_ORIGINS, normalized, with PUBLIC_URL's origin (the app's own address)."""
    found = [normalized(o) for o in settings.cors_allowed_origins.split(",") if o.strip()]
    if settings.public_url:
        public = urlsplit(settings.public_url)
        found.append(normalized(f"{public.scheme}://{public.netloc}"))
    return list(dict.fromkeys(o for o in found if o))


def _host_and_port(netloc: str, default_port: int | None) -> tuple[str, int | None]:
    parts = urlsplit(f"//{netloc.strip().lower()}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port if port is not None else default_port


class OriginPolicy:
    """Decides whether a request's `Origin` may use this server, given its `Host`."""

    def __init__(self, listed: Iterable[str], *, frontend_port: int | None = None) -> None:
        self.listed = {o for o in map(normalized, listed) if o}
        # In development the pages come from another port (Vite's) of the same host and open
        # their websocket to this one; in production both are the same port.
        self.frontend_port = frontend_port

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True  # not a browser: browsers always send Origin with a websocket
        clean = normalized(origin)
        if clean is None:
            return False  # "null" (a sandboxed frame, a file) and garbage
        if clean in self.listed:
            return True
        if not host:
            return False
        scheme = clean.split("://", 1)[0]
        origin_host, origin_port = _host_and_port(clean.split("://", 1)[1], DEFAULT_PORTS[scheme])
        request_host, request_port = _host_and_port(host, None)
        if origin_host != request_host:
            return False
        if request_port is None:
            # a Host without a port is a default port, and carries no scheme: a TLS proxy in
            # front passes `example.com` for `https://example.com` to a plain-HTTP server
            return origin_port in (80, 443)
        return origin_port in (request_port, self.frontend_port)
