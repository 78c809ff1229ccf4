"""The frame every page shares: a navigation bar and a content column."""

from __future__ import annotations

import reflex as rx

from movievote.state import AuthState


def nav_link(text: str, href: str) -> rx.Component:
    return rx.link(text, href=href, size="3", weight="medium", underline="hover")


def navbar() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(rx.heading("movievote", size="6"), href="/", underline="none"),
            rx.hstack(
                nav_link("Movies", "/"),
                nav_link("Leaderboard", "/leaderboard"),
                spacing="4",
                display=["none", "flex"],
            ),
            rx.spacer(),
            rx.cond(
                AuthState.logged_in,
                rx.hstack(
                    rx.text("Hi, ", AuthState.display_name, size="2", id="whoami"),
                    rx.button("Log out", on_click=AuthState.log_out, variant="soft", size="2"),
                    align="center",
                ),
                rx.hstack(
                    nav_link("Log in", "/login"),
                    nav_link("Sign up", "/signup"),
                    spacing="4",
                ),
            ),
            rx.color_mode.button(size="2", variant="ghost", aria_label="Switch light or dark"),
            align="center",
            width="100%",
            spacing="4",
        ),
        as_="nav",
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
        navbar(),
        rx.container(*children, size="4", padding_x=["1em", "2em"], padding_y="1.5em"),
        min_height="100vh",
    )
