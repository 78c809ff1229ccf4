"""The lobby screen: this month's top 10, full-screen and dark, updating by itself for days."""

from __future__ import annotations

import base64
import io
import logging
import time
from typing import Any

import reflex as rx
import segno

from movievote.components.clock import clock
from movievote.components.i18n import LANG, month_text, nt, number_text, percent_text, t
from movievote.languages import LANGUAGES
from movievote.live import LiveRanking, announcer, row_title
from movievote.models import Winner
from movievote.pages.winners import winner_rows
from movievote.root import get_root
from movievote.services import published

logger = logging.getLogger(__name__)

ROW_SIZE = "min(4.5vh, 6vw)"  # readable from five metres on a TV, still fits a phone's width
SMALL_SIZE = "min(3vh, 4vw)"
KEEPALIVE_MS = 30_000  # re-link this often (a reconnect re-links at once, by itself)
WINNER_CHECK_MS = 60_000  # whether last month's movie may have changed (a clock check)

ROW_CSS = """
@keyframes mv-rise { from { transform: translateY(0.6em); opacity: 0.2 } to { transform: none; opacity: 1 } }
.mv-row { animation: mv-rise 0.6s ease-out; }
@media (prefers-reduced-motion: reduce) { .mv-row { animation: none; } }
"""


def qr_svg_data_uri(url: str) -> str:
    """A QR code of `url` as an SVG data URI (light on dark, for the screen)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=8, dark="#f5f5f5", light="#111111", border=2
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


class DisplayState(rx.State):
    """Per screen: the QR code of the voting page, on the address the screen itself uses,
    and last month's movie. That one is read on load and again only when it may have changed
    (a month ends, a result comes out): a vote costs it nothing."""

    qr: str = ""
    vote_url: str = ""
    winner: dict[str, Any] = {}  # last month's movie (`winner_rows`), or {}
    _winner_until: float = 0.0  # a timestamp: read it again from then on

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        origin = self.router.url.origin
        self.vote_url = f"{origin}/"
        self.qr = qr_svg_data_uri(self.vote_url)
        await self._read_winner()
        return LiveRanking.link

    @rx.event
    async def check_winner(self, _tick: str = "") -> None:
        """From the screen's slow timer: nothing, unless what was read has run out."""
        if time.time() >= self._winner_until:
            await self._read_winner()

    async def _read_winner(self) -> None:
        root = get_root()
        read: dict[str, list[Winner]] = {}
        try:
            for language in LANGUAGES:
                winner, until = await published.last_month_winner(
                    language=language, settings=root.settings, db=root.db
                )
                read[language] = [winner] if winner is not None else []
        except Exception:  # the database is away: keep what the screen shows, retry soon
            logger.warning("could not read last month's winner", exc_info=True)
            self._winner_until = time.time() + WINNER_CHECK_MS / 1000
            return
        rows = winner_rows(read)
        self.winner = rows[0] if rows else {}
        self._winner_until = until.timestamp()


def _row(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.hstack(
        rx.text(row["rank"], font_size=ROW_SIZE, font_weight="800", width="2.2em", color="#fbbf24"),
        rx.text(
            row_title(row),
            font_size=ROW_SIZE,
            font_weight="600",
            flex="1",
            min_width="0",  # let a long title shrink to its ellipsis
            white_space="nowrap",
            line_height="1.35",
            overflow="hidden",
            text_overflow="ellipsis",
        ),
        rx.text(
            number_text(row["votes"]), font_size=ROW_SIZE, font_weight="700", class_name="votes"
        ),
        rx.text(
            percent_text(row["share"]),
            font_size=SMALL_SIZE,
            color="#a3a3a3",
            width="4.5em",
            text_align="right",
        ),
        key=row["id"].to(str) + "-" + row["votes"].to(str),  # re-mount (and animate) on a change
        class_name="mv-row display-row",
        width="100%",
        align="center",
        padding_y="0.6vh",
        border_bottom="1px solid #262626",
    )


def _last_winner() -> rx.Component:
    """Last month's movie ("Movie of October: Jaws · 42 votes"), when it has one."""
    winner = DisplayState.winner
    return rx.cond(
        DisplayState.winner.contains("month"),  # type: ignore[attr-defined]
        rx.hstack(
            rx.icon("trophy", size=28, color="#fbbf24"),
            rx.text(
                t(
                    "Movie of {month}: {title}",
                    month=month_text(winner["month"].to(str), year=False),
                    title=row_title(winner),
                ),
                " · ",
                nt("{n} vote", "{n} votes", winner["votes"].to(int)),
                font_size="2.6vh",
                font_weight="600",
                color="#fbbf24",
                id="display-winner",
            ),
            align="center",
            spacing="3",
        ),
    )


def display_page() -> rx.Component:
    return rx.box(
        rx.el.style(ROW_CSS),
        rx.flex(  # a TV: the ranking beside the code; a phone held upright: one under the other
            rx.vstack(
                rx.text(t("movievote · top 10 of the month"), font_size="3vh", color="#a3a3a3"),
                _last_winner(),
                rx.cond(
                    LiveRanking.updated_at == "",
                    rx.text(t("Loading the ranking…"), font_size="4vh"),
                    rx.cond(
                        LiveRanking.month_rows.length() > 0,
                        rx.vstack(
                            rx.foreach(LiveRanking.month_rows, _row), width="100%", spacing="0"
                        ),
                        rx.text(
                            t("No votes yet this month. Scan the code and be the first!"),
                            font_size="4vh",
                        ),
                    ),
                ),
                width=rx.breakpoints(initial="100%", md="68%"),
                spacing="3",
            ),
            rx.vstack(
                rx.image(
                    src=DisplayState.qr,
                    alt=t("QR code of the voting page"),
                    width="30vh",
                    height="30vh",
                ),
                rx.text(t("Scan to vote"), font_size="3.5vh", font_weight="700"),
                rx.text(DisplayState.vote_url, font_size="2vh", color="#a3a3a3"),
                rx.cond(
                    LiveRanking.updated_at != "",  # not on the pre-rendered page
                    rx.vstack(
                        rx.text(
                            nt(
                                "{n} vote this month",
                                "{n} votes this month",
                                LiveRanking.month_total,
                            ),
                            font_size="3vh",
                            id="display-total",
                        ),
                        clock(
                            LiveRanking.closes_at,
                            template=t("Voting closes in {}"),
                            font_size="2.5vh",
                            text_align="center",
                            color="#a3a3a3",
                            id="display-countdown",
                        ),
                        clock(
                            LiveRanking.updated_at,
                            counting="since",
                            template=t("Updated {} ago"),
                            font_size="2vh",
                            color="#8a8a8a",
                            id="display-freshness",
                        ),
                        align="center",
                    ),
                ),
                align="center",
                spacing="3",
                width=rx.breakpoints(initial="100%", md="30%"),
            ),
            direction=rx.breakpoints(initial="column", md="row"),
            align="start",
            gap="6",
            width="100%",
        ),
        announcer("month"),  # what moved, for a screen reader
        rx.moment(interval=KEEPALIVE_MS, on_change=LiveRanking.link, display="none"),
        rx.moment(interval=WINNER_CHECK_MS, on_change=DisplayState.check_winner, display="none"),
        background_color="#0a0a0a",
        color="#f5f5f5",
        min_height="100vh",
        padding="4vh 4vw",
        font_family="system-ui, sans-serif",
        lang=LANG,
    )
