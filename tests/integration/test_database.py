"""The database singleton and the migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from movievote import db as db_module
from movievote.models import SQLModel

ROOT = Path(__file__).resolve().parents[2]


async def test_one_database_one_engine_one_session_factory_per_process():
    first = db_module.get_database()
    assert db_module.get_database() is first
    assert first._engine is None  # nothing connects until someone needs it
    engine = first.engine
    assert first.engine is engine and first.sessions is first.sessions
    async with first.session() as s1, first.session() as s2:
        assert s1.bind is s2.bind is engine
        assert await s1.scalar(sa.text("SELECT 1")) == 1


def test_importing_the_app_modules_does_no_io():
    code = (
        "import movievote.db as d, movievote.services.voting, movievote.services.ranking, "
        "movievote.root, movievote.cli; assert d._database is None; print('clean')"
    )
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert out.stdout.strip() == "clean", out.stderr


async def test_migrations_match_the_models_exactly(db):
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_alembic_cli_and_reflex_migrate_build_the_same_schema_from_nothing(tmp_path):
    env_base = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path),
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    schemas = []
    for tool in (["alembic", "upgrade", "head"], ["reflex", "db", "migrate"]):
        target = tmp_path / f"{tool[0]}.db"
        env = {**env_base, "DATABASE_URL": f"sqlite:///{target}"}
        done = subprocess.run(
            [str(Path(sys.executable).parent / tool[0]), *tool[1:]],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        engine = sa.create_engine(f"sqlite:///{target}")
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ).all()
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        engine.dispose()
        schemas.append((rows, version))
    assert schemas[0] == schemas[1]
    names = {name for _, name, _ in schemas[0][0]}
    assert {
        "users",
        "movies",
        "votes",
        "monthly_tallies",
        "notifications",
        "votes_insert_delta",
    } <= names


def test_upgrading_keeps_accounts_and_votes_and_stops_reusing_user_ids(tmp_path):
    """0001 -> 0002 rebuilds the users table on SQLite (AUTOINCREMENT): nothing that refers to
    users may be lost, existing accounts stay unverified, and a deleted id is never reused."""
    from alembic.config import Config

    from alembic import command

    target = tmp_path / "upgrade.db"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes.update(skip_logging=True, database_url=f"sqlite:///{target}")
    command.upgrade(config, "0001")
    engine = sa.create_engine(f"sqlite:///{target}")
    with engine.begin() as conn:
        for i in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, display_name, password_hash, "
                    "notification_channel, is_admin, created_at) VALUES "
                    f"({i}, 'u{i}@example.com', 'U', 'x', 'in_app', 0, '2026-11-01 00:00:00')"
                )
            )
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES (1, 'M', 'M', '', 't', '1', "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO votes (user_id, movie_id, period, created_at) VALUES "
                "(1, 1, '2026-11-01', '2026-11-02 00:00:00'), (2, 1, '2026-11-01', '2026-11-02 00:00:00')"
            )
        )
    command.upgrade(config, "head")
    with engine.begin() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM votes")) == 2
        assert conn.scalar(sa.text("SELECT count(*) FROM vote_deltas")) == 2
        assert (
            conn.scalar(sa.text("SELECT count(*) FROM users WHERE email_verified_at IS NULL")) == 2
        )
        conn.execute(sa.text("PRAGMA foreign_keys=ON"))
        conn.execute(sa.text("DELETE FROM users WHERE id = 2"))
        assert conn.scalar(sa.text("SELECT count(*) FROM votes")) == 1  # the cascade still holds
        conn.execute(
            sa.text(
                "INSERT INTO users (email, display_name, password_hash, notification_channel, "
                "is_admin, created_at) VALUES ('new@example.com', 'N', 'x', 'in_app', 0, "
                "'2026-11-03 00:00:00')"
            )
        )
        assert conn.scalar(sa.text("SELECT id FROM users WHERE email = 'new@example.com'")) == 3
    engine.dispose()


def _scratch_database(tmp_path: Path, name: str) -> str:
    """An empty database of the kind under test, for migrating by hand."""
    from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
    from tests.databases import recreate_postgres_database

    if not IS_POSTGRES:
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    url = sa.make_url(TEST_DATABASE_URL)
    text = url.set(database=f"{url.database}_{name}").render_as_string(hide_password=False)
    recreate_postgres_database(text)
    return text


def _config(url: str):  # type: ignore[no-untyped-def]
    """Alembic's configuration for migrating the database at `url` from a test."""
    from alembic.config import Config

    alembic = Config(str(ROOT / "alembic.ini"))
    alembic.set_main_option("script_location", str(ROOT / "alembic"))
    alembic.attributes.update(skip_logging=True, database_url=url)
    return alembic


