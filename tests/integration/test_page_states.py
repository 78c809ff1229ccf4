"""The browser's state handlers, called directly on a real database (no browser): identity
comes from the verified token, the vote goes through the service, the live ranking is SET."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from reflex.state import State
from reflex.utils.token_manager import LocalTokenManager, SocketRecord

from movievote.config import get_settings
from movievote.errors import InvalidToken
from movievote.live import (
    REGISTRATION_SECONDS,
    STREAM_CHANGES,
    LiveAnnouncement,
    LiveFeed,
    LiveRanking,
    _Page,
    latest_of,
    seconds_until_the_month_ends,
)
from movievote.models import Vote
from movievote.pages.movies import MoviesState
from movievote.periods import current_period, next_period
from movievote.root import get_root
from movievote.services import accounts, admin, moderation
from movievote.services.observer import RankingChange
from movievote.state import AuthState, safe_next
from tests.conftest import cast_vote


def redirect_target(spec: Any) -> str | None:
    """Where an `rx.redirect(...)` returned by a handler leads, or None if it is not one."""
    if spec is None or spec.handler.fn.__qualname__ != "_redirect":
        return None
    return next(value._var_value for name, value in spec.args if name._js_expr == "path")


async def browser(token: str = "") -> tuple[MoviesState, AuthState]:
    """One browser's fresh state tree, logged in with `token`."""
    root = State(_reflex_internal_init=True)
    movies = root.get_substate(MoviesState.get_full_name().split(".")[1:])
    auth = await movies.get_state(AuthState)
    auth.token = token
    return movies, auth


async def test_a_logged_out_vote_leads_to_login_and_back(db, movies):
    page, _ = await browser()
    assert redirect_target(await MoviesState.vote.fn(page, str(movies[0]))) == "/login?next=/"
    assert await db_votes(db) == 0


async def test_a_forged_token_is_not_an_identity(db, movies, make_user):
    user = await make_user()
    token = (await accounts.open_session(user=user, db=db, settings=get_root().settings)).token
    page, auth = await browser(token[:-4] + "AAAA")  # signature no longer matches
    assert redirect_target(await MoviesState.vote.fn(page, str(movies[0]))) == "/login?next=/"
    assert auth.token == "" and await db_votes(db) == 0


async def test_vote_shows_the_banner_then_refuses_a_second_with_the_reason(db, movies, make_user):
    user = await make_user(display_name="Beatriz")
    token = (await accounts.open_session(user=user, db=db, settings=get_root().settings)).token
    page, auth = await browser(token)
    await MoviesState.load.fn(page)
    assert auth.display_name == "Beatriz" and not page.has_voted
    first = page.movies[0]
    follow_up = await MoviesState.vote.fn(page, first["id"])
    assert follow_up is not None  # the notification goes through the background path
    assert page.voted_title == first["title"]
    assert page.voted_period == f"{current_period(get_settings().zone):%Y-%m}"
    assert page.next_vote_at.startswith(f"{next_period(current_period(get_settings().zone))}")
    assert page.has_voted
    other, _ = await browser(token)  # a second tab, same account
    await MoviesState.load.fn(other)
    assert other.voted_title == first["title"]  # the vote is read back from the database
    await MoviesState.vote.fn(other, page.movies[1]["id"])
    assert "already voted" in other.vote_error
    assert other.voted_title == first["title"]
    assert await db_votes(db) == 1


async def test_a_voided_vote_is_shown_as_voided_and_still_holds_the_month(db, movies, make_user):
    user = await make_user()
    token = (await accounts.open_session(user=user, db=db, settings=get_root().settings)).token
    cast = await cast_vote(user_id=user.id, movie_id=movies[2])
    root = get_root()
    await moderation.void_vote(
        vote_id=cast.id,
        reason="sock puppet",
        actor=admin.CLI,
        settings=root.settings,
        db=db,
        subject=root.subject,
    )
    page, _ = await browser(token)
    await MoviesState.load.fn(page)
    assert page.has_voted and page.vote_voided and page.voted_title == "Parasite"
    await MoviesState.vote.fn(page, str(movies[0]))
    assert "already voted" in page.vote_error and page.vote_voided
    await moderation.restore_vote(
        vote_id=cast.id, actor=admin.CLI, settings=root.settings, db=db, subject=root.subject
    )
    await MoviesState.load.fn(page)
    assert page.has_voted and not page.vote_voided


