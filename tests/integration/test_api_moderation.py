"""The vote-moderation routes (`/api/admin/votes...`): admins only, JSON errors with their
codes, the rankings following a void and a restore, and a member's own view of a voided vote."""

from __future__ import annotations

from datetime import UTC, datetime

from movievote.cli import set_admin
from movievote.periods import current_period, format_period
from movievote.root import get_root
from movievote.services import accounts
from tests.conftest import cast_vote

ROUTES = [
    ("GET", "/api/admin/votes", None),
    ("GET", "/api/admin/votes?month=2026-11&page=2&movie_id=1&flagged=true", None),
    ("POST", "/api/admin/votes/1/void", {"reason": "stuffing"}),
    ("POST", "/api/admin/votes/1/restore", {}),
]


async def _boss(api, login):  # type: ignore[no-untyped-def]
    await login("boss@example.com")
    await set_admin("grant", "boss@example.com", db=get_root().db)
    response = await api.post(
        "/api/token", data={"username": "boss@example.com", "password": "password123"}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _ranking(api) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    await get_root().subject.settle()
    board = (await api.get("/api/ranking?period=current")).json()
    return [(e["movie"]["id"], e["votes"]) for e in board["items"]]


async def test_members_and_strangers_are_refused_on_every_route(api, login, movies):
    member = await login("member@example.com")
    user = await accounts.get_user_by_email(email="member@example.com", db=get_root().db)
    assert user is not None and user.id is not None
    cast = await cast_vote(user_id=user.id, movie_id=movies[0])
    for method, path, body in ROUTES:
        path = path.replace("/1/", f"/{cast.id}/")
        anonymous = await api.request(method, path, json=body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.json()["code"] == "not_authenticated"
        refused = await api.request(method, path, json=body, headers=member)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "admin_required"
    await get_root().subject.settle()
    assert await _ranking(api) == [(movies[0], 1)]  # nothing changed


async def test_an_admin_voids_and_restores_and_the_member_sees_it(api, login, movies):
    boss = await _boss(api, login)
    voter = await login("voter@example.com")
    first = await api.post(f"/api/vote/{movies[0]}", headers=voter)
    assert first.status_code == 201
    vote_id = first.json()["id"]
    other = await login("other@example.com")
    assert (await api.post(f"/api/vote/{movies[1]}", headers=other)).status_code == 201
    assert await _ranking(api) == [(movies[0], 1), (movies[1], 1)]

    listed = await api.get("/api/admin/votes", headers=boss)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["period"] == format_period(current_period(get_root().settings.zone))
    assert body["total"] == 2 and not body["final"]
    assert body["signs"]["young_account_hours"] == 48 and body["signs"]["burst_votes"] == 10
    _newest, oldest = body["items"]
    assert oldest["id"] == vote_id and oldest["email"] == "voter@example.com"
    assert oldest["movie_title"] == "The Godfather" and oldest["verified"] is True
    assert oldest["flags"] == ["young_account"]  # the account was made seconds before
    assert [m["movie_id"] for m in body["suspicious"]] == sorted([movies[0], movies[1]])

    voided = await api.post(
        f"/api/admin/votes/{vote_id}/void", json={"reason": "a sock puppet"}, headers=boss
    )
    assert voided.status_code == 200, voided.text
    assert voided.json()["voided"] is True and voided.json()["voided_by"] == "boss@example.com"
    assert voided.json()["void_reason"] == "a sock puppet"
    assert await _ranking(api) == [(movies[1], 1)]
    mine = (await api.get("/api/votes/me", headers=voter)).json()
    assert mine["voided"] is True and mine["vote"]["voided_at"] and mine["can_vote"] is False
    assert (await api.get("/api/votes/me", headers=other)).json()["voided"] is False

    twice = await api.post(f"/api/admin/votes/{vote_id}/void", json={"reason": "x"}, headers=boss)
    assert twice.status_code == 409 and twice.json()["code"] == "vote_voided"
    only_mine = (await api.get(f"/api/admin/votes?movie_id={movies[0]}", headers=boss)).json()
    assert [(v["id"], v["voided"], v["void_reason"]) for v in only_mine["items"]] == [
        (vote_id, True, "a sock puppet")
    ]

    restored = await api.post(f"/api/admin/votes/{vote_id}/restore", headers=boss)
    assert restored.status_code == 200 and restored.json()["voided"] is False
    assert await _ranking(api) == [(movies[0], 1), (movies[1], 1)]
    assert (await api.get("/api/votes/me", headers=voter)).json()["voided"] is False
    again = await api.post(f"/api/admin/votes/{vote_id}/restore", json={}, headers=boss)
    assert again.status_code == 409 and again.json()["code"] == "vote_not_voided"

    audit = (await api.get("/api/admin/audit", headers=boss)).json()["items"]
    assert [(e["action"], e["target_type"], e["target_id"]) for e in audit[:2]] == [
        ("vote.restore", "vote", str(vote_id)),
        ("vote.void", "vote", str(vote_id)),
    ]


async def test_errors_are_json_with_their_codes(api, login, movies):
    boss = await _boss(api, login)
    voter = await accounts.get_user_by_email(email="boss@example.com", db=get_root().db)
    assert voter is not None and voter.id is not None
    old = await cast_vote(
        user_id=voter.id, movie_id=movies[2], now=datetime(2024, 3, 5, tzinfo=UTC)
    )
    final = await api.post(f"/api/admin/votes/{old.id}/void", json={"reason": "x"}, headers=boss)
    assert final.status_code == 409 and final.json()["code"] == "result_final"
    assert final.json()["detail"] == (
        "The result of March 2024 is final: its votes can no longer be voided or restored."
    )
    portuguese = await api.post(
        f"/api/admin/votes/{old.id}/restore",
        headers={**boss, "Accept-Language": "pt-BR"},
    )
    assert portuguese.status_code == 409
    assert portuguese.json()["detail"].startswith("O resultado de março de 2024 é definitivo")
    past = (await api.get("/api/admin/votes?month=2024-03", headers=boss)).json()
    assert past["final"] is True and [v["id"] for v in past["items"]] == [old.id]

    missing = await api.post("/api/admin/votes/999999/void", json={"reason": "x"}, headers=boss)
    assert missing.status_code == 404 and missing.json()["code"] == "vote_not_found"
    for body in ({"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {}):
        refused = await api.post(f"/api/admin/votes/{old.id}/void", json=body, headers=boss)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["code"] == "invalid_input" and refused.json()["field"] == "reason"
    for query in ("month=2026-13", "month=november", "page=0", "page_size=101", "movie_id=0"):
        refused = await api.get(f"/api/admin/votes?{query}", headers=boss)
        assert refused.status_code == 422, (query, refused.text)
        assert refused.json()["code"] == "invalid_input"
    assert (await api.get("/api/admin/votes?month=0000-01", headers=boss)).json()["field"] == (
        "month"
    )
    bad_id = await api.post("/api/admin/votes/0/void", json={"reason": "x"}, headers=boss)
    assert bad_id.status_code == 422
