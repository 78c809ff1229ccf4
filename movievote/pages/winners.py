"""The hall of fame (`/winners`): the movie of every published month, newest first, each
leading to its month's full result; before the first publication, when it comes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import reflex as rx

from movievote.components.i18n import day_text, month_text, nt, percent_text, t
from movievote.components.layout import page
from movievote.components.movie_card import poster_src
from movievote.config import get_settings
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.live import row_title
from movievote.models import Winner
from movievote.root import get_root
from movievote.services import published, results

WINNERS_CSS = """
.winner-card { height: 100%; }
.winner-card a { color: inherit; text-decoration: none; display: block; height: 100%; }
.winner-poster { display: block; width: 100%; aspect-ratio: 2 / 3; object-fit: cover;
  border-radius: var(--radius-3); background: var(--gray-a3); }
"""


def winner_rows(read: Mapping[str, Sequence[Winner]]) -> list[dict[str, Any]]:
    """Winners (read in each language) as the pages' rows: a page shows the title of its
    language (`row_title`), the poster or the cover (`poster_src`)."""
    titles: dict[str, dict[str, str]] = {}
    for language, winners in read.items():
        for winner in winners:
            titles.setdefault(winner.month, {})[language] = winner.movie.title
    return [
        {
            "month": winner.month,
            "id": winner.movie.id,
            "title": winner.movie.title,
            "titles": titles.get(winner.month, {}),
            "poster_url": winner.movie.poster_url or "",
            "votes": winner.votes,
            "share": winner.share,  # of the month's counted votes, 0 to 1
            "total": winner.total_votes,
        }
        for winner in read[DEFAULT_LANGUAGE]
    ]


class WinnersState(rx.State):
    """The hall of fame as this visitor reads it (published months never change)."""

    winners: list[dict[str, Any]] = []
    loaded: bool = False
    next_due: str = ""  # ISO 8601: when the first result comes out (the empty page says)

    @rx.event
    async def load(self) -> None:
        root = get_root()
        read = {
            language: await published.winners(language=language, db=root.db)
            for language in LANGUAGES
        }
        self.winners = winner_rows(read)
        self.next_due = ""
        if not self.winners:
            _, due = await results.next_publication(settings=root.settings, db=root.db)
            self.next_due = due.isoformat()
        self.loaded = True


def result_href(month: rx.Var) -> rx.Var[str]:
    """The page of a month's result."""
    return ("/results/" + month.to(str)).to(str)


def _card(winner: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.card(
        rx.link(
            rx.vstack(
                rx.el.img(
                    src=poster_src(winner),
                    alt="",  # the title is the heading below: do not read it twice
                    loading="lazy",
                    class_name="winner-poster",
                ),
                rx.text(
                    month_text(winner["month"].to(str)),
                    size="2",
                    weight="medium",
                    color_scheme="amber",
                    class_name="winner-month",
                ),
                rx.heading(row_title(winner), size="4", as_="h2", class_name="winner-title"),
                rx.text(
                    nt("{n} vote", "{n} votes", winner["votes"].to(int)),
                    " · ",
                    t(
                        "{share} of the month's votes",
                        share=percent_text(winner["share"].to(float)),
                    ),
                    size="2",
                    color_scheme="gray",
                ),
                rx.text(t("See the full result"), size="2", color_scheme="blue"),
                spacing="2",
            ),
            href=result_href(winner["month"]),
        ),
        class_name="winner-card",
    )


def winners_page() -> rx.Component:
    zone = get_settings().vote_timezone
    return page(
        rx.vstack(
            rx.el.style(WINNERS_CSS),
            rx.heading(t("Hall of fame"), size="8", as_="h1"),
            rx.text(
                t(
                    "The movie of every month, as the members voted. Each result is final, "
                    "and anyone can check it."
                ),
                color_scheme="gray",
            ),
            rx.cond(
                WinnersState.loaded,
                rx.box(
                    rx.cond(
                        WinnersState.winners.length() > 0,  # type: ignore[attr-defined]
                        rx.grid(
                            rx.foreach(WinnersState.winners, _card),
                            columns=rx.breakpoints(initial="2", sm="3", md="4"),
                            spacing="4",
                            width="100%",
                            id="winners",
                        ),
                        rx.callout(
                            t(
                                "The first movie of the month will be here on {day}.",
                                day=day_text(WinnersState.next_due, zone),
                            ),
                            icon="trophy",
                            id="winners-empty",
                        ),
                    ),
                    width="100%",
                    id="hall-of-fame",
                ),
                rx.text(t("Loading…"), color_scheme="gray"),
            ),
            rx.link(t("Every month's full result"), href="/results", id="results-link"),
            spacing="4",
            width="100%",
        )
    )
