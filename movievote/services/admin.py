"""Admins: the role, blocking members, hiding movies, members' verification links, invite
codes, and the audit log every admin action writes (the catalogue's editing is `curation`).

Each action changes its rows with conditional UPDATEs and writes its audit row in the same
transaction: the change and its record commit together or not at all, and two admins (or an
admin and a vote) racing on one member are ordered by the database, not by a read before a write.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.errors import (
    N_,
    AlreadyVerified,
    InvalidInput,
    InviteNotFound,
    MemberNotFound,
    MovieNotFound,
)
from movievote.models import (
    AdminMovie,
    AdminMoviePage,
    AuditEntry,
    AuditLog,
    AuditPage,
    Invite,
    InvitePage,
    InvitePublic,
    MemberPage,
    MemberPublic,
    Movie,
    User,
    utcnow,
)
from movievote.models import Session as SessionRow
from movievote.services import accounts
from movievote.services.accounts import account_key
from movievote.text import storable

users_t = User.__table__  # type: ignore[attr-defined]
sessions_t = SessionRow.__table__  # type: ignore[attr-defined]
audit_t = AuditLog.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
invites_t = Invite.__table__  # type: ignore[attr-defined]

MAX_PAGE_SIZE = 100
MAX_REASON_CHARS = 500
CSV_BATCH_ROWS = 500  # rows per chunk of the streamed export
AUDIT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "reason",
)


@dataclass(frozen=True)
class Actor:
    """Who acts: an admin's account (id, and their email as the label) or the CLI (None, "cli")."""

    id: int | None
    label: str


CLI = Actor(None, "cli")


