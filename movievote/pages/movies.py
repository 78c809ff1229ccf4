"""The catalogue: search, filter, page through movies and cast the month's vote."""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from movievote.components.layout import page
from movievote.components.movie_card import initials_of, movie_card
from movievote.errors import DomainError, InvalidInput
from movievote.models import MoviePublic, VotePublic
from movievote.periods import day_label, month_label, next_vote_text, parse_period
from movievote.root import get_root
from movievote.services import catalogue, messages, notifications, voting
from movievote.state import AuthState

ALL_GENRES = "All genres"
PAGE_SIZE = 24


def card_data(movie: MoviePublic) -> dict[str, str]:
    return {
        "id": str(movie.id),
        "title": movie.title,
        "year": str(movie.year or ""),
        "genres": ", ".join(movie.genres),
        "poster_url": movie.poster_url or "",
        "initials": initials_of(movie.title),
    }


class MoviesState(rx.State):
    """What the movie page shows; every read and write goes through the service layer."""

    query: str = ""
    genre: str = ALL_GENRES
    year: str = ""
    page: int = 1
    total: int = 0
    movies: list[dict[str, str]] = []
    genres: list[str] = [ALL_GENRES]
    voted_title: str = ""
    voted_month: str = ""
    next_vote_label: str = ""
    next_vote_sentence: str = ""
    search_error: str = ""
    vote_error: str = ""
    loaded: bool = False  # False on the pre-rendered page, until the first search answers
    _pending: dict[str, Any] = {}

    @rx.var
    def has_voted(self) -> bool:
        return self.voted_title != ""

    @rx.var
    def vote_reason(self) -> str:
        if self.voted_title:
            return f"You have already voted this month. {self.next_vote_sentence}"
        return ""

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        self.vote_error = ""  # an earlier refusal (say, before the address was confirmed)
        if len(self.genres) == 1:
            self.genres = [ALL_GENRES, *await catalogue.list_genres(db=get_root().db)]
        await self._search()
        auth = await self.get_state(AuthState)
        user = await auth._verified_user()
        self._show_vote(
            await voting.vote_of(db=get_root().db, settings=get_root().settings, user_id=user.id)
            if user and user.id
            else None
        )
        if user and user.id:
            return [rx.toast.info(text, duration=8000) for text in await self._unread(user.id)]
        return None

    async def _search(self) -> None:
        year = int(self.year) if self.year.strip().isdigit() else None
        self.search_error = ""
        try:
            result = await catalogue.list_movies(
                db=get_root().db,
                q=self.query or None,
                genre=None if self.genre == ALL_GENRES else self.genre,
                year=year,
                page=self.page,
                page_size=PAGE_SIZE,
            )
        except InvalidInput as exc:  # a search no database can run (a NUL byte): say so
            self.search_error, self.total, self.movies, self.loaded = exc.message, 0, [], True
            return
        self.total = result.total
        self.movies = [card_data(m) for m in result.items]
        self.loaded = True

    async def _unread(self, user_id: int) -> list[str]:
        unread = await notifications.list_notifications(
            db=get_root().db, user_id=user_id, unread_only=True
        )
        mine = [n for n in unread if n.channel == "in_app"]
        await notifications.mark_read(
            db=get_root().db, user_id=user_id, ids=[n.id for n in mine if n.id]
        )
        return [messages.render(n.kind, n.payload).body for n in reversed(mine)]

    def _show_vote(self, vote: VotePublic | None, title: str | None = None) -> None:
        if vote is None:
            self.voted_title = self.voted_month = self.next_vote_label = ""
            self.next_vote_sentence = ""
            return
        self.voted_title = title or next(
            (m["title"] for m in self.movies if m["id"] == str(vote.movie_id)),
            self.voted_title or "a movie",
        )
        self.voted_month = month_label(parse_period(vote.period))
        self.next_vote_label = day_label(vote.next_vote_at)
        self.next_vote_sentence = next_vote_text(vote.next_vote_at)

    @rx.event
    async def set_query(self, value: str) -> None:
        self.query, self.page = value, 1
        await self._search()

    @rx.event
    async def set_genre(self, value: str) -> None:
        self.genre, self.page = value, 1
        await self._search()

    @rx.event
    async def set_year(self, value: str) -> None:
        self.year, self.page = value, 1
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
            cast, _notified = await voting.cast_and_notify(
                db=get_root().db,
                settings=get_root().settings,
                user_id=claims.user_id,
                movie_id=int(movie_id),
                session_id=claims.session_id,
                subject=root.subject,
                dispatcher=root.dispatcher,
            )
        except DomainError as exc:
            self.vote_error = exc.message
            self._show_vote(
                await voting.vote_of(
                    db=get_root().db, settings=get_root().settings, user_id=user.id
                )
            )
            return None
        movie = await catalogue.get_movie(db=get_root().db, movie_id=cast.movie_id)
        self._show_vote(cast, movie.title)
        self._pending = {"user_id": user.id, "vote_id": cast.id}
        return MoviesState.deliver_notification

    @rx.event(background=True)
    async def deliver_notification(self):  # type: ignore[no-untyped-def]
        """Wait for the vote's "vote registered" notification; show it once it is stored."""
        async with self:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        note = await get_root().dispatcher.outcome(pending["vote_id"])
        if note is not None and note.channel == "in_app" and note.status == "sent" and note.id:
            await notifications.mark_read(
                db=get_root().db, user_id=pending["user_id"], ids=[note.id]
            )
            yield rx.toast.success(messages.render(note.kind, note.payload).body, duration=8000)


