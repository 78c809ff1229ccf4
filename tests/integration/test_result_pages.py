"""The results' pages, their handlers called on a real database (no browser): the hall of fame,
the list of months, a month's result (published, not yet, not a month) with the member's own
ballot from the verified session, and the lobby display's line for last month's movie, read
only when it may have changed."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from reflex.istate.data import RouterData

from movievote.pages.display import DisplayState
from movievote.pages.results import MonthResultState, ResultsState
from movievote.pages.winners import WinnersState
from movievote.periods import (
    current_period,
    format_period,
    period_start,
    previous_period,
    results_due,
)
from movievote.root import get_root
from movievote.services import accounts, ballots, published, results
from movievote.state import AuthState
from tests.conftest import cast_vote
from tests.integration.pages import page_of, session_token
from tests.integration.test_results import DUE, NOVEMBER, configure, publish  # noqa: F401

pytestmark = pytest.mark.usefixtures("configure")  # VOTE_TIMEZONE=America/Sao_Paulo
OCTOBER = date(2026, 10, 1)
OCTOBER_DUE = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


async def token_of(user_id: int) -> str:
    return await session_token(await accounts.get_user(user_id=user_id, db=get_root().db))


async def translate(db, movie_id: int, title: str) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO movie_translations (movie_id, language, title, overview) "
                "VALUES (:m, 'pt-BR', :t, '')"
            ),
            {"m": movie_id, "t": title},
        )


async def november(movies, make_user, db) -> list[int]:  # type: ignore[no-untyped-def]
    """Two votes for Spirited Away and one for The Godfather in November, published; the
    voters' ids (the last voted for The Godfather)."""
    await translate(db, movies[1], "A Viagem de Chihiro")
    people = [(await make_user()).id for _ in range(3)]
    for n, (person, movie) in enumerate(zip(people, (1, 1, 0), strict=True)):
        await cast_vote(
            user_id=person, movie_id=movies[movie], now=datetime(2026, 11, 5, n, tzinfo=UTC)
        )
    await publish()
    return people


async def test_the_hall_of_fame_says_when_the_first_result_comes_then_shows_it(
    movies, make_user, db
):
    root = get_root()
    fame = await page_of(WinnersState)
    await WinnersState.load.fn(fame)
    assert fame.loaded and fame.winners == []
    _, due = await results.next_publication(settings=root.settings, db=db)
    assert fame.next_due == due.isoformat()
    listed = await page_of(ResultsState)
    await ResultsState.load.fn(listed)
    assert listed.loaded and listed.months == [] and listed.next_due == due.isoformat()

    await november(movies, make_user, db)
    await WinnersState.load.fn(fame)
    [winner] = fame.winners
    assert fame.next_due == ""
    assert winner["month"] == "2026-11" and winner["id"] == movies[1]
    assert winner["titles"] == {"en": "Spirited Away", "pt-BR": "A Viagem de Chihiro"}
    assert winner["votes"] == 2 and winner["total"] == 3
    assert abs(winner["share"] - 2 / 3) < 1e-6 and winner["poster_url"] == ""
    await ResultsState.load.fn(listed)
    [month] = listed.months
    assert month["month"] == "2026-11" and month["has_winner"] and month["total"] == 3
    assert month["titles"]["pt-BR"] == "A Viagem de Chihiro" and month["votes"] == 2


async def test_the_next_publication_is_the_first_month_not_yet_due_that_has_votes(
    movies, make_user, db
):
    root = get_root()
    in_grace = datetime(2026, 12, 1, 12, tzinfo=UTC)  # November's votes may still be voided
    found = await results.next_publication(now=in_grace, settings=root.settings, db=db)
    assert found == (date(2026, 12, 1), datetime(2027, 1, 2, 3, tzinfo=UTC))  # nobody voted
    voter = await make_user()
    await cast_vote(user_id=voter.id, movie_id=movies[0], now=datetime(2026, 11, 5, tzinfo=UTC))
    found = await results.next_publication(now=in_grace, settings=root.settings, db=db)
    assert found == (NOVEMBER, DUE)


async def test_a_month_s_result_with_the_member_s_own_ballot(movies, make_user, db):
    people = await november(movies, make_user, db)
    stranger = await make_user()
    page = await page_of(MonthResultState, await token_of(people[2]))
    await page._show("2026-11")
    assert page.status == "published" and page.period == "2026-11"
    assert [(r["rank"], r["id"], r["votes"]) for r in page.rows] == [
        (1, movies[1], 2),
        (2, movies[0], 1),
    ]
    assert page.rows[0]["titles"] == {"en": "Spirited Away", "pt-BR": "A Viagem de Chihiro"}
    assert page.total_votes == 3 and page.ballots == 3
    assert page.published_at.startswith("2026-12-02T03:00:00")
    assert page.published_time == "00:00"  # in São Paulo
    csv = b"".join(
        [
            chunk
            async for chunk in await published.ballots_csv(
                period=NOVEMBER, settings=get_root().settings, db=db
            )
        ]
    )
    assert page.sha256 == hashlib.sha256(csv).hexdigest()
    key = ballots.pseudonym_key(get_root().settings.secret_key)
    assert page.my_voter == ballots.pseudonym(key, NOVEMBER, people[2])
    assert f",{page.my_voter},".encode() in csv
    mine = await published.ballot_of(user_id=people[2], period=NOVEMBER, db=db)
    assert mine is not None and page.my_vote_id == mine.vote_id and not page.my_voided

    # the same browser, another member who did not vote: nothing of the first one stays
    (await page.get_state(AuthState)).token = await token_of(stranger.id)
    await page._show("2026-11")
    assert page.status == "published" and page.my_voter == "" and page.my_vote_id == 0
    # logged out, or a forged token: the result, and no ballot
    for token in ("", (await token_of(people[0]))[:-4] + "AAAA"):
        other = await page_of(MonthResultState, token)
        await other._show("2026-11")
        assert other.status == "published" and other.my_voter == "" and other.rows


