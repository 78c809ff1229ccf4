"""The operators' page for a month's votes (`/admin/votes`): the movies whose votes show
stuffing signs, the votes themselves (newest first, with their signs), and voiding a vote with
a reason or restoring it. Every handler checks on the server, from the verified session, that
the browser's member is an admin: what the page shows or hides decides nothing."""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from movievote.components.admin import AdminGate, admins_only, outcome
from movievote.components.i18n import month_text, nt, number_text, percent_text, t
from movievote.components.layout import page, scroll_table
from movievote.errors import N_, DomainError
from movievote.models import AdminVote, MonthVotes, ResultCheck
from movievote.periods import current_period, format_period, parse_period
from movievote.root import get_root
from movievote.services import admin, moderation, published

PAGE_SIZE = 50
SIGNS = moderation.SIGNS
# the signs' thresholds as the explanation shows them ("48", "10")
YOUNG_HOURS = f"{SIGNS.young_account_hours:g}"
BURST_VOTES = str(SIGNS.burst_votes)
BURST_MINUTES = f"{SIGNS.burst_minutes:g}"
WAVE_ACCOUNTS = str(SIGNS.wave_accounts)
WAVE_MINUTES = f"{SIGNS.wave_minutes:g}"
ADDRESS_ACCOUNTS = str(SIGNS.address_accounts)
ADDRESS_MINUTES = f"{SIGNS.address_minutes:g}"
VOTES_CSS = """
.vote-row.voided .struck { text-decoration: line-through; color: var(--gray-11); }
"""


def _vote_row_data(vote: AdminVote) -> dict[str, Any]:
    hours = vote.account_age_hours
    return {
        "id": str(vote.id),
        "at": f"{vote.created_at:%Y-%m-%d %H:%M}",  # stored in UTC
        "title": vote.movie_title,
        "name": vote.display_name,
        "email": vote.email,
        "age_hours": math.floor(hours),
        "age_days": math.floor(hours / 24),
        "verified": vote.verified,
        "young": moderation.YOUNG_ACCOUNT in vote.flags,
        "burst": moderation.BURST in vote.flags,
        "wave": moderation.SIGNUP_WAVE in vote.flags,
        "address": moderation.SHARED_ADDRESS in vote.flags,
        "voided": vote.voided,
        "voided_by": vote.voided_by or "",
        "voided_at": f"{vote.voided_at:%Y-%m-%d %H:%M}" if vote.voided_at else "",
        "reason": vote.void_reason or "",
    }


def _check_row_data(check: ResultCheck) -> dict[str, Any]:
    return {
        "month": check.month,
        "published_at": f"{check.published_at:%Y-%m-%d %H:%M}",  # stored in UTC
        "total": check.total_votes,
        "ballots": check.ballots,
        "match": check.tallies_match,
        "mismatches": [
            {
                "movie_id": str(m.movie_id) if m.movie_id is not None else "",
                "ballots": m.ballots,
                "tallies": m.tallies,
            }
            for m in check.mismatches
        ],
        "notified": check.notified_at is not None,
    }


