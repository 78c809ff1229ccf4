"""initial schema: users, movies, genres, votes (one per user per month), tallies, notifications

Votes are append-only; a trigger writes a +1/-1 row to vote_deltas for every vote inserted,
deleted or moved, and the application folds those deltas into the tallies (see
movievote/services/ranking.py). The trigger lives in the database, so votes written by any
client (the app, a script, psql) reach the tallies.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:08:33
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('genres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_genres')),
    sa.UniqueConstraint('name', name=op.f('uq_genres_name'))
    )
    op.create_table('movies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('original_title', sa.String(length=300), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('overview', sa.Text(), nullable=False),
    sa.Column('poster_url', sa.String(length=500), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_movies')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_movies_source_external_id'))
    )
    with op.batch_alter_table('movies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_movies_title'), ['title'], unique=False)
        batch_op.create_index(batch_op.f('ix_movies_year'), ['year'], unique=False)

    op.create_table('period_totals',
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_period_totals'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=100), nullable=False),
    sa.Column('notification_channel', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('vote_deltas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('voted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_deltas'))
    )
    op.create_table('all_time_tallies',
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['movie_id'], ['movies.id'], name=op.f('fk_all_time_tallies_movie_id_movies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('movie_id', name=op.f('pk_all_time_tallies'))
    )
    op.create_table('monthly_tallies',
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['movie_id'], ['movies.id'], name=op.f('fk_monthly_tallies_movie_id_movies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('period', 'movie_id', name=op.f('pk_monthly_tallies'))
    )
    op.create_index(
        'ix_monthly_tallies_ranking', 'monthly_tallies',
        ['period', sa.text('votes DESC'), 'reached_at', 'movie_id'],
    )
    op.create_index(
        'ix_all_time_tallies_ranking', 'all_time_tallies',
        [sa.text('votes DESC'), 'reached_at', 'movie_id'],
    )
    op.create_table('movie_genres',
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('genre_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['genre_id'], ['genres.id'], name=op.f('fk_movie_genres_genre_id_genres'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['movie_id'], ['movies.id'], name=op.f('fk_movie_genres_movie_id_movies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('movie_id', 'genre_id', name=op.f('pk_movie_genres'))
    )
    with op.batch_alter_table('movie_genres', schema=None) as batch_op:
        batch_op.create_index('ix_movie_genres_genre_id_movie_id', ['genre_id', 'movie_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_id_created_at', ['user_id', 'created_at'], unique=False)

    op.create_table('votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['movie_id'], ['movies.id'], name=op.f('fk_votes_movie_id_movies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
    sa.UniqueConstraint('user_id', 'period', name=op.f('uq_votes_user_id_period'))
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_votes_movie_id'), ['movie_id'], unique=False)
        batch_op.create_index('ix_votes_period_movie_id', ['period', 'movie_id'], unique=False)

    _create_vote_delta_triggers()


def downgrade() -> None:
    _drop_vote_delta_triggers()
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index('ix_votes_period_movie_id')
        batch_op.drop_index(batch_op.f('ix_votes_movie_id'))

    op.drop_table('votes')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_created_at')

    op.drop_table('notifications')
    with op.batch_alter_table('movie_genres', schema=None) as batch_op:
        batch_op.drop_index('ix_movie_genres_genre_id_movie_id')

    op.drop_table('movie_genres')
    op.drop_index('ix_monthly_tallies_ranking', table_name='monthly_tallies')
    op.drop_index('ix_all_time_tallies_ranking', table_name='all_time_tallies')
    op.drop_table('monthly_tallies')
    op.drop_table('all_time_tallies')
    op.drop_table('vote_deltas')
    op.drop_table('users')
    op.drop_table('period_totals')
    with op.batch_alter_table('movies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_movies_year'))
        batch_op.drop_index(batch_op.f('ix_movies_title'))

    op.drop_table('movies')
    op.drop_table('genres')


_PG_FUNCTION = """
CREATE FUNCTION votes_to_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
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

_SQLITE_TRIGGERS = (
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


def _create_vote_delta_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER votes_to_deltas AFTER INSERT OR DELETE OR UPDATE OF period, movie_id "
            "ON votes FOR EACH ROW EXECUTE FUNCTION votes_to_deltas()"
        )
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def _drop_vote_delta_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS votes_to_deltas ON votes")
        op.execute("DROP FUNCTION IF EXISTS votes_to_deltas()")
    else:
        for name in ("votes_insert_delta", "votes_delete_delta", "votes_update_delta"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
