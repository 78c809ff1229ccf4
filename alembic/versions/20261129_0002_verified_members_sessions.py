"""verified members, sessions, one-time email links, invites; user ids never reused

- users.mailbox: the inbox an address reaches (`ana+x@` is `ana@`; Gmail ignores dots), unique,
  so one inbox is one account. Existing accounts get theirs; where two already share an inbox
  the older keeps it and the newer gets none (it can still log in; nothing new can join).
- users.email_verified_at: when the member followed the link we mailed. Accounts that exist
  already are left NOT verified. They were created when an account cost nothing, and counting
  unproven accounts is exactly what this change stops: with EMAIL_VERIFICATION=required
  (the default) their owners can still log in, see their past votes and browse, and one
  click on the link sent from the banner (or `POST /api/verify-email/resend`) lets them vote.
  An operator who trusts the existing accounts (a closed group) sets EMAIL_VERIFICATION=off,
  or runs `UPDATE users SET email_verified_at = created_at`.
- sessions: every access token names a session; log-out ends it, a password change or reset
  ends every earlier one. Tokens issued before this revision name no session and are refused,
  so everyone logs in once more.
- email_links: verification and password-reset links (only the SHA-256 of the secret).
- invites: codes for SIGNUP_MODE=invite.
- users gets AUTOINCREMENT on SQLite, so the id of a deleted account is never handed out
  again (PostgreSQL's sequences never reuse ids already).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_users_with_autoincrement()
    else:
        op.add_column(
            "users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        op.add_column("users", sa.Column("mailbox", sa.String(length=254), nullable=True))
        op.create_unique_constraint(op.f("uq_users_mailbox"), "users", ["mailbox"])
    _fill_mailboxes()

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False)

    op.create_table(
        "email_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_links_token_hash")),
    )
    op.create_index(
        "ix_email_links_user_id_purpose_created_at",
        "email_links",
        ["user_id", "purpose", "created_at"],
        unique=False,
    )

    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_invites_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code", name=op.f("uq_invites_code")),
    )


def _rebuild_users_with_autoincrement() -> None:
    """SQLite cannot add AUTOINCREMENT to a table: build the new one, copy, swap. Written out
    (not a batch operation, whose constraint order varies) so every run builds the same
    schema. Foreign keys are off on Alembic's connection, so dropping the old table cascades
    nothing; the other tables' references name `users` and follow the rename."""
    columns = (
        "id, email, display_name, password_hash, notification_channel, phone, is_admin, created_at"
    )
    op.create_table(
        "_users_autoincrement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=100), nullable=False),
        sa.Column("notification_channel", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailbox", sa.String(length=254), nullable=True),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("mailbox", name=op.f("uq_users_mailbox")),
        sqlite_autoincrement=True,
    )
    op.execute(f"INSERT INTO _users_autoincrement ({columns}) SELECT {columns} FROM users")
    op.drop_table("users")
    op.rename_table("_users_autoincrement", "users")


def _mailbox(address: str) -> str:
    """The rule of movievote.services.accounts.mailbox_of as of this revision (frozen here)."""
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _fill_mailboxes() -> None:
    conn = op.get_bind()
    taken: set[str] = set()
    for user_id, email in conn.execute(sa.text("SELECT id, email FROM users ORDER BY id")):
        key = _mailbox(email)
        if key not in taken:
            taken.add(key)
            conn.execute(
                sa.text("UPDATE users SET mailbox = :key WHERE id = :id"),
                {"key": key, "id": user_id},
            )


def downgrade() -> None:
    op.drop_table("invites")
    op.drop_index("ix_email_links_user_id_purpose_created_at", table_name="email_links")
    op.drop_table("email_links")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_table("sessions")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(op.f("uq_users_mailbox"), type_="unique")
        batch_op.drop_column("mailbox")
        batch_op.drop_column("email_verified_at")