class AdminVotesState(AdminGate, rx.State):
    """What an admin sees of a month's votes; empty for anyone else (and every handler says no
    to them)."""

    month: str = ""  # YYYY-MM
    months: list[str] = []
    final: bool = False
    final_at: str = ""  # "YYYY-MM-DD HH:MM", UTC
    movie_id: str = ""  # "": every movie
    movie_title: str = ""
    only_flagged: bool = False
    page: int = 1
    total: int = 0
    votes: list[dict[str, Any]] = []
    suspicious: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []  # every published month and its tallies' check

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    def _path(self) -> str:
        return "/admin/votes"

    def _forget(self) -> None:
        self.votes, self.suspicious, self.total, self.months = [], [], 0, []
        self.results = []

    async def _on_load(self) -> None:
        root = get_root()
        self.months = await moderation.vote_months(settings=root.settings, db=root.db)
        if self.month not in self.months:
            self.month = format_period(current_period(root.settings.zone))
        await self._read()
        self.results = [_check_row_data(c) for c in await published.result_checks(db=root.db)]
        return None

    async def _read(self) -> None:
        root = get_root()
        found: MonthVotes = await moderation.month_votes(
            period=parse_period(self.month),
            page=self.page,
            page_size=PAGE_SIZE,
            movie_id=int(self.movie_id) if self.movie_id else None,
            only_flagged=self.only_flagged,
            settings=root.settings,
            db=root.db,
        )
        self.final = found.final
        self.final_at = f"{found.final_at:%Y-%m-%d %H:%M}"
        self.total = found.total
        self.votes = [_vote_row_data(v) for v in found.items]
        self.suspicious = [
            {
                "id": str(m.movie_id),
                "title": m.title,
                "votes": m.votes,
                "voided": m.voided,
                "young": m.young_account,
                "young_share": m.young_share,
                "burst": m.burst,
                "wave": m.signup_wave,
                "address": m.shared_address,
                "flagged": m.flagged,
            }
            for m in found.suspicious
        ]

    async def _show(self) -> None:
        """Read again for an admin (after a filter changed), or show nothing."""
        if await self._admin() is None:
            return
        try:
            await self._read()
        except (DomainError, ValueError):
            self.month, self.page = format_period(current_period(get_root().settings.zone)), 1
            await self._read()

    @rx.event
    async def choose_month(self, value: str) -> None:
        self.month, self.page, self.movie_id, self.movie_title = value, 1, "", ""
        self.message = self.error = ""
        await self._show()

    @rx.event
    async def show_movie(self, movie_id: str, title: str) -> None:
        if not str(movie_id).isdigit():
            return
        self.movie_id, self.movie_title, self.page = str(movie_id), str(title), 1
        await self._show()

    @rx.event
    async def all_movies(self) -> None:
        self.movie_id, self.movie_title, self.page = "", "", 1
        await self._show()

    @rx.event
    async def set_flagged(self, value: bool) -> None:
        self.only_flagged, self.page = bool(value), 1
        await self._show()

    @rx.event
    async def go_to_page(self, number: int) -> None:
        if not isinstance(number, int):
            return
        self.page = min(max(1, number), self.page_count)
        await self._show()

    @rx.event
    async def void(self, form: dict[str, str]) -> None:
        await self._change(True, form)

    @rx.event
    async def restore(self, form: dict[str, str]) -> None:
        await self._change(False, form)

    async def _change(self, void: bool, form: dict[str, str]) -> None:
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        actor = admin.Actor(user.id, user.email)
        root = get_root()
        try:
            vote_id = int(form.get("vote_id", ""))
            if void:
                changed = await moderation.void_vote(
                    vote_id=vote_id,
                    reason=form.get("reason", ""),
                    actor=actor,
                    settings=root.settings,
                    db=root.db,
                    subject=root.subject,
                )
                self.message = await auth._say(
                    N_("The vote for {title} is voided: it no longer counts."),
                    title=changed.movie_title,
                )
            else:
                changed = await moderation.restore_vote(
                    vote_id=vote_id,
                    reason=form.get("reason") or None,
                    actor=actor,
                    settings=root.settings,
                    db=root.db,
                    subject=root.subject,
                )
                self.message = await auth._say(
                    N_("The vote for {title} counts again."), title=changed.movie_title
                )
        except ValueError:
            self.error = await auth._say(N_("Choose a vote first."))
        except DomainError as exc:
            self.error = await auth._explain(exc)
        await self._read()