async def test_log_in_errors_go_next_to_the_form_and_success_keeps_the_token(db, make_user):
    await make_user(email="ana@example.com", display_name="Ana")
    _, auth = await browser()
    wrong = {"email": "ana@example.com", "password": "wrong password"}
    assert await AuthState.log_in.fn(auth, wrong) is None
    assert auth.form_error == "Incorrect email or password." and auth.token == ""
    right = {"email": "ana@example.com", "password": "correct horse"}
    assert redirect_target(await AuthState.log_in.fn(auth, right)) == "/"
    assert auth.token and auth.display_name == "Ana" and auth.form_error == ""
    token = auth.token
    assert (
        await accounts.user_from_token(token=token, db=db, settings=get_root().settings)
    ).display_name == "Ana"
    await AuthState.log_out.fn(auth)
    assert auth.token == "" and not auth.logged_in
    with pytest.raises(InvalidToken):  # the session ended on the server, not just the page
        await accounts.user_from_token(token=token, db=db, settings=get_root().settings)


class Sockets:
    """Reflex's event namespace as the feed sees it: its real token manager, and the websocket
    edge recorded instead of written (per emit: the socket ids and the ranking's values in
    `sent`, the announcement in `said`, each when the emit has one)."""

    def __init__(self) -> None:
        self._token_manager = LocalTokenManager()
        self.sent: list[tuple[list[str], dict[str, Any]]] = []
        self.said: list[tuple[list[str], dict[str, Any]]] = []

    def connect(self, token: str, sid: str) -> None:
        manager = self._token_manager
        manager.token_to_socket[token] = SocketRecord(instance_id=manager.instance_id, sid=sid)

    async def emit(self, event: str, update: Any, to: list[str]) -> None:
        assert event == "event"
        delta = dict(update.delta)
        values = delta.pop(LiveRanking.get_full_name(), None)
        words = delta.pop(LiveAnnouncement.get_full_name(), None)
        assert not delta and (values or words)  # one delta for both, nothing else
        if values is not None:
            self.sent.append((to, {k.removesuffix("_rx_state_"): v for k, v in values.items()}))
        if words is not None:
            self.said.append((to, words["said_rx_state_"]))


def feed_for(
    sockets: Sockets,
    latest: Any = None,
    push_interval: float = 1e-9,
    per_page: float = 0.0,
    burst: float = 1e9,
    announce: float = 0.0,
) -> LiveFeed:
    """A live feed as the app's lifespan builds it, sending to these fake sockets (every
    change pushed at once unless the push settings say otherwise)."""
    root = get_root()
    return LiveFeed(
        SimpleNamespace(event_namespace=sockets),  # type: ignore[arg-type]
        latest=latest or latest_of(root),
        zone=root.settings.zone,
        push_interval=push_interval,
        push_seconds_per_page=per_page,
        push_burst=burst,
        announce_interval=announce,
    )


def test_the_interval_between_pushes_grows_with_the_pages():
    feed = feed_for(Sockets(), push_interval=0.25, per_page=0.0005)
    assert feed.interval() == 0.25
    feed._pages = {f"tab-{n}": _Page(expires=0.0) for n in range(2000)}
    assert feed.interval() == pytest.approx(1.0)


async def test_a_stream_of_changes_spaces_the_pushes_out_and_a_vote_now_and_then_does_not():
    feed = feed_for(Sockets(), push_interval=0.25, per_page=0.0005)
    change = RankingChange(periods=frozenset())
    for _ in range(STREAM_CHANGES - 1):  # votes now and then: no page to tell, only counted
        await feed.ranking_changed(change)
    feed._pages = {f"tab-{n}": _Page(expires=math.inf) for n in range(2000)}
    assert not feed.streaming() and feed.interval() == pytest.approx(1.0)
    feed._pages = {}
    await feed.ranking_changed(change)  # the fifth change within a second: a stream
    feed._pages = {f"tab-{n}": _Page(expires=math.inf) for n in range(2000)}
    assert feed.streaming() and feed.interval() == pytest.approx(2.0)
    feed._changes = deque((t - 1.01 for t in feed._changes), maxlen=STREAM_CHANGES)
    assert not feed.streaming() and feed.interval() == pytest.approx(1.0)  # the stream ended


