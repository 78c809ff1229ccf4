"""The /admin page's handlers: they act only for a verified admin, whatever the page shows (a
member's browser can send any event it likes over the websocket)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import sqlalchemy as sa
from reflex.state import State
from reflex_components_core.core._upload import UploadChunk

from movievote.models import User
from movievote.pages.admin import AdminState
from movievote.root import get_root
from movievote.services import accounts, admin, curation
from movievote.state import AuthState

users_t = User.__table__  # type: ignore[attr-defined]


async def admin_page(token: str) -> AdminState:
    root = State(_reflex_internal_init=True)
    page = root.get_substate(AdminState.get_full_name().split(".")[1:])
    (await page.get_state(AuthState)).token = token
    return page


async def token_of(user: User) -> str:
    root = get_root()
    return (await accounts.open_session(user=user, db=root.db, settings=root.settings)).token


async def blocked(db, user_id: int) -> bool:  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        return (
            await conn.scalar(sa.select(users_t.c.blocked_at).where(users_t.c.id == user_id))
        ) is not None


async def test_a_member_gets_nothing_and_changes_nothing(db, make_user):
    member, target = await make_user(), await make_user()
    page = await admin_page(await token_of(member))
    await AdminState.load.fn(page)
    assert not page.allowed and page.members == [] and page.audit == []
    # a forged event, as a browser could send it whatever the page shows
    await AdminState.block.fn(page, {"member_id": str(target.id), "reason": "spam"})
    assert not await blocked(db, target.id)
    assert (await admin.audit_entries(db=db)).total == 0


async def test_an_admin_blocks_and_unblocks_with_the_audit_log(db, make_user):
    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.Actor(None, "cli"), db=db)
    target = await make_user(email="stuffer@example.com")
    page = await admin_page(await token_of(await accounts.get_user(user_id=boss.id, db=db)))
    await AdminState.load.fn(page)
    assert page.allowed and page.total == 2
    await AdminState.search.fn(page, "stuffer")
    assert [m["email"] for m in page.members] == ["stuffer@example.com"]

    await AdminState.block.fn(page, {"member_id": str(target.id), "reason": "  "})
    assert page.error and not await blocked(db, target.id)  # a block needs its reason
    await AdminState.block.fn(page, {"member_id": str(target.id), "reason": "20 accounts"})
    assert page.message == "stuffer@example.com is blocked." and await blocked(db, target.id)
    assert page.members[0]["blocked"] and page.audit[0]["reason"] == "20 accounts"
    assert page.audit[0]["who"] == "boss@example.com"

    await AdminState.unblock.fn(page, {"member_id": str(target.id)})
    assert not await blocked(db, target.id) and page.audit_total == 3  # grant, block, unblock

    await admin.revoke_admin(email=boss.email, actor=admin.Actor(None, "cli"), db=db)
    await AdminState.block.fn(page, {"member_id": str(target.id), "reason": "again"})
    assert not page.allowed and not await blocked(db, target.id)  # the role is read each time


async def test_a_member_s_forged_events_on_the_catalogue_and_members_tools_change_nothing(
    db, make_user, movies
):
    """Every handler added for the catalogue and the members re-checks the role: a member's
    browser sending them (whatever the page shows) reaches no service and no external API."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    root = get_root()
    root.settings = root.settings.model_copy(update={"tmdb_api_key": "k", "omdb_api_key": "k"})
    root.http = httpx.AsyncClient(transport=httpx.MockTransport(record))
    member, late = await make_user(), await make_user(verified=False)
    invite = await admin.create_invite(max_uses=1, days=1, actor=admin.CLI, db=db)
    page = await admin_page(await token_of(member))
    await AdminState.load.fn(page)
    assert not page.allowed and page.invites == [] and page.search_sources == []

    async def upload() -> AsyncIterator[UploadChunk]:
        data = json.dumps({"results": [{"id": 1, "title": "Forged"}]}).encode()
        yield UploadChunk(filename="f.json", offset=0, content_type="application/json", data=data)

    await AdminState.edit.fn(page, movies[0])
    assert page.editing == 0 and page.edit_form == {}
    page.editing = movies[0]  # as if the browser had the editor open anyway
    await AdminState.save_movie.fn(page, {"title": "Hacked", "year": "1999", "genres": "X"})
    await AdminState.close_editor.fn(page)
    await AdminState.search_catalogues.fn(page, {"source": "tmdb", "q": "godfather"})
    await AdminState.add_movie.fn(page, "tmdb", "238")
    await AdminState.import_file.fn(page, upload())
    await AdminState.refuse_file.fn(page, [{"file": {"path": "x.json"}, "errors": []}])
    await AdminState.resend_verification.fn(page, late.id)
    await AdminState.create_invite.fn(page, {"uses": "100", "days": "0"})
    await AdminState.revoke_invite.fn(page, invite.id)

    assert sent == []  # no search, no fetch
    assert page.search_hits == [] and page.import_summary == page.import_error == ""
    assert not page.import_busy and page.import_total == 0 and page.message == ""
    movie = await curation.get_movie(movie_id=movies[0], db=db)
    assert (movie.title, movie.year) == ("The Godfather", 1972)
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM movies")) == 5
        links = await conn.scalar(
            sa.text("SELECT count(*) FROM email_links WHERE user_id = :id").bindparams(id=late.id)
        )
    assert links == 1  # sign-up's only
    invites = await admin.list_invites(db=db)
    assert [(i.id, i.status) for i in invites.items] == [(invite.id, "active")]
    assert [e.action for e in (await admin.audit_entries(db=db)).items] == ["invite.create"]
