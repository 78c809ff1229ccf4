"""The operators' page (`/admin`): members (search, block with a reason, unblock, mail a new
verification link), invite codes, the catalogue (search every movie, hide with a reason,
unhide, edit; add from TMDB or OMDb; import a file: `admin_catalogue`) and the audit log
(browse, export). Every handler checks on the server, from the verified session, that the
browser's member is an admin: what the page shows or hides decides nothing."""

from __future__ import annotations

from typing import Any

import reflex as rx

from movievote.components.admin import AdminGate, admins_only, outcome
from movievote.components.i18n import nt, t
from movievote.components.layout import page, scroll_table
from movievote.errors import N_, DomainError
from movievote.pages.admin_catalogue import CatalogueTools, catalogue_tools
from movievote.pages.admin_members import MemberTools, invites_section, resend_button
from movievote.root import get_root
from movievote.services import admin, curation
from movievote.state import AuthState

PAGE_SIZE = 25
MOVIES_SIZE = 25
AUDIT_SIZE = 25


class AdminState(AdminGate, CatalogueTools, MemberTools, rx.State):
    """What an admin sees; empty for anyone else (and every handler says no to them). The
    catalogue's and the members' tools are mixed in (`admin_catalogue`, `admin_members`)."""

    query: str = ""
    members: list[dict[str, Any]] = []
    total: int = 0
    movie_query: str = ""
    movies: list[dict[str, Any]] = []
    movie_total: int = 0
    audit: list[dict[str, Any]] = []
    audit_total: int = 0

    def _path(self) -> str:
        return "/admin"

    def _forget(self) -> None:
        self.members, self.audit, self.total, self.audit_total = [], [], 0, 0
        self.movies, self.movie_total = [], 0
        self._forget_catalogue_tools()
        self._forget_member_tools()

    async def _on_load(self) -> None:
        await self._read()

    async def _read(self) -> None:
        db = get_root().db
        members = await admin.list_members(q=self.query or None, page_size=PAGE_SIZE, db=db)
        self.total = members.total
        self.members = [
            {
                "id": m.id,
                "email": m.email,
                "name": m.display_name,
                "joined": m.created_at.isoformat(),
                "verified": m.verified,
                "admin": m.admin,
                "blocked": m.blocked,
            }
            for m in members.items
        ]
        await self._read_movies()
        await self._read_invites()
        self.search_sources = curation.search_sources(get_root().settings)
        entries = await admin.audit_entries(page_size=AUDIT_SIZE, db=db)
        self.audit_total = entries.total
        self.audit = [
            {
                "at": f"{e.at:%Y-%m-%d %H:%M:%S}",  # stored in UTC
                "who": e.actor_label,
                "action": e.action,
                "target": f"{e.target_type or ''} {e.target_id or ''}".strip(),
                "reason": e.reason or "",
            }
            for e in entries.items
        ]

    async def _read_movies(self) -> None:
        found = await admin.list_movies(
            q=self.movie_query or None, page_size=MOVIES_SIZE, db=get_root().db
        )
        self.movie_total = found.total
        self.movies = [
            {"id": m.id, "title": m.title, "year": str(m.year or ""), "hidden": m.hidden}
            for m in found.items
        ]

    @rx.event
    async def search_movies(self, value: str) -> None:
        self.movie_query = value
        if await self._admin() is not None:
            try:
                await self._read_movies()
            except DomainError as exc:
                self.error = await (await self.get_state(AuthState))._explain(exc)

    @rx.event
    async def hide(self, form: dict[str, str]) -> None:
        await self._change_movie(True, form)

    @rx.event
    async def unhide(self, form: dict[str, str]) -> None:
        await self._change_movie(False, form)

    async def _change_movie(self, hide: bool, form: dict[str, str]) -> None:
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        actor = admin.Actor(user.id, user.email)
        try:
            movie_id = int(form.get("movie_id", ""))
            if hide:
                changed = await admin.hide_movie(
                    movie_id=movie_id,
                    reason=form.get("reason", ""),
                    actor=actor,
                    db=get_root().db,
                )
                self.message = await auth._say(
                    N_("{title} is hidden: no one can vote for it."), title=changed.title
                )
            else:
                changed = await admin.unhide_movie(
                    movie_id=movie_id,
                    reason=form.get("reason") or None,
                    actor=actor,
                    db=get_root().db,
                )
                self.message = await auth._say(
                    N_("{title} is back in the vote."), title=changed.title
                )
        except ValueError:
            self.error = await auth._say(N_("Choose a movie first."))
        except DomainError as exc:
            self.error = await auth._explain(exc)
        await self._read()

    @rx.event
    async def search(self, value: str) -> None:
        self.query = value
        if await self._admin() is not None:
            await self._read()

    @rx.event
    async def block(self, form: dict[str, str]) -> None:
        await self._change("block", form)

    @rx.event
    async def unblock(self, form: dict[str, str]) -> None:
        await self._change("unblock", form)

    async def _change(self, what: str, form: dict[str, str]) -> None:
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        actor = admin.Actor(user.id, user.email)
        try:
            member_id = int(form.get("member_id", ""))
            if what == "block":
                changed = await admin.block_member(
                    user_id=member_id,
                    reason=form.get("reason", ""),
                    actor=actor,
                    db=get_root().db,
                )
                self.message = await auth._say(N_("{email} is blocked."), email=changed.email)
            else:
                changed = await admin.unblock_member(
                    user_id=member_id,
                    reason=form.get("reason") or None,
                    actor=actor,
                    db=get_root().db,
                )
                self.message = await auth._say(
                    N_("{email} may log in and vote again."), email=changed.email
                )
        except ValueError:
            self.error = await auth._say(N_("Choose a member first."))
        except DomainError as exc:
            self.error = await auth._explain(exc)
        await self._read()

    @rx.event
    async def export_audit(self):  # type: ignore[no-untyped-def]
        """The whole audit log as CSV, streamed from the service into one download."""
        if await self._admin() is None:
            return None
        rows = [chunk async for chunk in admin.audit_csv(db=get_root().db)]
        return rx.download(data="".join(rows), filename="movievote-audit.csv")