async def record(
    conn: AsyncConnection,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    """Append one audit row, in the caller's transaction."""
    await conn.execute(
        sa.insert(audit_t).values(
            at=utcnow(),
            actor_id=actor.id,
            actor_label=actor.label,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            before=before,
            after=after,
            reason=reason,
        )
    )


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _member_columns() -> list[Any]:
    return [
        users_t.c.id,
        users_t.c.email,
        users_t.c.display_name,
        users_t.c.created_at,
        users_t.c.email_verified_at,
        users_t.c.is_admin,
        users_t.c.blocked_at,
        users_t.c.language,
    ]


def _member(row: Any) -> MemberPublic:
    return MemberPublic(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        created_at=row.created_at,
        verified=row.email_verified_at is not None,
        admin=bool(row.is_admin),
        blocked=row.blocked_at is not None,
        blocked_at=row.blocked_at,
        language=row.language,
    )


async def _read_member(conn: AsyncConnection, user_id: int) -> MemberPublic:
    row = (await conn.execute(sa.select(*_member_columns()).where(users_t.c.id == user_id))).first()
    if row is None:
        raise MemberNotFound(N_("There is no member with id {member_id}."), member_id=str(user_id))
    return _member(row)


async def _set_admin(*, email: str, admin: bool, actor: Actor, db: Database) -> bool:
    address = account_key(email)
    async with db.transaction() as conn:
        changed = (
            await conn.execute(
                sa.update(users_t)
                .where(users_t.c.email == address, users_t.c.is_admin == (not admin))
                .values(is_admin=admin)
                .returning(users_t.c.id)
            )
        ).first()
        if changed is None:
            if await conn.scalar(sa.select(users_t.c.id).where(users_t.c.email == address)):
                return False  # the role was already so: nothing changed, nothing to record
            raise MemberNotFound(N_("No account uses {email}."), email=address)
        await record(
            conn,
            actor=actor,
            action="admin.grant" if admin else "admin.revoke",
            target_type="user",
            target_id=changed.id,
            before={"email": address, "is_admin": not admin},
            after={"email": address, "is_admin": admin},
        )
    return True


async def grant_admin(*, email: str, actor: Actor, db: Database) -> bool:
    """Make the account with this address an admin; False if it was one already."""
    return await _set_admin(email=email, admin=True, actor=actor, db=db)


async def revoke_admin(*, email: str, actor: Actor, db: Database) -> bool:
    """Take the admin role from the account with this address; False if it had none."""
    return await _set_admin(email=email, admin=False, actor=actor, db=db)


def _reason(
    reason: str | None,
    *,
    required: bool,
    missing: str = N_("Give a reason for blocking the member."),
) -> str | None:
    text = storable((reason or "").strip(), field="reason")
    if not text:
        if required:
            raise InvalidInput(missing, field="reason")
        return None
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput(
            N_("A reason is at most {count} characters."), field="reason", count=MAX_REASON_CHARS
        )
    return text


async def _stamp(
    conn: AsyncConnection, column: sa.Column[Any], row_id: int, now: datetime, label: sa.Column[Any]
) -> Any:
    """Set a row's "since when" (blocked_at, hidden_at) if it is not set: the row's label, or
    None if it was set already (a conditional UPDATE: two admins at once change it once)."""
    table = column.table
    return await conn.scalar(
        sa.update(table)
        .where(table.c.id == row_id, column.is_(None))
        .values({column.name: now})
        .returning(label)
    )


async def _unstamp(
    conn: AsyncConnection, column: sa.Column[Any], row_id: int, label: sa.Column[Any]
) -> tuple[Any, datetime | None] | None:
    """Clear a row's "since when" if it is set: (the row's label, the instant it replaced), or
    None if it was not set. The row is held (FOR UPDATE) so the record says what it replaced."""
    table = column.table
    before = await conn.scalar(sa.select(column).where(table.c.id == row_id).with_for_update())
    cleared = await conn.scalar(
        sa.update(table)
        .where(table.c.id == row_id, column.is_not(None))
        .values({column.name: None})
        .returning(label)
    )
    return None if cleared is None else (cleared, before)


async def _search(
    conn: AsyncConnection,
    columns: Sequence[Any],
    *,
    searched: Sequence[sa.Column[Any]],
    q: str | None,
    order: Sequence[Any],
    page: int,
    page_size: int,
) -> tuple[int, Sequence[Any]]:
    """A page of rows whose `searched` columns hold `q` (any case), and how many there are."""
    _check_page(page, page_size)
    table = searched[0].table
    where: list[Any] = []
    if q and q.strip():
        pattern = _like(storable(q.strip(), field="q"))
        where.append(sa.or_(*(c.ilike(pattern, escape="\\") for c in searched)))
    total = await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where))
    rows = (
        await conn.execute(
            sa.select(*columns)
            .where(*where)
            .order_by(*order)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return total or 0, rows


async def block_member(*, user_id: int, reason: str, actor: Actor, db: Database) -> MemberPublic:
    """Block a member: no log-in, no vote, every open session ended, in one transaction with
    its audit row. Blocking a blocked member changes nothing (and records nothing)."""
    why = _reason(reason, required=True)
    if actor.id is not None and actor.id == user_id:
        raise InvalidInput(N_("You cannot block your own account."), field="user_id")
    now = utcnow()
    async with db.transaction() as conn:
        email = await _stamp(conn, users_t.c.blocked_at, user_id, now, users_t.c.email)
        if email is None:
            return await _read_member(conn, user_id)
        ended = await conn.execute(
            sa.update(sessions_t)
            .where(sessions_t.c.user_id == user_id, sessions_t.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        await record(
            conn,
            actor=actor,
            action="member.block",
            target_type="user",
            target_id=user_id,
            before={"email": email, "blocked_at": None},
            after={
                "email": email,
                "blocked_at": _instant(now),
                "sessions_ended": ended.rowcount,
            },
            reason=why,
        )
        return await _read_member(conn, user_id)


async def unblock_member(
    *, user_id: int, reason: str | None = None, actor: Actor, db: Database
) -> MemberPublic:
    """Let a blocked member log in and vote again (their ended sessions stay ended)."""
    why = _reason(reason, required=False)
    async with db.transaction() as conn:
        cleared = await _unstamp(conn, users_t.c.blocked_at, user_id, users_t.c.email)
        if cleared is None:
            return await _read_member(conn, user_id)
        email, before = cleared
        await record(
            conn,
            actor=actor,
            action="member.unblock",
            target_type="user",
            target_id=user_id,
            before={"email": email, "blocked_at": _instant(before)},
            after={"email": email, "blocked_at": None},
            reason=why,
        )
        return await _read_member(conn, user_id)


_MOVIE_COLUMNS = (movies_t.c.id, movies_t.c.title, movies_t.c.year, movies_t.c.hidden_at)


def _movie(row: Any) -> AdminMovie:
    return AdminMovie(
        id=row.id,
        title=row.title,
        year=row.year,
        hidden=row.hidden_at is not None,
        hidden_at=row.hidden_at,
    )


async def _read_movie(conn: AsyncConnection, movie_id: int) -> AdminMovie:
    row = (await conn.execute(sa.select(*_MOVIE_COLUMNS).where(movies_t.c.id == movie_id))).first()
    if row is None:
        raise MovieNotFound(N_("There is no movie with id {movie_id}."), movie_id=str(movie_id))
    return _movie(row)


async def hide_movie(*, movie_id: int, reason: str, actor: Actor, db: Database) -> AdminMovie:
    """Take a movie out of the public catalogue and the vote (the votes already cast for it
    stay, and so does its place in the rankings), in one transaction with its audit row.
    Hiding a hidden movie changes nothing (and records nothing)."""
    why = _reason(reason, required=True, missing=N_("Give a reason for hiding the movie."))
    now = utcnow()
    async with db.transaction() as conn:
        title = await _stamp(conn, movies_t.c.hidden_at, movie_id, now, movies_t.c.title)
        if title is None:
            return await _read_movie(conn, movie_id)
        await record(
            conn,
            actor=actor,
            action="movie.hide",
            target_type="movie",
            target_id=movie_id,
            before={"title": title, "hidden_at": None},
            after={"title": title, "hidden_at": _instant(now)},
            reason=why,
        )
        return await _read_movie(conn, movie_id)


async def unhide_movie(
    *, movie_id: int, reason: str | None = None, actor: Actor, db: Database
) -> AdminMovie:
    """Put a hidden movie back in the catalogue and the vote; unhiding a listed movie changes
    nothing (and records nothing)."""
    why = _reason(reason, required=False)
    async with db.transaction() as conn:
        cleared = await _unstamp(conn, movies_t.c.hidden_at, movie_id, movies_t.c.title)
        if cleared is None:
            return await _read_movie(conn, movie_id)
        title, before = cleared
        await record(
            conn,
            actor=actor,
            action="movie.unhide",
            target_type="movie",
            target_id=movie_id,
            before={"title": title, "hidden_at": _instant(before)},
            after={"title": title, "hidden_at": None},
            reason=why,
        )
        return await _read_movie(conn, movie_id)


def _check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise InvalidInput(N_("The page must be 1 or more."), field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("The page size must be 1 to {count}."), field="page_size", count=MAX_PAGE_SIZE
        )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_members(
    *, q: str | None = None, page: int = 1, page_size: int = 50, db: Database
) -> MemberPage:
    """Members, oldest account first; `q` matches part of the address or the display name."""
    async with db.engine.connect() as conn:
        total, rows = await _search(
            conn,
            _member_columns(),
            searched=(users_t.c.email, users_t.c.display_name),
            q=q,
            order=(users_t.c.id,),
            page=page,
            page_size=page_size,
        )
    return MemberPage(
        items=[_member(row) for row in rows], total=total, page=page, page_size=page_size
    )


async def list_movies(
    *, q: str | None = None, page: int = 1, page_size: int = 50, db: Database
) -> AdminMoviePage:
    """Every movie of the catalogue, hidden ones included, by title; `q` matches part of the
    title or the original title."""
    async with db.engine.connect() as conn:
        total, rows = await _search(
            conn,
            _MOVIE_COLUMNS,
            searched=(movies_t.c.title, movies_t.c.original_title),
            q=q,
            order=(movies_t.c.title, movies_t.c.id),
            page=page,
            page_size=page_size,
        )
    return AdminMoviePage(
        items=[_movie(row) for row in rows], total=total, page=page, page_size=page_size
    )


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(**{name: getattr(row, name) for name in AUDIT_COLUMNS})


async def audit_entries(*, page: int = 1, page_size: int = 50, db: Database) -> AuditPage:
    """The audit log, newest first."""
    _check_page(page, page_size)
    async with db.engine.connect() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).select_from(audit_t))
        rows = (
            await conn.execute(
                sa.select(audit_t)
                .order_by(audit_t.c.at.desc(), audit_t.c.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
    return AuditPage(
        items=[_entry(row) for row in rows], total=total or 0, page=page, page_size=page_size
    )


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula starts with a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


async def audit_csv(*, db: Database) -> AsyncIterator[str]:
    """The whole audit log as CSV, oldest first, streamed from the database in batches (memory
    stays flat however long the log is)."""
    yield _csv_lines([AUDIT_COLUMNS])
    columns = [audit_t.c[name] for name in AUDIT_COLUMNS]
    async with db.engine.connect() as conn:
        result = await conn.stream(sa.select(*columns).order_by(audit_t.c.id))
        async for rows in result.partitions(CSV_BATCH_ROWS):
            yield _csv_lines(rows)


# --- members: their verification link, invite codes ---


async def resend_verification(
    *, user_id: int, base_url: str, actor: Actor, settings: Settings, db: Database
) -> MemberPublic:
    """Mail a member a new link to confirm their address (the mail sign-up sends), with its
    audit row in the link's transaction. AlreadyVerified if the address is verified;
    TooManyAttempts past VERIFICATION_EMAILS_PER_HOUR (the member's own requests count too:
    an admin cannot flood an inbox either)."""
    async with db.engine.connect() as conn:
        member = await _read_member(conn, user_id)
    verified = AlreadyVerified(
        N_("{email} is verified already: there is no link to send."), email=member.email
    )
    if member.verified:
        raise verified

    async def audited(conn: AsyncConnection) -> None:
        await record(
            conn,
            actor=actor,
            action="member.resend_verification",
            target_type="user",
            target_id=user_id,
            before=None,
            after={"email": member.email},
        )

    sent = await accounts.resend_verification(
        user_id=user_id, base_url=base_url, settings=settings, db=db, also=audited
    )
    if not sent:  # verified between the two reads
        raise verified
    return member


MAX_INVITE_DAYS = 3650


def _invite(row: Any, now: datetime) -> InvitePublic:
    if row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    elif row.uses >= row.max_uses:
        status = "used_up"
    else:
        status = "active"
    return InvitePublic(
        id=row.id,
        code=row.code,
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
        created_at=row.created_at,
        created_by=row.created_by,
        status=status,
    )


def _invite_record(row: Any) -> dict[str, Any]:
    return {"code": row.code, "max_uses": row.max_uses, "expires_at": _instant(row.expires_at)}


async def create_invite(
    *, max_uses: int = 1, days: float | None = 14, actor: Actor, db: Database
) -> InvitePublic:
    """A new invite code (SIGNUP_MODE=invite) usable `max_uses` times for `days` days (None:
    no expiry), with its audit row in the same transaction."""
    if days is not None and not 0 < days <= MAX_INVITE_DAYS:
        raise InvalidInput(
            N_("An invite lasts more than 0 and at most {count} days, or has no expiry."),
            field="days",
            count=MAX_INVITE_DAYS,
        )
    async with db.transaction() as conn:
        row = await accounts.insert_invite(conn, max_uses=max_uses, days=days, created_by=actor.id)
        await record(
            conn,
            actor=actor,
            action="invite.create",
            target_type="invite",
            target_id=row.id,
            before=None,
            after=_invite_record(row),
        )
    return _invite(row, utcnow())


async def list_invites(*, page: int = 1, page_size: int = 50, db: Database) -> InvitePage:
    """Invite codes, newest first, with their uses and whether they still admit anyone."""
    _check_page(page, page_size)
    async with db.engine.connect() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).select_from(invites_t))
        rows = (
            await conn.execute(
                sa.select(invites_t)
                .order_by(invites_t.c.created_at.desc(), invites_t.c.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
    now = utcnow()
    return InvitePage(
        items=[_invite(row, now) for row in rows],
        total=total or 0,
        page=page,
        page_size=page_size,
    )


async def revoke_invite(*, invite_id: int, actor: Actor, db: Database) -> InvitePublic:
    """End an invite code now (it expires at once: sign-ups already made stay), with its audit
    row. Revoking an expired code changes and records nothing."""
    now = utcnow()
    async with db.transaction() as conn:
        before = (
            await conn.execute(
                sa.select(invites_t).where(invites_t.c.id == invite_id).with_for_update()
            )
        ).first()
        if before is None:
            raise InviteNotFound(
                N_("There is no invite with id {invite_id}."), invite_id=str(invite_id)
            )
        after = (
            await conn.execute(
                sa.update(invites_t)
                .where(
                    invites_t.c.id == invite_id,
                    sa.or_(invites_t.c.expires_at.is_(None), invites_t.c.expires_at > now),
                )
                .values(expires_at=now)
                .returning(*invites_t.c)
            )
        ).first()
        if after is None:
            return _invite(before, now)
        await record(
            conn,
            actor=actor,
            action="invite.revoke",
            target_type="invite",
            target_id=invite_id,
            before=_invite_record(before),
            after=_invite_record(after),
        )
    return _invite(after, now)
