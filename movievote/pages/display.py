"""The lobby screen: this month's top 10, full-screen and dark, updating by itself for days."""

from __future__ import annotations

import base64
import io
import logging
import re
import time
from datetime import datetime
from typing import Any

import reflex as rx
import segno

from movievote import live
from movievote.components.clock import clock
from movievote.components.i18n import LANG, month_text, nt, number_text, percent_text, t
from movievote.languages import LANGUAGES
from movievote.live import LiveRanking, announcer, get_screen_hub, row_title
from movievote.models import Winner
from movievote.pages.winners import winner_rows
from movievote.root import get_root
from movievote.services import published, screens
from movievote.state import LocaleState

logger = logging.getLogger(__name__)

ROW_SIZE = "min(4.5vh, 6vw)"  # readable from five metres on a TV, still fits a phone's width
SMALL_SIZE = "min(3vh, 4vw)"
KEEPALIVE_MS = 30_000  # re-link this often (a reconnect re-links at once, by itself)
BEAT_MS = screens.BEAT_SECONDS * 1000  # the heartbeat (screen health, pairing code)
# a screen reads its settings this often even unasked: a change whose push it missed (the
# NOTIFY listener was reconnecting; several instances on one SQLite file) reaches it anyway
REIDENTIFY_SECONDS = 60
FAME_MS = 8_000  # the hall of fame shows each winner this long
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


DEVICE_SECRET = re.compile(r"[A-Za-z0-9_-]{32,64}")  # what `screens.new_device_secret` makes


def _instant(text: object) -> datetime | None:
    """An ISO 8601 instant from the browser (the ranking's `updated_at`), or None."""
    try:
        moment = datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


class DisplayState(rx.State):
    """Per screen: the QR code of the voting page, on the address the screen itself uses,
    last month's movie, and what its admins chose for it if it is paired (a board, a language;
    an unpaired one shows its pairing code). Last month's movie is read on load and again
    only when it may have changed (a month ends, a result comes out): a vote costs it
    nothing. A change from the admins' desk arrives as an event pushed down this screen's
    socket (`live.ScreenHub`), and the screen reads its settings again."""

    qr: str = ""
    vote_url: str = ""
    winner: dict[str, Any] = {}  # last month's movie (`winner_rows`), or {}
    _winner_until: float = 0.0  # a timestamp: read it again from then on
    device: str = rx.LocalStorage("", name="movievote_screen")  # this screen's secret
    paired: bool = False
    board: str = "month"
    code: str = ""  # the pairing code, as shown ("ACE-479"), while unpaired
    _code_until: float = 0.0  # a timestamp: ask for a new code from then on
    _screen_id: int = 0
    _identified_at: float = 0.0  # a timestamp: when the settings were last read
    winners: list[dict[str, Any]] = []  # the hall of fame, when the screen shows it
    fame: int = 0  # which of them the rotation shows

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        origin = self.router.url.origin
        self.vote_url = f"{origin}/"
        self.qr = qr_svg_data_uri(self.vote_url)
        await self._identify()
        await self._read_winner()
        return LiveRanking.link

    @rx.event
    async def refresh(self) -> None:
        """Pushed by the admins' desk (through this process's ScreenHub): read the settings."""
        await self._identify()

    @rx.event
    async def beat(self, ranking_at: str = "", user_agent: str = "", resolution: str = "") -> None:
        """The heartbeat, every BEAT_SECONDS and whenever a paired screen gets a new ranking:
        what it shows, its browser and resolution (screen health); a new code when the last
        has expired."""
        now = time.time()
        if (
            not self._screen_id
            or (not self.paired and now >= self._code_until)
            or now - self._identified_at >= REIDENTIFY_SECONDS
        ):
            await self._identify()
            return
        self._register()
        if not self.paired:
            return
        try:
            await screens.beat(
                screen_id=self._screen_id,
                ranking_at=_instant(ranking_at),
                user_agent=str(user_agent),
                resolution=str(resolution),
                db=get_root().db,
                writes=get_root().screen_beats,
            )
        except Exception:  # the database is away: the next beat says it again
            logger.warning("could not record a screen's heartbeat", exc_info=True)

    @rx.event
    def rotate(self, _tick: str = "") -> None:
        """The hall of fame's rotation: the next winner."""
        self.fame = (self.fame + 1) % max(1, len(self.winners))

    async def _identify(self) -> None:
        if not DEVICE_SECRET.fullmatch(str(self.device)):  # none yet (or not one of ours)
            self.device = screens.new_device_secret()
        root = get_root()
        try:
            found = await screens.identify(secret=self.device, db=root.db)
        except Exception:  # the database is away: show what it showed, try at the next beat
            logger.warning("could not identify a screen", exc_info=True)
            return
        self._screen_id, self.paired = found.id, found.paired
        self._identified_at = time.time()
        self.board = found.board
        self.code = screens.code_text(found.code)
        self._code_until = found.code_expires_at.timestamp() if found.code_expires_at else 0.0
        locale = await self.get_state(LocaleState)
        locale.screen = found.language if found.paired else ""
        if found.board == "hall_of_fame":
            await self._read_winners()
        else:
            self.winners, self.fame = [], 0
        self._register()

    def _register(self) -> None:
        hub = get_screen_hub(get_root())
        if hub is not None and self._screen_id:
            hub.register(self._screen_id, self.router.session.client_token)

    async def _read_winners(self) -> None:
        root = get_root()
        try:
            read = {
                language: await published.winners(language=language, db=root.db)
                for language in LANGUAGES
            }
        except Exception:  # the database is away: keep the ones it shows
            logger.warning("could not read the hall of fame", exc_info=True)
            return
        self.winners = winner_rows(read)
        self.fame = 0

    @rx.event
    async def check_winner(self, _tick: str = "") -> None:
        """From the screen's slow timer: nothing, unless what was read has run out."""
        if time.time() >= self._winner_until:
            await self._read_winner()
            if self.board == "hall_of_fame":
                await self._read_winners()

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


