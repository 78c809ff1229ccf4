"""The members' tools of `/admin`: mail a member a new verification link, and the invite
codes (create with uses and expiry, list with their uses, revoke). A state mixin of
`AdminState`: every handler asks `_admin()` (the verified admin behind the browser, from the
server's view of the session) before it does anything."""

from __future__ import annotations

from typing import Any

import reflex as rx

from movievote.components.i18n import nt, t
from movievote.errors import N_, DomainError
from movievote.models import InvitePublic
from movievote.root import get_root
from movievote.services import admin

INVITES_SIZE = 25
LABEL = {"font_size": "var(--font-size-1)", "font_weight": "500"}


def _invite_row(invite: InvitePublic) -> dict[str, Any]:
    return {
        "id": invite.id,
        "code": invite.code,
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "expires": f"{invite.expires_at:%Y-%m-%d %H:%M}" if invite.expires_at else "",
        "status": invite.status,
    }


class MemberTools(rx.State, mixin=True):
    """Verification links and invite codes (mixed into AdminState)."""

    invites: list[dict[str, Any]] = []
    invite_total: int = 0

    def _forget_member_tools(self) -> None:
        self.invites, self.invite_total = [], 0

    async def _read_invites(self) -> None:
        found = await admin.list_invites(page_size=INVITES_SIZE, db=get_root().db)
        self.invite_total = found.total
        self.invites = [_invite_row(invite) for invite in found.items]

    @rx.event
    async def resend_verification(self, member_id: int) -> None:
        """Mail an unverified member a new link to confirm their address (audited)."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        try:
            member = await admin.resend_verification(
                user_id=int(member_id),
                base_url=auth._base_url(),
                actor=admin.Actor(user.id, user.email),
                settings=get_root().settings,
                db=get_root().db,
            )
        except (TypeError, ValueError):
            self.error = await auth._say(N_("Choose a member first."))
            return
        except DomainError as exc:
            self.error = await auth._explain(exc)
            return
        self.message = await auth._say(
            N_("We sent a new link to {email}: it confirms their address."), email=member.email
        )
        await self._read()

    @rx.event
    async def create_invite(self, form: dict[str, str]) -> None:
        """A new invite code: its uses and the days it lasts (0 or empty: no expiry)."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        try:
            uses = int(str(form.get("uses") or "1").strip())
            days_text = str(form.get("days") or "").strip().replace(",", ".")
            days = float(days_text) if days_text else 0.0
        except ValueError:
            self.error = await auth._say(N_("Give the uses and the days as numbers."))
            return
        try:
            invite = await admin.create_invite(
                max_uses=uses,
                days=days if days != 0 else None,
                actor=admin.Actor(user.id, user.email),
                db=get_root().db,
            )
        except DomainError as exc:
            self.error = await auth._explain(exc)
            return
        self.message = await auth._say(
            N_("Invite code {code} is ready: send it to the people you invite."),
            code=invite.code,
        )
        await self._read()

    @rx.event
    async def revoke_invite(self, invite_id: int) -> None:
        """End an invite code now (audited)."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        try:
            invite = await admin.revoke_invite(
                invite_id=int(invite_id),
                actor=admin.Actor(user.id, user.email),
                db=get_root().db,
            )
        except (TypeError, ValueError):
            self.error = await auth._say(N_("Choose an invite first."))
            return
        except DomainError as exc:
            self.error = await auth._explain(exc)
            return
        self.message = await auth._say(
            N_("Invite code {code} is revoked: it admits no one now."), code=invite.code
        )
        await self._read()


def resend_button(state: type[rx.State], member: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    """For a member whose address is not verified: mail them a new link."""
    return rx.button(
        rx.icon("mail", size=14),
        t("Send a new link"),
        on_click=state.resend_verification(member["id"].to(int)),
        size="1",
        variant="soft",
        class_name="resend-link",
    )


def _status(status: rx.Var) -> rx.Component:
    return rx.match(
        status,
        ("active", rx.badge(t("Active"), color_scheme="green")),
        ("used_up", rx.badge(t("Used up"), color_scheme="gray")),
        rx.badge(t("Expired"), color_scheme="amber"),
    )


def _invite_row_view(
    state: type[rx.State], invite: rx.vars.ObjectVar[dict[str, Any]]
) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(invite["code"])),
        rx.table.cell(
            t(
                "{uses} of {max_uses}",
                uses=invite["uses"].to(str),
                max_uses=invite["max_uses"].to(str),
            )
        ),
        rx.table.cell(rx.cond(invite["expires"] != "", invite["expires"], t("No expiry"))),
        rx.table.cell(_status(invite["status"])),
        rx.table.cell(
            rx.cond(
                invite["status"] == "active",
                rx.button(
                    t("Revoke"),
                    on_click=state.revoke_invite(invite["id"].to(int)),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                ),
            )
        ),
        class_name="invite-row",
    )


def invites_section(state: type[rx.State], table: Any) -> rx.Component:
    """Create, list and revoke invite codes (`table`: the page's compact table)."""
    return rx.vstack(
        rx.heading(t("Invite codes"), size="5", as_="h2", id="invites-heading", tab_index=-1),
        rx.text(
            t("With SIGNUP_MODE=invite, signing up needs one of these codes."),
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.hstack(
                rx.vstack(
                    rx.el.label(t("Uses"), html_for="invite-uses", style=LABEL),
                    rx.input(
                        id="invite-uses",
                        name="uses",
                        type="number",
                        min=1,
                        max=100_000,
                        default_value="1",
                        size="2",
                        width="8em",
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    rx.el.label(t("Days (0: no expiry)"), html_for="invite-days", style=LABEL),
                    rx.input(
                        id="invite-days",
                        name="days",
                        type="number",
                        min=0,
                        max=admin.MAX_INVITE_DAYS,
                        step="any",
                        default_value="14",
                        size="2",
                        width="8em",
                    ),
                    spacing="1",
                ),
                rx.button(t("Create a code"), type="submit", size="2"),
                align="end",
                spacing="3",
                wrap="wrap",
            ),
            on_submit=state.create_invite,
        ),
        rx.text(nt("{n} code", "{n} codes", state.invite_total), size="2", id="invite-count"),
        table(
            [t("Code"), t("Uses"), t("Expires (UTC)"), t("Status"), t("Action")],
            rx.foreach(state.invites, lambda invite: _invite_row_view(state, invite)),
            name=t("Invite codes"),
        ),
        width="100%",
        spacing="3",
    )
