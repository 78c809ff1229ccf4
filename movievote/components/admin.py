"""What every admin page shows the same way: the outcome of an action, and the refusal."""

from __future__ import annotations

import reflex as rx

from movievote.components.i18n import t


def outcome(message: rx.Var[str], error: rx.Var[str], *, prefix: str) -> list[rx.Component]:
    """The last action's outcome: a success (`{prefix}-message`, polite) or an error
    (`{prefix}-error`, an alert), each shown only while it has text."""
    return [
        rx.cond(
            message != "",
            rx.callout(
                message,
                icon="circle_check",
                color_scheme="green",
                role="status",
                id=f"{prefix}-message",
            ),
        ),
        rx.cond(
            error != "",
            rx.callout(
                error, icon="triangle_alert", color_scheme="red", role="alert", id=f"{prefix}-error"
            ),
        ),
    ]


def admins_only(checked: rx.Var[bool]) -> rx.Component:
    """What a page shows someone who is not an admin, once the server has checked (and while
    it checks)."""
    return rx.cond(
        checked,
        rx.callout(
            t("This page is for the vote's admins."),
            icon="lock",
            color_scheme="amber",
            id="admin-refused",
        ),
        rx.text(t("Loading…"), color_scheme="gray"),
    )
