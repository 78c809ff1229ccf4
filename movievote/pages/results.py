"""Month results: `/results` lists the published months; `/results/YYYY-MM` shows one month's
final ranking and what anyone needs to re-check it (the ballots' SHA-256, the exports, the
command), and a member who voted their own ballot's pseudonym, to find it in the export. A
month not yet published says when it will be; a month that is not one says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import reflex as rx

from movievote.components.i18n import LANG, day_text, month_text, nt, number_text, t
from movievote.components.layout import page
from movievote.components.movie_card import BACKEND_ORIGIN
from movievote.config import get_settings
from movievote.errors import ResultNotFound
from movievote.i18n import localised
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.live import row_title, rows_of, titles_of
from movievote.models import MonthResultPublic, Ranking, ResultSummary
from movievote.pages.leaderboard import RANKING_CSS, ranking_table
from movievote.pages.winners import result_href
from movievote.periods import parse_period
from movievote.root import get_root
from movievote.services import published, results
from movievote.services.ballots import TIE_BREAK
from movievote.state import AuthState

CODE_CSS = """
.result-code { display: block; padding: var(--space-2) var(--space-3); overflow-wrap: anywhere;
  white-space: pre-wrap; }
"""


def month_rows(read: Mapping[str, list[ResultSummary]]) -> list[dict[str, Any]]:
    """Published months (read in each language) as the list's rows, with their winner's
    title in each language."""
    titles: dict[str, dict[str, str]] = {}
    for language, months in read.items():
        for month in months:
            if month.winner is not None:
                titles.setdefault(month.month, {})[language] = month.winner.movie.title
    rows = []
    for month in read[DEFAULT_LANGUAGE]:
        winner = month.winner
        rows.append(
            {
                "month": month.month,
                "total": month.total_votes,
                "has_winner": winner is not None,
                "title": winner.movie.title if winner else "",
                "titles": titles.get(month.month, {}),
                "votes": winner.votes if winner else 0,
            }
        )
    return rows


class ResultsState(rx.State):
    """The published months, newest first."""

    months: list[dict[str, Any]] = []
    loaded: bool = False
    next_due: str = ""  # ISO 8601: when the first result comes out (while there is none)

    @rx.event
    async def load(self) -> None:
        root = get_root()
        read = {
            language: await published.published_months(language=language, db=root.db)
            for language in LANGUAGES
        }
        self.months = month_rows(read)
        self.next_due = ""
        if not self.months:
            _, due = await results.next_publication(settings=root.settings, db=root.db)
            self.next_due = due.isoformat()
        self.loaded = True


def _board(result: MonthResultPublic) -> Ranking:
    return Ranking(
        period=result.month,
        generated_at=result.published_at,
        total_votes=result.total_votes,
        items=result.ranking,
    )


class MonthResultState(rx.State):
    """One month's result as this visitor sees it; the member's own ballot comes from the
    verified session, never from the browser."""

    status: str = ""  # "" (loading), "published", "unpublished" or "invalid" (not a month)
    period: str = ""  # YYYY-MM
    notice: dict[str, str] = {}  # per language: when it will be published, or why never
    published_at: str = ""  # ISO 8601
    published_time: str = ""  # HH:MM in the vote time zone
    total_votes: int = 0
    ballots: int = 0
    sha256: str = ""
    rows: list[dict[str, Any]] = []
    my_voter: str = ""  # the member's pseudonym this month ("": logged out, or did not vote)
    my_vote_id: int = 0
    my_voided: bool = False

    def _forget(self) -> None:
        self.status, self.period, self.notice = "", "", {}
        self.published_at = self.published_time = self.sha256 = ""
        self.total_votes = self.ballots = 0
        self.rows = []
        self.my_voter, self.my_vote_id, self.my_voided = "", 0, False

    @rx.event
    async def load(self) -> None:
        """The month in the address: `/results/2026-11`."""
        await self._show(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])

    async def _show(self, text: str) -> None:
        self._forget()
        root = get_root()
        try:
            period = parse_period(text)
        except ValueError:
            self.status = "invalid"
            return
        self.period = text
        try:
            read = {
                language: await published.get_result(
                    period=period, language=language, settings=root.settings, db=root.db
                )
                for language in LANGUAGES
            }
        except ResultNotFound as exc:
            self.notice = {language: localised(exc, language) for language in LANGUAGES}
            self.status = "unpublished"
            return
        result = read[DEFAULT_LANGUAGE]
        titles = titles_of({language: (_board(r),) for language, r in read.items()})
        self.rows = rows_of(_board(result), titles)
        self.published_at = result.published_at.isoformat()
        self.published_time = f"{result.published_at.astimezone(root.settings.zone):%H:%M}"
        self.total_votes, self.ballots, self.sha256 = (
            result.total_votes,
            result.ballots,
            result.ballots_sha256,
        )
        self.status = "published"
        user = await (await self.get_state(AuthState))._verified_user()
        if user is not None and user.id is not None:
            mine = await published.ballot_of(user_id=user.id, period=period, db=root.db)
            if mine is not None:
                self.my_voter, self.my_vote_id, self.my_voided = (
                    mine.voter,
                    mine.vote_id,
                    mine.voided,
                )


# --- /results ---------------------------------------------------------------------------------


def _month_row(month: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(month_text(month["month"].to(str)), href=result_href(month["month"]))
        ),
        rx.table.cell(rx.cond(month["has_winner"], row_title(month), "—")),
        rx.table.cell(number_text(month["votes"].to(int))),
        rx.table.cell(number_text(month["total"].to(int))),
        class_name="result-month-row",
    )


def results_page() -> rx.Component:
    zone = get_settings().vote_timezone
    return page(
        rx.vstack(
            rx.heading(t("Results"), size="8", as_="h1"),
            rx.text(
                t(
                    "Every month closed and published, newest first: its final ranking and the "
                    "ballots anyone can re-check."
                ),
                color_scheme="gray",
            ),
            rx.cond(
                ResultsState.loaded,
                rx.box(
                    rx.cond(
                        ResultsState.months.length() > 0,  # type: ignore[attr-defined]
                        rx.box(
                            rx.table.root(
                                rx.table.header(
                                    rx.table.row(
                                        rx.table.column_header_cell(t("Month")),
                                        rx.table.column_header_cell(t("Movie of the month")),
                                        rx.table.column_header_cell(t("Winner's votes")),
                                        rx.table.column_header_cell(t("Votes in the month")),
                                    )
                                ),
                                rx.table.body(rx.foreach(ResultsState.months, _month_row)),
                                width="100%",
                                id="results-table",
                            ),
                            width="100%",
                            overflow_x="auto",
                        ),
                        rx.callout(
                            t(
                                "No month has been published yet. The first result comes out on "
                                "{day}.",
                                day=day_text(ResultsState.next_due, zone),
                            ),
                            icon="clock",
                            id="results-empty",
                        ),
                    ),
                    width="100%",
                    id="results-list",
                ),
                rx.text(t("Loading…"), color_scheme="gray"),
            ),
            rx.link(t("Hall of fame"), href="/winners"),
            spacing="4",
            width="100%",
        )
    )


# --- /results/YYYY-MM -------------------------------------------------------------------------


def _export_href(suffix: str) -> rx.Var[str]:
    """An export of the month on the API (its origin as the posters' one)."""
    return rx.Var(
        f"({BACKEND_ORIGIN}) + '/api/results/' + ({MonthResultState.period}) + '{suffix}'",
        _var_type=str,
    )


def _download(text: rx.Var, suffix: str, file_name: rx.Var, link_id: str) -> rx.Component:
    return rx.link(
        rx.icon("download", size=16),
        text,
        href=_export_href(suffix),
        download=file_name,
        as_child=False,  # a plain link: the browser downloads the file
        id=link_id,
        display="inline-flex",
        align_items="center",
        gap="0.3em",
    )


def _winner() -> rx.Component:
    first = MonthResultState.rows[0]
    return rx.cond(
        MonthResultState.rows.length() > 0,  # type: ignore[attr-defined]
        rx.callout.root(
            rx.callout.icon(rx.icon("trophy")),
            rx.callout.text(
                t(
                    "Movie of {month}: {title}",
                    month=month_text(MonthResultState.period),
                    title=row_title(first),
                ),
                " · ",
                nt("{n} vote", "{n} votes", first["votes"].to(int)),
            ),
            color_scheme="amber",
            id="result-winner",
            size="2",
        ),
        rx.callout(
            t("No vote was counted this month: it has no movie."),
            icon="info",
            id="result-winner",
        ),
    )


def _check_it() -> rx.Component:
    file_name = ("movievote-" + MonthResultState.period + ".json").to(str)
    command: rx.Var[str] = rx.Var(
        f"'movievote verify-results movievote-' + ({MonthResultState.period}) + "
        f"'.json --server ' + ({BACKEND_ORIGIN})",
        _var_type=str,
    )
    return rx.vstack(
        rx.heading(t("Check it yourself"), size="5", as_="h2"),
        rx.text(
            t(
                "Every ballot is published, each voter under a pseudonym of their own for the "
                "month. The SHA-256 of the ballots file is:"
            )
        ),
        rx.code(MonthResultState.sha256, class_name="result-code", id="result-sha256"),
        rx.hstack(
            _download(
                t("Ballots (CSV)"),
                "/ballots.csv",
                ("movievote-" + MonthResultState.period + "-ballots.csv").to(str),
                "download-csv",
            ),
            _download(t("Result and ballots (JSON)"), "/export.json", file_name, "download-json"),
            spacing="5",
            wrap="wrap",
        ),
        rx.text(t("Download the JSON file, then run on your own computer:")),
        rx.code(command, class_name="result-code", id="verify-command"),
        rx.text(
            t(
                "It recounts the ballots, recomputes their hash and the ranking, and compares "
                "them with the file and with this server: it says OK, or every difference."
            ),
            size="2",
            color_scheme="gray",
        ),
        width="100%",
        spacing="3",
    )


def _my_ballot() -> rx.Component:
    return rx.vstack(
        rx.heading(t("Your ballot"), size="5", as_="h2"),
        rx.cond(
            AuthState.logged_in,
            rx.cond(
                MonthResultState.my_voter != "",
                rx.vstack(
                    rx.text(
                        t(
                            "Your pseudonym this month is {voter}, and your ballot is vote "
                            "{vote}: look for them in the ballots file.",
                            voter=MonthResultState.my_voter,
                            vote=MonthResultState.my_vote_id.to(str),
                        ),
                        id="my-ballot",
                    ),
                    rx.cond(
                        MonthResultState.my_voided,
                        rx.text(
                            t("It was voided by the vote's organisers: it is not counted."),
                            color_scheme="amber",
                        ),
                    ),
                    spacing="1",
                ),
                rx.text(
                    t("You did not vote in {month}.", month=month_text(MonthResultState.period)),
                    id="my-ballot",
                ),
            ),
            rx.text(
                t("Log in to see your pseudonym for the month and find your ballot in the file."),
                " ",
                rx.link(
                    t("Log in"),
                    href=("/login?next=/results/" + MonthResultState.period),
                    underline="always",  # in a line of text: not by its colour alone
                ),
                id="my-ballot",
            ),
        ),
        width="100%",
        spacing="2",
    )


def _published(zone: str) -> rx.Component:
    return rx.vstack(
        _winner(),
        rx.text(
            nt("{n} vote counted", "{n} votes counted", MonthResultState.total_votes),
            " · ",
            t(
                "published on {day} at {time} ({zone})",
                day=day_text(MonthResultState.published_at, zone),
                time=MonthResultState.published_time,
                zone=zone,
            ),
            color_scheme="gray",
            id="result-total",
        ),
        rx.cond(
            MonthResultState.rows.length() > 0,  # type: ignore[attr-defined]
            ranking_table(MonthResultState.rows),
        ),
        rx.text(t("Ranking rule: {rule}.", rule=t(TIE_BREAK)), size="2", color_scheme="gray"),
        _check_it(),
        _my_ballot(),
        width="100%",
        spacing="5",
    )


def month_result_page() -> rx.Component:
    zone = get_settings().vote_timezone
    status = MonthResultState.status
    return page(
        rx.vstack(
            rx.el.style(RANKING_CSS + CODE_CSS),
            rx.heading(
                rx.cond(
                    (status == "published") | (status == "unpublished"),
                    t("Result of {month}", month=month_text(MonthResultState.period)),
                    t("Month result"),
                ),
                size="8",
                as_="h1",
            ),
            rx.match(
                status,
                ("published", _published(zone)),
                (
                    "unpublished",
                    rx.callout(
                        MonthResultState.notice[LANG],  # type: ignore[index]
                        icon="clock",
                        id="result-notice",
                    ),
                ),
                (
                    "invalid",
                    rx.callout(
                        t("There is no such month: a month is written like 2026-11."),
                        icon="circle_alert",
                        color_scheme="red",
                        id="result-invalid",
                    ),
                ),
                rx.text(t("Loading…"), color_scheme="gray"),
            ),
            rx.hstack(
                rx.link(t("Every published month"), href="/results"),
                rx.link(t("Hall of fame"), href="/winners"),
                spacing="4",
            ),
            spacing="4",
            width="100%",
        )
    )
