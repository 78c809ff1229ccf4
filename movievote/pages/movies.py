"""The catalogue: search, filter, page through movies and cast the month's vote."""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from movievote.components.i18n import (
    LANG,
    day_text,
    genre_text,
    month_text,
    nt,
    number_text,
    percent_text,
    t,
)
from movievote.components.layout import page
from movievote.components.movie_card import movie_card, poster_src, suggestion_row
from movievote.config import get_settings
from movievote.errors import N_, DomainError, InvalidInput
from movievote.i18n import localised
from movievote.live import LiveRanking, announcer, row_title
from movievote.models import MoviePublic, RecommendedMovie, VotePublic
from movievote.periods import current_period
from movievote.root import get_root
from movievote.services import catalogue, messages, notifications, voting
from movievote.state import AuthState, language_of

ALL_GENRES = ""  # the genre filter's "all genres" (the label is translated on the page)
PAGE_SIZE = 24
KEEPALIVE_MS = 60_000  # the top 3 is live: re-link every minute, as the leaderboard does
PODIUM_CSS = """
.podium-title { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 100%; }
"""
SORTS = {  # value -> label, in the order the select lists them
    "title": N_("Title (A-Z)"),
    "year": N_("Newest first"),
    "votes": N_("Most voted this month"),
    "top_rated": N_("Top rated"),
}


FOR_YOU = 10  # movies in the member's "For you" row


def suggestion_data(item: RecommendedMovie) -> dict[str, Any]:
    """A recommended movie as its card shows it, with why ("reason_kind", "reason_title")."""
    return {
        **card_data(item.movie),
        "reason_kind": item.reason.kind,
        "reason_title": item.reason.title or "",
    }


def card_data(movie: MoviePublic) -> dict[str, Any]:
    return {
        "id": str(movie.id),
        "title": movie.title,
        "year": str(movie.year or ""),
        "genres": list(movie.genres),
        "poster_url": movie.poster_url or "",
        "rating_count": movie.rating_count or 0,
        "rating_average": round(movie.rating_average or 0.0, 1),
    }


