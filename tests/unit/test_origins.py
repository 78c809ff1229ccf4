"""Which origins may use the API and the websocket."""

from __future__ import annotations

import pytest

from movievote.api.origins import OriginPolicy, allowed_origins, normalized
from movievote.config import Settings


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://App.Example.com/", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://app.example.com:80", "http://app.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("null", None),
        ("app.example.com", None),
        ("https://app.example.com/path", None),
        ("ftp://app.example.com", None),
        ("http://app.example.com:99999", None),
    ],
)
def test_origins_are_normalized(text, origin):
    assert normalized(text) == origin


def test_the_list_comes_from_the_settings_with_the_public_url():
    settings = Settings(
        cors_allowed_origins=" https://a.example/, http://b.example:8080 ,,null",
        public_url="https://votes.example.com/vote?x=1",
    )
    assert allowed_origins(settings) == [
        "https://a.example",
        "http://b.example:8080",
        "https://votes.example.com",
    ]
    assert allowed_origins(Settings()) == []  # the default: the page's own origin only


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "votes.example.com", True),  # not a browser
        ("http://votes.example.com:3000", "votes.example.com:3000", True),  # same origin
        ("https://votes.example.com", "votes.example.com", True),  # behind a TLS proxy
        ("http://votes.example.com", "votes.example.com:80", True),
        ("https://partner.example", "votes.example.com", True),  # listed
        ("https://evil.example", "votes.example.com", False),
        ("https://votes.example.com.evil.example", "votes.example.com", False),
        ("http://votes.example.com:8080", "votes.example.com", False),  # another port
        ("http://localhost:3000", "127.0.0.1:3000", False),  # another host name
        ("null", "votes.example.com", False),
        ("https://evil.example", None, False),
        # development: pages on the frontend port (3000) of the same host, socket on 8000
        ("http://localhost:3000", "localhost:8000", True),
        ("http://192.168.1.5:3000", "192.168.1.5:8000", True),
        ("http://evil.example:3000", "localhost:8000", False),
        ("http://localhost:3001", "localhost:8000", False),
    ],
)
def test_an_origin_may_connect_only_when_it_is_the_pages_own_or_listed(origin, host, allowed):
    policy = OriginPolicy(["https://partner.example"], frontend_port=3000)
    assert policy.allows(origin, host) is allowed
