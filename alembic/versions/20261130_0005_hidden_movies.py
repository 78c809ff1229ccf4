"""hidden movies: an admin can take a movie out of the vote

- movies.hidden_at: when an admin hid the movie (UTC); NULL for every existing movie. A hidden
  movie is left out of the public catalogue and the vote statement refuses it; the votes
  already cast for it stay, and so does its place in the rankings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a nullable column with no default: ALTER TABLE ADD COLUMN on both databases, no rewrite
    op.add_column("movies", sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN on both (SQLite 3.35+), no batch rebuild of movies
    op.drop_column("movies", "hidden_at")