class MoviesState(rx.State):
    """What the movie page shows; every read and write goes through the service layer."""

    query: str = ""
    genre: str = ALL_GENRES
    year: str = ""
    sort: str = "title"
    page: int = 1
    total: int = 0
    movies: list[dict[str, Any]] = []
    genres: list[str] = []
    voted_title: str = ""
    voted_period: str = ""  # YYYY-MM
    next_vote_at: str = ""  # ISO 8601
    vote_voided: bool = False  # the organisers voided this month's vote: it does not count
    search_error: str = ""
    vote_error: str = ""
    loaded: bool = False  # False on the pre-rendered page, until the first search answers
    for_you: list[dict[str, Any]] = []  # a member's recommendations, with their reasons
    _pending: dict[str, Any] = {}
    _read_in: str = ""  # the language the shown titles were read in

    @rx.var
    def has_voted(self) -> bool:
        return self.voted_title != ""

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        self.vote_error = ""  # an earlier refusal (say, before the address was confirmed)
        root = get_root()
        if not self.genres:
            self.genres = await catalogue.list_genres(db=root.db)
        await self._search()
        auth = await self.get_state(AuthState)
        user = await auth._verified_user()
        self._show_vote(
            await voting.vote_of(db=root.db, settings=root.settings, user_id=user.id)
            if user and user.id
            else None
        )
        await self._read_for_you(user.id if user else None)
        events: list[Any] = [LiveRanking.link]  # this month's top 3, live
        if user and user.id:
            events += [rx.toast.info(text, duration=8000) for text in await self._unread(user.id)]
        return events

    async def _search(self) -> None:
        year = int(self.year) if self.year.strip().isdigit() else None
        self.search_error = ""
        root = get_root()
        try:
            result = await catalogue.list_movies(
                db=root.db,
                q=self.query or None,
                genre=self.genre or None,
                year=year,
                page=self.page,
                page_size=PAGE_SIZE,
                sort=self.sort,
                period=current_period(root.settings.zone),
                language=await language_of(self),
            )
        except InvalidInput as exc:  # a search no database can run (a NUL byte): say so
            self.search_error = localised(exc, await language_of(self))
            self.total, self.movies, self.loaded = 0, [], True
            return
        self.total = result.total
        self.movies = [card_data(m) for m in result.items]
        self.loaded = True
        self._read_in = await language_of(self)

    async def _read_for_you(self, user_id: int | None) -> None:
        """The member's recommendations (none for a visitor): a lookup, never a training."""
        if user_id is None:
            self.for_you = []
            return
        found = await get_root().recommendations.recommend_for(
            user_id=user_id, n=FOR_YOU, language=await language_of(self)
        )
        self.for_you = [suggestion_data(item) for item in found.items]

    async def _unread(self, user_id: int) -> list[str]:
        root = get_root()
        unread = await notifications.list_notifications(
            db=root.db, user_id=user_id, unread_only=True
        )
        mine = [n for n in unread if n.channel == "in_app"]
        await notifications.mark_read(db=root.db, user_id=user_id, ids=[n.id for n in mine if n.id])
        language = await language_of(self)
        return [messages.render(n.kind, n.payload, language=language).body for n in reversed(mine)]

    def _show_vote(self, vote: VotePublic | None, title: str | None = None) -> None:
        if vote is None:
            self.voted_title = self.voted_period = self.next_vote_at = ""
            self.vote_voided = False
            return
        self.vote_voided = vote.voided_at is not None
        self.voted_title = title or next(
            (m["title"] for m in self.movies if m["id"] == str(vote.movie_id)),
            self.voted_title or "?",
        )
        self.voted_period = vote.period
        self.next_vote_at = vote.next_vote_at.isoformat()

    @rx.event
    async def relabel(self) -> None:
        """The language changed (the switch): the titles again, in the new language."""
        language = await language_of(self)
        if not self.loaded or language == self._read_in:
            return
        await self._search()
        if self.voted_title or self.for_you:
            auth = await self.get_state(AuthState)
            user = await auth._verified_user()
            await self._read_for_you(user.id if user else None)
            if user and user.id and self.voted_title:
                root = get_root()
                vote = await voting.vote_of(db=root.db, settings=root.settings, user_id=user.id)
                if vote is not None:
                    movie = await catalogue.get_movie(
                        db=root.db, movie_id=vote.movie_id, language=language
                    )
                    self._show_vote(vote, movie.title)

    @rx.event
    async def set_query(self, value: str) -> None:
        self.query, self.page = value, 1
        await self._search()

    @rx.event
    async def set_genre(self, value: str) -> None:
        self.genre, self.page = ("" if value == ALL_GENRES_VALUE else value), 1
        await self._search()

    @rx.event
    async def set_year(self, value: str) -> None:
        self.year, self.page = value, 1
        await self._search()

    @rx.event
    async def set_sort(self, value: str) -> None:
        if value in SORTS:
            self.sort, self.page = value, 1
            await self._search()

    @rx.event
    async def go_to_page(self, number: int) -> None:
        self.page = min(max(1, number), self.page_count)
        await self._search()

    @rx.event
    async def vote(self, movie_id: str):  # type: ignore[no-untyped-def]
        """Cast the vote as the user the token names (verified here, on the server)."""
        self.vote_error = ""
        auth = await self.get_state(AuthState)
        found = await auth._verified_session()
        if found is None or found[0].id is None:
            return rx.redirect("/login?next=/")
        user, claims = found
        root = get_root()
        try:
            cast, _notified = await root.cast_vote(
                user_id=claims.user_id, movie_id=int(movie_id), session_id=claims.session_id
            )
        except DomainError as exc:
            self.vote_error = await auth._explain(exc)
            self._show_vote(
                await voting.vote_of(db=root.db, settings=root.settings, user_id=user.id)
            )
            return None
        movie = await catalogue.get_movie(
            db=root.db, movie_id=cast.movie_id, language=await language_of(self)
        )
        self._show_vote(cast, movie.title)
        await self._read_for_you(user.id)  # the movie voted for leaves it, its kin come in
        self._pending = {"user_id": user.id, "vote_id": cast.id}
        return MoviesState.deliver_notification

    @rx.event(background=True)
    async def deliver_notification(self):  # type: ignore[no-untyped-def]
        """Wait for the vote's "vote registered" notification; show it once it is stored."""
        async with self:
            pending, self._pending = self._pending, {}
            language = await language_of(self)
        if not pending:
            return
        root = get_root()
        note = await root.dispatcher.outcome(pending["vote_id"])
        if note is not None and note.channel == "in_app" and note.status == "sent" and note.id:
            await notifications.mark_read(db=root.db, user_id=pending["user_id"], ids=[note.id])
            body = messages.render(note.kind, note.payload, language=language).body
            yield rx.toast.success(body, duration=8000)


ALL_GENRES_VALUE = "*"  # a select item needs a value; "" is refused by Radix