async def test_the_live_feed_sends_each_ranking_once_to_each_live_page(db, movies, make_user):
    sockets = Sockets()
    feed = feed_for(sockets)
    sockets.connect("tab-a", "sid-a")
    await feed.link("tab-a")
    ((to, values),) = sockets.sent
    assert to == ["sid-a"] and values["month_total"] == 0 and values["month_rows"] == []
    assert values["closes_at"] and values["month"] == f"{current_period(get_settings().zone):%Y-%m}"
    await feed.link("tab-a", loaded=False)  # the page's timer: it already has this ranking
    assert len(sockets.sent) == 1
    await feed.link("tab-a")  # loaded again (a hydrate reset it): sent again
    assert len(sockets.sent) == 2

    sockets.connect("tab-b", "sid-b")
    await feed.link("tab-b")
    sockets.connect("tab-c", "sid-c")
    await feed.link("tab-c")
    del sockets._token_manager.token_to_socket["tab-c"]  # tab c closed
    sockets.sent.clear()
    await vote_and_announce(feed, make_user, movies[2])
    ((to, values),) = sockets.sent  # one emit for every open live page
    assert sorted(to) == ["sid-a", "sid-b"]
    assert values["month_total"] == 1 and values["all_total"] == 1
    assert values["month_rows"][0]["id"] == movies[2]
    assert values["month_rows"][0]["share"] == 1.0
    assert values["month_rows"][0]["titles"] == {"en": "Parasite", "pt-BR": "Parasite"}

    await feed.ranking_changed(
        RankingChange(periods=frozenset({current_period(get_settings().zone)}))
    )
    assert len(sockets.sent) == 1  # the same ranking again (another worker's fold): nothing
    sockets.connect("tab-a", "sid-a2")  # tab a reconnected: a new socket
    await feed.link("tab-a", loaded=False)
    assert sockets.sent[-1][0] == ["sid-a2"] and sockets.sent[-1][1]["month_total"] == 1
    assert feed.live_pages() == 3
    for page in feed._pages.values():
        page.expires -= REGISTRATION_SECONDS + 1  # no link for that long: the pages are gone
    await vote_and_announce(feed, make_user, movies[3])
    assert len(sockets.sent) == 2 and feed.live_pages() == 0 and not feed._pages

    for token in ("tab-d", "tab-e"):
        sockets.connect(token, f"sid-{token}")
        await feed.link(token)
    feed._pages["tab-d"].expires -= REGISTRATION_SECONDS + 1  # silent since; no vote pruned it
    feed._swept -= REGISTRATION_SECONDS + 1
    await feed.link("tab-e")
    assert list(feed._pages) == ["tab-e"]


async def test_a_stream_of_changes_reaches_the_pages_at_most_once_per_interval(
    db, movies, make_user
):
    """Two votes go out at once (the burst); the votes after them within the interval go out
    together, as the ranking they made, once it allows; none is lost; after a quiet spell a
    vote goes out at once again."""
    interval = 1.5  # long beside a vote's own time, even on a loaded machine
    sockets = Sockets()
    feed = feed_for(sockets, push_interval=interval, burst=2)
    sockets.connect("tab-a", "sid-a")
    await feed.link("tab-a")  # the process's first: read and sent to every page (one push)
    await asyncio.sleep(2 * interval)  # both pushes earned back
    sent = len(sockets.sent)
    for n, movie in enumerate(movies[:2], start=1):
        await vote_and_announce(feed, make_user, movie)
        assert len(sockets.sent) == sent + n and sockets.sent[-1][1]["month_total"] == n
    started = time.monotonic()
    for movie in movies[2:4]:
        await vote_and_announce(feed, make_user, movie)
    assert time.monotonic() - started < interval, "the votes took longer than the interval"
    assert len(sockets.sent) == sent + 2  # the burst is spent: held back
    for _ in range(int(3 * interval / 0.05)):  # the held push, once the interval allows
        if len(sockets.sent) > sent + 2:
            break
        await asyncio.sleep(0.05)
    assert len(sockets.sent) == sent + 3  # one push, with both votes
    assert sockets.sent[-1][1]["month_total"] == 4
    await asyncio.sleep(2 * interval)
    await vote_and_announce(feed, make_user, movies[4])  # earned again: at once
    assert len(sockets.sent) == sent + 4 and sockets.sent[-1][1]["month_total"] == 5


