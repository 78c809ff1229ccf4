"""Access tokens: the plain check of our own tokens (security._plainly_valid) never accepts a
token PyJWT refuses, and decode_access_token answers as PyJWT does for every token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from movievote.config import Settings
from movievote.errors import InvalidToken
from movievote.security import (
    _OUR_HEADER,
    TokenClaims,
    _plainly_valid,
    create_access_token,
    decode_access_token,
)

SETTINGS = Settings(secret_key="s" * 40)
KEY = SETTINGS.secret_key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: str, claims: object, key: str = KEY) -> str:
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _pyjwt(token: str) -> TokenClaims | str:
    """What PyJWT alone says (the check before the plain one existed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            claims = jwt.decode(
                token,
                KEY,
                algorithms=["HS256"],
                options={"require": ["exp", "iat", "sub", "sid"]},
            )
        user_id, session_id = int(claims["sub"]), str(claims["sid"])
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        return type(exc).__name__
    if not 0 < len(session_id) <= 43:
        return "sid"
    return TokenClaims(user_id=user_id, session_id=session_id)


def _tokens() -> list[tuple[str, str]]:
    now = int(datetime.now(UTC).timestamp())
    good = {"sub": "42", "sid": "abc", "iat": now - 10, "exp": now + 3600}
    made, _ = create_access_token(user_id=7, session_id="s-1", settings=SETTINGS)
    head, payload, signature = made.split(".")
    other_header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return [
        ("issued by create_access_token", made),
        ("our exact claims", _signed(_OUR_HEADER, good)),
        ("expired", _signed(_OUR_HEADER, {**good, "exp": now - 1})),
        ("expires now", _signed(_OUR_HEADER, {**good, "exp": now})),
        ("issued in the future", _signed(_OUR_HEADER, {**good, "iat": now + 60})),
        ("another key", _signed(_OUR_HEADER, good, key="t" * 40)),
        (
            "payload changed",
            f"{head}.{_b64(json.dumps({**good, 'sub': '1'}).encode())}.{signature}",
        ),
        ("signature changed", f"{head}.{payload}.{signature[:-2]}AA"),
        ("signature with a stray character", f"{head}.{payload}.{signature}="),
        ("signature with a space", f"{head}.{payload}. {signature}"),
        ("alg none", f"{none_header}.{payload}."),
        ("the header in another order", _signed(other_header, good)),
        ("an extra claim", _signed(_OUR_HEADER, {**good, "aud": "x"})),
        ("no sid", _signed(_OUR_HEADER, {k: v for k, v in good.items() if k != "sid"})),
        ("sub not digits", _signed(_OUR_HEADER, {**good, "sub": "abc"})),
        ("sub a number", _signed(_OUR_HEADER, {**good, "sub": 42})),
        ("exp a float", _signed(_OUR_HEADER, {**good, "exp": now + 3600.5})),
        ("exp a string", _signed(_OUR_HEADER, {**good, "exp": str(now + 3600)})),
        ("exp true", _signed(_OUR_HEADER, {**good, "exp": True})),
        ("sid too long", _signed(_OUR_HEADER, {**good, "sid": "x" * 44})),
        ("sid empty", _signed(_OUR_HEADER, {**good, "sid": ""})),
        ("sid a number", _signed(_OUR_HEADER, {**good, "sid": 5})),
        ("a list, not an object", _signed(_OUR_HEADER, [good])),
        ("four segments", made + ".x"),
        ("two segments", f"{head}.{payload}"),
        ("nonsense", "not a token"),
        ("empty", ""),
    ]


@pytest.mark.parametrize(("case", "token"), _tokens(), ids=[c for c, _ in _tokens()])
def test_the_plain_check_agrees_with_pyjwt(case, token):
    expected = _pyjwt(token)
    plain = _plainly_valid(token, KEY.encode())
    if plain is not None:  # it only ever accepts, and only what PyJWT accepts
        assert plain == expected, case
    try:
        answer: TokenClaims | str = decode_access_token(token, settings=SETTINGS)
    except InvalidToken:
        answer = "refused"
    if isinstance(expected, TokenClaims):
        assert answer == expected, case
    else:
        assert answer == "refused", case


def test_our_own_fresh_tokens_take_the_plain_path():
    token, _ = create_access_token(user_id=7, session_id="s-1", settings=SETTINGS)
    assert _plainly_valid(token, KEY.encode()) == TokenClaims(user_id=7, session_id="s-1")
    old, _ = create_access_token(
        user_id=7, session_id="s-1", settings=SETTINGS, now=datetime.now(UTC) - timedelta(days=9)
    )
    assert _plainly_valid(old, KEY.encode()) is None
    with pytest.raises(InvalidToken) as refused:
        decode_access_token(old, settings=SETTINGS)
    assert "expired" in refused.value.message
