"""One movie (`/movies/[id]`): its poster, titles, year, genres and overview; this month's
votes and rank; its ratings (the mean and how many); the member's own rating and review
(give, change, remove), with a star widget made of native radio buttons (arrow keys choose,
each star named for screen readers); and the other members' reviews, a page at a time."""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from movievote.components.i18n import LANG, day_text, genre_list_text, nt, number_text, t
from movievote.components.layout import page
from movievote.components.movie_card import poster_src, suggestion_row
from movievote.config import get_settings
from movievote.errors import DomainError, MovieNotFound
from movievote.i18n import N_
from movievote.models import RatingPublic
from movievote.periods import current_period, format_period
from movievote.root import get_root
from movievote.services import catalogue, ranking_cache, ratings
from movievote.services.ranking import MAX_LIMIT as MAX_RANKED
from movievote.state import AuthState, language_of

REVIEWS_PAGE_SIZE = 10
ALSO_LIKED = 8  # movies in "Members who liked this also liked"
HALF_STARS = range(1, 11)

# The stars are native radio buttons (one group: Tab reaches it, arrow keys move the choice,
# a screen reader names each "4.5 stars"), hidden but focusable; each shows as half a star
# (a label clipping "★"), lit up to the choice, and ringed when focused from the keyboard.
STARS_CSS = """
.star-picker { border: 0; margin: 0; padding: 0; min-width: 0; }
.star-picker legend { padding: 0; margin-bottom: var(--space-2); font-weight: var(--font-weight-medium); }
.star-row { display: inline-flex; align-items: center; }
.star-input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.star { display: inline-block; width: 0.6em; overflow: hidden; font-size: 2.2rem; line-height: 1.1;
  color: var(--gray-a7); cursor: pointer; }
.star span { display: inline-block; width: 1.2em; text-align: center; }
.star.right span { margin-left: -0.6em; }
.star.on { color: var(--amber-11); }
.star-input:focus-visible + .star { outline: 2px solid var(--focus-8); outline-offset: 1px;
  border-radius: 2px; }
.stars-shown { color: var(--amber-11); letter-spacing: 0.05em; }
.review-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  border: 0; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
"""


def glyphs(stars: float) -> str:
    """Stars as people read them at a glance: "★★★★½"."""
    return "★" * math.floor(stars) + ("½" if stars % 1 else "")


def review_row(review: Any) -> dict[str, Any]:
    return {
        "reviewer": review.reviewer,
        "stars": review.stars,
        "glyphs": glyphs(review.stars),
        "review": review.review or "",
        "at": review.updated_at.isoformat(),
    }


