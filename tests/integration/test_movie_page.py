"""The movie page's handlers on a real database (no browser): the movie, its standing this
month, its ratings and reviews; rating, changing and removing as the member the verified token
names, never anyone else."""

from __future__ import annotations

from reflex.state import State

from movievote.pages.movie import MovieState, glyphs
from movievote.root import get_root
from movievote.services import admin
from movievote.state import AuthState
from tests.conftest import cast_vote
from tests.integration.pages import session_token
from tests.integration.test_page_states import redirect_target


async def browser(token: str = "") -> tuple[MovieState, AuthState]:
    """One browser's fresh state tree on the movie page, logged in with `token`."""
    root = State(_reflex_internal_init=True)
    page = root.get_substate(MovieState.get_full_name().split(".")[1:])
    auth = await page.get_state(AuthState)
    auth.token = token
    return page, auth


async def test_a_visitor_sees_the_movie_its_standing_and_must_log_in_to_rate(db, movies, make_user):
    voter = await make_user()
    await cast_vote(user_id=voter.id, movie_id=movies[2])
    await get_root().subject.settle()
    page, _ = await browser()
    await MovieState._open(page, movies[2])
    assert page.loaded and not page.missing
    assert page.movie["title"] == "Parasite" and page.movie["original_title"] == "기생충"
    assert page.movie["genres"] == ["Comedy", "Drama", "Thriller"]
    assert (page.month_rank, page.month_votes, page.ranked_full) == (1, 1, False)
    assert (page.rating_count, page.reviews, page.mine) == (0, [], 0.0)
    follow = await MovieState.save.fn(page, {"stars": "7", "review": "sneaky"})
    assert redirect_target(follow) == f"/login?next=/movies/{movies[2]}"
    assert page.rating_count == 0
    other, _ = await browser()
    await MovieState._open(other, 999_999)
    assert other.missing


async def test_a_member_rates_changes_and_removes_and_sees_the_mean_move(db, movies, make_user):
    ana = await make_user(display_name="Ana")
    bia = await make_user(display_name="Bia")
    page, _ = await browser(await session_token(ana))
    await MovieState._open(page, movies[0])
    MovieState.choose.fn(page, "9")
    MovieState.choose.fn(page, "11")  # not a choice the widget offers: ignored
    assert page.choice == 9
    await MovieState.save.fn(page, {"stars": "9", "review": "  A masterpiece.  "})
    assert page.rating_error == "" and page.rating_notice == "Your rating is saved."
    assert (page.mine, page.my_review, page.choice) == (4.5, "A masterpiece.", 9)
    assert (page.rating_count, page.rating_average) == (1, 4.5)  # the fold was awaited
    assert page.reviews[0] | {"at": ""} == {
        "reviewer": "Ana",
        "stars": 4.5,
        "glyphs": "★★★★½",
        "review": "A masterpiece.",
        "at": "",
    }
    theirs, _ = await browser(await session_token(bia))
    await MovieState._open(theirs, movies[0])
    assert theirs.mine == 0 and theirs.reviews[0]["review"] == "A masterpiece."
    await MovieState.save.fn(theirs, {"stars": "4"})
    assert (theirs.rating_count, theirs.rating_average) == (2, 3.2)  # (4.5 + 2) / 2 = 3.25
    await MovieState.save.fn(page, {"stars": "", "review": ""})  # the widget's choice stands
    assert (page.mine, page.my_review) == (4.5, "")
    await MovieState.remove.fn(page)
    assert (page.mine, page.choice, page.rating_count) == (0.0, 0, 1)
    assert page.rating_notice == "Your rating is removed."
    assert [r["reviewer"] for r in page.reviews] == ["Bia"]


async def test_refusals_are_shown_and_a_forged_token_is_nobody(db, movies, make_user):
    user = await make_user()
    token = await session_token(user)
    forged, auth = await browser(token[:-4] + "AAAA")
    await MovieState._open(forged, movies[0])
    assert redirect_target(await MovieState.save.fn(forged, {"stars": "6"})) is not None
    assert redirect_target(await MovieState.remove.fn(forged)) is not None
    assert auth.token == "" and forged.rating_count == 0
    page, _ = await browser(token)
    await MovieState._open(page, movies[0])
    await MovieState.save.fn(page, {"stars": "0"})
    assert page.rating_error == "Choose from half a star to five stars."
    await MovieState.save.fn(page, {"stars": "6", "review": "x" * 1001})
    assert page.rating_error == "A review can be at most 1,000 characters long."
    await admin.hide_movie(movie_id=movies[0], reason="dup", actor=admin.Actor(None, "cli"), db=db)
    await MovieState._open(page, movies[0])
    assert page.hidden
    await MovieState.save.fn(page, {"stars": "6"})
    assert page.rating_error == "This movie has been withdrawn: it cannot be rated."
    unverified = await make_user(verified=False)
    late, _ = await browser(await session_token(unverified))
    await MovieState._open(late, movies[1])
    await MovieState.save.fn(late, {"stars": "6"})
    assert late.rating_error.startswith("Confirm your email address to rate movies")


def test_stars_at_a_glance():
    assert [glyphs(s) for s in (0.5, 1, 3.5, 5)] == ["½", "★", "★★★½", "★★★★★"]
