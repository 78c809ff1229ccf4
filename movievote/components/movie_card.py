"""A movie in the grid: poster (the real one, or a cover designed from the title, year and
genre), title (a link to the movie's page), year, genres, its ratings, Vote button."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import VarData

from movievote.components.i18n import LANG, genre_list_text, nt, number_text, t

# Where the API answers: the page's own origin in production, the backend's port under the
# development server (whose pages come from Vite, which does not pass /api on)
BACKEND_ORIGIN = rx.Var(
    _js_expr="getBackendURL(env.PING).origin",
    _var_data=VarData(
        imports={
            "$/utils/state": "getBackendURL",
            "$/env.json": ImportVar(tag="env", is_default=True),
        }
    ),
).to(str)


def poster_src(movie: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Var[str]:
    """The movie's poster, or its generated cover (`/api/movies/{id}/poster.svg`, in the
    page's language: the cover carries the title people know)."""
    cover: rx.Var[str] = rx.Var(
        f"({BACKEND_ORIGIN}) + '/api/movies/' + ({movie['id']}) + '/poster.svg?language=' + "
        f"encodeURIComponent({LANG})",
        _var_type=str,
    )
    return rx.cond(movie["poster_url"] != "", movie["poster_url"], cover).to(str)


def poster(movie: rx.vars.ObjectVar[dict[str, Any]], height: str = "16em") -> rx.Component:
    return rx.image(
        src=poster_src(movie),
        alt=t("Poster of {title}", title=movie["title"]),
        width="100%",
        height=height,
        object_fit="cover",
        border_radius="var(--radius-3)",
        loading="lazy",
        background="var(--gray-a3)",
    )


def movie_card(
    movie: rx.vars.ObjectVar[dict[str, Any]],
    *,
    on_vote: rx.EventHandler,
    disabled: rx.Var[bool],
    reason: rx.Var[str],
) -> rx.Component:
    return rx.card(
        rx.vstack(
            poster(movie),
            rx.heading(
                rx.link(
                    movie["title"], href="/movies/" + movie["id"].to(str), class_name="movie-link"
                ),
                size="3",
                as_="h3",
                trim="start",
            ),
            rx.text(
                movie["year"],
                " · ",
                genre_list_text(movie["genres"]),
                size="1",
                color_scheme="gray",
            ),
            rx.cond(
                movie["rating_count"].to(int) > 0,
                rx.text(
                    rx.el.span("★ ", aria_hidden="true", color="var(--amber-11)"),
                    nt(
                        "{average} from {n} rating",
                        "{average} from {n} ratings",
                        movie["rating_count"].to(int),
                        average=number_text(movie["rating_average"]),
                    ),
                    size="1",
                    class_name="card-rating",
                ),
            ),
            rx.spacer(),
            rx.button(
                t("Vote"),
                on_click=on_vote(movie["id"]),  # type: ignore[operator]
                disabled=disabled,
                title=reason,
                width="100%",
                aria_label=t("Vote for {title}", title=movie["title"]),
                class_name="vote-button",
            ),
            spacing="2",
            height="100%",
        ),
        class_name="movie-card",
        height="100%",
    )


def reason_text(movie: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Var:
    """Why a movie is recommended, in the page's language ("Because you liked Parasite")."""
    title, kind = movie["reason_title"].to(str), movie["reason_kind"].to(str)
    # conds, not rx.match: a match drops what its texts read (the page's language), so a
    # switch of language would not redraw them
    return rx.cond(
        kind == "liked",
        t("Because you liked {title}", title=title),
        rx.cond(
            kind == "voted",
            t("Because you voted for {title}", title=title),
            rx.cond(
                kind == "most_voted",
                t("Among this month's most voted"),
                t("Among the top rated"),
            ),
        ),
    )


def small_card(
    movie: rx.vars.ObjectVar[dict[str, Any]], *, reason: rx.Var | None = None
) -> rx.Component:
    """A movie in a row of suggestions: poster, title (a link to its page), year, and why it
    is suggested when there is a reason to say."""
    shown: list[rx.Component] = [
        poster(movie, height="12em"),
        rx.link(
            movie["title"],
            href="/movies/" + movie["id"].to(str),
            class_name="movie-link",
            weight="medium",
            size="2",
        ),
        rx.text(movie["year"], size="1", color_scheme="gray"),
    ]
    if reason is not None:
        shown.append(rx.text(reason, size="1", class_name="suggestion-reason"))
    return rx.card(
        rx.vstack(*shown, spacing="1"),
        class_name="suggestion-card",
        width="10em",
        min_width="10em",
        flex_shrink="0",
    )


def suggestion_row(movies: rx.Var, *, with_reasons: bool, row_id: str) -> rx.Component:
    """Suggested movies side by side, scrolling sideways when they do not fit."""
    return rx.flex(
        rx.foreach(
            movies,
            lambda movie: small_card(movie, reason=reason_text(movie) if with_reasons else None),
        ),
        spacing="3",
        overflow_x="auto",
        width="100%",
        padding_bottom="0.5em",
        id=row_id,
    )
