"""Admins: the role (CLI), the admin routes (server-side check), blocking members, and the
append-only audit log (refused UPDATE and DELETE at the database, CSV export)."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
import sqlalchemy as sa

from movievote.cli import set_admin
from movievote.errors import AccountBlocked, InvalidToken, MemberNotFound
from movievote.root import get_root
from movievote.security import decode_access_token
from movievote.services import accounts, admin
from tests.conftest import cast_vote

ADMIN_ROUTES = [
    ("GET", "/api/admin/members", None),
    ("GET", "/api/admin/members?q=x&page=2", None),
    ("POST", "/api/admin/members/1/block", {"reason": "spam"}),
    ("POST", "/api/admin/members/1/unblock", {}),
    ("GET", "/api/admin/audit", None),
    ("GET", "/api/admin/audit?page=1", None),
    ("GET", "/api/admin/audit.csv", None),
]


async def _call(api, method, path, body, headers=None):  # type: ignore[no-untyped-def]
    return await api.request(method, path, json=body, headers=headers or {})


async def _id_of(email: str) -> int:
    user = await accounts.get_user_by_email(email=email, db=get_root().db)
    assert user is not None and user.id is not None
    return user.id


@pytest.fixture
async def boss(api, login):  # type: ignore[no-untyped-def]
    """An admin's Authorization header: a member made admin by the CLI's function."""
    await login("boss@example.com")
    assert await set_admin("grant", "Boss@Example.com", db=get_root().db) == (
        "boss@example.com is an admin"
    )
    return await _login_again(api, "boss@example.com")


async def _login_again(api, email: str, password: str = "password123"):  # type: ignore[no-untyped-def]
    response = await api.post("/api/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_member_is_refused_on_every_admin_route_and_no_token_is_401(api, login):
    member = await login("member@example.com")
    for method, path, body in ADMIN_ROUTES:
        anonymous = await _call(api, method, path, body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.json()["code"] == "not_authenticated"
        refused = await _call(api, method, path, body, member)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "admin_required"
    forged = {"Authorization": "Bearer not.a.token"}
    assert (await api.get("/api/admin/members", headers=forged)).status_code == 401
    portuguese = await api.get("/api/admin/members", headers={**member, "Accept-Language": "pt-BR"})
    assert portuguese.json()["detail"] == "Só um administrador pode fazer isso."


async def test_granted_by_the_cli_the_routes_work_and_a_revoke_takes_effect_at_once(
    api, login, boss, db
):
    member = await login("member@example.com")
    assert (await api.get("/api/admin/members", headers=boss)).status_code == 200
    # the role is read on every request: the same token, granted then revoked
    assert await set_admin("grant", "member@example.com", db=db) == "member@example.com is an admin"
    assert await set_admin("grant", "member@example.com", db=db) == (
        "member@example.com was an admin already"
    )
    assert (await api.get("/api/admin/audit", headers=member)).status_code == 200
    assert await set_admin("revoke", "member@example.com", db=db) == (
        "member@example.com is no longer an admin"
    )
    assert await set_admin("revoke", "member@example.com", db=db) == (
        "member@example.com was not an admin"
    )
    assert (await api.get("/api/admin/audit", headers=member)).status_code == 403
    with pytest.raises(SystemExit, match=r"No account uses nobody@example\.com"):
        await set_admin("grant", "nobody@example.com", db=db)
    with pytest.raises(MemberNotFound):
        await admin.grant_admin(email="nobody@example.com", actor=admin.CLI, db=db)
    audit = (await api.get("/api/admin/audit", headers=boss)).json()
    actions = [(e["action"], e["actor_label"], e["after"]["email"]) for e in audit["items"]]
    assert sorted(actions) == sorted(
        [
            ("admin.grant", "cli", "boss@example.com"),
            ("admin.grant", "cli", "member@example.com"),
            ("admin.revoke", "cli", "member@example.com"),
        ]
    )  # the no-ops recorded nothing


async def test_blocking_ends_sessions_refuses_log_in_and_the_vote_and_unblocking_restores(
    api, login, boss, movies, db
):
    member = await login("mallory@example.com")
    second = await _login_again(api, "mallory@example.com")
    claims = decode_access_token(
        member["Authorization"].removeprefix("Bearer "), settings=get_root().settings
    )
    mallory = await _id_of("mallory@example.com")

    blocked = await api.post(
        f"/api/admin/members/{mallory}/block", json={"reason": "stuffing"}, headers=boss
    )
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["blocked"] is True and blocked.json()["blocked_at"]

    for token in (member, second):  # every session ended
        refused = await api.get("/api/me", headers=token)
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
        vote = await api.post(f"/api/vote/{movies[0]}", headers=token)
        assert vote.status_code == 403 and vote.json()["code"] == "account_blocked"
    with pytest.raises(AccountBlocked):  # a token minted before the block: the statement says no
        await cast_vote(user_id=mallory, movie_id=movies[0], session_id=claims.session_id)
    with pytest.raises(AccountBlocked):  # and with no session at all (a trusted caller)
        await cast_vote(user_id=mallory, movie_id=movies[0])
    with pytest.raises(InvalidToken):
        await accounts.user_of_session(claims=claims, db=db)

    log_in = await api.post(
        "/api/token", data={"username": "mallory@example.com", "password": "password123"}
    )
    assert log_in.status_code == 403 and log_in.json()["code"] == "account_blocked"
    wrong = await api.post(  # a wrong password says only that: nothing about the block
        "/api/token", data={"username": "mallory@example.com", "password": "password999"}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    async with db.engine.connect() as conn:
        open_sessions = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM sessions WHERE user_id = :id AND ended_at IS NULL"
            ).bindparams(id=mallory)
        )
    assert open_sessions == 0

    again = await api.post(
        f"/api/admin/members/{mallory}/block", json={"reason": "again"}, headers=boss
    )
    assert again.status_code == 200 and again.json()["blocked"] is True  # no change, no row

    unblocked = await api.post(f"/api/admin/members/{mallory}/unblock", headers=boss)
    assert unblocked.status_code == 200 and unblocked.json()["blocked"] is False
    assert (await api.get("/api/me", headers=member)).status_code == 401  # ended stays ended
    fresh = await _login_again(api, "mallory@example.com")
    assert (await api.post(f"/api/vote/{movies[0]}", headers=fresh)).status_code == 201

    audit = (await api.get("/api/admin/audit", headers=boss)).json()
    assert [e["action"] for e in audit["items"]] == [
        "member.unblock",
        "member.block",
        "admin.grant",
    ]
    unblock, block, _ = audit["items"]
    boss_id = await _id_of("boss@example.com")
    assert block["actor_id"] == boss_id and block["actor_label"] == "boss@example.com"
    assert (block["target_type"], block["target_id"]) == ("user", str(mallory))
    assert block["reason"] == "stuffing"
    assert block["before"] == {"email": "mallory@example.com", "blocked_at": None}
    assert block["after"]["blocked_at"] and block["after"]["sessions_ended"] == 2
    assert unblock["before"]["blocked_at"] == block["after"]["blocked_at"]
    assert unblock["after"] == {"email": "mallory@example.com", "blocked_at": None}


async def test_block_rules_and_unknown_members(api, login, boss):
    boss_id = await _id_of("boss@example.com")
    own = await api.post(f"/api/admin/members/{boss_id}/block", json={"reason": "x"}, headers=boss)
    assert own.status_code == 422 and own.json()["code"] == "invalid_input"
    blank = await api.post(
        f"/api/admin/members/{boss_id}/block", json={"reason": " "}, headers=boss
    )
    assert blank.status_code == 422
    for action in ("block", "unblock"):
        missing = await api.post(
            f"/api/admin/members/999999/{action}", json={"reason": "x"}, headers=boss
        )
        assert missing.status_code == 404 and missing.json()["code"] == "member_not_found"


async def test_a_log_in_that_checked_the_password_before_the_block_gets_no_session(login, db):
    await login("late@example.com")
    user = await accounts.get_user_by_email(email="late@example.com", db=db)
    assert user is not None and user.id is not None
    await admin.block_member(user_id=user.id, reason="r", actor=admin.CLI, db=db)
    with pytest.raises(AccountBlocked):  # the user row read before the block: the INSERT says no
        await accounts.open_session(
            user=user, checked_hash=user.password_hash, settings=get_root().settings, db=db
        )


async def test_admins_racing_to_block_one_member_make_one_change_and_one_record(login, db):
    await login("target@example.com")
    target = await _id_of("target@example.com")
    admins = [admin.Actor(None, f"admin{i}@example.com") for i in range(5)]
    done = await asyncio.gather(
        *(admin.block_member(user_id=target, reason="r", actor=a, db=db) for a in admins)
    )
    assert all(member.blocked for member in done)
    async with db.engine.connect() as conn:
        rows = await conn.scalar(sa.text("SELECT count(*) FROM audit_log"))
    assert rows == 1


async def test_list_and_search_members(api, login, boss, make_user):
    await make_user(email="ana@example.com", display_name="Ana Lima")
    await make_user(email="bruno@example.com", display_name="Bruno", verified=False)
    await make_user(email="carla_x@example.com", display_name="100% Carla")
    everyone = (await api.get("/api/admin/members", headers=boss)).json()
    assert everyone["total"] == 4 and everyone["page"] == 1
    first = everyone["items"][0]
    assert first["email"] == "boss@example.com" and first["admin"] is True
    assert set(first) >= {
        "email",
        "display_name",
        "created_at",
        "verified",
        "admin",
        "blocked",
        "language",
    }
    found = (await api.get("/api/admin/members?q=LIMA", headers=boss)).json()
    assert [m["email"] for m in found["items"]] == ["ana@example.com"]
    found = (await api.get("/api/admin/members?q=bruno@", headers=boss)).json()
    assert [(m["email"], m["verified"]) for m in found["items"]] == [("bruno@example.com", False)]
    # LIKE's wildcards are searched for as themselves
    assert (await api.get("/api/admin/members?q=%25", headers=boss)).json()["total"] == 1
    assert (await api.get("/api/admin/members?q=o_x", headers=boss)).json()["total"] == 0
    assert (await api.get("/api/admin/members?q=a_x", headers=boss)).json()["total"] == 1
    paged = (await api.get("/api/admin/members?page=2&page_size=3", headers=boss)).json()
    assert paged["total"] == 4 and len(paged["items"]) == 1
    assert (await api.get("/api/admin/members?page=0", headers=boss)).status_code == 422


async def test_the_audit_log_refuses_update_and_delete_at_the_database(login, boss, db):
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM audit_log")) == 1
    for statement in (
        "UPDATE audit_log SET reason = 'rewritten'",
        "UPDATE audit_log SET actor_id = NULL",  # the actor still exists: not the cascade
        "DELETE FROM audit_log",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(sa.text(statement))
    async with db.engine.connect() as conn:
        row = (await conn.execute(sa.text("SELECT reason, action FROM audit_log"))).one()
    assert tuple(row) == (None, "admin.grant")


async def test_deleting_an_admin_s_account_keeps_their_audit_rows_by_label(api, login, boss, db):
    await login("member@example.com")
    member = await _id_of("member@example.com")
    await api.post(f"/api/admin/members/{member}/block", json={"reason": "r"}, headers=boss)
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE email = 'boss@example.com'"))
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text("SELECT action, actor_id, actor_label FROM audit_log ORDER BY id")
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("admin.grant", None, "cli"),
        ("member.block", None, "boss@example.com"),
    ]


async def test_the_csv_export_streams_every_row(api, login, boss, db, make_user):
    users = [await make_user(email=f"m{i}@example.com") for i in range(7)]
    for user in users:
        assert user.id is not None
        await admin.block_member(user_id=user.id, reason='=HYPERLINK("x")', actor=admin.CLI, db=db)
    admin_id = await _id_of("boss@example.com")
    async with api.stream("GET", "/api/admin/audit.csv", headers=boss) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        body = "".join([chunk async for chunk in response.aiter_text()])
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 8
    assert rows[0]["action"] == "admin.grant" and rows[0]["target_id"] == str(admin_id)
    assert json.loads(rows[0]["after"]) == {"email": "boss@example.com", "is_admin": True}
    blocks = rows[1:]
    assert [r["target_id"] for r in blocks] == [str(u.id) for u in users]
    assert all(r["reason"] == '\'=HYPERLINK("x")' for r in blocks)  # no formula runs


async def test_the_export_comes_in_batches(db, make_user, monkeypatch):
    monkeypatch.setattr(admin, "CSV_BATCH_ROWS", 2)
    for i in range(5):
        user = await make_user(email=f"b{i}@example.com")
        assert user.id is not None
        await admin.block_member(user_id=user.id, reason="r", actor=admin.CLI, db=db)
    chunks = [chunk async for chunk in admin.audit_csv(db=db)]
    assert len(chunks) == 1 + 3  # the header, then 2 + 2 + 1 rows
    assert sum(chunk.count("\r\n") for chunk in chunks) == 6


async def test_the_admin_routes_are_tagged_in_the_openapi_document(api):
    document = (await api.get("/api/openapi.json")).json()
    admin_paths = [p for p in document["paths"] if p.startswith("/api/admin")]
    assert set(admin_paths) == {
        "/api/admin/members",
        "/api/admin/members/{member_id}/block",
        "/api/admin/members/{member_id}/unblock",
        "/api/admin/members/{member_id}/resend-verification",
        "/api/admin/invites",
        "/api/admin/invites/{invite_id}/revoke",
        "/api/admin/movies",
        "/api/admin/movies/{movie_id}",
        "/api/admin/catalogue/search",
        "/api/admin/catalogue/add",
        "/api/admin/catalogue/import",
        "/api/admin/movies/{movie_id}/hide",
        "/api/admin/movies/{movie_id}/unhide",
        "/api/admin/audit",
        "/api/admin/audit.csv",
        "/api/admin/votes",
        "/api/admin/votes/{vote_id}/void",
        "/api/admin/votes/{vote_id}/restore",
        "/api/admin/results/{month}",
        "/api/admin/screens",
        "/api/admin/screens/{screen_id}",
        "/api/admin/screens/{screen_id}/reload",
    }
    for path in admin_paths:
        for operation in document["paths"][path].values():
            assert operation["tags"] == ["admin"]
            assert {"401", "403"} <= set(operation["responses"])
