"""A movie in the grid: poster (or a tidy placeholder), title, year, genres, Vote button."""

from __future__ import annotations

import reflex as rx


def initials_of(title: str) -> str:
    """What a poster placeholder shows: "The Godfather" -> "TG", "12 Angry Men" -> "12"."""
    words = [w for w in title.split() if w[:1].isalnum()]
    text = words[0][:3] if words and words[0].isdigit() else "".join(w[0] for w in words[:2])
    return text.upper() or "?"


def poster(
    movie: rx.vars.ObjectVar[dict[str, str]], height: str = "16em", text_size: str = "8"
) -> rx.Component:
    return rx.cond(
        movie["poster_url"] != "",
        rx.image(
            src=movie["poster_url"],
            alt="Poster of " + movie["title"].to(str),
            width="100%",
            height=height,
            object_fit="cover",
            border_radius="var(--radius-3)",
            loading="lazy",
        ),
        rx.center(
            rx.text(movie["initials"], size=text_size, weight="bold", color="var(--accent-11)"),
            width="100%",
            height=height,
            border_radius="var(--radius-3)",
            background="linear-gradient(135deg, var(--accent-3), var(--accent-6))",
            aria_hidden="true",
        ),
    )


def movie_card(
    movie: rx.vars.ObjectVar[dict[str, str]],
    *,
    on_vote: rx.EventHandler,
    disabled: rx.Var[bool],
    reason: rx.Var[str],
) -> rx.Component:
    return rx.card(
        rx.vstack(
            poster(movie),
            rx.heading(movie["title"], size="3", as_="h3", trim="start"),
            rx.text(movie["year"], " · ", movie["genres"], size="1", color_scheme="gray"),
            rx.spacer(),
            rx.button(
                "Vote",
                on_click=on_vote(movie["id"]),  # type: ignore[operator]
                disabled=disabled,
                title=reason,
                width="100%",
                aria_label="Vote for " + movie["title"],
                class_name="vote-button",
            ),
            spacing="2",
            height="100%",
        ),
        class_name="movie-card",
        height="100%",
    )
