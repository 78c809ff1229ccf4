"""month results: a month that closes, with a result anyone can re-check

- month_results: one row per published month (its first day is the key, so two publishers
  racing insert one row): when, how many ballots were counted and frozen, the winner, the
  SHA-256 of the canonical ballots CSV, and whether the live tallies agreed (where they did not,
  `tally_mismatches`, shown to admins only). `notifying_since` / `notified_at`: telling every
  member, resumable (a lease) if the process doing it dies.
- month_rankings: the published ranking, one row per place (period, rank), every movie with a
  counted vote. A child table rather than a JSON column: typed columns, the winners list is a
  join, a place is read by its key, and the movie's English title is kept as it was.
- published_ballots: a frozen copy of the month's votes taken at publication (period, vote_id,
  movie_id, cast_at, pseudonym, voided). A copy, not a reference: votes go with their account
  (ON DELETE CASCADE), so a reference would let a later account deletion change a published
  month; nothing here points at votes, users or movies. The voter is a pseudonym for the month
  (the first 16 hex digits of HMAC-SHA256 keyed from SECRET_KEY over "YYYY-MM:user_id"): the
  same member has unlinkable pseudonyms in two months. Keyed by (period, vote_id), the order
  the canonical CSV is written in, so an export is one ordered range scan.

Nothing existing changes: the revision only adds tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "month_results",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_votes", sa.Integer(), nullable=False),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.Column("winner_movie_id", sa.Integer(), nullable=True),
        sa.Column("ballots_sha256", sa.String(length=64), nullable=False),
        sa.Column("tallies_match", sa.Boolean(), nullable=False),
        sa.Column("tally_mismatches", sa.JSON(), nullable=True),
        sa.Column("notifying_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_month_results")),
    )
    op.create_table(
        "month_rankings",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"],
            ["month_results.period"],
            name=op.f("fk_month_rankings_period_month_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("period", "rank", name=op.f("pk_month_rankings")),
    )
    op.create_table(
        "published_ballots",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("vote_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pseudonym", sa.String(length=16), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"],
            ["month_results.period"],
            name=op.f("fk_published_ballots_period_month_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("period", "vote_id", name=op.f("pk_published_ballots")),
    )


def downgrade() -> None:
    op.drop_table("published_ballots")
    op.drop_table("month_rankings")
    op.drop_table("month_results")
