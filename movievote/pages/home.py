"""Home: this month's ranking at a glance and the catalogue's size (a first, read-only page)."""

from __future__ import annotations

import reflex as rx

from movievote.services import catalogue, ranking
from movievote.services.voting import current_period


class HomeState(rx.State):
    """What the home page shows, loaded from the service layer."""

    movie_count: int = 0
    month_label: str = ""
    total_votes: int = 0
    top: list[dict[str, str]] = []

    @rx.event
    async def load(self) -> None:
        period = current_period()
        board = await ranking.ranking_for(period, limit=10)
        self.movie_count = await catalogue.count_movies()
        self.month_label = f"{period:%B %Y}"
        self.total_votes = board.total_votes
        self.top = [
            {
                "rank": str(entry.rank),
                "title": entry.movie.title,
                "year": str(entry.movie.year or ""),
                "votes": str(entry.votes),
            }
            for entry in board.items
        ]


def _row(item: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(item["rank"]),
        rx.table.cell(rx.text(item["title"], weight="medium"), rx.text(item["year"], size="1")),
        rx.table.cell(item["votes"]),
    )


def home() -> rx.Component:
    return rx.container(
        rx.color_mode.button(position="top-right"),
        rx.vstack(
            rx.heading("movievote", size="9"),
            rx.text(
                "Vote for your favourite movie once a month and watch the ranking move live.",
                size="5",
            ),
            rx.text(HomeState.movie_count, " movies in the catalogue.", id="movie-count"),
            rx.heading("Top movies of ", HomeState.month_label, size="6"),
            rx.cond(
                HomeState.top.length() > 0,  # type: ignore[attr-defined]
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("#"),
                            rx.table.column_header_cell("Movie"),
                            rx.table.column_header_cell("Votes"),
                        )
                    ),
                    rx.table.body(rx.foreach(HomeState.top, _row)),
                    width="100%",
                ),
                rx.text("No votes yet this month: be the first."),
            ),
            spacing="5",
            padding_y="3em",
        ),
    )
