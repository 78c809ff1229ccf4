"""The admin's members tools: mail a member a new verification link (refused for a verified
address), invite codes (create with uses and expiry, list with uses, revoke); each audited,
each route and page handler for an admin only, the CLI's `invite` through the same service."""

from __future__ import annotations

import argparse

import pytest
import sqlalchemy as sa

from movievote import cli
from movievote.cli import set_admin
from movievote.errors import (
    AlreadyVerified,
    InvalidInput,
    InviteNotFound,
    MemberNotFound,
    SignupClosed,
    TooManyAttempts,
)
from movievote.pages.admin import AdminState
from movievote.root import get_root
from movievote.services import accounts, admin
from tests.conftest import BASE_URL
from tests.integration.pages import page_of, session_token

BOSS = admin.Actor(None, "boss@example.com")
NEW_ROUTES = [
    ("POST", "/api/admin/members/1/resend-verification", None),
    ("GET", "/api/admin/invites", None),
    ("POST", "/api/admin/invites", {"max_uses": 3, "days": 7}),
    ("POST", "/api/admin/invites/1/revoke", None),
]


async def links_of(db, user_id: int) -> int:  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        return int(
            await conn.scalar(
                sa.text("SELECT count(*) FROM email_links WHERE user_id = :id").bindparams(
                    id=user_id
                )
            )
        )