def _filters() -> rx.Component:
    return rx.flex(
        rx.input(
            placeholder="Search by title",
            default_value=MoviesState.query,
            on_change=MoviesState.set_query.debounce(300),
            aria_label="Search by title",
            type="search",
            size="3",
            flex="1",
            min_width="12em",
        ),
        rx.select(
            MoviesState.genres,
            value=MoviesState.genre,
            on_change=MoviesState.set_genre,
            aria_label="Genre",
            size="3",
        ),
        rx.input(
            placeholder="Year",
            value=MoviesState.year,
            on_change=MoviesState.set_year.debounce(300),
            aria_label="Year",
            type="number",
            size="3",
            width="7em",
        ),
        spacing="3",
        wrap="wrap",
        width="100%",
    )


def _verify_banner() -> rx.Component:
    """A member whose address is not confirmed may browse, not vote: why, and the remedy."""
    return rx.cond(
        AuthState.logged_in & ~AuthState.email_verified,
        rx.callout.root(
            rx.callout.icon(rx.icon("mail_warning")),
            rx.callout.text(
                "Confirm your email address to vote: follow the link we sent you. ",
                rx.button(
                    "Send the link again",
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
        ),
    )


def _banner() -> rx.Component:
    return rx.cond(
        MoviesState.has_voted,
        rx.callout.root(
            rx.callout.icon(rx.icon("circle_check")),
            rx.callout.text(
                "You voted for ",
                rx.text.strong(MoviesState.voted_title),
                " in ",
                MoviesState.voted_month,
                ". ",
                MoviesState.next_vote_sentence,
            ),
            color_scheme="green",
            id="vote-banner",
            role="status",
            size="2",
        ),
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button(
            "Previous",
            on_click=MoviesState.go_to_page(MoviesState.page - 1),
            disabled=MoviesState.page <= 1,
            variant="soft",
        ),
        rx.text(
            "Page ", MoviesState.page, " of ", MoviesState.page_count, size="2", id="page-label"
        ),
        rx.button(
            "Next",
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
            rx.heading("Vote for the movie of the month", size="8", as_="h1"),
            rx.cond(
                MoviesState.loaded,
                rx.text(MoviesState.total, " movies", color_scheme="gray", id="movie-count"),
                rx.text("Loading the catalogue…", color_scheme="gray"),
            ),
            _verify_banner(),
            _banner(),
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
            _filters(),
            rx.grid(
                rx.foreach(
                    MoviesState.movies,
                    lambda movie: movie_card(
                        movie,
                        on_vote=MoviesState.vote,
                        disabled=MoviesState.has_voted,
                        reason=MoviesState.vote_reason,
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
                    rx.text("No movie matches. Try fewer filters."),
                ),
            ),
            _pager(),
            spacing="4",
            width="100%",
        )
    )
