"""The command line on an empty database: prestart migrates and seeds; imports are idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.databases import recreate_postgres_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database_url(tmp_path) -> str:
    """A database of the kind under test with nothing in it."""
    if IS_POSTGRES:
        url = sa.make_url(TEST_DATABASE_URL).set(
            database=f"{sa.make_url(TEST_DATABASE_URL).database}_cli"
        )
        text = url.render_as_string(hide_password=False)
        recreate_postgres_database(text)
        return text
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def movievote(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "movievote.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def count(url: str, sql: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        value = conn.scalar(sa.text(sql))
    engine.dispose()
    return int(value)


def test_prestart_migrates_and_seeds_an_empty_database_then_is_a_no_op(
    empty_database_url, tmp_path
):
    first = movievote(empty_database_url, "prestart", "--timeout", "10")
    assert first.returncode == 0, first.stderr
    assert "seeded" in first.stdout
    movies = count(empty_database_url, "SELECT count(*) FROM movies")
    assert movies >= 250
    assert "importing movievote-seed" in first.stderr  # the progress bar
    assert count(empty_database_url, "SELECT count(*) FROM movie_translations") == movies
    second = movievote(empty_database_url, "prestart", "--quiet")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "ready"
    assert count(empty_database_url, "SELECT count(*) FROM movies") == movies

    # a catalogue seeded before the bundled file had translations gets them, once
    engine = sa.create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM movie_translations"))
    engine.dispose()
    filled = movievote(empty_database_url, "prestart", "--quiet")
    assert filled.returncode == 0, filled.stderr
    assert filled.stdout.strip() == f"ready (added the bundled translations to {movies} movies)"
    assert count(empty_database_url, "SELECT count(*) FROM movie_translations") == movies
    assert movievote(empty_database_url, "seed").stdout.strip() == "catalogue already present"

    subset = tmp_path / "subset.json"
    bundled = (ROOT / "movievote" / "data" / "catalogue.json").read_text(encoding="utf-8")
    import json

    data = json.loads(bundled)
    data["results"] = data["results"][:3]
    data["results"][0]["title"] = "The Godfather (restored)"
    subset.write_text(json.dumps(data), encoding="utf-8")
    imported = movievote(empty_database_url, "import", "--file", str(subset))
    assert imported.returncode == 0, imported.stderr
    assert "imported 3 movies: 0 new, 3 updated" in imported.stdout
    assert count(empty_database_url, "SELECT count(*) FROM movies") == movies
    assert (
        count(
            empty_database_url,
            "SELECT count(*) FROM movies WHERE title = 'The Godfather (restored)'",
        )
        == 1
    )


def test_prestart_gives_up_clearly_when_the_database_is_unreachable():
    done = movievote("postgresql://postgres@127.0.0.1:1/nothing", "prestart", "--timeout", "1")
    assert done.returncode != 0
    assert "database not reachable" in done.stderr


def test_admin_grant_and_revoke_from_the_command_line(empty_database_url):
    assert movievote(empty_database_url, "migrate").returncode == 0
    engine = sa.create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (email, display_name, password_hash, notification_channel, "
                "is_admin, created_at) VALUES ('ana@example.com', 'Ana', 'x', 'in_app', false, "
                "'2026-11-01 00:00:00+00')"
            )
        )
    engine.dispose()
    granted = movievote(empty_database_url, "admin", "grant", "ANA@example.com")
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.strip() == "ana@example.com is an admin"
    assert count(empty_database_url, "SELECT count(*) FROM users WHERE is_admin") == 1
    revoked = movievote(empty_database_url, "admin", "revoke", "ana@example.com")
    assert revoked.stdout.strip() == "ana@example.com is no longer an admin"
    assert count(empty_database_url, "SELECT count(*) FROM users WHERE is_admin") == 0
    assert (
        count(
            empty_database_url,
            "SELECT count(*) FROM audit_log WHERE actor_label = 'cli' AND actor_id IS NULL",
        )
        == 2
    )
    unknown = movievote(empty_database_url, "admin", "grant", "nobody@example.com")
    assert unknown.returncode == 1 and "No account uses nobody@example.com" in unknown.stderr
