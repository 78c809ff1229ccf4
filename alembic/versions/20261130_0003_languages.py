"""languages: movie titles and overviews per language, each member's language

- movie_translations: a movie's title and overview in a language other than the catalogue's
  default (English, which stays in movies.title and movies.overview); one row per movie and
  language, gone with its movie. A language without a row reads the English text. The bundled
  catalogue's Portuguese (Brazil) texts arrive with `movievote prestart` (or `seed`), which
  imports the bundled file again into a database seeded before this revision; an imported
  catalogue gets them from its next `movievote import`.
- users.language: the language the member chose ("en", "pt-BR"); NULL until they choose, so
  the pages go by the browser's Accept-Language. Existing accounts start with NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "movie_translations",
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("overview", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["movie_id"],
            ["movies.id"],
            name=op.f("fk_movie_translations_movie_id_movies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("movie_id", "language", name=op.f("pk_movie_translations")),
    )
    # a nullable column with no default: ALTER TABLE ADD COLUMN on both databases (SQLite
    # keeps the table, and with it the AUTOINCREMENT of revision 0002)
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN on both (SQLite 3.35+ drops a plain column in place; a batch
    # rebuild of users could lose its AUTOINCREMENT)
    op.drop_column("users", "language")
    op.drop_table("movie_translations")