async def test_the_pages_hear_what_moved_once_per_interval_and_never_the_whole_ranking(
    db, movies, make_user
):
    """A load says nothing; a lone change is said with its ranking, in every language; changes
    within the interval are said together, once it has passed, against what was last said; a
    vote that moves no one says nothing."""
    godfather, spirited, parasite = movies[:3]
    sockets = Sockets()
    feed = feed_for(sockets, announce=2.0)  # the votes below take a fraction of it
    sockets.connect("tab-a", "sid-a")
    await feed.link("tab-a")
    await vote_and_announce(feed, make_user, parasite)
    assert sockets.sent[0][1]["month_rows"] == [] and len(sockets.sent) == 2
    ((to, said),) = sockets.said  # in the same emit as the ranking it is about
    first = {"en": "Parasite is now first.", "pt-BR": "Parasite agora está em primeiro lugar."}
    assert to == ["sid-a"] and said["month"] == said["podium"] == said["all"] == first

    await vote_and_announce(feed, make_user, godfather)  # enters at second: not said yet
    sockets.connect("tab-b", "sid-b")
    await feed.link("tab-b")  # loaded with Godfather second
    await vote_and_announce(feed, make_user, godfather)  # now first
    await vote_and_announce(feed, make_user, spirited)  # enters at third
    assert len(sockets.said) == 1 and sockets.sent[-1][1]["month_total"] == 4
    await said_at_last(sockets, 2)
    to, said = sockets.said[-1]
    assert len(sockets.said) == 2 and sorted(to) == ["sid-a", "sid-b"]
    assert said["month"] == {
        "en": "The Godfather is now first. Spirited Away enters the top 10 at third.",
        "pt-BR": "The Godfather agora está em primeiro lugar. "
        "Spirited Away entra no top 10 em terceiro lugar.",
    }
    assert said["n"] == sockets.said[0][1]["n"] + 1  # the same words twice are spoken twice
    assert len(sockets.sent) == 6  # it came alone: no ranking sent again with it

    await asyncio.sleep(2.2)
    await vote_and_announce(feed, make_user, godfather)  # 3 votes, still first: nothing moved
    assert len(sockets.said) == 2
    await vote_and_announce(feed, make_user, spirited)  # 2 votes: from third to second
    to, said = sockets.said[-1]
    assert len(sockets.said) == 3 and sorted(to) == ["sid-a", "sid-b"]
    assert said["month"]["en"] == "Spirited Away moves up to second."
    assert said["month"] == said["podium"] == said["all"]


async def test_while_a_push_is_due_the_news_waits_to_ride_it(db, movies, make_user):
    """Under a stream of votes a push is always about to go out: the words go with it rather
    than in a socket write of their own; alone only once no push is due."""
    godfather, spirited = movies[:2]
    sockets = Sockets()
    feed = feed_for(sockets, push_interval=0.05, announce=2.0)
    sockets.connect("tab-a", "sid-a")
    await feed.link("tab-a")
    await vote_and_announce(feed, make_user, godfather)
    await vote_and_announce(feed, make_user, spirited)  # second: news, held for the interval
    assert len(sockets.said) == 1
    feed._pusher = asyncio.get_running_loop().create_task(asyncio.sleep(3.0))  # a push is due
    await asyncio.sleep(2.5)
    assert len(sockets.said) == 1  # the interval is over, but the push will carry it
    await feed._pusher  # that push found nothing new (another worker's same ranking)
    await said_at_last(sockets, 2)
    to, said = sockets.said[-1]
    assert to == ["sid-a"]
    assert (
        len(sockets.said) == 2
        and said["month"]["en"] == "Spirited Away enters the top 10 at second."
    )


