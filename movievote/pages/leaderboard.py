"""The public leaderboard: this month (live), all time (live) and each past month."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import reflex as rx

from movievote.components.i18n import month_text, nt, number_text, percent_text, t
from movievote.components.layout import page
from movievote.components.movie_card import poster_src
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.live import TOP, LiveRanking, announcer, row_title, rows_of, titles_of
from movievote.periods import current_period, format_period, parse_scope
from movievote.root import Root, get_root
from movievote.services import ranking, ranking_cache

KEEPALIVE_MS = 60_000  # a person's page: re-link every minute (a screen: display.KEEPALIVE_MS)


PAST_MONTHS = "leaderboard_past_months"  # its key in the root's extras
PAST_MONTHS_SECONDS = 60.0


async def past_months(root: Root) -> list[str]:
    """The months before this one that have votes, newest first ("YYYY-MM"), read at most
    once a minute per process: every page load asks, and a restart reloads every open page at
    once (2,000 queries in a few seconds, when the database has connections to spare for
    them). They change when a month ends (the cache is per month) or, rarely, when a past
    month's last vote is taken away (seen within the minute)."""
    current = format_period(current_period(root.settings.zone))
    now = time.monotonic()
    cached = root.extras.get(PAST_MONTHS)
    if isinstance(cached, tuple) and cached[0] == current and cached[1] > now:
        return list(cached[2])
    months = [
        format_period(p)
        for p in await ranking.periods_with_votes(db=root.db)
        if format_period(p) != current
    ]
    root.extras[PAST_MONTHS] = (current, now + PAST_MONTHS_SECONDS, months)
    return list(months)


class LeaderboardState(rx.State):
    """Which ranking this visitor looks at; past months are read once, they do not change."""

    scope: str = "current"
    months: list[str] = []
    past_total: int = 0
    past_rows: list[dict[str, Any]] = []

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        self.months = await past_months(get_root())
        return LiveRanking.link

    @rx.event
    async def set_scope(self, value: str) -> None:
        try:
            scope = parse_scope(value)  # one parser for the pages and the API
        except ValueError:
            return  # not a choice the page offers: keep showing what it shows
        self.scope = value
        if isinstance(scope, date):  # a past month (this month and all time are live)
            root = get_root()
            boards = {
                language: await ranking_cache.ranking_for(
                    scope, limit=TOP, language=language, cache=root.cache, zone=root.settings.zone
                )
                for language in LANGUAGES
            }
            board = boards[DEFAULT_LANGUAGE]
            titles = titles_of({language: (b,) for language, b in boards.items()})
            self.past_total, self.past_rows = board.total_votes, rows_of(board, titles)


# The table is plain HTML styled here: every vote re-renders every row (each share changes), and
# plain elements cost a page a fifth less main thread per update than Radix's table components
# (measured, docs/performance.md), which adds up with many screens open.
RANKING_CSS = """
.ranking-scroll { width: 100%; overflow-x: auto; }
.ranking { width: 100%; border-collapse: collapse; font-size: var(--font-size-2);
  line-height: var(--line-height-2); }
.ranking th, .ranking td { padding: var(--space-3); text-align: left; vertical-align: middle;
  border-bottom: 1px solid var(--gray-a5); }
.ranking th { font-weight: var(--font-weight-bold); }
@media (max-width: 30em) { .ranking th, .ranking td { padding: var(--space-2); } }
.ranking tr > :not(:nth-child(3)) { width: 1%; white-space: nowrap; }
.ranking tr > :nth-child(n+4) { text-align: right; font-variant-numeric: tabular-nums; }
.ranking .poster { display: block; width: 2.5em; min-width: 2.5em; max-width: none;
  height: 3.75em; object-fit: cover; border-radius: var(--radius-2); will-change: transform; }
.ranking .title { font-weight: var(--font-weight-medium); }
.ranking .year { font-size: var(--font-size-1); color: var(--gray-a11); }
.bars { display: grid; gap: var(--space-2); width: 100%; padding: var(--space-1) 0; }
.bar { display: grid; grid-template-columns: minmax(0, 170px) 1fr minmax(2ch, auto);
  align-items: center; gap: var(--space-2); font-size: 13px; color: var(--gray-11); }
.bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: right; }
.bar-fill { display: block; height: 18px; background: var(--accent-9); transform-origin: left;
  border-radius: 0 var(--radius-1) var(--radius-1) 0; will-change: transform; }
.bar-value { font-variant-numeric: tabular-nums; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  border: 0; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
"""


