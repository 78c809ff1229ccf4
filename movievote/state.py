"""Shared browser state: who is logged in. Identity lives on the server: every handler that
needs the user verifies the token again (signature, expiry, open session, account) through the
service."""

from __future__ import annotations

import reflex as rx

from movievote.clients import client_address
from movievote.errors import DomainError, InvalidToken, UserNotFound
from movievote.i18n import LANGUAGES, N_, gettext, localised, negotiate, supported
from movievote.models import User
from movievote.root import get_root
from movievote.security import TokenClaims, decode_access_token
from movievote.services import accounts


def safe_next(target: str | None) -> str:
    """Only same-site paths may be redirected to after login (no `//evil.example`)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


class LocaleState(rx.State):
    """The language of this browser's pages: on a paired lobby screen, the one its admins
    chose; the page's `?lang=` (screens nobody clicks on),
    else the one chosen with the switch (a cookie; a member's is also kept on the account),
    else the display's configured language on `/display`, else the browser's Accept-Language."""

    chosen: str = rx.Cookie(
        "", name="movievote_lang", max_age=365 * 24 * 3600, same_site="lax", path="/"
    )
    screen: str = ""  # a paired lobby screen's language, chosen at the admins' desk

    @rx.var
    def lang(self) -> str:
        if self.screen in LANGUAGES and self.router.url.path.startswith("/display"):
            return self.screen
        asked = self.router.url.query_parameters.get("lang")
        if asked in LANGUAGES:
            return str(asked)
        if self.chosen in LANGUAGES:
            return self.chosen
        display = get_root().settings.display_language
        if display and self.router.url.path.startswith("/display"):
            return supported(display)
        return negotiate(self.router.headers.accept_language)

    @rx.event
    async def choose(self, language: str) -> None:
        """The navbar's switch: remembered by this browser, and on a member's account (their
        emails and their other browsers follow it)."""
        if language not in LANGUAGES:
            return
        auth = await self.get_state(AuthState)
        user = await auth._verified_user()  # adopts the account's language: the choice follows
        self.chosen = language
        if user is not None and user.id is not None and user.language != language:
            await accounts.set_language(user_id=user.id, language=language, db=get_root().db)


async def language_of(state: rx.State) -> str:
    """The language the browser behind this state reads (server-side messages, toasts)."""
    return (await state.get_state(LocaleState)).lang


class AuthState(rx.State):
    """The session: a JWT kept in the browser's local storage, verified on every use."""

    token: str = rx.LocalStorage("", name="movievote_token", sync=True)
    display_name: str = ""
    email_verified: bool = True  # may vote as far as the address goes (shown as a banner)
    is_admin: bool = False  # shows the Admin link; every admin handler checks for itself
    form_error: str = ""
    form_notice: str = ""
    form_busy: bool = False

    async def _verified_session(self) -> tuple[User, TokenClaims] | None:
        """The user the stored token names and its claims, or None (and the token is dropped)
        if it is not valid any more: expired, forged, its session ended, or the account gone."""
        if not self.token:
            self.display_name = ""
            self.is_admin = False
            return None
        try:
            claims = decode_access_token(self.token, settings=get_root().settings)
            user = await accounts.user_of_session(db=get_root().db, claims=claims)
        except (InvalidToken, UserNotFound):
            self.token = ""
            self.display_name = ""
            self.is_admin = False
            self.email_verified = True
            return None
        self.display_name = user.display_name
        self.email_verified = accounts.is_verified(user, get_root().settings)
        self.is_admin = user.is_admin
        await self._adopt_language(user)
        return user, claims

    async def _adopt_language(self, user: User) -> None:
        """A member reads the language on their account (chosen on any browser); one who has
        none yet keeps this browser's, which goes on the account."""
        locale = await self.get_state(LocaleState)
        if user.language in LANGUAGES:
            if locale.chosen != user.language:
                locale.chosen = str(user.language)
        elif user.id is not None:
            await accounts.set_language(user_id=user.id, language=locale.lang, db=get_root().db)

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

    async def _say(self, message: str, /, **params: object) -> str:
        """A server-side text in this browser's language."""
        return gettext(await language_of(self), message, **params)

    async def _explain(self, error: DomainError) -> str:
        """A domain error's message in this browser's language."""
        return localised(error, await language_of(self))

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
            self.form_error = await self._explain(exc)
            return None
        self.token = issued.token
        self.display_name = issued.user.display_name
        self.email_verified = accounts.is_verified(issued.user, get_root().settings)
        self.is_admin = issued.user.is_admin
        await self._adopt_language(issued.user)
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
                language=await language_of(self),  # their mail, from the first one
                client=self._client(),
                base_url=self._base_url(),
                throttle=get_root().throttle,
            )
        except DomainError as exc:
            self.form_error = await self._explain(exc)
            return None
        if result.verification_required:
            self.form_notice = await self._say(
                N_(
                    "Check your inbox: we sent a message to {email}. Follow its link to "
                    "confirm your address, then log in and vote."
                ),
                email=result.email,
            )
        else:
            self.form_notice = await self._say(
                N_("Your account for {email} is ready: log in to vote."), email=result.email
            )
        return None

    @rx.event
    async def log_out(self):  # type: ignore[no-untyped-def]
        """End this session on the server too: the token is refused from now on."""
        if self.token:
            await accounts.log_out(db=get_root().db, settings=get_root().settings, token=self.token)
        self.token = ""
        self.display_name = ""
        self.is_admin = False
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
            return rx.toast.error(await self._explain(exc), duration=10_000)
        if not sent:
            self.email_verified = True
            return rx.toast.info(await self._say(N_("Your address is verified already.")))
        return rx.toast.success(
            await self._say(
                N_("We sent a new link to {email}. It works once, for {valid_for}."),
                email=user.email,
                valid_for=accounts.verification_link_lifetime(get_root().settings),
            ),
            duration=10_000,
        )

    @rx.event
    def clear_form_error(self) -> None:
        self._start_form()
