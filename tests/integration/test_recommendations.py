"""Recommendations served from the database: two taste clusters of members rating movies;
the model trained in the background (a child process), serving from the member's history as it
is now, hidden movies never shown, the cold start, the API and the pages' handlers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from reflex.state import State

from movievote.adapters.base import MovieData
from movievote.errors import InvalidInput, MovieNotFound
from movievote.models import Rating, RecommendationList, Vote, utcnow
from movievote.pages.movie import MovieState
from movievote.pages.movies import MoviesState
from movievote.recommend.service import Recommendations
from movievote.recommend.training import fit_in_process, fit_in_thread
from movievote.root import get_root
from movievote.services import accounts, admin, catalogue, ratings
from movievote.state import AuthState
from tests.conftest import cast_vote

ratings_t = Rating.__table__  # type: ignore[attr-defined]
votes_t = Vote.__table__  # type: ignore[attr-defined]
BOSS = admin.Actor(None, "boss@example.com")
A_FANS, B_FANS = range(6), range(6, 15)  # B has more fans: it is the more popular cluster


def movie(key: str) -> MovieData:
    return MovieData(
        source="reco",
        external_id=key,
        title=f"Movie {key}",
        original_title=f"Movie {key}",
        year=2000,
        genres=("Drama",),
        overview="",
        translations={"pt-BR": (f"Filme {key}", "")},
    )


@pytest.fixture
async def catalogue_ab(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Movies A1-A5 and B1-B5 (and C1, which nobody rates): id by key."""
    keys = [f"A{i}" for i in range(1, 6)] + [f"B{i}" for i in range(1, 6)] + ["C1"]
    await catalogue.upsert_movies([movie(k) for k in keys], db=db)
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT external_id, id FROM movies"))
        return {key: movie_id for key, movie_id in rows}


async def members(db, n: int, prefix: str = "fan") -> list[int]:  # type: ignore[no-untyped-def]
    """n verified members, inserted directly (no bcrypt)."""
    now = utcnow()
    rows = [
        {
            "email": f"{prefix}{i}@example.com",
            "display_name": f"{prefix} {i}",
            "password_hash": "x",
            "notification_channel": "in_app",
            "is_admin": False,
            "created_at": now,
            "email_verified_at": now,
        }
        for i in range(n)
    ]
    users = sa.table("users", *(sa.column(name) for name in rows[0]))
    async with db.transaction() as conn:
        await conn.execute(sa.insert(users), rows)
        found = await conn.scalars(
            sa.text("SELECT id FROM users WHERE email LIKE :p ORDER BY id"), {"p": f"{prefix}%"}
        )
        return list(found)


async def give(db, rows: list[tuple[int, int, float]]) -> None:  # type: ignore[no-untyped-def]
    """Ratings (member, movie, stars), inserted directly."""
    now = utcnow()
    async with db.transaction() as conn:
        await conn.execute(
            sa.insert(ratings_t),
            [
                {
                    "user_id": u,
                    "movie_id": m,
                    "half_stars": round(s * 2),
                    "created_at": now,
                    "updated_at": now,
                }
                for u, m, s in rows
            ],
        )


