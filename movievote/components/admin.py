"""What every admin page does the same way: the server's check that the browser's member is an
admin (`AdminGate`), the outcome of an action, and the refusal."""

from __future__ import annotations

from typing import Any

import reflex as rx

from movievote.components.i18n import t
from movievote.models import User
from movievote.state import AuthState


class AdminGate(rx.State, mixin=True):
    """The check every admin page's state makes on the server, from the verified session, in
    each handler (`_admin`) and on load: what the page shows or hides decides nothing.

    A page's state mixes it in and says where it lives (`_path`), what to forget when the
    browser's member is not (or no longer) an admin (`_forget`), and what to read for an admin
    on load (`_on_load`)."""

    allowed: bool = False
    checked: bool = False
    message: str = ""
    error: str = ""

    def _path(self) -> str:
        """The page's path: where the log-in sends a visitor back."""
        raise NotImplementedError

    def _forget(self) -> None:
        """Empty what only an admin may see."""

    async def _on_load(self) -> Any:
        """Read the page for the admin just checked; what it returns, the load returns."""
        return None

    async def _admin(self) -> tuple[AuthState, User] | None:
        """The verified admin behind this browser, or None (and the page shows nothing)."""
        auth = await self.get_state(AuthState)
        user = await auth._verified_user()
        self.checked = True
        self.allowed = bool(user is not None and user.is_admin and user.id is not None)
        if not self.allowed or user is None:
            self._forget()
            return None
        return auth, user

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        """The page opens: a visitor is sent to log in, a member who is not an admin sees the
        refusal, an admin the page."""
        self.message = self.error = ""
        auth = await self.get_state(AuthState)
        if not auth.token:
            return rx.redirect(f"/login?next={self._path()}")
        if await self._admin() is None:
            return None
        return await self._on_load()


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