def _filters() -> rx.Component:
    return rx.flex(
        rx.input(
            placeholder=t("Search by title"),
            default_value=MoviesState.query,
            on_change=MoviesState.set_query.debounce(300),
            aria_label=t("Search by title"),
            type="search",
            size="3",
            flex="1",
            min_width="12em",
        ),
        rx.select.root(
            rx.select.trigger(aria_label=t("Genre"), placeholder=t("All genres")),
            rx.select.content(
                rx.select.item(t("All genres"), value=ALL_GENRES_VALUE),
                rx.foreach(MoviesState.genres, lambda g: rx.select.item(genre_text(g), value=g)),
            ),
            value=rx.cond(MoviesState.genre == "", ALL_GENRES_VALUE, MoviesState.genre),
            on_change=MoviesState.set_genre,
            size="3",
        ),
        rx.input(
            placeholder=t("Year"),
            value=MoviesState.year,
            on_change=MoviesState.set_year.debounce(300),
            aria_label=t("Year"),
            type="number",
            size="3",
            width="7em",
        ),
        rx.select.root(
            rx.select.trigger(aria_label=t("Sort by"), id="sort"),
            rx.select.content(
                *[rx.select.item(t(label), value=value) for value, label in SORTS.items()]
            ),
            value=MoviesState.sort,
            on_change=MoviesState.set_sort,
            size="3",
        ),
        spacing="3",
        wrap="wrap",
        width="100%",
    )


def _verify_banner() -> rx.Component:
    """A member whose address is not confirmed may browse, not vote: why, and the remedy."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("mail_warning")),
        rx.callout.text(
            t("Confirm your email address to vote: follow the link we sent you."),
            " ",
            rx.button(
                t("Send the link again"),
                on_click=AuthState.resend_verification,
                variant="soft",
                size="1",
                id="resend-verification",
            ),
        ),
        color_scheme="amber",
        id="verify-banner",
        role="status",
        size="2",
    )


def _status() -> rx.Component:
    """Where this person stands this month: voted (for what, and when the next vote opens),
    free to vote, or not logged in."""
    zone = get_settings().vote_timezone
    this_month = rx.cond(LiveRanking.month != "", month_text(LiveRanking.month), t("this month"))
    return rx.cond(
        MoviesState.has_voted,
        rx.cond(MoviesState.vote_voided, _voided_banner(zone), _voted_banner(zone)),
        _not_voted(this_month),
    )


def _voided_banner(zone: str) -> rx.Component:
    """The month's vote was voided by the organisers: it does not count, and it was the
    month's one vote."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("ban")),
        rx.callout.text(
            t(
                "Your vote for {title} in {month} was voided by the vote's organisers: it does not count.",
                title=MoviesState.voted_title,
                month=month_text(MoviesState.voted_period),
            ),
            " ",
            t("Your next vote opens on {day}.", day=day_text(MoviesState.next_vote_at, zone)),
        ),
        color_scheme="amber",
        id="vote-banner",
        role="status",
        size="2",
    )


def _voted_banner(zone: str) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("circle_check")),
        rx.callout.text(
            t(
                "You voted for {title} in {month}.",
                title=MoviesState.voted_title,
                month=month_text(MoviesState.voted_period),
            ),
            " ",
            t(
                "Your next vote opens on {day}.",
                day=day_text(MoviesState.next_vote_at, zone),
            ),
        ),
        color_scheme="green",
        id="vote-banner",
        role="status",
        size="2",
    )


def _not_voted(this_month: rx.Var) -> rx.Component:
    return rx.cond(
        AuthState.logged_in,
        rx.cond(
            AuthState.email_verified,
            rx.callout(
                t("You have not voted in {month} yet: choose a movie below.", month=this_month),
                icon="vote",
                id="vote-status",
                size="2",
            ),
            _verify_banner(),
        ),
        rx.callout.root(
            rx.callout.icon(rx.icon("log_in")),
            rx.callout.text(
                t("One vote per member per month."),
                " ",
                rx.link(t("Log in to vote"), href="/login"),
                " · ",
                rx.link(t("Sign up"), href="/signup"),
            ),
            id="vote-status",
            size="2",
        ),
    )


