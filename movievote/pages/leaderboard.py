"""The public leaderboard: this month (live), all time (live) and each past month."""

from __future__ import annotations

from typing import Any

import reflex as rx

from movievote.components.layout import page
from movievote.components.movie_card import poster
from movievote.pages.live import TOP, LiveRanking, rows_of
from movievote.periods import ALL_TIME, format_period, parse_period
from movievote.services import ranking
from movievote.services.voting import current_period

KEEPALIVE_MS = 60_000  # a person's page: re-link every minute (a screen: display.KEEPALIVE_MS)


class LeaderboardState(rx.State):
    """Which ranking this visitor looks at; past months are read once, they do not change."""

    scope: str = "current"
    months: list[str] = []
    past_total: int = 0
    past_rows: list[dict[str, Any]] = []

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        current = format_period(current_period())
        self.months = [
            format_period(p)
            for p in await ranking.periods_with_votes()
            if format_period(p) != current
        ]
        return LiveRanking.link

    @rx.event
    async def set_scope(self, value: str) -> None:
        self.scope = value
        if value not in ("current", ALL_TIME):
            board = await ranking.ranking_for(parse_period(value), limit=TOP)
            self.past_total, self.past_rows = board.total_votes, rows_of(board)


def _row(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text("#", row["rank"], weight="bold")),
        rx.table.cell(rx.box(poster(row, height="3.5em", text_size="2"), width="2.5em")),
        rx.table.cell(
            rx.text(row["title"], weight="medium"),
            rx.text(row["year"], size="1", color_scheme="gray"),
        ),
        rx.table.cell(rx.text(row["votes"], class_name="votes")),
        rx.table.cell(row["share"]),
        class_name="ranking-row",
    )


def _board(rows: rx.Var, total: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(
            total, rx.cond(total == 1, " vote", " votes"), id="ranking-total", color_scheme="gray"
        ),
        rx.cond(
            rows.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rx.recharts.bar_chart(
                    rx.recharts.bar(
                        data_key="votes", fill="var(--accent-9)", is_animation_active=False
                    ),
                    rx.recharts.x_axis(data_key="title", hide=True),
                    rx.recharts.y_axis(allow_decimals=False, width=40),
                    rx.recharts.graphing_tooltip(),
                    data=rows,
                    width="100%",
                    height=220,
                ),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Rank"),
                            rx.table.column_header_cell(""),
                            rx.table.column_header_cell("Movie"),
                            rx.table.column_header_cell("Votes"),
                            rx.table.column_header_cell("Share"),
                        )
                    ),
                    rx.table.body(rx.foreach(rows, _row)),
                    width="100%",
                    id="ranking-table",
                ),
                width="100%",
            ),
            rx.text("No votes yet.", id="no-votes"),
        ),
        width="100%",
        spacing="3",
    )


def leaderboard_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading("Leaderboard", size="8", as_="h1"),
            rx.select.root(
                rx.select.trigger(aria_label="Which ranking"),
                rx.select.content(
                    rx.select.item("This month", value="current"),
                    rx.select.item("All time", value="all"),
                    rx.foreach(LeaderboardState.months, lambda m: rx.select.item(m, value=m)),
                ),
                value=LeaderboardState.scope,
                on_change=LeaderboardState.set_scope,
            ),
            rx.cond(
                LiveRanking.updated_at == "",  # the pre-rendered page, before the live data
                rx.text("Loading the ranking…", color_scheme="gray", id="ranking-loading"),
                rx.match(
                    LeaderboardState.scope,
                    ("current", _board(LiveRanking.month_rows, LiveRanking.month_total)),
                    ("all", _board(LiveRanking.all_rows, LiveRanking.all_total)),
                    _board(LeaderboardState.past_rows, LeaderboardState.past_total),
                ),
            ),
            rx.moment(interval=KEEPALIVE_MS, on_change=LiveRanking.link, display="none"),
            spacing="4",
            width="100%",
        )
    )
