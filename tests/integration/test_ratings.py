"""Ratings: 0.5-5 stars in half steps and an optional review, changeable and removable; the
database holds the rules; the tallies (deltas folded in) agree with the ratings, also when
everyone rates one movie at once; "top rated" is the Bayesian order."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
import sqlalchemy as sa

from movievote.errors import (
    AccountBlocked,
    EmailNotVerified,
    InvalidInput,
    InvalidToken,
    MovieHidden,
    MovieNotFound,
)
from movievote.models import Rating, RatingTally, RatingTotal, utcnow
from movievote.root import get_root
from movievote.services import accounts, admin, catalogue, ratings
from tests.conftest import IS_POSTGRES

ratings_t = Rating.__table__  # type: ignore[attr-defined]
tallies_t = RatingTally.__table__  # type: ignore[attr-defined]
totals_t = RatingTotal.__table__  # type: ignore[attr-defined]
BOSS = admin.Actor(None, "boss@example.com")


async def rate(**kw: Any) -> ratings.Rated:
    """`ratings.rate` with the test root's collaborators and no session (a trusted caller)."""
    root = get_root()
    kw.setdefault("session_id", None)
    kw.setdefault("settings", root.settings)
    return await ratings.rate(folder=root.ratings, db=root.db, **kw)


async def unrate(**kw: Any) -> bool:
    root = get_root()
    kw.setdefault("session_id", None)
    return await ratings.remove(folder=root.ratings, db=root.db, settings=root.settings, **kw)


async def folded() -> None:
    """Every rating so far in the tallies (the folder's own fold, then any stragglers)."""
    assert await get_root().ratings.caught_up()
    await ratings.fold_rating_deltas(db=get_root().db)


async def tallies(db) -> dict[int, tuple[int, int]]:  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(tallies_t.c.movie_id, tallies_t.c.ratings, tallies_t.c.half_stars)
        )
        return {m: (n, s) for m, n, s in rows if n}