async def test_the_month_comes_from_the_address(movies, make_user, db):
    await november(movies, make_user, db)
    page = await page_of(MonthResultState)
    root = page.parent_state
    assert root is not None
    root.router = RouterData.from_router_data(
        {"pathname": "/results/[month]", "asPath": "/results/2026-11/", "query": {}}
    )
    await MonthResultState.load.fn(page)
    assert page.status == "published" and page.period == "2026-11" and len(page.rows) == 2


async def test_a_month_not_yet_published_says_when_and_a_month_without_votes_why_never(db):
    page = await page_of(MonthResultState)
    await page._show("2999-01")
    assert page.status == "unpublished" and page.rows == [] and page.sha256 == ""
    assert page.notice["en"].startswith("The result of January 2999 will be published on")
    assert page.notice["pt-BR"].startswith("O resultado de janeiro de 2999 será publicado em")
    await page._show("2020-01")
    assert page.status == "unpublished"
    assert page.notice["en"] == "Nobody voted in January 2020: it has no result."
    assert page.notice["pt-BR"].startswith("Ninguém votou em janeiro de 2020")


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "november", "", "0000-01", "2026-11x"])
async def test_a_month_that_is_not_one_says_so(db, text):
    page = await page_of(MonthResultState)
    await page._show(text)
    assert page.status == "invalid" and page.period == "" and page.notice == {}


async def test_the_lobby_s_movie_is_last_month_s_or_the_month_before_s_during_the_grace(
    movies, make_user, db
):
    root = get_root()
    october_voter = await make_user()
    await cast_vote(
        user_id=october_voter.id, movie_id=movies[3], now=datetime(2026, 10, 9, tzinfo=UTC)
    )
    await publish(OCTOBER, now=OCTOBER_DUE)
    voter = await make_user()
    await cast_vote(user_id=voter.id, movie_id=movies[1], now=datetime(2026, 11, 9, tzinfo=UTC))

    async def shown(now: datetime) -> tuple[str | None, datetime]:
        winner, until = await published.last_month_winner(
            language="pt-BR", now=now, settings=root.settings, db=db
        )
        return (winner.month if winner else None), until

    in_grace = datetime(2026, 12, 1, 12, tzinfo=UTC)  # November's result is not out yet
    assert await shown(in_grace) == ("2026-10", DUE)
    late = DUE + timedelta(seconds=30)  # due, the publisher has not got to it yet
    assert await shown(late) == ("2026-10", late + published.PUBLISHING)
    await publish()
    december_ends = datetime(2027, 1, 1, 3, tzinfo=UTC)  # midnight in São Paulo
    assert await shown(DUE + timedelta(minutes=1)) == ("2026-11", december_ends)
    # January: December's grace shows November's; once December is due (nobody voted), nothing
    assert await shown(datetime(2027, 1, 1, 12, tzinfo=UTC)) == (
        "2026-11",
        datetime(2027, 1, 2, 3, tzinfo=UTC),
    )
    assert await shown(datetime(2027, 1, 15, tzinfo=UTC)) == (
        None,
        datetime(2027, 2, 1, 3, tzinfo=UTC),
    )
    winner, _ = await published.last_month_winner(
        language="pt-BR", now=DUE, settings=root.settings, db=db
    )
    assert winner is not None and winner.movie.title == "Spirited Away"  # no translation
    assert winner.votes == 1 and winner.total_votes == 1


async def test_the_display_reads_last_month_s_movie_on_load_and_then_only_when_it_may_change(
    movies, make_user, db, monkeypatch
):
    root = get_root()
    screen = await page_of(DisplayState)
    await DisplayState.load.fn(screen)
    assert screen.winner == {} and screen.qr.startswith("data:image/svg+xml")

    # a month whose result is out, whatever today is: last month's, published at its due time
    last = previous_period(current_period(root.settings.zone))
    due = results_due(last, root.settings.zone, root.settings.results_grace_hours)
    await translate(db, movies[1], "A Viagem de Chihiro")
    for _ in range(2):
        voter = await make_user()
        start = period_start(last, root.settings.zone)
        await cast_vote(user_id=voter.id, movie_id=movies[1], now=start + timedelta(days=3))
    await publish(last, now=max(due, datetime.now(UTC)))

    reads: list[str] = []
    real = published.last_month_winner

    async def counted(**kw: Any) -> Any:
        reads.append(kw["language"])
        return await real(**kw)

    monkeypatch.setattr(published, "last_month_winner", counted)
    await DisplayState.check_winner.fn(screen, "tick")  # still the answer read on load
    assert reads == [] and screen.winner == {}
    await DisplayState.load.fn(screen)  # a reload reads it
    assert sorted(reads) == ["en", "pt-BR"]
    assert screen.winner["month"] == format_period(last) and screen.winner["votes"] == 2
    assert screen.winner["titles"] == {"en": "Spirited Away", "pt-BR": "A Viagem de Chihiro"}
    reads.clear()
    for _ in range(3):
        await DisplayState.check_winner.fn(screen, "tick")
    assert reads == []  # valid until the month ends
    screen._winner_until = 0.0  # the month has ended
    await DisplayState.check_winner.fn(screen, "tick")
    assert len(reads) == 2 and screen.winner["month"] == format_period(last)