async def _boss(api, login) -> dict[str, str]:  # type: ignore[no-untyped-def]
    await login("boss@example.com")
    await set_admin("grant", "boss@example.com", db=get_root().db)
    response = await api.post(
        "/api/token", data={"username": "boss@example.com", "password": "password123"}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_new_verification_link_is_mailed_and_audited_once_per_request(db, make_user):
    settings = get_root().settings
    late = await make_user(email="late@example.com", verified=False)
    assert await links_of(db, late.id) == 1  # sign-up's
    member = await admin.resend_verification(
        user_id=late.id, base_url=BASE_URL, actor=BOSS, settings=settings, db=db
    )
    assert member.email == "late@example.com" and not member.verified
    assert await links_of(db, late.id) == 2
    [entry] = (await admin.audit_entries(db=db)).items
    assert (entry.action, entry.target_id, entry.after) == (
        "member.resend_verification",
        str(late.id),
        {"email": "late@example.com"},
    )
    # the hourly limit counts the member's own requests and the admin's alike
    await admin.resend_verification(
        user_id=late.id, base_url=BASE_URL, actor=BOSS, settings=settings, db=db
    )
    with pytest.raises(TooManyAttempts):  # a fourth link within the hour
        await admin.resend_verification(
            user_id=late.id, base_url=BASE_URL, actor=BOSS, settings=settings, db=db
        )
    assert await links_of(db, late.id) == 3 and (await admin.audit_entries(db=db)).total == 2

    done = await make_user(email="done@example.com")
    for user_id, error in ((done.id, AlreadyVerified), (999_999, MemberNotFound)):
        with pytest.raises(error):
            await admin.resend_verification(
                user_id=user_id, base_url=BASE_URL, actor=BOSS, settings=settings, db=db
            )
    assert await links_of(db, done.id) == 1 and (await admin.audit_entries(db=db)).total == 2


async def test_invites_are_created_listed_and_revoked_with_their_audit_rows(db, make_user):
    root = get_root()
    root.settings = root.settings.model_copy(update={"signup_mode": "invite"})
    code = await admin.create_invite(max_uses=2, days=7, actor=BOSS, db=db)
    forever = await admin.create_invite(max_uses=1, days=None, actor=BOSS, db=db)
    assert code.status == "active" and code.expires_at is not None and len(code.code) == 16
    assert forever.expires_at is None
    listed = await admin.list_invites(db=db)
    assert [i.code for i in listed.items] == [forever.code, code.code] and listed.total == 2

    await make_user(email="one@example.com", invite_code=code.code)
    await make_user(email="two@example.com", invite_code=code.code)
    used = (await admin.list_invites(db=db)).items[1]
    assert (used.uses, used.max_uses, used.status) == (2, 2, "used_up")

    revoked = await admin.revoke_invite(invite_id=forever.id, actor=BOSS, db=db)
    assert revoked.status == "expired" and revoked.expires_at is not None
    again = await admin.revoke_invite(invite_id=forever.id, actor=BOSS, db=db)
    assert again.expires_at == revoked.expires_at  # nothing changed, nothing recorded
    with pytest.raises(SignupClosed):  # a revoked code admits no one
        await make_user(email="three@example.com", invite_code=forever.code)

    log = (await admin.audit_entries(db=db)).items
    assert [(e.action, e.target_type) for e in log] == [
        ("invite.revoke", "invite"),
        ("invite.create", "invite"),
        ("invite.create", "invite"),
    ]
    assert log[0].before == {"code": forever.code, "max_uses": 1, "expires_at": None}
    assert log[0].after["expires_at"] == revoked.expires_at.isoformat()

    for wrong in ({"max_uses": 0}, {"days": 0}, {"days": -1}, {"days": 5000}):
        with pytest.raises(InvalidInput):
            await admin.create_invite(**{"max_uses": 1, "days": 1, **wrong}, actor=BOSS, db=db)
    with pytest.raises(InviteNotFound):
        await admin.revoke_invite(invite_id=999_999, actor=BOSS, db=db)


async def test_the_cli_invite_goes_through_the_same_audited_service(capsys, db):
    await cli._run(argparse.Namespace(command="invite", uses=3, days=2.0))
    printed = capsys.readouterr().out
    assert printed.startswith("invite code ") and "3 sign-up(s), until" in printed
    [entry] = (await admin.audit_entries(db=db)).items
    assert (entry.action, entry.actor_label, entry.actor_id) == ("invite.create", "cli", None)
    assert entry.after is not None and entry.after["max_uses"] == 3
    with pytest.raises(SystemExit, match="100,000"):
        await cli._run(argparse.Namespace(command="invite", uses=0, days=0.0))


async def test_a_member_is_refused_on_every_new_members_route(api, login, db):
    member = await login("member@example.com")
    await login("late@example.com", verified=False)
    for method, path, body in NEW_ROUTES:
        anonymous = await api.request(method, path, json=body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        refused = await api.request(method, path, json=body, headers=member)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "admin_required"
    assert (await admin.list_invites(db=db)).total == 0
    assert (await admin.audit_entries(db=db)).total == 0


async def test_the_api_resends_links_and_manages_invites(api, login, db):
    boss = await _boss(api, login)
    await login("late@example.com", verified=False)
    late = await accounts.get_user_by_email(email="late@example.com", db=db)
    assert late is not None and late.id is not None
    sent = await api.post(f"/api/admin/members/{late.id}/resend-verification", headers=boss)
    assert sent.status_code == 202 and sent.json()["email"] == "late@example.com"
    boss_id = (await accounts.get_user_by_email(email="boss@example.com", db=db)).id  # type: ignore[union-attr]
    verified = await api.post(
        f"/api/admin/members/{boss_id}/resend-verification",
        headers={**boss, "Accept-Language": "pt-BR"},
    )
    assert verified.status_code == 409 and verified.json()["code"] == "already_verified"
    assert verified.json()["detail"] == (
        "boss@example.com já está verificado: não há link para enviar."
    )
    missing = await api.post("/api/admin/members/999999/resend-verification", headers=boss)
    assert missing.status_code == 404

    default = await api.post("/api/admin/invites", headers=boss)
    assert default.status_code == 201 and default.json()["max_uses"] == 1
    made = await api.post("/api/admin/invites", json={"max_uses": 5, "days": None}, headers=boss)
    assert made.status_code == 201 and made.json()["expires_at"] is None
    assert made.json()["status"] == "active"
    bad = await api.post("/api/admin/invites", json={"max_uses": 0}, headers=boss)
    assert bad.status_code == 422
    listed = (await api.get("/api/admin/invites", headers=boss)).json()
    assert [i["id"] for i in listed["items"]] == [made.json()["id"], default.json()["id"]]
    revoked = await api.post(f"/api/admin/invites/{made.json()['id']}/revoke", headers=boss)
    assert revoked.status_code == 200 and revoked.json()["status"] == "expired"
    assert (await api.post("/api/admin/invites/999999/revoke", headers=boss)).status_code == 404
    actions = [
        e["action"] for e in (await api.get("/api/admin/audit", headers=boss)).json()["items"]
    ]
    assert actions == [
        "invite.revoke",
        "invite.create",
        "invite.create",
        "member.resend_verification",
        "admin.grant",
    ]


async def test_the_page_resends_a_link_and_manages_invites(db, make_user):
    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.CLI, db=db)
    late = await make_user(email="late@example.com", verified=False)
    page = await page_of(AdminState, await session_token(boss))
    await AdminState.load.fn(page)
    assert page.allowed and page.invites == []

    await AdminState.resend_verification.fn(page, late.id)
    assert page.message == "We sent a new link to late@example.com: it confirms their address."
    await AdminState.resend_verification.fn(page, boss.id)
    assert page.error == "boss@example.com is verified already: there is no link to send."
    assert await links_of(db, late.id) == 2

    await AdminState.create_invite.fn(page, {"uses": "many", "days": "7"})
    assert page.error == "Give the uses and the days as numbers."
    await AdminState.create_invite.fn(page, {"uses": "3", "days": "0"})
    [made] = page.invites
    assert page.message == f"Invite code {made['code']} is ready: send it to the people you invite."
    assert (made["uses"], made["max_uses"], made["expires"], made["status"]) == (0, 3, "", "active")
    await AdminState.create_invite.fn(page, {"uses": "1", "days": "99999"})
    assert "3,650" in page.error and page.invite_total == 1
    await AdminState.revoke_invite.fn(page, made["id"])
    assert page.invites[0]["status"] == "expired" and page.invites[0]["expires"]
    assert [e["action"] for e in page.audit][:3] == [
        "invite.revoke",
        "invite.create",
        "member.resend_verification",
    ]
