"""Settings: environment names, safe production defaults, database URL drivers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from movievote.config import DATA_DIR, DEFAULT_SECRET_KEY, Settings


def test_defaults_are_a_zero_setup_development_app(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MOVIEVOTE_DATA_DIR", raising=False)
    s = Settings(_env_file=None)
    assert s.movievote_env == "development"
    assert s.database_url == f"sqlite:///{DATA_DIR / 'movievote.db'}"
    assert s.uses_default_database and s.sqlite_path == DATA_DIR / "movievote.db"
    assert s.vote_timezone == "UTC"
    assert s.ranking_cache_ttl_seconds == 300
    assert s.notify_default_channel == "in_app"


def test_settings_come_from_the_documented_environment_names(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/movievote")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("ACCESS_TOKEN_MINUTES", "15")
    monkeypatch.setenv("VOTE_TIMEZONE", "America/Sao_Paulo")
    monkeypatch.setenv("RANKING_CACHE_TTL_SECONDS", "60")
    monkeypatch.setenv("MOVIEVOTE_ENV", "production")
    monkeypatch.setenv("PUBLIC_URL", "https://votes.example.com")
    monkeypatch.setenv("NOTIFY_SMTP_URL", "smtp://mail.example.com")
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "5")
    s = Settings(_env_file=None)
    assert (s.access_token_minutes, s.vote_timezone, s.ranking_cache_ttl_seconds) == (
        15,
        "America/Sao_Paulo",
        60,
    )
    assert s.movievote_env == "production" and s.notify_max_attempts == 5
    assert s.async_database_url == "postgresql+psycopg://u:p@db:5432/movievote"
    assert s.sync_database_url == "postgresql+psycopg://u:p@db:5432/movievote"


PRODUCTION = {
    "movievote_env": "production",
    "public_url": "https://votes.example.com",
    "notify_smtp_url": "smtp://mail.example.com:25",
}


def test_production_refuses_the_default_or_a_short_secret():
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(_env_file=None, **{**PRODUCTION, "secret_key": DEFAULT_SECRET_KEY})
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(_env_file=None, **{**PRODUCTION, "secret_key": "x" * 31})
    assert Settings(_env_file=None, **{**PRODUCTION, "secret_key": "x" * 32}).secret_key == "x" * 32
    assert Settings(_env_file=None, movievote_env="development").secret_key == DEFAULT_SECRET_KEY


def test_production_needs_the_public_address_and_a_mail_server():
    """Links in mails must not follow a request's Host header, and with verification required
    and no mail server nobody could ever vote."""
    secret = {"secret_key": "x" * 40}
    with pytest.raises(ValidationError, match="PUBLIC_URL must be set"):
        Settings(_env_file=None, **{**PRODUCTION, **secret, "public_url": ""})
    with pytest.raises(ValidationError, match="needs NOTIFY_SMTP_URL"):
        Settings(_env_file=None, **{**PRODUCTION, **secret, "notify_smtp_url": ""})
    closed_group = {**PRODUCTION, **secret, "notify_smtp_url": "", "email_verification": "off"}
    assert Settings(_env_file=None, **closed_group).email_verification == "off"


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError, match="IANA"):
        Settings(_env_file=None, vote_timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("url", "sync", "async_"),
    [
        ("sqlite:///x.db", "sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://h/db", "postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("postgresql+asyncpg://h/db", "postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
    ],
)
def test_database_url_gets_the_right_driver(url, sync, async_):
    s = Settings(_env_file=None, database_url=url)
    assert (s.sync_database_url, s.async_database_url) == (sync, async_)


def test_other_databases_are_refused_clearly():
    with pytest.raises(ValueError, match="sqlite:// or postgresql://"):
        _ = Settings(_env_file=None, database_url="mysql://h/db").async_database_url


def test_a_database_at_the_old_default_place_is_moved_never_replaced(tmp_path, monkeypatch):
    from movievote import db

    legacy = tmp_path / "movievote.db"
    monkeypatch.setattr(db, "LEGACY_DATABASE_FILE", legacy)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MOVIEVOTE_DATA_DIR", str(tmp_path / ".data"))
    settings = Settings(_env_file=None)
    assert db.adopt_legacy_database(settings) is None  # nothing to move
    legacy.write_bytes(b"old votes")
    (tmp_path / "movievote.db-wal").write_bytes(b"old wal")
    message = db.adopt_legacy_database(settings)
    assert message and "moved" in message
    assert (tmp_path / ".data/movievote.db").read_bytes() == b"old votes"
    assert (tmp_path / ".data/movievote.db-wal").read_bytes() == b"old wal"
    assert not legacy.exists()
    legacy.write_bytes(b"another")
    message = db.adopt_legacy_database(settings)
    assert message and "older database" in message
    assert (tmp_path / ".data/movievote.db").read_bytes() == b"old votes"  # kept, not replaced
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'chosen.db'}")
    assert db.adopt_legacy_database(Settings(_env_file=None)) is None  # an explicit URL: untouched