class MovieState(rx.State):
    """What the movie page shows; reads and writes go through the services, and every handler
    that acts for a member takes who they are from the verified token, on the server."""

    loaded: bool = False
    missing: bool = False
    movie: dict[str, Any] = {}  # id, title, original_title, year, genres, overview, poster_url
    hidden: bool = False
    rating_count: int = 0
    rating_average: float = 0.0  # the mean in stars, one decimal (0: no rating yet)
    month: str = ""  # YYYY-MM
    month_rank: int = 0  # 0: not among the month's ranked movies
    month_votes: int = 0
    ranked_full: bool = False  # the month's ranking holds MAX_RANKED movies (and this one not)
    mine: float = 0.0  # the member's stars (0: not rated)
    my_review: str = ""
    my_at: str = ""  # ISO 8601, when the member last rated it
    choice: int = 0  # half stars chosen in the widget
    rating_error: str = ""
    rating_notice: str = ""
    reviews: list[dict[str, Any]] = []
    review_page: int = 1
    review_total: int = 0
    also_liked: list[dict[str, Any]] = []  # members who liked this also liked (cards)
    _movie_id: int = 0
    _read_in: str = ""

    @rx.var
    def review_pages(self) -> int:
        return max(1, math.ceil(self.review_total / REVIEWS_PAGE_SIZE))

    @rx.var
    def rated(self) -> bool:
        return self.mine > 0

    def _asked_id(self) -> int:
        """The movie id the URL names (`/movies/<id>`), or 0."""
        last = str(self.router.url.path).rstrip("/").rsplit("/", 1)[-1]
        return int(last) if last.isdigit() and len(last) < 10 else 0

    @rx.event
    async def load(self) -> None:
        """On opening the page: the movie, this month's standing, the ratings and reviews,
        and this member's own rating (if the token still names someone)."""
        await self._open(self._asked_id())

    async def _open(self, movie_id: int) -> None:
        self.rating_error = self.rating_notice = ""
        self._movie_id, self.review_page = movie_id, 1
        self.choice, self.mine, self.my_review, self.my_at = 0, 0.0, "", ""
        if not await self._read_movie():
            return
        await self._read_standing()
        await self._read_reviews()
        await self._read_also_liked()
        auth = await self.get_state(AuthState)
        user = await auth._verified_user()
        if user is not None and user.id is not None:
            root = get_root()
            self._show_mine(await ratings.rating_of(user_id=user.id, movie_id=movie_id, db=root.db))

    async def _read_movie(self) -> bool:
        language = await language_of(self)
        try:
            found = await catalogue.get_movie(
                movie_id=self._movie_id, language=language, db=get_root().db
            )
        except MovieNotFound:
            self.loaded, self.missing, self.movie = True, True, {}
            return False
        self.movie = {
            "id": str(found.id),
            "title": found.title,
            "original_title": found.original_title,
            "year": str(found.year or ""),
            "genres": list(found.genres),
            "overview": found.overview,
            "poster_url": found.poster_url or "",
        }
        self.hidden = found.hidden
        self.rating_count = found.rating_count or 0
        self.rating_average = round(found.rating_average or 0.0, 1)
        self.loaded, self.missing, self._read_in = True, False, language
        return True

    async def _read_standing(self) -> None:
        """This month's votes and rank, from the cached ranking (the live one's source)."""
        root = get_root()
        board = await ranking_cache.ranking_for(
            limit=MAX_RANKED, cache=root.cache, zone=root.settings.zone
        )
        self.month = format_period(current_period(root.settings.zone))
        entry = next((e for e in board.items if e.movie.id == self._movie_id), None)
        self.month_rank = entry.rank if entry else 0
        self.month_votes = entry.votes if entry else 0
        self.ranked_full = entry is None and len(board.items) >= MAX_RANKED

    async def _read_also_liked(self) -> None:
        """Members who liked this also liked: the model's lookup (empty until one is
        trained), titles in the page's language."""
        found = await get_root().recommendations.similar_to(
            movie_id=self._movie_id, n=ALSO_LIKED, language=await language_of(self)
        )
        self.also_liked = [
            {
                "id": str(m.id),
                "title": m.title,
                "year": str(m.year or ""),
                "poster_url": m.poster_url or "",
            }
            for m in found.items
        ]

    async def _read_reviews(self) -> None:
        page = await ratings.reviews_of(
            movie_id=self._movie_id,
            page=self.review_page,
            page_size=REVIEWS_PAGE_SIZE,
            db=get_root().db,
        )
        self.reviews = [review_row(r) for r in page.items]
        self.review_total = page.total

    def _show_mine(self, rating: RatingPublic | None) -> None:
        if rating is None:
            self.mine, self.my_review, self.my_at, self.choice = 0.0, "", "", 0
            return
        self.mine, self.my_review = rating.stars, rating.review or ""
        self.my_at = rating.updated_at.isoformat()
        self.choice = round(rating.stars * 2)

    @rx.event
    async def relabel(self) -> None:
        """The language changed (the switch): the titles and overview in the new one."""
        if self.loaded and not self.missing and await language_of(self) != self._read_in:
            await self._read_movie()
            await self._read_also_liked()

    @rx.event
    def choose(self, value: str) -> None:
        """A star was chosen (a click, or the arrow keys in the group)."""
        if value.isdigit() and int(value) in HALF_STARS:
            self.choice = int(value)
            self.rating_notice = ""

    @rx.event
    async def save(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Give or change the member's rating: the stars chosen and the review written."""
        self.rating_error = self.rating_notice = ""
        auth = await self.get_state(AuthState)
        found = await auth._verified_session()
        if found is None:
            return rx.redirect(f"/login?next=/movies/{self._movie_id}")
        _user, claims = found
        chosen = str(form.get("stars") or self.choice)
        if not chosen.isdigit() or int(chosen) not in HALF_STARS:
            self.rating_error = await auth._say(N_("Choose from half a star to five stars."))
            return None
        root = get_root()
        try:
            rated = await ratings.rate(
                db=root.db,
                settings=root.settings,
                folder=root.ratings,
                user_id=claims.user_id,
                session_id=claims.session_id,
                movie_id=self._movie_id,
                stars=int(chosen) / 2,
                review=str(form.get("review") or ""),
            )
        except DomainError as exc:
            self.rating_error = await auth._explain(exc)
            return None
        self._show_mine(rated.rating)
        await self._refresh_ratings()
        self.rating_notice = await auth._say(N_("Your rating is saved."))
        return None

    @rx.event
    async def remove(self):  # type: ignore[no-untyped-def]
        """Take back the member's rating and review."""
        self.rating_error = self.rating_notice = ""
        auth = await self.get_state(AuthState)
        found = await auth._verified_session()
        if found is None:
            return rx.redirect(f"/login?next=/movies/{self._movie_id}")
        _user, claims = found
        root = get_root()
        try:
            await ratings.remove(
                db=root.db,
                settings=root.settings,
                folder=root.ratings,
                user_id=claims.user_id,
                session_id=claims.session_id,
                movie_id=self._movie_id,
            )
        except DomainError as exc:
            self.rating_error = await auth._explain(exc)
            return None
        self._show_mine(None)
        await self._refresh_ratings()
        self.rating_notice = await auth._say(N_("Your rating is removed."))
        return None

    async def _refresh_ratings(self) -> None:
        """After the member's own change: the mean and the reviews with it in (the fold is
        awaited, at most a moment, so the member sees what they did)."""
        await get_root().ratings.caught_up()
        self.review_page = 1
        await self._read_movie()
        await self._read_reviews()

    @rx.event
    async def go_to_reviews(self, number: int) -> None:
        self.review_page = min(max(1, number), self.review_pages)
        await self._read_reviews()


def stars_label(half: int) -> rx.Var:
    """What a screen reader calls a star of the widget: "4.5 stars", "1 star"."""
    return nt("{n} star", "{n} stars", half / 2)


def _star(half: int) -> rx.Component:
    side = "left" if half % 2 else "right"
    return rx.fragment(
        rx.el.input(
            type="radio",
            name="stars",
            value=str(half),
            id=f"stars-{half}",
            # not controlled: the browser moves the choice at once (arrow keys), the page only
            # hears it; a saved rating (a new `my_at`) mounts the group again, checked anew
            default_checked=MovieState.choice == half,
            on_change=MovieState.choose,
            aria_label=stars_label(half),
            class_name="star-input",
        ),
        rx.el.label(
            rx.el.span("★", aria_hidden="true"),
            html_for=f"stars-{half}",
            class_name=rx.cond(MovieState.choice >= half, f"star {side} on", f"star {side}"),
            title=stars_label(half),
        ),
    )


def _rating_form() -> rx.Component:
    """The member's rating and review: stars, text, save; remove when there is one."""
    return rx.form(
        rx.vstack(
            rx.el.fieldset(
                rx.el.legend(t("Your rating")),
                rx.el.div(
                    *[_star(half) for half in HALF_STARS],
                    class_name="star-row",
                    key=MovieState.my_at,
                ),
                rx.text(
                    rx.cond(
                        MovieState.choice > 0,
                        nt("{n} star", "{n} stars", MovieState.choice / 2),
                        t("Choose from half a star to five stars."),
                    ),
                    size="2",
                    color_scheme="gray",
                    id="stars-chosen",
                    aria_live="polite",
                ),
                class_name="star-picker",
                id="star-picker",
            ),
            rx.el.label(t("Your review (optional)"), html_for="review", font_weight="500"),
            rx.text_area(
                name="review",
                id="review",
                default_value=MovieState.my_review,
                key=MovieState.my_at,  # a new saved review refills the box
                max_length=1000,
                rows="4",
                width="100%",
                placeholder=t("What did you think of it?"),
            ),
            rx.hstack(
                rx.button(
                    rx.cond(MovieState.rated, t("Update my rating"), t("Save my rating")),
                    type="submit",
                    id="save-rating",
                ),
                rx.cond(
                    MovieState.rated,
                    rx.button(
                        t("Remove my rating"),
                        type="button",
                        on_click=MovieState.remove,
                        variant="soft",
                        color_scheme="red",
                        id="remove-rating",
                    ),
                ),
                spacing="3",
            ),
            rx.cond(
                MovieState.rating_error != "",
                rx.callout(
                    MovieState.rating_error,
                    icon="info",
                    color_scheme="amber",
                    role="alert",
                    id="rating-error",
                ),
            ),
            rx.cond(
                MovieState.rating_notice != "",
                rx.text(MovieState.rating_notice, role="status", id="rating-notice", size="2"),
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        on_submit=MovieState.save,
        reset_on_submit=False,
        width="100%",
    )


def _my_rating() -> rx.Component:
    """What the member has given (or how to give it)."""
    zone = get_settings().vote_timezone
    return rx.card(
        rx.vstack(
            rx.heading(t("Rate this movie"), size="4", as_="h2"),
            rx.cond(
                MovieState.rated,
                rx.text(
                    t(
                        "You gave it {stars} on {day}.",
                        stars=nt("{n} star", "{n} stars", MovieState.mine),
                        day=day_text(MovieState.my_at, zone),
                    ),
                    id="my-rating",
                ),
            ),
            rx.cond(
                MovieState.hidden,
                rx.callout(
                    t("This movie has been withdrawn: it cannot be rated."),
                    icon="info",
                    color_scheme="amber",
                ),
                rx.cond(
                    AuthState.logged_in,
                    _rating_form(),
                    rx.text(
                        rx.link(
                            t("Log in to rate this movie"),
                            href="/login?next=/movies/" + MovieState.movie["id"].to(str),
                        ),
                        id="rate-login",
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="rate",
    )


def _also_liked() -> rx.Component:
    return rx.el.section(
        rx.heading(
            t("Members who liked this also liked"), size="5", as_="h2", id="also-liked-heading"
        ),
        suggestion_row(MovieState.also_liked, with_reasons=False, row_id="also-liked-row"),
        id="also-liked",
        aria_labelledby="also-liked-heading",
        width="100%",
    )


def _review(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    zone = get_settings().vote_timezone
    return rx.box(
        rx.hstack(
            rx.text(row["reviewer"], weight="bold", size="2"),
            rx.el.span(
                row["glyphs"],
                role="img",
                aria_label=nt("{n} star", "{n} stars", row["stars"].to(float)),
                class_name="stars-shown",
            ),
            rx.text(day_text(row["at"].to(str), zone), size="1", color_scheme="gray"),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            row["review"] != "",
            rx.text(row["review"], size="2", class_name="review-text", margin_top="0.3em"),
        ),
        class_name="review",
        padding_y="0.8em",
        border_bottom="1px solid var(--gray-a5)",
        width="100%",
    )


def _reviews() -> rx.Component:
    return rx.vstack(
        rx.heading(t("Ratings and reviews"), size="5", as_="h2"),
        rx.cond(
            MovieState.review_total > 0,
            rx.vstack(
                rx.foreach(MovieState.reviews, _review),
                rx.cond(MovieState.review_pages > 1, _review_pager()),
                spacing="0",
                width="100%",
            ),
            rx.text(t("Nobody has rated it yet."), color_scheme="gray"),
        ),
        spacing="2",
        width="100%",
        id="reviews",
    )


def _review_pager() -> rx.Component:
    return rx.hstack(
        rx.button(
            t("Previous"),
            on_click=MovieState.go_to_reviews(MovieState.review_page - 1),
            disabled=MovieState.review_page <= 1,
            variant="soft",
        ),
        rx.text(
            t(
                "Page {page} of {count}",
                page=number_text(MovieState.review_page),
                count=number_text(MovieState.review_pages),
            ),
            size="2",
        ),
        rx.button(
            t("Next"),
            on_click=MovieState.go_to_reviews(MovieState.review_page + 1),
            disabled=MovieState.review_page >= MovieState.review_pages,
            variant="soft",
        ),
        justify="center",
        align="center",
        spacing="4",
        width="100%",
        padding_top="0.8em",
    )


def _standing() -> rx.Component:
    """This month's votes and rank; the ratings' mean and count."""
    return rx.vstack(
        rx.text(
            rx.cond(
                MovieState.month_rank > 0,
                t(
                    "#{rank} this month · {votes}",
                    rank=number_text(MovieState.month_rank),
                    votes=nt("{n} vote", "{n} votes", MovieState.month_votes),
                ),
                rx.cond(
                    MovieState.ranked_full,
                    t("Not among this month's 100 most voted movies"),
                    t("No votes yet this month"),
                ),
            ),
            id="month-standing",
            size="3",
        ),
        rx.cond(
            MovieState.rating_count > 0,
            rx.hstack(
                rx.text(
                    number_text(MovieState.rating_average),
                    rx.el.span(" ", t("out of 5"), class_name="visually-hidden"),
                    size="7",
                    weight="bold",
                    id="rating-average",
                ),
                rx.vstack(
                    rx.el.span(
                        "★", class_name="stars-shown", aria_hidden="true", font_size="1.4em"
                    ),
                    rx.text(
                        nt("{n} rating", "{n} ratings", MovieState.rating_count),
                        size="2",
                        color_scheme="gray",
                        id="rating-count",
                    ),
                    spacing="0",
                ),
                align="center",
                spacing="3",
                id="rating-summary",
            ),
            rx.text(t("No ratings yet"), color_scheme="gray", id="rating-summary"),
        ),
        spacing="2",
        align="start",
    )


def _details() -> rx.Component:
    movie = MovieState.movie
    return rx.flex(
        rx.image(
            src=poster_src(movie.to(dict)),
            alt=t("Poster of {title}", title=movie["title"].to(str)),
            width=rx.breakpoints(initial="100%", sm="16em"),
            max_width="20em",
            height="auto",
            aspect_ratio="2 / 3",
            object_fit="cover",
            border_radius="var(--radius-3)",
            background="var(--gray-a3)",
            flex_shrink="0",
        ),
        rx.vstack(
            rx.heading(movie["title"].to(str), size="8", as_="h1", id="movie-title"),
            rx.cond(
                movie["original_title"].to(str) != movie["title"].to(str),
                rx.text(
                    t("Original title: {title}", title=movie["original_title"].to(str)),
                    color_scheme="gray",
                    id="original-title",
                ),
            ),
            rx.text(
                movie["year"].to(str),
                " · ",
                genre_list_text(movie["genres"]),
                color_scheme="gray",
            ),
            rx.text(movie["overview"].to(str), size="3", max_width="40em"),
            _standing(),
            spacing="3",
            align="start",
        ),
        direction=rx.breakpoints(initial="column", sm="row"),
        spacing="5",
        width="100%",
    )


def movie_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.link(t("← All movies"), href="/", size="2"),
            rx.cond(
                MovieState.missing,
                rx.vstack(
                    rx.heading(t("There is no such movie."), size="7", as_="h1"),
                    rx.link(t("Browse the movies"), href="/"),
                    id="movie-missing",
                ),
                rx.cond(
                    MovieState.loaded,
                    rx.vstack(
                        _details(),
                        _my_rating(),
                        rx.cond(MovieState.also_liked.length() > 0, _also_liked()),
                        _reviews(),
                        spacing="5",
                        width="100%",
                    ),
                    rx.text(t("Loading the movie…"), color_scheme="gray"),
                ),
            ),
            # mounted again when the language changes: the texts are read in the new one
            rx.box(key=LANG, on_mount=MovieState.relabel, display="none"),
            rx.el.style(STARS_CSS),
            spacing="4",
            width="100%",
        )
    )
