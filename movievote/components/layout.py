"""The frame every page shares: a skip link, a navigation bar and a content column."""

from __future__ import annotations

import json

import reflex as rx
from reflex_base.event import EventSpec

from movievote.components.i18n import language_switch, t
from movievote.i18n import N_
from movievote.state import AuthState

PAGES = (
    (N_("Movies"), "/"),
    (N_("Leaderboard"), "/leaderboard"),
    (N_("Hall of fame"), "/winners"),
    (N_("Lobby display"), "/display"),
)

# The skip link stays off-screen until a keyboard user tabs onto it. Every focusable thing
# shows a ring when focused from the keyboard (Radix themes ring the controls; this adds it to
# everything else, the cards' links included). What the focus scrolls into view stops clear
# of the sticky bar (scroll-padding): going back up with Shift+Tab it was hidden under it.
FRAME_CSS = """
html { scroll-padding-top: 6rem; scroll-padding-bottom: 1rem; }
.skip-link { position: absolute; left: 1em; top: -4em; z-index: 100; padding: 0.5em 1em; border: 0;
  background: var(--accent-9); color: var(--accent-contrast); border-radius: var(--radius-2); }
.skip-link:focus { top: 0.5em; }
:focus-visible { outline: 2px solid var(--focus-8); outline-offset: 2px; }
#main:focus { outline: none; }
"""


def focus_when_shown(selector: str) -> EventSpec:
    """Move the keyboard focus to the element `selector` finds, as soon as the page shows it
    (a handler's return: the state delta that renders it is applied after the event returns).
    For a part of the page a button opens or closes, so the keyboard follows the eyes."""
    return rx.call_script(
        "((s, n) => { const go = (left) => { const e = document.querySelector(s);"
        " if (e) { e.focus(); e.scrollIntoView({block: 'nearest'}); }"
        " else if (left) setTimeout(() => go(left - 1), 50); }; go(n); })"
        f"({json.dumps(selector)}, 40)"
    )


def nav_link(text: str, href: str) -> rx.Component:
    """A link of the bar; `text` is an English text marked with N_."""
    return rx.link(
        t(text), href=href, size="3", weight="medium", underline="hover", white_space="nowrap"
    )


def phone_menu() -> rx.Component:
    """Below the medium breakpoint the page links move into a menu (keyboard-operable)."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(rx.icon("menu"), variant="ghost", size="2", aria_label=t("Menu")),
        ),
        rx.menu.content(
            *[rx.menu.item(t(text), on_select=rx.redirect(href)) for text, href in PAGES],
            rx.cond(
                AuthState.logged_in,
                rx.menu.item(t("Your account"), on_select=rx.redirect("/account")),
            ),
            rx.cond(AuthState.is_admin, rx.menu.item(t("Admin"), on_select=rx.redirect("/admin"))),
        ),
        # not modal: a modal menu marks the rest of the page aria-hidden, its links and
        # buttons still focusable (axe: aria-hidden-focus); Escape and a click outside close it
        modal=False,
    )


def navbar() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.box(phone_menu(), display=["block", "block", "none"]),
            rx.link(
                rx.text(  # the brand, not a heading: each page has one h1, its own
                    "movievote",
                    size=rx.breakpoints(initial="5", sm="6"),
                    weight="bold",
                    as_="span",
                ),
                href="/",
                underline="none",
            ),
            rx.hstack(
                *[nav_link(text, href) for text, href in PAGES[:3]],
                spacing="4",
                display=["none", "none", "flex"],  # below 48em they are in the menu
            ),
            rx.spacer(),
            rx.cond(
                AuthState.logged_in,
                rx.hstack(
                    rx.link(
                        rx.text(
                            t("Hi, {name}", name=AuthState.display_name),
                            size="2",
                            id="whoami",
                            white_space="nowrap",
                        ),
                        href="/account",
                        underline="hover",
                        title=t("Your account"),
                        # a phone or a small tablet has no room for it (below 48em the
                        # admin's bar in Portuguese overflowed): the menu has "Your account"
                        display=["none", "none", "block"],
                    ),
                    rx.cond(
                        AuthState.is_admin,
                        rx.link(
                            t("Admin"),
                            href="/admin",
                            size="2",
                            underline="hover",
                            display=["none", "block"],
                            id="admin-link",
                        ),
                    ),
                    rx.button(t("Log out"), on_click=AuthState.log_out, variant="soft", size="2"),
                    align="center",
                ),
                rx.hstack(
                    nav_link(N_("Log in"), "/login"),
                    nav_link(N_("Sign up"), "/signup"),
                    spacing="4",
                ),
            ),
            language_switch(),
            rx.color_mode.button(size="2", variant="ghost", aria_label=t("Switch light or dark")),
            align="center",
            width="100%",
            spacing="3",
        ),
        as_="nav",
        aria_label=t("Main"),
        padding_x=["1em", "2em"],
        padding_y="0.8em",
        border_bottom="1px solid var(--gray-a5)",
        position="sticky",
        top="0",
        z_index="10",
        background_color="var(--color-background)",
    )


def page(*children: rx.Component) -> rx.Component:
    return rx.box(
        rx.el.style(FRAME_CSS),
        rx.el.button(  # an <a href="#main"> would be routed by React Router, not followed
            t("Skip to content"),
            on_click=rx.call_script("document.getElementById('main').focus()"),
            class_name="skip-link",
        ),
        navbar(),
        rx.container(
            *children,
            as_="main",
            id="main",
            tab_index=-1,
            size="4",
            padding_x=["1em", "2em"],
            padding_y="1.5em",
        ),
        min_height="100vh",
    )


def scroll_table(
    headers: list[rx.Var], rows: rx.Component, *, name: rx.Var, table_id: str | None = None
) -> rx.Component:
    """A compact table that scrolls sideways on a phone, by keyboard too: the box that scrolls
    is focusable and named after the table (the table is as wide as its content, so Radix's
    scroll area inside it, which takes no focus, never scrolls)."""
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(rows),
            size="1",
            width="max-content",
            min_width="100%",
            id=table_id,
        ),
        width="100%",
        overflow_x="auto",
        tab_index=0,
        role="region",
        aria_label=name,
    )
