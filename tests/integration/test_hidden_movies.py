"""Hiding a movie: out of the public catalogue and the vote (the vote statement itself refuses
it), the votes already cast stay in the ranking; unhiding puts it back. Both are admin actions
with their audit row; a member's request or forged page event changes nothing."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from movievote.cli import set_admin
from movievote.errors import InvalidInput, MovieHidden, MovieNotFound
from movievote.models import Movie
from movievote.pages.admin import AdminState
from movievote.pages.movies import MoviesState
from movievote.periods import current_period
from movievote.root import get_root
from movievote.services import admin, catalogue, ranking
from tests.conftest import cast_vote
from tests.integration.pages import page_of, session_token

movies_t = Movie.__table__  # type: ignore[attr-defined]
BOSS = admin.Actor(None, "boss@example.com")
HIDE_ROUTES = [
    ("GET", "/api/admin/movies", None),
    ("GET", "/api/admin/movies?q=god&page=1", None),
    ("POST", "/api/admin/movies/1/hide", {"reason": "duplicate"}),
    ("POST", "/api/admin/movies/1/unhide", {}),
]


async def hidden_at(db, movie_id: int):  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        return await conn.scalar(sa.select(movies_t.c.hidden_at).where(movies_t.c.id == movie_id))


async def listed(db, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    return [m.id for m in (await catalogue.list_movies(db=db, **kw)).items]


async def test_hide_takes_a_movie_out_of_the_catalogue_and_the_vote_and_unhide_restores(
    db, movies, make_user
):
    godfather, spirited, parasite, city, amelie = movies
    early, late = await make_user(), await make_user()
    await cast_vote(user_id=early.id, movie_id=spirited)

    hidden = await admin.hide_movie(movie_id=spirited, reason="wrong cut", actor=BOSS, db=db)
    assert hidden.hidden and hidden.hidden_at and hidden.title == "Spirited Away"
    assert spirited not in await listed(db)
    assert (await catalogue.list_movies(db=db)).total == 4
    assert await listed(db, q="spirited") == [] and await listed(db, year=2001) == [amelie]
    assert await listed(db, sort="votes", period=current_period(get_root().settings.zone)) == [
        amelie,
        city,
        parasite,
        godfather,
    ]  # by votes: the hidden movie's one vote does not bring it back
    genres = await catalogue.list_genres(db=db)
    assert "Animation" not in genres and "Fantasy" not in genres and "Drama" in genres
    # still readable by id (a past vote shows its title), and says it is hidden
    movie = await catalogue.get_movie(movie_id=spirited, db=db)
    assert movie.hidden and movie.title == "Spirited Away"
    assert not (await catalogue.get_movie(movie_id=city, db=db)).hidden

    with pytest.raises(MovieHidden) as refused:
        await cast_vote(user_id=late.id, movie_id=spirited)
    assert refused.value.code == "movie_hidden"
    # the vote already cast stays and still counts
    await get_root().subject.settle()
    board = await ranking.compute_ranking(current_period(get_root().settings.zone), db=db)
    assert [(e.movie.id, e.votes) for e in board.items] == [(spirited, 1)]

    # hiding a hidden movie changes and records nothing
    again = await admin.hide_movie(movie_id=spirited, reason="again", actor=BOSS, db=db)
    assert again.hidden_at == hidden.hidden_at
    shown = await admin.unhide_movie(movie_id=spirited, actor=BOSS, db=db)
    assert not shown.hidden and await hidden_at(db, spirited) is None
    assert not (await admin.unhide_movie(movie_id=spirited, actor=BOSS, db=db)).hidden
    assert spirited in await listed(db) and "Animation" in await catalogue.list_genres(db=db)
    await cast_vote(user_id=late.id, movie_id=spirited)

    log = (await admin.audit_entries(db=db)).items
    assert [(e.action, e.target_type, e.target_id, e.actor_label) for e in log] == [
        ("movie.unhide", "movie", str(spirited), "boss@example.com"),
        ("movie.hide", "movie", str(spirited), "boss@example.com"),
    ]
    unhide, hide = log
    assert hide.reason == "wrong cut" and hide.before == {
        "title": "Spirited Away",
        "hidden_at": None,
    }
    assert hide.after == {"title": "Spirited Away", "hidden_at": hidden.hidden_at.isoformat()}
    assert unhide.before == hide.after and unhide.after == hide.before and unhide.reason is None


async def test_hiding_needs_a_reason_and_a_known_movie(db, movies):
    with pytest.raises(InvalidInput, match="reason for hiding"):
        await admin.hide_movie(movie_id=movies[0], reason="   ", actor=BOSS, db=db)
    with pytest.raises(MovieNotFound):
        await admin.hide_movie(movie_id=999_999, reason="gone", actor=BOSS, db=db)
    with pytest.raises(MovieNotFound):
        await admin.unhide_movie(movie_id=999_999, actor=BOSS, db=db)
    assert await hidden_at(db, movies[0]) is None
    assert (await admin.audit_entries(db=db)).total == 0


async def test_admins_and_voters_racing_on_a_hide_one_change_and_no_vote_after_it(
    db, movies, make_user
):
    target = movies[0]
    voters = [await make_user() for _ in range(8)]
    admins = [admin.Actor(None, f"admin{i}@example.com") for i in range(4)]
    jobs = [admin.hide_movie(movie_id=target, reason="r", actor=a, db=db) for a in admins]
    jobs += [cast_vote(user_id=v.id, movie_id=target) for v in voters]
    done = await asyncio.gather(*jobs, return_exceptions=True)
    hides, votes = done[: len(admins)], done[len(admins) :]
    assert all(not isinstance(h, BaseException) and h.hidden for h in hides), hides
    assert all(not isinstance(v, BaseException) or isinstance(v, MovieHidden) for v in votes)
    cast = [v for v in votes if not isinstance(v, BaseException)]
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM audit_log")) == 1
        assert await conn.scalar(sa.text("SELECT count(*) FROM votes")) == len(cast)
    late = await make_user()  # once the hide has committed, every vote is refused
    with pytest.raises(MovieHidden):
        await cast_vote(user_id=late.id, movie_id=target)


async def test_the_admin_listing_holds_hidden_movies_and_searches_titles(db, movies):
    godfather, spirited, *_ = movies
    await admin.hide_movie(movie_id=spirited, reason="dup", actor=BOSS, db=db)
    page = await admin.list_movies(db=db)
    assert page.total == 5
    assert [(m.title, m.hidden) for m in page.items][:3] == [
        ("Amélie", False),
        ("City of God", False),
        ("Parasite", False),
    ]
    found = await admin.list_movies(q="千と千尋", db=db)  # the original title too
    assert [(m.id, m.hidden) for m in found.items] == [(spirited, True)]
    assert [m.id for m in (await admin.list_movies(q="GODF", db=db)).items] == [godfather]
    assert (await admin.list_movies(q="100%", db=db)).total == 0  # no wildcard


async def _admin_headers(api, login) -> dict[str, str]:  # type: ignore[no-untyped-def]
    await login("boss@example.com")
    await set_admin("grant", "boss@example.com", db=get_root().db)
    response = await api.post(
        "/api/token", data={"username": "boss@example.com", "password": "password123"}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_the_api_hides_and_unhides_for_an_admin_only(api, login, movies, db):
    godfather, spirited, *_ = movies
    member = await login("member@example.com")
    voter = await login("voter@example.com")
    for method, path, body in HIDE_ROUTES:
        assert (await api.request(method, path, json=body)).status_code == 401, path
        refused = await api.request(method, path, json=body, headers=member)
        assert refused.status_code == 403 and refused.json()["code"] == "admin_required", path
    assert await hidden_at(db, godfather) is None
    boss = await _admin_headers(api, login)
    assert (await api.post("/api/vote/" + str(spirited), headers=voter)).status_code == 201

    blank = await api.post(
        f"/api/admin/movies/{godfather}/hide", json={"reason": " "}, headers=boss
    )
    assert blank.status_code == 422
    missing = await api.post("/api/admin/movies/999999/hide", json={"reason": "x"}, headers=boss)
    assert missing.status_code == 404 and missing.json()["code"] == "movie_not_found"
    for movie_id in (godfather, spirited):
        hidden = await api.post(
            f"/api/admin/movies/{movie_id}/hide", json={"reason": "rights"}, headers=boss
        )
        assert hidden.status_code == 200, hidden.text
        assert hidden.json()["hidden"] is True and hidden.json()["hidden_at"]
    listing = (await api.get("/api/movies?page_size=100")).json()
    assert godfather not in [m["id"] for m in listing["items"]] and listing["total"] == 3
    one = (await api.get(f"/api/movies/{spirited}")).json()
    assert one["hidden"] is True and one["title"] == "Spirited Away"

    refused = await api.post(f"/api/vote/{godfather}", headers=member)
    assert refused.status_code == 409 and refused.json()["code"] == "movie_hidden"
    portuguese = await api.post(
        f"/api/vote/{godfather}", headers={**member, "Accept-Language": "pt-BR"}
    )
    assert portuguese.json()["detail"] == "Este filme foi retirado da votação. Escolha outro."
    board = (await api.get("/api/ranking")).json()
    assert [(e["movie"]["id"], e["votes"]) for e in board["items"]] == [(spirited, 1)]

    admin_view = (await api.get("/api/admin/movies?q=god", headers=boss)).json()
    assert [(m["title"], m["hidden"]) for m in admin_view["items"]] == [
        ("City of God", False),
        ("The Godfather", True),
    ]
    shown = await api.post(f"/api/admin/movies/{godfather}/unhide", headers=boss)
    assert shown.status_code == 200 and shown.json()["hidden"] is False
    assert (await api.post(f"/api/vote/{godfather}", headers=member)).status_code == 201
    actions = [
        e["action"] for e in (await api.get("/api/admin/audit", headers=boss)).json()["items"]
    ]
    assert actions == ["movie.unhide", "movie.hide", "movie.hide", "admin.grant"]


async def test_the_admin_page_hides_for_an_admin_only_and_the_grid_loses_the_movie(
    db, movies, make_user
):
    godfather, *_ = movies
    member = await make_user()
    forged = await page_of(AdminState, await session_token(member))
    await AdminState.load.fn(forged)
    assert not forged.allowed and forged.movies == []
    # events a member's browser could send whatever the page shows
    await AdminState.hide.fn(forged, {"movie_id": str(godfather), "reason": "spam"})
    await AdminState.search_movies.fn(forged, "god")
    assert await hidden_at(db, godfather) is None and forged.movies == []
    assert (await admin.audit_entries(db=db)).total == 0

    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.CLI, db=db)
    page = await page_of(AdminState, await session_token(boss))
    await AdminState.load.fn(page)
    assert page.allowed and page.movie_total == 5 and len(page.movies) == 5
    await AdminState.search_movies.fn(page, "godfather")
    assert [m["title"] for m in page.movies] == ["The Godfather"]
    await AdminState.hide.fn(page, {"movie_id": str(godfather), "reason": ""})
    assert page.error and await hidden_at(db, godfather) is None  # a hide needs its reason
    await AdminState.hide.fn(page, {"movie_id": str(godfather), "reason": "rights expired"})
    assert page.message == "The Godfather is hidden: no one can vote for it."
    assert page.movies[0]["hidden"] and await hidden_at(db, godfather) is not None
    assert page.audit[0]["action"] == "movie.hide" and page.audit[0]["reason"] == "rights expired"

    grid = await page_of(MoviesState, await session_token(member))
    await MoviesState.load.fn(grid)
    assert str(godfather) not in [m["id"] for m in grid.movies] and grid.total == 4
    await MoviesState.vote.fn(grid, str(godfather))  # a vote sent for it anyway
    assert "withdrawn" in grid.vote_error and not grid.has_voted

    await AdminState.unhide.fn(page, {"movie_id": str(godfather)})
    assert page.message == "The Godfather is back in the vote." and not page.movies[0]["hidden"]
    await MoviesState.load.fn(grid)
    assert str(godfather) in [m["id"] for m in grid.movies]
    assert page.audit_total == 3  # grant, hide, unhide

    await admin.revoke_admin(email=boss.email, actor=admin.CLI, db=db)
    await AdminState.hide.fn(page, {"movie_id": str(godfather), "reason": "again"})
    assert not page.allowed and await hidden_at(db, godfather) is None
