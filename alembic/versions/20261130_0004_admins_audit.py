"""admins: blocked members and an append-only audit log

- users.blocked_at: when an admin blocked the member; NULL for everyone existing. A blocked
  member cannot log in or vote, and their sessions were ended when they were blocked.
- audit_log: one row per admin action (who, what, when, the target before and after, why).
  Append-only in the database itself: a trigger refuses UPDATE and DELETE on both databases.
  The one change it lets through is the NULL that `actor_id`'s foreign key writes when the
  actor's account is deleted (ON DELETE SET NULL; `actor_label` keeps who it was). TRUNCATE and
  DROP, the table owner's own operations, are not refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the actor's account was deleted: its foreign key sets actor_id to NULL, nothing else
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = OLD.actor_id)
        AND (NEW.id, NEW.at, NEW.actor_label, NEW.action, NEW.target_type, NEW.target_id,
             NEW.before::text, NEW.after::text, NEW.reason)
            IS NOT DISTINCT FROM
            (OLD.id, OLD.at, OLD.actor_label, OLD.action, OLD.target_type, OLD.target_id,
             OLD.before::text, OLD.after::text, OLD.reason)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""

_SQLITE_SAME_ROW = " AND ".join(
    f"NEW.{c} IS OLD.{c}"
    for c in (
        "id",
        "at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "before",
        "after",
        "reason",
    )
)

_SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = OLD.actor_id)
        AND {_SQLITE_SAME_ROW})
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
    END
    """,
)


def upgrade() -> None:
    # a nullable column with no default: ALTER TABLE ADD COLUMN on both databases (SQLite
    # keeps the table, and with it the AUTOINCREMENT of revision 0002)
    op.add_column("users", sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(
        "ix_audit_log_target_type_target_id",
        "audit_log",
        ["target_type", "target_id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        for name in ("audit_log_no_update", "audit_log_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_audit_log_target_type_target_id", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    # ALTER TABLE DROP COLUMN on both (a batch rebuild of users could lose its AUTOINCREMENT)
    op.drop_column("users", "blocked_at")