async def truth(db) -> dict[int, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """What the tallies must say: a GROUP BY over the ratings."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                ratings_t.c.movie_id, sa.func.count(), sa.func.sum(ratings_t.c.half_stars)
            ).group_by(ratings_t.c.movie_id)
        )
        return {m: (n, int(s)) for m, n, s in rows}


async def bulk_users(db, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """n verified members, inserted directly (no bcrypt): many raters, quickly."""
    now = utcnow()
    rows = [
        {
            "email": f"rater{i}@example.com",
            "display_name": f"Rater {i}",
            "password_hash": "x",
            "notification_channel": "in_app",
            "is_admin": False,
            "created_at": now,
            "email_verified_at": now,
        }
        for i in range(n)
    ]
    users = sa.table(
        "users",
        *(sa.column(name) for name in rows[0]),
    )
    async with db.transaction() as conn:
        await conn.execute(sa.insert(users), rows)
        found = await conn.scalars(
            sa.text("SELECT id FROM users WHERE email LIKE 'rater%' ORDER BY id")
        )
        return list(found)


@pytest.mark.parametrize(
    ("stars", "review", "field"),
    [
        (7, None, "stars"),
        (0.3, None, "stars"),
        (0, None, "stars"),
        (5.5, None, "stars"),
        (-1, None, "stars"),
        (float("nan"), None, "stars"),
        (float("inf"), None, "stars"),
        (True, None, "stars"),
        (4, "x" * 5000, "review"),
        (4, "x" * 1001, "review"),
        (4, "nul \x00 inside", "review"),
    ],
)
async def test_bad_stars_and_reviews_are_refused_with_the_reason(
    db, movies, make_user, stars, review, field
):
    user = await make_user()
    with pytest.raises(InvalidInput) as refused:
        await rate(user_id=user.id, movie_id=movies[0], stars=stars, review=review)
    assert refused.value.field == field
    assert await truth(db) == {}


async def test_every_half_step_from_half_a_star_to_five_is_taken(db, movies, make_user):
    user = await make_user()
    for half in range(1, 11):
        given = await rate(user_id=user.id, movie_id=movies[0], stars=half / 2)
        assert given.rating.stars == half / 2
    review = "y" * 1000  # the longest review there is
    assert (await rate(user_id=user.id, movie_id=movies[1], stars=4, review=review)).rating.review
    assert await truth(db) == {movies[0]: (1, 10), movies[1]: (1, 8)}


async def test_a_rating_is_changed_in_place_then_removed(db, movies, make_user):
    user = await make_user()
    first = await rate(user_id=user.id, movie_id=movies[0], stars=3.5, review="  Good.  ")
    assert first.created
    assert (first.rating.stars, first.rating.review) == (3.5, "Good.")
    changed = await rate(user_id=user.id, movie_id=movies[0], stars=4.5, review="")
    assert not changed.created
    assert changed.rating.created_at == first.rating.created_at
    assert changed.rating.updated_at > first.rating.updated_at
    assert (changed.rating.stars, changed.rating.review) == (4.5, None)
    mine = await ratings.rating_of(user_id=user.id, movie_id=movies[0], db=db)
    assert mine is not None and (mine.stars, mine.review) == (4.5, None)
    await folded()
    assert await tallies(db) == {movies[0]: (1, 9)}
    movie = await catalogue.get_movie(movie_id=movies[0], db=db)
    assert (movie.rating_count, movie.rating_average) == (1, 4.5)
    assert await unrate(user_id=user.id, movie_id=movies[0])
    assert not await unrate(user_id=user.id, movie_id=movies[0])  # nothing left: no error
    assert await ratings.rating_of(user_id=user.id, movie_id=movies[0], db=db) is None
    await folded()
    assert await tallies(db) == {}
    movie = await catalogue.get_movie(movie_id=movies[0], db=db)
    assert (movie.rating_count, movie.rating_average, movie.rating_score) == (0, None, None)
    with pytest.raises(MovieNotFound):
        await unrate(user_id=user.id, movie_id=999_999)
    with pytest.raises(MovieNotFound):
        await rate(user_id=user.id, movie_id=999_999, stars=3)


async def test_the_database_itself_refuses_what_the_service_does(db, movies, make_user):
    user = await make_user()
    now = utcnow()
    row = {"user_id": user.id, "movie_id": movies[0], "created_at": now, "updated_at": now}
    for bad in ({"half_stars": 0}, {"half_stars": 11}, {"half_stars": 4, "review": "x" * 1001}):
        with pytest.raises(sa.exc.IntegrityError):
            async with db.transaction() as conn:
                await conn.execute(sa.insert(ratings_t).values(**row, **bad))
    with pytest.raises(sa.exc.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(sa.insert(ratings_t).values(**row, half_stars=4, review=""))
    async with db.transaction() as conn:
        await conn.execute(sa.insert(ratings_t).values(**row, half_stars=4))
    with pytest.raises(sa.exc.IntegrityError):  # one rating per member and movie
        async with db.transaction() as conn:
            await conn.execute(sa.insert(ratings_t).values(**row, half_stars=6))
    with pytest.raises(sa.exc.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                sa.insert(totals_t).values(
                    id=2, ratings=0, half_stars=0, prior_mean=7, prior_weight=10
                )
            )


async def test_a_hidden_movie_cannot_be_rated_but_a_rating_of_it_can_be_removed(
    db, movies, make_user
):
    user = await make_user()
    await rate(user_id=user.id, movie_id=movies[1], stars=2)
    await admin.hide_movie(movie_id=movies[1], reason="wrong cut", actor=BOSS, db=db)
    with pytest.raises(MovieHidden) as refused:
        await rate(user_id=user.id, movie_id=movies[1], stars=5)
    assert refused.value.code == "movie_hidden"
    mine = await ratings.rating_of(user_id=user.id, movie_id=movies[1], db=db)
    assert mine is not None and mine.stars == 2  # unchanged
    assert await unrate(user_id=user.id, movie_id=movies[1])


async def test_blocked_unverified_and_logged_out_members_cannot_rate(
    db, movies, make_user, settings
):
    blocked = await make_user()
    await rate(user_id=blocked.id, movie_id=movies[0], stars=4)
    await admin.block_member(user_id=blocked.id, reason="spam", actor=BOSS, db=db)
    with pytest.raises(AccountBlocked):
        await rate(user_id=blocked.id, movie_id=movies[0], stars=1)
    with pytest.raises(AccountBlocked):
        await unrate(user_id=blocked.id, movie_id=movies[0])
    unverified = await make_user(verified=False)
    assert settings.email_verification == "required"
    with pytest.raises(EmailNotVerified):
        await rate(user_id=unverified.id, movie_id=movies[0], stars=4)
    relaxed = settings.model_copy(update={"email_verification": "off"})
    assert (
        await rate(user_id=unverified.id, movie_id=movies[0], stars=4, settings=relaxed)
    ).created
    member = await make_user()
    issued = await accounts.open_session(user=member, settings=settings, db=db)
    given = await rate(user_id=member.id, movie_id=movies[0], stars=3, session_id=issued.session_id)
    assert given.created
    await accounts.log_out(token=issued.token, settings=settings, db=db)
    with pytest.raises(InvalidToken):
        await rate(user_id=member.id, movie_id=movies[0], stars=5, session_id=issued.session_id)
    with pytest.raises(InvalidToken):
        await unrate(user_id=member.id, movie_id=movies[0], session_id=issued.session_id)
    await folded()
    assert await tallies(db) == await truth(db) == {movies[0]: (3, 8 + 8 + 6)}


async def test_one_five_star_rating_does_not_top_the_chart(db, movies, make_user):
    """The Bayesian average: many 4.5s beat a lone 5; rated movies come before the unrated,
    which follow by title, and pages run across the boundary without overlap or gap."""
    lone, loved, liked, disliked = movies[0], movies[1], movies[2], movies[3]
    raters = await bulk_users(db, 12)
    await rate(user_id=raters[0], movie_id=lone, stars=5)
    for user in raters:
        await rate(user_id=user, movie_id=loved, stars=4.5)
    for user in raters[:3]:
        await rate(user_id=user, movie_id=liked, stars=4)
        await rate(user_id=user, movie_id=disliked, stars=1)
    await folded()
    page = await catalogue.list_movies(sort="top_rated", db=db)
    order = [m.id for m in page.items]
    assert order == [loved, lone, liked, disliked, movies[4]]
    assert page.total == 5
    by_id = {m.id: m for m in page.items}
    assert (by_id[lone].rating_count, by_id[lone].rating_average) == (1, 5.0)
    assert by_id[lone].rating_score < by_id[loved].rating_score < 4.5
    assert by_id[movies[4]].rating_count == 0 and by_id[movies[4]].rating_score is None
    # the stored scores are the formula's, under the prior the fold keeps
    async with db.engine.connect() as conn:
        prior = (await conn.execute(sa.select(totals_t))).one()
    mean = (5 * 2 + 12 * 9 + 3 * 8 + 3 * 2) / 19
    assert (prior.ratings, prior.half_stars) == (19, round(mean * 19))
    assert abs(prior.prior_mean - mean) <= ratings.PRIOR_DRIFT
    expected = ratings.bayesian_score(10, 1, prior_mean=prior.prior_mean)
    assert by_id[lone].rating_score == round(expected, 3)
    # pages of two: rated, rated | rated, rated | unrated
    pages = [
        [
            m.id
            for m in (
                await catalogue.list_movies(sort="top_rated", page=n, page_size=2, db=db)
            ).items
        ]
        for n in (1, 2, 3, 4)
    ]
    assert pages == [[loved, lone], [liked, disliked], [movies[4]], []]
    # filters hold in both parts; hidden movies are left out
    crime = await catalogue.list_movies(sort="top_rated", genre="Crime", db=db)
    assert [m.id for m in crime.items] == [lone, disliked]  # The Godfather, City of God
    await admin.hide_movie(movie_id=loved, reason="gone", actor=BOSS, db=db)
    assert [m.id for m in (await catalogue.list_movies(sort="top_rated", db=db)).items] == [
        lone,
        liked,
        disliked,
        movies[4],
    ]


async def test_the_prior_follows_the_mean_and_rebuild_gives_the_folded_state(db, movies):
    raters = await bulk_users(db, 30)
    rng = random.Random(5)
    for user in raters:
        for movie in movies[:3]:
            await rate(user_id=user, movie_id=movie, stars=rng.randint(1, 10) / 2)
    await folded()
    for user in raters[:10]:  # everyone who changes their mind moves the mean a lot
        await rate(user_id=user, movie_id=movies[0], stars=0.5)
    await folded()
    async with db.engine.connect() as conn:
        prior = (await conn.execute(sa.select(totals_t))).one()
        scores = dict(
            (await conn.execute(sa.select(tallies_t.c.movie_id, tallies_t.c.score))).all()
        )
    assert abs(prior.prior_mean - prior.half_stars / prior.ratings) <= ratings.PRIOR_DRIFT
    for movie, (n, s) in (await truth(db)).items():
        assert scores[movie] == pytest.approx(
            ratings.bayesian_score(s, n, prior_mean=prior.prior_mean)
        )
    folded_state = await tallies(db)
    await ratings.rebuild_rating_tallies(db=db)
    assert await tallies(db) == folded_state == await truth(db)


async def test_deleting_a_member_or_a_movie_takes_their_ratings_out_of_the_tallies(
    db, movies, make_user
):
    ana, bia = await make_user(), await make_user()
    for user in (ana, bia):
        for movie in movies[:2]:
            await rate(user_id=user.id, movie_id=movie, stars=4)
    await folded()
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": ana.id})
        await conn.execute(sa.text("DELETE FROM movies WHERE id = :id"), {"id": movies[1]})
    await folded()
    assert await tallies(db) == await truth(db) == {movies[0]: (1, 8)}
    async with db.engine.connect() as conn:
        assert (await conn.execute(sa.select(totals_t.c.ratings, totals_t.c.half_stars))).one() == (
            1,
            8,
        )


async def test_reviews_newest_first_with_names_and_pages_and_my_ratings(db, movies, make_user):
    ana = await make_user(display_name="Ana")
    bia = await make_user(display_name="Bia")
    cris = await make_user(display_name="Cris")
    await rate(user_id=ana.id, movie_id=movies[0], stars=4, review="Ana's take")
    await rate(user_id=bia.id, movie_id=movies[0], stars=2.5)
    await rate(user_id=cris.id, movie_id=movies[0], stars=5, review="Cris loved it")
    await rate(user_id=ana.id, movie_id=movies[1], stars=3)
    await folded()
    first = await ratings.reviews_of(movie_id=movies[0], page=1, page_size=2, db=db)
    assert [(r.reviewer, r.stars, r.review) for r in first.items] == [
        ("Cris", 5.0, "Cris loved it"),
        ("Bia", 2.5, None),
    ]
    assert first.total == 3
    second = await ratings.reviews_of(movie_id=movies[0], page=2, page_size=2, db=db)
    assert [r.reviewer for r in second.items] == ["Ana"]
    await rate(user_id=ana.id, movie_id=movies[0], stars=4.5, review="Better the second time")
    again = await ratings.reviews_of(movie_id=movies[0], db=db)
    assert again.items[0].reviewer == "Ana"  # a changed rating is the newest
    with pytest.raises(MovieNotFound):
        await ratings.reviews_of(movie_id=999_999, db=db)
    with pytest.raises(InvalidInput):
        await ratings.reviews_of(movie_id=movies[0], page=0, db=db)
    with pytest.raises(InvalidInput):
        await ratings.reviews_of(movie_id=movies[0], page_size=51, db=db)
    mine = await ratings.my_ratings(user_id=ana.id, language="pt-BR", db=db)
    assert [(r.movie_id, r.stars) for r in mine.items] == [(movies[0], 4.5), (movies[1], 3.0)]
    assert mine.total == 2 and mine.items[0].title == "The Godfather"


async def test_tallies_are_exact_after_everyone_rates_one_movie_at_once(db, movies):
    """16 tasks give, change and take back ratings of one hot movie (and some others) while
    the folder folds: afterwards the tallies and totals equal a GROUP BY over the ratings."""
    hot = movies[0]
    raters = await bulk_users(db, 480)
    rng = random.Random(11)

    async def work(mine: list[int]) -> None:
        for user in mine:
            await rate(user_id=user, movie_id=hot, stars=rng.randint(1, 10) / 2)
            if user % 3 == 0:
                await rate(user_id=user, movie_id=hot, stars=rng.randint(1, 10) / 2, review="!")
            if user % 5 == 0:
                await rate(user_id=user, movie_id=rng.choice(movies[1:]), stars=3)
            if user % 6 == 0:
                await unrate(user_id=user, movie_id=hot)

    await asyncio.gather(*(work(raters[i::16]) for i in range(16)))
    await folded()
    expected = await truth(db)
    assert expected[hot][0] == 480 - 80  # every sixth took theirs back
    assert await tallies(db) == expected
    async with db.engine.connect() as conn:
        totals = (await conn.execute(sa.select(totals_t.c.ratings, totals_t.c.half_stars))).one()
    assert totals == (sum(n for n, _ in expected.values()), sum(s for _, s in expected.values()))
    assert get_root().ratings.folds < 480  # coalesced: far fewer folds than ratings
    if IS_POSTGRES:  # the trigger appended deltas; the fold took every one
        async with db.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM rating_deltas")) == 0


async def test_the_command_line_rebuilds_the_rating_tallies(db, movies, make_user):
    from tests.conftest import TEST_DATABASE_URL
    from tests.integration.test_cli import movievote

    user = await make_user()
    await rate(user_id=user.id, movie_id=movies[0], stars=2.5)
    await folded()
    async with db.transaction() as conn:
        await conn.execute(sa.delete(tallies_t))  # lost, say, in a bad manual repair
    done = await asyncio.to_thread(movievote, TEST_DATABASE_URL, "rebuild-rating-tallies")
    assert done.returncode == 0, done.stderr
    assert "rebuilt" in done.stdout
    assert await tallies(db) == {movies[0]: (1, 5)}
