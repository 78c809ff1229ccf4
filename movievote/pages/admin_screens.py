"""The operators' page for lobby screens (`/admin/screens`): pair a screen with the code it
shows, name it, choose its board and language, reload or unpair it, and watch each one's
health (live, reconnecting, silent since ..., the ranking it shows and how far behind the
newest it is, its browser and resolution), with an alert when one falls silent. Every handler
checks on the server, from the verified session, that the browser's member is an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import reflex as rx

from movievote.components.admin import AdminGate, admins_only, outcome
from movievote.components.i18n import nt, t
from movievote.components.layout import page
from movievote.errors import N_, DomainError
from movievote.i18n import LANGUAGE_NAMES
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.live import LiveRanking, get_live_feed
from movievote.root import get_root
from movievote.services import admin, screens
from movievote.services.changes import process_origin

REFRESH_MS = 5_000  # the health list reads again this often while the page is open
UP_TO_DATE_SECONDS = 2.0  # rankings computed by two processes for one change differ this much


def board_names() -> dict[str, rx.Var]:
    return {
        "month": t("This month"),
        "all_time": t("All time"),
        "winner": t("Last month's winner"),
        "hall_of_fame": t("Hall of fame (in rotation)"),
    }


def _row_data(screen: screens.ScreenHealth, newest: datetime | None) -> dict[str, Any]:
    behind = -1  # unknown: it has not said which ranking it shows
    if screen.ranking_at is not None and newest is not None:
        lag = (newest - screen.ranking_at).total_seconds()
        behind = 0 if lag <= UP_TO_DATE_SECONDS else round(lag)
    return {
        "id": str(screen.id),
        "name": screen.name,
        "board": screen.board,
        "language": screen.language,
        "health": screen.health,
        "seen": f"{screen.last_seen_at:%Y-%m-%d %H:%M:%S}" if screen.last_seen_at else "",
        "ranking": f"{screen.ranking_at:%H:%M:%S}" if screen.ranking_at else "",
        "behind": behind,
        "agent": screen.user_agent,
        "resolution": screen.resolution,
    }


class ScreensState(AdminGate, rx.State):
    """What an admin sees of the screens; empty for anyone else (and every handler says no)."""

    screens: list[dict[str, Any]] = []
    silent: list[str] = []  # names of the paired screens silent for over a minute

    def _path(self) -> str:
        return "/admin/screens"

    def _forget(self) -> None:
        self.screens, self.silent = [], []

    async def _on_load(self) -> Any:
        await self._read()
        return LiveRanking.link  # this process's feed keeps the newest ranking's time

    @rx.event
    async def tick(self, _tick: str = "") -> None:
        if await self._admin() is not None:
            await self._read()

    async def _read(self) -> None:
        root = get_root()
        feed = get_live_feed(root)
        stamp = feed.values.get("updated_at") if feed is not None else None
        newest = datetime.fromisoformat(stamp) if stamp else None
        found = await screens.list_screens(db=root.db)
        self.screens = [_row_data(s, newest) for s in found]
        self.silent = [s.name for s in found if s.health == "silent"]

    async def _act(self, form: dict[str, Any], what: str) -> None:
        """One admin action on one screen (or pairing), its outcome said in the page."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        root = get_root()
        desk = screens.Desk(
            admin.Actor(user.id, user.email), root.db, root.screens, process_origin()
        )
        try:
            if what == "pair":
                paired = await screens.pair(
                    code=str(form.get("code", "")),
                    name=str(form.get("name", "")),
                    board=str(form.get("board") or "month"),
                    language=str(form.get("language") or DEFAULT_LANGUAGE),
                    throttle=root.throttle,
                    desk=desk,
                )
                self.message = await auth._say(N_("{name} is paired."), name=paired.name)
            else:
                screen_id = int(form.get("screen_id", ""))
                if what == "rename":
                    changed = await screens.rename(
                        screen_id=screen_id, name=str(form.get("name", "")), desk=desk
                    )
                    self.message = await auth._say(N_("Renamed to {name}."), name=changed.name)
                elif what == "board":
                    changed = await screens.set_board(
                        screen_id=screen_id, board=str(form.get("board", "")), desk=desk
                    )
                    self.message = await auth._say(
                        N_("{name} changes its board."), name=changed.name
                    )
                elif what == "language":
                    changed = await screens.set_language(
                        screen_id=screen_id, language=str(form.get("language", "")), desk=desk
                    )
                    self.message = await auth._say(
                        N_("{name} changes its language."), name=changed.name
                    )
                elif what == "reload":
                    changed = await screens.reload(screen_id=screen_id, desk=desk)
                    self.message = await auth._say(N_("{name} reloads."), name=changed.name)
                elif what == "unpair":
                    await screens.unpair(screen_id=screen_id, desk=desk)
                    self.message = await auth._say(
                        N_("The screen is unpaired: it shows a new code.")
                    )
        except (ValueError, TypeError):
            self.error = await auth._say(N_("Choose a screen first."))
        except DomainError as exc:
            self.error = await auth._explain(exc)
        await self._read()

    @rx.event
    async def pair(self, form: dict[str, Any]) -> None:
        await self._act(form, "pair")

    @rx.event
    async def rename(self, form: dict[str, Any]) -> None:
        await self._act(form, "rename")

    @rx.event
    async def set_board(self, screen_id: str, board: str) -> None:
        await self._act({"screen_id": screen_id, "board": board}, "board")

    @rx.event
    async def set_language(self, screen_id: str, language: str) -> None:
        await self._act({"screen_id": screen_id, "language": language}, "language")

    @rx.event
    async def reload(self, screen_id: str) -> None:
        await self._act({"screen_id": screen_id}, "reload")

    @rx.event
    async def unpair(self, screen_id: str) -> None:
        await self._act({"screen_id": screen_id}, "unpair")


