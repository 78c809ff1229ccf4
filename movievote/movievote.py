"""The Reflex app: pages, the mounted JSON API, background tasks, wired; no logic lives here."""

import reflex as rx

from movievote.api.app import mount_api
from movievote.config import get_settings
from movievote.live import run_live_feed
from movievote.pages.account import (
    AccountState,
    LinkState,
    OutboxState,
    account_page,
    forgot_password_page,
    outbox_page,
    reset_password_page,
    verify_email_page,
)
from movievote.pages.auth import login, signup
from movievote.pages.display import DisplayState, display_page
from movievote.pages.leaderboard import LeaderboardState, leaderboard_page
from movievote.pages.movies import MoviesState, movies_page
from movievote.root import run_background
from movievote.services import notifications
from movievote.state import AuthState

app = rx.App(api_transformer=mount_api, toaster=rx.toast.provider(position="bottom-right"))
app.add_page(
    movies_page,
    route="/",
    title="Movies · movievote",
    on_load=MoviesState.load,  # it verifies the session itself
)
app.add_page(login, route="/login", title="Log in · movievote", on_load=AuthState.clear_form_error)
app.add_page(
    signup, route="/signup", title="Sign up · movievote", on_load=AuthState.clear_form_error
)
app.add_page(
    leaderboard_page,
    route="/leaderboard",
    title="Leaderboard · movievote",
    on_load=[AuthState.check_session, LeaderboardState.load],
)
app.add_page(display_page, route="/display", title="Top 10 · movievote", on_load=DisplayState.load)
app.add_page(
    verify_email_page,
    route="/verify-email",
    title="Confirm your address · movievote",
    on_load=[AuthState.check_session, LinkState.verify],
)
app.add_page(
    forgot_password_page,
    route="/forgot-password",
    title="Forgot your password · movievote",
    on_load=AuthState.clear_form_error,
)
app.add_page(
    reset_password_page,
    route="/reset-password",
    title="Set a new password · movievote",
    on_load=AuthState.clear_form_error,
)
app.add_page(
    account_page, route="/account", title="Your account · movievote", on_load=AccountState.load
)
if notifications.outbox_path(get_settings()) is not None:  # development, no mail server
    app.add_page(
        outbox_page, route="/dev/outbox", title="Outbox · movievote", on_load=OutboxState.load
    )
app.register_lifespan_task(run_background)
app.register_lifespan_task(run_live_feed)
