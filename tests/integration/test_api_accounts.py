"""API: sign-up, token, me, throttling, and every way a token can be wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa

from movievote.config import get_settings


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"], body
    return body


async def test_signup_answers_check_your_inbox_without_the_hash(api):
    response = await api.post(
        "/api/signup",
        json={"email": "Ana@Example.com", "password": "password123", "display_name": "Ana"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["code"] == "check_inbox" and "ana@example.com" in body["detail"]
    assert "password" not in response.text


async def test_signup_with_a_taken_email_answers_exactly_the_same(api):
    payload = {"email": "bob@example.com", "password": "password123", "display_name": "Bob"}
    first = await api.post("/api/signup", json=payload)
    again = await api.post("/api/signup", json={**payload, "email": "BOB@example.com"})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "nope", "password": "password123", "display_name": "X"}, "email"),
        ({"email": "a@example.com", "password": "short", "display_name": "X"}, "password"),
        ({"email": "a@example.com", "password": "é" * 40, "display_name": "X"}, "password"),
        ({"email": "a@example.com", "password": "x" * 73, "display_name": "X"}, "password"),
        ({"email": "a@example.com", "password": "password123"}, "display_name"),
        ({"email": "a@example.com", "password": 12345678, "display_name": "X"}, "password"),
    ],
)
async def test_signup_with_bad_input_is_422_with_the_field(api, payload, field):
    body = assert_error(await api.post("/api/signup", json=payload), 422, "invalid_input")
    assert body["field"] == field


async def test_malformed_json_is_422_not_500(api):
    response = await api.post(
        "/api/signup", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_input")


async def test_token_and_me(api, login):
    headers = await login("carla@example.com")
    response = await api.post(
        "/api/token", data={"username": "carla@example.com", "password": "password123"}
    )
    body = response.json()
    assert (
        body["token_type"] == "bearer"
        and body["expires_in"] == get_settings().access_token_minutes * 60
    )
    me = await api.get("/api/me", headers=headers)
    assert me.status_code == 200 and me.json()["email"] == "carla@example.com"


async def test_wrong_password_and_unknown_email_look_the_same(api, login):
    await login("dan@example.com")
    wrong = await api.post(
        "/api/token", data={"username": "dan@example.com", "password": "wrong-password"}
    )
    unknown = await api.post(
        "/api/token", data={"username": "ghost@example.com", "password": "password123"}
    )
    assert (
        wrong.json()
        == unknown.json()
        == {"detail": "Incorrect email or password.", "code": "invalid_credentials"}
    )
    assert wrong.status_code == unknown.status_code == 401


async def test_five_failures_lock_that_client_out_of_the_account_with_retry_after(api, login):
    await login("eve@example.com")
    for _ in range(5):
        assert_error(
            await api.post(
                "/api/token", data={"username": "eve@example.com", "password": "bad-pass"}
            ),
            401,
            "invalid_credentials",
        )
    locked = await api.post(
        "/api/token", data={"username": "eve@example.com", "password": "password123"}
    )
    assert_error(locked, 429, "too_many_attempts")
    assert 800 < int(locked.headers["Retry-After"]) <= 900


async def test_twenty_failures_from_one_address_lock_that_address(api, login):
    await login("fay@example.com")  # logs in from this address: a member of this "lobby"
    await api.post(
        "/api/signup",
        json={"email": "gus@example.com", "password": "password123", "display_name": "G"},
    )
    for i in range(20):
        response = await api.post(
            "/api/token", data={"username": f"guess{i}@example.com", "password": "bad-pass"}
        )
        assert_error(response, 401, "invalid_credentials")
    assert_error(  # an account never logged in to from here: this address is stopped
        await api.post(
            "/api/token", data={"username": "gus@example.com", "password": "password123"}
        ),
        429,
        "too_many_attempts",
    )
    # someone who logs in from here as a rule is not locked out by another's guessing
    fay = await api.post(
        "/api/token", data={"username": "fay@example.com", "password": "password123"}
    )
    assert fay.status_code == 200


async def test_a_success_forgives_the_account_failures(api, login):
    await login("gil@example.com")
    for _ in range(4):
        await api.post("/api/token", data={"username": "gil@example.com", "password": "bad-pass"})
    assert (
        await api.post(
            "/api/token", data={"username": "gil@example.com", "password": "password123"}
        )
    ).status_code == 200
    for _ in range(4):
        assert_error(
            await api.post(
                "/api/token", data={"username": "gil@example.com", "password": "bad-pass"}
            ),
            401,
            "invalid_credentials",
        )


async def test_token_form_fields_are_required(api):
    assert_error(
        await api.post("/api/token", data={"username": "x@example.com"}), 422, "invalid_input"
    )


async def test_every_bad_token_is_401(api, login, db):
    headers = await login("hal@example.com")
    token = headers["Authorization"].split()[1]
    settings = get_settings()
    claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"])
    past = datetime.now(UTC) - timedelta(days=3)
    expired = jwt.encode(
        {**claims, "iat": past, "exp": past + timedelta(minutes=5)},
        settings.secret_key,
        algorithm="HS256",
    )
    none_alg = jwt.encode(claims, None, algorithm="none")
    wrong_key = jwt.encode(claims, "x" * 40, algorithm="HS256")
    head, body, sig = token.split(".")
    cases = {
        "missing": ({}, "not_authenticated"),
        "not bearer": ({"Authorization": f"Basic {token}"}, "not_authenticated"),
        "malformed": ({"Authorization": "Bearer abc.def"}, "invalid_token"),
        "expired": ({"Authorization": f"Bearer {expired}"}, "invalid_token"),
        "tampered": ({"Authorization": f"Bearer {head}.{body}x.{sig}"}, "invalid_token"),
        "alg none": ({"Authorization": f"Bearer {none_alg}"}, "invalid_token"),
        "wrong key": ({"Authorization": f"Bearer {wrong_key}"}, "invalid_token"),
    }
    for name, (bad, code) in cases.items():
        response = await api.get("/api/me", headers=bad)
        assert_error(response, 401, code)
        assert response.headers["WWW-Authenticate"] == "Bearer", name
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE email = 'hal@example.com'"))
    assert_error(await api.get("/api/me", headers=headers), 401, "invalid_token")
