"""The Reflex app: pages, the mounted JSON API, background tasks, wired; no logic lives here."""

import reflex as rx

from movievote.api.app import mount_api, reach_every_path, vote_route_in_front
from movievote.components.i18n import t
from movievote.config import get_settings
from movievote.i18n import N_
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
from movievote.pages.admin import AdminState, admin_page
from movievote.pages.admin_screens import ScreensState, admin_screens_page
from movievote.pages.admin_votes import AdminVotesState, admin_votes_page
from movievote.pages.auth import login, signup
from movievote.pages.display import DisplayState, display_page, run_screen_hub
from movievote.pages.leaderboard import LeaderboardState, leaderboard_page
from movievote.pages.movie import MovieState, movie_page
from movievote.pages.movies import MoviesState, movies_page
from movievote.pages.results import (
    MonthResultState,
    ResultsState,
    month_result_page,
    results_page,
)
from movievote.pages.winners import WinnersState, winners_page
from movievote.root import run_background
from movievote.services import notifications
from movievote.state import AuthState


def title(text: str) -> rx.Var:
    """A page's title in the page's language ("Filmes · movievote")."""
    return t(text) + " · movievote"


class App(rx.App):
    """Reflex's app, whose top-level mounts route every path (`reach_every_path`), with the
    vote route in front of its ASGI stack (api.vote_route)."""

    def __call__(self):  # type: ignore[no-untyped-def]
        return vote_route_in_front(
            reach_every_path(super().__call__()),
            get_settings(),
            before=self._set_contexts_internal,
        )


app = App(
    api_transformer=mount_api,
    toaster=rx.toast.provider(position="bottom-right"),
    stylesheets=["/contrast.css"],  # Radix colours adjusted to WCAG AA contrast
)
app.add_page(
    movies_page,
    route="/",
    title=title(N_("Movies")),
    on_load=MoviesState.load,  # it verifies the session itself
)
app.add_page(
    movie_page,
    route="/movies/[id]",
    title=title(N_("Movie")),
    on_load=MovieState.load,  # it verifies the session itself
)
app.add_page(login, route="/login", title=title(N_("Log in")), on_load=AuthState.clear_form_error)
app.add_page(
    signup, route="/signup", title=title(N_("Sign up")), on_load=AuthState.clear_form_error
)
app.add_page(
    leaderboard_page,
    route="/leaderboard",
    title=title(N_("Leaderboard")),
    on_load=[AuthState.check_session, LeaderboardState.load],
)
app.add_page(display_page, route="/display", title=title(N_("Top 10")), on_load=DisplayState.load)
app.add_page(
    winners_page,
    route="/winners",
    title=title(N_("Hall of fame")),
    on_load=[AuthState.check_session, WinnersState.load],
)
app.add_page(
    results_page,
    route="/results",
    title=title(N_("Results")),
    on_load=[AuthState.check_session, ResultsState.load],
)
app.add_page(
    month_result_page,
    route="/results/[month]",
    title=title(N_("Month result")),
    on_load=MonthResultState.load,  # it verifies the session itself (the member's ballot)
)
app.add_page(
    verify_email_page,
    route="/verify-email",
    title=title(N_("Confirm your address")),
    on_load=[AuthState.check_session, LinkState.verify],
)
app.add_page(
    forgot_password_page,
    route="/forgot-password",
    title=title(N_("Forgot your password")),
    on_load=AuthState.clear_form_error,
)
app.add_page(
    reset_password_page,
    route="/reset-password",
    title=title(N_("Set a new password")),
    on_load=AuthState.clear_form_error,
)
app.add_page(
    account_page, route="/account", title=title(N_("Your account")), on_load=AccountState.load
)
app.add_page(admin_page, route="/admin", title=title(N_("Administration")), on_load=AdminState.load)
app.add_page(
    admin_votes_page,
    route="/admin/votes",
    title=title(N_("Votes of the month")),
    on_load=AdminVotesState.load,
)
app.add_page(
    admin_screens_page,
    route="/admin/screens",
    title=title(N_("Lobby screens")),
    on_load=ScreensState.load,
)
if notifications.outbox_path(get_settings()) is not None:  # development, no mail server
    app.add_page(
        outbox_page, route="/dev/outbox", title=title(N_("Outbox")), on_load=OutboxState.load
    )
app.register_lifespan_task(run_background)
app.register_lifespan_task(run_live_feed)
app.register_lifespan_task(run_screen_hub)
