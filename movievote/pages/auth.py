"""Sign-up and log-in pages."""

from __future__ import annotations

import reflex as rx

from movievote.components.i18n import t
from movievote.components.layout import page
from movievote.config import get_settings
from movievote.state import AuthState


def field(label: rx.Var | str, name: str, kind: str = "text", **props: object) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"font_weight": "500"}),
        rx.input(id=name, name=name, type=kind, required=True, size="3", width="100%", **props),
        spacing="1",
        width="100%",
    )


def prompt(question: rx.Var, answer: rx.Var, href: str) -> rx.Component:
    """A question and the link that answers it ("New here? Sign up"); the link underlined, as
    in a line of text its colour alone does not tell it apart (WCAG 1.4.1)."""
    return rx.text(question, " ", rx.link(answer, href=href, underline="always"), size="2")


def form_messages() -> rx.Component:
    """The form's error (red) or its outcome (green), announced to screen readers."""
    return rx.fragment(
        rx.cond(
            AuthState.form_error != "",
            rx.callout(
                AuthState.form_error,
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
                id="form-error",
            ),
        ),
        rx.cond(
            AuthState.form_notice != "",
            rx.callout(
                AuthState.form_notice,
                icon="mail_check",
                color_scheme="green",
                role="status",
                id="form-notice",
            ),
        ),
    )


def card(title: rx.Var | str, form: rx.Component, footer: rx.Component) -> rx.Component:
    return page(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.heading(title, size="7", as_="h1"),
                    form_messages(),
                    form,
                    footer,
                    spacing="4",
                    width="100%",
                ),
                size="4",
                width="100%",
                max_width="28em",
            ),
            padding_top="2em",
        )
    )


def login() -> rx.Component:
    form = rx.form(
        rx.vstack(
            field(t("Email"), "email", "email", auto_complete="username"),
            field(t("Password"), "password", "password", auto_complete="current-password"),
            rx.button(t("Log in"), type="submit", size="3", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=AuthState.log_in,
        width="100%",
    )
    return card(
        t("Log in"),
        form,
        rx.vstack(
            prompt(t("New here?"), t("Sign up"), "/signup"),
            prompt(t("Forgot your password?"), t("Reset it"), "/forgot-password"),
            spacing="1",
        ),
    )


def signup() -> rx.Component:
    invite = (
        [field(t("Invite code"), "invite_code", max_length=32, auto_complete="off")]
        if get_settings().signup_mode == "invite"
        else []
    )
    form = rx.form(
        rx.vstack(
            field(t("Email"), "email", "email", auto_complete="email"),
            field(t("Display name"), "display_name", max_length=80, auto_complete="nickname"),
            field(
                t("Password"), "password", "password", min_length=8, auto_complete="new-password"
            ),
            rx.text(t("At least 8 characters (at most 72 bytes)."), size="1", color_scheme="gray"),
            *invite,
            rx.button(t("Sign up"), type="submit", size="3", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=AuthState.sign_up,
        width="100%",
    )
    return card(
        t("Create your account"),
        form,
        prompt(t("Have an account?"), t("Log in"), "/login"),
    )