async def said_at_last(sockets: Sockets, count: int, within: float = 5.0) -> None:
    """Wait until the pages were told `count` times (the feed's teller runs on its own)."""
    for _ in range(int(within / 0.05)):
        if len(sockets.said) >= count:
            return
        await asyncio.sleep(0.05)


async def vote_and_announce(feed: LiveFeed, make_user: Any, movie_id: int) -> None:

    user = await make_user()
    await cast_vote(user_id=user.id, movie_id=movie_id)
    await get_root().subject.settle()
    await feed.ranking_changed(
        RankingChange(periods=frozenset({current_period(get_settings().zone)}))
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/leaderboard", "/leaderboard"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        (None, "/"),
    ],
)
def test_after_login_only_same_site_paths(target, expected):
    assert safe_next(target) == expected


async def db_votes(db) -> int:  # type: ignore[no-untyped-def]
    async with db.autocommit() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(Vote)))


async def test_a_live_page_keeps_its_ranking_when_the_database_is_away(db, caplog):
    """An unattended screen must not show an error (Reflex would toast it) on every tick."""
    from movievote import live

    sockets = Sockets()

    async def unreachable() -> Any:
        raise ConnectionRefusedError("database away")

    get_root().extras[live.LIVE_FEED] = feed_for(sockets, latest=unreachable)
    root = State(_reflex_internal_init=True)
    page = root.get_substate(live.LiveRanking.get_full_name().split(".")[1:])
    await live.LiveRanking.link.fn(page, "")
    assert sockets.sent == [] and "could not link a live page" in caplog.text


async def test_at_the_end_of_a_month_every_live_page_turns_to_the_new_one(db, movies, make_user):
    sockets = Sockets()
    feed = feed_for(sockets)
    for token in ("tab-a", "tab-b"):
        sockets.connect(token, f"sid-{token}")
        await feed.link(token)
    assert not await feed.roll_over()  # still the same month: nothing to do
    sent = len(sockets.sent)
    feed.values["month"] = "2000-01"  # what the pages got was last month's
    assert await feed.roll_over()
    to, values = sockets.sent[-1]
    assert len(sockets.sent) == sent + 1 and sorted(to) == ["sid-tab-a", "sid-tab-b"]
    assert values["month"] == f"{current_period(get_settings().zone):%Y-%m}"
    assert not await feed.roll_over()


def test_the_feed_wakes_when_the_month_ends_or_within_the_hour():
    zone = get_settings().zone
    end = datetime(2026, 12, 1, tzinfo=zone)
    assert seconds_until_the_month_ends(zone, end - timedelta(seconds=10)) == pytest.approx(10.0)
    assert seconds_until_the_month_ends(zone, end - timedelta(days=3)) == 3600.0
    assert seconds_until_the_month_ends(zone, end) == 3600.0  # the next month has begun


async def test_a_search_no_database_can_run_is_explained_on_the_page(db, movies):
    page, _ = await browser()
    await MoviesState.set_query.fn(page, "god\x00father")  # a NUL byte typed or pasted
    assert page.search_error and page.total == 0 and page.movies == []
    await MoviesState.set_query.fn(page, "godfather")
    assert page.search_error == "" and page.total == 1


async def test_the_leaderboard_reads_the_past_months_at_most_once_a_minute(db, monkeypatch):
    from movievote.pages import leaderboard

    root, zone = get_root(), get_settings().zone
    asked: list[int] = []

    async def periods_with_votes(*, db: Any) -> list[Any]:
        asked.append(1)
        return [current_period(zone), datetime(2026, 10, 1).date()]

    monkeypatch.setattr(leaderboard.ranking, "periods_with_votes", periods_with_votes)
    assert await leaderboard.past_months(root) == ["2026-10"]  # this month is live, not listed
    assert await leaderboard.past_months(root) == ["2026-10"] and len(asked) == 1
    current, _, months = root.extras[leaderboard.PAST_MONTHS]
    root.extras[leaderboard.PAST_MONTHS] = (current, 0.0, months)  # a minute later
    await leaderboard.past_months(root)
    assert len(asked) == 2
    root.extras[leaderboard.PAST_MONTHS] = ("2000-01", float("inf"), months)  # a month ended
    await leaderboard.past_months(root)
    assert len(asked) == 3
