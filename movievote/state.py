"""Shared browser state: who is logged in. Identity lives on the server: every handler that
needs the user verifies the token again (signature, expiry, account) through the service."""

from __future__ import annotations

import reflex as rx

from movievote.errors import DomainError, InvalidToken, UserNotFound
from movievote.models import User
from movievote.services import accounts


def safe_next(target: str | None) -> str:
    """Only same-site paths may be redirected to after login (no `//evil.example`)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


class AuthState(rx.State):
    """The session: a JWT kept in the browser's local storage, verified on every use."""

    token: str = rx.LocalStorage("", name="movievote_token", sync=True)
    display_name: str = ""
    form_error: str = ""
    form_busy: bool = False

    async def verified_user(self) -> User | None:
        """The user the stored token names, or None (and the token is dropped) if it is not
        valid any more: expired, forged, or the account is gone."""
        if not self.token:
            return None
        try:
            user = await accounts.user_from_token(token=self.token)
        except (InvalidToken, UserNotFound):
            self.token = ""
            self.display_name = ""
            return None
        self.display_name = user.display_name
        return user

    @rx.var
    def logged_in(self) -> bool:
        return bool(self.display_name)

    @rx.event
    async def check_session(self) -> None:
        """On every page load: refresh who is shown as logged in, or log out an expired token."""
        await self.verified_user()

    def _client(self) -> str | None:
        return self.router.session.client_ip or None

    async def _log_in(self, form: dict[str, str], *, create: bool):  # type: ignore[no-untyped-def]
        """Sign up first if asked, then log in; errors go next to the form."""
        self.form_error = ""
        email, password = form.get("email", ""), form.get("password", "")
        try:
            if create:
                await accounts.sign_up(
                    email=email, password=password, display_name=form.get("display_name", "")
                )
            issued = await accounts.log_in(email=email, password=password, client=self._client())
        except DomainError as exc:
            self.form_error = exc.message
            return None
        self.token = issued.token
        self.display_name = issued.user.display_name
        return rx.redirect(safe_next(self.router.url.query_parameters.get("next")))

    @rx.event
    async def log_in(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        return await self._log_in(form, create=False)

    @rx.event
    async def sign_up(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        return await self._log_in(form, create=True)

    @rx.event
    def log_out(self):  # type: ignore[no-untyped-def]
        self.token = ""
        self.display_name = ""
        return rx.redirect("/")

    @rx.event
    def clear_form_error(self) -> None:
        self.form_error = ""
