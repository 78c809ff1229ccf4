"""The Content-Security-Policy: built from the compiled pages' inline scripts, by path."""

from __future__ import annotations

import base64
import hashlib

from movievote.api.headers import (
    API_POLICY,
    SecurityHeaders,
    inline_script_hashes,
    page_policy,
    socket_sources,
)
from movievote.clients import trusted_networks


def _sha(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def test_every_inline_script_of_every_page_is_allowed_by_its_hash(tmp_path):
    (tmp_path / "login").mkdir()
    (tmp_path / "index.html").write_text(
        '<script>window.a = 1;</script><script type="module" async="">import "/x.js";</script>'
        '<script src="/assets/app.js"></script>'
    )
    (tmp_path / "login" / "index.html").write_text("<SCRIPT>window.a = 1;</SCRIPT><p>x</p>")
    hashes = inline_script_hashes(tmp_path)
    assert hashes == sorted({_sha("window.a = 1;"), _sha('import "/x.js";')})
    assert inline_script_hashes(tmp_path / "missing") == []  # development: no build


def test_the_page_policy_allows_no_injected_or_foreign_scripts():
    policy = page_policy(
        frame_ancestors="'self' https://signage.example",
        script_hashes=["'sha256-abc'"],
        connect=socket_sources("https://votes.example.com"),
    )
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    # eval: Reflex runs what server events send (toasts); no 'unsafe-inline', no other host
    assert directives["script-src"] == "'self' 'unsafe-eval' 'sha256-abc'"
    assert directives["img-src"] == "'self' data: https:"
    assert directives["connect-src"] == "'self' ws://votes.example.com wss://votes.example.com"
    assert directives["frame-ancestors"] == "'self' https://signage.example"
    assert directives["object-src"] == "'none'"
    assert socket_sources("http://localhost:3000") == []  # the page's own host


def test_the_policy_follows_the_path():
    headers = SecurityHeaders(page_csp="PAGES", docs_csp="DOCS")
    assert headers.policy_for("/") == "PAGES"
    assert headers.policy_for("/display") == "PAGES"
    assert headers.policy_for("/apiary") == "PAGES"
    assert headers.policy_for("/api/movies") == API_POLICY
    assert headers.policy_for("/api") == API_POLICY
    assert headers.policy_for("/api/docs") == "DOCS"
    assert headers.policy_for("/api/docs/oauth2-redirect") == "DOCS"


def test_trusted_proxies():
    assert [str(n) for n in trusted_networks("127.0.0.1, 10.0.0.0/8,,nonsense")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
    ]
    assert len(trusted_networks("*")) == 2
    assert trusted_networks("") == ()