def _reason_form(
    vote: rx.vars.ObjectVar[dict[str, Any]], handler: rx.EventHandler, label: rx.Var, strong: bool
) -> rx.Component:
    """Void (a reason required: it goes into the audit log) or restore (a reason optional)."""
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="vote_id", value=vote["id"]),
            rx.input(
                name="reason",
                placeholder=t("Reason"),
                aria_label=t("Reason"),
                size="1",
                max_length=500,
                required=strong,
            ),
            rx.button(
                label,
                type="submit",
                size="1",
                variant="solid" if strong else "soft",
                color_scheme="red" if strong else "gray",
            ),
            spacing="2",
        ),
        on_submit=handler,
        reset_on_submit=True,
    )


def _sign_badges(vote: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.flex(
        rx.cond(vote["young"], rx.badge(t("Young account"), color_scheme="orange")),
        rx.cond(vote["burst"], rx.badge(t("Burst"), color_scheme="red")),
        rx.cond(vote["wave"], rx.badge(t("Sign-up wave"), color_scheme="purple")),
        rx.cond(vote["address"], rx.badge(t("One address"), color_scheme="crimson")),
        gap="1",
        wrap="wrap",
    )


def _age(vote: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.cond(
        vote["age_hours"].to(int) < 48,
        nt("{n} hour", "{n} hours", vote["age_hours"].to(int)),
        nt("{n} day", "{n} days", vote["age_days"].to(int)),
    )


def _vote_row(vote: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(vote["at"], class_name="struck"),
        rx.table.cell(vote["title"], class_name="struck"),
        rx.table.cell(
            rx.text(vote["name"], size="2"),
            rx.text(vote["email"], size="1", color_scheme="gray"),
            class_name="struck",
        ),
        rx.table.cell(_age(vote)),
        rx.table.cell(rx.cond(vote["verified"], rx.icon("check", size=16, aria_label=t("yes")))),
        rx.table.cell(_sign_badges(vote)),
        rx.table.cell(
            rx.cond(
                vote["voided"],
                rx.vstack(
                    rx.badge(t("Voided"), color_scheme="red"),
                    rx.text(
                        t(
                            "by {who} on {when} (UTC)",
                            who=vote["voided_by"],
                            when=vote["voided_at"],
                        ),
                        size="1",
                    ),
                    rx.text(vote["reason"], size="1", class_name="void-reason"),
                    spacing="1",
                ),
                rx.badge(t("Counted"), color_scheme="green"),
            )
        ),
        rx.table.cell(
            rx.cond(
                AdminVotesState.final,
                rx.text(t("Final"), size="1", color_scheme="gray"),
                rx.cond(
                    vote["voided"],
                    _reason_form(vote, AdminVotesState.restore, t("Restore"), strong=False),
                    _reason_form(vote, AdminVotesState.void, t("Void"), strong=True),
                ),
            )
        ),
        class_name=rx.cond(vote["voided"], "vote-row voided", "vote-row"),
    )


def _suspicious_row(movie: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(movie["title"]),
        rx.table.cell(number_text(movie["votes"])),
        rx.table.cell(number_text(movie["young"]), " (", percent_text(movie["young_share"]), ")"),
        rx.table.cell(number_text(movie["burst"])),
        rx.table.cell(number_text(movie["wave"])),
        rx.table.cell(number_text(movie["address"])),
        rx.table.cell(number_text(movie["voided"])),
        rx.table.cell(
            rx.button(
                t("Show its votes"),
                on_click=AdminVotesState.show_movie(movie["id"], movie["title"]),
                size="1",
                variant="soft",
            )
        ),
        class_name="suspicious-row",
    )


def _signs() -> rx.Component:
    """What each sign means, and what it cannot tell."""
    return rx.vstack(
        rx.heading(t("Signs of stuffing"), size="5", as_="h2"),
        rx.unordered_list(
            rx.list_item(
                t(
                    "Young account: the account was less than {hours} hours old when it voted.",
                    hours=YOUNG_HOURS,
                )
            ),
            rx.list_item(
                t(
                    "Burst: one of at least {votes} votes for the same movie cast within {minutes} minutes.",
                    votes=BURST_VOTES,
                    minutes=BURST_MINUTES,
                )
            ),
            rx.list_item(
                t(
                    "Sign-up wave: one of at least {accounts} votes for the same movie whose accounts were all created within {minutes} minutes.",
                    accounts=WAVE_ACCOUNTS,
                    minutes=WAVE_MINUTES,
                )
            ),
            rx.list_item(
                t(
                    "One address: one of at least {accounts} votes for the same movie whose accounts were all signed up from one address within {minutes} minutes.",
                    accounts=ADDRESS_ACCOUNTS,
                    minutes=ADDRESS_MINUTES,
                )
            ),
            size="2",
        ),
        rx.text(
            t(
                "These are signs, not proof: a lobby screen with a QR code brings young accounts "
                "voting in bursts too, from one address. The app keeps no address, only a keyed "
                "hash of the one each account signed up from, enough to group them."
            ),
            size="2",
            color_scheme="gray",
        ),
        width="100%",
        spacing="2",
    )


def _suspicious() -> rx.Component:
    return rx.vstack(
        rx.heading(t("Movies with signs"), size="5", as_="h2"),
        rx.cond(
            AdminVotesState.suspicious.length() > 0,  # type: ignore[attr-defined]
            scroll_table(
                [
                    t("Movie"),
                    t("Votes"),
                    t("Young accounts"),
                    t("In bursts"),
                    t("In sign-up waves"),
                    t("From one address"),
                    t("Voided"),
                    t("Action"),
                ],
                rx.foreach(AdminVotesState.suspicious, _suspicious_row),
                name=t("Movies with signs"),
                table_id="suspicious-table",
            ),
            rx.text(t("No movie's votes show a sign this month."), size="2", id="no-signs"),
        ),
        width="100%",
        spacing="3",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button(
            t("Previous"),
            on_click=AdminVotesState.go_to_page(AdminVotesState.page - 1),
            disabled=AdminVotesState.page <= 1,
            variant="soft",
            size="1",
        ),
        rx.text(
            t(
                "Page {page} of {count}",
                page=number_text(AdminVotesState.page),
                count=number_text(AdminVotesState.page_count),
            ),
            size="2",
        ),
        rx.button(
            t("Next"),
            on_click=AdminVotesState.go_to_page(AdminVotesState.page + 1),
            disabled=AdminVotesState.page >= AdminVotesState.page_count,
            variant="soft",
            size="1",
        ),
        align="center",
        spacing="4",
    )


def _votes() -> rx.Component:
    return rx.vstack(
        rx.heading(t("Votes"), size="5", as_="h2"),
        rx.hstack(
            rx.checkbox(
                t("Only votes with a sign"),
                checked=AdminVotesState.only_flagged,
                on_change=AdminVotesState.set_flagged,
                id="only-flagged",
            ),
            rx.cond(
                AdminVotesState.movie_id != "",
                rx.hstack(
                    rx.text(
                        t("Only {title}", title=AdminVotesState.movie_title),
                        size="2",
                        id="movie-filter",
                    ),
                    rx.button(
                        t("Every movie"),
                        on_click=AdminVotesState.all_movies,
                        size="1",
                        variant="soft",
                    ),
                    align="center",
                ),
            ),
            spacing="4",
            align="center",
            wrap="wrap",
        ),
        rx.text(nt("{n} vote", "{n} votes", AdminVotesState.total), size="2", id="vote-count"),
        scroll_table(
            [
                t("When (UTC)"),
                t("Movie"),
                t("Member"),
                t("Account age"),
                t("Verified"),
                t("Signs"),
                t("Status"),
                t("Action"),
            ],
            rx.foreach(AdminVotesState.votes, _vote_row),
            name=t("Votes"),
            table_id="votes-table",
        ),
        _pager(),
        width="100%",
        spacing="3",
    )


def _month() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.select.root(
                rx.select.trigger(aria_label=t("Month"), id="month-select"),
                rx.select.content(
                    rx.foreach(
                        AdminVotesState.months, lambda m: rx.select.item(month_text(m), value=m)
                    ),
                ),
                value=AdminVotesState.month,
                on_change=AdminVotesState.choose_month,
            ),
            rx.link(t("Back to administration"), href="/admin", size="2"),
            spacing="4",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            AdminVotesState.final,
            rx.callout(
                t(
                    "The result of {month} is final: its votes can no longer be voided or restored.",
                    month=month_text(AdminVotesState.month),
                ),
                icon="lock",
                color_scheme="gray",
                id="month-final",
                size="1",
            ),
            rx.text(
                t(
                    "A voided vote stays stored but no longer counts; until {when} (UTC) it can be restored.",
                    when=AdminVotesState.final_at,
                ),
                size="2",
                color_scheme="gray",
                id="month-open",
            ),
        ),
        width="100%",
        spacing="2",
    )


