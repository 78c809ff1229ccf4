"""voided votes: an admin can take a vote out of the count and put it back

- votes.voided_at / voided_by / void_reason: when, by whom and why an admin voided the vote;
  NULL for every existing vote. A voided vote stays stored (and still holds its member's one
  vote of the month), but it leaves the tallies: the vote-delta trigger now counts only votes
  that are not voided, so voiding writes a -1 delta and restoring a +1, which the next fold
  takes into the tallies like any vote (and every open page hears as it hears a vote).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Revision 0001's trigger, counting only votes that are not voided: a vote inserted or deleted
# counts when it is not voided; an update (a void, a restore, a period or movie changed by hand)
# takes the old row out when it counted and puts the new one in when it counts.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION votes_to_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.voided_at IS NULL THEN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (OLD.period, OLD.movie_id, -1, OLD.created_at);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.voided_at IS NULL THEN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (NEW.period, NEW.movie_id, 1, NEW.created_at);
    END IF;
    RETURN NULL;
END
$$
"""
_PG_TRIGGER = (
    "CREATE TRIGGER votes_to_deltas AFTER INSERT OR DELETE OR UPDATE OF {columns} "
    "ON votes FOR EACH ROW EXECUTE FUNCTION votes_to_deltas()"
)

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER votes_insert_delta AFTER INSERT ON votes WHEN NEW.voided_at IS NULL BEGIN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (NEW.period, NEW.movie_id, 1, NEW.created_at);
    END
    """,
    """
    CREATE TRIGGER votes_delete_delta AFTER DELETE ON votes WHEN OLD.voided_at IS NULL BEGIN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (OLD.period, OLD.movie_id, -1, OLD.created_at);
    END
    """,
    """
    CREATE TRIGGER votes_update_delta AFTER UPDATE OF period, movie_id, voided_at ON votes BEGIN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        SELECT OLD.period, OLD.movie_id, -1, OLD.created_at WHERE OLD.voided_at IS NULL;
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        SELECT NEW.period, NEW.movie_id, 1, NEW.created_at WHERE NEW.voided_at IS NULL;
    END
    """,
)
_SQLITE_NAMES = ("votes_insert_delta", "votes_delete_delta", "votes_update_delta")

# revision 0001's SQLite triggers, for the downgrade
_SQLITE_TRIGGERS_0001 = (
    """
    CREATE TRIGGER votes_insert_delta AFTER INSERT ON votes BEGIN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (NEW.period, NEW.movie_id, 1, NEW.created_at);
    END
    """,
    """
    CREATE TRIGGER votes_delete_delta AFTER DELETE ON votes BEGIN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (OLD.period, OLD.movie_id, -1, OLD.created_at);
    END
    """,
    """
    CREATE TRIGGER votes_update_delta AFTER UPDATE OF period, movie_id ON votes BEGIN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (OLD.period, OLD.movie_id, -1, OLD.created_at);
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (NEW.period, NEW.movie_id, 1, NEW.created_at);
    END
    """,
)
_PG_FUNCTION_0001 = """
CREATE OR REPLACE FUNCTION votes_to_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (OLD.period, OLD.movie_id, -1, OLD.created_at);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO vote_deltas (period, movie_id, delta, voted_at)
        VALUES (NEW.period, NEW.movie_id, 1, NEW.created_at);
    END IF;
    RETURN NULL;
END
$$
"""


def _triggers(pg_function: str, pg_columns: str, sqlite: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS votes_to_deltas ON votes")
        op.execute(pg_function)
        op.execute(_PG_TRIGGER.format(columns=pg_columns))
    else:
        for name in _SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in sqlite:
            op.execute(statement)


def _votes_ddl(*, voided: bool) -> str:
    """The votes table as revisions 0001-0005 made it (voided=False, the same text), or with
    0006's columns: spelled out for SQLite's rebuild."""
    added = (
        "\tvoided_at DATETIME, \n\tvoided_by INTEGER, \n\tvoid_reason TEXT, \n" if voided else ""
    )
    voided_by = (
        ", \n\tCONSTRAINT fk_votes_voided_by_users FOREIGN KEY(voided_by) "
        "REFERENCES users (id) ON DELETE SET NULL"
        if voided
        else ""
    )
    return (
        "CREATE TABLE votes (\n\tid INTEGER NOT NULL, \n\tuser_id INTEGER NOT NULL, \n"
        "\tmovie_id INTEGER NOT NULL, \n\tperiod DATE NOT NULL, \n"
        f"\tcreated_at DATETIME NOT NULL, \n{added}"
        "\tCONSTRAINT pk_votes PRIMARY KEY (id), \n"
        "\tCONSTRAINT fk_votes_movie_id_movies FOREIGN KEY(movie_id) REFERENCES movies (id) "
        "ON DELETE CASCADE, \n"
        "\tCONSTRAINT fk_votes_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) "
        "ON DELETE CASCADE, \n"
        f"\tCONSTRAINT uq_votes_user_id_period UNIQUE (user_id, period){voided_by}\n)"
    )


_INDEXES = (
    "CREATE INDEX ix_votes_movie_id ON votes (movie_id)",
    "CREATE INDEX ix_votes_period_movie_id ON votes (period, movie_id)",
)
_KEPT = "id, user_id, movie_id, period, created_at"


def _rebuild_sqlite(*, voided: bool) -> None:
    """SQLite cannot add or drop a foreign key in place: build the table again and copy the
    rows (nothing refers to votes; its indexes and triggers are made again)."""
    op.execute("ALTER TABLE votes RENAME TO _votes_before_0006")
    op.execute(_votes_ddl(voided=voided))
    op.execute(f"INSERT INTO votes ({_KEPT}) SELECT {_KEPT} FROM _votes_before_0006")
    op.execute("DROP TABLE _votes_before_0006")  # its indexes and triggers with it
    for statement in _INDEXES:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # nullable columns with no default: added in place, no rewrite
        op.add_column("votes", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column("votes", sa.Column("voided_by", sa.Integer(), nullable=True))
        op.add_column("votes", sa.Column("void_reason", sa.Text(), nullable=True))
        op.create_foreign_key(
            "fk_votes_voided_by_users",
            "votes",
            "users",
            ["voided_by"],
            ["id"],
            ondelete="SET NULL",
        )
    else:
        _rebuild_sqlite(voided=True)
    _triggers(_PG_FUNCTION, "period, movie_id, voided_at", _SQLITE_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _triggers(_PG_FUNCTION_0001, "period, movie_id", ())  # it names voided_at: first
        op.drop_constraint("fk_votes_voided_by_users", "votes", type_="foreignkey")
        for column in ("void_reason", "voided_by", "voided_at"):
            op.drop_column("votes", column)
    else:
        _rebuild_sqlite(voided=False)
        _triggers(_PG_FUNCTION_0001, "period, movie_id", _SQLITE_TRIGGERS_0001)