async def run_screen_hub(app: rx.App) -> None:
    """Lifespan task: this process's paired screens hear the admins' desk."""
    await live.run_screen_hub(
        app,
        {
            "settings": lambda: DisplayState.refresh,
            "reload": lambda: rx.call_script("window.location.reload()"),
        },
    )


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


USER_AGENT: rx.Var[str] = rx.Var("navigator.userAgent", _var_type=str)
RESOLUTION: rx.Var[str] = rx.Var("`${window.screen.width}x${window.screen.height}`", _var_type=str)


def _beat() -> Any:
    return DisplayState.beat(LiveRanking.updated_at, USER_AGENT, RESOLUTION)  # type: ignore[call-arg]


def _heading() -> rx.Component:
    return rx.text(
        rx.match(
            DisplayState.board,
            ("all_time", t("movievote · top 10 of all time")),
            ("winner", t("movievote · the movie of the month")),
            ("hall_of_fame", t("movievote · hall of fame")),
            t("movievote · top 10 of the month"),
        ),
        font_size="3vh",
        color="#a3a3a3",
        id="display-heading",
    )


def _ranking(rows: rx.Var, empty: rx.Var) -> rx.Component:
    return rx.cond(
        LiveRanking.updated_at == "",
        rx.text(t("Loading the ranking…"), font_size="4vh"),
        rx.cond(
            rows.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(rows, _row), width="100%", spacing="0"),
            rx.text(empty, font_size="4vh"),
        ),
    )


def _big_winner(winner: rx.vars.ObjectVar[dict[str, Any]], element_id: str) -> rx.Component:
    """One month's movie, large: "Movie of October 2026", the title, its votes."""
    return rx.vstack(
        rx.hstack(
            rx.icon("trophy", size=48, color="#fbbf24"),
            rx.text(
                t("Movie of {month}", month=month_text(winner["month"].to(str))),
                font_size="4vh",
                color="#fbbf24",
                font_weight="700",
            ),
            align="center",
            spacing="3",
        ),
        rx.text(row_title(winner), font_size="8vh", font_weight="800", line_height="1.1"),
        rx.text(
            nt("{n} vote", "{n} votes", winner["votes"].to(int)),
            " · ",
            percent_text(winner["share"]),
            font_size="3.5vh",
            color="#d4d4d4",
        ),
        id=element_id,
        spacing="4",
        padding_y="4vh",
    )


def _board() -> rx.Component:
    return rx.match(
        DisplayState.board,
        (
            "all_time",
            _ranking(LiveRanking.all_rows, t("No votes yet. Scan the code and be the first!")),
        ),
        (
            "winner",
            rx.cond(
                DisplayState.winner.contains("month"),  # type: ignore[attr-defined]
                _big_winner(DisplayState.winner, "display-big-winner"),
                rx.text(t("Last month's movie is not out yet."), font_size="4vh"),
            ),
        ),
        (
            "hall_of_fame",
            rx.cond(
                DisplayState.winners.length() > 0,  # type: ignore[attr-defined]
                _big_winner(DisplayState.winners[DisplayState.fame], "display-fame"),
                rx.text(t("No month has been published yet."), font_size="4vh"),
            ),
        ),
        rx.fragment(
            _last_winner(),
            _ranking(
                LiveRanking.month_rows,
                t("No votes yet this month. Scan the code and be the first!"),
            ),
        ),
    )


def _pairing_code() -> rx.Component:
    """Discreet, in a corner: the code an admin types to pair this screen."""
    return rx.cond(
        ~DisplayState.paired & (DisplayState.code != ""),
        rx.text(
            t("Screen code: {code}", code=DisplayState.code),
            id="display-code",
            font_size="2vh",
            color="#8a8a8a",
            font_family="ui-monospace, monospace",
            position="fixed",
            bottom="1.5vh",
            right="2vw",
        ),
    )


def display_page() -> rx.Component:
    return rx.box(
        rx.el.style(ROW_CSS),
        rx.flex(  # a TV: the ranking beside the code; a phone held upright: one under the other
            rx.vstack(
                _heading(),
                _board(),
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
        announcer(  # what moved in the ranking the screen shows, for a screen reader
            rx.match(DisplayState.board, ("month", "month"), ("all_time", "all"), "none")
        ),
        rx.moment(interval=KEEPALIVE_MS, on_change=LiveRanking.link, display="none"),
        rx.moment(interval=BEAT_MS, on_change=lambda _tick: _beat(), display="none"),
        rx.cond(  # a paired screen says at once which ranking it shows (screen health)
            DisplayState.paired,
            rx.box(key=LiveRanking.updated_at, on_mount=_beat(), display="none"),
        ),
        rx.cond(
            DisplayState.board == "hall_of_fame",
            rx.moment(interval=FAME_MS, on_change=DisplayState.rotate, display="none"),
        ),
        _pairing_code(),
        rx.moment(interval=WINNER_CHECK_MS, on_change=DisplayState.check_winner, display="none"),
        background_color="#0a0a0a",
        color="#f5f5f5",
        min_height="100vh",
        padding="4vh 4vw",
        font_family="system-ui, sans-serif",
        lang=LANG,
    )