def _mismatch(mismatch: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.list_item(
        rx.cond(
            mismatch["movie_id"] != "",
            t(
                "Movie {id}: the ballots count {ballots}, the tallies said {tallies}.",
                id=mismatch["movie_id"].to(str),
                ballots=number_text(mismatch["ballots"].to(int)),
                tallies=number_text(mismatch["tallies"].to(int)),
            ),
            t(
                "The total: the ballots count {ballots}, the tallies said {tallies}.",
                ballots=number_text(mismatch["ballots"].to(int)),
                tallies=number_text(mismatch["tallies"].to(int)),
            ),
        )
    )


def _result_row(result: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(month_text(result["month"].to(str)), href="/results/" + result["month"].to(str))
        ),
        rx.table.cell(result["published_at"]),
        rx.table.cell(number_text(result["total"].to(int))),
        rx.table.cell(number_text(result["ballots"].to(int))),
        rx.table.cell(
            rx.cond(
                result["match"],
                rx.badge(t("Agree"), color_scheme="green"),
                rx.vstack(
                    rx.badge(t("Disagree"), color_scheme="red"),
                    rx.unordered_list(
                        rx.foreach(result["mismatches"].to(list[dict[str, Any]]), _mismatch),
                        size="1",
                    ),
                    spacing="1",
                ),
            )
        ),
        rx.table.cell(rx.cond(result["notified"], rx.icon("check", size=16, aria_label=t("yes")))),
        class_name="result-row",
    )


