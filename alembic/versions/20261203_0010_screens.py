"""paired lobby screens and their health

- screens: one row per lobby display browser, known by the SHA-256 of a random secret its
  browser keeps (the secret itself is never stored). Unpaired, it has a short pairing code
  and its expiry; an admin who types the code pairs it, giving it a name, a board (this
  month, all time, last month's winner, the hall of fame) and a language. The health
  columns hold what its last heartbeat said (when, the ranking it showed, its browser and
  resolution) and when its silence was last logged.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a new table: CREATE TABLE on both databases (SQLite: AUTOINCREMENT, ids never reused)
    op.create_table(
        "screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("board", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ranking_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("resolution", sa.String(length=24), nullable=True),
        sa.Column("silence_logged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "board IN ('month', 'all_time', 'winner', 'hall_of_fame')",
            name=op.f("ck_screens_board_known"),
        ),
        sa.CheckConstraint(
            "language IN ('en', 'pt-BR')", name=op.f("ck_screens_language_known")
        ),
        sa.CheckConstraint(
            "(paired_at IS NULL) = (name IS NULL)", name=op.f("ck_screens_named_when_paired")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screens")),
        sa.UniqueConstraint("code", name=op.f("uq_screens_code")),
        sa.UniqueConstraint("device_hash", name=op.f("uq_screens_device_hash")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("screens")
