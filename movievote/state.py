"""Shared browser state: who is logged in. Identity lives on the server: every handler that
needs the user verifies the token again (signature, expiry, open session, account) through the
service."""

from __future__ import annotations

import reflex as rx

from movievote.clients import client_address
from movievote.errors import DomainError, InvalidToken, UserNotFound
from movievote.models import User
from movievote.root import get_root
from movievote.security import TokenClaims, decode_access_token
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
    email_verified: bool = True  # may vote as far as the address goes (shown as a banner)
    form_error: str = ""
    form_notice: str = ""
    form_busy: bool = False

    async def _verified_session(self) -> tuple[User, TokenClaims] | None:
        """The user the stored token names and its claims, or None (and the token is dropped)
        if it is not valid any more: expired, forged, its session ended, or the account gone."""
        if not self.token:
            self.display_name = ""
            return None
        try:
            claims = decode_access_token(self.token, settings=get_root().settings)
            user = await accounts.user_of_session(db=get_root().db, claims=claims)
        except (InvalidToken, UserNotFound):
            self.token = ""
            self.display_name = ""
            self.email_verified = True
            return None
        self.display_name = user.display_name
        self.email_verified = accounts.is_verified(user, get_root().settings)
        return user, claims

    async def _verified_user(self) -> User | None:
        found = await self._verified_session()
        return found[0] if found else None

    @rx.var
    def logged_in(self) -> bool:
        return bool(self.display_name)

    @rx.event
    async def check_session(self) -> None:
        """On every page load: refresh who is shown as logged in, or log out an ended session."""
        await self._verified_session()

    def _client(self) -> str | None:
        """The browser's address (behind a trusted proxy, the one it forwarded)."""
        return client_address(
            self.router.session.client_ip or None,
            self.router.headers.raw_headers.get("x-forwarded-for"),
            allowed=get_root().settings.forwarded_allow_ips,
        )

    def _base_url(self) -> str:
        """Where this browser opened the app (PUBLIC_URL when set): links in emails."""
        configured = get_root().settings.public_url
        return (configured or self.router.headers.origin or "http://localhost:3000").rstrip("/")

    def _start_form(self) -> None:
        self.form_error = ""
        self.form_notice = ""

    @rx.event
    async def log_in(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        self._start_form()
        try:
            issued = await accounts.log_in(
                db=get_root().db,
                settings=get_root().settings,
                email=form.get("email", ""),
                password=form.get("password", ""),
                client=self._client(),
                throttle=get_root().throttle,
            )
        except DomainError as exc:
            self.form_error = exc.message
            return None
        self.token = issued.token
        self.display_name = issued.user.display_name
        self.email_verified = accounts.is_verified(issued.user, get_root().settings)
        return rx.redirect(safe_next(self.router.url.query_parameters.get("next")))

    @rx.event
    async def sign_up(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        """Create the account; the answer is the same for an address that has one already."""
        self._start_form()
        try:
            result = await accounts.sign_up(
                db=get_root().db,
                settings=get_root().settings,
                email=form.get("email", ""),
                password=form.get("password", ""),
                display_name=form.get("display_name", ""),
                invite_code=form.get("invite_code") or None,
                client=self._client(),
                base_url=self._base_url(),
                throttle=get_root().throttle,
            )
        except DomainError as exc:
            self.form_error = exc.message
            return None
        if result.verification_required:
            self.form_notice = (
                f"Check your inbox: we sent a message to {result.email}. Follow its link to "
                "confirm your address, then log in and vote."
            )
        else:
            self.form_notice = f"Your account for {result.email} is ready: log in to vote."
        return None

    @rx.event
    async def log_out(self):  # type: ignore[no-untyped-def]
        """End this session on the server too: the token is refused from now on."""
        if self.token:
            await accounts.log_out(db=get_root().db, settings=get_root().settings, token=self.token)
        self.token = ""
        self.display_name = ""
        self.email_verified = True
        return rx.redirect("/")

    @rx.event
    async def resend_verification(self):  # type: ignore[no-untyped-def]
        found = await self._verified_session()
        if found is None or found[0].id is None:
            return rx.redirect("/login")
        user = found[0]
        try:
            sent = await accounts.resend_verification(
                db=get_root().db,
                settings=get_root().settings,
                user_id=user.id,
                base_url=self._base_url(),
            )
        except DomainError as exc:
            return rx.toast.error(exc.message, duration=10_000)
        if not sent:
            self.email_verified = True
            return rx.toast.info("Your address is verified already.")
        return rx.toast.success(
            f"We sent a new link to {user.email}. It works once, for "
            f"{accounts.verification_link_lifetime(get_root().settings)}.",
            duration=10_000,
        )

    @rx.event
    def clear_form_error(self) -> None:
        self._start_form()
