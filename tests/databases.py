"""Helpers only the tests and the benchmarks use (kept out of the app package)."""

from __future__ import annotations


def recreate_postgres_database(url: str) -> None:
    """Drop and create the PostgreSQL database a URL names (tests and benchmarks only)."""
    import psycopg
    from sqlalchemy import make_url

    parsed = make_url(url)
    name = parsed.database
    if not name or name in ("postgres", "template0", "template1"):
        raise ValueError(f"refusing to recreate database {name!r}")
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