def _row(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.el.tr(
        rx.el.th(row["rank"], scope="row"),
        rx.el.td(
            rx.el.img(
                src=poster_src(row),
                alt="",  # the title is in the next cell: do not read it twice
                loading="lazy",
                class_name="poster",
            )
        ),
        rx.el.td(
            rx.el.div(row_title(row), class_name="title"),
            rx.el.div(row["year"], class_name="year"),
        ),
        rx.el.td(number_text(row["votes"]), class_name="votes"),
        rx.el.td(percent_text(row["share"])),
        key=row["id"],  # a movie keeps its row (and its poster) when the order changes
        class_name="ranking-row",
    )


def ranking_table(rows: rx.Var) -> rx.Component:
    """Rank, poster, title and year, votes, share (`rows_of`'s rows; style: RANKING_CSS)."""
    return rx.el.div(
        rx.el.table(
            rx.el.thead(
                rx.el.tr(
                    rx.el.th(t("Rank"), scope="col"),
                    rx.el.th(rx.el.span(t("Poster"), class_name="visually-hidden"), scope="col"),
                    rx.el.th(t("Movie"), scope="col"),
                    rx.el.th(t("Votes"), scope="col"),
                    rx.el.th(t("Share"), scope="col"),
                )
            ),
            rx.el.tbody(rx.foreach(rows, _row)),
            class_name="ranking",
            id="ranking-table",
            aria_label=t("Ranking"),
        ),
        class_name="ranking-scroll",
    )


def _bar(row: rx.vars.ObjectVar[dict[str, Any]], most: rx.Var[int]) -> rx.Component:
    """One movie's bar: its title, the bar (its length the movie's votes against the
    leader's, drawn by a transform: no layout when it changes) and its votes."""
    scale: rx.Var[dict[str, str]] = rx.Var(
        f"({{transform: `scaleX(${{({row})?.votes / ({most})}})`}})"
    )
    return rx.el.div(
        rx.el.span(row_title(row), class_name="bar-label"),
        rx.el.span(rx.el.span(class_name="bar-fill", custom_attrs={"style": scale})),
        rx.el.span(number_text(row["votes"]), class_name="bar-value"),
        key=row["id"],  # a movie keeps its bar when the order changes: moved, not redrawn
        class_name="bar",
    )


def _chart(rows: rx.Var) -> rx.Component:
    """Horizontal bars named by their movies, longest for the leader: plain elements styled
    by RANKING_CSS. A chart library (recharts) cost each page about 5 ms of main thread at
    every update, re-creating its SVG (docs/performance.md); the table below has the numbers,
    so the chart is one image to a screen reader."""
    most: rx.Var[int] = rx.Var(f"Math.max(1, ({rows})?.[0]?.votes ?? 1)", _var_type=int)
    return rx.el.div(
        rx.foreach(rows, lambda row: _bar(row, most)),
        id="ranking-chart",
        class_name="bars",
        role="img",
        aria_label=t("Votes per movie (the table below has the numbers)"),
    )


def _board(rows: rx.Var, total: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(nt("{n} vote", "{n} votes", total), id="ranking-total", color_scheme="gray"),
        rx.cond(
            rows.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                _chart(rows),
                ranking_table(rows),
                width="100%",
            ),
            rx.text(t("No votes yet."), id="no-votes"),
        ),
        width="100%",
        spacing="3",
    )


def leaderboard_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading(t("Leaderboard"), size="8", as_="h1"),
            rx.select.root(
                rx.select.trigger(aria_label=t("Which ranking")),
                rx.select.content(
                    rx.select.item(t("This month"), value="current"),
                    rx.select.item(t("All time"), value="all"),
                    rx.foreach(
                        LeaderboardState.months,
                        lambda m: rx.select.item(month_text(m), value=m),
                    ),
                ),
                value=LeaderboardState.scope,
                on_change=LeaderboardState.set_scope,
            ),
            rx.cond(
                LiveRanking.updated_at == "",  # the pre-rendered page, before the live data
                rx.text(t("Loading the ranking…"), color_scheme="gray", id="ranking-loading"),
                rx.match(
                    LeaderboardState.scope,
                    ("current", _board(LiveRanking.month_rows, LiveRanking.month_total)),
                    ("all", _board(LiveRanking.all_rows, LiveRanking.all_total)),
                    _board(LeaderboardState.past_rows, LeaderboardState.past_total),
                ),
            ),
            # what moved in the ranking shown (a past month never moves)
            announcer(
                rx.match(LeaderboardState.scope, ("current", "month"), ("all", "all"), "none")
            ),
            rx.moment(interval=KEEPALIVE_MS, on_change=LiveRanking.link, display="none"),
            rx.el.style(RANKING_CSS),
            spacing="4",
            width="100%",
        )
    )