def _choice(
    value: rx.Var, options: dict[str, rx.Var | str], label: rx.Var, on_change: Any, name: str = ""
) -> rx.Component:
    """A native select: a controlled one acts on change; a form's (no `on_change`) starts
    at `value` and is read on submit."""
    given: dict[str, Any] = (
        {"value": value, "on_change": on_change}
        if on_change is not None
        else {"default_value": value}
    )
    return rx.el.select(
        *[rx.el.option(text, value=key) for key, text in options.items()],
        name=name or None,
        aria_label=label,
        class_name="screen-select",
        **given,
    )


def _language_options() -> dict[str, rx.Var | str]:
    return {language: LANGUAGE_NAMES[language] for language in LANGUAGES}


def _health(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.match(
        row["health"],
        ("live", rx.badge(t("Live"), color_scheme="green", class_name="screen-health")),
        (
            "reconnecting",
            rx.badge(t("Reconnecting"), color_scheme="amber", class_name="screen-health"),
        ),
        (
            "silent",
            rx.badge(
                t("Silent since {time}", time=row["seen"].to(str)),
                color_scheme="red",
                class_name="screen-health",
            ),
        ),
        rx.badge(t("Not seen yet"), color_scheme="gray", class_name="screen-health"),
    )


def _ranking(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    behind = row["behind"].to(int)
    return rx.cond(
        row["ranking"] != "",
        rx.text(
            row["ranking"],
            " · ",
            rx.cond(
                behind == 0,
                t("up to date"),
                rx.cond(behind > 0, nt("{n} second behind", "{n} seconds behind", behind), ""),
            ),
            size="2",
        ),
        rx.text("—", size="2"),
    )


def _screen_row(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    screen_id, name = row["id"].to(str), row["name"].to(str)
    return rx.table.row(
        rx.table.cell(
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="screen_id", value=screen_id),
                    rx.input(
                        name="name",
                        default_value=row["name"].to(str),
                        aria_label=t("Name of {name}", name=name),
                        max_length=screens.MAX_NAME_CHARS,
                        required=True,
                        size="1",
                        class_name="screen-name",
                    ),
                    rx.button(
                        t("Rename"),
                        type="submit",
                        size="1",
                        variant="soft",
                        aria_label=t("Rename {name}", name=name),
                    ),
                    spacing="2",
                ),
                on_submit=ScreensState.rename,
            )
        ),
        rx.table.cell(_health(row)),
        rx.table.cell(_ranking(row)),
        rx.table.cell(
            _choice(
                row["board"],
                board_names(),  # type: ignore[arg-type]
                t("What {name} shows", name=name),
                lambda value: ScreensState.set_board(screen_id, value),  # type: ignore[call-arg]
            )
        ),
        rx.table.cell(
            _choice(
                row["language"],
                _language_options(),
                t("Language of {name}", name=name),
                lambda value: ScreensState.set_language(screen_id, value),  # type: ignore[call-arg]
            )
        ),
        rx.table.cell(
            rx.text(row["agent"], size="1", class_name="screen-agent"),
            rx.text(row["resolution"], size="1", class_name="screen-resolution"),
            max_width="16em",
        ),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    t("Reload"),
                    on_click=ScreensState.reload(screen_id),  # type: ignore[call-arg]
                    aria_label=t("Reload {name}", name=name),
                    size="1",
                    variant="soft",
                    class_name="screen-reload",
                ),
                rx.button(
                    t("Unpair"),
                    on_click=ScreensState.unpair(screen_id),  # type: ignore[call-arg]
                    aria_label=t("Unpair {name}", name=name),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    class_name="screen-unpair",
                ),
                spacing="2",
            )
        ),
        class_name="screen-row",
        data_screen=row["name"].to(str),
    )