def _podium_entry(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.hstack(
        rx.text("#", row["rank"], weight="bold", size="5", color="var(--accent-11)", width="1.6em"),
        rx.image(
            src=poster_src(row),
            alt="",  # the title is next to it
            width="2.6em",
            height="3.9em",
            object_fit="cover",
            border_radius="var(--radius-2)",
            loading="lazy",
        ),
        rx.vstack(
            rx.text(row_title(row), weight="medium", size="2", class_name="podium-title"),
            rx.text(
                nt("{n} vote", "{n} votes", row["votes"].to(int)),
                " · ",
                percent_text(row["share"]),
                size="1",
                color_scheme="gray",
            ),
            spacing="0",
            min_width="0",
        ),
        align="center",
        spacing="3",
        min_width="0",
        class_name="podium-entry",
    )


def _podium() -> rx.Component:
    """This month's top 3, live (the same feed as the leaderboard)."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(t("This month's top 3"), size="4", as_="h2"),
                rx.spacer(),
                rx.link(t("Full leaderboard"), href="/leaderboard", size="2"),
                width="100%",
                align="center",
            ),
            rx.cond(
                LiveRanking.month_rows.length() > 0,
                rx.grid(
                    rx.foreach(LiveRanking.month_rows[:3], _podium_entry),
                    columns=rx.breakpoints(initial="1", sm="3"),
                    spacing="4",
                    width="100%",
                ),
                rx.text(
                    rx.cond(
                        LiveRanking.updated_at == "",
                        t("Loading the ranking…"),
                        t("No votes yet this month: yours can be the first."),
                    ),
                    size="2",
                    color_scheme="gray",
                ),
            ),
            announcer("podium"),  # moves into the top 3, for a screen reader
            spacing="3",
            width="100%",
        ),
        id="podium",
        width="100%",
    )


def _for_you() -> rx.Component:
    """A member's recommendations, each saying why."""
    return rx.el.section(
        rx.heading(t("For you"), size="5", as_="h2", id="for-you-heading"),
        rx.text(
            t("Picked from what you rated and voted for; rate more movies to sharpen it."),
            size="2",
            color_scheme="gray",
        ),
        suggestion_row(MoviesState.for_you, with_reasons=True, row_id="for-you-row"),
        id="for-you",
        aria_labelledby="for-you-heading",
        width="100%",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button(
            t("Previous"),
            on_click=MoviesState.go_to_page(MoviesState.page - 1),
            disabled=MoviesState.page <= 1,
            variant="soft",
        ),
        rx.text(
            t(
                "Page {page} of {count}",
                page=number_text(MoviesState.page),
                count=number_text(MoviesState.page_count),
            ),
            size="2",
            id="page-label",
        ),
        rx.button(
            t("Next"),
            on_click=MoviesState.go_to_page(MoviesState.page + 1),
            disabled=MoviesState.page >= MoviesState.page_count,
            variant="soft",
        ),
        justify="center",
        align="center",
        width="100%",
        spacing="4",
    )


def movies_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading(t("Vote for the movie of the month"), size="8", as_="h1"),
            _status(),
            rx.cond(
                MoviesState.vote_error != "",
                rx.callout(
                    MoviesState.vote_error,
                    icon="info",
                    color_scheme="amber",
                    id="vote-error",
                    role="alert",
                ),
            ),
            _podium(),
            rx.cond(AuthState.logged_in & (MoviesState.for_you.length() > 0), _for_you()),
            _filters(),
            rx.cond(
                MoviesState.loaded,
                rx.text(
                    nt("{n} movie", "{n} movies", MoviesState.total),
                    color_scheme="gray",
                    id="movie-count",
                ),
                rx.text(t("Loading the catalogue…"), color_scheme="gray"),
            ),
            rx.grid(
                rx.foreach(
                    MoviesState.movies,
                    lambda movie: movie_card(
                        movie,
                        on_vote=MoviesState.vote,
                        disabled=MoviesState.has_voted,
                        reason=rx.cond(
                            MoviesState.has_voted, t("You have already voted this month."), ""
                        ),
                    ),
                ),
                columns=rx.breakpoints(initial="2", sm="3", md="4", lg="6"),
                spacing="4",
                width="100%",
            ),
            rx.cond(
                MoviesState.search_error != "",
                rx.callout(
                    MoviesState.search_error,
                    icon="info",
                    color_scheme="amber",
                    role="alert",
                    id="search-error",
                ),
                rx.cond(
                    MoviesState.loaded & (MoviesState.total == 0),
                    rx.text(t("No movie matches. Try fewer filters.")),
                ),
            ),
            _pager(),
            rx.moment(interval=KEEPALIVE_MS, on_change=LiveRanking.link, display="none"),
            # mounted again when the language changes: the titles are read in the new one
            rx.box(key=LANG, on_mount=MoviesState.relabel, display="none"),
            rx.el.style(PODIUM_CSS),
            spacing="4",
            width="100%",
        )
    )