def _results() -> rx.Component:
    """Each published month: did the live tallies agree with its ballots? (The result comes
    from the ballots whatever they said; a disagreement means the tallies need a rebuild.)"""
    return rx.vstack(
        rx.heading(t("Published results"), size="5", as_="h2"),
        rx.text(
            t(
                "A month's result is counted from its ballots and compared with the live "
                "tallies. Where they disagree the result stands; repair the tallies with "
                "movievote rebuild-tallies."
            ),
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            AdminVotesState.results.length() > 0,  # type: ignore[attr-defined]
            scroll_table(
                [
                    t("Month"),
                    t("Published (UTC)"),
                    t("Votes counted"),
                    t("Ballots"),
                    t("Tallies"),
                    t("Members told"),
                ],
                rx.foreach(AdminVotesState.results, _result_row),
                name=t("Published results"),
                table_id="results-table",
            ),
            rx.text(t("No month has been published yet."), size="2", id="no-results"),
        ),
        width="100%",
        spacing="3",
    )


def admin_votes_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.el.style(VOTES_CSS),
            rx.heading(t("Votes of the month"), size="8", as_="h1"),
            rx.cond(
                AdminVotesState.allowed,
                rx.vstack(
                    _month(),
                    *outcome(AdminVotesState.message, AdminVotesState.error, prefix="votes"),
                    _suspicious(),
                    _votes(),
                    _signs(),
                    _results(),
                    spacing="6",
                    width="100%",
                ),
                admins_only(AdminVotesState.checked),
            ),
            spacing="4",
            width="100%",
        )
    )
