"""The /admin and /admin/votes pages' handlers: they act only for a verified admin, whatever
the page shows (a member's browser can send any event it likes over the websocket)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import sqlalchemy as sa
from reflex_components_core.core._upload import UploadChunk

from movievote.models import User, Vote
from movievote.pages.admin import AdminState
from movievote.pages.admin_votes import AdminVotesState
from movievote.root import get_root
from movievote.services import accounts, admin, curation, moderation, results
from movievote.services.tallies import fold_vote_deltas
from tests.conftest import cast_vote
from tests.integration.pages import page_of, session_token

users_t = User.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]


async def blocked(db, user_id: int) -> bool:  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        return (
            await conn.scalar(sa.select(users_t.c.blocked_at).where(users_t.c.id == user_id))
        ) is not None


async def test_a_member_gets_nothing_and_changes_nothing(db, make_user):
    member, target = await make_user(), await make_user()
    page = await page_of(AdminState, await session_token(member))
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
    page = await page_of(
        AdminState, await session_token(await accounts.get_user(user_id=boss.id, db=db))
    )
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
    page = await page_of(AdminState, await session_token(member))
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


async def voided(db, vote_id: int) -> bool:  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        return (
            await conn.scalar(sa.select(votes_t.c.voided_at).where(votes_t.c.id == vote_id))
        ) is not None


async def test_a_member_s_forged_vote_events_void_and_restore_nothing(db, make_user, movies):
    member, voter = await make_user(), await make_user()
    cast = await cast_vote(user_id=voter.id, movie_id=movies[0])
    page = await page_of(AdminVotesState, await session_token(member))
    await AdminVotesState.load.fn(page)
    assert not page.allowed and page.checked and page.votes == [] and page.months == []
    assert page.results == []  # the publications' checks are for admins
    await AdminVotesState.void.fn(page, {"vote_id": str(cast.id), "reason": "forged"})
    assert not await voided(db, cast.id)
    await AdminVotesState.choose_month.fn(page, "2026-11")
    await AdminVotesState.set_flagged.fn(page, True)
    await AdminVotesState.show_movie.fn(page, str(movies[0]), "x")
    assert page.votes == [] and page.suspicious == []
    await moderation.void_vote(
        vote_id=cast.id,
        reason="r",
        actor=admin.CLI,
        settings=get_root().settings,
        db=db,
        subject=get_root().subject,
    )
    await AdminVotesState.restore.fn(page, {"vote_id": str(cast.id)})
    assert await voided(db, cast.id)
    assert (await admin.audit_entries(db=db)).total == 1  # the CLI's void only


async def test_an_admin_voids_and_restores_from_the_page(db, make_user, movies):
    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.CLI, db=db)
    voter = await make_user(email="voter@example.com")
    cast = await cast_vote(user_id=voter.id, movie_id=movies[1])
    page = await page_of(
        AdminVotesState, await session_token(await accounts.get_user(user_id=boss.id, db=db))
    )
    await AdminVotesState.load.fn(page)
    assert page.allowed and page.total == 1 and not page.final
    assert page.month == page.months[0]
    row = page.votes[0]
    assert row["email"] == "voter@example.com" and row["young"] and not row["voided"]
    assert [m["id"] for m in page.suspicious] == [str(movies[1])]

    await AdminVotesState.void.fn(page, {"vote_id": str(cast.id), "reason": " "})
    assert page.error and not await voided(db, cast.id)  # a void needs its reason
    await AdminVotesState.void.fn(page, {"vote_id": str(cast.id), "reason": "sock puppet"})
    assert page.message == "The vote for Spirited Away is voided: it no longer counts."
    assert await voided(db, cast.id)
    row = page.votes[0]
    assert row["voided"] and row["voided_by"] == "boss@example.com"
    assert row["reason"] == "sock puppet"
    await AdminVotesState.void.fn(page, {"vote_id": str(cast.id), "reason": "again"})
    assert page.error == "This vote is voided already."

    await AdminVotesState.show_movie.fn(page, str(movies[0]), "The Godfather")
    assert page.votes == [] and page.movie_title == "The Godfather"
    await AdminVotesState.all_movies.fn(page)
    await AdminVotesState.set_flagged.fn(page, True)
    assert page.total == 1

    await AdminVotesState.restore.fn(page, {"vote_id": str(cast.id)})
    assert page.message == "The vote for Spirited Away counts again."
    assert not await voided(db, cast.id) and not page.votes[0]["voided"]

    await admin.revoke_admin(email=boss.email, actor=admin.CLI, db=db)
    await AdminVotesState.void.fn(page, {"vote_id": str(cast.id), "reason": "again"})
    assert not page.allowed and not await voided(db, cast.id)  # the role is read each time


async def test_an_admin_sees_each_publication_s_check_and_a_member_does_not(db, make_user, movies):
    """The "Published results" section: each month and whether the live tallies agreed with
    its ballots, with the differences; read for a verified admin only, on every handler."""
    people = [await make_user() for _ in range(3)]
    for person in people:
        await cast_vote(
            user_id=person.id, movie_id=movies[0], now=datetime(2026, 11, 5, tzinfo=UTC)
        )
    await fold_vote_deltas(db=db)
    async with db.transaction() as conn:  # a tally gone wrong
        await conn.execute(
            sa.text("UPDATE monthly_tallies SET votes = votes + 5 WHERE movie_id = :m"),
            {"m": movies[0]},
        )
    root = get_root()
    await results.publish_month(
        period=date(2026, 11, 1),
        now=datetime(2026, 12, 3, tzinfo=UTC),
        settings=root.settings,
        db=db,
        dispatcher=root.dispatcher,
    )
    member = await page_of(AdminVotesState, await session_token(people[0]))
    await AdminVotesState.load.fn(member)
    assert not member.allowed and member.results == []

    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.CLI, db=db)
    page = await page_of(
        AdminVotesState, await session_token(await accounts.get_user(user_id=boss.id, db=db))
    )
    await AdminVotesState.load.fn(page)
    [november] = page.results
    assert november["month"] == "2026-11" and november["published_at"] == "2026-12-03 00:00"
    assert (november["total"], november["ballots"], november["match"]) == (3, 3, False)
    assert november["mismatches"] == [{"movie_id": str(movies[0]), "ballots": 3, "tallies": 8}]

    await admin.revoke_admin(email=boss.email, actor=admin.CLI, db=db)
    await AdminVotesState.set_flagged.fn(page, True)  # any handler reads the role again
    assert not page.allowed and page.results == []