@pytest.fixture
async def clusters(db, catalogue_ab) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Members who like the A movies (and rate the B movies low, or not at all) and members
    who like the B movies; returns the movie ids by key and the members."""
    fans = await members(db, len(A_FANS) + len(B_FANS))
    a = [catalogue_ab[f"A{i}"] for i in range(1, 6)]
    b = [catalogue_ab[f"B{i}"] for i in range(1, 6)]
    rows = [(fans[i], m, 4.5) for i in A_FANS for m in a]
    rows += [(fans[i], m, 4.0) for i in B_FANS for m in b]
    rows += [(fans[0], b[0], 1.0)]  # an A fan saw a B movie and did not like it
    await give(db, rows)
    return {"ids": catalogue_ab, "a": a, "b": b, "fans": fans}


def recommender(fit: Any = fit_in_thread, retrain_after: int = 5) -> Recommendations:
    """The test root's recommender, fitting in a thread unless told (the child process is
    what `test_the_model_is_trained_in_a_child_process...` tests)."""
    recommendations = get_root().recommendations
    recommendations.fit = fit
    recommendations.retrain_after = retrain_after
    return recommendations


async def a_member(db, liked: list[int]) -> int:  # type: ignore[no-untyped-def]
    [member] = await members(db, 1, prefix="member")
    await give(db, [(member, m, 5.0) for m in liked])
    return member


def kinds(found: RecommendationList) -> list[str]:
    return [item.reason.kind for item in found.items]


async def test_a_member_who_liked_a_gets_a_movies_because_of_an_a_movie(db, clusters):
    """Through the real training: a child process fits EASE."""
    a = clusters["a"]
    member = await a_member(db, a[:3])
    recommendations = recommender(fit=fit_in_process)
    trained = await recommendations.train()
    assert recommendations.state == "ready" and trained.members == 16
    found = await recommendations.recommend_for(user_id=member, n=2, language="pt-BR")
    assert {item.movie.id for item in found.items} == set(a[3:])
    key_of = {movie_id: key for key, movie_id in clusters["ids"].items()}
    for item in found.items:
        assert item.reason.kind == "liked"
        assert item.reason.movie_id in a[:3]
        assert item.reason.title == f"Filme {key_of[item.reason.movie_id]}"  # pt-BR
        assert item.movie.title == f"Filme {key_of[item.movie.id]}"
    # asked for more: after the two A movies, what the model has no reason for comes from the
    # month's most voted (none) and the top rated (the B movies, all rated, none seen)
    more = await recommendations.recommend_for(user_id=member, n=10)
    assert {i.movie.id for i in more.items[:2]} == set(a[3:])
    assert all(k in ("liked", "top_rated") for k in kinds(more))
    assert not {i.movie.id for i in more.items} & set(a[:3])  # never one they rated


async def test_a_new_rating_changes_the_list_at_once_without_training(db, clusters, make_user):
    a, b = clusters["a"], clusters["b"]
    user = await make_user()
    root = get_root()
    for m in a[:2]:
        await ratings.rate(
            user_id=user.id,
            movie_id=m,
            stars=5,
            session_id=None,
            settings=root.settings,
            folder=root.ratings,
            db=db,
        )
    recommendations = recommender()
    await recommendations.train()
    before = await recommendations.recommend_for(user_id=user.id, n=3)
    assert [i.movie.id for i in before.items if i.reason.kind == "liked"]
    assert {i.movie.id for i in before.items} <= set(a[2:])
    # the member loves a B movie now: the next request counts it, before any training
    await ratings.rate(
        user_id=user.id,
        movie_id=b[1],
        stars=5,
        session_id=None,
        settings=root.settings,
        folder=root.ratings,
        db=db,
    )
    after = await recommendations.recommend_for(user_id=user.id, n=10)
    assert recommendations.trainings == 1
    found = {i.movie.id: i.reason for i in after.items}
    assert b[1] not in found  # rated now: never recommended back
    because_b = [m for m, reason in found.items() if reason.movie_id == b[1]]
    assert because_b and set(because_b) <= set(b)
    assert found[because_b[0]].title == "Movie B2"


async def test_a_vote_is_a_strong_reason(db, clusters):
    b = clusters["b"]
    [member] = await members(db, 1, prefix="voter")
    await cast_vote(user_id=member, movie_id=b[0])
    recommendations = recommender()
    await recommendations.train()
    found = await recommendations.recommend_for(user_id=member, n=4)
    assert {i.movie.id for i in found.items} == set(b[1:])
    assert {(i.reason.kind, i.reason.movie_id) for i in found.items} == {("voted", b[0])}


async def test_a_voided_vote_is_no_reason(db, clusters):
    b = clusters["b"]
    [member] = await members(db, 1, prefix="voter")
    vote = await cast_vote(user_id=member, movie_id=b[0])
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(votes_t).where(votes_t.c.id == vote.id).values(voided_at=utcnow())
        )
    recommendations = recommender()
    await recommendations.train()
    found = await recommendations.recommend_for(user_id=member, n=3)
    assert "voted" not in kinds(found) and "liked" not in kinds(found)  # cold again


async def test_a_hidden_movie_never_appears_nor_is_a_reason(db, clusters):
    a = clusters["a"]
    member = await a_member(db, a[:3])
    recommendations = recommender()
    await recommendations.train()
    await admin.hide_movie(movie_id=a[3], reason="duplicate", actor=BOSS, db=db)
    await admin.hide_movie(movie_id=a[0], reason="duplicate", actor=BOSS, db=db)
    found = await recommendations.recommend_for(user_id=member, n=10)
    shown = {i.movie.id for i in found.items}
    assert a[3] not in shown and a[0] not in shown
    assert a[4] in shown
    assert all(i.reason.movie_id != a[0] for i in found.items)
    similar = await recommendations.similar_to(movie_id=a[1], n=10)
    assert similar.items and not {m.id for m in similar.items} & {a[0], a[3]}
    of_hidden = await recommendations.similar_to(movie_id=a[0], n=10)  # its page still opens
    assert of_hidden.items and not {m.id for m in of_hidden.items} & {a[0], a[3]}
    cold = await recommendations.recommend_for(
        user_id=(await members(db, 1, prefix="cold"))[0], n=20
    )
    assert not {i.movie.id for i in cold.items} & {a[0], a[3]}


async def test_a_cold_member_gets_the_months_most_voted_then_the_top_rated(db, catalogue_ab):
    ids = catalogue_ab
    voters = await members(db, 3, prefix="voter")
    for voter, key in zip(voters, ["B3", "B3", "C1"], strict=True):
        await cast_vote(user_id=voter, movie_id=ids[key])
    raters = await members(db, 4, prefix="rater")
    await give(db, [(r, ids["A2"], 5.0) for r in raters] + [(r, ids["A1"], 4.0) for r in raters])
    await give(db, [(raters[0], ids["B3"], 5.0)])
    await ratings.fold_rating_deltas(db=db)
    await get_root().subject.settle()
    recommendations = recommender()
    await recommendations.train()
    [cold] = await members(db, 1, prefix="cold")
    found = await recommendations.recommend_for(user_id=cold, n=4, language="pt-BR")
    assert [(i.movie.id, i.reason.kind) for i in found.items] == [
        (ids["B3"], "most_voted"),
        (ids["C1"], "most_voted"),
        (ids["A2"], "top_rated"),
        (ids["A1"], "top_rated"),
    ]
    assert found.items[0].movie.title == "Filme B3"
    assert all(i.reason.movie_id is None and i.reason.title is None for i in found.items)
    # before any model, a member with a history gets the same lists, less what they have seen
    fresh = Recommendations(
        db=db, cache=get_root().cache, zone=get_root().settings.zone, retrain_after=5
    )
    assert fresh.state == "training"
    served = await fresh.recommend_for(user_id=voters[0], n=3)
    assert [i.movie.id for i in served.items] == [ids["C1"], ids["A2"], ids["A1"]]
    assert served.state == "training" and served.trained_at is None


async def test_similar_before_any_model_and_with_no_data(db, catalogue_ab):
    fresh = Recommendations(
        db=db,
        cache=get_root().cache,
        zone=get_root().settings.zone,
        retrain_after=5,
        fit=fit_in_thread,
    )
    waiting = await fresh.similar_to(movie_id=catalogue_ab["A1"])
    assert (waiting.items, waiting.state) == ([], "training")
    await fresh.train()  # nobody has rated or voted
    empty = await fresh.similar_to(movie_id=catalogue_ab["A1"])
    assert (empty.items, empty.state) == ([], "no_data")
    assert empty.trained_at is not None
    with pytest.raises(MovieNotFound):
        await fresh.similar_to(movie_id=999_999)
    with pytest.raises(InvalidInput):
        await fresh.similar_to(movie_id=catalogue_ab["A1"], n=0)


async def test_training_runs_at_start_up_and_again_after_n_new_ratings(db, clusters):
    a, b = clusters["a"], clusters["b"]
    recommendations = recommender(retrain_after=3)
    running = asyncio.create_task(recommendations.run(interval_seconds=3600))
    try:
        first = await recommendations.trained(1)  # at start-up, without being asked
        assert first.interactions == len(A_FANS) * 5 + len(B_FANS) * 5 + 1
        latecomers = await members(db, 3, prefix="late")
        await give(db, [(latecomers[0], a[0], 5.0), (latecomers[1], b[0], 5.0)])
        assert not await recommendations.check()  # 2 new: not yet
        await cast_vote(user_id=latecomers[2], movie_id=a[1])  # a vote counts too
        assert await recommendations.check()  # 3 new
        assert recommendations.trainings == 2
        assert recommendations.current is not None
        assert recommendations.current.interactions == first.interactions + 3
        assert not await recommendations.check()  # nothing new since
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_the_background_loop_retrains_when_enough_has_arrived(db, clusters):
    recommendations = recommender(retrain_after=2)
    running = asyncio.create_task(recommendations.run(interval_seconds=0.05))
    try:
        await recommendations.trained(1)
        latecomers = await members(db, 2, prefix="late")
        await give(db, [(m, clusters["a"][0], 4.0) for m in latecomers])
        second = await recommendations.trained(2, timeout_seconds=20)
        assert second.members == 17
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_a_serving_process_trains_at_start_up(db, clusters):
    """`root.run_background` (every serving process's lifespan task) trains the model, in a
    child process, without a request asking."""
    from movievote.root import run_background

    root = get_root()
    running = asyncio.create_task(run_background(root))
    try:
        trained = await root.recommendations.trained(1)
        assert trained.model is not None and root.recommendations.state == "ready"
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_a_failed_training_keeps_the_model_in_service(db, clusters):
    recommendations = recommender()
    served = await recommendations.train()

    async def broken(trainer: Any, interactions: Any) -> Any:
        raise RuntimeError("out of memory")

    recommendations.fit = broken
    with pytest.raises(RuntimeError):
        await recommendations.train()
    assert recommendations.current is served and recommendations.failures == 1


# --- the API ----------------------------------------------------------------------------


async def test_api_recommendations_need_a_token(api):
    refused = await api.get("/api/recommendations")
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"
    forged = await api.get("/api/recommendations", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401


async def test_api_recommendations_for_a_member(api, login, db, clusters):
    a = clusters["a"]
    auth = await login("reader@example.com")
    user = await accounts.get_user_by_email(email="reader@example.com", db=db)
    assert user is not None
    await give(db, [(user.id, m, 5.0) for m in a[:3]])
    await recommender().train()
    answer = await api.get(
        "/api/recommendations", params={"limit": 2, "language": "pt-BR"}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["state"] == "ready" and body["trained_at"]
    assert {item["movie"]["id"] for item in body["items"]} == set(a[3:])
    first = body["items"][0]
    assert set(first["movie"]) >= {"id", "title", "year", "genres", "poster_url", "rating_count"}
    assert first["movie"]["title"].startswith("Filme A")
    assert first["reason"]["kind"] == "liked"
    assert first["reason"]["movie_id"] in a[:3]
    assert first["reason"]["title"].startswith("Filme A")
    assert (await api.get("/api/recommendations?limit=0", headers=auth)).status_code == 422
    assert (await api.get("/api/recommendations?limit=51", headers=auth)).status_code == 422


async def test_api_similar_is_public(api, db, clusters):
    a = clusters["a"]
    before = await api.get(f"/api/movies/{a[0]}/similar")
    assert before.status_code == 200
    assert before.json() == {"movie_id": a[0], "items": [], "state": "training", "trained_at": None}
    await recommender().train()
    answer = await api.get(f"/api/movies/{a[0]}/similar", params={"limit": 4})
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "ready"
    assert {m["id"] for m in body["items"]} == set(a[1:])
    assert (await api.get("/api/movies/999999/similar")).status_code == 404
    assert (await api.get("/api/movies/999999/similar")).json()["code"] == "movie_not_found"
    assert (await api.get(f"/api/movies/{a[0]}/similar?limit=0")).status_code == 422


async def test_the_api_documents_both_routes(api):
    spec = (await api.get("/api/openapi.json")).json()
    mine = spec["paths"]["/api/recommendations"]["get"]
    assert "recommendations" in mine["tags"] and "401" in mine["responses"]
    similar = spec["paths"]["/api/movies/{movie_id}/similar"]["get"]
    assert "404" in similar["responses"] and "security" not in similar
    kinds_doc = spec["components"]["schemas"]["RecommendationReason"]["properties"]["kind"]
    assert set(kinds_doc["enum"]) == {"liked", "voted", "most_voted", "top_rated"}


# --- the pages' handlers ----------------------------------------------------------------


async def movies_page(token: str = "") -> Any:
    """One browser's fresh state tree on the movies page, logged in with `token`."""
    tree = State(_reflex_internal_init=True)
    page = tree.get_substate(MoviesState.get_full_name().split(".")[1:])
    (await page.get_state(AuthState)).token = token
    return page


async def test_the_movies_page_shows_a_member_for_you_with_reasons(db, clusters, make_user):
    a = clusters["a"]
    user = await make_user()
    await give(db, [(user.id, m, 5.0) for m in a[:3]])
    await recommender().train()
    root = get_root()
    token = (await accounts.open_session(user=user, db=db, settings=root.settings)).token
    page = await movies_page(token)
    await MoviesState.load.fn(page)
    assert page.for_you, "a member with ratings sees For you"
    first = page.for_you[0]
    assert int(first["id"]) in a[3:]
    assert first["reason_kind"] == "liked"
    assert first["reason_title"] in {"Movie A1", "Movie A2", "Movie A3"}
    assert {"title", "poster_url", "year"} <= set(first)
    assert not {int(card["id"]) for card in page.for_you} & set(a[:3])
    # voting takes the movie voted for out of the row at once
    await MoviesState.vote.fn(page, first["id"])
    assert first["id"] not in {card["id"] for card in page.for_you}
    # a visitor (or a forged token) sees no row
    visitor = await movies_page()
    await MoviesState.load.fn(visitor)
    assert visitor.for_you == []
    forged = await movies_page(token[:-4] + "AAAA")
    await MoviesState.load.fn(forged)
    assert forged.for_you == []


async def test_the_movie_page_shows_members_who_liked_this_also_liked(db, clusters):
    a = clusters["a"]
    page = State(_reflex_internal_init=True).get_substate(MovieState.get_full_name().split(".")[1:])
    await MovieState._open(page, a[0])
    assert page.also_liked == []  # no model yet: nothing shown
    await recommender().train()
    await MovieState._open(page, a[0])
    assert {int(card["id"]) for card in page.also_liked} >= set(a[1:])
    assert a[0] not in {int(card["id"]) for card in page.also_liked}
    assert page.also_liked[0]["title"].startswith("Movie A")


async def test_the_feedback_is_read_in_chunks_whole_and_in_order(db, clusters):
    """Many short statements, each one packed string: every row once, the watermark last."""
    from movievote.services import feedback

    chunks = [chunk async for chunk in feedback.rating_chunks(db=db, rows=7)]
    rows = [tuple(int(v) for v in row) for _, array in chunks for row in array]
    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(
                    ratings_t.c.id,
                    ratings_t.c.user_id,
                    ratings_t.c.movie_id,
                    ratings_t.c.half_stars,
                ).order_by(ratings_t.c.id)
            )
        ).all()
    assert rows == [tuple(r)[1:] for r in stored]
    assert chunks[-1][0] == stored[-1].id and len(chunks) == -(-len(stored) // 7)
    assert [chunk async for chunk in feedback.vote_chunks(db=db)] == []


async def test_listed_movies_reads_them_as_get_movie_does_less_the_hidden(db, movies):
    await admin.hide_movie(movie_id=movies[1], reason="duplicate", actor=BOSS, db=db)
    listed = await catalogue.listed_movies(movie_ids=[*movies, 999_999], language="pt-BR", db=db)
    assert set(listed) == set(movies) - {movies[1]}
    for movie_id, movie in listed.items():
        assert movie == await catalogue.get_movie(movie_id=movie_id, language="pt-BR", db=db)
    assert listed[movies[2]].genres == ["Comedy", "Drama", "Thriller"]
    assert await catalogue.listed_movies(movie_ids=[], db=db) == {}


async def test_training_reads_the_feedback_as_implicit_feedback_weighs_it(db, clusters):
    from movievote.recommend import build_interactions, implicit_feedback
    from movievote.recommend.service import read_interactions
    from movievote.services.feedback import Watermark

    a, b = clusters["a"], clusters["b"]
    [voter] = await members(db, 1, prefix="voter")
    await give(db, [(voter, b[0], 2.0), (voter, a[0], 2.5), (voter, a[1], 3.0)])
    vote = await cast_vote(user_id=voter, movie_id=b[0])  # rated low, then voted for: the vote
    interactions, watermark = await read_interactions(db=db)
    async with db.engine.connect() as conn:
        rated = (
            await conn.execute(
                sa.select(
                    ratings_t.c.id,
                    ratings_t.c.user_id,
                    ratings_t.c.movie_id,
                    ratings_t.c.half_stars,
                )
            )
        ).all()
    expected = build_interactions(
        implicit_feedback(ratings=[(u, m, h / 2) for _, u, m, h in rated], votes=[(voter, b[0])])
    )
    assert interactions is not None
    assert (interactions.matrix != expected.matrix).nnz == 0
    assert list(interactions.movie_ids) == list(expected.movie_ids)
    assert list(interactions.member_ids) == list(expected.member_ids)
    assert watermark == Watermark(rating_id=max(r.id for r in rated), vote_id=vote.id)


async def test_top_rated_ids_are_the_top_rated_pages_order_less_the_hidden(db, clusters):
    extra = await members(db, 3, prefix="critic")
    await give(db, [(c, m, 5.0) for c in extra for m in clusters["b"][:2]])
    await ratings.fold_rating_deltas(db=db)
    page = await catalogue.list_movies(sort="top_rated", page_size=20, db=db)
    rated = [m.id for m in page.items if m.rating_count]
    assert await catalogue.top_rated_ids(limit=20, db=db) == rated
    await admin.hide_movie(movie_id=rated[0], reason="duplicate", actor=BOSS, db=db)
    assert await catalogue.top_rated_ids(limit=3, db=db) == rated[1:4]