def _at_revision(tmp_path: Path, revision: str, name: str) -> tuple[str, str, sa.Engine]:
    """A scratch database `name` migrated to `revision` (the one a revision's test upgrades
    from), and a reference one at the same revision that its downgrade must give back exactly:
    (its URL, the reference's URL, an engine on it)."""
    from alembic import command

    reference = _scratch_database(tmp_path, f"at_{revision}")
    command.upgrade(_config(reference), revision)
    url = _scratch_database(tmp_path, name)
    command.upgrade(_config(url), revision)
    return url, reference, sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def _schema(url: str) -> dict[str, object]:
    """Every table's columns, keys, constraints and indexes (and SQLite's own DDL text)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        schema: dict[str, object] = {
            table: (
                [
                    (c["name"], str(c["type"]), c["nullable"], c.get("autoincrement"))
                    for c in inspector.get_columns(table)
                ],
                inspector.get_pk_constraint(table),
                sorted(map(str, inspector.get_foreign_keys(table))),
                sorted(map(str, inspector.get_unique_constraints(table))),
                sorted(map(str, inspector.get_check_constraints(table))),
                sorted(map(str, inspector.get_indexes(table))),
            )
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
        if conn.dialect.name == "sqlite":
            schema["ddl"] = conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            ).all()
    engine.dispose()
    return schema


def test_the_languages_revision_upgrades_keeping_everything_and_downgrades_exactly(tmp_path):
    """0002 -> 0003: accounts keep everything, with no language chosen; translations go with
    their movie. 0003 -> 0002 gives back 0002's schema exactly (SQLite's AUTOINCREMENT
    included), and upgrading again works."""
    from alembic import command

    url, reference, engine = _at_revision(tmp_path, "0002", "languages")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (email, display_name, password_hash, notification_channel, "
                "is_admin, created_at, mailbox) VALUES ('ana@example.com', 'Ana', 'x', "
                "'in_app', false, '2026-11-01 00:00:00+00', 'ana@example.com')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES (1, 'The Godfather', 'The Godfather', '', 't', "
                "'1', '2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
            )
        )
    command.upgrade(_config(url), "0003")
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("PRAGMA foreign_keys=ON"))
        assert conn.execute(sa.text("SELECT email, language FROM users")).all() == [
            ("ana@example.com", None)
        ]
        conn.execute(sa.text("UPDATE users SET language = 'pt-BR'"))
        conn.execute(
            sa.text(
                "INSERT INTO movie_translations (movie_id, language, title, overview) "
                "VALUES (1, 'pt-BR', 'O Poderoso Chefão', '')"
            )
        )
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():  # one per language
            conn.execute(
                sa.text(
                    "INSERT INTO movie_translations (movie_id, language, title, overview) "
                    "VALUES (1, 'pt-BR', 'again', '')"
                )
            )
        conn.execute(sa.text("DELETE FROM movies"))
        assert conn.scalar(sa.text("SELECT count(*) FROM movie_translations")) == 0
    command.downgrade(_config(url), "0002")
    assert _schema(url) == _schema(reference)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 1
    command.upgrade(_config(url), "head")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM movie_translations")) == 0
        assert conn.execute(sa.text("SELECT language FROM users")).all() == [(None,)]
    engine.dispose()


def test_the_admins_revision_upgrades_and_downgrades_exactly(tmp_path):
    """0003 -> 0004: accounts are not blocked, the audit log is append-only from the start.
    0004 -> 0003 gives back 0003's schema exactly (SQLite's AUTOINCREMENT included)."""
    from alembic import command

    url, reference, engine = _at_revision(tmp_path, "0003", "admins")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (email, display_name, password_hash, notification_channel, "
                "is_admin, created_at, mailbox) VALUES ('ana@example.com', 'Ana', 'x', "
                "'in_app', false, '2026-11-01 00:00:00+00', 'ana@example.com')"
            )
        )
    command.upgrade(_config(url), "0004")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT email, blocked_at FROM users")).all() == [
            ("ana@example.com", None)
        ]
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor_label, action, before, after) VALUES "
                """('2026-11-30 00:00:00+00', 'cli', 'admin.grant', '{"a": 1}', '{"a": 2}')"""
            )
        )
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    command.downgrade(_config(url), "0003")
    assert _schema(url) == _schema(reference)
    command.upgrade(_config(url), "head")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log")) == 0
    engine.dispose()


def test_the_hidden_movies_revision_upgrades_and_downgrades_exactly(tmp_path):
    """0004 -> 0005: every existing movie is listed (hidden_at NULL); 0005 -> 0004 gives back
    0004's schema exactly (SQLite's AUTOINCREMENT included)."""
    from alembic import command

    url, reference, engine = _at_revision(tmp_path, "0004", "hidden")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO movies (title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES ('Heat', 'Heat', '', 'test', '1', "
                "'2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
            )
        )
    command.upgrade(_config(url), "0005")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT title, hidden_at FROM movies")).all() == [
            ("Heat", None)
        ]
    command.downgrade(_config(url), "0004")
    assert _schema(url) == _schema(reference)
    command.upgrade(_config(url), "head")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM movies")) == 1
    engine.dispose()


def test_the_voided_votes_revision_keeps_the_votes_counts_only_unvoided_ones_and_downgrades(
    tmp_path,
):
    """0005 -> 0006: every vote kept (not voided) and its triggers count only votes that are not
    voided (a void writes -1, a restore +1, deleting a voided vote nothing); 0006 -> 0005
    gives back 0005's schema (SQLite rebuilds the table, so its rows' order in sqlite_master
    may differ)."""
    from alembic import command

    def comparable(schema: dict[str, object]) -> dict[str, object]:
        return {**schema, "ddl": sorted(schema.get("ddl", []))}  # type: ignore[call-overload]

    url, reference, engine = _at_revision(tmp_path, "0005", "voided")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, display_name, password_hash, notification_channel, "
                "is_admin, created_at) VALUES (7, 'a@example.com', 'A', 'x', 'in_app', false, "
                "'2026-11-01 00:00:00+00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES (3, 'Heat', 'Heat', '', 'test', '1', "
                "'2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO votes (id, user_id, movie_id, period, created_at) VALUES "
                "(11, 7, 3, '2026-11-01', '2026-11-02 10:00:00+00')"
            )
        )
        conn.execute(sa.text("DELETE FROM vote_deltas"))
    command.upgrade(_config(url), "0006")
    deltas = sa.text("SELECT delta FROM vote_deltas ORDER BY id")
    with engine.begin() as conn:
        assert conn.execute(
            sa.text("SELECT id, user_id, movie_id, voided_at, voided_by, void_reason FROM votes")
        ).all() == [(11, 7, 3, None, None, None)]
        conn.execute(
            sa.text(
                "UPDATE votes SET voided_at = '2026-11-03 00:00:00+00', voided_by = 7, "
                "void_reason = 'stuffing' WHERE id = 11"
            )
        )
        conn.execute(sa.text("UPDATE votes SET void_reason = 'a sock puppet' WHERE id = 11"))
        assert list(conn.scalars(deltas)) == [-1]
        conn.execute(sa.text("UPDATE votes SET voided_at = NULL WHERE id = 11"))
        assert list(conn.scalars(deltas)) == [-1, 1]
        conn.execute(sa.text("UPDATE votes SET voided_at = '2026-11-04 00:00:00+00'"))
        conn.execute(sa.text("DELETE FROM votes"))  # a voided vote leaves no delta
        assert list(conn.scalars(deltas)) == [-1, 1, -1]
        conn.execute(
            sa.text(
                "INSERT INTO votes (id, user_id, movie_id, period, created_at) VALUES "
                "(12, 7, 3, '2026-11-01', '2026-11-05 10:00:00+00')"
            )
        )
    command.downgrade(_config(url), "0005")
    assert comparable(_schema(url)) == comparable(_schema(reference))
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, user_id, movie_id FROM votes")).all() == [
            (12, 7, 3)
        ]
        conn.execute(sa.text("DELETE FROM votes"))  # 0001's trigger is back: a delete counts
        assert list(conn.scalars(deltas))[-2:] == [1, -1]
    engine.dispose()


def test_the_month_results_revision_adds_its_tables_and_downgrades_exactly(tmp_path):
    """0006 -> 0007: three new tables, nothing existing touched; a result's ballots and ranking
    go with it, and nothing in them refers to votes or users (deleting an account later leaves
    a published month as it was). 0007 -> 0006 gives back 0006's schema exactly."""
    from alembic import command

    url, reference, engine = _at_revision(tmp_path, "0006", "results")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, display_name, password_hash, notification_channel, "
                "is_admin, created_at) VALUES (7, 'a@example.com', 'A', 'x', 'in_app', false, "
                "'2026-11-01 00:00:00+00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES (3, 'Heat', 'Heat', '', 'test', '1', "
                "'2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO votes (id, user_id, movie_id, period, created_at) VALUES "
                "(11, 7, 3, '2026-11-01', '2026-11-02 10:00:00+00')"
            )
        )
    command.upgrade(_config(url), "0007")
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("PRAGMA foreign_keys=ON"))
        assert conn.scalar(sa.text("SELECT count(*) FROM votes")) == 1
        conn.execute(
            sa.text(
                "INSERT INTO month_results (period, published_at, total_votes, ballots, "
                "winner_movie_id, ballots_sha256, tallies_match) VALUES ('2026-11-01', "
                "'2026-12-02 03:00:00+00', 1, 1, 3, 'abc', true)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO month_rankings (period, rank, movie_id, title, votes, reached_at) "
                "VALUES ('2026-11-01', 1, 3, 'Heat', 1, '2026-11-02 10:00:00+00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO published_ballots (period, vote_id, movie_id, cast_at, pseudonym, "
                "voided) VALUES ('2026-11-01', 11, 3, '2026-11-02 10:00:00+00', "
                "'0123456789abcdef', false)"
            )
        )
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():  # one result a month
            conn.execute(
                sa.text(
                    "INSERT INTO month_results (period, published_at, total_votes, ballots, "
                    "ballots_sha256, tallies_match) VALUES ('2026-11-01', "
                    "'2026-12-02 03:00:00+00', 0, 0, '', false)"
                )
            )
        conn.execute(sa.text("DELETE FROM users"))  # the vote goes; the published copy stays
        assert conn.scalar(sa.text("SELECT count(*) FROM votes")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM published_ballots")) == 1
        conn.execute(sa.text("DELETE FROM month_results"))  # its ranking and ballots with it
        assert conn.scalar(sa.text("SELECT count(*) FROM published_ballots")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM month_rankings")) == 0
    command.downgrade(_config(url), "0006")
    assert _schema(url) == _schema(reference)
    command.upgrade(_config(url), "head")
    engine.dispose()


def test_the_ratings_revision_writes_deltas_by_trigger_and_downgrades_exactly(tmp_path):
    """0007 -> 0008: accounts and movies kept; the rating triggers append (+1, +s) for a rating,
    (0, new - old) for changed stars (nothing for a review alone), (-1, -s) for one removed,
    also by a cascade; the CHECKs and the unique pair hold. 0008 -> 0007 gives back 0007's
    schema exactly, and upgrading again works."""
    from alembic import command

    url, reference, engine = _at_revision(tmp_path, "0007", "ratings")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, display_name, password_hash, notification_channel, "
                "is_admin, created_at) VALUES (7, 'a@example.com', 'A', 'x', 'in_app', false, "
                "'2026-11-01 00:00:00+00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES (3, 'Heat', 'Heat', '', 'test', '1', "
                "'2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
            )
        )
    command.upgrade(_config(url), "0008")
    deltas = sa.text("SELECT movie_id, ratings, half_stars FROM rating_deltas ORDER BY id")
    rating = (
        "INSERT INTO ratings (user_id, movie_id, half_stars, review, created_at, updated_at) "
        "VALUES (7, 3, {stars}, {review}, '2026-12-02 10:00:00+00', '2026-12-02 10:00:00+00')"
    )
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("PRAGMA foreign_keys=ON"))
        assert conn.execute(sa.text("SELECT title FROM movies")).all() == [("Heat",)]
        conn.execute(sa.text(rating.format(stars=7, review="'Tense.'")))
        conn.execute(sa.text("UPDATE ratings SET half_stars = 9"))
        conn.execute(sa.text("UPDATE ratings SET review = 'Very tense.'"))  # no delta
        conn.execute(sa.text("UPDATE ratings SET half_stars = 9"))  # unchanged: no delta
        assert conn.execute(deltas).all() == [(3, 1, 7), (3, 0, 2)]
        conn.execute(sa.text("DELETE FROM movies"))  # the rating goes with its movie
        assert conn.execute(deltas).all()[-1] == (3, -1, -9)
        assert conn.scalar(sa.text("SELECT count(*) FROM ratings")) == 0
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title, original_title, overview, source, external_id, "
                "created_at, updated_at) VALUES (3, 'Heat', 'Heat', '', 'test', '1', "
                "'2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
            )
        )
    for stars, review in ((0, "NULL"), (11, "NULL"), (4, "''"), (4, f"'{'x' * 1001}'")):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(rating.format(stars=stars, review=review)))
    with engine.begin() as conn:
        conn.execute(sa.text(rating.format(stars=10, review=f"'{'x' * 1000}'")))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text(rating.format(stars=2, review="NULL")))  # one per member and movie
    command.downgrade(_config(url), "0007")
    assert _schema(url) == _schema(reference)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 1
    command.upgrade(_config(url), "head")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM ratings")) == 0
    engine.dispose()


def test_the_screens_revision_adds_its_table_with_its_rules_and_downgrades_exactly(tmp_path):
    """0009 -> 0010: the screens table, whose CHECKs refuse an unknown board or language and
    a paired screen without a name; 0010 -> 0009 gives back 0009's schema exactly."""
    from alembic import command

    url, reference, engine = _at_revision(tmp_path, "0009", "screens")
    command.upgrade(_config(url), "0010")
    insert = (
        "INSERT INTO screens (device_hash, board, language, created_at, paired_at, name) "
        "VALUES (:hash, :board, :language, '2026-12-01 00:00:00+00', :paired, :name)"
    )
    good = {"hash": "a" * 64, "board": "month", "language": "pt-BR", "paired": None, "name": None}
    with engine.begin() as conn:
        conn.execute(sa.text(insert), good)
    for bad in (
        {"board": "everything"},
        {"language": "fr"},
        {"paired": "2026-12-01 00:00:00+00"},  # paired without a name
        {"hash": "a" * 64},  # one row per device
    ):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(insert), {**good, "hash": "b" * 64, **bad})
    engine.dispose()
    command.downgrade(_config(url), "0009")
    assert _schema(url) == _schema(reference)