def _pair_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading(t("Pair a screen"), size="5", as_="h2"),
            rx.text(
                t(
                    "Open /display on the screen: it shows a code in its corner. Type the "
                    "code here, name the screen and choose what it shows."
                ),
                size="2",
            ),
            rx.hstack(
                rx.input(
                    name="code",
                    placeholder=t("Code"),
                    aria_label=t("Code shown on the screen"),
                    max_length=12,
                    required=True,
                    auto_complete="off",
                    id="pair-code",
                ),
                rx.input(
                    name="name",
                    placeholder=t("Name, e.g. Lobby left"),
                    aria_label=t("Name of the screen"),
                    max_length=screens.MAX_NAME_CHARS,
                    required=True,
                    id="pair-name",
                ),
                _choice(
                    "month",
                    board_names(),  # type: ignore[arg-type]
                    t("What the screen shows"),
                    None,
                    name="board",
                ),
                _choice(
                    DEFAULT_LANGUAGE,
                    _language_options(),
                    t("Language of the screen"),
                    None,
                    name="language",
                ),
                rx.button(t("Pair"), type="submit", id="pair-submit"),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=ScreensState.pair,
        reset_on_submit=True,
    )


SELECT_CSS = """
.screen-select { font: inherit; font-size: var(--font-size-2); padding: 0.25em 0.5em;
  border: 1px solid var(--gray-8); border-radius: var(--radius-2);
  background: var(--color-background); color: var(--gray-12); }
.screen-select:focus-visible { outline: 2px solid var(--accent-9); outline-offset: 2px; }
"""


def admin_screens_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.el.style(SELECT_CSS),
            rx.heading(t("Lobby screens"), size="8", as_="h1"),
            rx.cond(
                ScreensState.allowed,
                rx.vstack(
                    rx.cond(
                        ScreensState.silent.length() > 0,  # type: ignore[attr-defined]
                        rx.callout(
                            t(
                                "Silent for over a minute: {names}",
                                names=ScreensState.silent.join(", "),  # type: ignore[attr-defined]
                            ),
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                            id="screens-alert",
                        ),
                    ),
                    *outcome(ScreensState.message, ScreensState.error, prefix="screens"),
                    _pair_form(),
                    rx.heading(t("Screens"), size="5", as_="h2"),
                    rx.text(
                        nt(
                            "{n} paired screen", "{n} paired screens", ScreensState.screens.length()
                        ),  # type: ignore[attr-defined]
                        size="2",
                        id="screen-count",
                    ),
                    rx.box(
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    *[
                                        rx.table.column_header_cell(h)
                                        for h in (
                                            t("Name"),
                                            t("State"),
                                            t("Ranking shown"),
                                            t("Shows"),
                                            t("Language"),
                                            t("Browser"),
                                            t("Action"),
                                        )
                                    ]
                                )
                            ),
                            rx.table.body(rx.foreach(ScreensState.screens, _screen_row)),
                            size="1",
                            width="100%",
                        ),
                        width="100%",
                        overflow_x="auto",
                    ),
                    rx.moment(interval=REFRESH_MS, on_change=ScreensState.tick, display="none"),
                    spacing="4",
                    width="100%",
                ),
                admins_only(ScreensState.checked),
            ),
            spacing="4",
            width="100%",
        )
    )
