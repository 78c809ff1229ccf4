"""The public leaderboard: this month (live), all time (live) and each past month."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from movievote.components.layout import page
from movievote.components.movie_card import initials_of, poster
from movievote.config import get_settings
from movievote.models import Ranking
from movievote.periods import ALL_TIME, format_period, next_vote_opens, parse_period
from movievote.services import ranking
from movievote.services.observer import RankingChange
from movievote.services.voting import current_period

LIVE_TOKEN = "movievote-live-ranking"  # the shared state every live screen links to
TOP = 10
KEEPALIVE_MS = 60_000  # a person's page: re-link every minute (a screen: display.KEEPALIVE_MS)


def rows_of(board: Ranking) -> list[dict[str, Any]]:
    rows = []
    for entry in board.items:
        rows.append(
            {
                "rank": entry.rank,
                "id": entry.movie.id,
                "title": entry.movie.title,
                "year": str(entry.movie.year or ""),
                "votes": entry.votes,
                "share": f"{entry.share * 100:.1f}%",
                "poster_url": entry.movie.poster_url or "",
                "initials": initials_of(entry.movie.title),
            }
        )
    return rows


class LiveRanking(rx.SharedState):
    """The current month's and the all-time top 10, shared by every linked browser. Always SET
    from the service (never incremented here), so a missed update heals with the next one."""

    month: str = ""  # YYYY-MM
    month_total: int = 0
    month_rows: list[dict[str, Any]] = []
    all_total: int = 0
    all_rows: list[dict[str, Any]] = []
    updated_at: str = ""  # ISO 8601, when the ranking was computed
    closes_at: str = ""  # ISO 8601, when this month's voting closes

    def shows(self, month: Ranking, all_time: Ranking) -> bool:
        """Whether this state already holds these rankings (nothing to push)."""
        return (
            self.month == month.period
            and self.month_total == month.total_votes
            and self.all_total == all_time.total_votes
            and self.month_rows == rows_of(month)
            and self.all_rows == rows_of(all_time)
        )

    def apply(self, month: Ranking, all_time: Ranking) -> None:
        self.month = month.period
        self.month_total = month.total_votes
        self.month_rows = rows_of(month)
        self.all_total = all_time.total_votes
        self.all_rows = rows_of(all_time)
        self.updated_at = max(month.generated_at, all_time.generated_at).isoformat()
        period = parse_period(month.period)
        self.closes_at = next_vote_opens(period, get_settings().zone).isoformat()

    @rx.event
    async def link(self, _tick: str = "") -> None:
        """Join the live ranking, filling it from the service when it is empty (new server,
        expired state) or last month's. Live pages call this on load and then every few
        seconds: Reflex forgets a state nobody wrote for `redis_token_expiration` seconds, and
        any event of a linked client re-registers it with the shared state (REFLEX_NOTES 2)."""
        shared = await self._link_to(LIVE_TOKEN)
        if shared.month != format_period(current_period()):
            shared.apply(*await latest())


async def latest() -> tuple[Ranking, Ranking]:
    return await ranking.ranking_for(None, limit=TOP), await ranking.ranking_for("all", limit=TOP)


class LivePush:
    """Ranking observer: after each change, set the shared live ranking (pushed to every
    linked browser by Reflex) from the freshly refreshed cache. With many workers each one
    hears every change; the first sets the state and the others find it already current, so
    browsers get one update per change, not one per worker."""

    def __init__(self, app: rx.App) -> None:
        self.app = app
        self.pushes = 0

    async def ranking_changed(self, change: RankingChange) -> None:
        month, all_time = await latest()
        token = rx.BaseStateToken(ident=LIVE_TOKEN, cls=LiveRanking)
        async with self.app.modify_state(token) as root:
            live = await root.get_state(LiveRanking)
            if live.shows(month, all_time):
                return
            live.apply(month, all_time)
            self.pushes += 1


async def run_live_push(app: rx.App) -> None:
    """Lifespan task: keep a LivePush subscribed to this process's ranking subject."""
    from movievote import bootstrap

    subject, observer = bootstrap.get_ranking_subject(), LivePush(app)
    subject.subscribe(observer)
    try:
        await asyncio.Event().wait()
    finally:
        subject.unsubscribe(observer)


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
        rx.text(total, " votes", id="ranking-total", color_scheme="gray"),
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
