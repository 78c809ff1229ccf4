"""The account's pages: confirm the address, forgot / reset the password, change it; and, in
development only, the outbox of the mail the app would have sent."""

from __future__ import annotations

import reflex as rx

from movievote.clients import is_loopback
from movievote.components.i18n import t
from movievote.components.layout import page
from movievote.config import get_settings
from movievote.errors import N_, DomainError, PasswordRequired
from movievote.pages.auth import card, field, prompt
from movievote.root import get_root
from movievote.services import accounts, notifications
from movievote.state import AuthState


class LinkState(rx.State):
    """Following a mailed link: the token comes from the URL, the rule from the service."""

    outcome: str = ""  # "", "verified", "invalid", "password" (asked for the account's)
    message: str = ""

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    @rx.event
    async def verify(self):  # type: ignore[no-untyped-def]
        """Opened from the mail: confirmed at once if this browser is logged in as the
        account; otherwise the page asks for the account's password."""
        self.outcome = self.message = ""
        await self._confirm(None)

    @rx.event
    async def confirm_with_password(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        await self._confirm(form.get("password", ""))

    async def _confirm(self, password: str | None) -> None:
        auth = await self.get_state(AuthState)
        found = await auth._verified_session()
        try:
            user = await accounts.verify_email(
                db=get_root().db,
                token=self._token(),
                user_id=found[0].id if found else None,
                password=password,
            )
        except PasswordRequired as exc:
            self.outcome = "password"
            self.message = (
                await auth._explain(exc)
                if password is None
                else await auth._say(N_("That password is not right."))
            )
            return
        except DomainError as exc:
            self.outcome, self.message = "invalid", await auth._explain(exc)
            return
        self.outcome = "verified"
        self.message = await auth._say(
            N_("Your address {email} is confirmed: you can vote."), email=user.email
        )
        await auth._verified_session()  # the banner goes if this browser is logged in

    @rx.event
    async def set_new_password(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        auth._start_form()
        if form.get("new_password", "") != form.get("repeat_password", ""):
            auth.form_error = await auth._say(N_("The two passwords are not the same."))
            return None
        try:
            await accounts.reset_password(
                db=get_root().db,
                settings=get_root().settings,
                token=self._token(),
                new_password=form.get("new_password", ""),
                client=auth._client(),
                throttle=get_root().throttle,
            )
        except DomainError as exc:
            auth.form_error = await auth._explain(exc)
            return None
        auth.token, auth.display_name = "", ""
        auth.form_notice = await auth._say(
            N_("Your password is changed and every session was logged out. Log in with it.")
        )
        return None

    @rx.event
    async def request_reset(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        auth._start_form()
        try:
            await accounts.request_password_reset(
                db=get_root().db,
                settings=get_root().settings,
                email=form.get("email", ""),
                client=auth._client(),
                base_url=auth._base_url(),
                throttle=get_root().throttle,
            )
        except DomainError as exc:
            auth.form_error = await auth._explain(exc)
            return None
        auth.form_notice = await auth._say(
            N_(
                "If an account uses this address, we sent it a link to set a new password "
                "(valid for {valid_for})."
            ),
            valid_for=accounts.reset_link_lifetime(get_root().settings),
        )
        return None


class AccountState(rx.State):
    email: str = ""

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        auth._start_form()
        user = await auth._verified_user()
        if user is None:
            return rx.redirect("/login?next=/account")
        self.email = user.email
        return None

    @rx.event
    async def change_password(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        auth._start_form()
        found = await auth._verified_session()
        if found is None or found[0].id is None:
            return rx.redirect("/login?next=/account")
        if form.get("new_password", "") != form.get("repeat_password", ""):
            auth.form_error = await auth._say(N_("The two new passwords are not the same."))
            return None
        try:
            issued = await accounts.change_password(
                db=get_root().db,
                settings=get_root().settings,
                user_id=found[0].id,
                current_password=form.get("current_password", ""),
                new_password=form.get("new_password", ""),
                client=auth._client(),
                throttle=get_root().throttle,
            )
        except DomainError as exc:
            auth.form_error = await auth._explain(exc)
            return None
        auth.token = issued.token  # this browser stays logged in; every other session ended
        auth.form_notice = await auth._say(
            N_("Your password is changed. Every other session was logged out.")
        )
        return None


class OutboxState(rx.State):
    mails: list[dict[str, str]] = []
    refused: bool = False

    @rx.event
    async def load(self) -> None:
        """Only for a browser on this machine: the outbox holds other people's links."""
        auth = await self.get_state(AuthState)
        self.refused = not is_loopback(auth._client())
        self.mails = [] if self.refused else notifications.read_outbox(get_settings())


def verify_email_page() -> rx.Component:
    return page(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.heading(t("Confirm your email address"), size="7", as_="h1"),
                    rx.match(
                        LinkState.outcome,
                        (
                            "verified",
                            rx.callout(
                                LinkState.message,
                                icon="circle_check",
                                color_scheme="green",
                                role="status",
                                id="link-outcome",
                            ),
                        ),
                        (
                            "invalid",
                            rx.callout(
                                LinkState.message,
                                icon="triangle_alert",
                                color_scheme="red",
                                role="alert",
                                id="link-outcome",
                            ),
                        ),
                        (
                            "password",
                            rx.form(
                                rx.vstack(
                                    rx.callout(
                                        LinkState.message,
                                        icon="key_round",
                                        role="status",
                                        id="link-outcome",
                                    ),
                                    field(
                                        t("Password"),
                                        "password",
                                        "password",
                                        auto_complete="current-password",
                                    ),
                                    rx.button(t("Confirm my address"), type="submit", size="3"),
                                    spacing="3",
                                    width="100%",
                                ),
                                on_submit=LinkState.confirm_with_password,
                                width="100%",
                            ),
                        ),
                        rx.text(t("Checking your link…")),
                    ),
                    rx.cond(
                        AuthState.logged_in,
                        # a link that looks like a button (a button inside a link is
                        # invalid HTML: two Tab stops, one name read twice)
                        rx.button(rx.el.a(t("Go and vote"), href="/"), as_child=True, size="3"),
                        rx.button(
                            rx.el.a(t("Log in to vote"), href="/login"), as_child=True, size="3"
                        ),
                    ),
                    spacing="4",
                ),
                size="4",
                max_width="32em",
                width="100%",
            ),
            padding_top="2em",
        )
    )


def forgot_password_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            field(t("Email"), "email", "email", auto_complete="email"),
            rx.button(t("Email me a link"), type="submit", size="3", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=LinkState.request_reset,
        reset_on_submit=True,
        width="100%",
    )
    return card(
        t("Forgot your password?"),
        form,
        prompt(t("Remembered it?"), t("Log in"), "/login"),
    )


def _new_password_fields() -> list[rx.Component]:
    return [
        field(
            t("New password"),
            "new_password",
            "password",
            min_length=8,
            auto_complete="new-password",
        ),
        field(
            t("New password again"),
            "repeat_password",
            "password",
            min_length=8,
            auto_complete="new-password",
        ),
        rx.text(t("At least 8 characters (at most 72 bytes)."), size="1", color_scheme="gray"),
    ]


def reset_password_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            *_new_password_fields(),
            rx.button(t("Set the new password"), type="submit", size="3", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=LinkState.set_new_password,
        width="100%",
    )
    return card(
        t("Set a new password"),
        form,
        prompt(t("The link has expired?"), t("Ask for a new one"), "/forgot-password"),
    )


def account_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            field(
                t("Current password"),
                "current_password",
                "password",
                auto_complete="current-password",
            ),
            *_new_password_fields(),
            rx.button(t("Change the password"), type="submit", size="3", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=AccountState.change_password,
        reset_on_submit=True,
        width="100%",
    )
    status = rx.cond(
        AuthState.email_verified,
        rx.text(AccountState.email, " · ", t("confirmed"), size="2", id="account-email"),
        rx.hstack(
            rx.text(
                AccountState.email, " · ", t("not confirmed yet"), size="2", id="account-email"
            ),
            rx.button(
                t("Send the link again"),
                on_click=AuthState.resend_verification,
                variant="soft",
                size="1",
            ),
            align="center",
            wrap="wrap",
        ),
    )
    return card(
        t("Your account"), rx.vstack(status, form, spacing="4", width="100%"), rx.fragment()
    )


def outbox_page() -> rx.Component:
    """Development only: what the app would have emailed, newest first, links clickable."""
    return page(
        rx.vstack(
            rx.heading(t("Outbox (development)"), size="7", as_="h1"),
            rx.text(
                t(
                    "No mail server is set (NOTIFY_SMTP_URL), so in development the mail the "
                    "app sends lands here. This page does not exist in production."
                ),
                color_scheme="gray",
            ),
            rx.cond(
                OutboxState.refused,
                rx.callout(
                    t("The outbox is shown only to a browser on the machine the app runs on."),
                    icon="lock",
                    color_scheme="red",
                    role="alert",
                ),
                rx.cond(OutboxState.mails.length() == 0, rx.text(t("No mail yet."))),
            ),
            rx.foreach(
                OutboxState.mails,
                lambda mail: rx.card(
                    rx.vstack(
                        rx.text(
                            rx.text.strong(mail["subject"]),
                            " · ",
                            t("to {address}", address=mail["to"]),
                            size="2",
                        ),
                        rx.text(mail["at"], size="1", color_scheme="gray"),
                        rx.markdown(mail["body"]),
                        spacing="1",
                    ),
                    class_name="outbox-mail",
                    width="100%",
                ),
            ),
            rx.button(t("Refresh"), on_click=OutboxState.load, variant="soft"),
            spacing="3",
            width="100%",
        )
    )


__all__ = [
    "AccountState",
    "LinkState",
    "OutboxState",
    "account_page",
    "forgot_password_page",
    "outbox_page",
    "reset_password_page",
    "verify_email_page",
]
