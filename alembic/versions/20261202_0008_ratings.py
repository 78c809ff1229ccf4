"""ratings: members rate movies (0.5-5 stars, an optional review); tallies without a hot row

- ratings: one row per member and movie (UNIQUE (user_id, movie_id): a rating is changed in
  place, never doubled), `half_stars` 1..10 (0.5..5 stars, CHECK), `review` NULL or 1 to 1,000
  characters (CHECK), created_at / updated_at; the reviews' pages read
  ix_ratings_movie_id_updated_at (movie_id, updated_at, id) backwards.
- rating_deltas: append-only, written by the triggers below: (+1, +s) when a rating is given,
  (-1, -s) when one is removed (by its member, or with the account or the movie), (0, new - old)
  when its stars change; a changed review alone writes nothing. Everyone rating one movie at
  once appends rows instead of queueing on the movie's tally row (the votes' lesson,
  DATABASE_NOTES.md).
- rating_tallies: per movie, the count, the sum of half stars and the Bayesian score in stars,
  (C·m + sum) / 2(C + n), which ix_rating_tallies_top (score DESC, ratings DESC, movie_id)
  orders: "top rated" is an index scan that stops after a page.
- rating_totals: one row (CHECK id = 1): every rating folded so far, and the prior the scores use
  (m, the global mean in half stars when the scores were last recomputed, and C).

The fold (services/ratings.py) moves the deltas into the tallies and totals. Nothing existing
changes: the revision only adds tables and triggers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A change of stars on the same movie is one row; a rating moved to another movie by hand is
# taken out of the one and put into the other.
_PG_FUNCTION = """
CREATE FUNCTION ratings_to_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.movie_id = NEW.movie_id THEN
        IF OLD.half_stars <> NEW.half_stars THEN
            INSERT INTO rating_deltas (movie_id, ratings, half_stars)
            VALUES (NEW.movie_id, 0, NEW.half_stars - OLD.half_stars);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        VALUES (OLD.movie_id, -1, -OLD.half_stars);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        VALUES (NEW.movie_id, 1, NEW.half_stars);
    END IF;
    RETURN NULL;
END
$$
"""
_PG_TRIGGER = (
    "CREATE TRIGGER ratings_to_deltas AFTER INSERT OR DELETE OR UPDATE OF movie_id, half_stars "
    "ON ratings FOR EACH ROW EXECUTE FUNCTION ratings_to_deltas()"
)
_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER ratings_insert_delta AFTER INSERT ON ratings BEGIN
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        VALUES (NEW.movie_id, 1, NEW.half_stars);
    END
    """,
    """
    CREATE TRIGGER ratings_delete_delta AFTER DELETE ON ratings BEGIN
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        VALUES (OLD.movie_id, -1, -OLD.half_stars);
    END
    """,
    """
    CREATE TRIGGER ratings_update_delta AFTER UPDATE OF movie_id, half_stars ON ratings BEGIN
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        SELECT NEW.movie_id, 0, NEW.half_stars - OLD.half_stars
        WHERE OLD.movie_id = NEW.movie_id AND OLD.half_stars <> NEW.half_stars;
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        SELECT OLD.movie_id, -1, -OLD.half_stars WHERE OLD.movie_id <> NEW.movie_id;
        INSERT INTO rating_deltas (movie_id, ratings, half_stars)
        SELECT NEW.movie_id, 1, NEW.half_stars WHERE OLD.movie_id <> NEW.movie_id;
    END
    """,
)
_SQLITE_NAMES = ("ratings_insert_delta", "ratings_delete_delta", "ratings_update_delta")


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("half_stars", sa.Integer(), nullable=False),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "half_stars BETWEEN 1 AND 10", name=op.f("ck_ratings_half_stars_range")
        ),
        sa.CheckConstraint(
            "review IS NULL OR length(review) BETWEEN 1 AND 1000",
            name=op.f("ck_ratings_review_length"),
        ),
        sa.ForeignKeyConstraint(
            ["movie_id"], ["movies.id"], name=op.f("fk_ratings_movie_id_movies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ratings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("user_id", "movie_id", name=op.f("uq_ratings_user_id_movie_id")),
    )
    op.create_index(
        "ix_ratings_movie_id_updated_at", "ratings", ["movie_id", "updated_at", "id"]
    )
    op.create_table(
        "rating_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("half_stars", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_deltas")),
    )
    op.create_table(
        "rating_tallies",
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("half_stars", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["movie_id"],
            ["movies.id"],
            name=op.f("fk_rating_tallies_movie_id_movies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("movie_id", name=op.f("pk_rating_tallies")),
    )
    op.create_index(
        "ix_rating_tallies_top",
        "rating_tallies",
        [sa.text("score DESC"), sa.text("ratings DESC"), "movie_id"],
    )
    op.create_table(
        "rating_totals",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ratings", sa.BigInteger(), nullable=False),
        sa.Column("half_stars", sa.BigInteger(), nullable=False),
        sa.Column("prior_mean", sa.Float(), nullable=False),
        sa.Column("prior_weight", sa.Float(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_rating_totals_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_totals")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ratings_to_deltas ON ratings")
        op.execute("DROP FUNCTION IF EXISTS ratings_to_deltas()")
    else:
        for name in _SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("rating_totals")
    op.drop_index("ix_rating_tallies_top", table_name="rating_tallies")
    op.drop_table("rating_tallies")
    op.drop_table("rating_deltas")
    op.drop_index("ix_ratings_movie_id_updated_at", table_name="ratings")
    op.drop_table("ratings")