def _yes(flag: rx.Var) -> rx.Component:
    return rx.cond(flag, rx.icon("check", size=16, aria_label=t("yes")), "")


def _action_form(
    row: rx.vars.ObjectVar[dict[str, Any]],
    field: str,
    handler: rx.EventHandler,
    label: rx.Var,
    *,
    strong: bool,
) -> rx.Component:
    """One admin action on one row (block or unblock a member, hide or unhide a movie): the
    row's id in `field`, and a reason, required for the `strong` action (it goes into the
    audit log)."""
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name=field, value=row["id"].to(str)),
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


def _movie_row(movie: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(movie["title"]),
        rx.table.cell(movie["year"]),
        rx.table.cell(
            rx.cond(
                movie["hidden"],
                rx.badge(t("Hidden"), color_scheme="red"),
                rx.badge(t("Listed"), color_scheme="green"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.icon("pencil", size=14),
                    t("Edit"),
                    on_click=AdminState.edit(movie["id"].to(int)),
                    size="1",
                    variant="soft",
                    class_name="edit-movie",
                    custom_attrs={"data-movie": movie["id"].to(str)},
                ),
                rx.cond(
                    movie["hidden"],
                    _action_form(movie, "movie_id", AdminState.unhide, t("Unhide"), strong=False),
                    _action_form(movie, "movie_id", AdminState.hide, t("Hide"), strong=True),
                ),
                spacing="2",
                align="center",
            )
        ),
        class_name="movie-row",
    )


def _member_row(member: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(member["email"]),
        rx.table.cell(member["name"]),
        rx.table.cell(
            rx.cond(member["verified"], _yes(member["verified"]), resend_button(AdminState, member))
        ),
        rx.table.cell(_yes(member["admin"])),
        rx.table.cell(
            rx.cond(
                member["blocked"],
                rx.badge(t("Blocked"), color_scheme="red"),
                rx.badge(t("Active"), color_scheme="green"),
            )
        ),
        rx.table.cell(
            rx.cond(
                member["blocked"],
                _action_form(member, "member_id", AdminState.unblock, t("Unblock"), strong=False),
                _action_form(member, "member_id", AdminState.block, t("Block"), strong=True),
            )
        ),
        class_name="member-row",
    )


def _audit_row(entry: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry["at"]),
        rx.table.cell(entry["who"]),
        rx.table.cell(entry["action"]),
        rx.table.cell(entry["target"]),
        rx.table.cell(entry["reason"]),
        class_name="audit-row",
    )


def _members() -> rx.Component:
    return rx.vstack(
        rx.heading(t("Members"), size="5", as_="h2", id="members-heading", tab_index=-1),
        rx.input(
            placeholder=t("Search by email or name"),
            aria_label=t("Search by email or name"),
            value=AdminState.query,
            on_change=AdminState.search.debounce(300),
            type="search",
            width="100%",
            max_width="24em",
        ),
        rx.text(nt("{n} member", "{n} members", AdminState.total), size="2", id="member-count"),
        scroll_table(
            [
                t("Email"),
                t("Display name"),
                t("Verified"),
                t("Admin"),
                t("Status"),
                t("Action"),
            ],
            rx.foreach(AdminState.members, _member_row),
            name=t("Members"),
        ),
        width="100%",
        spacing="3",
    )


def _catalogue() -> rx.Component:
    return rx.vstack(
        rx.heading(t("Catalogue"), size="5", as_="h2", id="catalogue-heading", tab_index=-1),
        rx.text(
            t("A hidden movie leaves the catalogue and cannot be voted for; its votes stay."),
            size="2",
            color_scheme="gray",
        ),
        rx.input(
            placeholder=t("Search by title"),
            aria_label=t("Search by title"),
            value=AdminState.movie_query,
            on_change=AdminState.search_movies.debounce(300),
            type="search",
            width="100%",
            max_width="24em",
        ),
        rx.text(nt("{n} movie", "{n} movies", AdminState.movie_total), size="2", id="movie-count"),
        scroll_table(
            [t("Title"), t("Year"), t("Status"), t("Action")],
            rx.foreach(AdminState.movies, _movie_row),
            name=t("Catalogue"),
        ),
        catalogue_tools(AdminState, scroll_table),
        width="100%",
        spacing="3",
    )


def _audit() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(t("Audit log"), size="5", as_="h2", id="audit-heading", tab_index=-1),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=16),
                t("Export (CSV)"),
                on_click=AdminState.export_audit,
                variant="soft",
                size="2",
            ),
            width="100%",
            align="center",
        ),
        rx.text(nt("{n} entry", "{n} entries", AdminState.audit_total), size="2", id="audit-count"),
        scroll_table(
            [t("When (UTC)"), t("Who"), t("What"), t("Target"), t("Reason")],
            rx.foreach(AdminState.audit, _audit_row),
            name=t("Audit log"),
        ),
        width="100%",
        spacing="3",
    )


# The page's sections, each a heading its jump button focuses: a full page has about 250 Tab
# stops (ten per member and movie row), too many to reach the audit log by Tab alone.
SECTIONS = (
    (N_("Members"), "members-heading"),
    (N_("Invite codes"), "invites-heading"),
    (N_("Catalogue"), "catalogue-heading"),
    (N_("Audit log"), "audit-heading"),
)


def _jumps() -> rx.Component:
    """Buttons that take the focus (and the view) to each section."""
    return rx.el.nav(
        rx.hstack(
            *[
                rx.button(
                    t(label),
                    on_click=rx.call_script(f"document.getElementById('{target}')?.focus()"),
                    variant="soft",
                    size="1",
                    color_scheme="gray",
                )
                for label, target in SECTIONS
            ],
            spacing="2",
            wrap="wrap",
        ),
        aria_label=t("Sections of this page"),
        id="admin-sections",
    )


def admin_page() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading(t("Administration"), size="8", as_="h1"),
            rx.cond(
                AdminState.allowed,
                rx.vstack(
                    rx.hstack(
                        rx.link(
                            t("Votes of the month"), href="/admin/votes", id="admin-votes-link"
                        ),
                        rx.link(t("Lobby screens"), href="/admin/screens", id="admin-screens-link"),
                        spacing="4",
                    ),
                    _jumps(),
                    rx.vstack(  # stays in view: the outcome of a button far down the page
                        *outcome(AdminState.message, AdminState.error, prefix="admin"),
                        position="sticky",
                        top="4em",
                        z_index="5",
                        background_color="var(--color-background)",
                        width="100%",
                        spacing="2",
                    ),
                    _members(),
                    invites_section(AdminState, scroll_table),
                    _catalogue(),
                    _audit(),
                    spacing="6",
                    width="100%",
                ),
                admins_only(AdminState.checked),
            ),
            spacing="4",
            width="100%",
        )
    )
